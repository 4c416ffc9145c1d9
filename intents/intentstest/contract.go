// Package intentstest is the contract test suite every model family
// passes: fit, predict, write, decode, identical predictions after
// decode, determinism, concurrency and hostile model files.
package intentstest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/nlp"
)

// Family describes a model family under test.
type Family struct {
	// Kind is the artifact kind the family writes.
	Kind string
	// Fit trains a model.
	Fit func(ctx context.Context, d intents.Dataset, seed uint64) (intents.Model, error)
	// Decode reads what the model's WriteTo wrote.
	Decode func(r io.Reader) (intents.Model, error)
	// MinAccuracy is the in-scope test accuracy the family must reach on
	// the tiny fixture; set it from a measured value, not a guess.
	MinAccuracy float64
}

// Fixture loads the shared tiny train and test sets from the repository's
// testdata directory; root is the path from the calling package to the
// repository root.
func Fixture(tb testing.TB, root string) (train, test intents.Dataset) {
	tb.Helper()
	var err error
	if train, err = intents.LoadFile(filepath.Join(root, "testdata/intents/tiny_train.csv")); err != nil {
		tb.Fatal(err)
	}
	if test, err = intents.LoadFile(filepath.Join(root, "testdata/intents/tiny_test.csv")); err != nil {
		tb.Fatal(err)
	}
	return train, test
}

