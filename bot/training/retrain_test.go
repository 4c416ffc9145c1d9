package training_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley/bot/training"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/ensemble"
)

// svmOnly retrains the fast way: the ensemble with its SVM member only.
var svmOnly = training.RetrainOptions{Members: []string{"svm"}}

// activeBefore stores a version and promotes it: the "serving model"
// that no retraining may disturb.
func activeBefore(t *testing.T, b *bench) crm.ModelVersion {
	t.Helper()
	ctx := context.Background()
	res, err := b.wb.Retrain(ctx, svmOnly)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.wb.Promote(ctx, res.Version.ID); err != nil {
		t.Fatal(err)
	}
	return res.Version
}

func TestRetrain(t *testing.T) {
	ctx := context.Background()
	b := newBench(t)
	serving := activeBefore(t, b)
	b.labelAll(t, ex("where's my parcel at", "order_status"), ex("cancel my order", "order_status"))
	var stages []training.Stage
	opts := svmOnly
	opts.Progress = func(s training.Stage) { stages = append(stages, s) }
	opts.Notes = "test run"
	res, err := b.wb.Retrain(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	v := res.Version
	if v.ID == 0 || v.Kind != training.Kind || v.Active {
		t.Errorf("version %+v: want a stored, inactive intent version", v)
	}
	if !regexp.MustCompile(`^2026-03-01T09:00:00Z-[0-9a-f]{8}$`).MatchString(v.Version) {
		t.Errorf("version name %q, want <UTC time>-<8 hex digits of the data hash>", v.Version)
	}
	if !strings.HasPrefix(v.DataHash, strings.TrimPrefix(v.Version, "2026-03-01T09:00:00Z-")) {
		t.Errorf("version %q does not end with its data hash %s", v.Version, v.DataHash)
	}
	for _, k := range []string{"test_accuracy", "test_macro_f1", "test_ece", "test_in_scope_accuracy", "test_oos_recall", "cv_accuracy", "cv_folds", "train_examples", "analyst_labels", "heldout_accuracy"} {
		if _, ok := v.Metrics[k]; !ok {
			t.Errorf("metrics %v lack %s", v.Metrics, k)
		}
	}
	if v.Metrics["cv_folds"] != 3 || v.Metrics["analyst_labels"] != 2 || v.Metrics["train_examples"] != float64(len(b.wb.Data().Train.Examples)+1) {
		t.Errorf("metrics cv_folds %v analyst_labels %v train_examples %v, want 3, 2, base+1", v.Metrics["cv_folds"], v.Metrics["analyst_labels"], v.Metrics["train_examples"])
	}
	if res.Test.N != len(b.wb.Data().Test.Examples) || res.Test.Accuracy != v.Metrics["test_accuracy"] {
		t.Errorf("test metrics %+v disagree with the version's %v", res.Test, v.Metrics["test_accuracy"])
	}
	// Measured on the fixtures with seed 1: a regression floor, not a goal.
	if res.Test.Accuracy < 0.7 {
		t.Errorf("test accuracy %.3f, want >= 0.7 on the fixtures", res.Test.Accuracy)
	}
	if !strings.Contains(v.Notes, "ensemble svm on testdata/train.csv + 2 labels") || !strings.HasSuffix(v.Notes, "test run") {
		t.Errorf("notes %q", v.Notes)
	}
	// The serving model is untouched.
	act, err := b.store.ActiveModel(ctx, training.Kind)
	if err != nil || act.ID != serving.ID {
		t.Errorf("active model after retraining: %d, %v; want %d", act.ID, err, serving.ID)
	}
	// The stored artifact is what servers load.
	stored, err := b.store.ModelVersion(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ensemble.DecodeModel(bytes.NewReader(stored.Artifact))
	if err != nil {
		t.Fatalf("stored artifact: %v", err)
	}
	if m.Header().DataHash != v.DataHash {
		t.Errorf("artifact data hash %s, version's %s", m.Header().DataHash, v.DataHash)
	}
	var names []string
	for _, s := range stages {
		if len(names) == 0 || names[len(names)-1] != s.Name {
			names = append(names, s.Name)
		}
	}
	want := []string{training.StageLoading, training.StageTraining, training.StageWeighing, training.StageEvaluating, training.StageCrossValidating, training.StageSaving, training.StageDone}
	if !slices.Equal(names, want) {
		t.Errorf("stages %v, want %v", names, want)
	}
	if !slices.ContainsFunc(stages, func(s training.Stage) bool {
		return s.Name == training.StageTraining && s.Step == 1 && s.Of == 1 && s.Detail == "svm"
	}) {
		t.Errorf("stages %v lack training 1/1 svm", stages)
	}
	if !slices.ContainsFunc(stages, func(s training.Stage) bool {
		return s.Name == training.StageCrossValidating && s.Step == 3 && s.Of == 3
	}) {
		t.Errorf("stages %v lack cross-validating 3/3", stages)
	}

	// The same labels and seed again: the same model, under a new name.
	again, err := b.wb.Retrain(ctx, svmOnly)
	if err != nil {
		t.Fatal(err)
	}
	if again.Version.Version != v.Version+"-2" || again.Version.DataHash != v.DataHash || again.Test.Accuracy != res.Test.Accuracy {
		t.Errorf("second run: %s (hash %s, accuracy %v), want %s-2 with the same hash and accuracy %v", again.Version.Version, again.Version.DataHash, again.Test.Accuracy, v.Version, res.Test.Accuracy)
	}
}

// The RNN's epochs show as progress: the log records the model
// families write are this package's progress contract.
func TestRetrainProgress(t *testing.T) {
	b := newBench(t)
	var mu sync.Mutex
	var epochs []training.Stage
	done := 0
	opts := training.RetrainOptions{Members: []string{"svm", "rnn"}, MaxEpochs: 2, Folds: -1, Progress: func(s training.Stage) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case s.Name == training.StageEpoch:
			epochs = append(epochs, s)
		case s.Name == training.StageTraining && s.Step > 0:
			done = max(done, s.Step)
		}
	}}
	res, err := b.wb.Retrain(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(epochs) != 2 || epochs[0].Step != 1 || epochs[1].Step != 2 || epochs[1].Of != 2 || !strings.Contains(epochs[1].Detail, "validation accuracy") {
		t.Errorf("epoch stages %v, want epochs 1/2 and 2/2 with the validation accuracy", epochs)
	}
	if done != 2 {
		t.Errorf("members done %d, want 2", done)
	}
	if _, ok := res.Version.Metrics["weight_rnn"]; !ok || res.CV != nil {
		t.Errorf("metrics %v: want the rnn's weight; cv %v: want none with Folds -1", res.Version.Metrics, res.CV)
	}
}

func TestRetrainCancelled(t *testing.T) {
	for _, stage := range []string{training.StageLoading, training.StageTraining, training.StageEvaluating, training.StageCrossValidating, training.StageSaving} {
		t.Run(stage, func(t *testing.T) {
			b := newBench(t)
			serving := activeBefore(t, b)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opts := svmOnly
			opts.Progress = func(s training.Stage) {
				if s.Name == stage {
					cancel()
				}
			}
			_, err := b.wb.Retrain(ctx, opts)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Retrain cancelled at %s: %v, want context.Canceled", stage, err)
			}
			vs, _ := b.store.ModelVersions(context.Background(), training.Kind)
			if len(vs) != 1 || vs[0].ID != serving.ID || !vs[0].Active {
				t.Errorf("after cancelling at %s: versions %+v, want only the serving one, active", stage, vs)
			}
		})
	}
}

