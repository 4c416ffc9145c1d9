package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/parley-chat/parley/bot/handoff"
	"github.com/parley-chat/parley/bot/slackbot"
	"github.com/parley-chat/parley/bot/slackbot/slackfake"
	"github.com/parley-chat/parley/crm"
)

// The Slack end-to-end tests run `parley serve` in-process on a fresh
// SQLite file, with its Slack client pointed at slackfake (a local fake
// of Slack's Web API and Socket Mode) through --slack-api-url, and the
// Slack settings given through serveCommand.getenv. Everything in
// between is the real thing: the models, the engine, the CRM, the desk,
// the outbox worker, the web chat server.

// The fake workspace.
const (
	e2eSecret   = "e2e-signing-secret" // a test's own secret, signs only fake requests
	e2eStaffCh  = "CSTAFF"
	e2eCustomer = "USAM"
	e2eDM       = "DSAM"
	e2eAlice    = "UALICE"
	e2eBob      = "UBOB"
)

// e2eWait bounds every wait for something the server does in the
// background (an outbox post, a WebSocket frame).
const e2eWait = 10 * time.Second

// serveRefused runs `parley serve` with env, expecting it to refuse to
// start; it returns the error and the log.
func serveRefused(tb testing.TB, env map[string]string, args ...string) (error, string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logs := &syncWriter{}
	listened := false
	cmd := &serveCommand{stdout: io.Discard, stderr: logs,
		listening: func(string) { listened = true; cancel() },
		getenv:    func(k string) string { return env[k] },
	}
	err := cmd.Run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...))
	if listened {
		tb.Fatalf("serve with %v started listening, want a refusal", redactedEnv(env))
	}
	if err == nil {
		tb.Fatalf("serve with %v returned nil, want an error", redactedEnv(env))
	}
	return err, logs.String()
}

// redactedEnv names the variables set, not their values (secrets).
func redactedEnv(env map[string]string) []string {
	var out []string
	for k := range env {
		out = append(out, k)
	}
	return out
}

// newFakeSlack starts the fake with the workspace's people: a customer,
// and two support staff whose Slack emails match their Parley accounts.
func newFakeSlack(tb testing.TB) *slackfake.Server {
	tb.Helper()
	fake := slackfake.New()
	fake.SetLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	tb.Cleanup(fake.Close) // registered first: runs after the server stopped
	fake.AddUser(slackfake.User{ID: e2eCustomer, Name: "sam", RealName: "Sam Lee", Email: "sam@customer.example"})
	fake.AddUser(slackfake.User{ID: e2eAlice, Name: "Alice", RealName: "Alice Agent", Email: "Alice@Shop.Example"})
	fake.AddUser(slackfake.User{ID: e2eBob, Name: "Bob", RealName: "Bob Agent", Email: "bob@shop.example"})
	return fake
}

// slackEnv is the environment of a server on the fake: over HTTP
// (signing secret) or Socket Mode (app token).
func slackEnv(socketMode bool) map[string]string {
	env := map[string]string{
		slackbot.EnvBotToken:     slackfake.BotToken,
		slackbot.EnvStaffChannel: e2eStaffCh,
	}
	if socketMode {
		env[slackbot.EnvAppToken] = slackfake.AppToken
	} else {
		env[slackbot.EnvSigningSecret] = e2eSecret
	}
	return env
}

