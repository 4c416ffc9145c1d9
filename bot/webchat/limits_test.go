package webchat_test

import (
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/ratelimit"
	"github.com/parley-chat/parley/bot/webchat"
	"github.com/parley-chat/parley/crm"
)

// fakeClock is a time source the test moves; the server reads it from
// its goroutines.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// limitLog records the limits that refused something.
type limitLog struct {
	mu  sync.Mutex
	got []string
}

func (l *limitLog) add(limit string) { l.mu.Lock(); l.got = append(l.got, limit); l.mu.Unlock() }
func (l *limitLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

// testClient counts a connection against the address in its
// X-Test-Client header: the test's connections all come from 127.0.0.1.
func testClient(r *http.Request) netip.Addr {
	if a, err := netip.ParseAddr(r.Header.Get("X-Test-Client")); err == nil {
		return a
	}
	return netip.MustParseAddr("192.0.2.1")
}

func from(addr string) http.Header { return http.Header{"X-Test-Client": {addr}} }

// nextNonMessage reads past pushed message frames (another tab's turn)
// to the next frame of another type.
func (c *client) nextNonMessage() frame {
	c.tb.Helper()
	for {
		if f := c.read(); f.Type != "message" {
			return f
		}
	}
}

func wantRateLimited(t *testing.T, f frame, id string, maxWait time.Duration) {
	t.Helper()
	if f.Type != "error" || f.Code != "rate_limited" || f.ID != id || f.RetryAfterMs <= 0 || f.RetryAfterMs > maxWait.Milliseconds()+1 {
		t.Fatalf("message %s over the limit: got %v, want rate_limited for %s with 0 < retry_after_ms <= %d", id, f, id, maxWait.Milliseconds()+1)
	}
}

// A visitor's tabs share one budget: its messages are limited across
// all its connections, and a refused one is not stored.
func TestVisitorLimitAcrossTabs(t *testing.T) {
	clock := newFakeClock()
	var log limitLog
	h := newHarness(t, webchat.Config{Rate: 1000, Burst: 1000, Limits: webchat.Limits{
		Visitor:   ratelimit.New[string](ratelimit.Limit{Rate: 0.5, Burst: 2}, ratelimit.WithClock(clock.Now)),
		OnLimited: log.add,
	}}, nil)
	const visitor = "v_limit_tabs"
	a, _ := h.connect(t, visitor, 0)
	b, _ := h.connect(t, visitor, 0)
	ex := a.say("a1", "where is my order 12345")
	for range 1 + len(ex.replies) { // b shows a's turn
		b.read()
	}
	b.say("b1", "thanks")
	// The burst of 2 is spent, by two tabs: a third message from either,
	// or from a new tab, waits 1/0.5 = 2 s.
	a.send(message{Type: "message", ID: "a2", Text: "hello?"})
	wantRateLimited(t, a.nextNonMessage(), "a2", 2*time.Second)
	c, _ := h.connect(t, visitor, 0)
	c.send(message{Type: "message", ID: "c1", Text: "hello?"})
	wantRateLimited(t, c.nextNonMessage(), "c1", 2*time.Second)
	conv := conversationOf(t, h.store, visitor)
	if n := len(customerMessages(t, h.store, conv.ID)); n != 2 {
		t.Errorf("stored %d customer messages, want 2 (the limited ones are not)", n)
	}
	// Another visitor is not affected.
	other, _ := h.connect(t, "v_limit_other", 0)
	other.say("o1", "hello")
	if got := log.list(); len(got) != 2 || got[0] != webchat.LimitVisitor || got[1] != webchat.LimitVisitor {
		t.Errorf("OnLimited calls %q, want visitor twice", got)
	}
	// After the wait, the widget's resend of the same message goes in.
	clock.Advance(2 * time.Second)
	a.say("a2", "hello?")
	if n := len(customerMessages(t, h.store, conv.ID)); n != 3 {
		t.Errorf("stored %d customer messages after the wait, want 3", n)
	}
}

// A client making a new visitor per connection is caught by its
// address's message limit; another address is not affected.
func TestAddressMessageLimit(t *testing.T) {
	clock := newFakeClock()
	var log limitLog
	h := newHarness(t, webchat.Config{Limits: webchat.Limits{
		Address:   ratelimit.New[netip.Addr](ratelimit.Limit{Rate: 1, Burst: 2}, ratelimit.WithClock(clock.Now)),
		ClientKey: testClient,
		OnLimited: log.add,
	}}, nil)
	dial := func(addr, visitor string) *client {
		t.Helper()
		ws, resp, err := h.tryDial(t, from(addr))
		if err != nil {
			t.Fatalf("dial from %s: %v (%v)", addr, err, resp)
		}
		c := &client{tb: t, ws: ws}
		c.hello(visitor, 0)
		return c
	}
	dial("192.0.2.1", "v_rotating_1").say("m", "hello")
	dial("192.0.2.1", "v_rotating_2").say("m", "hello")
	c := dial("192.0.2.1", "v_rotating_3")
	c.send(message{Type: "message", ID: "m", Text: "hello"})
	wantRateLimited(t, c.read(), "m", time.Second)
	dial("198.51.100.7", "v_elsewhere_1").say("m", "hello")
	if got := log.list(); len(got) != 1 || got[0] != webchat.LimitIP {
		t.Errorf("OnLimited calls %q, want ip once", got)
	}
	if _, err := h.store.CustomerByExternalID(t.Context(), crm.ExternalID{Kind: crm.IDWebVisitor, Value: "v_rotating_3"}); err == nil {
		t.Error("the refused visitor's message created a customer in the CRM, want nothing stored")
	}
}

// New connections from one address are limited before the upgrade: 429
// with Retry-After; another address still connects, and so does the
// first once the wait is over.
func TestHandshakeLimit(t *testing.T) {
	clock := newFakeClock()
	var log limitLog
	h := newHarness(t, webchat.Config{Limits: webchat.Limits{
		Handshakes: ratelimit.New[netip.Addr](ratelimit.Limit{Rate: 0.5, Burst: 2}, ratelimit.WithClock(clock.Now)),
		ClientKey:  testClient,
		OnLimited:  log.add,
	}}, nil)
	for i := range 2 {
		if _, resp, err := h.tryDial(t, from("192.0.2.1")); err != nil {
			t.Fatalf("handshake %d of the burst: %v (%v), want accepted", i, err, resp)
		}
	}
	_, resp, err := h.tryDial(t, from("192.0.2.1"))
	if err == nil {
		t.Fatal("third handshake at once (burst 2): accepted, want 429")
	}
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("third handshake: %v, want 429 with Retry-After 2", resp)
	}
	if _, resp, err := h.tryDial(t, from("198.51.100.7")); err != nil {
		t.Errorf("handshake from another address: %v (%v), want accepted", err, resp)
	}
	clock.Advance(2 * time.Second)
	ws, resp, err := h.tryDial(t, from("192.0.2.1"))
	if err != nil {
		t.Fatalf("handshake after the Retry-After: %v (%v), want accepted", err, resp)
	}
	(&client{tb: t, ws: ws}).hello("v_after_wait", 0)
	if got := log.list(); len(got) != 1 || got[0] != webchat.LimitHandshake {
		t.Errorf("OnLimited calls %q, want handshake once", got)
	}
}
