package conversion_test

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm/conversion"
)

var score100k = flag.Bool("score100k", false, "run TestScore100k (scores 100,000 synthetic customers against a 10 s budget)")

// snapshotModels fits both models on a snapshot of n synthetic customers.
func snapshotModels(tb testing.TB, n int) map[string]conversion.Model {
	tb.Helper()
	d, _, err := conversion.Snapshot(context.Background(), ruleSource(n, 40), asOf, 30*day, conversion.DefaultIntents)
	if err != nil {
		tb.Fatal(err)
	}
	ms := map[string]conversion.Model{}
	for name, tr := range map[string]conversion.Trainer{"logistic": conversion.DefaultLogistic(), "gbt": conversion.DefaultGBT()} {
		ms[name] = mustFit(tb, tr, d, 1)
	}
	return ms
}

// scoreAll is the scoring job: features of every customer, then a
// probability for each.
func scoreAll(tb testing.TB, m conversion.Model, src conversion.StatsSource) []float64 {
	d, ids, err := conversion.Features(context.Background(), src, asOf, conversion.DefaultIntents)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := conversion.Score(m, d)
	if err != nil || len(p) != len(ids) {
		tb.Fatalf("Score = %d scores, %v; want %d", len(p), err, len(ids))
	}
	return p
}

// TestScore100k times scoring 100,000 customers (features from their
// stats, then Prob) against the 10 s budget; not run in CI:
//
//	go test ./crm/conversion -run TestScore100k -score100k -v
//
// The stats come from an in-memory source, so the time is this
// package's; the store's Stats query comes on top.
func TestScore100k(t *testing.T) {
	if !*score100k {
		t.Skip("-score100k not set")
	}
	models := snapshotModels(t, 20000)
	src := &fakeStats{stats: syntheticCustomers(100_000, 41)}
	for _, name := range []string{"logistic", "gbt"} {
		start := time.Now()
		p := scoreAll(t, models[name], src)
		elapsed := time.Since(start)
		t.Logf("%s: scored %d customers in %v (%.1f µs each)", name, len(p), elapsed.Round(time.Millisecond),
			float64(elapsed.Microseconds())/float64(len(p)))
		if elapsed > 10*time.Second {
			t.Errorf("%s: scoring %d customers took %v, budget 10s", name, len(p), elapsed)
		}
	}
}

// BenchmarkScore100k: one op scores 100,000 customers.
func BenchmarkScore100k(b *testing.B) {
	models := snapshotModels(b, 20000)
	src := &fakeStats{stats: syntheticCustomers(100_000, 41)}
	for _, name := range []string{"logistic", "gbt"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				scoreAll(b, models[name], src)
			}
		})
	}
}

// BenchmarkProbExplain: one op scores or explains one customer.
func BenchmarkProbExplain(b *testing.B) {
	models := snapshotModels(b, 20000)
	d, _, err := conversion.Features(context.Background(), &fakeStats{stats: syntheticCustomers(1000, 42)}, asOf, conversion.DefaultIntents)
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"logistic", "gbt"} {
		m := models[name]
		b.Run(name+"/Prob", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				m.Prob(d.X[i%len(d.X)])
				i++
			}
		})
		b.Run(name+"/Explain", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				m.Explain(d.X[i%len(d.X)])
				i++
			}
		})
	}
}

// BenchmarkFit: one op fits a model to 20,000 synthetic customers (29
// features; boosted trees with early stopping, as "auto" turns it on).
func BenchmarkFit(b *testing.B) {
	d, _, err := conversion.Snapshot(context.Background(), ruleSource(20000, 40), asOf, 30*day, conversion.DefaultIntents)
	if err != nil {
		b.Fatal(err)
	}
	for name, tr := range map[string]conversion.Trainer{"logistic": conversion.DefaultLogistic(), "gbt": conversion.DefaultGBT()} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.Train(context.Background(), d, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
