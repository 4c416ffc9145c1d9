package console_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/console"
	"github.com/parley-chat/parley/crm"
)

type streamEvent struct {
	ID      int64     `json:"id"`
	Kind    string    `json:"kind"`
	State   crm.State `json:"state"`
	StaffID int64     `json:"staff_id"`
}

// stream opens /console/events and returns its events as they come; the
// channel closes when the stream ends.
func (c *client) stream(t *testing.T) (<-chan streamEvent, <-chan map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.base+"/console/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	hc := *c.hc
	hc.Timeout = 0 // a stream is long
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	t.Cleanup(func() { res.Body.Close() })
	events := make(chan streamEvent, 16)
	raw := make(chan map[string]any, 16)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var e streamEvent
			var m map[string]any
			if json.Unmarshal([]byte(data), &e) == nil && json.Unmarshal([]byte(data), &m) == nil {
				events <- e
				raw <- m
			}
		}
	}()
	return events, raw
}

func next(t *testing.T, events <-chan streamEvent, what string) streamEvent {
	t.Helper()
	select {
	case e, ok := <-events:
		if !ok {
			t.Fatalf("waiting for %s: the stream ended", what)
		}
		return e
	case <-time.After(5 * time.Second):
		t.Fatalf("waiting for %s: no event in 5 s", what)
	}
	return streamEvent{}
}

// A desk event reaches every connected console at once, as the
// conversation's id, kind and state (never its text).
func TestEvents(t *testing.T) {
	f := newFixture(t)
	alice, bob := f.signedIn(f.alice), f.signedIn(f.bob)
	aliceEvents, aliceRaw := alice.stream(t)
	bobEvents, _ := bob.stream(t)
	waitSubscribers(t, f, 2)

	id := f.escalated("v-ann", "Ann Example")
	for _, evs := range []<-chan streamEvent{aliceEvents, bobEvents} {
		if e := next(t, evs, "the escalation"); e != (streamEvent{ID: id, Kind: "escalated", State: crm.StateEscalated}) {
			t.Errorf("event %+v, want conversation %d escalated", e, id)
		}
	}
	raw := <-aliceRaw
	for k := range raw {
		if k != "id" && k != "kind" && k != "state" && k != "staff_id" {
			t.Errorf("the event carries %q: only ids, kinds and states go out", k)
		}
	}
	// Actions in the console come back as events too.
	c := "/console/conversations/" + strconv.FormatInt(id, 10)
	alice.post(c+"/claim", nil)
	if e := next(t, bobEvents, "the claim"); e.Kind != "claimed" || e.ID != id || e.StaffID != f.alice.ID || e.State != crm.StateAssigned {
		t.Errorf("event %+v, want conversation %d claimed by Alice (%d)", e, id, f.alice.ID)
	}
	alice.post(c+"/reply", url.Values{"text": {"<b>not markup</b> in an event"}})
	if e := next(t, bobEvents, "the reply"); e.Kind != "replied" {
		t.Errorf("event %+v, want replied", e)
	}
	// Close ends every stream.
	f.console.Close()
	for range aliceEvents { // drain the rest until the end
	}
	if res := alice.do("GET", "/console/events", "text/event-stream", nil, nil); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a stream after Close: status %d, want 503", res.StatusCode)
	}
}

// A signed-out session's stream ends at the next heartbeat at the
// latest; here the stream is refused outright afterwards.
func TestEventsNeedASession(t *testing.T) {
	f := newFixture(t)
	alice := f.signedIn(f.alice)
	alice.post("/console/logout", nil)
	res := alice.do("GET", "/console/events", "text/event-stream", nil, nil)
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("events after signing out: status %d, want 401", res.StatusCode)
	}
	io.Copy(io.Discard, strings.NewReader(res.body))
}

func waitSubscribers(t *testing.T, f *fixture, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for console.Streams(f.console) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams connected after 5 s, want %d", console.Streams(f.console), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
