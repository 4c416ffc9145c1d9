package slackbot

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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/bottest"
	"github.com/parley-chat/parley/bot/handoff"
	"github.com/parley-chat/parley/bot/slackbot/slackfake"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
)

const (
	secret   = "test-signing-secret"
	staffCh  = "CSTAFF"
	customer = "UCUST"
	agent    = "UALICE"
	dm       = "DCUST"
)

// harness is the app on the real engine, an in-memory CRM and the fake
// Slack, with its Events API on httptest. The outbox is drained by the
// test (DrainOutbox), on a clock the test moves.
type harness struct {
	t     *testing.T
	fake  *slackfake.Server
	app   *App
	store *crmtest.Memory
	desk  *handoff.Desk
	web   *webRecorder
	http  *httptest.Server
	alice crm.StaffUser

	mu    sync.Mutex
	clock time.Time
	seq   int // event ids and ts
}

// webRecorder stands in for the web chat channel: it records what the
// desk delivers to web customers.
type webRecorder struct {
	mu  sync.Mutex
	got []string
}

func (w *webRecorder) Deliver(_ context.Context, _ crm.Conversation, m crm.Message, _ crm.StaffUser) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, m.Text)
	return nil
}

func (w *webRecorder) StateChanged(context.Context, crm.Conversation) {}

func newHarness(t *testing.T, store *crmtest.Memory, fake *slackfake.Server) *harness {
	t.Helper()
	if fake == nil {
		fake = slackfake.New()
		t.Cleanup(fake.Close)
		fake.AddUser(slackfake.User{ID: customer, Name: "ann", RealName: "Ann Lee", Email: "ann@example.com"})
		fake.AddUser(slackfake.User{ID: agent, Name: "alice", RealName: "Alice Staff", Email: "alice@shop.example"})
		fake.AddUser(slackfake.User{ID: "UNOBODY", Name: "eve", RealName: "Eve", Email: "eve@elsewhere.example"})
	}
	if store == nil {
		store = crmtest.NewMemory()
		t.Cleanup(func() { store.Close() })
	}
	ctx := context.Background()
	alice, err := store.StaffByEmail(ctx, "alice@shop.example")
	if errors.Is(err, crm.ErrNotFound) {
		alice, err = store.CreateStaff(ctx, crm.StaffUser{Email: "alice@shop.example", Name: "Alice", Role: crm.RoleAgent})
	}
	if err != nil {
		t.Fatal(err)
	}
	nlu, kb := bottest.Builtin(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	engine := bot.NewEngine(nlu, kb, store, nil, log)
	desk := handoff.New(store, log)
	engine.OnEscalate, engine.OnHandoff = desk.Escalated, desk.CustomerWrote
	app, err := New(Config{BotToken: slackfake.BotToken, SigningSecret: secret, StaffChannel: staffCh,
		APIURL: fake.APIURL(), ConsoleURL: "https://parley.example", Logger: log}, engine, desk, store)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, fake: fake, app: app, store: store, desk: desk, web: &webRecorder{}, alice: alice, clock: time.Now()}
	app.now = h.now
	desk.Route(crm.ChannelSlack, app)
	desk.Route(crm.ChannelWeb, h.web)
	desk.Observe(app.Observe)
	if err := app.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	h.http = httptest.NewServer(app.Handler())
	t.Cleanup(h.http.Close)
	return h
}

func (h *harness) now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.clock
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.clock = h.clock.Add(d)
	h.mu.Unlock()
}

// nextTS is a fresh Slack ts for an inbound message.
func (h *harness) nextTS() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	return fmt.Sprintf("1800000000.%06d", h.seq)
}

// post sends a signed request to the app and returns the status.
func (h *harness) post(path string, body []byte, contentType string, at time.Time, key string) (int, string) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.http.URL+path, bytes.NewReader(body))
	for k, v := range slackfake.Sign(key, body, at) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// event posts a signed event callback and drains the outbox.
func (h *harness) event(id string, ev map[string]any) int {
	h.t.Helper()
	status, _ := h.post("/slack/events", slackfake.EventCallback(id, ev), "application/json", time.Now(), secret)
	h.app.DrainOutbox(context.Background())
	return status
}

// dm is a customer's direct message; it returns its ts.
func (h *harness) dm(text, thread string) string {
	h.t.Helper()
	ts := h.nextTS()
	if status := h.event("Ev"+ts, slackfake.MessageEvent(customer, dm, "im", text, ts, thread)); status != http.StatusOK {
		h.t.Fatalf("DM %q: HTTP %d", text, status)
	}
	return ts
}

// inThread returns the bot's posts in a thread.
func (h *harness) inThread(channel, thread string) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range h.fake.Posted(channel) {
		if m.ThreadTS == thread {
			out = append(out, m)
		}
	}
	return out
}