// startSlackServe starts the fake and `parley serve` on it, and waits
// until the app has connected (auth.test; the Socket Mode hello).
func startSlackServe(t *testing.T, socketMode bool) (string, *server, *slackfake.Server) {
	t.Helper()
	fake := newFakeSlack(t)
	base, srv, _ := startServeEnv(t, slackEnv(socketMode), "--db", t.TempDir()+"/crm.db", "--slack-api-url", fake.APIURL())
	if srv.slack == nil {
		t.Fatal("serve with a Slack configuration has no Slack app")
	}
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	if _, err := fake.WaitCalls(ctx, "auth.test", 1); err != nil {
		t.Fatalf("the app never called auth.test: %v", err)
	}
	if socketMode {
		if err := fake.WaitSocket(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return base, srv, fake
}

// mustStaff creates a staff account in the CRM.
func mustStaff(t *testing.T, srv *server, email, name string) crm.StaffUser {
	t.Helper()
	u, err := srv.store.CreateStaff(context.Background(), crm.StaffUser{Email: email, Name: name, Role: crm.RoleAgent})
	if err != nil {
		t.Fatalf("create staff %s: %v", email, err)
	}
	return u
}

// slackTransport is how Slack delivers to the app: the Events API over
// HTTP, or Socket Mode. Each method returns once Parley has taken the
// delivery (HTTP 200, or the envelope acknowledged): what it stores is
// in the CRM by then.
type slackTransport interface {
	event(t *testing.T, eventID string, ev map[string]any)
	// redeliver delivers an event again, as Slack does when it did not
	// hear back in time.
	redeliver(t *testing.T, eventID string, ev map[string]any)
	click(t *testing.T, payload []byte)
}

// httpSlack signs requests as Slack does and POSTs them.
type httpSlack struct{ base string }

func (h httpSlack) event(t *testing.T, eventID string, ev map[string]any) {
	t.Helper()
	h.mustPost(t, "/slack/events", slackfake.EventCallback(eventID, ev), nil)
}

func (h httpSlack) redeliver(t *testing.T, eventID string, ev map[string]any) {
	t.Helper()
	h.mustPost(t, "/slack/events", slackfake.EventCallback(eventID, ev), http.Header{
		"X-Slack-Retry-Num": {"1"}, "X-Slack-Retry-Reason": {"http_timeout"},
	})
}

func (h httpSlack) click(t *testing.T, payload []byte) {
	t.Helper()
	h.mustPost(t, "/slack/interactions", []byte(slackfake.InteractionForm(payload).Encode()), nil)
}

func (h httpSlack) mustPost(t *testing.T, path string, body []byte, extra http.Header) {
	t.Helper()
	hdr := slackfake.Sign(e2eSecret, body, time.Now())
	for k, v := range extra {
		hdr[k] = v
	}
	if status, resp := postSlack(t, h.base+path, body, hdr); status != http.StatusOK {
		t.Fatalf("POST %s %.120s: HTTP %d %q, want 200", path, body, status, resp)
	}
}

// postSlack POSTs body with headers and returns the status and body.
func postSlack(t *testing.T, url string, body []byte, hdr http.Header) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = hdr
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// socketSlack sends envelopes over the fake's Socket Mode connection.
type socketSlack struct {
	fake *slackfake.Server
	sent map[string]string // event id → envelope id
}

func (s socketSlack) event(t *testing.T, eventID string, ev map[string]any) {
	t.Helper()
	id, err := s.fake.SendEnvelope(slackfake.EnvelopeEventsAPI, slackfake.EventCallback(eventID, ev))
	if err != nil {
		t.Fatalf("send event %s: %v", eventID, err)
	}
	s.sent[eventID] = id
	s.waitAcks(t, id, 1)
}

func (s socketSlack) redeliver(t *testing.T, eventID string, _ map[string]any) {
	t.Helper()
	id, ok := s.sent[eventID]
	if !ok {
		t.Fatalf("redeliver %s: it was never sent", eventID)
	}
	if err := s.fake.RetryEnvelope(id, "timeout"); err != nil {
		t.Fatalf("redeliver %s: %v", eventID, err)
	}
	s.waitAcks(t, id, 2)
}

func (s socketSlack) click(t *testing.T, payload []byte) {
	t.Helper()
	id, err := s.fake.SendEnvelope(slackfake.EnvelopeInteractive, payload)
	if err != nil {
		t.Fatalf("send a click: %v", err)
	}
	s.waitAcks(t, id, 1)
}

func (s socketSlack) waitAcks(t *testing.T, envelopeID string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	if _, err := s.fake.WaitAcks(ctx, envelopeID, n); err != nil {
		t.Fatalf("the app did not acknowledge envelope %s: %v", envelopeID, err)
	}
}

// waitPosted waits for n messages posted to the fake that match.
func waitPosted(t *testing.T, fake *slackfake.Server, what string, n int, match func(slackfake.Message) bool) []slackfake.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	got, err := fake.WaitPosted(ctx, n, match)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return got
}

// inThread matches the posts in a thread whose text contains every part.
func inThread(channel, thread string, parts ...string) func(slackfake.Message) bool {
	return func(m slackfake.Message) bool {
		if m.Channel != channel || m.ThreadTS != thread {
			return false
		}
		for _, p := range parts {
			if !strings.Contains(m.Text, p) {
				return false
			}
		}
		return true
	}
}

// count is how many posts match.
func count(fake *slackfake.Server, match func(slackfake.Message) bool) int {
	n := 0
	for _, m := range fake.Posted("") {
		if match(m) {
			n++
		}
	}
	return n
}

// summaryOf matches the escalation summary of a conversation: a
// top-level post in the staff channel whose Resolve button carries the
// conversation's id (what a click sends back).
func summaryOf(convID int64) func(slackfake.Message) bool {
	want := strconv.FormatInt(convID, 10)
	return func(m slackfake.Message) bool {
		if m.Channel != e2eStaffCh || m.ThreadTS != "" || len(m.Blocks) == 0 {
			return false
		}
		var blocks []struct {
			Type     string `json:"type"`
			Elements []struct {
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
			} `json:"elements"`
		}
		if json.Unmarshal(m.Blocks, &blocks) != nil {
			return false
		}
		for _, b := range blocks {
			for _, e := range b.Elements {
				if b.Type == "actions" && e.ActionID == "parley_resolve" && e.Value == want {
					return true
				}
			}
		}
		return false
	}
}

// slackConversation finds a Slack customer's conversation by its thread.
func slackConversation(t *testing.T, srv *server, user, ref string) crm.Conversation {
	t.Helper()
	ctx := context.Background()
	cust, err := srv.store.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDSlackUser, Value: user})
	if err != nil {
		t.Fatalf("Slack user %s is not in the CRM: %v", user, err)
	}
	convs, err := srv.store.Conversations(ctx, crm.ConversationFilter{CustomerID: cust.ID, Channel: crm.ChannelSlack})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range convs {
		if c.Ref == ref {
			return c
		}
	}
	t.Fatalf("Slack user %s has no conversation %q: %+v", user, ref, convs)
	return crm.Conversation{}
}

