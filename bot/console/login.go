package console

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/bot/console/auth"
)

type loginPage struct {
	page
	Token   string
	Next    string
	Email   string
	Message string
}

// loginPage shows the sign-in form; a signed-in visitor goes on.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if p, ok := s.auth.Current(r); ok {
		if worksInbox(p.Staff.Role) {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		// Analysts have no console pages yet: say so, with a way out,
		// rather than send them to a 403.
		s.render(w, r, http.StatusOK, "login.html", loginPage{page: newPage(p, "Signed in")})
		return
	}
	s.render(w, r, http.StatusOK, "login.html", loginPage{page: page{Title: "Sign in"}, Token: s.auth.LoginToken(w, r), Next: next})
}

// login checks the form's own CSRF token (a forged sign-in would put the
// victim in the attacker's account), then the credentials.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "the form could not be read")
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	email := strings.TrimSpace(r.PostForm.Get("email"))
	again := func(status int, msg string) {
		s.render(w, r, status, "login.html", loginPage{page: page{Title: "Sign in"}, Token: s.auth.LoginToken(w, r), Next: next, Email: email, Message: msg})
	}
	if !s.auth.CheckLoginToken(r) {
		again(http.StatusForbidden, "The sign-in form had expired. Please try again.")
		return
	}
	u, err := s.auth.Login(w, r, email, r.PostForm.Get("password"))
	var throttled *auth.ThrottledError
	switch {
	case err == nil && !worksInbox(u.Role) && next == "/console" && s.training != nil:
		// Analysts start in the NLU inbox.
		http.Redirect(w, r, "/console/training", http.StatusSeeOther)
	case err == nil && !worksInbox(u.Role) && next == "/console":
		http.Redirect(w, r, auth.LoginPath, http.StatusSeeOther)
	case err == nil:
		http.Redirect(w, r, next, http.StatusSeeOther)
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(throttled.RetryAfter.Seconds()))))
		again(http.StatusTooManyRequests, "Too many failed sign-ins. Try again in "+throttled.RetryAfter.Round(time.Second).String()+".")
	case errors.Is(err, auth.ErrBadCredentials):
		again(http.StatusUnauthorized, "Wrong email or password.")
	case errors.Is(err, auth.ErrDisabled):
		again(http.StatusForbidden, "This account is disabled. Ask an administrator.")
	default:
		s.log.Error("console: sign in", "err", err)
		again(http.StatusInternalServerError, "Signing in failed; the error is logged. Try again.")
	}
}

// logout ends the session (Require checked its CSRF token: a forged
// sign-out is refused too).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.auth.Logout(w, r); err != nil {
		s.log.Error("console: sign out", "err", err)
	}
	http.Redirect(w, r, auth.LoginPath, http.StatusSeeOther)
}

// safeNext is where to go after signing in: next when it is a path of
// the console on this server, else the inbox. Anything else (another
// host, "//host", a scheme, backslashes browsers read as slashes) would
// make the login page an open redirect.
func safeNext(next string) string {
	const home = "/console"
	if next == "" || strings.ContainsAny(next, "\\\r\n\t") || strings.HasPrefix(next, "//") {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return home
	}
	if u.Path != home && !strings.HasPrefix(u.Path, home+"/") {
		return home
	}
	if clean := cleanPath(u.Path); clean != u.Path || strings.HasPrefix(u.Path, auth.LoginPath) || u.Path == "/console/logout" {
		return home
	}
	return u.RequestURI()
}

// cleanPath is p without "." and ".." segments (a path that differs is
// refused rather than resolved: "/console/../admin" is no console path).
func cleanPath(p string) string {
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return ""
		}
	}
	return p
}