func texts(ms []slackfake.Message) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Text)
	}
	return strings.Join(s, " | ")
}

// conversation is the CRM conversation of a Slack thread.
func (h *harness) conversation(channel, root string) crm.Conversation {
	h.t.Helper()
	id, err := h.store.ConversationByLink(context.Background(), linkThread, channel+":"+root)
	if err != nil {
		h.t.Fatalf("no conversation for thread %s:%s: %v", channel, root, err)
	}
	c, err := h.store.Conversation(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// summary is the escalation summary posted for a conversation.
func (h *harness) summary(convID int64) slackfake.Message {
	h.t.Helper()
	links, _ := h.store.ConversationLinks(context.Background(), convID)
	v, ok := links[linkStaffThread]
	if !ok {
		h.t.Fatalf("conversation %d has no staff thread; staff channel: %s", convID, texts(h.fake.Posted(staffCh)))
	}
	_, ts, _ := strings.Cut(v, ":")
	for _, m := range h.fake.Posted(staffCh) {
		if m.TS == ts {
			return m
		}
	}
	h.t.Fatalf("summary %s not in the staff channel", ts)
	return slackfake.Message{}
}

func TestDirectMessageAnsweredInThread(t *testing.T) {
	h := newHarness(t, nil, nil)
	ts := h.dm("where is my order 12345", "")
	got := h.inThread(dm, ts)
	if len(got) != 1 || !strings.Contains(got[0].Text, "12345") {
		t.Fatalf("replies in the DM thread: %q, want one about order 12345", texts(got))
	}
	if got[0].MetadataType != metadataType || got[0].MetadataPayload["key"] == "" {
		t.Errorf("reply metadata = %q %v, want the outbox key", got[0].MetadataType, got[0].MetadataPayload)
	}
	// The customer is the Slack user, with the profile's name and email.
	cust, err := h.store.CustomerByExternalID(context.Background(), crm.ExternalID{Kind: crm.IDSlackUser, Value: customer})
	if err != nil || cust.Email != "ann@example.com" {
		t.Errorf("customer = %+v, %v; want the Slack user with their email", cust, err)
	}
	// A follow-up in the thread continues the conversation.
	h.dm("how much is shipping", ts)
	if got := h.inThread(dm, ts); len(got) != 2 || !strings.Contains(got[1].Text, "4.95") {
		t.Errorf("after a follow-up: %q", texts(got))
	}
	if c := h.conversation(dm, ts); c.Channel != crm.ChannelSlack || c.Ref != dm+":"+ts {
		t.Errorf("conversation %+v, want the Slack thread", c)
	}
}

func TestMentionInChannel(t *testing.T) {
	h := newHarness(t, nil, nil)
	ts := h.nextTS()
	h.event("E1", slackfake.MentionEvent(customer, "CPUBLIC", "how much is shipping", ts, ""))
	if got := h.inThread("CPUBLIC", ts); len(got) != 1 || !strings.Contains(got[0].Text, "4.95") {
		t.Fatalf("mention: replies %q", texts(got))
	}
	// In that thread, the bot hears messages without a mention too.
	h.event("E2", slackfake.MessageEvent(customer, "CPUBLIC", "channel", "where is my order 777", h.nextTS(), ts))
	if got := h.inThread("CPUBLIC", ts); len(got) != 2 {
		t.Errorf("follow-up in the bot's thread: %q, want an answer", texts(got))
	}
	// Elsewhere in the channel, without a mention, it keeps out.
	other := h.nextTS()
	h.event("E3", slackfake.MessageEvent(customer, "CPUBLIC", "channel", "lunch anyone?", other, ""))
	h.event("E4", slackfake.MessageEvent(customer, "CPUBLIC", "channel", "sure", h.nextTS(), other))
	if n := len(h.fake.Posted("CPUBLIC")); n != 2 {
		t.Errorf("%d posts in the channel, want 2 (no answers to chatter)", n)
	}
}

func TestIgnoredMessages(t *testing.T) {
	h := newHarness(t, nil, nil)
	own := slackfake.MessageEvent(slackfake.BotUserID, dm, "im", "I am the bot", h.nextTS(), "")
	botMsg := slackfake.MessageEvent("UOTHER", dm, "im", "from another bot", h.nextTS(), "")
	botMsg["bot_id"] = "BOTHER"
	edit := slackfake.MessageEvent(customer, dm, "im", "", h.nextTS(), "")
	edit["subtype"] = "message_changed"
	for i, ev := range []map[string]any{own, botMsg, edit} {
		if status := h.event(fmt.Sprintf("Eign%d", i), ev); status != http.StatusOK {
			t.Errorf("event %d: HTTP %d, want 200", i, status)
		}
	}
	if n := len(h.fake.Posted("")); n != 0 {
		t.Errorf("the bot answered %d of its own, bots' or edited messages", n)
	}
}

func TestSignatures(t *testing.T) {
	h := newHarness(t, nil, nil)
	body := slackfake.EventCallback("Eforged", slackfake.MessageEvent(customer, dm, "im", "where is my order 1", h.nextTS(), ""))
	for _, tc := range []struct {
		name string
		key  string
		at   time.Time
	}{
		{"wrong secret", "not-the-secret", time.Now()},
		{"stale", secret, time.Now().Add(-6 * time.Minute)},
		{"from the future", secret, time.Now().Add(6 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, _ := h.post("/slack/events", body, "application/json", tc.at, tc.key); status != http.StatusUnauthorized {
				t.Errorf("HTTP %d, want 401", status)
			}
		})
	}
	req, _ := http.NewRequest(http.MethodPost, h.http.URL+"/slack/events", bytes.NewReader(body))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned: %v %v, want 401", resp, err)
	}
	// A signature over another body does not carry over.
	req, _ = http.NewRequest(http.MethodPost, h.http.URL+"/slack/events", bytes.NewReader(body))
	for k, v := range slackfake.Sign(secret, []byte("{}"), time.Now()) {
		req.Header[k] = v
	}
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("signature of another body: %v %v, want 401", resp, err)
	}
	h.app.DrainOutbox(context.Background())
	if cs, _ := h.store.Customers(context.Background(), 0, 10); len(cs) != 0 || len(h.fake.Posted("")) != 0 {
		t.Errorf("a forged request stored %d customers and posted %d messages", len(cs), len(h.fake.Posted("")))
	}
}

