// Package svm is Parley's linear support vector machine: one-vs-rest
// L2-regularized squared-hinge SVMs over hashed word and character
// n-gram TF-IDF features, trained by dual coordinate descent (the
// liblinear algorithm, written in Go), with probabilities calibrated by
// temperature scaling on held-out data.
//
// Payload format (after the artifact header, see intents.WriteArtifact):
//
//	vectorizer   nlp.Vectorizer.WriteTo
//	temperature  float64
//	classes      uint32 C
//	weights      uint32 (D+1)*C, then (D+1)*C float32: row f is feature
//	             f's weight for each class; the last row is the biases
package svm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/nlp"
	"github.com/parley-chat/parley/nlp/binio"
)

// Kind is the artifact kind of SVM models.
const Kind = "svm"

// Config holds the SVM's hyperparameters. The zero value is not useful;
// start from DefaultConfig.
type Config struct {
	Features nlp.FeatureConfig `json:"features"`
	// C is the inverse regularization strength.
	C float64 `json:"c"`
	// Balanced reweighs each class's positive examples as if all classes
	// were the same size.
	Balanced bool `json:"balanced"`
	// Bias is the value of the constant feature that carries the intercept.
	Bias float64 `json:"bias"`
	// Eps is the stopping tolerance on the projected gradient.
	Eps float64 `json:"eps"`
	// MaxIter bounds the solver's passes over the data per class.
	MaxIter int `json:"max_iter"`
	// HoldOut is the share of training data held out to calibrate
	// probabilities and choose the out-of-scope threshold when no
	// Validation data is given; the model is then refit on all of it.
	HoldOut float64 `json:"hold_out"`
	// MaxOOSDrop is the in-scope accuracy (a fraction) the out-of-scope
	// threshold may cost on validation data.
	MaxOOSDrop float64 `json:"max_oos_drop"`
	// Workers trains that many classes at once (0: GOMAXPROCS).
	Workers int `json:"-"`
	// Validation, when it has examples, calibrates the model instead of
	// a held-out share of the training data.
	Validation intents.Dataset `json:"-"`
	// Logger receives progress; nil discards it.
	Logger *slog.Logger `json:"-"`
}

// DefaultConfig returns the hyperparameters chosen on held-out
// banking77 and built-in training data (see BENCHMARKS.md).
func DefaultConfig() Config {
	return Config{
		Features:   nlp.DefaultFeatureConfig(),
		C:          1,
		Bias:       1,
		Eps:        0.1,
		MaxIter:    1000,
		HoldOut:    0.1,
		MaxOOSDrop: 0.01,
	}
}

func (c Config) validate() error {
	switch {
	case !(c.C > 0) || math.IsInf(c.C, 0):
		return fmt.Errorf("svm: C %v must be positive", c.C)
	case !(c.Eps > 0):
		return fmt.Errorf("svm: eps %v must be positive", c.Eps)
	case c.MaxIter < 1:
		return fmt.Errorf("svm: max iter %d < 1", c.MaxIter)
	case c.HoldOut < 0 || c.HoldOut >= 1:
		return fmt.Errorf("svm: hold-out %v not in [0, 1)", c.HoldOut)
	case c.MaxOOSDrop < 0 || c.MaxOOSDrop > 1:
		return fmt.Errorf("svm: max oos drop %v not in [0, 1]", c.MaxOOSDrop)
	}
	return c.Features.Validate()
}

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Model is a trained SVM. It is immutable and safe for concurrent use.
type Model struct {
	header  intents.Header
	vec     *nlp.Vectorizer
	temp    float64
	nClass  int
	weights []float32 // (dim+1) x nClass, see the package doc
}

var _ intents.Model = (*Model)(nil)

// FitModel implements intents.Trainer.
func (c Config) FitModel(ctx context.Context, d intents.Dataset, seed uint64) (intents.Model, error) {
	return c.Fit(ctx, d, seed)
}

// Fit trains an SVM on d. Examples labelled intents.OOS, if any, are a
// class of their own (see intents.ClassLabels).
func (c Config) Fit(ctx context.Context, d intents.Dataset, seed uint64) (*Model, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	log := c.logger()
	start := time.Now()
	labels, err := intents.ClassLabels(d)
	if err != nil {
		return nil, fmt.Errorf("svm: %w", err)
	}
	// Calibration data: the given validation set, or a held-out share.
	cal, fitData, refit := c.Validation, d, false
	if len(cal.Examples) == 0 && c.HoldOut > 0 {
		fitData, cal = intents.Split(d, c.HoldOut, seed)
		refit = true
	}
	m, err := c.train(ctx, fitData, labels, seed)
	if err != nil {
		return nil, err
	}
	log.Info("svm trained", "examples", len(fitData.Examples), "labels", len(labels), "features", m.vec.Dim(), "elapsed", time.Since(start).Round(time.Millisecond))

	m.temp = 1
	metrics := map[string]float64{}
	if len(cal.Examples) > 0 {
		docs := intents.Parse(cal)
		gold := intents.Gold(cal, labels)
		var scores [][]float64
		var golds []int
		for i, doc := range docs {
			if gold[i] >= 0 {
				scores = append(scores, m.Scores(doc, nil))
				golds = append(golds, gold[i])
			}
		}
		m.temp = intents.FitTemperature(scores, golds)
		tp := intents.TuneThreshold(m.Probs, labels, docs, cal, c.MaxOOSDrop)
		m.header.Threshold, metrics = tp.Threshold, tp.Metrics()
		log.Info("svm calibrated", "examples", len(cal.Examples), "temperature", m.temp, "oos_threshold", m.header.Threshold)
	}
	if refit {
		full, err := c.train(ctx, d, labels, seed)
		if err != nil {
			return nil, err
		}
		full.temp, full.header.Threshold = m.temp, m.header.Threshold
		m = full
		log.Info("svm refit on all training data", "examples", len(d.Examples), "elapsed", time.Since(start).Round(time.Millisecond))
	}
	cfg, _ := json.Marshal(c)
	m.header.Config = cfg
	m.header.DataHash = d.Hash()
	m.header.Examples = len(d.Examples)
	m.header.Seed = seed
	m.header.Metrics = metrics
	m.header.Metrics["train_seconds"] = time.Since(start).Seconds()
	return m, nil
}

