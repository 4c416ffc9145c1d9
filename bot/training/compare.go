package training

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/ensemble"
)

// ReliabilityBins is the number of equal-width confidence bins of a
// reliability diagram.
const ReliabilityBins = 10

// VersionInfo identifies a compared model.
type VersionInfo struct {
	ID        int64     `json:"id,omitempty"`
	Version   string    `json:"version"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at,omitempty"`
	DataHash  string    `json:"data_hash,omitempty"`
	// Kind is the artifact's model family ("ensemble", "svm", ...).
	Kind string `json:"kind"`
}

// Summary is a model's overall quality on the held-out set.
type Summary struct {
	Accuracy float64 `json:"accuracy"`
	MacroF1  float64 `json:"macro_f1"`
	// ECE is the expected calibration error as Parley reports it
	// everywhere (intents.Metrics, 15 bins); Reliability.ECE is the same
	// on the diagram's 10 bins.
	ECE float64 `json:"ece"`
	// InScopeAccuracy and OOSRecall when the held-out set has OOS.
	InScopeAccuracy float64 `json:"in_scope_accuracy,omitempty"`
	OOSRecall       float64 `json:"oos_recall,omitempty"`
}

// PRF is precision, recall and F1.
type PRF struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// IntentDelta is one intent's quality in both models; Delta is B − A.
type IntentDelta struct {
	Intent  string `json:"intent"`
	Support int    `json:"support"`
	A       PRF    `json:"a"`
	B       PRF    `json:"b"`
	Delta   PRF    `json:"delta"`
}

// Change is a held-out message whose decision (intent, or OOS when
// flagged out of scope) differs between the models.
type Change struct {
	Text  string  `json:"text"`
	Gold  string  `json:"gold"`
	A     string  `json:"a"`
	B     string  `json:"b"`
	ConfA float64 `json:"confidence_a"`
	ConfB float64 `json:"confidence_b"`
}

// Fixed reports whether B got right what A got wrong; Broken the reverse.
func (c Change) Fixed() bool  { return c.B == c.Gold }
func (c Change) Broken() bool { return c.A == c.Gold }

// Bin is one bin of a reliability diagram: in-scope held-out messages
// whose confidence is in [Lo, Hi), their mean confidence and the share
// whose predicted intent was right.
type Bin struct {
	Lo         float64 `json:"lo"`
	Hi         float64 `json:"hi"`
	N          int     `json:"n"`
	Confidence float64 `json:"confidence"`
	Accuracy   float64 `json:"accuracy"`
}

// Reliability is a model's calibration on the held-out set.
type Reliability struct {
	Bins []Bin   `json:"bins"`
	ECE  float64 `json:"ece"`
}

// Side is one model of a comparison.
type Side struct {
	Info    VersionInfo `json:"info"`
	Summary Summary     `json:"summary"`
	// Confusion[i][j] counts held-out messages of gold label
	// Comparison.Labels[i] decided as Comparison.Labels[j].
	Confusion   [][]int     `json:"confusion"`
	Reliability Reliability `json:"reliability"`
}

// Comparison is two models measured on the same held-out set.
type Comparison struct {
	TestSet string `json:"test_set"`
	N       int    `json:"n"`
	HasOOS  bool   `json:"has_oos"`
	A       Side   `json:"a"`
	B       Side   `json:"b"`
	// Delta is B − A.
	Delta Summary `json:"delta"`
	// PerIntent is every gold intent of the held-out set, by name.
	PerIntent []IntentDelta `json:"per_intent"`
	// Labels are the confusion matrices' axes: gold labels and
	// decisions, sorted, intents.OOS last.
	Labels []string `json:"labels"`
	// Changed are the messages whose decision changed, in held-out order.
	Changed []Change `json:"changed"`
	// Fixed and Broken count the changes B got right and wrong.
	Fixed  int `json:"fixed"`
	Broken int `json:"broken"`
}