// conversationNow reads a conversation from the CRM.
func conversationNow(t *testing.T, srv *server, id int64) crm.Conversation {
	t.Helper()
	c, err := srv.store.Conversation(context.Background(), id)
	if err != nil {
		t.Fatalf("conversation %d: %v", id, err)
	}
	return c
}

// messagesOf reads a conversation's messages from the CRM.
func messagesOf(t *testing.T, srv *server, id int64) []crm.Message {
	t.Helper()
	ms, err := srv.store.Messages(context.Background(), id)
	if err != nil {
		t.Fatalf("messages of conversation %d: %v", id, err)
	}
	return ms
}

func describe(ms []crm.Message) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "\n  %s author=%d %q", m.Direction, m.AuthorID, m.Text)
	}
	return b.String()
}

// TestSlackEndToEnd is a Slack customer's whole journey, over each
// transport: the bot answers a direct message in its thread; asking for
// a person puts a summary in the staff channel; a staff member's reply
// in the summary's thread reaches the customer and makes the
// conversation theirs; what the customer adds goes to the staff thread,
// not the bot; the Resolve button hands it back; the bot answers again.
func TestSlackEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name       string
		socketMode bool
	}{
		{"EventsAPI", false},
		{"SocketMode", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, srv, fake := startSlackServe(t, tc.socketMode)
			var tr slackTransport = httpSlack{base: base}
			if tc.socketMode {
				tr = socketSlack{fake: fake, sent: map[string]string{}}
				// Without a signing secret, the HTTP endpoint is closed.
				body := slackfake.EventCallback("Ev0", slackfake.MessageEvent(e2eCustomer, e2eDM, "im", "hello", "1700000999.000100", ""))
				if status, _ := postSlack(t, base+"/slack/events", body, slackfake.Sign(e2eSecret, body, time.Now())); status != http.StatusNotFound {
					t.Errorf("POST /slack/events in Socket Mode only: HTTP %d, want 404", status)
				}
			}
			slackJourney(t, srv, fake, tr)
		})
	}
}

