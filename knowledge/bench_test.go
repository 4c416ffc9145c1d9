package knowledge_test

import (
	"testing"

	"github.com/parley-chat/parley/knowledge"
	"github.com/parley-chat/parley/nlp"
)

// benchQueries are the DEV questions, tokenized outside the timer (the
// bot tokenizes a message once for every stage).
func benchQueries(b *testing.B) []nlp.Doc {
	var docs []nlp.Doc
	for _, q := range knowledge.Split(MustQuestions(b), knowledge.SplitDev) {
		docs = append(docs, MustParse(b, q.Text))
	}
	return docs
}

// BenchmarkSearch measures one search over the built-in knowledge base,
// k = 5, per mode. Embedding and hybrid include embedding the query with
// the RNN; hybrid-vector is the search alone, for a caller that has the
// query's embedding already.
//
//	go test ./knowledge -run '^$' -bench Search -benchtime 2s
func BenchmarkSearch(b *testing.B) {
	kb := MustBuiltin(b)
	emb := MustEmbedder(b)
	ix := MustIndex(b, kb, emb, knowledge.DefaultIndexConfig())
	docs := benchQueries(b)
	vecs := make([][]float32, len(docs))
	for i, d := range docs {
		vecs[i] = emb.Embed(d)
	}
	for _, mode := range []knowledge.Mode{knowledge.BM25, knowledge.Embedding, knowledge.Hybrid} {
		b.Run(mode.String(), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				ix.Search(docs[i%len(docs)], 5, nil, mode)
				i++
			}
		})
	}
	b.Run("hybrid-vector", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			ix.SearchVector(docs[i%len(docs)], vecs[i%len(docs)], 5, nil, knowledge.Hybrid)
			i++
		}
	})
	b.Run("hybrid-vector-filtered", func(b *testing.B) {
		// The bot's case when an intent has several articles.
		filter := func(a knowledge.Article) bool {
			for _, in := range a.Intents {
				if in == "return_item" {
					return true
				}
			}
			return false
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			ix.SearchVector(docs[i%len(docs)], vecs[i%len(docs)], 5, filter, knowledge.Hybrid)
			i++
		}
	})
	b.Run("hybrid-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				ix.Search(docs[i%len(docs)], 5, nil, knowledge.Hybrid)
				i++
			}
		})
	})
}

// BenchmarkBuild measures loading the built-in articles and indexing
// them, with and without embedding every title and question.
func BenchmarkBuild(b *testing.B) {
	b.Run("load", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := knowledge.Load(knowledge.BuiltinFS(), knowledge.BuiltinDir); err != nil {
				b.Fatal(err)
			}
		}
	})
	kb := MustBuiltin(b)
	b.Run("index-bm25", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			MustIndex(b, kb, nil, knowledge.DefaultIndexConfig())
		}
	})
	emb := MustEmbedder(b)
	b.Run("index-hybrid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			MustIndex(b, kb, emb, knowledge.DefaultIndexConfig())
		}
	})
}
