// Package webchat is the web chat channel: a WebSocket endpoint speaking
// a small JSON protocol, the embeddable widget that talks to it, and a
// demo page. It turns widget messages into bot messages, acknowledges
// each one once the CRM has it, and pushes the conversation's new
// messages (the bot's replies, a person's answers, the visitor's own
// messages from another tab) to every connection of the conversation.
//
// # Protocol
//
// Every frame is a JSON text message with a "type".
//
// From the widget:
//
//	{"type":"hello","visitor":"v_…","last_seq":42}
//	    first frame: the visitor id the widget keeps (empty: the server
//	    makes one) and the highest seq it has shown (0: send the history)
//	{"type":"message","id":"c_…","text":"where is my order"}
//	    a customer message with the widget's own id, unique per visitor:
//	    resending it after a reconnect never stores it twice
//
// From the server:
//
//	{"type":"welcome","visitor":"v_…","conversation_id":7,"state":"bot"}
//	{"type":"message","seq":43,"from":"customer|bot|agent","text":"…",
//	 "quick_replies":["…"],"id":"c_…","author":"…","at":"…"}
//	    id is the widget's id of a customer message; seq orders and
//	    dedupes everything (it is the CRM's message id)
//	{"type":"ack","id":"c_…","seq":43}
//	    the message is stored: the widget may forget it
//	{"type":"typing","on":true}
//	{"type":"state","state":"escalated"}
//	{"type":"error","code":"…","message":"…","id":"c_…","retry_after_ms":500}
//	    codes: bad_frame, too_long, rate_limited, bad_message, internal,
//	    unavailable; the connection stays open. rate_limited (the
//	    connection's, the visitor's over all its tabs, or its address's
//	    message limit) and unavailable (the CRM cannot store it now):
//	    nothing was stored, resend the same id after retry_after_ms
//
// A handshake may be refused before the upgrade: 503 while the server
// drains, 429 with Retry-After when one address opens too many chats.
//
// Each connection has one reader goroutine (which also handles the
// visitor's messages, in order) and one writer goroutine with a bounded
// queue; a client that cannot keep up is disconnected rather than
// allowed to block anyone else, and reconnects to what it missed.
package webchat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/nlp"
)

// Engine is what the channel needs of the bot.
type Engine interface {
	Handle(ctx context.Context, m bot.Message) (bot.Turn, error)
}

// Store is what the channel reads from the CRM to replay history.
type Store interface {
	CustomerByExternalID(ctx context.Context, ref crm.ExternalID) (crm.Customer, error)
	Conversation(ctx context.Context, id int64) (crm.Conversation, error)
	Conversations(ctx context.Context, f crm.ConversationFilter) ([]crm.Conversation, error)
	Messages(ctx context.Context, conversationID int64) ([]crm.Message, error)
	Staff(ctx context.Context, id int64) (crm.StaffUser, error)
}

// Config configures the channel. The zero value is usable.
type Config struct {
	// AllowedOrigins are the host patterns (path.Match syntax, e.g.
	// "shop.example" or "*.shop.example") of pages that may open chats.
	// Empty: same origin only.
	AllowedOrigins []string
	// MaxFrameBytes bounds one frame; a larger one closes the connection.
	// Message texts are checked against nlp.DefaultMaxBytes separately,
	// with an error frame and the connection kept.
	MaxFrameBytes int64
	// Rate and Burst limit a connection's messages (a token bucket):
	// Rate per second, Burst at once.
	Rate  float64
	Burst int
	// PingInterval is how often the server pings; a connection silent
	// for twice that is dropped.
	PingInterval time.Duration
	// WriteTimeout bounds one frame's write.
	WriteTimeout time.Duration
	// HandleTimeout bounds one message's handling.
	HandleTimeout time.Duration
	// HelloTimeout is how long a new connection has to send its hello.
	HelloTimeout time.Duration
	Logger       *slog.Logger
	// Limits across connections (nil: none); see limits.go.
	Limits Limits
}