func slackJourney(t *testing.T, srv *server, fake *slackfake.Server, tr slackTransport) {
	alice := mustStaff(t, srv, "alice@shop.example", "Alice")
	const (
		root    = "1700001000.000100" // the customer's first message: the thread
		tsHuman = "1700001001.000100"
		tsStaff = "1700001002.000100"
		tsWhile = "1700001003.000100"
		tsAfter = "1700001004.000100"
	)
	order := slackfake.MessageEvent(e2eCustomer, e2eDM, "im", "where is my order 12345", root, "")
	tr.event(t, "EvOrder", order)
	waitPosted(t, fake, "the bot's answer about order 12345 in the DM's thread", 1, inThread(e2eDM, root, "12345"))
	conv := slackConversation(t, srv, e2eCustomer, e2eDM+":"+root)
	if conv.State != crm.StateBot {
		t.Errorf("after the first message: state %s, want %s", conv.State, crm.StateBot)
	}

	// Slack delivers the same event again: nothing new is stored or posted.
	tr.redeliver(t, "EvOrder", order)

	tr.event(t, "EvHuman", slackfake.MessageEvent(e2eCustomer, e2eDM, "im", "I want to talk to a human", tsHuman, root))
	if c := conversationNow(t, srv, conv.ID); c.State != crm.StateEscalated {
		t.Fatalf("after asking for a person: state %s, want %s", c.State, crm.StateEscalated)
	}
	sum := waitPosted(t, fake, "the escalation summary in the staff channel", 1, summaryOf(conv.ID))[0]
	for _, want := range []string{"customer asked for a person", "Sam Lee", "where is my order 12345"} {
		if !bytes.Contains(sum.Blocks, []byte(want)) {
			t.Errorf("summary blocks lack %q:\n%s", want, sum.Blocks)
		}
	}
	waitPosted(t, fake, "the hand-over reply in the DM's thread", 1, inThread(e2eDM, root, "support team"))
	if n := count(fake, inThread(e2eDM, root, "12345")); n != 1 {
		t.Errorf("answers about order 12345 in the DM's thread: %d, want 1 (the redelivery posts nothing)", n)
	}
	if n := countFrom(messagesOf(t, srv, conv.ID), crm.FromCustomer, "where is my order 12345"); n != 1 {
		t.Errorf("the order question is stored %d times, want once", n)
	}

	// Alice answers in the summary's thread.
	waitOutboxIdle(t, srv)
	reply := "Hi Sam, Alice here. I'm checking order 12345 for you."
	tr.event(t, "EvStaff", slackfake.MessageEvent(e2eAlice, e2eStaffCh, "channel", reply, tsStaff, sum.TS))
	waitPosted(t, fake, "Alice's reply in the customer's thread", 1, inThread(e2eDM, root, "Alice", reply))
	c := conversationNow(t, srv, conv.ID)
	if c.State != crm.StateAssigned || c.AssigneeID != alice.ID {
		t.Errorf("after Alice's reply: state %s assignee %d, want %s to %d (Alice)", c.State, c.AssigneeID, crm.StateAssigned, alice.ID)
	}
	msgs := messagesOf(t, srv, conv.ID)
	if last := msgs[len(msgs)-1]; last.Direction != crm.FromAgent || last.AuthorID != alice.ID || last.Text != reply {
		t.Errorf("last stored message: %s by %d %q, want Alice's reply %q", last.Direction, last.AuthorID, last.Text, reply)
	}
	waitPosted(t, fake, "the note that Alice took it, in the staff thread", 1, inThread(e2eStaffCh, sum.TS, "Alice", "took"))

	// The customer writes on: the bot stays silent, staff see it.
	tr.event(t, "EvWhile", slackfake.MessageEvent(e2eCustomer, e2eDM, "im", "thanks, no rush", tsWhile, root))
	waitPosted(t, fake, "the customer's message relayed to the staff thread", 1, inThread(e2eStaffCh, sum.TS, "thanks, no rush"))
	msgs = messagesOf(t, srv, conv.ID)
	if last := msgs[len(msgs)-1]; last.Direction != crm.FromCustomer || last.Text != "thanks, no rush" {
		t.Errorf("while Alice owns the conversation the bot answered:%s", describe(msgs))
	}

	// Alice resolves it with the button under the summary.
	tr.click(t, slackfake.BlockActionPayload(e2eAlice, e2eStaffCh, sum.TS, "", "parley_resolve", strconv.FormatInt(conv.ID, 10)))
	if c := conversationNow(t, srv, conv.ID); c.State != crm.StateResolved {
		t.Errorf("after Resolve: state %s, want %s", c.State, crm.StateResolved)
	}
	waitPosted(t, fake, "the resolution in the staff thread", 1, inThread(e2eStaffCh, sum.TS, "Resolved by", "Alice"))
	waitPosted(t, fake, "the customer told it is resolved", 1, inThread(e2eDM, root, "resolved"))
	waitPosted(t, fake, "the summary updated without its buttons", 1, func(m slackfake.Message) bool {
		return m.TS == sum.TS && m.Channel == e2eStaffCh && m.Updated > 0 && !bytes.Contains(m.Blocks, []byte("parley_resolve"))
	})

	// The bot is back.
	tr.event(t, "EvAfter", slackfake.MessageEvent(e2eCustomer, e2eDM, "im", "how much is shipping", tsAfter, root))
	waitPosted(t, fake, "the bot's shipping answer in the DM's thread", 1, inThread(e2eDM, root, "4.95"))

	// A reply typed in Slack is not echoed back into the staff thread.
	if n := count(fake, inThread(e2eStaffCh, sum.TS, "replied to the customer")); n != 0 {
		t.Errorf("the staff thread echoes a reply typed in it %d times, want 0", n)
	}
	wantNoFailedPosts(t, fake)
}