func TestBadRequests(t *testing.T) {
	h := newHarness(t, nil, nil)
	for _, tc := range []struct {
		name   string
		path   string
		body   []byte
		ctype  string
		status int
	}{
		{"malformed JSON", "/slack/events", []byte(`{"type":"event_callback","event":`), "application/json", 400},
		{"unknown outer type", "/slack/events", []byte(`{"type":"app_rate_limited","team_id":"T1"}`), "application/json", 200},
		{"unknown event type", "/slack/events", slackfake.EventCallback("Eunk", map[string]any{"type": "reaction_added", "user": customer}), "application/json", 200},
		{"over 1 MB", "/slack/events", bytes.Repeat([]byte("x"), MaxBodyBytes+1), "application/json", 413},
		{"interaction without payload", "/slack/interactions", []byte("foo=bar"), "application/x-www-form-urlencoded", 400},
		{"interaction with bad JSON", "/slack/interactions", []byte("payload=%7Bnope"), "application/x-www-form-urlencoded", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, _ := h.post(tc.path, tc.body, tc.ctype, time.Now(), secret); status != tc.status {
				t.Errorf("HTTP %d, want %d", status, tc.status)
			}
		})
	}
	// url_verification answers the challenge.
	if status, body := h.post("/slack/events", slackfake.URLVerification("ch4ll3nge"), "application/json", time.Now(), secret); status != 200 || body != "ch4ll3nge" {
		t.Errorf("url_verification: %d %q", status, body)
	}
	// An over-long message gets an explanation, not an answer or a crash.
	ts := h.dm(strings.Repeat("where is my order ", 600), "")
	if got := h.inThread(dm, ts); len(got) != 1 || !strings.Contains(got[0].Text, "can't read") {
		t.Errorf("over-long message: %q", texts(got))
	}
}

func TestRedelivery(t *testing.T) {
	store := crmtest.NewMemory()
	t.Cleanup(func() { store.Close() })
	h := newHarness(t, store, nil)
	ts := h.nextTS()
	ev := slackfake.MessageEvent(customer, dm, "im", "how much is shipping", ts, "")
	h.event("Eredeliver", ev)
	// Slack retries (X-Slack-Retry-Num), and after a restart the same
	// message may come under a new event id: one reply all the same.
	h.event("Eredeliver", ev)
	h2 := newHarness(t, store, h.fake)
	h2.event("Eredeliver-after-restart", ev)
	if got := h.inThread(dm, ts); len(got) != 1 {
		t.Errorf("replies after three deliveries: %q, want one", texts(got))
	}
}