// Defaults.
const (
	DefaultMaxFrameBytes = 64 << 10
	DefaultRate          = 2
	DefaultBurst         = 10
	DefaultPingInterval  = 20 * time.Second
	DefaultWriteTimeout  = 10 * time.Second
	DefaultHandleTimeout = 10 * time.Second
	DefaultHelloTimeout  = 10 * time.Second
	// sendQueue bounds a connection's unsent frames.
	sendQueue = 256
	// unavailableRetry is how long the widget waits before sending
	// again a message the CRM could not store (a full disk).
	unavailableRetry = 5 * time.Second
)

func (c Config) withDefaults() Config {
	if c.MaxFrameBytes <= 0 {
		c.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if c.Rate <= 0 {
		c.Rate = DefaultRate
	}
	if c.Burst <= 0 {
		c.Burst = DefaultBurst
	}
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.HandleTimeout <= 0 {
		c.HandleTimeout = DefaultHandleTimeout
	}
	if c.HelloTimeout <= 0 {
		c.HelloTimeout = DefaultHelloTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Server is the web chat channel. It is safe for concurrent use.
type Server struct {
	cfg    Config
	engine Engine
	store  Store
	log    *slog.Logger

	mu sync.Mutex
	// byConv and byVisitor index the open connections.
	byConv    map[int64]map[*conn]struct{}
	byVisitor map[string]map[*conn]struct{}
	// staffNames caches agents' display names for message frames.
	staffNames map[int64]string
	// refusing turns new connections away (draining before a restart).
	refusing bool

	// OnMessage, when set, is called after a visitor's message was
	// handled (the console uses it to refresh its inbox).
	OnMessage func(conversationID int64)
}

// New returns a web chat server on the engine and the CRM.
func New(engine Engine, store Store, cfg Config) *Server {
	cfg = cfg.withDefaults()
	return &Server{
		cfg: cfg, engine: engine, store: store, log: cfg.Logger,
		byConv: map[int64]map[*conn]struct{}{}, byVisitor: map[string]map[*conn]struct{}{},
		staffNames: map[int64]string{},
	}
}

// Frames.
type frameIn struct {
	Type    string `json:"type"`
	Visitor string `json:"visitor"`
	LastSeq int64  `json:"last_seq"`
	ID      string `json:"id"`
	Text    string `json:"text"`
}

type frameOut struct {
	Type           string   `json:"type"`
	Seq            int64    `json:"seq,omitempty"`
	From           string   `json:"from,omitempty"`
	Text           string   `json:"text,omitempty"`
	QuickReplies   []string `json:"quick_replies,omitempty"`
	ID             string   `json:"id,omitempty"`
	Author         string   `json:"author,omitempty"`
	At             string   `json:"at,omitempty"`
	Visitor        string   `json:"visitor,omitempty"`
	ConversationID int64    `json:"conversation_id,omitempty"`
	State          string   `json:"state,omitempty"`
	On             *bool    `json:"on,omitempty"`
	Code           string   `json:"code,omitempty"`
	Message        string   `json:"message,omitempty"`
	RetryAfterMs   int64    `json:"retry_after_ms,omitempty"`
}

var (
	visitorRE = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)
	msgIDRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// conn is one widget connection.
type conn struct {
	s       *Server
	ws      *websocket.Conn
	send    chan *frameOut // pointers: a queue of 256 structs per connection was 58 MB at 1,000 chats
	done    chan struct{}  // closed when the connection ends
	once    sync.Once
	visitor string

	mu      sync.Mutex
	conv    int64 // the conversation, once known
	lastSeq int64 // the highest seq queued to this connection

	tokens float64 // rate limiting
	last   time.Time
	addr   netip.Addr // the client's, as the limits count it
}

// ServeHTTP upgrades a request to a chat connection and runs it until
// either side closes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	refusing := s.refusing
	s.mu.Unlock()
	if refusing {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "chat is restarting", http.StatusServiceUnavailable)
		return
	}
	addr := s.cfg.Limits.clientKey(r)
	if !s.allowHandshake(w, addr) {
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.cfg.AllowedOrigins})
	if err != nil {
		// Accept has answered (403 for a foreign origin).
		s.log.Debug("websocket handshake refused", "origin", r.Header.Get("Origin"), "err", err)
		return
	}
	ws.SetReadLimit(s.cfg.MaxFrameBytes)
	c := &conn{s: s, ws: ws, send: make(chan *frameOut, sendQueue), done: make(chan struct{}), tokens: float64(s.cfg.Burst), last: time.Now(), addr: addr}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go c.writeLoop(ctx)
	c.readLoop(ctx)
	c.close(websocket.StatusNormalClosure, "")
	s.unregister(c)
}