// failingTrainer is a model family that fails.
type failingTrainer struct{}

func (failingTrainer) FitModel(context.Context, intents.Dataset, uint64) (intents.Model, error) {
	return nil, errors.New("out of memory, say")
}

func TestRetrainFails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   training.RetrainOptions
		errHas string
	}{
		{"trainer fails", training.RetrainOptions{Trainer: failingTrainer{}}, "retrain: training: out of memory, say"},
		{"one fold", training.RetrainOptions{Members: []string{"svm"}, Folds: 1}, "1 fold"},
		{"unknown member", training.RetrainOptions{Members: []string{"bert"}}, "unknown member family"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t)
			_, err := b.wb.Retrain(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("Retrain: %v, want an error containing %q", err, tc.errHas)
			}
			if vs, _ := b.store.ModelVersions(context.Background(), training.Kind); len(vs) != 0 {
				t.Errorf("a failed run stored %d versions", len(vs))
			}
		})
	}
}

// twoVersions stores two small models: A after an analyst's mistaken
// labels, B after they were corrected (a later label wins).
func twoVersions(t *testing.T, b *bench) (a, bv crm.ModelVersion) {
	t.Helper()
	ctx := context.Background()
	texts := []intents.Example{
		ex("I'd like to cancel my order asap", "cancel_order"), ex("please stop the order now", "cancel_order"),
		ex("cancel it please right away", "cancel_order"), ex("cancel order 1234 now", "cancel_order"),
		ex("are you open now or not", "opening_hours"), ex("when do you close today exactly", "opening_hours"),
	}
	wrong := slices.Clone(texts)
	for i := range wrong {
		wrong[i].Label = map[string]string{"cancel_order": "order_status", "opening_hours": "greeting"}[wrong[i].Label]
	}
	b.labelAll(t, wrong...)
	ra, err := b.wb.Retrain(ctx, svmOnly)
	if err != nil {
		t.Fatal(err)
	}
	b.labelAll(t, texts...)
	rb, err := b.wb.Retrain(ctx, svmOnly)
	if err != nil {
		t.Fatal(err)
	}
	return ra.Version, rb.Version
}