func TestOutboxRetries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults []slackfake.Fault
		// wait is how far to move the clock before the retry.
		wait time.Duration
		// calls is how many chat.postMessage calls Slack saw in all.
		calls int
	}{
		{"rate limited", []slackfake.Fault{{Kind: slackfake.RateLimited, RetryAfter: 3 * time.Second}}, 3 * time.Second, 2},
		{"server error twice", []slackfake.Fault{{Kind: slackfake.ServerError, Status: 503}, {Kind: slackfake.ServerError}}, time.Minute, 3},
		{"slack internal_error", []slackfake.Fault{{Kind: slackfake.SlackError, Err: "internal_error"}}, time.Minute, 2},
		// Posted, but the answer was lost: the retry finds the post by its
		// metadata instead of posting again.
		{"dropped after posting", []slackfake.Fault{{Kind: slackfake.DropAfterPost}}, time.Minute, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil, nil)
			h.fake.Fail("chat.postMessage", tc.faults...)
			ts := h.dm("how much is shipping", "")
			if tc.faults[0].Kind != slackfake.DropAfterPost && len(h.inThread(dm, ts)) != 0 {
				t.Fatalf("posted despite the fault: %q", texts(h.inThread(dm, ts)))
			}
			if depth, _ := h.app.OutboxDepth(context.Background()); depth != 1 {
				t.Errorf("outbox depth after the failure = %d, want 1", depth)
			}
			// Not before its time...
			h.app.DrainOutbox(context.Background())
			for range len(tc.faults) {
				h.advance(tc.wait)
				h.app.DrainOutbox(context.Background())
			}
			got := h.inThread(dm, ts)
			if len(got) != 1 || !strings.Contains(got[0].Text, "4.95") {
				t.Fatalf("after retrying: %q, want the reply exactly once", texts(got))
			}
			// The fake records a call once it has answered it (or hung up).
			wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := h.fake.WaitCalls(wctx, "chat.postMessage", tc.calls); err != nil {
				t.Error(err)
			}
			if n := len(h.fake.Calls("chat.postMessage")); n != tc.calls {
				t.Errorf("chat.postMessage called %d times, want %d", n, tc.calls)
			}
			if depth, _ := h.app.OutboxDepth(context.Background()); depth != 0 {
				t.Errorf("outbox depth at the end = %d, want 0", depth)
			}
		})
	}
}

func TestOutboxPermanentFailureAndOrder(t *testing.T) {
	h := newHarness(t, nil, nil)
	// channel_not_found will not get better: given up, not retried, and
	// the conversation's next reply is not held up behind it.
	h.fake.Fail("chat.postMessage", slackfake.Fault{Kind: slackfake.SlackError, Err: "channel_not_found"})
	ts := h.dm("how much is shipping", "")
	h.dm("where is my order 12345", ts)
	h.advance(time.Hour)
	h.app.DrainOutbox(context.Background())
	got := h.inThread(dm, ts)
	if len(got) != 1 || !strings.Contains(got[0].Text, "order 12345") {
		t.Errorf("posts: %q, want only the second reply", texts(got))
	}
	it, err := h.store.OutboxItemByKey(context.Background(), "reply:"+strconv.FormatInt(h.firstReplyID(ts), 10))
	if err != nil || it.State != crm.OutboxFailed || !strings.Contains(it.LastError, "channel_not_found") {
		t.Errorf("failed item = %+v, %v; want failed with Slack's error", it, err)
	}

	// A reply waiting for its retry holds back the conversation's later
	// replies: the thread stays in order.
	h.fake.Fail("chat.postMessage", slackfake.Fault{Kind: slackfake.ServerError})
	ts2 := h.dm("where is my order 54321", "")
	h.dm("how much is shipping", ts2)
	if got := h.inThread(dm, ts2); len(got) != 0 {
		t.Fatalf("a later reply overtook the one waiting: %q", texts(got))
	}
	h.advance(time.Minute)
	h.app.DrainOutbox(context.Background())
	got = h.inThread(dm, ts2)
	if len(got) != 2 || !strings.Contains(got[0].Text, "order 54321") || !strings.Contains(got[1].Text, "4.95") {
		t.Errorf("thread after the retry: %q, want both replies in order", texts(got))
	}
}

func (h *harness) firstReplyID(root string) int64 {
	h.t.Helper()
	msgs, _ := h.store.Messages(context.Background(), h.conversation(dm, root).ID)
	for _, m := range msgs {
		if m.Direction == crm.FromBot {
			return m.ID
		}
	}
	h.t.Fatal("no bot reply stored")
	return 0
}

