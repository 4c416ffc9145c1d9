package forest_test

import (
	"context"
	"io"
	"slices"
	"testing"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/forest"
	"github.com/parley-chat/parley/intents/intentstest"
)

func TestContract(t *testing.T) {
	intentstest.Run(t, intentstest.Family{
		Kind: forest.Kind,
		Fit: func(ctx context.Context, d intents.Dataset, seed uint64) (intents.Model, error) {
			return forest.DefaultConfig().Fit(ctx, d, seed)
		},
		Decode:      func(r io.Reader) (intents.Model, error) { return forest.Decode(r) },
		MinAccuracy: 0.83, // measured 0.889 (16 of 18)
	}, "../..")
}

// mustFit trains on d with c, failing the test on error.
func mustFit(tb testing.TB, c forest.Config, d intents.Dataset) *forest.Model {
	tb.Helper()
	m, err := c.Fit(context.Background(), d, 7)
	if err != nil {
		tb.Fatalf("Fit: %v", err)
	}
	return m
}

func TestWorkersDoNotChangeModel(t *testing.T) {
	train, test := intentstest.Fixture(t, "../..")
	docs := intents.Parse(test)
	c := forest.DefaultConfig()
	c.Trees = 16
	c.Workers = 1
	one := mustFit(t, c, train)
	c.Workers = 5
	five := mustFit(t, c, train)
	for i, d := range docs {
		if a, b := one.Probs(d), five.Probs(d); !slices.Equal(a, b) {
			t.Fatalf("%q: probs with 5 workers %v, with 1 %v", test.Examples[i].Text, b, a)
		}
	}
}

func TestOutOfScope(t *testing.T) {
	train, test := intentstest.Fixture(t, "../..")
	isOOS := func(e intents.Example) bool { return e.Label == intents.OOS }
	oos := test.Filter(isOOS)
	if len(oos.Examples) == 0 {
		t.Fatal("fixture test set has no out-of-scope examples")
	}
	tests := []struct {
		name string
		data intents.Dataset
		val  intents.Dataset
	}{
		// Out-of-scope examples in the training data are a class; the
		// out-of-bag predictions choose the threshold.
		{name: "training data", data: train.Concat(oos)},
		// A validation set calibrates instead of the out-of-bag votes.
		{name: "validation", data: train, val: test},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := forest.DefaultConfig()
			c.Validation = tt.val
			c.MaxOOSDrop = 0.2
			m := mustFit(t, c, tt.data)
			h := m.Header()
			if want := len(tt.val.Examples) == 0; slices.Contains(h.Labels, intents.OOS) != want {
				t.Errorf("labels %v: include %q = %v, want %v", h.Labels, intents.OOS, !want, want)
			}
			if !(h.Threshold > 0 && h.Threshold < 1) {
				t.Errorf("threshold %v, want one in (0, 1)", h.Threshold)
			}
			if _, ok := h.Metrics["heldout_oos_recall"]; !ok {
				t.Errorf("metrics %v lack heldout_oos_recall", h.Metrics)
			}
			if _, ok := h.Metrics["heldout_accuracy"]; !ok {
				t.Errorf("metrics %v lack heldout_accuracy", h.Metrics)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	train, _ := intentstest.Fixture(t, "../..")
	tests := []struct {
		name   string
		mutate func(*forest.Config)
	}{
		{"no trees", func(c *forest.Config) { c.Trees = 0 }},
		{"negative depth", func(c *forest.Config) { c.MaxDepth = -1 }},
		{"min leaf 0", func(c *forest.Config) { c.MinLeaf = 0 }},
		{"max features 0", func(c *forest.Config) { c.MaxFeatures = 0 }},
		{"oos drop", func(c *forest.Config) { c.MaxOOSDrop = 2 }},
		{"features", func(c *forest.Config) { c.Features.HashBits = 99 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := forest.DefaultConfig()
			tt.mutate(&c)
			if _, err := c.Fit(context.Background(), train, 1); err == nil {
				t.Errorf("Fit with %s succeeded, want an error", tt.name)
			}
		})
	}
}

func BenchmarkPredict(b *testing.B) {
	train, test := intentstest.Fixture(b, "../..")
	m := mustFit(b, forest.DefaultConfig(), train)
	docs := intents.Parse(test)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ { // b.Loop times only the loop
		m.Predict(docs[i%len(docs)])
	}
}

func BenchmarkPredictParallel(b *testing.B) {
	train, test := intentstest.Fixture(b, "../..")
	m := mustFit(b, forest.DefaultConfig(), train)
	docs := intents.Parse(test)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			m.Predict(docs[i%len(docs)])
		}
	})
}
