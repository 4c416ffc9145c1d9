package bot

import (
	"github.com/parley-chat/parley/knowledge"
	"github.com/parley-chat/parley/nlp"
)

// KB is the engine's Knowledge on a knowledge base: articles by intent,
// and hybrid search (BM25 plus embedding similarity; BM25 alone without
// an embedder).
type KB struct {
	base  *knowledge.Base
	index *knowledge.Index
	mode  knowledge.Mode
}

var _ Knowledge = (*KB)(nil)

// NewKnowledge indexes b; emb may be nil.
func NewKnowledge(b *knowledge.Base, emb knowledge.Embedder) (*KB, error) {
	ix, err := knowledge.NewIndex(b, emb, knowledge.DefaultIndexConfig())
	if err != nil {
		return nil, err
	}
	mode := knowledge.Hybrid
	if emb == nil {
		mode = knowledge.BM25
	}
	return &KB{base: b, index: ix, mode: mode}, nil
}

// ForIntent implements Knowledge.
func (k *KB) ForIntent(intent string) []knowledge.Article { return k.base.ForIntent(intent) }

// Search implements Knowledge.
func (k *KB) Search(q nlp.Doc, n int, keep func(knowledge.Article) bool) []knowledge.Hit {
	return k.index.Search(q, n, keep, k.mode)
}
