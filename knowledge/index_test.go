package knowledge_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley/knowledge"
	"github.com/parley-chat/parley/nlp"
)

func mustNew(t *testing.T, as ...knowledge.Article) *knowledge.Base {
	t.Helper()
	b, err := knowledge.New(as...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ids(hits []knowledge.Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.Article.ID)
	}
	return out
}

const eps = 1e-9

// TestBM25HandComputed checks BM25 scores against the formula worked
// out by hand for three one-field articles.
func TestBM25HandComputed(t *testing.T) {
	b := mustNew(t,
		knowledge.Article{ID: "a", Title: "red shoes", Answer: "x"},
		knowledge.Article{ID: "b", Title: "red red hat", Answer: "x"},
		knowledge.Article{ID: "c", Title: "blue hat for winter", Answer: "x"},
	)
	cfg := knowledge.DefaultIndexConfig()
	cfg.Weights = knowledge.FieldWeights{Title: 1}
	cfg.Stem, cfg.StopWords = false, false
	ix := MustIndex(t, b, nil, cfg)

	// N = 3 articles; title lengths 2, 3, 4 terms, average 3.
	// idf(red) = idf(hat) = ln(1 + (3-2+0.5)/(2+0.5)) = ln 1.6.
	// Length norms 1-b+b*len/avg: a 0.75, b 1, c 1.25.
	// term score idf * tf*(k1+1)/(tf+k1), tf = count/norm, k1 = 1.2.
	sat := func(tf float64) float64 { return tf * 2.2 / (tf + 1.2) }
	idf := math.Log(1.6)
	want := map[string]float64{
		"a": idf * sat(1/0.75),               // red once
		"b": idf*sat(2/1.0) + idf*sat(1/1.0), // red twice, hat once
		"c": idf * sat(1/1.25),               // hat once
	}
	hits := ix.Search(MustParse(t, "red hat"), 10, nil, knowledge.BM25)
	if got := ids(hits); !slices.Equal(got, []string{"b", "a", "c"}) {
		t.Fatalf("Search(red hat) = %v, want [b a c]", got)
	}
	for _, h := range hits {
		if math.Abs(h.BM25-want[h.Article.ID]) > eps || h.Score != h.BM25 || h.Embedding != 0 {
			t.Errorf("%s: score %v, bm25 %v, embedding %v; want bm25 = score = %v, embedding 0", h.Article.ID, h.Score, h.BM25, h.Embedding, want[h.Article.ID])
		}
	}
	// A repeated query term counts once; a term in no article adds nothing.
	again := ix.Search(MustParse(t, "red red hat hat umbrella"), 10, nil, knowledge.BM25)
	for i := range hits {
		if again[i].BM25 != hits[i].BM25 {
			t.Errorf("repeated terms changed %s's score: %v, want %v", again[i].Article.ID, again[i].BM25, hits[i].BM25)
		}
	}
	// Only articles sharing a term are returned; idf(shoes) = ln(1+2.5/1.5).
	hits = ix.Search(MustParse(t, "shoes"), 10, nil, knowledge.BM25)
	if len(hits) != 1 || hits[0].Article.ID != "a" || math.Abs(hits[0].BM25-math.Log(1+2.5/1.5)*sat(1/0.75)) > eps {
		t.Errorf("Search(shoes) = %+v, want only a with ln(1+2.5/1.5)*sat(4/3)", hits)
	}
	if hits := ix.Search(MustParse(t, "umbrella"), 10, nil, knowledge.BM25); hits != nil {
		t.Errorf("Search(umbrella) = %v, want no hits", ids(hits))
	}
}