func (c *conn) close(code websocket.StatusCode, reason string) {
	c.once.Do(func() {
		close(c.done)
		c.ws.Close(code, reason)
	})
}

// drop ends the connection at once, without the closing handshake: a
// peer that is not reading, or a connection that failed, would only
// keep Close waiting its 5 s for an answer that is not coming.
func (c *conn) drop() {
	c.once.Do(func() {
		close(c.done)
		c.ws.CloseNow()
	})
}

// queue hands a frame to the writer; a full queue means the client is
// not reading, and it is disconnected (it will reconnect and replay).
func (c *conn) queue(f frameOut) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.send <- &f:
		return true
	default:
		c.s.log.Warn("web chat client too slow: disconnecting", "visitor", c.visitor)
		go c.drop()
		return false
	}
}

// queueWait hands a frame to the writer, waiting up to the write
// timeout for room: for a replay, whose burst may be longer than the
// queue. A writer that takes no frame for that long is stuck, and the
// connection is dropped.
func (c *conn) queueWait(f frameOut) bool {
	select {
	case <-c.done:
		return false
	case c.send <- &f:
		return true
	default:
	}
	t := time.NewTimer(c.s.cfg.WriteTimeout)
	defer t.Stop()
	select {
	case <-c.done:
		return false
	case c.send <- &f:
		return true
	case <-t.C:
		c.s.log.Warn("web chat client too slow for its history: disconnecting", "visitor", c.visitor)
		go c.drop()
		return false
	}
}

func (c *conn) writeLoop(ctx context.Context) {
	ping := time.NewTicker(c.s.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-c.done:
			return
		case f := <-c.send:
			b, err := json.Marshal(f)
			if err != nil {
				c.s.log.Error("encode frame", "err", err)
				continue
			}
			wctx, cancel := context.WithTimeout(ctx, c.s.cfg.WriteTimeout)
			err = c.ws.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				c.drop()
				return
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, 2*c.s.cfg.PingInterval)
			err := c.ws.Ping(pctx)
			cancel()
			if err != nil {
				c.drop()
				return
			}
		}
	}
}

func (c *conn) readLoop(ctx context.Context) {
	hello := false
	// A connection that never says hello is not a widget: it would hold
	// a socket and two goroutines for as long as it answers pings.
	helloBy := time.Now().Add(c.s.cfg.HelloTimeout)
	for {
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if !hello {
			rctx, cancel = context.WithDeadline(ctx, helloBy)
		}
		typ, data, err := c.ws.Read(rctx)
		cancel()
		if err != nil {
			// Read reports its own limit as ErrMessageTooBig (it has
			// closed the connection with StatusMessageTooBig).
			if errors.Is(err, websocket.ErrMessageTooBig) {
				c.s.log.Info("web chat frame too large", "visitor", c.visitor)
			}
			return
		}
		if typ != websocket.MessageText {
			c.fail("bad_frame", "frames are JSON text", "")
			continue
		}
		var f frameIn
		if err := json.Unmarshal(data, &f); err != nil {
			c.fail("bad_frame", "invalid JSON: "+err.Error(), "")
			continue
		}
		switch {
		case f.Type == "hello" && !hello:
			hello = true
			c.hello(ctx, f)
		case f.Type == "hello":
			c.fail("bad_frame", "hello was sent already", "")
		case !hello:
			c.fail("bad_frame", "the first frame must be hello", "")
		case f.Type == "message":
			c.message(ctx, f)
		default:
			c.fail("bad_frame", fmt.Sprintf("unknown frame type %q", f.Type), "")
		}
	}
}