// A restart resumes the outbox, and an item posted just before a crash
// (before it was marked sent) is not posted again.
func TestOutboxResumesAfterRestart(t *testing.T) {
	store := crmtest.NewMemory()
	t.Cleanup(func() { store.Close() })
	h := newHarness(t, store, nil)
	h.fake.Fail("chat.postMessage", slackfake.Fault{Kind: slackfake.ServerError})
	ts := h.dm("how much is shipping", "")
	if len(h.inThread(dm, ts)) != 0 {
		t.Fatal("posted despite the fault")
	}
	h2 := newHarness(t, store, h.fake)
	h2.advance(time.Minute)
	h2.app.DrainOutbox(context.Background())
	if got := h.inThread(dm, ts); len(got) != 1 || !strings.Contains(got[0].Text, "4.95") {
		t.Errorf("after the restart: %q, want the reply once", texts(got))
	}

	// A crash after posting, before recording it: the item is pending but
	// in Slack already (as the fake's history shows).
	it, _, err := store.EnqueueOutbox(context.Background(), crm.OutboxItem{Key: "crash-test", Channel: crm.ChannelSlack, Kind: "reply",
		Payload: mustJSON(post{Channel: dm, ThreadTS: ts, Text: "posted before the crash"})})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.fake.AddMessage(slackfake.Message{Channel: dm, TS: "1800000099.000001", ThreadTS: ts, Text: "posted before the crash", User: slackfake.BotUserID,
		MetadataType: metadataType, MetadataPayload: map[string]any{"key": it.Key}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // the next process starts after the item was queued
	h3 := newHarness(t, store, h.fake)
	h3.app.DrainOutbox(context.Background())
	for _, c := range h.fake.Calls("chat.postMessage") {
		if c.Params.Get("text") == "posted before the crash" {
			t.Error("the item posted before the crash was posted again")
		}
	}
	if got, _ := store.OutboxItemByKey(context.Background(), it.Key); got.State != crm.OutboxSent || got.Result != "1800000099.000001" {
		t.Errorf("crashed item = %+v, want sent with the found ts", got)
	}
}

func TestEscalationToStaffAndBack(t *testing.T) {
	h := newHarness(t, nil, nil)
	ctx := context.Background()
	ts := h.dm("where is my order 12345", "")
	h.dm("I want to talk to a human", ts)
	conv := h.conversation(dm, ts)
	if conv.State != crm.StateEscalated {
		t.Fatalf("state %s, want escalated", conv.State)
	}
	sum := h.summary(conv.ID)
	blocks := string(sum.Blocks)
	for _, want := range []string{"Ann Lee", "customer asked for a person", "I want to talk to a human", actionResolve, actionClaim, "https://parley.example/console/conversations/" + strconv.FormatInt(conv.ID, 10)} {
		if !strings.Contains(blocks, want) {
			t.Errorf("summary blocks lack %q:\n%s", want, blocks)
		}
	}
	// The customer writes on; staff see it in the thread.
	h.dm("hello? anyone?", ts)
	if got := h.inThread(staffCh, sum.TS); len(got) != 1 || !strings.Contains(got[0].Text, "hello? anyone?") {
		t.Errorf("staff thread after the customer wrote: %q", texts(got))
	}
	// Alice answers in the thread: the customer gets it, she owns it.
	h.event("Estaff1", slackfake.MessageEvent(agent, staffCh, "channel", "Hi Ann, Alice here. Let me check.", h.nextTS(), sum.TS))
	customerThread := texts(h.inThread(dm, ts))
	if !strings.Contains(customerThread, "*Alice* (support team): Hi Ann, Alice here.") {
		t.Errorf("customer thread: %q, want Alice's reply", customerThread)
	}
	if c, _ := h.store.Conversation(ctx, conv.ID); c.State != crm.StateAssigned || c.AssigneeID != h.alice.ID {
		t.Errorf("after Alice's reply: %s/%d, want assigned to Alice", c.State, c.AssigneeID)
	}
	// Someone without a staff account is told so, and nothing is relayed.
	before := len(h.inThread(dm, ts))
	h.event("Estaff2", slackfake.MessageEvent("UNOBODY", staffCh, "channel", "I'll take it", h.nextTS(), sum.TS))
	if len(h.inThread(dm, ts)) != before || len(h.fake.Ephemerals(staffCh)) != 1 {
		t.Errorf("a non-staff reply: relayed %d, ephemerals %d; want not relayed, one notice", len(h.inThread(dm, ts))-before, len(h.fake.Ephemerals(staffCh)))
	}
	// Resolve with the button: back to the bot, everyone told.
	status, _ := h.post("/slack/interactions", []byte(slackfake.InteractionForm(slackfake.BlockActionPayload(agent, staffCh, sum.TS, "", actionResolve, strconv.FormatInt(conv.ID, 10))).Encode()),
		"application/x-www-form-urlencoded", time.Now(), secret)
	h.app.DrainOutbox(ctx)
	if status != 200 {
		t.Fatalf("resolve button: HTTP %d", status)
	}
	if c, _ := h.store.Conversation(ctx, conv.ID); c.State != crm.StateResolved {
		t.Errorf("after Resolve: %s, want resolved", c.State)
	}
	if got := texts(h.inThread(staffCh, sum.TS)); !strings.Contains(got, "Resolved by *Alice*") {
		t.Errorf("staff thread after resolving: %q", got)
	}
	if calls := h.fake.Calls("chat.update"); len(calls) != 1 {
		t.Errorf("summary updates: %d, want 1 (buttons removed)", len(calls))
	}
	if got := texts(h.inThread(dm, ts)); !strings.Contains(got, "resolved") {
		t.Errorf("customer thread after resolving: %q", got)
	}
	n := len(h.inThread(dm, ts))
	h.dm("how much is shipping", ts)
	if got := h.inThread(dm, ts); len(got) != n+1 || !strings.Contains(got[n].Text, "4.95") {
		t.Errorf("after resolving, the bot answers again: %q", texts(got[n:]))
	}
}

func TestConsoleChangesShowInThread(t *testing.T) {
	h := newHarness(t, nil, nil)
	ctx := context.Background()
	ts := h.dm("I want to talk to a human", "")
	conv := h.conversation(dm, ts)
	sum := h.summary(conv.ID)
	if _, err := h.desk.Claim(ctx, conv.ID, h.alice, handoff.SourceConsole); err != nil {
		t.Fatal(err)
	}
	if _, err := h.desk.Reply(ctx, conv.ID, h.alice, "From the console: refund on its way <!channel>", handoff.SourceConsole); err != nil {
		t.Fatal(err)
	}
	if _, err := h.desk.Note(ctx, conv.ID, h.alice, "VIP customer", handoff.SourceConsole); err != nil {
		t.Fatal(err)
	}
	h.app.DrainOutbox(ctx)
	thread := texts(h.inThread(staffCh, sum.TS))
	for _, want := range []string{"*Alice* took this conversation", "*Alice* replied to the customer", "refund on its way &lt;!channel&gt;", "Note from *Alice*: VIP customer"} {
		if !strings.Contains(thread, want) {
			t.Errorf("staff thread lacks %q: %q", want, thread)
		}
	}
	if got := texts(h.inThread(dm, ts)); !strings.Contains(got, "From the console: refund on its way") {
		t.Errorf("customer thread: %q", got)
	}
}

// Staff answer web chat customers from Slack too: the reply goes to the
// web channel's deliverer, not to Slack.
func TestStaffReplyToWebCustomer(t *testing.T) {
	h := newHarness(t, nil, nil)
	ctx := context.Background()
	l, err := h.store.LogInteraction(ctx, crm.Interaction{Channel: crm.ChannelWeb, Customer: crm.ExternalID{Kind: crm.IDWebVisitor, Value: "v_web_1"},
		Message: crm.Message{Direction: crm.FromCustomer, Text: "a person please", ChannelMsgID: "v_web_1:1"}, Escalate: "customer asked for a person"})
	if err != nil {
		t.Fatal(err)
	}
	h.desk.Escalated(ctx, l.ConversationID, "customer asked for a person")
	h.app.DrainOutbox(ctx)
	sum := h.summary(l.ConversationID)
	if !strings.Contains(string(sum.Blocks), "webchat") {
		t.Errorf("summary does not name the web chat channel: %s", sum.Blocks)
	}
	h.event("Eweb1", slackfake.MessageEvent(agent, staffCh, "channel", "Hello from Slack", h.nextTS(), sum.TS))
	if len(h.web.got) != 1 || h.web.got[0] != "Hello from Slack" {
		t.Errorf("delivered to the web customer: %q", h.web.got)
	}
}

func TestQuickReplyButtons(t *testing.T) {
	h := newHarness(t, nil, nil)
	ts := h.dm("my account", "")
	got := h.inThread(dm, ts)
	if len(got) != 1 || !strings.Contains(string(got[0].Blocks), "My account is locked") {
		t.Fatalf("clarifying reply: %q blocks %s, want quick-reply buttons", texts(got), got[0].Blocks)
	}
	payload := slackfake.BlockActionPayload(customer, dm, got[0].TS, ts, actionQuick+"_1", "My account is locked")
	status, _ := h.post("/slack/interactions", []byte(slackfake.InteractionForm(payload).Encode()), "application/x-www-form-urlencoded", time.Now(), secret)
	h.app.DrainOutbox(context.Background())
	if status != 200 {
		t.Fatalf("button click: HTTP %d", status)
	}
	if got := h.inThread(dm, ts); len(got) != 2 || !strings.Contains(got[1].Text, "locked") {
		t.Errorf("after the click: %q, want the locked-account answer", texts(got))
	}
}

func TestSlashCommand(t *testing.T) {
	h := newHarness(t, nil, nil)
	ts := h.dm("I want to talk to a human", "")
	conv := h.conversation(dm, ts)
	for _, tc := range []struct {
		user, text, want string
	}{
		{agent, "", "Usage"},
		{agent, "resolve abc", "not a conversation id"},
		{"UNOBODY", fmt.Sprintf("claim %d", conv.ID), "no staff account"},
		{agent, fmt.Sprintf("claim %d", conv.ID), "is yours"},
		{agent, fmt.Sprintf("resolve %d refund issued", conv.ID), "back with the bot"},
		{agent, fmt.Sprintf("claim %d", conv.ID), "not waiting for a person"},
	} {
		form := slackfake.SlashCommandForm(tc.user, staffCh, "/parley", tc.text)
		status, body := h.post("/slack/commands", []byte(form.Encode()), "application/x-www-form-urlencoded", time.Now(), secret)
		var resp struct{ Text string }
		json.Unmarshal([]byte(body), &resp)
		if status != 200 || !strings.Contains(resp.Text, tc.want) {
			t.Errorf("/parley %s (as %s): %d %q, want %q", tc.text, tc.user, status, resp.Text, tc.want)
		}
	}
	escs, _ := h.store.Escalations(context.Background(), conv.ID)
	if len(escs) != 1 || escs[0].Resolution != "refund issued" {
		t.Errorf("escalation %+v, want resolved with the resolution", escs)
	}
}

func TestConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		enabled bool
		missing []string // named in the error
	}{
		{"nothing", nil, false, nil},
		{"socket mode", map[string]string{EnvBotToken: "xoxb-1", EnvAppToken: "xapp-1", EnvStaffChannel: "C1"}, true, nil},
		{"events API", map[string]string{EnvBotToken: "xoxb-1", EnvSigningSecret: "s", EnvStaffChannel: "C1"}, true, nil},
		{"bot token only", map[string]string{EnvBotToken: "xoxb-1"}, true, []string{EnvAppToken, EnvSigningSecret, EnvStaffChannel}},
		{"no bot token", map[string]string{EnvAppToken: "xapp-1", EnvStaffChannel: "C1"}, true, []string{EnvBotToken}},
		{"tokens swapped", map[string]string{EnvBotToken: "xapp-1", EnvAppToken: "xoxb-1", EnvStaffChannel: "C1"}, true, []string{EnvBotToken, EnvAppToken}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, enabled, err := ConfigFromEnv(func(k string) string { return tc.env[k] })
			if enabled != tc.enabled {
				t.Errorf("enabled = %v, want %v", enabled, tc.enabled)
			}
			if len(tc.missing) == 0 && err != nil {
				t.Errorf("unexpected error: %v", err)
			}
			for _, m := range tc.missing {
				if err == nil || !strings.Contains(err.Error(), m) {
					t.Errorf("error %v does not name %s", err, m)
				}
			}
		})
	}
}

