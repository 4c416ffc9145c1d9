package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/metrics"
	"github.com/parley-chat/parley/crm"
)

// BenchmarkObserveTurn is the cost the metrics add to every message.
func BenchmarkObserveTurn(b *testing.B) {
	m := metrics.New(quiet)
	m.SetIntents([]string{"order_status", "refund", "talk_to_human"})
	ev := bot.TurnEvent{Channel: crm.ChannelWeb, Turn: turn(bot.ActionAnswer, "order_status", false), Took: 7 * time.Millisecond}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveTurn(ctx, ev)
	}
}
