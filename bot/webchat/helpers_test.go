package webchat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/bottest"
	"github.com/parley-chat/parley/bot/webchat"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
)

// ioTimeout bounds every read and write of a test, so that a missing
// frame fails the test instead of hanging it.
const ioTimeout = 5 * time.Second

// builtinParts is the built-in models and knowledge base, loaded once.
func builtinParts(tb testing.TB) (*bot.Models, bot.Knowledge) { return bottest.Builtin(tb) }

// harness is a web chat server on the real engine and an in-memory CRM.
type harness struct {
	srv    *webchat.Server
	ts     *httptest.Server
	store  crm.Store
	engine *bot.Engine
}

// newHarness starts a server. wrap, when not nil, puts a test engine
// around the real one (to inject failures or delays).
func newHarness(tb testing.TB, cfg webchat.Config, wrap func(webchat.Engine) webchat.Engine) *harness {
	tb.Helper()
	nlu, kb := builtinParts(tb)
	store := crmtest.NewMemory()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := bot.NewEngine(nlu, kb, store, nil, quiet)
	var eng webchat.Engine = e
	if wrap != nil {
		eng = wrap(e)
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	srv := webchat.New(eng, store, cfg)
	ts := httptest.NewServer(srv.Handler())
	tb.Cleanup(func() {
		srv.Close()
		ts.Close()
		store.Close()
	})
	return &harness{srv: srv, ts: ts, store: store, engine: e}
}

func (h *harness) wsURL() string { return "ws" + strings.TrimPrefix(h.ts.URL, "http") + "/ws" }

// frame is a server frame as the widget reads it. Unknown fields are an
// error (see client.read): the protocol is documented, and a field the
// widget does not know about is a change to review.
type frame struct {
	Type           string   `json:"type"`
	Seq            int64    `json:"seq"`
	From           string   `json:"from"`
	Text           string   `json:"text"`
	QuickReplies   []string `json:"quick_replies"`
	ID             string   `json:"id"`
	Author         string   `json:"author"`
	At             string   `json:"at"`
	Visitor        string   `json:"visitor"`
	ConversationID int64    `json:"conversation_id"`
	State          string   `json:"state"`
	On             *bool    `json:"on"`
	Code           string   `json:"code"`
	Message        string   `json:"message"`
	RetryAfterMs   int64    `json:"retry_after_ms"`
}

func (f frame) String() string {
	b, _ := json.Marshal(f)
	return string(b)
}

// hello and message are the widget's frames.
type hello struct {
	Type    string `json:"type"`
	Visitor string `json:"visitor"`
	LastSeq int64  `json:"last_seq"`
}

type message struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Text string `json:"text"`
}

// client is one widget connection.
type client struct {
	tb testing.TB
	ws *websocket.Conn
	// visitor and conv are what the welcome said.
	visitor string
	conv    int64
	// unread holds frames a test looked at and put back.
	unread []frame
}

// dial opens a connection, failing the test if the handshake fails.
func (h *harness) dial(tb testing.TB) *client {
	tb.Helper()
	ws, resp, err := h.tryDial(tb, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		tb.Fatalf("dial %s: %v (HTTP %d)", h.wsURL(), err, status)
	}
	return &client{tb: tb, ws: ws}
}

// tryDial opens a connection with extra request headers.
func (h *harness) tryDial(tb testing.TB, header http.Header) (*websocket.Conn, *http.Response, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, h.wsURL(), &websocket.DialOptions{HTTPHeader: header})
	if err == nil {
		tb.Cleanup(func() { ws.CloseNow() })
	}
	return ws, resp, err
}

// connect dials and says hello, returning the client after the welcome
// and the history frames the server replayed.
func (h *harness) connect(tb testing.TB, visitor string, lastSeq int64) (*client, []frame) {
	tb.Helper()
	c := h.dial(tb)
	hist := c.hello(visitor, lastSeq)
	return c, hist
}

func (c *client) send(v any) {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	if err := wsjson.Write(ctx, c.ws, v); err != nil {
		c.tb.Fatalf("send %+v: %v", v, err)
	}
}