// TestBM25FieldWeights checks BM25F: a field weight multiplies the term
// frequency before saturation, and each field is length-normalized
// against its own average.
func TestBM25FieldWeights(t *testing.T) {
	b := mustNew(t,
		knowledge.Article{ID: "a", Title: "refund", Body: "other words here", Answer: "x"},
		knowledge.Article{ID: "b", Title: "other", Body: "refund words here", Answer: "x"},
		knowledge.Article{ID: "c", Title: "nothing", Body: "nothing at all", Answer: "x"},
	)
	cfg := knowledge.DefaultIndexConfig()
	cfg.Weights = knowledge.FieldWeights{Title: 3, Body: 1}
	cfg.B = 0 // no length normalization: tf is the weighted count
	cfg.Stem = false
	ix := MustIndex(t, b, nil, cfg)
	idf := math.Log(1 + (3-2+0.5)/(2+0.5)) // df 2: a field match counts once per article
	sat := func(tf float64) float64 { return tf * 2.2 / (tf + 1.2) }
	hits := ix.Search(MustParse(t, "refund"), 10, nil, knowledge.BM25)
	if got := ids(hits); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Search(refund) = %v, want [a b]", got)
	}
	if math.Abs(hits[0].BM25-idf*sat(3)) > eps || math.Abs(hits[1].BM25-idf*sat(1)) > eps {
		t.Errorf("scores %v %v, want %v %v", hits[0].BM25, hits[1].BM25, idf*sat(3), idf*sat(1))
	}
}

// fakeEmbedder embeds by topic words: one dimension per topic, so
// "boots" and "shoes" are close though they share no term.
type fakeEmbedder struct{ dims int }

var topics = [][]string{{"shoes", "boots", "trainers"}, {"hat", "cap", "beanie"}, {"refund", "money"}}

func (f fakeEmbedder) Embed(d nlp.Doc) []float32 {
	v := make([]float32, f.dims)
	v[len(v)-1] = 0.1 // never the zero vector
	for _, tok := range d.Tokens {
		for i, words := range topics {
			if slices.Contains(words, strings.ToLower(tok.Text)) {
				v[i]++
			}
		}
	}
	return v
}

func topicBase(t *testing.T) *knowledge.Base {
	return mustNew(t,
		knowledge.Article{ID: "shoes", Title: "shoes", Questions: []string{"trainers"}, Intents: []string{"product_info"}, Answer: "x"},
		knowledge.Article{ID: "hats", Title: "hat", Questions: []string{"cap sizes"}, Intents: []string{"product_info"}, Answer: "x"},
		knowledge.Article{ID: "refunds", Title: "refund", Questions: []string{"money back"}, Intents: []string{"refund_status"}, Answer: "x"},
	)
}

