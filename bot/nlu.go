package bot

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/nlp"
)

// Understanding is what the NLU makes of one message.
type Understanding struct {
	Doc       nlp.Doc
	Intent    intents.Prediction
	Sentiment intents.Sentiment
	Entities  []nlp.Entity
	// ModelVersion names the models that produced it, for the CRM.
	ModelVersion string
}

// NLU understands messages. Implementations are safe for concurrent use.
type NLU interface {
	// Understand fails with an error wrapping nlp.ErrEmpty or
	// nlp.ErrTooLong for text that cannot be classified.
	Understand(ctx context.Context, text string) (Understanding, error)
}

// ModelSet is an intent and a sentiment model served together, with the
// name the CRM records for them.
type ModelSet struct {
	Intent    intents.Model
	Sentiment intents.Model
	Version   string
}

// Validate checks that the sentiment model has sentiment labels and that
// both are set.
func (s ModelSet) Validate() error {
	if s.Intent == nil || s.Sentiment == nil {
		return errors.New("model set needs an intent and a sentiment model")
	}
	if !intents.SentimentLabels(s.Sentiment.Header().Labels) {
		return fmt.Errorf("sentiment model has labels %v, want negative, neutral, positive", s.Sentiment.Header().Labels)
	}
	if intents.SentimentLabels(s.Intent.Header().Labels) {
		return errors.New("the intent model has sentiment labels: models swapped?")
	}
	return nil
}

// Models is the NLU on a ModelSet that can be replaced while messages
// are being handled: Swap is atomic, so every message is understood
// entirely by the old set or entirely by the new one, and none is
// dropped. Trained models are immutable, so readers need no lock.
type Models struct {
	set atomic.Pointer[ModelSet]
	tok *nlp.Tokenizer
}

var _ NLU = (*Models)(nil)

// NewModels returns an NLU on s.
func NewModels(s ModelSet) (*Models, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	m := &Models{tok: nlp.NewTokenizer(0)}
	m.set.Store(&s)
	return m, nil
}

// Swap replaces the models (see Models).
func (m *Models) Swap(s ModelSet) error {
	if err := s.Validate(); err != nil {
		return err
	}
	m.set.Store(&s)
	return nil
}

// Current returns the models in use.
func (m *Models) Current() ModelSet { return *m.set.Load() }

// Understand implements NLU: tokenization without the costly optional
// stages, intent, sentiment and the rule-based entities.
func (m *Models) Understand(ctx context.Context, text string) (Understanding, error) {
	if err := ctx.Err(); err != nil {
		return Understanding{}, err
	}
	s := m.set.Load()
	doc, err := m.tok.Parse(text, 0)
	if err != nil {
		return Understanding{}, err
	}
	return Understanding{
		Doc:          doc,
		Intent:       s.Intent.Predict(doc),
		Sentiment:    intents.NewSentiment(s.Sentiment.Header().Labels, s.Sentiment.Probs(doc)),
		Entities:     nlp.Entities(doc),
		ModelVersion: s.Version,
	}, nil
}
