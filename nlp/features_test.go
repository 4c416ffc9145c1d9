package nlp_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"slices"
	"testing"

	"github.com/parley-chat/parley/nlp"
	"github.com/parley-chat/parley/nlp/binio"
)

// smallConfig keeps the hash space small so that encoded vectorizers are
// a few kilobytes and decoding thousands of truncations stays fast.
func smallConfig() nlp.FeatureConfig {
	c := nlp.DefaultFeatureConfig()
	c.HashBits = 10
	return c
}

func parseAll(tb testing.TB, texts []string) []nlp.Doc {
	tb.Helper()
	docs := make([]nlp.Doc, len(texts))
	for i, s := range texts {
		docs[i] = mustParse(tb, tokenizer, s, 0)
	}
	return docs
}

func mustFit(tb testing.TB, cfg nlp.FeatureConfig, docs []nlp.Doc) *nlp.Vectorizer {
	tb.Helper()
	v, err := nlp.FitVectorizer(cfg, docs)
	if err != nil {
		tb.Fatalf("FitVectorizer: %v", err)
	}
	return v
}

func equalFeatures(a, b nlp.Features) bool {
	return slices.Equal(a.Idx, b.Idx) && slices.Equal(a.Val, b.Val)
}

func TestVectorizerTransform(t *testing.T) {
	docs := parseAll(t, corpus)
	for _, cfg := range []nlp.FeatureConfig{nlp.DefaultFeatureConfig(), smallConfig()} {
		v := mustFit(t, cfg, docs)
		again := mustFit(t, cfg, docs)
		if v.Dim() != again.Dim() || v.Dim() == 0 {
			t.Fatalf("FitVectorizer twice: Dim %d and %d", v.Dim(), again.Dim())
		}
		if v.Config() != cfg {
			t.Errorf("Config() = %+v, want %+v", v.Config(), cfg)
		}
		for i, d := range docs {
			f := v.Transform(d)
			if len(f.Idx) == 0 || len(f.Idx) != len(f.Val) {
				t.Fatalf("Transform(%q): %d indices, %d values", corpus[i], len(f.Idx), len(f.Val))
			}
			if g := v.Transform(d); !equalFeatures(f, g) {
				t.Errorf("Transform(%q) twice differs", corpus[i])
			}
			if g := again.Transform(d); !equalFeatures(f, g) {
				t.Errorf("Transform(%q) differs between two fits on the same data", corpus[i])
			}
			var norm float64
			for k, x := range f.Val {
				norm += float64(x) * float64(x)
				if k > 0 && f.Idx[k] <= f.Idx[k-1] || f.Idx[k] < 0 || int(f.Idx[k]) >= v.Dim() {
					t.Fatalf("Transform(%q): index %d at %d not increasing or out of [0, %d)", corpus[i], f.Idx[k], k, v.Dim())
				}
			}
			if math.Abs(norm-1) > 1e-5 {
				t.Errorf("Transform(%q): squared L2 norm %v, want 1", corpus[i], norm)
			}
		}
	}
}

func TestVectorizerUnknown(t *testing.T) {
	v := mustFit(t, nlp.DefaultFeatureConfig(), parseAll(t, corpus[:5]))
	tests := []struct {
		name string
		doc  nlp.Doc
	}{
		{"NoTokens", nlp.Doc{Text: "x"}},
		{"Greek", mustParse(t, tokenizer, "Ωμέγα ψψψ", 0)},
		{"Emoji", mustParse(t, tokenizer, "\U0001F9A9\U0001F9A9", 0)},
	}
	for _, tt := range tests {
		if f := v.Transform(tt.doc); len(f.Idx) != 0 || len(f.Val) != 0 {
			t.Errorf("%s: Transform(%q) = %d features, want none", tt.name, tt.doc.Text, len(f.Idx))
		}
	}
}

func TestFitVectorizerErrors(t *testing.T) {
	docs := parseAll(t, corpus[:3])
	bad := nlp.DefaultFeatureConfig()
	bad.HashBits = 30
	noFeatures := nlp.DefaultFeatureConfig()
	noFeatures.WordMin, noFeatures.WordMax, noFeatures.CharMin, noFeatures.CharMax = 0, 0, 0, 0
	highDF := smallConfig()
	highDF.MinDF = 100
	tests := []struct {
		name string
		cfg  nlp.FeatureConfig
		docs []nlp.Doc
	}{
		{"NoDocs", nlp.DefaultFeatureConfig(), nil},
		{"HashBits", bad, docs},
		{"NoFeatures", noFeatures, docs},
		{"MinDF", highDF, docs},
	}
	for _, tt := range tests {
		if _, err := nlp.FitVectorizer(tt.cfg, tt.docs); err == nil {
			t.Errorf("%s: FitVectorizer(%+v, %d docs) = nil error, want one", tt.name, tt.cfg, len(tt.docs))
		}
	}
}