func TestCompare(t *testing.T) {
	ctx := context.Background()
	b := newBench(t)
	va, vb := twoVersions(t, b)
	c, err := b.wb.Compare(ctx, va.ID, vb.ID)
	if err != nil {
		t.Fatal(err)
	}
	test := b.wb.Data().Test
	if c.N != len(test.Examples) || !c.HasOOS || c.A.Info.ID != va.ID || c.B.Info.Version != vb.Version || c.A.Info.Kind != "ensemble" {
		t.Errorf("comparison header %+v", c)
	}
	if got, want := c.A.Summary.Accuracy, va.Metrics["test_accuracy"]; got != want {
		t.Errorf("A accuracy %v, the version's test_accuracy %v", got, want)
	}
	if got := c.Delta.Accuracy; got != c.B.Summary.Accuracy-c.A.Summary.Accuracy {
		t.Errorf("delta accuracy %v, want B-A", got)
	}
	if !slices.Equal(intentNames(c.PerIntent), test.Labels()) {
		t.Errorf("per-intent rows %v, want the test labels %v", intentNames(c.PerIntent), test.Labels())
	}
	for _, d := range c.PerIntent {
		if d.Delta.F1 != d.B.F1-d.A.F1 || d.Support == 0 {
			t.Errorf("intent %s: %+v, want delta B-A and a support", d.Intent, d)
		}
	}
	if c.Labels[len(c.Labels)-1] != intents.OOS {
		t.Errorf("confusion labels %v: want oos last", c.Labels)
	}
	// The confusion matrices hold every message, and the changed list is
	// exactly where they differ.
	for _, s := range []training.Side{c.A, c.B} {
		total, diag := 0, 0
		for i, row := range s.Confusion {
			for j, v := range row {
				total += v
				if i == j {
					diag += v
				}
			}
		}
		if total != c.N || float64(diag)/float64(c.N) != s.Summary.Accuracy {
			t.Errorf("%s: confusion total %d diagonal %d, want %d and accuracy %v", s.Info.Version, total, diag, c.N, s.Summary.Accuracy)
		}
		n := 0
		for _, bin := range s.Reliability.Bins {
			n += bin.N
		}
		if in := len(test.Filter(func(e intents.Example) bool { return e.Label != intents.OOS }).Examples); n != in {
			t.Errorf("reliability bins hold %d messages, want the %d in-scope ones", n, in)
		}
	}
	if len(c.Changed) == 0 {
		t.Fatalf("no changed predictions between %s and %s: the fixture should change some", va.Version, vb.Version)
	}
	if c.Fixed+c.Broken > len(c.Changed) {
		t.Errorf("fixed %d + broken %d > changed %d", c.Fixed, c.Broken, len(c.Changed))
	}
	for _, ch := range c.Changed {
		if ch.A == ch.B {
			t.Errorf("change %+v: same decision", ch)
		}
	}
	var text bytes.Buffer
	c.WriteText(&text, 3)
	for _, want := range []string{"accuracy", "in-scope accuracy", "messages changed", "B-A"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("comparison text lacks %q:\n%s", want, text.String())
		}
	}
	// The pictures are well-formed SVG with every label on them.
	for _, which := range []string{training.MatrixA, training.MatrixB, training.MatrixDiff} {
		var svg bytes.Buffer
		if err := training.ConfusionSVG(&svg, c, which); err != nil {
			t.Fatal(err)
		}
		checkSVG(t, "confusion "+which, svg.Bytes())
		for _, l := range c.Labels {
			if !strings.Contains(svg.String(), ">"+l+"</text>") {
				t.Errorf("confusion %s SVG lacks the label %s", which, l)
			}
		}
	}
	if err := training.ConfusionSVG(io.Discard, c, "c"); err == nil {
		t.Errorf("ConfusionSVG(c): no error")
	}
	var rel bytes.Buffer
	if err := training.ReliabilitySVG(&rel, c); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, "reliability", rel.Bytes())
	if !strings.Contains(rel.String(), "<polyline") || !strings.Contains(rel.String(), "ECE") {
		t.Errorf("reliability SVG has no curve or legend")
	}

	// Errors: a missing version, a sentiment model.
	if _, err := b.wb.Compare(ctx, va.ID, 999); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("Compare(missing) = %v, want ErrNotFound", err)
	}
	sv, err := b.store.SaveModelVersion(ctx, crm.ModelVersion{Kind: "sentiment", Version: "s1", Artifact: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.wb.Compare(ctx, va.ID, sv.ID); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("Compare(sentiment) = %v, want ErrInvalid", err)
	}
}

