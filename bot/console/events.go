package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/parley-chat/parley/bot/handoff"
	"github.com/parley-chat/parley/crm"
)

// liveEvent is what a console learns of a desk event: which
// conversation changed and how, never what anyone wrote (the page
// fetches what it shows, through the same guarded routes).
type liveEvent struct {
	ConversationID int64     `json:"id"`
	Kind           string    `json:"kind"`
	State          crm.State `json:"state"`
	// StaffID is who acted or, for a claim, the new owner (0: the bot or
	// the customer).
	StaffID int64 `json:"staff_id,omitempty"`
}

// SSE stream settings.
const (
	// subscriberBuffer is how many events a stream may fall behind
	// before it is dropped (its browser reconnects and catches up).
	subscriberBuffer = 64
	// heartbeat keeps proxies from closing an idle stream and is when a
	// stream re-checks its session: a signed-out or disabled user's
	// stream ends within a heartbeat.
	heartbeat = 15 * time.Second
	// writeWindow is the write deadline of each write to a stream: the
	// server's WriteTimeout would otherwise end every stream after it.
	writeWindow = 10 * time.Second
	// reconnectMillis is the browser's wait before reconnecting.
	reconnectMillis = 2000
)

// subscriber is one open event stream.
type subscriber struct {
	ch chan liveEvent
	// gone is closed when the hub drops the stream (too slow, or Close).
	gone chan struct{}
	once sync.Once
}

func (sub *subscriber) drop() { sub.once.Do(func() { close(sub.gone) }) }

// hub fans desk events out to the open streams; it never blocks the
// desk.
type hub struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

func (h *hub) subscribe() (*subscriber, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	sub := &subscriber{ch: make(chan liveEvent, subscriberBuffer), gone: make(chan struct{})}
	h.subs[sub] = struct{}{}
	return sub, true
}

func (h *hub) unsubscribe(sub *subscriber) {
	h.mu.Lock()
	delete(h.subs, sub)
	h.mu.Unlock()
	sub.drop()
}

func (h *hub) publish(e liveEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs {
		select {
		case sub.ch <- e:
		default:
			// Too slow: drop it rather than wait or lose events silently.
			delete(h.subs, sub)
			sub.drop()
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for sub := range h.subs {
		delete(h.subs, sub)
		sub.drop()
	}
}

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Observe pushes a desk event to every open console; register it with
// the desk's Observe. It never blocks.
func (s *Server) Observe(_ context.Context, e handoff.Event) {
	s.hub.publish(liveEvent{ConversationID: e.Conversation.ID, Kind: string(e.Kind), State: e.Conversation.State, StaffID: e.Staff.ID})
}

// Close ends the live streams, so that a graceful shutdown is not held
// up by them; later streams are refused.
func (s *Server) Close() { s.hub.close() }

// events is the Server-Sent Events stream of desk events: one "message"
// event per change, its data a JSON liveEvent.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.hub.subscribe()
	if !ok {
		http.Error(w, "the server is shutting down", http.StatusServiceUnavailable)
		return
	}
	defer s.hub.unsubscribe(sub)
	rc := http.NewResponseController(w)
	// The server's ReadTimeout still runs from the request's start; when
	// it fires, net/http cancels the request: a stream would end after it.
	// Nothing more is read from a stream's connection anyway.
	rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // a buffering proxy would hold the events back
	w.WriteHeader(http.StatusOK)
	write := func(format string, args ...any) bool {
		rc.SetWriteDeadline(time.Now().Add(writeWindow)) // not every writer has deadlines: best effort
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write("retry: %d\n: connected\n\n", reconnectMillis) {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-sub.gone:
			return
		case e := <-sub.ch:
			data, err := json.Marshal(e)
			if err != nil || !write("data: %s\n\n", data) {
				return
			}
		case <-tick.C:
			if _, ok := s.auth.Current(r); !ok {
				write("event: signedout\ndata: {}\n\n")
				return
			}
			if !write(": ping\n\n") {
				return
			}
		}
	}
}
