package training

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/ensemble"
	"github.com/parley-chat/parley/nlp"
)

// Stage names, in the order a retraining goes through them.
const (
	StageLoading         = "loading"          // reading labels, building the training set
	StageTraining        = "training"         // Step of Of members trained (Detail: the last one)
	StageEpoch           = "epoch"            // the RNN finished epoch Step of at most Of
	StageWeighing        = "weighing"         // the ensemble weighs and calibrates its members
	StageEvaluating      = "evaluating"       // measuring on the held-out test set
	StageCrossValidating = "cross-validating" // fold Step of Of
	StageSaving          = "saving"           // writing the artifact and the model version
	StageDone            = "done"
)

// Stage is a retraining's progress.
type Stage struct {
	Name string `json:"name"`
	// Step of Of counts members, epochs or folds (0 of 0 when the stage
	// has no steps).
	Step int `json:"step,omitempty"`
	Of   int `json:"of,omitempty"`
	// Detail says more: the member trained, the epoch's validation accuracy.
	Detail string `json:"detail,omitempty"`
	// Elapsed is the time since the retraining started.
	Elapsed time.Duration `json:"elapsed_ns"`
}

func (s Stage) String() string {
	var b strings.Builder
	b.WriteString(s.Name)
	if s.Of > 0 {
		fmt.Fprintf(&b, " %d/%d", s.Step, s.Of)
	}
	if s.Detail != "" {
		b.WriteString(" " + s.Detail)
	}
	fmt.Fprintf(&b, " (%.1f s)", s.Elapsed.Seconds())
	return b.String()
}

// Retraining defaults.
const (
	// DefaultSeed is the seed the built-in model was trained with.
	DefaultSeed = 1
	// DefaultFolds is the cross-validation folds.
	DefaultFolds = 3
)

// RetrainOptions configure Retrain. The zero value retrains like the
// built-in model: its members and hyperparameters, seed 1, 3-fold
// cross-validation of the SVM member.
type RetrainOptions struct {
	// Seed fixes every random choice (0: DefaultSeed): same seed, same
	// labels, same model.
	Seed uint64
	// Folds is the number of cross-validation folds (0: DefaultFolds;
	// negative: no cross-validation; 1 is invalid).
	Folds int
	// Progress, when set, is called at each stage, from one goroutine at
	// a time (not necessarily the caller's); it must return quickly.
	Progress func(Stage)
	// Members overrides the ensemble's member families (nil: the built-in
	// model's, svm and rnn). Tests train ["svm"], which is fast.
	Members []string
	// MaxEpochs overrides the RNN member's epoch bound (0: the built-in's).
	MaxEpochs int
	// FullCV cross-validates the whole model instead of its SVM member.
	// On the built-in data that is one more full training per fold
	// (about 35 s each on 2 CPUs); the default keeps retraining within a
	// minute, the SVM being the member that carries most of the weight.
	FullCV bool
	// Trainer, when set, replaces the ensemble entirely (and then is
	// cross-validated too); Validation and logging are the caller's.
	Trainer intents.Trainer
	// Notes are stored with the version, after the generated summary.
	Notes string
}

