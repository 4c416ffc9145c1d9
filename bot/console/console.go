package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/bot/console/auth"
	"github.com/parley-chat/parley/bot/handoff"
	"github.com/parley-chat/parley/bot/training"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/knowledge"
)

// Store is what the console reads and writes in the CRM. Every method
// is crm.Store's, with its contract.
type Store interface {
	Conversation(ctx context.Context, id int64) (crm.Conversation, error)
	Conversations(ctx context.Context, f crm.ConversationFilter) ([]crm.Conversation, error)
	Messages(ctx context.Context, conversationID int64) ([]crm.Message, error)
	Escalations(ctx context.Context, conversationID int64) ([]crm.Escalation, error)
	Customer(ctx context.Context, id int64) (crm.Customer, error)
	Orders(ctx context.Context, customerID int64) ([]crm.Order, error)
	Staff(ctx context.Context, id int64) (crm.StaffUser, error)
	ListStaff(ctx context.Context) ([]crm.StaffUser, error)
	CreateStaff(ctx context.Context, u crm.StaffUser) (crm.StaffUser, error)
	UpdateStaff(ctx context.Context, u crm.StaffUser) error
}

// Desk is the support desk's side the console acts through; *handoff.Desk
// implements it. Each method stores the change, delivers what the
// customer must see on their own channel, and announces an event that
// comes back to Server.Observe.
type Desk interface {
	Claim(ctx context.Context, conversationID int64, staff crm.StaffUser, src handoff.Source) (crm.Conversation, error)
	Assign(ctx context.Context, conversationID int64, to, by crm.StaffUser, src handoff.Source) (crm.Conversation, error)
	Reply(ctx context.Context, conversationID int64, staff crm.StaffUser, text string, src handoff.Source) (crm.Message, error)
	Note(ctx context.Context, conversationID int64, staff crm.StaffUser, text string, src handoff.Source) (crm.Message, error)
	Resolve(ctx context.Context, conversationID int64, staff crm.StaffUser, resolution string, src handoff.Source) (crm.Conversation, error)
}

var _ Desk = (*handoff.Desk)(nil)

// Searcher finds knowledge-base articles for a free-text query, best
// first, at most n: the canned responses. It must be safe for
// concurrent use.
type Searcher interface {
	Search(query string, n int) []knowledge.Hit
}

// Deps is what the console is built on.
type Deps struct {
	// Training and Runner run the analysts' pages (the NLU inbox,
	// retraining, models); nil turns them off.
	Training *training.Workbench
	Runner   *training.Runner
	// Retrain is what the Retrain button trains (zero: the built-in
	// model's configuration).
	Retrain training.RetrainOptions
	Store   Store
	Desk    Desk
	Auth    *auth.Auth
	// KB finds canned responses; nil turns them off.
	KB     Searcher
	Logger *slog.Logger
	// Now is the clock (nil: time.Now); waiting times are measured on it.
	Now func() time.Time
}

// Server is the staff console. It is safe for concurrent use.
type Server struct {
	store Store
	desk  Desk
	auth  *auth.Auth
	kb    Searcher
	log   *slog.Logger
	now   func() time.Time
	hub   *hub

	training    *training.Workbench
	runner      *training.Runner
	retrainOpts training.RetrainOptions
}

// New returns the console on d. Store, Desk and Auth are required.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Server{store: d.Store, desk: d.Desk, auth: d.Auth, kb: d.KB, log: d.Logger, now: d.Now, hub: newHub(),
		training: d.Training, runner: d.Runner, retrainOpts: d.Retrain}
}

// Limits.
const (
	// maxBodyBytes bounds a request body: the longest form is a reply of
	// at most crm.MaxTextBytes, URL-encoded (up to three times longer).
	maxBodyBytes = 64 << 10
	// maxQueryBytes bounds a canned-response search.
	maxQueryBytes = 200
)