// wantNoFailedPosts checks that every chat.postMessage went through the
// first time. The fake records a call after answering it, so it waits
// for the calls of the posts already stored.
func wantNoFailedPosts(t *testing.T, fake *slackfake.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	calls, err := fake.WaitCalls(ctx, "chat.postMessage", len(fake.Posted("")))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		if c.Status != http.StatusOK || c.Error != "" {
			t.Errorf("chat.postMessage to %s: HTTP %d error %q, want 200 ok", c.Params.Get("channel"), c.Status, c.Error)
		}
	}
}

// waitOutboxIdle waits until the app has sent everything it queued.
//
// A staff reply is only recognised once the summary's post is linked to
// its conversation, which happens after Slack answered the post; the
// fake shows the summary a moment before that. People do not reply
// within that moment, tests do: they wait for the outbox first.
func waitOutboxIdle(t *testing.T, srv *server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		n, err := srv.slack.OutboxDepth(ctx)
		if err == nil && n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the Slack outbox still holds %d posts (%v) after %v", n, err, e2eWait)
		case <-tick.C:
		}
	}
}

func countFrom(ms []crm.Message, d crm.Direction, text string) int {
	n := 0
	for _, m := range ms {
		if m.Direction == d && m.Text == text {
			n++
		}
	}
	return n
}

// wsFrameE2E is a server frame of the web chat protocol (see package
// webchat).
type wsFrameE2E struct {
	Type           string `json:"type"`
	Seq            int64  `json:"seq"`
	From           string `json:"from"`
	Text           string `json:"text"`
	Author         string `json:"author"`
	ID             string `json:"id"`
	Visitor        string `json:"visitor"`
	ConversationID int64  `json:"conversation_id"`
	State          string `json:"state"`
	Code           string `json:"code"`
}

// webCustomer is a widget's WebSocket connection.
type webCustomer struct {
	t       *testing.T
	ws      *websocket.Conn
	visitor string
	seen    []wsFrameE2E // every frame read, for failure messages
}

