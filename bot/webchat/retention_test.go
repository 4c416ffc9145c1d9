package webchat_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/webchat"
	"github.com/parley-chat/parley/crm"
)

// History after retention: masked messages are replayed as stored,
// deleted ones not at all (they would be empty bubbles).
func TestReplayAfterRetention(t *testing.T) {
	h := newHarness(t, webchat.Config{}, nil)
	shown := history(t, h, "v_retained1", "hello, I am jo@example.com", "thanks")
	if len(shown) < 4 {
		t.Fatalf("history has %d messages, want at least 4", len(shown))
	}
	ctx := context.Background()
	later := time.Now().Add(time.Minute)
	if _, err := h.store.ExpireMessages(ctx, crm.Retention{Before: later, Mode: crm.ExpireRedact}); err != nil {
		t.Fatal(err)
	}
	_, hist := h.connect(t, "v_retained1", 0)
	if len(hist) != len(shown) || hist[0].Text != "hello, I am [email]" {
		t.Fatalf("history after redaction: %v, want the %d messages, the first masked", hist, len(shown))
	}
	if _, err := h.store.ExpireMessages(ctx, crm.Retention{Before: later, Mode: crm.ExpireDelete}); err != nil {
		t.Fatal(err)
	}
	if _, hist := h.connect(t, "v_retained1", 0); len(hist) != 0 {
		t.Errorf("history after deletion: %v, want none", hist)
	}
}
