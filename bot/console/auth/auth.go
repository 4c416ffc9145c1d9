package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/crm"
)

// Store is what authentication needs of the CRM.
type Store interface {
	Staff(ctx context.Context, id int64) (crm.StaffUser, error)
	StaffByEmail(ctx context.Context, email string) (crm.StaffUser, error)
	CreateSession(ctx context.Context, s crm.Session) error
	Session(ctx context.Context, tokenHash string, now time.Time) (crm.Session, error)
	DeleteSession(ctx context.Context, tokenHash string) error
}

// Cookie names.
const (
	SessionCookie = "parley_session"
	// loginCookie carries the login form's CSRF token before there is a
	// session (double submit): a forged login would sign the victim in
	// as the attacker.
	loginCookie = "parley_login"
)

// CSRFField and CSRFHeader carry a state-changing request's token: the
// form field for HTML forms, the header for the console's fetch calls.
const (
	CSRFField  = "csrf"
	CSRFHeader = "X-CSRF-Token"
)

// LoginPath is where unauthenticated HTML requests are sent.
const LoginPath = "/console/login"

// Config configures authentication.
type Config struct {
	// SecureCookies marks the cookies Secure (served over TLS).
	SecureCookies bool
	// SessionTTL is how long a session lasts (default 12 h: a shift).
	SessionTTL time.Duration
	Logger     *slog.Logger
	// Now is the clock (tests move it).
	Now func() time.Time
	// ClientAddr is the address login attempts are throttled by: behind
	// a reverse proxy, the client's as the proxy reports it (serve's
	// --trusted-proxies). Default: the TCP peer's.
	ClientAddr func(*http.Request) string
}

// Auth signs staff in and guards the console's routes.
type Auth struct {
	store    Store
	cfg      Config
	log      *slog.Logger
	throttle *throttle
}

// New returns the authenticator.
func New(store Store, cfg Config) *Auth {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.ClientAddr == nil {
		cfg.ClientAddr = clientIP
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Auth{store: store, cfg: cfg, log: cfg.Logger, throttle: newThrottle(cfg.Now)}
}

// Errors of Login.
var (
	ErrBadCredentials = errors.New("wrong email or password")
	ErrDisabled       = errors.New("this account is disabled")
)

// ThrottledError is returned while repeated failures slow a login down.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-ins: try again in %s", e.RetryAfter.Round(time.Second))
}

// Login checks an email and password and, when they match, starts a
// new session: a new token every time, so a session id planted before
// the login is worth nothing after it (no session fixation). The
// password is never logged.
func (a *Auth) Login(w http.ResponseWriter, r *http.Request, email, password string) (crm.StaffUser, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	ip := a.cfg.ClientAddr(r)
	if wait := a.throttle.wait(email, ip); wait > 0 {
		a.log.Warn("sign-in throttled", "email", email, "ip", ip, "retry_after", wait.Round(time.Second))
		return crm.StaffUser{}, &ThrottledError{RetryAfter: wait}
	}
	u, err := a.store.StaffByEmail(r.Context(), email)
	hash := u.PasswordHash
	if err != nil || hash == "" {
		hash = dummyHash() // as slow as a real check
	}
	ok, cerr := CheckPassword(hash, password)
	if err != nil && !errors.Is(err, crm.ErrNotFound) {
		return crm.StaffUser{}, fmt.Errorf("sign in: %w", err)
	}
	if err != nil || cerr != nil || !ok {
		a.throttle.fail(email, ip)
		a.log.Info("sign-in failed", "email", email, "ip", ip)
		return crm.StaffUser{}, ErrBadCredentials
	}
	if u.Disabled {
		return crm.StaffUser{}, ErrDisabled
	}
	a.throttle.succeed(email, ip)
	// Whatever session the browser had ends here.
	if c, err := r.Cookie(SessionCookie); err == nil {
		a.store.DeleteSession(r.Context(), tokenHash(c.Value))
	}
	token, err := randomToken()
	if err != nil {
		return crm.StaffUser{}, err
	}
	csrf, err := randomToken()
	if err != nil {
		return crm.StaffUser{}, err
	}
	now := a.cfg.Now()
	if err := a.store.CreateSession(r.Context(), crm.Session{TokenHash: tokenHash(token), StaffID: u.ID, CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(a.cfg.SessionTTL)}); err != nil {
		return crm.StaffUser{}, fmt.Errorf("sign in: %w", err)
	}
	http.SetCookie(w, a.cookie(SessionCookie, token, a.cfg.SessionTTL))
	a.log.Info("signed in", "staff", u.ID, "role", u.Role)
	return u, nil
}