func (c *client) sendRaw(typ websocket.MessageType, data []byte) {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, typ, data); err != nil {
		c.tb.Fatalf("send %q: %v", data, err)
	}
}

// readErr reads the next frame.
func (c *client) readErr() (frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	typ, data, err := c.ws.Read(ctx)
	if err != nil {
		return frame{}, err
	}
	if typ != websocket.MessageText {
		return frame{}, fmt.Errorf("got a %v frame %q, want text", typ, data)
	}
	var f frame
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return frame{}, fmt.Errorf("decode frame %s: %w", data, err)
	}
	return f, nil
}

// read reads the next frame, failing the test if there is none.
func (c *client) read() frame {
	c.tb.Helper()
	if len(c.unread) > 0 {
		f := c.unread[0]
		c.unread = c.unread[1:]
		return f
	}
	f, err := c.readErr()
	if err != nil {
		c.tb.Fatalf("read frame: %v", err)
	}
	return f
}

// expectClosed reads until the connection ends and returns how.
func (c *client) expectClosed() websocket.StatusCode {
	c.tb.Helper()
	got := <-c.closing()
	if got.err != nil {
		c.tb.Fatal(got.err)
	}
	return got.status
}

type closed struct {
	status websocket.StatusCode
	err    error
}

// closing reads, in a goroutine, until the connection ends, and then
// reports how. The server's close waits for the peer to answer its close
// frame, which the peer does while reading: start this before asking the
// server to close.
func (c *client) closing() <-chan closed {
	out := make(chan closed, 1)
	go func() {
		for {
			_, err := c.readErr()
			if err == nil {
				continue // frames queued before the close
			}
			if errors.Is(err, context.DeadlineExceeded) {
				out <- closed{err: fmt.Errorf("connection still open after %v", ioTimeout)}
				return
			}
			out <- closed{status: websocket.CloseStatus(err)}
			return
		}
	}()
	return out
}

// wantClosed waits for what closing reports.
func wantClosed(tb testing.TB, ch <-chan closed, want websocket.StatusCode) {
	tb.Helper()
	got := <-ch
	if got.err != nil {
		tb.Fatal(got.err)
	}
	if got.status != want {
		tb.Errorf("connection closed with %v, want %v", got.status, want)
	}
}

// hello says hello and returns the history the server replays after
// the welcome. Where the history ends is found with a second hello: the
// server handles a connection's frames in order, so its bad_frame error
// comes after every replayed message, and it changes nothing.
func (c *client) hello(visitor string, lastSeq int64) []frame {
	c.tb.Helper()
	c.send(hello{Type: "hello", Visitor: visitor, LastSeq: lastSeq})
	w := c.read()
	if w.Type != "welcome" || w.Visitor == "" || w.State == "" {
		c.tb.Fatalf("hello %q last_seq %d: got %v, want a welcome with a visitor and a state", visitor, lastSeq, w)
	}
	c.visitor, c.conv = w.Visitor, w.ConversationID
	return c.drain()
}

// drain returns the messages queued to the connection so far (see
// hello).
func (c *client) drain() []frame {
	c.tb.Helper()
	c.send(hello{Type: "hello", Visitor: c.visitor})
	var hist []frame
	for {
		f := c.read()
		switch {
		case f.Type == "error" && f.Code == "bad_frame":
			return hist
		case f.Type == "message":
			hist = append(hist, f)
		default:
			c.tb.Fatalf("visitor %q: got %v among the replayed messages", c.visitor, f)
		}
	}
}

// exchange is what one customer message brings back.
type exchange struct {
	ack     frame
	echo    frame   // the customer message, from the CRM
	replies []frame // the bot's messages
	state   string  // a state frame's state, if one came
}

// say sends a message and reads its whole exchange: typing on, the ack,
// the customer's message, the replies (and a state change), typing off.
func (c *client) say(id, text string) exchange {
	c.tb.Helper()
	c.send(message{Type: "message", ID: id, Text: text})
	return c.readExchange(id, text)
}