func (c *conn) fail(code, msg, id string) {
	c.queue(frameOut{Type: "error", Code: code, Message: msg, ID: id})
}

// hello identifies the visitor, replays what the widget has not shown,
// and registers the connection for pushes.
func (c *conn) hello(ctx context.Context, f frameIn) {
	c.visitor = f.Visitor
	if !visitorRE.MatchString(c.visitor) {
		c.visitor = newVisitorID()
	}
	c.mu.Lock()
	c.lastSeq = max(f.LastSeq, 0)
	c.mu.Unlock()
	w := frameOut{Type: "welcome", Visitor: c.visitor, State: string(crm.StateBot)}
	conv, ok := c.s.visitorConversation(ctx, c.visitor)
	if ok {
		c.setConversation(conv.ID)
		w.ConversationID, w.State = conv.ID, string(conv.State)
	}
	c.queue(w)
	if ok {
		// The replay comes before registering: nothing else queues to c
		// yet, so it may wait for the writer however long the history is
		// (a burst longer than the send queue is not a slow client).
		c.s.deliver(ctx, c, conv.ID, c.queueWait)
	}
	c.s.register(c)
	if ok {
		// What was published during the replay (push skips what was
		// queued already).
		c.s.push(ctx, c, conv.ID)
	}
}

func newVisitorID() string {
	var b [12]byte
	rand.Read(b[:])
	return "v_" + hex.EncodeToString(b[:])
}

// allow takes a token from the connection's bucket, or says how long
// until one is there.
func (c *conn) allow(now time.Time) (bool, time.Duration) {
	cfg := c.s.cfg
	c.tokens = min(float64(cfg.Burst), c.tokens+now.Sub(c.last).Seconds()*cfg.Rate)
	c.last = now
	if c.tokens >= 1 {
		c.tokens--
		return true, 0
	}
	return false, time.Duration((1 - c.tokens) / cfg.Rate * float64(time.Second))
}

// message handles one customer message: the engine stores it with its
// replies; the ack follows, then everything new in the conversation.
func (c *conn) message(ctx context.Context, f frameIn) {
	if !msgIDRE.MatchString(f.ID) {
		c.fail("bad_message", "a message needs an id of 1 to 64 letters, digits, - or _", "")
		return
	}
	if len(f.Text) > nlp.DefaultMaxBytes {
		c.fail("too_long", fmt.Sprintf("messages are at most %d bytes", nlp.DefaultMaxBytes), f.ID)
		return
	}
	if ok, wait := c.allow(time.Now()); !ok {
		c.rateLimited(f.ID, LimitConnection, wait)
		return
	}
	if !c.allowShared(f.ID) {
		return
	}
	on, off := true, false
	c.queue(frameOut{Type: "typing", On: &on})
	defer c.queue(frameOut{Type: "typing", On: &off})
	hctx, cancel := context.WithTimeout(ctx, c.s.cfg.HandleTimeout)
	defer cancel()
	turn, err := c.s.engine.Handle(hctx, bot.Message{
		Channel:      crm.ChannelWeb,
		Customer:     crm.ExternalID{Kind: crm.IDWebVisitor, Value: c.visitor},
		Text:         f.Text,
		ChannelMsgID: c.visitor + ":" + f.ID,
	})
	switch {
	case errors.Is(err, bot.ErrBadMessage):
		c.fail("bad_message", err.Error(), f.ID)
		return
	case errors.Is(err, crm.ErrUnavailable):
		// Nothing was stored: the widget keeps the message and sends it
		// again after the pause (the visitor sees it is not sent yet).
		c.s.log.Warn("web chat message refused: the CRM cannot store it", "visitor", c.visitor, "err", err)
		c.queue(frameOut{Type: "error", Code: "unavailable", Message: "we cannot take messages for a moment; it will be sent again", ID: f.ID, RetryAfterMs: unavailableRetry.Milliseconds()})
		return
	case err != nil:
		c.s.log.Error("web chat message", "visitor", c.visitor, "err", err)
		c.fail("internal", "something went wrong; the message will be resent", f.ID)
		return
	}
	if c.conversation() == 0 {
		// The first message made the conversation: this connection and
		// the visitor's other tabs follow it from now on.
		c.s.attach(c.visitor, turn.ConversationID)
	}
	c.queue(frameOut{Type: "ack", ID: f.ID, Seq: turn.MessageID})
	// Every connection of the conversation (other tabs too) gets the
	// message and the replies from the CRM, in order.
	c.s.Publish(ctx, turn.ConversationID)
	if turn.Escalated {
		c.s.broadcast(turn.ConversationID, frameOut{Type: "state", State: string(turn.State)})
	}
	if c.s.OnMessage != nil {
		c.s.OnMessage(turn.ConversationID)
	}
}

