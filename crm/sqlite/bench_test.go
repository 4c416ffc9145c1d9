package sqlite_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/sqlite"
)

// benchInteraction is a typical logged turn: a customer message with
// what the models understood, and one bot reply.
func benchInteraction(customer, seq int) crm.Interaction {
	return crm.Interaction{
		Channel:         crm.ChannelWeb,
		Customer:        crm.ExternalID{Kind: crm.IDWebVisitor, Value: fmt.Sprintf("visitor-%d", customer)},
		ConversationRef: fmt.Sprintf("session-%d", customer),
		Message: crm.Message{
			Direction: crm.FromCustomer, Text: "hi, where is my order 48213? it was due yesterday",
			ChannelMsgID: fmt.Sprintf("c%d-m%d", customer, seq), Intent: "order_status", Confidence: 0.93,
			Alternatives: []crm.Alternative{{Intent: "delivery_delay", Confidence: 0.04}},
			Sentiment:    "negative", SentimentScore: -0.3, ModelVersion: "intent-2026-12-01",
			Entities: []crm.Entity{{Kind: "order_id", Text: "48213", Value: "48213", Start: 22, End: 27}},
			Action:   "answer",
		},
		Replies: []crm.Message{{Direction: crm.FromBot, Text: "Order 48213 left our warehouse yesterday; it should arrive tomorrow.",
			QuickReplies: []string{"Track it", "Talk to a person"}}},
		State: crm.StateBot, Slots: map[string]string{"order_id": "48213"},
	}
}

func openBench(b *testing.B, opts ...sqlite.Option) *sqlite.Store {
	b.Helper()
	opts = append([]sqlite.Option{sqlite.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	return MustOpen(b, dbPath(b, "bench.db"), opts...)
}

// BenchmarkLogInteraction logs interactions from 64 goroutines at once,
// each its own customer and conversation, as a busy server would. It
// reports the throughput and the 99th percentile latency of a call.
func BenchmarkLogInteraction(b *testing.B) {
	for _, tt := range []struct {
		name string
		opts []sqlite.Option
	}{
		{"grouped", nil},
		{"grouped-redacted", []sqlite.Option{sqlite.WithRedactor(crm.Redact)}},
		{"unbatched", []sqlite.Option{sqlite.WithMaxBatch(1)}},
	} {
		b.Run(tt.name, func(b *testing.B) { benchParallel(b, 64, tt.opts...) })
	}
}

func benchParallel(b *testing.B, workers int, opts ...sqlite.Option) {
	s := openBench(b, opts...)
	ctx := context.Background()
	var next atomic.Int64
	lat := make([][]time.Duration, workers)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range workers {
		wg.Go(func() {
			for seq := 0; ; seq++ {
				if next.Add(1) > int64(b.N) {
					return
				}
				t0 := time.Now()
				if _, err := s.LogInteraction(ctx, benchInteraction(w, seq)); err != nil {
					failed.Store(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "interactions/s")
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)*50/100].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkLogInteractionSerial logs from one goroutine: the latency of
// an interaction with no one to share a commit with.
func BenchmarkLogInteractionSerial(b *testing.B) {
	s := openBench(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.LogInteraction(ctx, benchInteraction(i%64, i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkOutboxCycle is a channel worker's round for one post, from
// one goroutine: enqueue it, find it due, mark it sent (two commits and
// a read).
func BenchmarkOutboxCycle(b *testing.B) {
	s := openBench(b)
	ctx := context.Background()
	l, err := s.LogInteraction(ctx, benchInteraction(0, 0))
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"channel":"C0123456","thread_ts":"1700000000.000100","text":"Order 48213 left our warehouse yesterday; it should arrive tomorrow."}`)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, err := s.EnqueueOutbox(ctx, crm.OutboxItem{Key: fmt.Sprintf("reply:%d", i), Channel: crm.ChannelSlack,
			ConversationID: l.ConversationID, Kind: "reply", Payload: payload}); err != nil {
			b.Fatal(err)
		}
		due, err := s.DueOutbox(ctx, crm.ChannelSlack, time.Time{}, 10)
		if err != nil || len(due) != 1 {
			b.Fatalf("DueOutbox = %d items, %v; want 1", len(due), err)
		}
		if err := s.OutboxSent(ctx, due[0].ID, "1700000000.000200", time.Time{}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkDueOutboxBacklog polls an outbox holding 10,000 pending items
// of 200 conversations, as after a Slack outage: in "blocked" each
// conversation's oldest item backs off, so nothing is due although every
// later item's NextAt has passed; in "due" the oldest items are due.
func BenchmarkDueOutboxBacklog(b *testing.B) {
	const convs, perConv = 200, 50
	for _, tt := range []struct {
		name    string
		backoff bool
		want    int
	}{
		{"blocked", true, 0},
		{"due", false, 100},
	} {
		b.Run(tt.name, func(b *testing.B) {
			s := openBench(b)
			ctx := context.Background()
			later := time.Now().Add(time.Hour)
			var wg sync.WaitGroup
			var failed atomic.Value
			for c := range convs {
				wg.Go(func() {
					l, err := s.LogInteraction(ctx, benchInteraction(c, 0))
					if err != nil {
						failed.Store(err)
						return
					}
					for i := range perConv {
						it := crm.OutboxItem{Key: fmt.Sprintf("c%d-%d", c, i), Channel: crm.ChannelSlack,
							ConversationID: l.ConversationID, Kind: "reply", Payload: []byte(`{"text":"hello"}`)}
						if i == 0 && tt.backoff {
							it.NextAt = later
						}
						if _, _, err := s.EnqueueOutbox(ctx, it); err != nil {
							failed.Store(err)
							return
						}
					}
				})
			}
			wg.Wait()
			if err, ok := failed.Load().(error); ok {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				due, err := s.DueOutbox(ctx, crm.ChannelSlack, time.Time{}, 100)
				if err != nil || len(due) != tt.want {
					b.Fatalf("DueOutbox = %d items, %v; want %d", len(due), err, tt.want)
				}
			}
		})
	}
}
