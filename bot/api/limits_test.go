package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/api"
	"github.com/parley-chat/parley/bot/ratelimit"
)

// TestLimits posts a script of requests through a handler with both
// limits on a stopped clock: refused posts get 429, Retry-After and the
// error body, and never reach the engine (nothing is stored).
func TestLimits(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	var mu sync.Mutex
	var handled []string // client_msg_ids the engine saw
	eng := fakeEngine(func(m bot.Message) (bot.Turn, error) {
		mu.Lock()
		_, id, _ := strings.Cut(m.ChannelMsgID, "/") // customer/client_msg_id
		handled = append(handled, id)
		mu.Unlock()
		return bot.Turn{ConversationID: 1, Replies: []bot.Reply{{Text: "ok"}}}, nil
	})
	var limited []string
	h := api.Handler(eng, nil, api.WithLimits(api.Limits{
		PerAddress:  ratelimit.New[netip.Addr](ratelimit.Limit{Rate: 1, Burst: 4}, ratelimit.WithClock(clock)),
		PerCustomer: ratelimit.New[string](ratelimit.Limit{Rate: 0.4, Burst: 2}, ratelimit.WithClock(clock)),
		OnLimited:   func(limit string) { limited = append(limited, limit) },
	}))
	type step struct {
		peer, customer, id string
		body               string // instead of a message, when set
		status             int
		retryAfter         string
		errPart            string
	}
	steps := []step{
		{peer: "192.0.2.1:1000", customer: "c1", id: "m1", status: 200},
		{peer: "192.0.2.1:1001", customer: "c1", id: "m2", status: 200},
		// c1's burst of 2 is spent: 1/0.4 = 2.5 s for the next, rounded up.
		{peer: "192.0.2.1:1002", customer: "c1", id: "m3", status: 429, retryAfter: "3", errPart: "too many messages for this customer"},
		// Another customer behind the same address is not affected...
		{peer: "192.0.2.1:1003", customer: "c2", id: "n1", status: 200},
		// ...until the address's burst of 4 is spent (c1's refused post
		// counted against the address too).
		{peer: "192.0.2.1:1004", customer: "c3", id: "o1", status: 429, retryAfter: "1", errPart: "too many requests from your address"},
		// Bad requests count against the address, before the body is read.
		{peer: "192.0.2.1:1005", body: `not json`, status: 429, retryAfter: "1"},
		// Another address is unaffected, and a bad body there is a 400 that
		// costs its customer nothing.
		{peer: "198.51.100.7:2000", body: `{"customer_id":"c9","text":"","client_msg_id":"x"}`, status: 400, errPart: "missing"},
		{peer: "198.51.100.7:2001", customer: "c9", id: "p1", status: 200},
		{peer: "198.51.100.7:2002", customer: "c9", id: "p2", status: 200},
		// IPv6 clients count by /64.
		{peer: "[2001:db8:1:2::1]:1", customer: "d1", id: "q1", status: 200},
		{peer: "[2001:db8:1:2::2]:1", customer: "d2", id: "q2", status: 200},
		{peer: "[2001:db8:1:2::3]:1", customer: "d3", id: "q3", status: 200},
		{peer: "[2001:db8:1:2::4]:1", customer: "d4", id: "q4", status: 200},
		{peer: "[2001:db8:1:2::5]:1", customer: "d5", id: "q5", status: 429, retryAfter: "1"},
		{peer: "[2001:db8:1:3::5]:1", customer: "d5", id: "q6", status: 200},
	}
	for i, s := range steps {
		body := s.body
		if body == "" {
			body = fmt.Sprintf(`{"customer_id":%q,"text":"hello","client_msg_id":%q}`, s.customer, s.id)
		}
		r := httptest.NewRequest("POST", "/api/v1/messages", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.RemoteAddr = s.peer
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var v map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Fatalf("step %d (%s from %s): body %q is not JSON: %v", i, body, s.peer, w.Body, err)
		}
		msg, _ := v["error"].(string)
		if w.Code != s.status || w.Header().Get("Retry-After") != s.retryAfter || !strings.Contains(msg, s.errPart) {
			t.Errorf("step %d (%s from %s): got %d, Retry-After %q, error %q; want %d, Retry-After %q, error with %q",
				i, body, s.peer, w.Code, w.Header().Get("Retry-After"), msg, s.status, s.retryAfter, s.errPart)
		}
	}
	want := "m1 m2 n1 p1 p2 q1 q2 q3 q4 q6"
	if got := strings.Join(handled, " "); got != want {
		t.Errorf("the engine handled %q, want %q (no refused post)", got, want)
	}
	if got, want := strings.Join(limited, " "), "visitor ip ip ip"; got != want {
		t.Errorf("OnLimited calls %q, want %q", got, want)
	}

	// Time passes: the tokens come back.
	now = now.Add(2500 * time.Millisecond)
	r := httptest.NewRequest("POST", "/api/v1/messages", strings.NewReader(`{"customer_id":"c1","text":"hello","client_msg_id":"m3"}`))
	r.Header.Set("Content-Type", "application/json")
	r.RemoteAddr = "192.0.2.1:1006"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Errorf("c1 after waiting the Retry-After: %d %s, want 200", w.Code, w.Body)
	}
}

// TestLimitsClientKey: the handler counts by the key function it is
// given (serve's, which reads X-Forwarded-For from trusted proxies).
func TestLimitsClientKey(t *testing.T) {
	eng := fakeEngine(func(m bot.Message) (bot.Turn, error) { return bot.Turn{ConversationID: 1}, nil })
	h := api.Handler(eng, nil, api.WithLimits(api.Limits{
		PerAddress: ratelimit.New[netip.Addr](ratelimit.Limit{Rate: 1, Burst: 1}),
		ClientKey:  func(r *http.Request) netip.Addr { return netip.MustParseAddr(r.Header.Get("X-Test-Client")) },
	}))
	for i, tc := range []struct {
		client string
		status int
	}{{"192.0.2.1", 200}, {"192.0.2.2", 200}, {"192.0.2.1", 429}} {
		r := httptest.NewRequest("POST", "/api/v1/messages", strings.NewReader(fmt.Sprintf(`{"customer_id":"c%d","text":"hi","client_msg_id":"m"}`, i)))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Test-Client", tc.client)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.status {
			t.Errorf("post %d from client %s (one peer): %d, want %d", i, tc.client, w.Code, tc.status)
		}
	}
}