// dialWeb connects to /ws and says hello as a new visitor.
func dialWeb(t *testing.T, base string) *webCustomer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
	if err != nil {
		t.Fatalf("dial the web chat: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	c := &webCustomer{t: t, ws: ws}
	c.send(map[string]any{"type": "hello", "visitor": "", "last_seq": 0})
	w := c.until("the welcome", func(f wsFrameE2E) bool { return f.Type == "welcome" })
	if w.Visitor == "" {
		t.Fatalf("welcome without a visitor: %+v", w)
	}
	c.visitor = w.Visitor
	return c
}

func (c *webCustomer) send(v any) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	if err := wsjson.Write(ctx, c.ws, v); err != nil {
		c.t.Fatalf("send %v: %v", v, err)
	}
}

// until reads frames until one matches, failing on a deadline.
func (c *webCustomer) until(what string, match func(wsFrameE2E) bool) wsFrameE2E {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	for {
		var f wsFrameE2E
		if err := wsjson.Read(ctx, c.ws, &f); err != nil {
			b, _ := json.Marshal(c.seen)
			c.t.Fatalf("web chat: waiting for %s: %v; frames so far: %s", what, err, b)
		}
		c.seen = append(c.seen, f)
		if match(f) {
			return f
		}
	}
}

// TestSlackWebChatHandoff: a web chat customer asks for a person; the
// summary appears in the Slack staff channel; a staff reply in its
// thread reaches the customer's widget as a person's message with the
// author's name; what is done in the console (claim, reply, note,
// resolve) shows in the Slack thread.
func TestSlackWebChatHandoff(t *testing.T) {
	base, srv, fake := startSlackServe(t, false)
	tr := httpSlack{base: base}
	ctx := context.Background()
	mustStaff(t, srv, "alice@shop.example", "Alice")
	bob := mustStaff(t, srv, "bob@shop.example", "Bob")

	web := dialWeb(t, base)
	web.send(map[string]any{"type": "message", "id": "m1", "text": "I want to talk to a human"})
	web.until("the ack of m1", func(f wsFrameE2E) bool { return f.Type == "ack" && f.ID == "m1" })
	web.until("the escalated state", func(f wsFrameE2E) bool { return f.Type == "state" && f.State == string(crm.StateEscalated) })
	cust, err := srv.store.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDWebVisitor, Value: web.visitor})
	if err != nil {
		t.Fatalf("visitor %s is not in the CRM: %v", web.visitor, err)
	}
	convs, err := srv.store.Conversations(ctx, crm.ConversationFilter{CustomerID: cust.ID})
	if err != nil || len(convs) != 1 || convs[0].State != crm.StateEscalated {
		t.Fatalf("visitor's conversations: %+v (%v), want one, escalated", convs, err)
	}
	conv := convs[0]
	sum := waitPosted(t, fake, "the web chat's summary in the staff channel", 1, summaryOf(conv.ID))[0]
	for _, want := range []string{"customer asked for a person", string(crm.ChannelWeb)} {
		if !bytes.Contains(sum.Blocks, []byte(want)) {
			t.Errorf("summary blocks lack %q:\n%s", want, sum.Blocks)
		}
	}

	// Alice answers from Slack.
	waitOutboxIdle(t, srv)
	reply := "Hello from Slack, I'm Alice. How can I help?"
	tr.event(t, "EvWeb1", slackfake.MessageEvent(e2eAlice, e2eStaffCh, "channel", reply, "1700002000.000100", sum.TS))
	got := web.until("Alice's reply in the widget", func(f wsFrameE2E) bool { return f.Type == "message" && f.From == "agent" })
	if got.Text != reply || got.Author != "Alice" {
		t.Errorf("agent frame: author %q text %q, want author %q text %q", got.Author, got.Text, "Alice", reply)
	}

	// Bob takes over in the console; the Slack thread follows.
	if _, err := srv.desk.Claim(ctx, conv.ID, bob, handoff.SourceConsole); err != nil {
		t.Fatalf("console claim: %v", err)
	}
	waitPosted(t, fake, "the console claim in the staff thread", 1, inThread(e2eStaffCh, sum.TS, "Bob", "took"))
	consoleReply := "Bob here: your refund is on its way."
	if _, err := srv.desk.Reply(ctx, conv.ID, bob, consoleReply, handoff.SourceConsole); err != nil {
		t.Fatalf("console reply: %v", err)
	}
	waitPosted(t, fake, "the console reply in the staff thread", 1, inThread(e2eStaffCh, sum.TS, "Bob", "replied to the customer", consoleReply))
	got = web.until("Bob's reply in the widget", func(f wsFrameE2E) bool { return f.Type == "message" && f.From == "agent" && f.Author == "Bob" })
	if got.Text != consoleReply {
		t.Errorf("Bob's frame text %q, want %q", got.Text, consoleReply)
	}
	if _, err := srv.desk.Note(ctx, conv.ID, bob, "refund approved by finance", handoff.SourceConsole); err != nil {
		t.Fatalf("console note: %v", err)
	}
	waitPosted(t, fake, "the console note in the staff thread", 1, inThread(e2eStaffCh, sum.TS, "Bob", "refund approved by finance"))
	if _, err := srv.desk.Resolve(ctx, conv.ID, bob, "refunded", handoff.SourceConsole); err != nil {
		t.Fatalf("console resolve: %v", err)
	}
	waitPosted(t, fake, "the console resolution in the staff thread", 1, inThread(e2eStaffCh, sum.TS, "Resolved by", "Bob", "refunded"))
	web.until("the resolved state in the widget", func(f wsFrameE2E) bool { return f.Type == "state" && f.State == string(crm.StateResolved) })

	// Only the Slack-typed reply is not echoed; the note never reaches the customer.
	if n := count(fake, inThread(e2eStaffCh, sum.TS, "replied to the customer", reply)); n != 0 {
		t.Errorf("Alice's Slack reply echoed into her own thread %d times, want 0", n)
	}
	for _, f := range web.seen {
		if strings.Contains(f.Text, "refund approved by finance") {
			t.Errorf("the internal note reached the customer: %+v", f)
		}
	}
	wantNoFailedPosts(t, fake)
}