// Security headers of every console response. The policy allows no
// inline script or style: everything comes from /console/static/.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Handler returns the console's routes, all under /console; mount it at
// "/console/" and "/console".
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	agent := s.auth.Require(crm.RoleAgent)
	admin := s.auth.Require(crm.RoleAdmin)
	// Every role may sign out.
	anyone := s.auth.Require(crm.RoleAgent, crm.RoleAnalyst)
	handle := func(pattern string, guard func(http.Handler) http.Handler, h http.HandlerFunc) {
		mux.Handle(pattern, guard(h))
	}

	mux.HandleFunc("GET /console/static/{name}", serveStatic)
	mux.HandleFunc("GET /console/login", s.loginPage)
	mux.HandleFunc("POST /console/login", s.login)
	handle("POST /console/logout", anyone, s.logout)

	handle("GET /console", agent, s.inboxPage)
	handle("GET /console/{$}", agent, s.inboxPage)
	handle("GET /console/inbox", agent, s.inboxFragment)
	handle("GET /console/conversations/{id}", agent, s.conversationPage)
	handle("POST /console/conversations/{id}/claim", agent, s.claim)
	handle("POST /console/conversations/{id}/assign", agent, s.assign)
	handle("POST /console/conversations/{id}/reply", agent, s.reply)
	handle("POST /console/conversations/{id}/note", agent, s.note)
	handle("POST /console/conversations/{id}/resolve", agent, s.resolve)
	handle("GET /console/api/canned", agent, s.canned)
	handle("GET /console/events", agent, s.events)

	analyst := s.auth.Require(crm.RoleAnalyst)
	handle("GET /console/analytics", analyst, s.analyticsPage)
	if s.training != nil {
		handle("GET /console/training", analyst, s.trainingPage)
		handle("GET /console/training/status", analyst, s.trainStatus)
		handle("POST /console/training/label", analyst, s.label)
		handle("POST /console/training/retrain", analyst, s.retrain)
		handle("POST /console/training/cancel", analyst, s.cancelRetrain)
		handle("GET /console/models", analyst, s.modelsPage)
		handle("GET /console/models/compare", analyst, s.compare)
		handle("POST /console/models/{id}/promote", analyst, s.promote)
		handle("POST /console/models/rollback", analyst, s.rollback)
	}

	handle("GET /console/admin/users", admin, s.usersPage)
	handle("POST /console/admin/users", admin, s.usersAction)
	return secure(mux)
}

// secure sets the security headers of every response and bounds request
// bodies before anything (the CSRF check included) reads them.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		// Pages carry customers' words and CSRF tokens: never cache them
		// (static files override this).
		h.Set("Cache-Control", "no-store")
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// render executes a template into a buffer first, so a failure is a
// clean 500 and never half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("console: render", "template", name, "path", r.URL.Path, "err", err)
		http.Error(w, "the page could not be shown", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// writeJSON answers an API or fetch call.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// wantsJSON tells console.js's fetch calls from plain form posts.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// principal is the request's signed-in staff member; Require guarantees
// one on every guarded route.
func principal(r *http.Request) auth.Principal {
	p, _ := auth.From(r.Context())
	return p
}

// pathID reads the {id} of a route.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%w: conversation id %q", crm.ErrInvalid, r.PathValue("id"))
	}
	return id, nil
}

// httpStatus translates a desk or CRM error into a status and a message
// for staff; unexpected errors are logged and hidden.
func (s *Server) httpStatus(r *http.Request, err error) (int, string) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "the text is too long"
	case errors.Is(err, crm.ErrNotFound):
		return http.StatusNotFound, "no such conversation or staff member"
	case errors.Is(err, handoff.ErrNotEscalated):
		return http.StatusConflict, "the conversation is not waiting for a person any more"
	case errors.Is(err, handoff.ErrNoChannel):
		return http.StatusConflict, "this customer's channel cannot receive replies from the console"
	case errors.Is(err, crm.ErrConflict):
		return http.StatusConflict, "that conflicts with what is stored (already taken?)"
	case errors.Is(err, crm.ErrInvalid):
		return http.StatusBadRequest, "the input was not accepted: " + userMessage(err)
	case errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, "the request was cancelled"
	}
	s.log.Error("console", "path", r.URL.Path, "err", err)
	return http.StatusInternalServerError, "something went wrong; the error is logged"
}

// userMessage is the part of an ErrInvalid chain after "invalid input: ",
// which names the field and the limit but holds no stored data.
func userMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, crm.ErrInvalid.Error()+": "); i >= 0 {
		return msg[i+len(crm.ErrInvalid.Error())+2:]
	}
	return "check the fields and try again"
}

// fail answers a failed request: JSON for fetch calls, an error page for
// browsers.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if wantsJSON(r) {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	p, _ := auth.From(r.Context())
	s.render(w, r, status, "error.html", errorPage{page: newPage(p, "Error"), Status: status, Message: msg})
}

// staffNames maps staff ids to display names, for one request.
type staffNames struct {
	names map[int64]string
	list  []crm.StaffUser
}

func (s *Server) staffDirectory(ctx context.Context) *staffNames {
	d := &staffNames{names: map[int64]string{}}
	list, err := s.store.ListStaff(ctx)
	if err != nil {
		s.log.Error("console: list staff", "err", err)
		return d
	}
	d.list = list
	for _, u := range list {
		d.names[u.ID] = displayStaff(u)
	}
	return d
}

func (d *staffNames) name(id int64) string {
	if id == 0 {
		return ""
	}
	if n, ok := d.names[id]; ok {
		return n
	}
	return "staff #" + strconv.FormatInt(id, 10)
}

func displayStaff(u crm.StaffUser) string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}
