package knowledge_test

import (
	"sync"
	"testing"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/builtin"
	"github.com/parley-chat/parley/intents/ensemble"
	"github.com/parley-chat/parley/intents/rnn"
	"github.com/parley-chat/parley/knowledge"
	"github.com/parley-chat/parley/nlp"
)

// rnnEmbedder returns the RNN member of Parley's built-in intent model
// (an ensemble; a bare RNN artifact is accepted too): its pooled GRU
// states are the sentence embedding retrieval uses. It was trained on
// the built-in intent data only, never on the question set. Decoding
// takes about half a second, so it is done once.
var rnnEmbedder = sync.OnceValues(func() (*rnn.Model, error) {
	f, err := builtin.Models().Open(builtin.IntentModel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := ensemble.DecodeModel(f)
	if err != nil {
		return nil, err
	}
	members := []intents.Model{m}
	if e, ok := m.(*ensemble.Model); ok {
		members, _ = e.Members()
	}
	for _, mem := range members {
		if r, ok := mem.(*rnn.Model); ok && mem.Header().Kind == rnn.Kind {
			return r, nil
		}
	}
	return nil, errNoRNN
})

type constError string

func (e constError) Error() string { return string(e) }

const errNoRNN = constError("built-in intent model has no rnn member")

// MustEmbedder returns the RNN embedder or fails the test.
func MustEmbedder(tb testing.TB) knowledge.Embedder {
	tb.Helper()
	r, err := rnnEmbedder()
	if err != nil {
		tb.Fatalf("decode built-in intent model: %v", err)
	}
	return r
}

// MustBuiltin returns the built-in base or fails the test.
func MustBuiltin(tb testing.TB) *knowledge.Base {
	tb.Helper()
	b, err := knowledge.Builtin()
	if err != nil {
		tb.Fatalf("Builtin: %v", err)
	}
	return b
}

// MustIndex indexes b or fails the test.
func MustIndex(tb testing.TB, b *knowledge.Base, emb knowledge.Embedder, cfg knowledge.IndexConfig) *knowledge.Index {
	tb.Helper()
	ix, err := knowledge.NewIndex(b, emb, cfg)
	if err != nil {
		tb.Fatalf("NewIndex: %v", err)
	}
	return ix
}

// MustParse tokenizes text or fails the test.
func MustParse(tb testing.TB, text string) nlp.Doc {
	tb.Helper()
	d, err := nlp.Parse(text)
	if err != nil {
		tb.Fatalf("nlp.Parse(%q): %v", text, err)
	}
	return d
}

// MustQuestions returns the built-in question set or fails the test.
func MustQuestions(tb testing.TB) []knowledge.Question {
	tb.Helper()
	qs, err := knowledge.BuiltinQuestions()
	if err != nil {
		tb.Fatalf("BuiltinQuestions: %v", err)
	}
	return qs
}