// TestSlackConfiguration: without any Slack variable serve runs without
// Slack and says so once; a partial configuration stops the start and
// the error names every missing setting (and never a secret's value).
func TestSlackConfiguration(t *testing.T) {
	t.Run("Off", func(t *testing.T) {
		base, srv, logs := startServeEnv(t, nil, "--db", t.TempDir()+"/crm.db")
		if srv.slack != nil {
			t.Error("serve without Slack variables has a Slack app")
		}
		if n := strings.Count(logs.String(), "slack is off"); n != 1 {
			t.Errorf("log says %d times that Slack is off, want once:\n%s", n, logs.String())
		}
		for _, v := range []string{slackbot.EnvBotToken, slackbot.EnvAppToken, slackbot.EnvSigningSecret, slackbot.EnvStaffChannel} {
			if !strings.Contains(logs.String(), v) {
				t.Errorf("the Slack-is-off log line does not name %s:\n%s", v, logs.String())
			}
		}
		body := slackfake.EventCallback("Ev1", slackfake.MessageEvent(e2eCustomer, e2eDM, "im", "hello", "1700001000.000100", ""))
		if status, _ := postSlack(t, base+"/slack/events", body, slackfake.Sign(e2eSecret, body, time.Now())); status != http.StatusNotFound {
			t.Errorf("POST /slack/events with Slack off: HTTP %d, want 404", status)
		}
	})
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    []string // in the error
		notWant []string // in neither the error nor the log
	}{
		{
			name: "BotTokenOnly",
			env:  map[string]string{slackbot.EnvBotToken: slackfake.BotToken},
			want: []string{slackbot.EnvStaffChannel, slackbot.EnvAppToken, slackbot.EnvSigningSecret},
			// The token itself is a secret.
			notWant: []string{slackfake.BotToken},
		},
		{
			name:    "SigningSecretOnly",
			env:     map[string]string{slackbot.EnvSigningSecret: "s3cr3t-do-not-log"},
			want:    []string{slackbot.EnvBotToken, slackbot.EnvStaffChannel},
			notWant: []string{"s3cr3t-do-not-log"},
		},
		{
			name: "MalformedTokens",
			env: map[string]string{
				slackbot.EnvBotToken: "xoxp-a-user-token", slackbot.EnvAppToken: "not-an-app-token",
				slackbot.EnvStaffChannel: e2eStaffCh,
			},
			want:    []string{slackbot.EnvBotToken + " must be a bot token", slackbot.EnvAppToken + " must be an app-level token"},
			notWant: []string{"xoxp-a-user-token", "not-an-app-token"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err, logs := serveRefused(t, tc.env, "--db", t.TempDir()+"/crm.db")
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("serve with %v: error %q does not name %q", redactedEnv(tc.env), err, w)
				}
			}
			for _, nw := range tc.notWant {
				if strings.Contains(err.Error(), nw) || strings.Contains(logs, nw) {
					t.Errorf("serve with %v: the error or log shows the secret %q:\nerror: %v\nlog:\n%s", redactedEnv(tc.env), nw, err, logs)
				}
			}
		})
	}
}

