package slackfake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack/slacktest"
)

// Identities of the fake workspace and of the bot installed in it.
const (
	// BotUserID is the bot's user ID: the author of every message it posts
	// and the user auth.test answers for the bot token.
	BotUserID = "UBOT"
	// BotID is the bot's bot ID (bot_id in messages and auth.test).
	BotID = "BBOT"
	// TeamID is the workspace's ID.
	TeamID = "T0001"
	// TeamDomain is the workspace's domain (team_domain in payloads).
	TeamDomain = "parley-test"
	// AppID is the app's ID (api_app_id in payloads, app_id in hello).
	AppID = "A0001"
	// BotName is the bot user's name.
	BotName = "parley"
	// BotToken is the only bot token the Web API methods accept.
	BotToken = "xoxb-test-token"
	// AppToken is the only app-level token apps.connections.open accepts.
	AppToken = "xapp-test-token"
	// VerificationToken is the (deprecated) verification token in the
	// payloads this package builds.
	VerificationToken = "fake-verification-token"
)

// DefaultPingInterval is how often the fake pings a Socket Mode client
// unless SetPingInterval says otherwise. It is well under slack-go's
// 30-second dead-connection limit and cheap enough for any test.
const DefaultPingInterval = time.Second

// Sentinel errors returned (wrapped) by the Server's methods.
var (
	// ErrClosed: the server was closed while waiting or before the call.
	ErrClosed = errors.New("slackfake: server closed")
	// ErrNoSocket: no Socket Mode client is connected.
	ErrNoSocket = errors.New("slackfake: no socket mode client connected")
	// ErrUnknownEnvelope: the envelope ID was never sent by this server.
	ErrUnknownEnvelope = errors.New("slackfake: unknown envelope")
)

// maxBody bounds a Web API request body; Slack's own limits are lower
// for most methods, and a test never needs more.
const maxBody = 4 << 20

// Server is a running fake of Slack. Create it with New and stop it with
// Close. All its methods are safe for concurrent use.
type Server struct {
	ts   *slacktest.Server
	addr string // host:port, set before the server starts
	log  atomic.Pointer[slog.Logger]

	done      chan struct{} // closed by Close
	closeOnce sync.Once
	wg        sync.WaitGroup // socket handlers and pingers

	mu      sync.Mutex
	closed  bool
	changed chan struct{} // closed and replaced on every state change

	latency      time.Duration
	pingInterval time.Duration
	users        map[string]User
	calls        []Call
	pending      int // calls being handled
	faults       map[string][]Fault

	tsSeq      int
	messages   []*storedMessage // every message in the order it was stored
	byKey      map[string]*storedMessage
	ephemerals []Ephemeral

	tickets   map[string]bool
	ticketSeq int
	conns     map[int]*socketConn
	connSeq   int
	connects  int
	envSeq    int
	envelopes map[string]*envelope
	acks      map[string][]rawJSON
}

// New starts a fake Slack on a free port of 127.0.0.1 with every handler
// registered. The caller must Close it.
func New() *Server {
	s := &Server{
		done:         make(chan struct{}),
		changed:      make(chan struct{}),
		pingInterval: DefaultPingInterval,
		users:        map[string]User{},
		faults:       map[string][]Fault{},
		byKey:        map[string]*storedMessage{},
		tickets:      map[string]bool{},
		conns:        map[int]*socketConn{},
		envelopes:    map[string]*envelope{},
		acks:         map[string][]rawJSON{},
	}
	s.log.Store(slog.Default())
	s.users[BotUserID] = User{ID: BotUserID, Name: BotName, RealName: "Parley", IsBot: true}

	// slacktest calls the binders before it registers its own defaults
	// and keeps the first handler registered for a pattern, so these win.
	s.ts = slacktest.NewTestServer(s.bind)
	s.addr = s.ts.ServerAddr
	s.ts.Start()
	return s
}

// bind registers the fake's handlers on the slacktest server.
func (s *Server) bind(c slacktest.Customize) {
	for method, spec := range s.methods() {
		c.Handle("/"+method, s.api(method, spec))
	}
	// slacktest's canned answers for these would contradict this fake's
	// state (a fixed user, a fixed channel), so they get unknown_method
	// like any other method the fake does not model.
	for _, method := range []string{
		"conversations.info", "conversations.create", "conversations.setTopic",
		"conversations.setPurpose", "conversations.rename", "conversations.invite",
		"conversations.inviteShared", "bots.info", "reactions.add", "rtm.start", "rtm.connect",
	} {
		c.Handle("/"+method, s.api(method, methodSpec{token: botTokenKind, handle: unknownMethod}))
	}
	c.Handle(socketPath, s.serveSocket)
	c.Handle("/", s.api("", methodSpec{token: anyTokenKind, handle: unknownMethod}))
}