func TestVectorizerRoundTrip(t *testing.T) {
	docs := parseAll(t, corpus)
	for _, cfg := range []nlp.FeatureConfig{nlp.DefaultFeatureConfig(), smallConfig()} {
		v := mustFit(t, cfg, docs)
		var buf bytes.Buffer
		n, err := v.WriteTo(&buf)
		if err != nil || n != int64(buf.Len()) {
			t.Fatalf("WriteTo = %d, %v; wrote %d bytes", n, err, buf.Len())
		}
		r, err := nlp.ReadVectorizer(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("ReadVectorizer: %v", err)
		}
		if r.Dim() != v.Dim() || r.Config() != v.Config() {
			t.Errorf("after round trip Dim %d config %+v, want %d %+v", r.Dim(), r.Config(), v.Dim(), v.Config())
		}
		for i, d := range docs {
			if got, want := r.Transform(d), v.Transform(d); !equalFeatures(got, want) {
				t.Errorf("Transform(%q) after round trip = %v, want %v", corpus[i], got, want)
			}
		}
		var again bytes.Buffer
		if _, err := r.WriteTo(&again); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
			t.Errorf("re-encoding a decoded vectorizer changed the bytes (err %v)", err)
		}
	}
}

// encodeVectorizer writes a vectorizer stream by hand, for inputs
// WriteTo would never produce.
func encodeVectorizer(c nlp.FeatureConfig, buckets [2][]int32, idf []float32) []byte {
	var buf bytes.Buffer
	w := binio.NewWriter(&buf)
	for _, x := range []int{c.HashBits, c.WordMin, c.WordMax, c.CharMin, c.CharMax, c.MinDF} {
		w.Int(x)
	}
	w.U8(1)
	w.F64(c.CharWeight)
	w.I32s(buckets[0])
	w.I32s(buckets[1])
	w.F32s(idf)
	w.Flush()
	return buf.Bytes()
}

func TestReadVectorizerErrors(t *testing.T) {
	c := smallConfig()
	valid := encodeVectorizer(c, [2][]int32{{1, 5}, {2}}, []float32{1, 2, 3})
	if _, err := nlp.ReadVectorizer(bytes.NewReader(valid)); err != nil {
		t.Fatalf("ReadVectorizer(hand-made valid input): %v", err)
	}
	badCfg := c
	badCfg.HashBits = 40
	negWeight := c
	negWeight.CharWeight = -1
	tests := []struct {
		name string
		in   []byte
		is   error // nil: any error
	}{
		{"Empty", nil, io.ErrUnexpectedEOF},
		{"Garbage", []byte("this is not a vectorizer, just some text long enough to fill the header"), nil},
		{"BadConfig", encodeVectorizer(badCfg, [2][]int32{{1}, {2}}, []float32{1, 1}), nil},
		{"NegativeCharWeight", encodeVectorizer(negWeight, [2][]int32{{1}, {2}}, []float32{1, 1}), nil},
		{"OutOfOrder", encodeVectorizer(c, [2][]int32{{5, 1}, {2}}, []float32{1, 2, 3}), nil},
		{"Duplicate", encodeVectorizer(c, [2][]int32{{5, 5}, {2}}, []float32{1, 2, 3}), nil},
		{"OutOfRange", encodeVectorizer(c, [2][]int32{{1, 1 << 10}, {2}}, []float32{1, 2, 3}), nil},
		{"Negative", encodeVectorizer(c, [2][]int32{{-3, 1}, {2}}, []float32{1, 2, 3}), nil},
		{"TooManyBuckets", encodeVectorizer(c, [2][]int32{make([]int32, 1<<10+1), {2}}, []float32{1}), binio.ErrTooLarge},
		{"IDFCount", encodeVectorizer(c, [2][]int32{{1, 5}, {2}}, []float32{1, 2}), nil},
		{"NoColumns", encodeVectorizer(c, [2][]int32{nil, nil}, nil), nil},
		{"NaNIDF", encodeVectorizer(c, [2][]int32{{1, 5}, {2}}, []float32{1, float32(math.NaN()), 3}), nil},
		{"ZeroIDF", encodeVectorizer(c, [2][]int32{{1, 5}, {2}}, []float32{1, 0, 3}), nil},
		{"InfIDF", encodeVectorizer(c, [2][]int32{{1, 5}, {2}}, []float32{1, float32(math.Inf(1)), 3}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := nlp.ReadVectorizer(bytes.NewReader(tt.in))
			if err == nil || v != nil {
				t.Fatalf("ReadVectorizer(%d bytes) = %v, %v; want an error", len(tt.in), v, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("ReadVectorizer(%d bytes) error %v, want %v", len(tt.in), err, tt.is)
			}
		})
	}
}

func TestReadVectorizerTruncated(t *testing.T) {
	v := mustFit(t, smallConfig(), parseAll(t, corpus))
	var buf bytes.Buffer
	if _, err := v.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	for n := range len(full) {
		if _, err := nlp.ReadVectorizer(bytes.NewReader(full[:n])); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("ReadVectorizer(first %d of %d bytes): %v, want %v", n, len(full), err, io.ErrUnexpectedEOF)
		}
	}
}

func BenchmarkFeaturize(b *testing.B) {
	docs := parseAll(b, corpus)
	v := mustFit(b, nlp.DefaultFeatureConfig(), docs)
	b.ReportAllocs()
	b.SetBytes(corpusBytes())
	for b.Loop() {
		for _, d := range docs {
			v.Transform(d)
		}
	}
	reportPerMessage(b)
}

// Featurizing runs for every message on every connection.
func BenchmarkFeaturizeParallel(b *testing.B) {
	docs := parseAll(b, corpus)
	v := mustFit(b, nlp.DefaultFeatureConfig(), docs)
	b.ReportAllocs()
	b.SetBytes(corpusBytes() / int64(len(corpus)))
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			v.Transform(docs[i%len(docs)])
			i++
		}
	})
}
