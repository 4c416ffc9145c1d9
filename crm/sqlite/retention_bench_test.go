package sqlite_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/sqlite"
)

// expireBenchInteractions is the size of the retention benchmark's CRM:
// 50,000 interactions of two messages, 100,000 messages.
const expireBenchInteractions = 50_000

// expireTemplateDB builds a CRM file whose messages were all logged a
// year before the benchmark's cut-off: 5,000 customers of ten
// interactions each, one message in three with an email, one with a
// phone number, the rest an order number; every conversation with a
// slot, a label on one customer message in a hundred, a sent outbox item
// per ten interactions.
func expireTemplateDB(b *testing.B) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "template.db")
	old := time.Now().AddDate(-1, 0, 0)
	s, err := sqlite.Open(context.Background(), path, quiet, sqlite.WithClock(func() time.Time { return old }))
	if err != nil {
		b.Fatal(err)
	}
	if err := fillExpireTemplate(s); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

func fillExpireTemplate(s *sqlite.Store) error {
	ctx := context.Background()
	const workers = 16
	var next atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= expireBenchInteractions {
					return
				}
				in := benchInteraction(i%5000, i/5000)
				switch i % 3 {
				case 0:
					in.Message.Text = fmt.Sprintf("hi, I am customer%d@example.com, where is order 48213?", i)
					in.Message.Entities = []crm.Entity{{Kind: "email", Text: fmt.Sprintf("customer%d@example.com", i), Value: fmt.Sprintf("customer%d@example.com", i)}}
				case 1:
					in.Message.Text = fmt.Sprintf("please call me on +44 20 7946 %04d about order 48213", i%10000)
				}
				l, err := s.LogInteraction(ctx, in)
				if err != nil {
					errs[w] = err
					return
				}
				if i%100 == 0 {
					if _, err := s.AddLabel(ctx, crm.Label{MessageID: l.MessageID, Intent: "order_status"}); err != nil {
						errs[w] = err
						return
					}
				}
				if i%10 == 0 {
					it, _, err := s.EnqueueOutbox(ctx, crm.OutboxItem{Key: fmt.Sprintf("reply:%d", l.MessageID), Channel: crm.ChannelWeb,
						ConversationID: l.ConversationID, Kind: "reply", Payload: []byte(`{"text":"Order 48213 left our warehouse yesterday."}`)})
					if err == nil {
						err = s.OutboxSent(ctx, it.ID, "ok", time.Time{})
					}
					if err != nil {
						errs[w] = err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// BenchmarkExpire purges the words of 100,000 messages (and their
// labels, 5,000 conversations' slots, 5,000 outbox items) from a fresh
// copy of the same CRM per iteration, in both modes, and with a
// customer's interactions logged throughout. It reports the cost per
// message in wall time and in the process's CPU time (steadier on a
// shared machine), the longest single write transaction (what any other
// write waited for at most) and, with traffic, the latency of the
// interactions logged meanwhile.
func BenchmarkExpire(b *testing.B) {
	template := expireTemplateDB(b)
	for _, tt := range []struct {
		name    string
		mode    crm.ExpireMode
		traffic bool
	}{
		{"delete", crm.ExpireDelete, false},
		{"redact", crm.ExpireRedact, false},
		{"delete-with-traffic", crm.ExpireDelete, true},
	} {
		b.Run(tt.name, func(b *testing.B) { benchExpire(b, template, tt.mode, tt.traffic) })
	}
	b.Run("traffic-alone", func(b *testing.B) { benchTrafficAlone(b, template) })
}

// benchTrafficAlone is the traffic of delete-with-traffic for five
// seconds on the same CRM with no purge: the baseline of its latency.
func benchTrafficAlone(b *testing.B, template string) {
	ctx := context.Background()
	var lat []time.Duration
	var total time.Duration
	for i := 0; i < b.N; i++ {
		path := filepath.Join(b.TempDir(), "crm.db")
		if err := copyFile(path, template); err != nil {
			b.Fatal(err)
		}
		s, err := sqlite.Open(ctx, path, quiet)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for seq := 0; time.Since(start) < 5*time.Second; seq++ {
			t0 := time.Now()
			if _, err := s.LogInteraction(ctx, benchInteraction(100_000+seq, seq)); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		total += time.Since(start)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "traffic-p99-ms")
	b.ReportMetric(float64(len(lat))/total.Seconds(), "traffic-interactions/s")
}

func benchExpire(b *testing.B, template string, mode crm.ExpireMode, traffic bool) {
	ctx := context.Background()
	var total, cpu, longest time.Duration
	var messages, batches int
	var lat []time.Duration
	b.ReportAllocs()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		path := filepath.Join(b.TempDir(), "crm.db")
		if err := copyFile(path, template); err != nil {
			b.Fatal(err)
		}
		s, err := sqlite.Open(ctx, path, quiet)
		if err != nil {
			b.Fatal(err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var werr error
		if traffic {
			wg.Go(func() {
				for seq := 0; ; seq++ {
					select {
					case <-stop:
						return
					default:
					}
					t0 := time.Now()
					if _, err := s.LogInteraction(ctx, benchInteraction(100_000+seq, seq)); err != nil {
						werr = err
						return
					}
					lat = append(lat, time.Since(t0))
				}
			})
		}
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		x, err := s.ExpireMessages(ctx, crm.Retention{Before: time.Now().Add(-time.Hour), Mode: mode})
		elapsed, used := time.Since(start), cpuTime()-cpu0
		b.StopTimer()
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		if werr != nil {
			b.Fatal(werr)
		}
		if x.Messages != 2*expireBenchInteractions {
			b.Fatalf("expired %+v, want %d messages", x, 2*expireBenchInteractions)
		}
		total += elapsed
		cpu += used
		messages += x.Messages
		batches += x.Batches
		longest = max(longest, x.LongestBatch)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(messages), "ns/message")
	if cpu > 0 && !traffic {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(messages), "cpu-ns/message")
	}
	b.ReportMetric(float64(longest.Microseconds())/1000, "longest-batch-ms")
	b.ReportMetric(float64(batches)/float64(b.N), "batches")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "traffic-p99-ms")
		b.ReportMetric(float64(len(lat))/total.Seconds(), "traffic-interactions/s")
	}
}
