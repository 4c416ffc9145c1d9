package training

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/builtin"
	"github.com/parley-chat/parley/intents/ensemble"
)

// Kind is the crm.ModelVersion kind of intent models, the kind this
// package trains (servers also store "sentiment" models).
const Kind = "intent"

// Data is the fixed data a workbench trains and measures with.
type Data struct {
	// Train is the base training data the analysts' labels are applied to.
	Train intents.Dataset
	// Val calibrates a model and chooses its ensemble weights and
	// out-of-scope threshold; it is never trained on.
	Val intents.Dataset
	// Test is the fixed held-out set every version is measured and
	// compared on; it is never trained on (see TrainingSet).
	Test intents.Dataset
}

// BuiltinData returns the built-in intent data (intents/builtin): the
// files the built-in intent model was trained, weighed and tested on.
func BuiltinData() (Data, error) {
	var d Data
	for _, f := range []struct {
		dst  *intents.Dataset
		name string
	}{{&d.Train, builtin.IntentTrain}, {&d.Val, builtin.IntentVal}, {&d.Test, builtin.IntentTest}} {
		ds, err := builtin.Dataset(f.name)
		if err != nil {
			return d, err
		}
		ds.Name = "builtin/" + f.name
		*f.dst = ds
	}
	return d, nil
}

// BuiltinConfig returns the configuration the built-in intent model was
// trained with, read from its artifact header: retraining with it
// trains the same members with the same hyperparameters as
// `go generate ./intents/builtin` does (see intents/builtin).
func BuiltinConfig() (ensemble.Config, error) {
	c := ensemble.DefaultConfig()
	data, err := fs.ReadFile(builtin.Models(), builtin.IntentModel)
	if err != nil {
		return c, fmt.Errorf("built-in intent model: %w", err)
	}
	h, _, err := intents.ReadArtifact(bytes.NewReader(data), ensemble.Kind)
	if err != nil {
		return c, fmt.Errorf("built-in intent model: %w", err)
	}
	// The header's config is the JSON of the ensemble.Config it was
	// trained with; fields it lacks keep their defaults.
	if err := json.Unmarshal(h.Config, &c); err != nil {
		return c, fmt.Errorf("built-in intent model config: %w", err)
	}
	return c, nil
}

// Workbench is the analysts' loop on one CRM. Its methods are safe for
// concurrent use.
type Workbench struct {
	store  crm.Store
	data   Data
	log    *slog.Logger
	now    func() time.Time
	config func() (ensemble.Config, error)
}

// Option configures a Workbench.
type Option func(*Workbench)

// WithData replaces the built-in data (tests use small fixtures). Train
// and Test must have examples; an empty Val makes trainers hold out a
// share of the training data instead.
func WithData(d Data) Option { return func(w *Workbench) { w.data = d } }

// WithLogger sets the logger (default slog.Default()). Nothing is logged
// at info level that quotes a customer's message.
func WithLogger(l *slog.Logger) Option { return func(w *Workbench) { w.log = l } }

// WithClock sets the clock that names versions (default time.Now).
func WithClock(now func() time.Time) Option { return func(w *Workbench) { w.now = now } }

// New returns a workbench on store, with the built-in data unless
// WithData replaces it.
func New(store crm.Store, opts ...Option) (*Workbench, error) {
	w := &Workbench{store: store, log: slog.Default(), now: time.Now, config: BuiltinConfig}
	for _, o := range opts {
		o(w)
	}
	if store == nil {
		return nil, fmt.Errorf("training workbench: nil store")
	}
	if w.data.Train.Examples == nil && w.data.Test.Examples == nil {
		d, err := BuiltinData()
		if err != nil {
			return nil, err
		}
		w.data = d
	}
	if len(w.data.Train.Examples) == 0 || len(w.data.Test.Examples) == 0 {
		return nil, fmt.Errorf("training workbench: %w: needs training and held-out test data", crm.ErrInvalid)
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	return w, nil
}

// Data returns the workbench's fixed data.
func (w *Workbench) Data() Data { return w.data }