func TestEmbeddingAndHybrid(t *testing.T) {
	b := topicBase(t)
	emb := fakeEmbedder{dims: 4}
	cfg := knowledge.DefaultIndexConfig()
	ix := MustIndex(t, b, emb, cfg)
	q := MustParse(t, "boots")

	if hits := ix.Search(q, 3, nil, knowledge.BM25); hits != nil {
		t.Errorf("BM25(boots) = %v, want none: no article has the word", ids(hits))
	}
	hits := ix.Search(q, 3, nil, knowledge.Embedding)
	if len(hits) != 3 || hits[0].Article.ID != "shoes" || hits[0].Score < 0.99 {
		t.Fatalf("Embedding(boots) = %+v, want shoes first with cosine ~1", hits)
	}
	for _, h := range hits {
		if h.Score != h.Embedding {
			t.Errorf("%s: score %v != embedding %v", h.Article.ID, h.Score, h.Embedding)
		}
	}

	// Hybrid with score fusion: w*minmax(bm25) + (1-w)*minmax(cos).
	q = MustParse(t, "refund for my boots")
	hits = ix.Search(q, 3, nil, knowledge.Hybrid)
	if len(hits) != 3 {
		t.Fatalf("Hybrid returned %d hits, want 3", len(hits))
	}
	lo, hi := [2]float64{math.Inf(1), math.Inf(1)}, [2]float64{math.Inf(-1), math.Inf(-1)}
	for _, h := range hits {
		lo[0], hi[0] = min(lo[0], h.BM25), max(hi[0], h.BM25)
		lo[1], hi[1] = min(lo[1], h.Embedding), max(hi[1], h.Embedding)
	}
	w := cfg.HybridWeight
	for _, h := range hits {
		want := w*(h.BM25-lo[0])/(hi[0]-lo[0]) + (1-w)*(h.Embedding-lo[1])/(hi[1]-lo[1])
		if math.Abs(h.Score-want) > eps {
			t.Errorf("hybrid %s: score %v, want %v from bm25 %v and cosine %v", h.Article.ID, h.Score, want, h.BM25, h.Embedding)
		}
	}
	if !slices.IsSortedFunc(hits, func(a, b knowledge.Hit) int { return -cmpFloat(a.Score, b.Score) }) {
		t.Errorf("hybrid hits not sorted by score: %+v", hits)
	}

	// Rank fusion: w/(k+rank_bm25) + (1-w)/(k+rank_cos); articles with
	// no BM25 match get no BM25 term.
	cfg.Fusion, cfg.RRFK = knowledge.FuseRanks, 1
	ixr := MustIndex(t, b, emb, cfg)
	hits = ixr.Search(MustParse(t, "refund boots"), 3, nil, knowledge.Hybrid)
	// bm25 ranks: refunds 1 (only match); cosine: shoes and refunds tie
	// (one topic word each), broken by ID: refunds 1, shoes 2; hats 3.
	want := map[string]float64{
		"refunds": w/(1+1) + (1-w)/(1+1),
		"shoes":   (1 - w) / (1 + 2),
		"hats":    (1 - w) / (1 + 3),
	}
	if got := ids(hits); !slices.Equal(got, []string{"refunds", "shoes", "hats"}) {
		t.Fatalf("rank fusion order %v, want [refunds shoes hats]", got)
	}
	for _, h := range hits {
		if math.Abs(h.Score-want[h.Article.ID]) > eps {
			t.Errorf("rank fusion %s: %v, want %v", h.Article.ID, h.Score, want[h.Article.ID])
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestPooling(t *testing.T) {
	b := topicBase(t)
	q := MustParse(t, "cap")
	for _, p := range []knowledge.Pooling{knowledge.PoolMax, knowledge.PoolMean} {
		cfg := knowledge.DefaultIndexConfig()
		cfg.Pooling = p
		hits := MustIndex(t, b, fakeEmbedder{dims: 4}, cfg).Search(q, 1, nil, knowledge.Embedding)
		if len(hits) != 1 || hits[0].Article.ID != "hats" {
			t.Errorf("pooling %d: Embedding(cap) = %v, want [hats]", p, ids(hits))
		}
	}
	cfg := knowledge.DefaultIndexConfig()
	cfg.Center = true
	if hits := MustIndex(t, b, fakeEmbedder{dims: 4}, cfg).Search(q, 1, nil, knowledge.Embedding); len(hits) != 1 || hits[0].Article.ID != "hats" {
		t.Errorf("centered: Embedding(cap) = %v, want [hats]", ids(hits))
	}
}

func TestSearchFilterAndEdges(t *testing.T) {
	b := topicBase(t)
	ix := MustIndex(t, b, fakeEmbedder{dims: 4}, knowledge.IndexConfig{})
	if ix.Config() != knowledge.DefaultIndexConfig() {
		t.Errorf("zero IndexConfig gave %+v, want the defaults", ix.Config())
	}
	q := MustParse(t, "refund hat shoes")
	productInfo := func(a knowledge.Article) bool { return slices.Contains(a.Intents, "product_info") }
	for _, mode := range []knowledge.Mode{knowledge.BM25, knowledge.Embedding, knowledge.Hybrid} {
		hits := ix.Search(q, 10, productInfo, mode)
		if got := ids(hits); len(got) != 2 || slices.Contains(got, "refunds") {
			t.Errorf("%v with a product_info filter = %v, want hats and shoes only", mode, got)
		}
		if hits := ix.Search(q, 1, nil, mode); len(hits) != 1 {
			t.Errorf("%v with k=1 returned %d hits", mode, len(hits))
		}
		if hits := ix.Search(q, 0, nil, mode); hits != nil {
			t.Errorf("%v with k=0 = %v, want nil", mode, ids(hits))
		}
		if hits := ix.Search(q, 5, func(knowledge.Article) bool { return false }, mode); hits != nil {
			t.Errorf("%v with a filter rejecting all = %v, want nil", mode, ids(hits))
		}
	}
	// Filtering keeps the scores: filtered hits are the unfiltered ones
	// the filter accepts, in the same order.
	for _, mode := range []knowledge.Mode{knowledge.BM25, knowledge.Embedding, knowledge.Hybrid} {
		var want []knowledge.Hit
		for _, h := range ix.Search(q, 10, nil, mode) {
			if productInfo(h.Article) {
				want = append(want, h)
			}
		}
		if got := ix.Search(q, 10, productInfo, mode); !slices.EqualFunc(got, want, hitEqual) {
			t.Errorf("%v filtered = %+v, want the unfiltered hits it accepts %+v", mode, got, want)
		}
	}
	if hits := ix.Search(q, 5, nil, knowledge.Mode(99)); hits != nil {
		t.Errorf("unknown mode = %v, want nil", ids(hits))
	}
	if hits := ix.Search(nlp.Doc{}, 5, nil, knowledge.BM25); hits != nil {
		t.Errorf("empty query = %v, want nil", ids(hits))
	}
	var nilIx *knowledge.Index
	if hits := nilIx.Search(q, 5, nil, knowledge.BM25); hits != nil {
		t.Errorf("nil index returned hits")
	}

	// Without an embedder: Embedding finds nothing, Hybrid is BM25.
	lex := MustIndex(t, b, nil, knowledge.DefaultIndexConfig())
	if hits := lex.Search(q, 5, nil, knowledge.Embedding); hits != nil {
		t.Errorf("Embedding without embedder = %v, want nil", ids(hits))
	}
	want := lex.Search(q, 5, nil, knowledge.BM25)
	if got := lex.Search(q, 5, nil, knowledge.Hybrid); !slices.EqualFunc(got, want, hitEqual) {
		t.Errorf("Hybrid without embedder = %+v, want the BM25 hits %+v", got, want)
	}
	// A query vector of the wrong length counts as none.
	if got := ix.SearchVector(q, []float32{1, 2}, 5, nil, knowledge.Hybrid); !slices.EqualFunc(got, want, hitEqual) {
		t.Errorf("SearchVector with a 2-value vector = %+v, want the BM25 hits", got)
	}
	// SearchVector with the embedder's own vector is Search.
	qv := fakeEmbedder{dims: 4}.Embed(q)
	if a, b := ix.SearchVector(q, qv, 5, nil, knowledge.Hybrid), ix.Search(q, 5, nil, knowledge.Hybrid); !slices.EqualFunc(a, b, hitEqual) {
		t.Errorf("SearchVector = %+v, Search = %+v", a, b)
	}
	// Hits are copies.
	hits := ix.Search(q, 1, nil, knowledge.BM25)
	hits[0].Article.Intents[0] = "changed"
	if a, _ := b.Article(hits[0].Article.ID); a.Intents[0] == "changed" {
		t.Error("modifying a hit changed the base")
	}
}

func hitEqual(a, b knowledge.Hit) bool {
	return a.Article.ID == b.Article.ID && a.Score == b.Score && a.BM25 == b.BM25 && a.Embedding == b.Embedding
}

func TestSearchDeterministic(t *testing.T) {
	// Identical articles tie on every score; the smaller ID wins.
	same := func(id string) knowledge.Article {
		return knowledge.Article{ID: id, Title: "gift card balance", Answer: "x"}
	}
	b := mustNew(t, same("c"), same("a"), same("b"))
	ix := MustIndex(t, b, fakeEmbedder{dims: 4}, knowledge.DefaultIndexConfig())
	q := MustParse(t, "gift card")
	for _, mode := range []knowledge.Mode{knowledge.BM25, knowledge.Embedding, knowledge.Hybrid} {
		first := ix.Search(q, 3, nil, mode)
		if got := ids(first); !slices.Equal(got, []string{"a", "b", "c"}) {
			t.Errorf("%v: ties ordered %v, want [a b c]", mode, got)
		}
		for range 20 {
			if again := ix.Search(q, 3, nil, mode); !slices.EqualFunc(again, first, hitEqual) {
				t.Fatalf("%v: results changed between runs: %+v then %+v", mode, first, again)
			}
		}
	}
	// Two indexes of the same base score alike, bit for bit.
	bb := MustBuiltin(t)
	ix1 := MustIndex(t, bb, nil, knowledge.DefaultIndexConfig())
	ix2 := MustIndex(t, bb, nil, knowledge.DefaultIndexConfig())
	q = MustParse(t, "can I send the jacket back for a refund")
	if a, b := ix1.Search(q, 10, nil, knowledge.BM25), ix2.Search(q, 10, nil, knowledge.BM25); !slices.EqualFunc(a, b, hitEqual) {
		t.Errorf("two indexes of the built-in base disagree:\n%+v\n%+v", a, b)
	}
}

// badEmbedder returns the same vector for every text.
type badEmbedder struct{ vec []float32 }

func (b *badEmbedder) Embed(nlp.Doc) []float32 { return b.vec }

type countingEmbedder struct{ n int }

func (c *countingEmbedder) Embed(nlp.Doc) []float32 {
	c.n++
	if c.n == 2 {
		return []float32{1, 2} // the first vector had 3 values
	}
	return []float32{1, 2, 3}
}

func TestNewIndexErrors(t *testing.T) {
	b := topicBase(t)
	if _, err := knowledge.NewIndex(nil, nil, knowledge.IndexConfig{}); err == nil {
		t.Error("NewIndex(nil base): no error")
	}
	if _, err := knowledge.NewIndex(b, &countingEmbedder{}, knowledge.IndexConfig{}); err == nil || !strings.Contains(err.Error(), "earlier vectors had 3") {
		t.Errorf("NewIndex with inconsistent vector lengths = %v", err)
	}
	for name, v := range map[string][]float32{
		"empty":  nil,
		"nan":    {1, float32(math.NaN())},
		"inf":    {float32(math.Inf(1)), 0},
		"zeroes": {0, 0}, // allowed: the text has no embedding
	} {
		e := &badEmbedder{vec: v}
		_, err := knowledge.NewIndex(b, e, knowledge.IndexConfig{})
		if (err == nil) != (name == "zeroes") {
			t.Errorf("NewIndex with %s vectors: err = %v", name, err)
		}
	}
	bad := []func(*knowledge.IndexConfig){
		func(c *knowledge.IndexConfig) { c.K1 = -1 },
		func(c *knowledge.IndexConfig) { c.B = 1.5 },
		func(c *knowledge.IndexConfig) { c.B = math.NaN() },
		func(c *knowledge.IndexConfig) { c.Weights = knowledge.FieldWeights{} },
		func(c *knowledge.IndexConfig) { c.Weights.Body = -1 },
		func(c *knowledge.IndexConfig) { c.Pooling = 0 },
		func(c *knowledge.IndexConfig) { c.Fusion = 7 },
		func(c *knowledge.IndexConfig) { c.HybridWeight = 2 },
		func(c *knowledge.IndexConfig) { c.RRFK = 0 },
	}
	for i, f := range bad {
		cfg := knowledge.DefaultIndexConfig()
		f(&cfg)
		if _, err := knowledge.NewIndex(b, nil, cfg); err == nil {
			t.Errorf("bad config %d (%+v): no error", i, cfg)
		}
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []knowledge.Mode{knowledge.BM25, knowledge.Embedding, knowledge.Hybrid} {
		if got, err := knowledge.ParseMode(strings.ToUpper(m.String())); err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := knowledge.ParseMode("dense"); err == nil {
		t.Error("ParseMode(dense): no error")
	}
}

// TestConcurrentSearch runs searches from several goroutines on one
// index with the real RNN embedder; run with -race.
func TestConcurrentSearch(t *testing.T) {
	b := MustBuiltin(t)
	ix := MustIndex(t, b, MustEmbedder(t), knowledge.DefaultIndexConfig())
	qs := knowledge.Split(MustQuestions(t), knowledge.SplitDev)[:8]
	want := make([][]knowledge.Hit, len(qs))
	for i, q := range qs {
		want[i] = ix.Search(MustParse(t, q.Text), 5, nil, knowledge.Hybrid)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4*len(qs))
	for range 4 {
		wg.Go(func() {
			for i, q := range qs {
				d, err := nlp.Parse(q.Text)
				if err != nil {
					errs <- err.Error()
					return
				}
				if got := ix.Search(d, 5, nil, knowledge.Hybrid); !slices.EqualFunc(got, want[i], hitEqual) {
					errs <- fmt.Sprintf("%q: concurrent search gave %v, want %v", q.Text, ids(got), ids(want[i]))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