// Socket Mode: events, button clicks and commands arrive over the
// fake's WebSocket, are acknowledged once handled, and a dropped socket
// reconnects and goes on.
func TestSocketMode(t *testing.T) {
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.AddUser(slackfake.User{ID: customer, Name: "ann", RealName: "Ann Lee", Email: "ann@example.com"})
	fake.AddUser(slackfake.User{ID: agent, Name: "alice", RealName: "Alice Staff", Email: "alice@shop.example"})
	h := newHarness(t, nil, fake)
	h.app.cfg.AppToken, h.app.cfg.SigningSecret = slackfake.AppToken, ""
	h.app.api = newClient(h.app.cfg)
	h.app.now = time.Now // the worker runs on its own now
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.app.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := fake.WaitSocket(wctx); err != nil {
		t.Fatal(err)
	}
	say := func(text, ts, thread string) {
		t.Helper()
		id, err := fake.SendEnvelope(slackfake.EnvelopeEventsAPI, json.RawMessage(slackfake.EventCallback("Esock"+ts, slackfake.MessageEvent(customer, dm, "im", text, ts, thread))))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fake.WaitAck(wctx, id); err != nil {
			t.Fatalf("no ack for %q: %v", text, err)
		}
	}
	replies := func(thread string, n int) []slackfake.Message {
		t.Helper()
		got, err := fake.WaitPosted(wctx, n, func(m slackfake.Message) bool { return m.Channel == dm && m.ThreadTS == thread })
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	ts := h.nextTS()
	say("how much is shipping", ts, "")
	if got := replies(ts, 1); !strings.Contains(got[0].Text, "4.95") {
		t.Errorf("reply over Socket Mode: %q", got[0].Text)
	}
	fake.DropSocket()
	if err := fake.WaitConnects(wctx, 2); err != nil {
		t.Fatalf("no reconnect after a dropped socket: %v", err)
	}
	say("my account", h.nextTS(), ts)
	got := replies(ts, 2)
	// The quick reply comes back as an interactive envelope.
	id, err := fake.SendEnvelope(slackfake.EnvelopeInteractive, json.RawMessage(slackfake.BlockActionPayload(customer, dm, got[1].TS, ts, actionQuick+"_1", "My account is locked")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitAck(wctx, id); err != nil {
		t.Fatal(err)
	}
	if got := replies(ts, 3); !strings.Contains(got[2].Text, "locked") {
		t.Errorf("after the button: %q", got[2].Text)
	}
	// A slash command's answer rides on its ack.
	id, err = fake.SendEnvelope(slackfake.EnvelopeSlashCommands, slackfake.SlashCommandPayload(agent, staffCh, "/parley", "help"))
	if err != nil {
		t.Fatal(err)
	}
	ack, err := fake.WaitAck(wctx, id)
	if err != nil || !strings.Contains(string(ack), "Usage") {
		t.Errorf("slash command ack = %s, %v; want the usage text", ack, err)
	}
}

// A Slack user whose email a customer has already is that customer.
func TestSlackUserJoinsCustomerByEmail(t *testing.T) {
	h := newHarness(t, nil, nil)
	ctx := context.Background()
	web := crm.ExternalID{Kind: crm.IDWebVisitor, Value: "v_ann_1"}
	l, err := h.store.LogInteraction(ctx, crm.Interaction{Channel: crm.ChannelWeb, Customer: web,
		Message: crm.Message{Direction: crm.FromCustomer, Text: "hi", ChannelMsgID: "v_ann_1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.store.LinkExternalID(ctx, l.CustomerID, crm.ExternalID{Kind: crm.IDEmail, Value: "ann@example.com"}); err != nil {
		t.Fatal(err)
	}
	h.dm("how much is shipping", "")
	cust, err := h.store.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDSlackUser, Value: customer})
	if err != nil || cust.ID != l.CustomerID {
		t.Errorf("the Slack user is customer %d (%v), want the web customer %d with the same email", cust.ID, err, l.CustomerID)
	}
}

// A staff reply that arrives before the summary's post was recorded
// (its answer lost) still reaches the customer: the summary's metadata
// names the conversation.
func TestStaffReplyBeforeSummaryLinked(t *testing.T) {
	h := newHarness(t, nil, nil)
	ctx := context.Background()
	l, err := h.store.LogInteraction(ctx, crm.Interaction{Channel: crm.ChannelWeb, Customer: crm.ExternalID{Kind: crm.IDWebVisitor, Value: "v_early_1"},
		Message: crm.Message{Direction: crm.FromCustomer, Text: "a person please", ChannelMsgID: "v_early_1:1"}, Escalate: "customer asked for a person"})
	if err != nil {
		t.Fatal(err)
	}
	h.fake.Fail("chat.postMessage", slackfake.Fault{Kind: slackfake.DropAfterPost})
	h.desk.Escalated(ctx, l.ConversationID, "customer asked for a person")
	h.app.DrainOutbox(ctx)
	posted := h.fake.Posted(staffCh)
	if len(posted) != 1 {
		t.Fatalf("staff channel: %q, want the summary (posted, answer lost)", texts(posted))
	}
	if _, err := h.store.ConversationByLink(ctx, linkStaffThread, staffCh+":"+posted[0].TS); !errors.Is(err, crm.ErrNotFound) {
		t.Fatalf("the summary is linked already (%v): the test needs it not to be", err)
	}
	h.event("Eearly1", slackfake.MessageEvent(agent, staffCh, "channel", "Hi, Alice here", h.nextTS(), posted[0].TS))
	if len(h.web.got) != 1 || h.web.got[0] != "Hi, Alice here" {
		t.Errorf("delivered to the customer: %q, want Alice's reply", h.web.got)
	}
	// The retry finds the summary by its key instead of posting again.
	h.advance(time.Minute)
	h.app.DrainOutbox(ctx)
	if n := len(h.inThread(staffCh, "")); n != 1 {
		t.Errorf("%d summaries in the staff channel, want 1: %q", n, texts(h.inThread(staffCh, "")))
	}
}

// In a direct message, a new top-level message continues the
// conversation a person has, instead of starting one with the bot.
func TestTopLevelDMContinuesConversation(t *testing.T) {
	h := newHarness(t, nil, nil)
	ts := h.dm("I want to talk to a human", "")
	conv := h.conversation(dm, ts)
	sum := h.summary(conv.ID)
	h.dm("my order is 12345 by the way", "") // not in the thread
	if got := texts(h.inThread(staffCh, sum.TS)); !strings.Contains(got, "my order is 12345") {
		t.Errorf("staff thread: %q, want the customer's new message", got)
	}
	convs, _ := h.store.Conversations(context.Background(), crm.ConversationFilter{CustomerID: conv.CustomerID})
	if len(convs) != 1 {
		t.Errorf("%d conversations, want the one that is going on", len(convs))
	}
	// Once it is over and some time has passed, a new message starts afresh.
	if _, err := h.desk.Resolve(context.Background(), conv.ID, h.alice, "done", handoff.SourceConsole); err != nil {
		t.Fatal(err)
	}
	h.advance(time.Hour)
	ts2 := h.dm("how much is shipping", "")
	if got := h.inThread(dm, ts2); len(got) != 1 || !strings.Contains(got[0].Text, "4.95") {
		t.Errorf("a new question an hour later: %q, want an answer in its own thread", texts(got))
	}
}