func (c Config) train(ctx context.Context, d intents.Dataset, labels []string, seed uint64) (*Model, error) {
	docs := intents.Parse(d)
	vec, err := nlp.FitVectorizer(c.Features, docs)
	if err != nil {
		return nil, fmt.Errorf("svm: %w", err)
	}
	rows := make([]nlp.Features, len(docs))
	for i, doc := range docs {
		rows[i] = vec.Transform(doc)
	}
	gold := intents.Gold(d, labels)
	w, err := trainOVR(ctx, newCSR(rows, vec.Dim()), gold, len(labels), c, seed)
	if err != nil {
		return nil, fmt.Errorf("svm: %w", err)
	}
	// Fold the bias feature's value into the bias row.
	bias := w[vec.Dim()*len(labels):]
	for k := range bias {
		bias[k] *= float32(c.Bias)
	}
	return &Model{
		header:  intents.Header{Kind: Kind, Labels: labels, Created: time.Now().UTC()},
		vec:     vec,
		nClass:  len(labels),
		weights: w,
	}, nil
}

// Header implements intents.Model.
func (m *Model) Header() intents.Header { return m.header }

// Scores returns the raw one-vs-rest decision values, one per label,
// appended to dst[:0].
func (m *Model) Scores(d nlp.Doc, dst []float64) []float64 {
	return m.scoreFeatures(m.vec.Transform(d), dst)
}

func (m *Model) scoreFeatures(f nlp.Features, dst []float64) []float64 {
	c := m.nClass
	if cap(dst) < c {
		dst = make([]float64, c)
	}
	dst = dst[:c]
	// Accumulate in float32 row by row (contiguous), then widen.
	var acc [256]float32
	var s []float32
	if c <= len(acc) {
		s = acc[:c]
	} else {
		s = make([]float32, c)
	}
	copy(s, m.weights[m.vec.Dim()*c:])
	for i, col := range f.Idx {
		v := f.Val[i]
		row := m.weights[int(col)*c : int(col)*c+c]
		for k, w := range row {
			s[k] += v * w
		}
	}
	for k := range dst {
		dst[k] = float64(s[k])
	}
	return dst
}

// Probs implements intents.Model: calibrated softmax of the decision values.
func (m *Model) Probs(d nlp.Doc) []float64 {
	s := m.Scores(d, nil)
	return intents.Softmax(s, s, m.temp)
}

// Predict implements intents.Model.
func (m *Model) Predict(d nlp.Doc) intents.Prediction {
	return intents.NewPrediction(m.header.Labels, m.Probs(d), intents.DefaultTopK, m.header.Threshold)
}

// Temperature returns the calibration temperature.
func (m *Model) Temperature() float64 { return m.temp }

// WriteTo implements intents.Model.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	return intents.WriteArtifact(w, m.header, func(w io.Writer) error {
		if _, err := m.vec.WriteTo(w); err != nil {
			return err
		}
		bw := binio.NewWriter(w)
		bw.F64(m.temp)
		bw.U32(uint32(m.nClass))
		bw.F32s(m.weights)
		return bw.Flush()
	})
}

// Decode reads an SVM artifact written by WriteTo, validating it.
func Decode(r io.Reader) (*Model, error) {
	h, payload, err := intents.ReadArtifact(r, Kind)
	if err != nil {
		return nil, err
	}
	return decodePayload(h, payload)
}

func decodePayload(h intents.Header, payload []byte) (*Model, error) {
	pr := bytes.NewReader(payload)
	vec, err := nlp.ReadVectorizer(pr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", intents.ErrCorrupt, err)
	}
	br := binio.NewReader(pr)
	m := &Model{header: h, vec: vec}
	m.temp = br.F64()
	m.nClass = int(br.U32())
	if br.Err() == nil {
		if err := h.CheckLabels(m.nClass); err != nil {
			return nil, err
		}
	}
	want := (vec.Dim() + 1) * m.nClass
	m.weights = br.F32s(want)
	if err := br.Err(); err != nil {
		return nil, fmt.Errorf("%w: svm weights: %v", intents.ErrCorrupt, err)
	}
	switch {
	case len(m.weights) != want:
		return nil, fmt.Errorf("%w: %d svm weights, want %d", intents.ErrCorrupt, len(m.weights), want)
	case !(m.temp > 0) || math.IsInf(m.temp, 0):
		return nil, fmt.Errorf("%w: svm temperature %v", intents.ErrCorrupt, m.temp)
	case pr.Len() != 0:
		return nil, fmt.Errorf("%w: %d trailing bytes", intents.ErrCorrupt, pr.Len())
	}
	for _, w := range m.weights {
		if math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) {
			return nil, errors.New("svm: decode: non-finite weight")
		}
	}
	return m, nil
}