func intentNames(ds []training.IntentDelta) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Intent)
	}
	return out
}

// checkSVG parses an SVG document as XML.
func checkSVG(t *testing.T, what string, data []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s SVG is not well-formed XML: %v", what, err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("%s SVG root element %q, want svg", what, root)
	}
}

func TestPromoteRollback(t *testing.T) {
	ctx := context.Background()
	b := newBench(t)
	v1, v2 := twoVersions(t, b)
	active := func() int64 {
		v, err := b.store.ActiveModel(ctx, training.Kind)
		if err != nil {
			return 0
		}
		return v.ID
	}
	if _, err := b.wb.Rollback(ctx, ""); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("Rollback with nothing active = %v, want ErrNotFound", err)
	}
	steps := []struct {
		name string
		do   func() (crm.ModelVersion, error)
		want int64
	}{
		{"promote v1", func() (crm.ModelVersion, error) { return b.wb.Promote(ctx, v1.ID) }, v1.ID},
		{"promote v2", func() (crm.ModelVersion, error) { return b.wb.Promote(ctx, v2.ID) }, v2.ID},
		{"rollback to v1", func() (crm.ModelVersion, error) { return b.wb.Rollback(ctx, "") }, v1.ID},
		{"rollback again: back to v2", func() (crm.ModelVersion, error) { return b.wb.Rollback(ctx, training.Kind) }, v2.ID},
	}
	for _, s := range steps {
		v, err := s.do()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if v.ID != s.want || !v.Active || active() != s.want {
			t.Errorf("%s: returned %d (active %v), store's active %d; want %d", s.name, v.ID, v.Active, active(), s.want)
		}
	}
	// A version that does not load is never promoted.
	bad, err := b.store.SaveModelVersion(ctx, crm.ModelVersion{Kind: training.Kind, Version: "broken", Artifact: []byte("PARLEYMD garbage")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.wb.Promote(ctx, bad.ID); err == nil || !strings.Contains(err.Error(), "does not load") {
		t.Errorf("Promote(broken) = %v, want a refusal", err)
	}
	if active() != v2.ID {
		t.Errorf("after the refused promotion the active version is %d, want %d", active(), v2.ID)
	}
	vs, err := b.wb.Versions(ctx, "")
	if err != nil || len(vs) != 3 || vs[0].ID != bad.ID {
		t.Errorf("Versions = %d versions (first %v), %v; want 3, newest first", len(vs), vs, err)
	}
}

func TestRunner(t *testing.T) {
	b := newBench(t)
	r := training.NewRunner(b.wb)
	defer r.Close()
	release := make(chan struct{})
	opts := svmOnly
	opts.Progress = func(s training.Stage) {
		if s.Name == training.StageEvaluating {
			<-release // hold the run so Start can be tried while it runs
		}
	}
	if err := r.Start(opts); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(svmOnly); !errors.Is(err, training.ErrBusy) {
		t.Errorf("second Start = %v, want ErrBusy", err)
	}
	if st := r.Status(); !st.Running || st.StartedAt.IsZero() {
		t.Errorf("status while running: %+v", st)
	}
	close(release)
	r.Wait()
	st := r.Status()
	if st.Running || st.Err != "" || st.Result == nil || st.Result.Version.ID == 0 || st.Stage.Name != training.StageDone || st.Result.Version.Artifact != nil {
		t.Fatalf("status after the run: %+v", st)
	}

	// Cancel: the run ends with an error and stores nothing.
	n := versions(t, b)
	if err := r.Start(training.RetrainOptions{Members: []string{"svm"}, Progress: func(s training.Stage) {
		if s.Name == training.StageTraining && s.Step == 0 {
			r.Cancel()
		}
	}}); err != nil {
		t.Fatal(err)
	}
	r.Wait()
	st = r.Status()
	if st.Running || !strings.Contains(st.Err, "context canceled") || st.Result == nil {
		t.Errorf("status after a cancelled run: %+v; want the error and the last good result", st)
	}
	if versions(t, b) != n {
		t.Errorf("the cancelled run stored a version")
	}
	r.Close()
	if err := r.Start(svmOnly); err == nil {
		t.Errorf("Start after Close: no error")
	}
}

func versions(t *testing.T, b *bench) int {
	t.Helper()
	vs, err := b.store.ModelVersions(context.Background(), training.Kind)
	if err != nil {
		t.Fatal(err)
	}
	return len(vs)
}