// Result is a retraining's outcome.
type Result struct {
	// Version is the stored, inactive model version (with its artifact).
	Version crm.ModelVersion `json:"version"`
	// Set is how the labels changed the base data.
	Set SetReport `json:"set"`
	// Test is the new model on the fixed held-out set.
	Test intents.Metrics `json:"test"`
	// CV is the cross-validation, when run.
	CV      *CVResult     `json:"cv,omitempty"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// CVResult summarizes a k-fold cross-validation on the training set.
type CVResult struct {
	Folds int `json:"folds"`
	// Model is what was cross-validated ("svm member", "ensemble svm+rnn").
	Model       string  `json:"model"`
	Accuracy    float64 `json:"accuracy"`
	AccuracyStd float64 `json:"accuracy_std"`
	MacroF1     float64 `json:"macro_f1"`
	ECE         float64 `json:"ece"`
	// InScopeAccuracy and OOSRecall when the training set has OOS examples.
	HasOOS          bool          `json:"has_oos"`
	InScopeAccuracy float64       `json:"in_scope_accuracy,omitempty"`
	OOSRecall       float64       `json:"oos_recall,omitempty"`
	Elapsed         time.Duration `json:"elapsed_ns"`
}

// Retrain trains a new intent model on TrainingSet, measures it on the
// fixed held-out set and by cross-validation, and stores it as a new
// model version of kind "intent", named "<UTC time>-<data hash>", NOT
// promoted: the serving model is untouched whatever happens. A failed
// or cancelled run stores nothing; cancelling ctx returns an error
// wrapping ctx.Err() (errors.Is(err, context.Canceled)).
func (w *Workbench) Retrain(ctx context.Context, opts RetrainOptions) (Result, error) {
	start := time.Now()
	var mu sync.Mutex
	report := func(s Stage) {
		if opts.Progress == nil {
			return
		}
		s.Elapsed = time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		opts.Progress(s)
	}
	seed := cmp.Or(opts.Seed, DefaultSeed)
	folds := cmp.Or(opts.Folds, DefaultFolds)
	if folds == 1 {
		return Result{}, fmt.Errorf("retrain: %w: 1 fold (want 2 or more, or none)", crm.ErrInvalid)
	}
	failed := func(what string, err error) (Result, error) {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		w.log.Warn("retraining failed: nothing stored", "stage", what, "err", err)
		return Result{}, fmt.Errorf("retrain: %s: %w", what, err)
	}

	report(Stage{Name: StageLoading})
	set, err := w.TrainingSet(ctx)
	if err != nil {
		return failed("training set", err)
	}
	trainer, cvTrainer, desc, err := w.trainers(opts, report)
	if err != nil {
		return failed("configure", err)
	}
	if err := ctx.Err(); err != nil {
		return failed("training", err)
	}
	w.log.Info("retraining", "examples", len(set.Dataset.Examples), "labels", set.Report.Labels, "model", desc.model, "seed", seed)
	report(Stage{Name: StageTraining, Of: desc.members})
	m, err := trainer.FitModel(ctx, set.Dataset, seed)
	if err != nil {
		return failed("training", err)
	}
	trainTime := time.Since(start)
	if err := ctx.Err(); err != nil {
		return failed("training", err)
	}

	report(Stage{Name: StageEvaluating, Detail: fmt.Sprintf("%d held-out messages", len(w.data.Test.Examples))})
	test := evaluate(m, w.data.Test)

	var cv *CVResult
	if folds > 1 {
		cv, err = crossValidate(ctx, cvTrainer, set.Dataset, folds, seed, desc.cv, report)
		if err != nil {
			return failed("cross-validation", err)
		}
	}

	report(Stage{Name: StageSaving})
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return failed("write artifact", err)
	}
	// Servers decode what is stored: check now that it decodes, so a
	// version that cannot load is never stored.
	back, err := ensemble.DecodeModel(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return failed("check artifact", err)
	}
	if !slices.Equal(back.Header().Labels, m.Header().Labels) {
		return failed("check artifact", fmt.Errorf("decoded labels differ"))
	}
	metrics := versionMetrics(m.Header(), test, cv, set)
	metrics["retrain_seconds"] = time.Since(start).Seconds()
	metrics["fit_seconds"] = trainTime.Seconds()
	hash := set.Dataset.Hash()
	v := crm.ModelVersion{
		Kind:     Kind,
		DataHash: hash,
		Metrics:  metrics,
		Artifact: buf.Bytes(),
		Notes:    strings.TrimSpace(notes(set, desc, seed, cv) + "\n" + opts.Notes),
	}
	// The last point of no return: a cancellation before it stores nothing.
	if err := ctx.Err(); err != nil {
		return failed("saving", err)
	}
	name := w.now().UTC().Format(time.RFC3339) + "-" + hash[:8]
	for n := 1; ; n++ {
		v.Version = name
		if n > 1 {
			v.Version = fmt.Sprintf("%s-%d", name, n)
		}
		saved, err := w.store.SaveModelVersion(ctx, v)
		if errors.Is(err, crm.ErrConflict) && n < 10 {
			continue // same data retrained within the second
		}
		if err != nil {
			return failed("save model version", err)
		}
		v = saved
		break
	}
	res := Result{Version: v, Set: set.Report, Test: test, CV: cv, Elapsed: time.Since(start)}
	report(Stage{Name: StageDone, Detail: v.Version})
	w.log.Info("retrained", "version", v.Version, "id", v.ID, "test_accuracy", test.Accuracy, "elapsed", res.Elapsed.Round(time.Millisecond))
	return res, nil
}

// trainerDesc describes what is trained, for progress and notes.
type trainerDesc struct {
	model, cv string
	members   int
}

// trainers returns the model's trainer and the cross-validation's.
func (w *Workbench) trainers(opts RetrainOptions, report func(Stage)) (intents.Trainer, intents.Trainer, trainerDesc, error) {
	if opts.Trainer != nil {
		return opts.Trainer, opts.Trainer, trainerDesc{model: "custom", cv: "custom", members: 1}, nil
	}
	c, err := w.config()
	if err != nil {
		return nil, nil, trainerDesc{}, err
	}
	if opts.Members != nil {
		c.Members = slices.Clone(opts.Members)
	}
	if opts.MaxEpochs > 0 {
		c.RNN.MaxEpochs = opts.MaxEpochs
	}
	c.Validation = w.data.Val
	c.Logger = progressLogger(w.log, len(c.Members), c.RNN.MaxEpochs, report)
	desc := trainerDesc{model: "ensemble " + strings.Join(c.Members, "+"), members: len(c.Members)}
	if opts.FullCV {
		cvc := c
		cvc.Logger = nil
		desc.cv = desc.model
		return c, cvc, desc, nil
	}
	sc := c.SVM
	sc.Validation = w.data.Val
	desc.cv = "svm member"
	return c, sc, desc, nil
}

// crossValidate trains on k-1 folds and measures on the k-th, k times.
func crossValidate(ctx context.Context, tr intents.Trainer, d intents.Dataset, k int, seed uint64, what string, report func(Stage)) (*CVResult, error) {
	start := time.Now()
	trains, tests := intents.Folds(d, k, seed)
	res := &CVResult{Folds: k, Model: what}
	var accs []float64
	for f := range k {
		report(Stage{Name: StageCrossValidating, Step: f + 1, Of: k, Detail: what})
		m, err := tr.FitModel(ctx, trains[f], seed)
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", f+1, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		mt := evaluate(m, tests[f])
		accs = append(accs, mt.Accuracy)
		res.Accuracy += mt.Accuracy / float64(k)
		res.MacroF1 += mt.MacroF1 / float64(k)
		res.ECE += mt.ECE / float64(k)
		if mt.HasOOS {
			res.HasOOS = true
			res.InScopeAccuracy += mt.InScopeAccuracy / float64(k)
			res.OOSRecall += mt.OOSRecall / float64(k)
		}
	}
	res.AccuracyStd = stddev(accs)
	res.Elapsed = time.Since(start)
	return res, nil
}

// predictAll classifies each example as the bot would: a text the
// tokenizer refuses (empty after normalization) is out of scope.
func predictAll(m intents.Model, d intents.Dataset) []intents.Prediction {
	preds := make([]intents.Prediction, len(d.Examples))
	for i, e := range d.Examples {
		doc, err := nlp.Parse(e.Text)
		if err != nil {
			preds[i] = intents.Prediction{Label: intents.OOS, OutOfScope: true}
			continue
		}
		preds[i] = m.Predict(doc)
	}
	return preds
}

func gold(d intents.Dataset) []string {
	g := make([]string, len(d.Examples))
	for i, e := range d.Examples {
		g[i] = e.Label
	}
	return g
}

func evaluate(m intents.Model, d intents.Dataset) intents.Metrics {
	return intents.Evaluate(gold(d), predictAll(m, d))
}

func stddev(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	var mean, ss float64
	for _, x := range v {
		mean += x / float64(len(v))
	}
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss / float64(len(v)-1))
}

// versionMetrics are the metrics stored with a version: the artifact
// header's (validation metrics, ensemble weights), the held-out test
// set's (test_*), the cross-validation's (cv_*) and the data's.
func versionMetrics(h intents.Header, test intents.Metrics, cv *CVResult, set Set) map[string]float64 {
	m := map[string]float64{}
	for k, v := range h.Metrics {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			m[k] = v
		}
	}
	m["test_examples"] = float64(test.N)
	m["test_accuracy"] = test.Accuracy
	m["test_macro_f1"] = test.MacroF1
	m["test_ece"] = test.ECE
	if test.HasOOS {
		m["test_in_scope_accuracy"] = test.InScopeAccuracy
		m["test_oos_recall"] = test.OOSRecall
		m["test_in_scope_label_accuracy"] = test.InScopeLabelAccuracy
	}
	if cv != nil {
		m["cv_folds"] = float64(cv.Folds)
		m["cv_accuracy"] = cv.Accuracy
		m["cv_accuracy_std"] = cv.AccuracyStd
		m["cv_macro_f1"] = cv.MacroF1
		m["cv_ece"] = cv.ECE
		if cv.HasOOS {
			m["cv_in_scope_accuracy"] = cv.InScopeAccuracy
			m["cv_oos_recall"] = cv.OOSRecall
		}
	}
	m["train_examples"] = float64(len(set.Dataset.Examples))
	m["analyst_labels"] = float64(set.Report.Labels)
	return m
}

func notes(set Set, desc trainerDesc, seed uint64, cv *CVResult) string {
	r := set.Report
	s := fmt.Sprintf("retrained: %s on %s (%d examples: %d labels, %d new utterances, %d overrides, %d held out), seed %d",
		desc.model, set.Dataset.Name, len(set.Dataset.Examples), r.Labels, r.Added, len(r.Overrides), len(r.HeldOut), seed)
	if cv != nil {
		s += fmt.Sprintf("; %d-fold cross-validation of the %s", cv.Folds, cv.Model)
	}
	return s
}