// Compare measures the model versions a and b (crm.ModelVersion ids, of
// kind "intent") on the fixed held-out set.
func (w *Workbench) Compare(ctx context.Context, a, b int64) (Comparison, error) {
	var models [2]intents.Model
	var infos [2]VersionInfo
	for i, id := range []int64{a, b} {
		v, err := w.store.ModelVersion(ctx, id)
		if err != nil {
			return Comparison{}, fmt.Errorf("compare: %w", err)
		}
		if v.Kind != Kind {
			return Comparison{}, fmt.Errorf("compare: %w: version %d is a %s model; comparisons measure intent models on the held-out intent data", crm.ErrInvalid, id, v.Kind)
		}
		m, err := ensemble.DecodeModel(bytes.NewReader(v.Artifact))
		if err != nil {
			return Comparison{}, fmt.Errorf("compare: model version %d (%s): %w", id, v.Version, err)
		}
		models[i] = m
		infos[i] = VersionInfo{ID: v.ID, Version: v.Version, Active: v.Active, CreatedAt: v.CreatedAt, DataHash: v.DataHash, Kind: m.Header().Kind}
		if err := ctx.Err(); err != nil {
			return Comparison{}, fmt.Errorf("compare: %w", err)
		}
	}
	return CompareModels(models[0], models[1], infos[0], infos[1], w.data.Test), nil
}

