package intents

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// LabelMetrics are precision, recall and F1 for one label.
type LabelMetrics struct {
	Label     string  `json:"label"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Confusion counts test examples of Gold predicted as Predicted.
type Confusion struct {
	Gold      string `json:"gold"`
	Predicted string `json:"predicted"`
	Count     int    `json:"count"`
}

// Metrics summarize predictions against gold labels.
type Metrics struct {
	N        int     `json:"n"`
	Accuracy float64 `json:"accuracy"`
	MacroF1  float64 `json:"macro_f1"`
	// ECE is the expected calibration error of Prediction.Confidence
	// over in-scope examples (15 equal-width bins).
	ECE      float64        `json:"ece"`
	PerLabel []LabelMetrics `json:"per_label"`
	// Confused are the most frequent (gold, predicted) error pairs.
	Confused []Confusion `json:"most_confused"`
	// HasOOS is set when the gold labels include OOS; then
	// InScopeAccuracy is the accuracy on in-scope examples (an in-scope
	// message flagged out-of-scope counts as an error) and OOSRecall the
	// share of out-of-scope messages flagged.
	HasOOS          bool    `json:"-"`
	InScopeAccuracy float64 `json:"in_scope_accuracy,omitempty"`
	OOSRecall       float64 `json:"oos_recall,omitempty"`
	// InScopeLabelAccuracy is the share of in-scope examples whose best
	// in-scope label is right, flagged or not: the in-scope accuracy with
	// no out-of-scope detection. InScopeLabelAccuracy - InScopeAccuracy
	// is what detection costs.
	InScopeLabelAccuracy float64 `json:"in_scope_label_accuracy,omitempty"`
}

// ECEBins is the number of confidence bins for the expected calibration error.
const ECEBins = 15

// maxConfused is how many confused pairs Evaluate reports.
const maxConfused = 10

// Evaluate compares predictions with gold labels (same order).
func Evaluate(gold []string, preds []Prediction) Metrics {
	m := Metrics{N: len(gold)}
	if len(gold) == 0 || len(preds) != len(gold) {
		return m
	}
	type counts struct{ tp, fp, fn, support int }
	per := map[string]*counts{}
	get := func(l string) *counts {
		c := per[l]
		if c == nil {
			c = &counts{}
			per[l] = c
		}
		return c
	}
	pairs := map[[2]string]int{}
	var correct, inN, inCorrect, inLabel, oosN, oosHit int
	var bins [ECEBins]struct {
		n       int
		conf    float64
		correct int
	}
	for i, g := range gold {
		p := preds[i]
		d := p.Decision()
		get(g).support++
		if d == g {
			correct++
			get(g).tp++
		} else {
			get(g).fn++
			get(d).fp++
			pairs[[2]string{g, d}]++
		}
		if g == OOS {
			m.HasOOS = true
			oosN++
			if p.OutOfScope {
				oosHit++
			}
			continue
		}
		inN++
		if d == g {
			inCorrect++
		}
		if p.Label == g {
			inLabel++
		}
		b := min(int(p.Confidence*ECEBins), ECEBins-1)
		b = max(b, 0)
		bins[b].n++
		bins[b].conf += p.Confidence
		if p.Label == g {
			bins[b].correct++
		}
	}
	m.Accuracy = float64(correct) / float64(len(gold))
	var labels []string
	for l, c := range per {
		if c.support > 0 {
			labels = append(labels, l)
		}
	}
	slices.Sort(labels)
	for _, l := range labels {
		c := per[l]
		lm := LabelMetrics{Label: l, Support: c.support}
		if c.tp+c.fp > 0 {
			lm.Precision = float64(c.tp) / float64(c.tp+c.fp)
		}
		lm.Recall = float64(c.tp) / float64(c.support)
		if lm.Precision+lm.Recall > 0 {
			lm.F1 = 2 * lm.Precision * lm.Recall / (lm.Precision + lm.Recall)
		}
		m.MacroF1 += lm.F1
		m.PerLabel = append(m.PerLabel, lm)
	}
	m.MacroF1 /= float64(len(labels))
	if inN > 0 {
		for _, b := range bins {
			if b.n > 0 {
				m.ECE += math.Abs(b.conf/float64(b.n)-float64(b.correct)/float64(b.n)) * float64(b.n) / float64(inN)
			}
		}
	}
	if m.HasOOS {
		if inN > 0 {
			m.InScopeAccuracy = float64(inCorrect) / float64(inN)
			m.InScopeLabelAccuracy = float64(inLabel) / float64(inN)
		}
		m.OOSRecall = float64(oosHit) / float64(oosN)
	}
	for k, n := range pairs {
		m.Confused = append(m.Confused, Confusion{Gold: k[0], Predicted: k[1], Count: n})
	}
	slices.SortFunc(m.Confused, func(a, b Confusion) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Gold+"\x00"+a.Predicted, b.Gold+"\x00"+b.Predicted)
	})
	if len(m.Confused) > maxConfused {
		m.Confused = m.Confused[:maxConfused]
	}
	return m
}

// WriteText prints the metrics as a report for people.
func (m Metrics) WriteText(w io.Writer) {
	fmt.Fprintf(w, "examples      %d\n", m.N)
	fmt.Fprintf(w, "accuracy      %.4f\n", m.Accuracy)
	fmt.Fprintf(w, "macro-F1      %.4f\n", m.MacroF1)
	fmt.Fprintf(w, "ECE           %.4f\n", m.ECE)
	if m.HasOOS {
		fmt.Fprintf(w, "in-scope acc  %.4f (%.4f without out-of-scope detection)\n", m.InScopeAccuracy, m.InScopeLabelAccuracy)
		fmt.Fprintf(w, "oos recall    %.4f\n", m.OOSRecall)
	}
	fmt.Fprintf(w, "\n%-32s %9s %9s %9s %7s\n", "label", "precision", "recall", "f1", "support")
	for _, l := range m.PerLabel {
		fmt.Fprintf(w, "%-32s %9.3f %9.3f %9.3f %7d\n", l.Label, l.Precision, l.Recall, l.F1, l.Support)
	}
	if len(m.Confused) > 0 {
		fmt.Fprintf(w, "\nmost confused (gold -> predicted):\n")
		for _, c := range m.Confused {
			fmt.Fprintf(w, "  %4d  %s -> %s\n", c.Count, c.Gold, c.Predicted)
		}
	}
}
