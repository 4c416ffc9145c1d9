package intents

import (
	"context"
	"io"

	"github.com/parley-chat/parley/nlp"
)

// Model is a trained classifier of one family. It is the contract the
// model families share; the ensemble, the command line and the shared
// contract tests consume it. Implementations are immutable once trained
// or decoded, so every method is safe for concurrent use.
type Model interface {
	// Header describes the model (kind, labels, training data, metrics).
	Header() Header
	// Probs returns a calibrated probability per label in Header().Labels
	// order. A Doc with no known features gets the model's prior.
	Probs(d nlp.Doc) []float64
	// Predict returns the best label, alternatives and the out-of-scope
	// flag from the header's threshold.
	Predict(d nlp.Doc) Prediction
	// WriteTo writes the model as an artifact (see WriteArtifact).
	WriteTo(w io.Writer) (int64, error)
}

// Trainer fits a model of one family; configs implement it.
type Trainer interface {
	FitModel(ctx context.Context, d Dataset, seed uint64) (Model, error)
}

// Parse tokenizes every example's text. Examples that normalize to
// nothing get an empty Doc, so indices stay aligned with d.Examples.
func Parse(d Dataset) []nlp.Doc {
	docs := make([]nlp.Doc, len(d.Examples))
	for i, e := range d.Examples {
		docs[i], _ = nlp.Parse(e.Text)
	}
	return docs
}

// Gold returns each example's label index in labels, or -1 for labels
// not among them (such as OOS).
func Gold(d Dataset, labels []string) []int {
	idx := LabelIndex(labels)
	g := make([]int, len(d.Examples))
	for i, e := range d.Examples {
		if j, ok := idx[e.Label]; ok {
			g[i] = j
		} else {
			g[i] = -1
		}
	}
	return g
}