// CompareModels measures models a and b on test.
func CompareModels(a, b intents.Model, infoA, infoB VersionInfo, test intents.Dataset) Comparison {
	g := gold(test)
	pa, pb := predictAll(a, test), predictAll(b, test)
	ma, mb := intents.Evaluate(g, pa), intents.Evaluate(g, pb)
	c := Comparison{TestSet: test.Name, N: len(test.Examples), HasOOS: ma.HasOOS}
	c.A = Side{Info: infoA, Summary: summary(ma), Reliability: reliability(g, pa)}
	c.B = Side{Info: infoB, Summary: summary(mb), Reliability: reliability(g, pb)}
	c.Delta = Summary{
		Accuracy: mb.Accuracy - ma.Accuracy, MacroF1: mb.MacroF1 - ma.MacroF1, ECE: mb.ECE - ma.ECE,
		InScopeAccuracy: mb.InScopeAccuracy - ma.InScopeAccuracy, OOSRecall: mb.OOSRecall - ma.OOSRecall,
	}
	per := func(m intents.Metrics) map[string]intents.LabelMetrics {
		out := map[string]intents.LabelMetrics{}
		for _, l := range m.PerLabel {
			out[l.Label] = l
		}
		return out
	}
	la, lb := per(ma), per(mb)
	intentsOf := slices.Compact(slices.Sorted(slices.Values(g)))
	for _, in := range intentsOf {
		x, y := la[in], lb[in]
		d := IntentDelta{Intent: in, Support: x.Support,
			A: PRF{x.Precision, x.Recall, x.F1}, B: PRF{y.Precision, y.Recall, y.F1}}
		d.Delta = PRF{y.Precision - x.Precision, y.Recall - x.Recall, y.F1 - x.F1}
		c.PerIntent = append(c.PerIntent, d)
	}
	// Confusion axes: every gold label and every decision of either model.
	labelSet := slices.Clone(g)
	for i := range pa {
		labelSet = append(labelSet, pa[i].Decision(), pb[i].Decision())
	}
	slices.SortFunc(labelSet, func(x, y string) int {
		return cmp.Or(cmp.Compare(boolInt(x == intents.OOS), boolInt(y == intents.OOS)), strings.Compare(x, y))
	})
	c.Labels = slices.Compact(labelSet)
	pos := intents.LabelIndex(c.Labels)
	c.A.Confusion, c.B.Confusion = square(len(c.Labels)), square(len(c.Labels))
	for i, e := range test.Examples {
		da, db := pa[i].Decision(), pb[i].Decision()
		c.A.Confusion[pos[e.Label]][pos[da]]++
		c.B.Confusion[pos[e.Label]][pos[db]]++
		if da != db {
			ch := Change{Text: e.Text, Gold: e.Label, A: da, B: db, ConfA: pa[i].Confidence, ConfB: pb[i].Confidence}
			c.Changed = append(c.Changed, ch)
			if ch.Fixed() {
				c.Fixed++
			} else if ch.Broken() {
				c.Broken++
			}
		}
	}
	return c
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func square(n int) [][]int {
	m := make([][]int, n)
	for i := range m {
		m[i] = make([]int, n)
	}
	return m
}

func summary(m intents.Metrics) Summary {
	return Summary{Accuracy: m.Accuracy, MacroF1: m.MacroF1, ECE: m.ECE, InScopeAccuracy: m.InScopeAccuracy, OOSRecall: m.OOSRecall}
}

// reliability bins the in-scope messages' confidences, as intents.Evaluate
// does for its ECE: a prediction is right when its best in-scope intent
// is the gold one (out-of-scope messages have no right intent).
func reliability(gold []string, preds []intents.Prediction) Reliability {
	r := Reliability{Bins: make([]Bin, ReliabilityBins)}
	correct := make([]int, ReliabilityBins)
	n := 0
	for i := range r.Bins {
		r.Bins[i].Lo = float64(i) / ReliabilityBins
		r.Bins[i].Hi = float64(i+1) / ReliabilityBins
	}
	for i, g := range gold {
		if g == intents.OOS {
			continue
		}
		p := preds[i]
		b := max(min(int(p.Confidence*ReliabilityBins), ReliabilityBins-1), 0)
		r.Bins[b].N++
		r.Bins[b].Confidence += p.Confidence
		if p.Label == g {
			correct[b]++
		}
		n++
	}
	for i := range r.Bins {
		b := &r.Bins[i]
		if b.N == 0 {
			continue
		}
		b.Confidence /= float64(b.N)
		b.Accuracy = float64(correct[i]) / float64(b.N)
		r.ECE += math.Abs(b.Confidence-b.Accuracy) * float64(b.N) / float64(n)
	}
	return r
}

// WriteText prints the comparison for people: overall metrics, the
// intents whose F1 changed, and up to maxChanged changed messages (0:
// all).
func (c Comparison) WriteText(w io.Writer, maxChanged int) {
	name := func(s Side) string {
		if s.Info.ID != 0 {
			return fmt.Sprintf("#%d %s", s.Info.ID, s.Info.Version)
		}
		return s.Info.Version
	}
	fmt.Fprintf(w, "A: %s%s\nB: %s%s\non %s (%d messages)\n\n", name(c.A), active(c.A.Info), name(c.B), active(c.B.Info), c.TestSet, c.N)
	fmt.Fprintf(w, "%-22s %8s %8s %8s\n", "", "A", "B", "B-A")
	row := func(label string, a, b float64) { fmt.Fprintf(w, "%-22s %8.4f %8.4f %+8.4f\n", label, a, b, b-a) }
	row("accuracy", c.A.Summary.Accuracy, c.B.Summary.Accuracy)
	row("macro-F1", c.A.Summary.MacroF1, c.B.Summary.MacroF1)
	if c.HasOOS {
		row("in-scope accuracy", c.A.Summary.InScopeAccuracy, c.B.Summary.InScopeAccuracy)
		row("oos recall", c.A.Summary.OOSRecall, c.B.Summary.OOSRecall)
	}
	row("ECE (15 bins)", c.A.Summary.ECE, c.B.Summary.ECE)
	row("ECE (10 bins)", c.A.Reliability.ECE, c.B.Reliability.ECE)
	fmt.Fprintf(w, "\n%-28s %7s %7s %7s %7s  %s\n", "intent (F1)", "support", "A", "B", "B-A", "P / R (B-A)")
	unchanged := 0
	for _, d := range c.PerIntent {
		if math.Abs(d.Delta.F1) < 5e-5 && math.Abs(d.Delta.Precision) < 5e-5 && math.Abs(d.Delta.Recall) < 5e-5 {
			unchanged++
			continue
		}
		fmt.Fprintf(w, "%-28s %7d %7.3f %7.3f %+7.3f  %+.3f / %+.3f\n", d.Intent, d.Support, d.A.F1, d.B.F1, d.Delta.F1, d.Delta.Precision, d.Delta.Recall)
	}
	if unchanged > 0 {
		fmt.Fprintf(w, "(%d intents unchanged)\n", unchanged)
	}
	fmt.Fprintf(w, "\n%d messages changed: B fixed %d, broke %d, %d wrong either way\n", len(c.Changed), c.Fixed, c.Broken, len(c.Changed)-c.Fixed-c.Broken)
	for i, ch := range c.Changed {
		if maxChanged > 0 && i == maxChanged {
			fmt.Fprintf(w, "  ... %d more (--json lists all)\n", len(c.Changed)-maxChanged)
			break
		}
		mark := " "
		switch {
		case ch.Fixed():
			mark = "+"
		case ch.Broken():
			mark = "-"
		}
		fmt.Fprintf(w, "  %s %q gold %s: %s (%.2f) -> %s (%.2f)\n", mark, ch.Text, ch.Gold, ch.A, ch.ConfA, ch.B, ch.ConfB)
	}
}

func active(v VersionInfo) string {
	if v.Active {
		return " (active)"
	}
	return ""
}