// Run runs the contract suite on f with the fixture at root.
func Run(t *testing.T, f Family, root string) {
	train, test := Fixture(t, root)
	ctx := context.Background()
	const seed = 7
	m, err := f.Fit(ctx, train, seed)
	if err != nil {
		t.Fatalf("Fit: %v", err)
	}
	inScope := test.Filter(func(e intents.Example) bool { return e.Label != intents.OOS })
	docs := intents.Parse(inScope)

	t.Run("Header", func(t *testing.T) {
		h := m.Header()
		if h.Kind != f.Kind {
			t.Errorf("Kind = %q, want %q", h.Kind, f.Kind)
		}
		if got, want := h.Labels, train.Labels(); !equal(got, want) {
			t.Errorf("Labels = %v, want %v", got, want)
		}
		if h.DataHash != train.Hash() || h.Seed != seed || h.Examples != len(train.Examples) {
			t.Errorf("header data hash/seed/examples = %s/%d/%d, want %s/%d/%d", h.DataHash, h.Seed, h.Examples, train.Hash(), seed, len(train.Examples))
		}
	})

	t.Run("Probs", func(t *testing.T) {
		for i, d := range append(docs, nlp.Doc{}) {
			p := m.Probs(d)
			if len(p) != len(m.Header().Labels) {
				t.Fatalf("doc %d: %d probs, want %d", i, len(p), len(m.Header().Labels))
			}
			var sum float64
			for _, x := range p {
				if !(x >= 0 && x <= 1) {
					t.Fatalf("doc %d: prob %v not in [0,1]", i, x)
				}
				sum += x
			}
			if math.Abs(sum-1) > 1e-6 {
				t.Errorf("doc %d: probs sum to %v", i, sum)
			}
		}
	})

	t.Run("Accuracy", func(t *testing.T) {
		preds := make([]intents.Prediction, len(docs))
		gold := make([]string, len(docs))
		for i, d := range docs {
			preds[i] = m.Predict(d)
			gold[i] = inScope.Examples[i].Label
			p := preds[i]
			if p.Confidence < 0 || p.Confidence > 1 || len(p.Alternatives) > intents.DefaultTopK {
				t.Errorf("%q: prediction %+v malformed", inScope.Examples[i].Text, p)
			}
		}
		// Accuracy of the top label; the out-of-scope flag is judged elsewhere.
		var right int
		for i, p := range preds {
			if p.Label == gold[i] {
				right++
			}
		}
		acc := float64(right) / float64(len(docs))
		t.Logf("accuracy on the tiny test set: %.3f", acc)
		if acc < f.MinAccuracy {
			t.Errorf("accuracy on the tiny test set = %.3f, want >= %.3f", acc, f.MinAccuracy)
		}
	})

	var artifact bytes.Buffer
	t.Run("WriteDecode", func(t *testing.T) {
		n, err := m.WriteTo(&artifact)
		if err != nil {
			t.Fatalf("WriteTo: %v", err)
		}
		if n != int64(artifact.Len()) {
			t.Errorf("WriteTo returned %d, wrote %d bytes", n, artifact.Len())
		}
		d, err := f.Decode(bytes.NewReader(artifact.Bytes()))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		for i, doc := range docs {
			if a, b := m.Probs(doc), d.Probs(doc); !equalF(a, b) {
				t.Fatalf("%q: probs after decode %v, before %v", inScope.Examples[i].Text, b, a)
			}
		}
		if a, b := m.Header(), d.Header(); a.Threshold != b.Threshold || !equal(a.Labels, b.Labels) || a.DataHash != b.DataHash {
			t.Errorf("header after decode %+v, before %+v", b, a)
		}
		var again bytes.Buffer
		if _, err := d.WriteTo(&again); err != nil {
			t.Fatalf("WriteTo after decode: %v", err)
		}
		if !bytes.Equal(again.Bytes(), artifact.Bytes()) {
			t.Errorf("re-encoding a decoded model changed the bytes")
		}
	})

	t.Run("Deterministic", func(t *testing.T) {
		m2, err := f.Fit(ctx, train, seed)
		if err != nil {
			t.Fatalf("Fit: %v", err)
		}
		for i, doc := range docs {
			if a, b := m.Probs(doc), m2.Probs(doc); !equalF(a, b) {
				t.Fatalf("%q: second fit with the same seed gives %v, first %v", inScope.Examples[i].Text, b, a)
			}
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		want := make([]intents.Prediction, len(docs))
		for i, d := range docs {
			want[i] = m.Predict(d)
		}
		var wg sync.WaitGroup
		errs := make(chan string, len(docs)*4)
		for range max(4, runtime.GOMAXPROCS(0)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i, d := range docs {
					if got := m.Predict(d); got.Label != want[i].Label || got.Confidence != want[i].Confidence {
						errs <- inScope.Examples[i].Text
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Errorf("%q: concurrent prediction differs", e)
		}
	})

	t.Run("BadFiles", func(t *testing.T) {
		if artifact.Len() == 0 {
			t.Skip("no artifact")
		}
		good := artifact.Bytes()
		cases := map[string][]byte{
			"empty":     nil,
			"garbage":   []byte("this is not a model file at all, not even close"),
			"truncated": good[:len(good)/2],
			"no-crc":    good[:len(good)-4],
			"flipped":   flip(good, len(good)/3),
			"version":   withVersion(good, 99),
			"wrongkind": retag(good),
		}
		for i := 1; i < 40 && i < len(good); i += 3 {
			cases["prefix"+itoa(i)] = good[:i]
		}
		for name, b := range cases {
			t.Run(name, func(t *testing.T) {
				_, err := f.Decode(bytes.NewReader(b))
				if err == nil {
					t.Fatalf("Decode(%s) succeeded, want an error", name)
				}
				if name == "version" && !errors.Is(err, intents.ErrVersion) {
					t.Errorf("Decode(version 99) = %v, want ErrVersion", err)
				}
			})
		}
	})

	t.Run("OutOfScopeClass", func(t *testing.T) {
		// Out-of-scope training examples make a class that predictions
		// never name; it lowers the in-scope confidence of messages like
		// them (the threshold, chosen on validation data, flags them).
		oosTrain, err := intents.LoadFile(filepath.Join(root, "testdata/intents/tiny_oos.csv"))
		if err != nil {
			t.Fatal(err)
		}
		mo, err := f.Fit(ctx, train.Concat(oosTrain), seed)
		if err != nil {
			t.Fatalf("Fit with out-of-scope examples: %v", err)
		}
		labels := mo.Header().Labels
		oos := slices.Index(labels, intents.OOS)
		if oos < 0 {
			t.Fatalf("labels %v lack %q", labels, intents.OOS)
		}
		var won, oosN int
		for _, e := range test.Examples {
			d, err := nlp.Parse(e.Text)
			if err != nil {
				t.Fatal(err)
			}
			p := mo.Predict(d)
			if p.Label == intents.OOS || slices.ContainsFunc(p.Alternatives, func(s intents.Scored) bool { return s.Label == intents.OOS }) {
				t.Errorf("%q: prediction %+v names %q", e.Text, p, intents.OOS)
			}
			if e.Label == intents.OOS {
				oosN++
				if top := intents.TopK(mo.Probs(d), 1); len(top) == 1 && top[0] == oos {
					won++
				}
			}
		}
		t.Logf("out-of-scope test messages most probably oos: %d of %d", won, oosN)
		if won == 0 {
			t.Errorf("no out-of-scope test message has oos as its most probable label")
		}
	})

	t.Run("BadTrainingData", func(t *testing.T) {
		one := train.Filter(func(e intents.Example) bool { return e.Label == train.Examples[0].Label })
		if _, err := f.Fit(ctx, one, seed); err == nil {
			t.Errorf("Fit with one label succeeded, want an error")
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := f.Fit(cctx, train, seed); err == nil {
			t.Errorf("Fit with a cancelled context succeeded, want an error")
		}
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalF(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x40
	return c
}

func withVersion(b []byte, v uint16) []byte {
	c := bytes.Clone(b)
	binary.LittleEndian.PutUint16(c[8:], v)
	return c
}

// retag rewrites the header's kind and fixes the checksum, so only the
// kind check can catch it.
func retag(b []byte) []byte {
	c := bytes.Replace(bytes.Clone(b), []byte(`"kind":"`), []byte(`"kind":"X`), 1)
	binary.LittleEndian.PutUint32(c[10:], binary.LittleEndian.Uint32(c[10:])+1)
	binary.LittleEndian.PutUint32(c[len(c)-4:], crc32.ChecksumIEEE(c[:len(c)-4]))
	return c
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}