// Close stops the server: it ends every Socket Mode connection, wakes
// every waiting call and Wait method, and returns when the handlers have
// finished. Calling it again does nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := s.takeConnsLocked()
		close(s.done)
		s.notifyLocked()
		s.mu.Unlock()

		for _, c := range conns {
			c.close()
		}
		s.ts.Stop()
		s.wg.Wait()
	})
}

// APIURL is the base URL for slack.OptionAPIURL: "http://127.0.0.1:PORT/",
// with the trailing slash slack-go needs (it appends the method name to
// it without a separator).
func (s *Server) APIURL() string { return s.ts.GetAPIURL() }

// SetLogger sets the logger for what the fake notices (malformed
// WebSocket frames, dropped connections); nil means slog.Default().
func (s *Server) SetLogger(l *slog.Logger) {
	if l == nil {
		l = slog.Default()
	}
	s.log.Store(l)
}

func (s *Server) logger() *slog.Logger { return s.log.Load() }

// SetLatency adds d to every Web API call from now on (0 removes it), for
// tests and benchmarks of a slow Slack. A call whose client gives up
// during the wait is recorded with Status 0.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = max(d, 0)
}

// SetPingInterval sets how often the fake pings Socket Mode connections
// opened from now on; d <= 0 restores DefaultPingInterval. It must be
// shorter than the client's own limit (slack-go: socketmode.
// OptionPingInterval, 30 seconds by default).
func (s *Server) SetPingInterval(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		d = DefaultPingInterval
	}
	s.pingInterval = d
}

// User is a workspace member the fake knows, for users.info and
// users.lookupByEmail.
type User struct {
	ID       string // e.g. "U123"; required
	Name     string // the handle
	RealName string
	Email    string
	IsBot    bool
}

// AddUser adds u, or replaces the user with u's ID. The bot user
// (BotUserID) is there from the start. A user without an ID is ignored
// and logged: no call could ever find it.
func (s *Server) AddUser(u User) {
	if u.ID == "" {
		s.logger().Warn("slackfake: AddUser ignored a user without an ID", "name", u.Name)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// Call is one Web API call as the fake received and answered it.
type Call struct {
	Method string     // e.g. "chat.postMessage"
	Params url.Values // form values, or the JSON body's fields flattened to strings (objects and arrays as compact JSON)
	Body   []byte     // the raw request body
	Token  string     // the token used: from the Authorization header, else the "token" parameter
	At     time.Time  // when the call arrived
	Status int        // HTTP status answered; 0 when no response was sent (DropAfterPost, Timeout, client gone)
	Error  string     // Slack error code of the outcome ("ratelimited", "channel_not_found", ...); "" when ok or for a 5xx
	Fault  FaultKind  // the injected fault that shaped the answer, 0 if none
}

// Calls returns the Web API calls to method ("" for all) in the order
// they were answered (or dropped).
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callsLocked(method)
}

func (s *Server) callsLocked(method string) []Call {
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c.clone())
		}
	}
	return out
}

func (c Call) clone() Call {
	c.Params = maps.Clone(c.Params)
	for k, v := range c.Params {
		c.Params[k] = slices.Clone(v)
	}
	c.Body = slices.Clone(c.Body)
	return c
}

// WaitCalls waits until at least n calls to method ("" for any) have been
// answered and returns them all. When ctx ends first, the error lists the
// calls made so far.
func (s *Server) WaitCalls(ctx context.Context, method string, n int) ([]Call, error) {
	var got []Call
	err := s.waitFor(ctx, func() bool {
		got = s.callsLocked(method)
		return len(got) >= n
	})
	if err != nil {
		var b strings.Builder
		for _, c := range got {
			fmt.Fprintf(&b, "\n  %s status=%d error=%q", c.Method, c.Status, c.Error)
		}
		return got, fmt.Errorf("wait for %d calls to %q: got %d:%s: %w", n, method, len(got), b.String(), err)
	}
	return got, nil
}

// WaitPending waits until at least n Web API calls are being handled at
// once (held by latency or a Timeout fault, say), so that a test can act
// while they are in flight.
func (s *Server) WaitPending(ctx context.Context, n int) error {
	if err := s.waitFor(ctx, func() bool { return s.pending >= n }); err != nil {
		return fmt.Errorf("wait for %d pending calls: %w", n, err)
	}
	return nil
}

func (s *Server) begin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending++
	s.notifyLocked()
}

// record ends a call begun with begin.
func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending--
	s.calls = append(s.calls, c)
	s.notifyLocked()
}

// notifyLocked wakes every waiter; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor calls cond under s.mu until it reports true, waiting for a
// state change between calls. It fails with ctx's error or ErrClosed.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, closed, changed := cond(), s.closed, s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		if closed {
			return ErrClosed
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			// One more look: the state may have changed on the way out.
		}
	}
}

// sleep waits d, or less if ctx ends or the server closes; it reports
// whether the whole wait elapsed.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}
