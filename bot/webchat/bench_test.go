package webchat_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/parley-chat/parley/bot/webchat"
	"github.com/parley-chat/parley/crm"
)

// unlimited turns the rate limit off for benchmarks.
var unlimited = webchat.Config{Rate: 1e9, Burst: 1 << 30}

// BenchmarkMessage is one customer message through the WebSocket, the
// real engine and the in-memory CRM, until the widget has the ack, the
// echo, the reply and typing off. Each visitor writes 20 messages (a
// long chat), then a new one starts: Publish reads the whole
// conversation each time. Allocations count both ends of the socket.
func BenchmarkMessage(b *testing.B) {
	h := newHarness(b, unlimited, nil)
	const perVisitor = 20
	var c *client
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%perVisitor == 0 {
			b.StopTimer()
			if c != nil {
				c.ws.CloseNow()
			}
			c, _ = h.connect(b, fmt.Sprintf("v_bench%06d", i/perVisitor), 0)
			b.StartTimer()
		}
		if ex := c.say(fmt.Sprintf("m%d", i), "where is my order 12345"); len(ex.replies) == 0 {
			b.Fatal("no reply")
		}
	}
}

// BenchmarkHello is a returning widget's reconnect: the handshake, the
// hello, the welcome and the replay of a 60-message conversation.
func BenchmarkHello(b *testing.B) {
	h := newHarness(b, unlimited, nil)
	ctx := context.Background()
	c, _ := h.connect(b, "v_benchhello", 0)
	for i := range 30 {
		c.say(fmt.Sprintf("m%d", i), "where is my order 12345")
	}
	c.ws.CloseNow()
	conv := conversationOf(b, h.store, "v_benchhello")
	msgs, err := h.store.Messages(ctx, conv.ID)
	if err != nil {
		b.Fatal(err)
	}
	var last int64
	for _, m := range msgs {
		if m.Direction != crm.Note {
			last = m.ID
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		c, hist := h.connect(b, "v_benchhello", 0)
		if len(hist) == 0 || hist[len(hist)-1].Seq != last {
			b.Fatalf("replayed %d messages ending at %v, want through seq %d", len(hist), hist[len(hist)-1:], last)
		}
		c.ws.CloseNow()
	}
}