// Logout ends the request's session.
func (a *Auth) Logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := a.store.DeleteSession(r.Context(), tokenHash(c.Value)); err != nil && !errors.Is(err, crm.ErrNotFound) {
			return fmt.Errorf("sign out: %w", err)
		}
	}
	http.SetCookie(w, a.cookie(SessionCookie, "", -1))
	return nil
}

func (a *Auth) cookie(name, value string, ttl time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: a.cfg.SecureCookies, SameSite: http.SameSiteLaxMode}
	if ttl < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(ttl.Seconds())
	}
	return c
}

// Principal is the signed-in staff member of a request.
type Principal struct {
	Staff crm.StaffUser
	CSRF  string
}

type ctxKey struct{}

// From returns the request's signed-in staff member.
func From(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// WithPrincipal returns ctx carrying p (for handlers' tests).
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// Require guards a handler: the request must carry a live session of a
// staff member with one of the roles (admins may do everything), and a
// state-changing request its CSRF token. Browsers asking for HTML are
// sent to the login page; API callers get JSON errors.
func (a *Auth) Require(roles ...crm.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := a.principal(r)
			if err != nil {
				if wantsHTML(r) && r.Method == http.MethodGet {
					http.Redirect(w, r, LoginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				deny(w, r, http.StatusUnauthorized, "sign in first")
				return
			}
			if p.Staff.Role != crm.RoleAdmin && !slices.Contains(roles, p.Staff.Role) {
				a.log.Warn("forbidden", "staff", p.Staff.ID, "role", p.Staff.Role, "path", r.URL.Path)
				deny(w, r, http.StatusForbidden, "your role may not do this")
				return
			}
			if !safeMethod(r.Method) && !validCSRF(r, p.CSRF) {
				a.log.Warn("request without a valid CSRF token", "staff", p.Staff.ID, "path", r.URL.Path)
				deny(w, r, http.StatusForbidden, "the page is out of date: reload it and try again")
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

// principal finds the request's session and its staff member.
func (a *Auth) principal(r *http.Request) (Principal, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return Principal{}, errors.New("no session")
	}
	sess, err := a.store.Session(r.Context(), tokenHash(c.Value), a.cfg.Now())
	if err != nil {
		return Principal{}, err
	}
	u, err := a.store.Staff(r.Context(), sess.StaffID)
	if err != nil {
		return Principal{}, err
	}
	if u.Disabled {
		return Principal{}, ErrDisabled
	}
	return Principal{Staff: u, CSRF: sess.CSRF}, nil
}

// Current returns the request's signed-in staff member, if any, without
// guarding anything (the login page uses it to skip the form).
func (a *Auth) Current(r *http.Request) (Principal, bool) {
	p, err := a.principal(r)
	return p, err == nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func validCSRF(r *http.Request, want string) bool {
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		got = r.PostFormValue(CSRFField)
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// wantsHTML tells a browser navigating from an API call.
func wantsHTML(r *http.Request) bool {
	return !strings.Contains(r.URL.Path, "/api/") && strings.Contains(r.Header.Get("Accept"), "text/html")
}

func deny(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if wantsHTML(r) {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// LoginToken returns the login form's CSRF token, setting its cookie.
func (a *Auth) LoginToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	t, err := randomToken()
	if err != nil {
		return ""
	}
	http.SetCookie(w, a.cookie(loginCookie, t, time.Hour))
	return t
}

// CheckLoginToken reports whether a login form was posted from our page.
func (a *Auth) CheckLoginToken(r *http.Request) bool {
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue(CSRFField)), []byte(c.Value)) == 1
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// tokenHash is what the CRM keeps of a session token: a stolen database
// gives no live sessions.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// clientIP is the peer's address: X-Forwarded-For is believed only when
// Config.ClientAddr says so, or it could be forged.
func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}
