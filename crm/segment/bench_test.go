package segment

import (
	"io"
	"log/slog"
	"testing"
)

// BenchmarkSegment100k measures a whole Run on 100,000 synthetic
// customers: features, choosing k over 2..8 by silhouette (k-means with
// 10 restarts for each k), PCA and profiles. The target is under 30 s.
func BenchmarkSegment100k(b *testing.B) {
	stats, _ := synthStats(100_000, 1)
	cfg := Config{Seed: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	b.ReportAllocs()
	for b.Loop() {
		r, err := Run(b.Context(), stats, testAsOf, cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(r.K), "k")
	}
}

// BenchmarkSegment100kFixedK is the same with k given (4): no k search.
func BenchmarkSegment100kFixedK(b *testing.B) {
	stats, _ := synthStats(100_000, 1)
	cfg := Config{K: 4, Seed: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(b.Context(), stats, testAsOf, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWard2000 measures the Ward hierarchy at the automatic
// method's largest population.
func BenchmarkWard2000(b *testing.B) {
	x, _ := blobs(DefaultWardMaxPoints, NumFeatures, 5, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Ward(b.Context(), x); err != nil {
			b.Fatal(err)
		}
	}
}