func (c *conn) conversation() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conv
}

func (c *conn) setConversation(id int64) {
	c.mu.Lock()
	c.conv = id
	c.mu.Unlock()
}

// visitorConversation finds the visitor's web conversation.
func (s *Server) visitorConversation(ctx context.Context, visitor string) (crm.Conversation, bool) {
	cust, err := s.store.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDWebVisitor, Value: visitor})
	if err != nil {
		return crm.Conversation{}, false
	}
	cs, err := s.store.Conversations(ctx, crm.ConversationFilter{CustomerID: cust.ID, Channel: crm.ChannelWeb, Limit: 1})
	if err != nil || len(cs) == 0 {
		return crm.Conversation{}, false
	}
	return cs[0], true
}

func (s *Server) register(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	add := func(m map[string]map[*conn]struct{}, k string) {
		if m[k] == nil {
			m[k] = map[*conn]struct{}{}
		}
		m[k][c] = struct{}{}
	}
	add(s.byVisitor, c.visitor)
	if id := c.conversation(); id != 0 {
		if s.byConv[id] == nil {
			s.byConv[id] = map[*conn]struct{}{}
		}
		s.byConv[id][c] = struct{}{}
	}
}

// attach puts the visitor's connections that have no conversation yet
// on the conversation.
func (s *Server) attach(visitor string, conversationID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.byVisitor[visitor] {
		if c.conversation() != 0 {
			continue
		}
		c.setConversation(conversationID)
		if s.byConv[conversationID] == nil {
			s.byConv[conversationID] = map[*conn]struct{}{}
		}
		s.byConv[conversationID][c] = struct{}{}
	}
}

func (s *Server) unregister(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if set := s.byVisitor[c.visitor]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(s.byVisitor, c.visitor)
		}
	}
	if id := c.conversation(); id != 0 {
		if set := s.byConv[id]; set != nil {
			delete(set, c)
			if len(set) == 0 {
				delete(s.byConv, id)
			}
		}
	}
}

func (s *Server) conns(conversationID int64) []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*conn, 0, len(s.byConv[conversationID]))
	for c := range s.byConv[conversationID] {
		out = append(out, c)
	}
	return out
}

func (s *Server) broadcast(conversationID int64, f frameOut) {
	for _, c := range s.conns(conversationID) {
		c.queue(f)
	}
}

// Publish sends the conversation's messages that its open connections
// have not shown yet: the bot's replies, a person's answers. Whoever
// adds messages to a web conversation calls it.
func (s *Server) Publish(ctx context.Context, conversationID int64) {
	for _, c := range s.conns(conversationID) {
		s.push(ctx, c, conversationID)
	}
}

// SetState tells the conversation's widgets its state changed (a person
// joined, the conversation went back to the bot).
func (s *Server) SetState(conversationID int64, state crm.State) {
	s.broadcast(conversationID, frameOut{Type: "state", State: string(state)})
}

