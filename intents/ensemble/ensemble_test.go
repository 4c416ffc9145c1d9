package ensemble_test

import (
	"bytes"
	"context"
	"io"
	"math"
	"testing"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/ensemble"
	"github.com/parley-chat/parley/intents/intentstest"
	"github.com/parley-chat/parley/intents/svm"
	"github.com/parley-chat/parley/nlp"
)

// smallConfig keeps the suite fast on the tiny fixture.
func smallConfig() ensemble.Config {
	c := ensemble.DefaultConfig()
	c.Forest.Trees = 40
	c.RNN.Dim, c.RNN.Hidden, c.RNN.Buckets = 16, 16, 2000
	c.RNN.Batch, c.RNN.Lengths = 8, []int{8, 64}
	c.RNN.MaxEpochs, c.RNN.Patience, c.RNN.LearnRate = 30, 8, 0.01
	c.HoldOut = 0.25
	return c
}

func TestContract(t *testing.T) {
	intentstest.Run(t, intentstest.Family{
		Kind: ensemble.Kind,
		Fit: func(ctx context.Context, d intents.Dataset, seed uint64) (intents.Model, error) {
			return smallConfig().Fit(ctx, d, seed)
		},
		Decode:      func(r io.Reader) (intents.Model, error) { return ensemble.Decode(r) },
		MinAccuracy: 0.85,
	}, "../..")
}

func TestWeightsAndDecodeModel(t *testing.T) {
	train, test := intentstest.Fixture(t, "../..")
	c := smallConfig()
	c.Members = []string{svm.Kind}
	c.Validation = test
	m, err := c.Fit(context.Background(), train, 1)
	if err != nil {
		t.Fatal(err)
	}
	members, w := m.Members()
	if len(members) != 1 || len(w) != 1 || w[0] != 1 {
		t.Fatalf("one member: got %d members, weights %v; want 1, [1]", len(members), w)
	}
	if th := m.Header().Threshold; th <= 0 {
		t.Errorf("validation data has oos examples, but the threshold is %v", th)
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	// DecodeModel dispatches on the header: an ensemble and a plain svm.
	for _, b := range [][]byte{buf.Bytes(), memberBytes(t, members[0])} {
		got, err := ensemble.DecodeModel(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("DecodeModel: %v", err)
		}
		docs := intents.Parse(test)
		for _, d := range docs {
			want := members[0].Probs(d)
			if got.Header().Kind == ensemble.Kind {
				want = m.Probs(d)
			}
			for j, p := range got.Probs(d) {
				if math.Abs(p-want[j]) > 1e-12 {
					t.Fatalf("%s: decoded probs differ", got.Header().Kind)
				}
			}
		}
	}
	if _, err := ensemble.DecodeModel(bytes.NewReader([]byte("nope"))); err == nil {
		t.Error("DecodeModel(garbage) succeeded")
	}
}

func memberBytes(t *testing.T, m intents.Model) []byte {
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestConfigErrors(t *testing.T) {
	train, _ := intentstest.Fixture(t, "../..")
	for name, mod := range map[string]func(*ensemble.Config){
		"no members": func(c *ensemble.Config) { c.Members = nil },
		"unknown":    func(c *ensemble.Config) { c.Members = []string{"bayes"} },
		"twice":      func(c *ensemble.Config) { c.Members = []string{"svm", "svm"} },
		"holdout":    func(c *ensemble.Config) { c.HoldOut = 1 },
		"step":       func(c *ensemble.Config) { c.WeightStep = 0 },
	} {
		c := smallConfig()
		mod(&c)
		if _, err := c.Fit(context.Background(), train, 1); err == nil {
			t.Errorf("%s: Fit succeeded, want an error", name)
		}
	}
}

func mustDoc(tb testing.TB, text string) nlp.Doc {
	tb.Helper()
	d, err := nlp.Parse(text)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}