// TestSlackForgedSignature: requests that Slack did not sign (a wrong
// secret, no signature, a replayed old one, a body changed after
// signing) are refused with 401 and leave nothing in the CRM and
// nothing posted; the same event signed properly is then accepted.
func TestSlackForgedSignature(t *testing.T) {
	base, srv, fake := startSlackServe(t, false)
	ctx := context.Background()
	ev := slackfake.EventCallback("EvForged", slackfake.MessageEvent(e2eCustomer, e2eDM, "im", "where is my order 12345", "1700003000.000100", ""))
	tampered := bytes.Replace(ev, []byte("12345"), []byte("99999"), 1)
	resolve := []byte(slackfake.InteractionForm(slackfake.BlockActionPayload(e2eAlice, e2eStaffCh, "1700000000.000100", "", "parley_resolve", "1")).Encode())
	for _, tc := range []struct {
		name, path string
		body       []byte
		hdr        http.Header
	}{
		{"WrongSecret", "/slack/events", ev, slackfake.Sign("not-the-secret", ev, time.Now())},
		{"NoSignature", "/slack/events", ev, http.Header{"Content-Type": {"application/json"}}},
		{"Stale", "/slack/events", ev, slackfake.Sign(e2eSecret, ev, time.Now().Add(-10*time.Minute))},
		{"Tampered", "/slack/events", tampered, slackfake.Sign(e2eSecret, ev, time.Now())},
		{"ForgedClick", "/slack/interactions", resolve, slackfake.Sign("not-the-secret", resolve, time.Now())},
	} {
		if status, body := postSlack(t, base+tc.path, tc.body, tc.hdr); status != http.StatusUnauthorized {
			t.Errorf("%s: POST %s: HTTP %d %q, want 401", tc.name, tc.path, status, body)
		}
	}
	if c, err := srv.store.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDSlackUser, Value: e2eCustomer}); err == nil {
		t.Errorf("after forged requests the CRM has customer %+v, want none", c)
	}
	if convs, err := srv.store.Conversations(ctx, crm.ConversationFilter{}); err != nil || len(convs) != 0 {
		t.Errorf("after forged requests the CRM has conversations %+v (%v), want none", convs, err)
	}
	if calls := fake.Calls("users.info"); len(calls) != 0 {
		t.Errorf("forged requests made %d users.info calls, want none: nothing is read before the signature checks out", len(calls))
	}
	// The control: signed properly, the same event is taken and answered.
	httpSlack{base: base}.event(t, "EvForged", slackfake.MessageEvent(e2eCustomer, e2eDM, "im", "where is my order 12345", "1700003000.000100", ""))
	waitPosted(t, fake, "the answer to the properly signed event", 1, inThread(e2eDM, "1700003000.000100", "12345"))
	if n := len(fake.Posted("")); n != 1 {
		t.Errorf("posts after 5 forged requests and 1 signed one: %d, want 1", n)
	}
	wantNoFailedPosts(t, fake)
}
