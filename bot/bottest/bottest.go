// Package bottest gives tests the bot's real parts, loaded once per test
// binary: the built-in intent and sentiment models and the built-in
// knowledge base with the intent model's embeddings.
package bottest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/builtin"
	"github.com/parley-chat/parley/intents/ensemble"
	"github.com/parley-chat/parley/knowledge"
)

var (
	once sync.Once
	nlu  *bot.Models
	kb   bot.Knowledge
	err  error
)

// Builtin returns the built-in models and knowledge base; loading them
// takes about half a second, once.
func Builtin(tb testing.TB) (*bot.Models, bot.Knowledge) {
	tb.Helper()
	once.Do(func() { nlu, kb, err = load() })
	if err != nil {
		tb.Fatal(err)
	}
	return nlu, kb
}

func load() (*bot.Models, bot.Knowledge, error) {
	decode := func(name string) (intents.Model, error) {
		f, err := builtin.Models().Open(name)
		if err != nil {
			return nil, fmt.Errorf("open built-in model %s: %w", name, err)
		}
		defer f.Close()
		return ensemble.DecodeModel(f)
	}
	m, err := decode(builtin.IntentModel)
	if err != nil {
		return nil, nil, err
	}
	im, ok := m.(*ensemble.Model)
	if !ok {
		return nil, nil, fmt.Errorf("built-in intent model is a %s, want an ensemble", m.Header().Kind)
	}
	sm, err := decode(builtin.SentimentModel)
	if err != nil {
		return nil, nil, err
	}
	models, err := bot.NewModels(bot.ModelSet{Intent: im, Sentiment: sm, Version: "builtin"})
	if err != nil {
		return nil, nil, err
	}
	base, err := knowledge.Builtin()
	if err != nil {
		return nil, nil, err
	}
	var emb knowledge.Embedder
	members, _ := im.Members()
	for _, m := range members {
		if e, ok := m.(knowledge.Embedder); ok {
			emb = e
		}
	}
	k, err := bot.NewKnowledge(base, emb)
	return models, k, err
}