// push queues to c the conversation's messages after its last seq.
func (s *Server) push(ctx context.Context, c *conn, conversationID int64) {
	s.deliver(ctx, c, conversationID, c.queue)
}

// deliver queues to c with queue the conversation's messages after its last
// seq. Lock order: s.mu before c.mu (register, attach), so the frames,
// whose staff names take s.mu, are made before c.mu is taken.
func (s *Server) deliver(ctx context.Context, c *conn, conversationID int64, queue func(frameOut) bool) {
	msgs, err := s.store.Messages(ctx, conversationID)
	if err != nil {
		s.log.Error("web chat history", "conversation", conversationID, "err", err)
		return
	}
	c.mu.Lock()
	after := c.lastSeq
	c.mu.Unlock()
	frames := make([]frameOut, 0, len(msgs))
	for _, m := range msgs {
		// Notes are for staff; words retention deleted would show as
		// empty bubbles.
		if m.ID <= after || m.Direction == crm.Note || m.Expired == crm.ExpireDelete {
			continue
		}
		f := frameOut{Type: "message", Seq: m.ID, Text: m.Text, QuickReplies: m.QuickReplies, At: m.CreatedAt.UTC().Format(time.RFC3339)}
		switch m.Direction {
		case crm.FromCustomer:
			f.From = "customer"
			if len(m.ChannelMsgID) > len(c.visitor)+1 && m.ChannelMsgID[:len(c.visitor)+1] == c.visitor+":" {
				f.ID = m.ChannelMsgID[len(c.visitor)+1:]
			}
		case crm.FromBot:
			f.From = "bot"
		case crm.FromAgent:
			f.From, f.Author = "agent", s.staffName(ctx, m.AuthorID)
		}
		frames = append(frames, f)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range frames {
		if f.Seq <= c.lastSeq {
			continue // a concurrent push queued it
		}
		if !queue(f) {
			return
		}
		c.lastSeq = f.Seq
	}
}

// staffName is an agent's name for the widget ("Alice"), cached for the
// server's lifetime.
func (s *Server) staffName(ctx context.Context, id int64) string {
	s.mu.Lock()
	name, ok := s.staffNames[id]
	s.mu.Unlock()
	if ok {
		return name
	}
	name = "Support team"
	if u, err := s.store.Staff(ctx, id); err == nil && u.Name != "" {
		name = u.Name
	}
	s.mu.Lock()
	s.staffNames[id] = name
	s.mu.Unlock()
	return name
}

// Disconnect closes every connection of a visitor (tests use it to
// simulate a dropped network; operators, to cut a misbehaving client).
func (s *Server) Disconnect(visitor string) int {
	s.mu.Lock()
	var cs []*conn
	for c := range s.byVisitor[visitor] {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	closeAll(cs, websocket.StatusGoingAway, "disconnected by the server")
	return len(cs)
}

// closeAll closes connections concurrently: each close waits up to 5 s
// for the peer's answer, which must not add up over many connections.
func closeAll(cs []*conn, code websocket.StatusCode, reason string) {
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() { c.close(code, reason) })
	}
	wg.Wait()
}

// Connections returns the number of open connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, set := range s.byVisitor {
		n += len(set)
	}
	return n
}

// Refuse turns new connections away (503) while on is true, for
// draining a server before a restart; the widgets keep retrying.
func (s *Server) Refuse(on bool) {
	s.mu.Lock()
	s.refusing = on
	s.mu.Unlock()
}

// Close closes every connection, telling the widgets the server is
// restarting; they reconnect and resend what was not acknowledged, so a
// message being handled meanwhile is stored once and answered again.
func (s *Server) Close() {
	s.mu.Lock()
	var cs []*conn
	for _, set := range s.byVisitor {
		for c := range set {
			cs = append(cs, c)
		}
	}
	s.mu.Unlock()
	closeAll(cs, websocket.StatusServiceRestart, "server restarting")
}
