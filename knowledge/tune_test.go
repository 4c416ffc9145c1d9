package knowledge_test

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/parley-chat/parley/knowledge"
)

var tune = flag.Bool("tune", false, "run TestTuneOnDev: sweep index parameters on the DEV questions")

// TestTuneOnDev is how DefaultIndexConfig was chosen: it sweeps the
// lexical settings (field weights, stop words, stemming), the embedding
// pooling, and the fusion and its weight, measuring only the DEV part
// of the question set. The TEST part is never looked at here.
//
//	go test ./knowledge -run TestTuneOnDev -tune -v
func TestTuneOnDev(t *testing.T) {
	if !*tune {
		t.Skip("parameter sweep; run with -tune")
	}
	b := MustBuiltin(t)
	dev := knowledge.Split(MustQuestions(t), knowledge.SplitDev)
	emb := MustEmbedder(t)
	def := knowledge.DefaultIndexConfig()

	row := func(name string, cfg knowledge.IndexConfig, e knowledge.Embedder, mode knowledge.Mode) {
		ix := MustIndex(t, b, e, cfg)
		m := knowledge.Evaluate(ix, dev, mode)
		fmt.Fprintf(os.Stdout, "%-52s %-9s R@1 %5.1f%%  R@5 %5.1f%%  MRR %.3f\n", name, mode, 100*m.RecallAt1, 100*m.RecallAt5, m.MRR)
	}
	fmt.Println("== BM25: fields, stop words, stemming, k1, b")
	for _, w := range []knowledge.FieldWeights{
		{Title: 1, Tags: 1, Questions: 1, Answer: 1, Body: 1},
		{Title: 2, Tags: 1, Questions: 2, Answer: 1, Body: 0.5},
		{Title: 3, Tags: 1, Questions: 3, Answer: 1, Body: 0.5},
		{Title: 2, Tags: 2, Questions: 2, Answer: 1, Body: 0.5},
		{Title: 2, Tags: 1, Questions: 2, Answer: 1, Body: 0.25},
		{Title: 2, Tags: 1, Questions: 2, Answer: 1, Body: 1},
		{Title: 2, Tags: 1, Questions: 2, Answer: 0.5, Body: 0.5},
		{Title: 2, Tags: 1, Questions: 1, Answer: 1, Body: 0.5},
		{Title: 1, Tags: 0, Questions: 0, Answer: 0, Body: 1},
	} {
		cfg := def
		cfg.Weights = w
		row(fmt.Sprintf("weights %v", w), cfg, nil, knowledge.BM25)
	}
	for _, sw := range []bool{false, true} {
		for _, st := range []bool{false, true} {
			cfg := def
			cfg.StopWords, cfg.Stem = sw, st
			row(fmt.Sprintf("stopwords=%v stem=%v", sw, st), cfg, nil, knowledge.BM25)
		}
	}
	for _, k1 := range []float64{0.6, 0.9, 1.2, 1.6, 2.0} {
		for _, bb := range []float64{0.3, 0.5, 0.75, 0.9} {
			cfg := def
			cfg.K1, cfg.B = k1, bb
			row(fmt.Sprintf("k1=%.1f b=%.2f", k1, bb), cfg, nil, knowledge.BM25)
		}
	}
	fmt.Println("== Embedding: pooling and texts")
	for _, p := range []knowledge.Pooling{knowledge.PoolMax, knowledge.PoolMean} {
		for _, ea := range []bool{false, true} {
			for _, c := range []bool{false, true} {
				cfg := def
				cfg.Pooling, cfg.EmbedAnswer, cfg.Center = p, ea, c
				row(fmt.Sprintf("pooling=%d answer=%v center=%v", p, ea, c), cfg, emb, knowledge.Embedding)
			}
		}
	}
	fmt.Println("== Hybrid: fusion and weight")
	for _, f := range []knowledge.Fusion{knowledge.FuseScores, knowledge.FuseRanks} {
		for _, a := range []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8} {
			cfg := def
			cfg.Fusion, cfg.HybridWeight = f, a
			row(fmt.Sprintf("fusion=%d weight=%.1f", f, a), cfg, emb, knowledge.Hybrid)
		}
	}
	fmt.Println("== Hybrid: joint sweep")
	for _, st := range []bool{false, true} {
		for _, c := range []bool{false, true} {
			for _, w := range []knowledge.FieldWeights{
				{Title: 2, Tags: 1, Questions: 2, Answer: 1, Body: 0.5},
				{Title: 2, Tags: 2, Questions: 2, Answer: 1, Body: 0.5},
				{Title: 2, Tags: 1, Questions: 2, Answer: 1, Body: 0.25},
			} {
				for _, a := range []float64{0.3, 0.4, 0.5, 0.6} {
					cfg := def
					cfg.Stem, cfg.Center, cfg.Weights, cfg.HybridWeight = st, c, w, a
					row(fmt.Sprintf("stem=%v center=%v %v w=%.1f", st, c, w, a), cfg, emb, knowledge.Hybrid)
				}
			}
		}
	}
	for _, k := range []float64{5, 10, 20, 60} {
		cfg := def
		cfg.Fusion, cfg.RRFK, cfg.HybridWeight = knowledge.FuseRanks, k, 0.5
		row(fmt.Sprintf("rrf k=%v weight=0.5", k), cfg, emb, knowledge.Hybrid)
	}
}
