package intents

import (
	"context"
	"fmt"
	"io"
	"slices"

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

// ClassLabels returns the labels a model trained on d learns, sorted:
// every label of d, OOS included when d has out-of-scope examples (the
// model then learns what out-of-scope messages look like; see
// NewPrediction). It fails when fewer than two in-scope labels remain.
func ClassLabels(d Dataset) ([]string, error) {
	labels := d.Labels()
	n := len(labels)
	if slices.Contains(labels, OOS) {
		n--
	}
	if n < 2 {
		return nil, fmt.Errorf("need at least 2 in-scope labels, have %d", n)
	}
	return labels, nil
}

// TuneThreshold chooses the out-of-scope threshold of a model, given
// its probs function, on validation docs parsed from d (see
// ChooseThreshold).
func TuneThreshold(probs func(nlp.Doc) []float64, labels []string, docs []nlp.Doc, d Dataset, maxDrop float64) ThresholdPoint {
	ps := make([][]float64, len(docs))
	gold := make([]string, len(docs))
	for i, doc := range docs {
		ps[i] = probs(doc)
		gold[i] = d.Examples[i].Label
	}
	return ChooseThreshold(labels, ps, gold, maxDrop)
}