// readExchange reads the frames of one handled message, in the order
// the protocol promises.
func (c *client) readExchange(id, text string) exchange {
	c.tb.Helper()
	var frames []frame
	for {
		f := c.read()
		frames = append(frames, f)
		if f.Type == "typing" && f.On != nil && !*f.On {
			break
		}
		if f.Type == "error" {
			c.tb.Fatalf("message %q %q: got %v", id, text, f)
		}
	}
	fail := func(why string) {
		c.tb.Helper()
		c.tb.Fatalf("message %q %q: %s; got frames:\n%s", id, text, why, joinFrames(frames))
	}
	if len(frames) < 3 {
		fail("want typing on, ack, messages, typing off")
	}
	if f := frames[0]; f.Type != "typing" || f.On == nil || !*f.On {
		fail("first frame is not typing on")
	}
	var ex exchange
	ex.ack = frames[1]
	if ex.ack.Type != "ack" || ex.ack.ID != id || ex.ack.Seq <= 0 {
		fail(fmt.Sprintf("second frame is not an ack of %q with a seq", id))
	}
	for _, f := range frames[2 : len(frames)-1] {
		switch {
		case f.Type == "message" && f.From == "customer":
			if ex.echo.Type != "" || len(ex.replies) > 0 {
				fail("the customer message is not the first message, or came twice")
			}
			ex.echo = f
		case f.Type == "message" && f.From == "bot":
			ex.replies = append(ex.replies, f)
		case f.Type == "state":
			ex.state = f.State
		default:
			fail(fmt.Sprintf("unexpected frame %v", f))
		}
	}
	return ex
}

func joinFrames(fs []frame) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

// waitFor polls cond until it holds or a deadline passes: connections
// unregister asynchronously after they close.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(ioTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// customerMessages returns the stored customer messages of a conversation.
func customerMessages(tb testing.TB, store crm.Store, conv int64) []crm.Message {
	tb.Helper()
	msgs, err := store.Messages(context.Background(), conv)
	if err != nil {
		tb.Fatalf("messages of conversation %d: %v", conv, err)
	}
	var out []crm.Message
	for _, m := range msgs {
		if m.Direction == crm.FromCustomer {
			out = append(out, m)
		}
	}
	return out
}

// conversationOf finds a visitor's web conversation in the CRM.
func conversationOf(tb testing.TB, store crm.Store, visitor string) crm.Conversation {
	tb.Helper()
	ctx := context.Background()
	cust, err := store.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDWebVisitor, Value: visitor})
	if err != nil {
		tb.Fatalf("customer of visitor %q: %v", visitor, err)
	}
	cs, err := store.Conversations(ctx, crm.ConversationFilter{CustomerID: cust.ID, Channel: crm.ChannelWeb})
	if err != nil || len(cs) != 1 {
		tb.Fatalf("conversations of visitor %q: %v (%v), want one", visitor, cs, err)
	}
	return cs[0]
}

// gatedEngine is the real engine behind a gate: Handle reports that it
// was called, then waits for the test to open the gate (or for the
// context), then handles the message for real.
type gatedEngine struct {
	inner   webchat.Engine
	entered chan string // the channel message ids, as Handle is called
	gate    chan struct{}
}

func (g *gatedEngine) Handle(ctx context.Context, m bot.Message) (bot.Turn, error) {
	g.entered <- m.ChannelMsgID
	select {
	case <-g.gate:
	case <-ctx.Done():
		return bot.Turn{}, fmt.Errorf("wait for the test: %w", ctx.Err())
	}
	return g.inner.Handle(ctx, m)
}

// failingEngine fails the first fails calls without storing anything,
// as the engine does when the CRM is down, then handles for real.
type failingEngine struct {
	inner webchat.Engine
	mu    sync.Mutex
	fails int
	err   error // errCRMDown when nil
}

var errCRMDown = errors.New("log interaction: crm unavailable")

func (f *failingEngine) Handle(ctx context.Context, m bot.Message) (bot.Turn, error) {
	f.mu.Lock()
	fail := f.fails > 0
	if fail {
		f.fails--
	}
	f.mu.Unlock()
	if fail && f.err != nil {
		return bot.Turn{}, f.err
	} else if fail {
		return bot.Turn{}, errCRMDown
	}
	return f.inner.Handle(ctx, m)
}
