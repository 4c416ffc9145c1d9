package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/parley-chat/parley/bot/console/auth"
	"github.com/parley-chat/parley/crm"
)

type usersPage struct {
	page
	Users []crm.StaffUser
	Roles []crm.Role
	// Created and Password are set once, right after an account is added:
	// the password is shown on that response only and stored nowhere.
	Created  *crm.StaffUser
	Password string
	Notice   string
	Error    string
	// Form keeps what was typed when adding failed.
	Form struct{ Email, Name string }
}

var roles = []crm.Role{crm.RoleAgent, crm.RoleAnalyst, crm.RoleAdmin}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request) {
	s.showUsers(w, r, http.StatusOK, usersPage{Notice: notices[r.URL.Query().Get("notice")]})
}

func (s *Server) showUsers(w http.ResponseWriter, r *http.Request, status int, data usersPage) {
	p := principal(r)
	data.page = newPage(p, "Staff accounts")
	data.Nav = "users"
	data.Roles = roles
	users, err := s.store.ListStaff(r.Context())
	if err != nil {
		st, msg := s.httpStatus(r, fmt.Errorf("list staff: %w", err))
		s.fail(w, r, st, msg)
		return
	}
	data.Users = users
	s.render(w, r, status, "users.html", data)
}

// usersAction adds an account (action=create) or disables or enables
// one (action=disable|enable, id).
func (s *Server) usersAction(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		st, msg := s.httpStatus(r, fmt.Errorf("%w: the form could not be read: %w", crm.ErrInvalid, err))
		s.fail(w, r, st, msg)
		return
	}
	me := principal(r).Staff
	switch action := r.PostForm.Get("action"); action {
	case "create":
		s.createUser(w, r, me)
	case "disable", "enable":
		id, err := strconv.ParseInt(r.PostForm.Get("id"), 10, 64)
		if err != nil || id <= 0 {
			s.showUsers(w, r, http.StatusBadRequest, usersPage{Error: "No such account."})
			return
		}
		if id == me.ID {
			s.showUsers(w, r, http.StatusBadRequest, usersPage{Error: "You cannot disable your own account."})
			return
		}
		u, err := s.store.Staff(r.Context(), id)
		if err == nil {
			u.Disabled = action == "disable"
			u.PasswordHash = "" // keep the stored one
			err = s.store.UpdateStaff(r.Context(), u)
		}
		if err != nil {
			st, msg := s.httpStatus(r, fmt.Errorf("%s staff %d: %w", action, id, err))
			s.showUsers(w, r, st, usersPage{Error: msg})
			return
		}
		s.log.Info("console: staff account "+action+"d", "staff", id, "by", me.ID)
		http.Redirect(w, r, "/console/admin/users?notice=user-"+action+"d", http.StatusSeeOther)
	default:
		s.showUsers(w, r, http.StatusBadRequest, usersPage{Error: "Unknown action."})
	}
}

// createUser adds an account with a generated password, shown once.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request, me crm.StaffUser) {
	var data usersPage
	data.Form.Email = strings.TrimSpace(r.PostForm.Get("email"))
	data.Form.Name = strings.TrimSpace(r.PostForm.Get("name"))
	role := crm.Role(r.PostForm.Get("role"))
	switch {
	case !plausibleEmail(data.Form.Email):
		data.Error = "Give a valid email address."
	case !role.Valid():
		data.Error = "Choose a role."
	}
	if data.Error != "" {
		s.showUsers(w, r, http.StatusBadRequest, data)
		return
	}
	password := auth.GeneratePassword()
	hash, err := auth.HashPassword(password)
	if err != nil {
		s.log.Error("console: hash a new password", "err", err)
		s.showUsers(w, r, http.StatusInternalServerError, usersPage{Error: "The account could not be created; the error is logged."})
		return
	}
	u, err := s.store.CreateStaff(r.Context(), crm.StaffUser{Email: data.Form.Email, Name: data.Form.Name, Role: role, PasswordHash: hash})
	if err != nil {
		st, msg := s.httpStatus(r, fmt.Errorf("create staff: %w", err))
		if errors.Is(err, crm.ErrConflict) {
			msg = "An account with this email exists already."
		}
		data.Error = msg
		s.showUsers(w, r, st, data)
		return
	}
	s.log.Info("console: staff account created", "staff", u.ID, "role", u.Role, "by", me.ID)
	s.showUsers(w, r, http.StatusCreated, usersPage{Created: &u, Password: password})
}

// plausibleEmail is a light check: one @ with something on each side,
// no spaces, short enough to store. Whether it delivers is not ours to
// know.
func plausibleEmail(e string) bool {
	at := strings.IndexByte(e, '@')
	return at > 0 && at < len(e)-1 && strings.Count(e, "@") == 1 && !strings.ContainsAny(e, " \t\r\n<>\"") && len(e) <= crm.MaxShortBytes
}
