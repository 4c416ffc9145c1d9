package intents_test

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/parley-chat/parley/intents"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestEvaluate(t *testing.T) {
	// Six test messages, worked by hand:
	//
	//	gold  label conf  oos   decision
	//	a     a     .90   -     a     right
	//	a     b     .62   -     b     wrong (a -> b)
	//	b     b     .88   -     b     right
	//	b     b     .42   yes   oos   wrong (b -> oos), though the label was right
	//	oos   a     .30   yes   oos   right
	//	oos   b     .70   -     b     wrong (oos -> b)
	gold := []string{"a", "a", "b", "b", intents.OOS, intents.OOS}
	preds := []intents.Prediction{
		{Label: "a", Confidence: 0.90},
		{Label: "b", Confidence: 0.62},
		{Label: "b", Confidence: 0.88},
		{Label: "b", Confidence: 0.42, OutOfScope: true},
		{Label: "a", Confidence: 0.30, OutOfScope: true},
		{Label: "b", Confidence: 0.70},
	}
	m := intents.Evaluate(gold, preds)

	// a: tp 1, fn 1, fp 0 -> P 1, R 1/2, F1 2/3.
	// b: tp 1, fn 1, fp 2 (the a and the oos predicted b) -> P 1/3, R 1/2, F1 0.4.
	// oos: tp 1, fn 1, fp 1 -> P 1/2, R 1/2, F1 1/2.
	wantPer := []intents.LabelMetrics{
		{Label: "a", Precision: 1, Recall: 0.5, F1: 2.0 / 3, Support: 2},
		{Label: "b", Precision: 1.0 / 3, Recall: 0.5, F1: 0.4, Support: 2},
		{Label: intents.OOS, Precision: 0.5, Recall: 0.5, F1: 0.5, Support: 2},
	}
	// ECE over the four in-scope examples, 15 bins of width 1/15, judged
	// on the top label (not the decision): .90 and .88 share bin 13 (mean
	// .89, both right), .62 is bin 9 (wrong), .42 bin 6 (label right):
	// (2*|.89-1| + |.62-0| + |.42-1|) / 4 = (.22 + .62 + .58) / 4.
	wantECE := (0.22 + 0.62 + 0.58) / 4
	wantConfused := []intents.Confusion{
		{Gold: "a", Predicted: "b", Count: 1},
		{Gold: "b", Predicted: intents.OOS, Count: 1},
		{Gold: intents.OOS, Predicted: "b", Count: 1},
	}
	switch {
	case m.N != 6 || !near(m.Accuracy, 0.5):
		t.Errorf("Evaluate: N %d accuracy %v, want 6 0.5", m.N, m.Accuracy)
	case !near(m.MacroF1, (2.0/3+0.4+0.5)/3):
		t.Errorf("Evaluate: macro-F1 %v, want %v", m.MacroF1, (2.0/3+0.4+0.5)/3)
	case !near(m.ECE, wantECE):
		t.Errorf("Evaluate: ECE %v, want %v", m.ECE, wantECE)
	case !m.HasOOS || !near(m.InScopeAccuracy, 0.5) || !near(m.OOSRecall, 0.5):
		t.Errorf("Evaluate: HasOOS %v in-scope accuracy %v OOS recall %v, want true 0.5 0.5", m.HasOOS, m.InScopeAccuracy, m.OOSRecall)
	}
	if !slices.EqualFunc(m.PerLabel, wantPer, func(a, b intents.LabelMetrics) bool {
		return a.Label == b.Label && a.Support == b.Support && near(a.Precision, b.Precision) && near(a.Recall, b.Recall) && near(a.F1, b.F1)
	}) {
		t.Errorf("Evaluate: per label %+v, want %+v", m.PerLabel, wantPer)
	}
	if !slices.Equal(m.Confused, wantConfused) {
		t.Errorf("Evaluate: confused %+v, want %+v", m.Confused, wantConfused)
	}

	var buf bytes.Buffer
	m.WriteText(&buf)
	for _, want := range []string{"accuracy      0.5000", "oos recall    0.5000", "1  a -> b"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("WriteText output\n%s\nlacks %q", buf.String(), want)
		}
	}
}

func TestEvaluateConfusedOrder(t *testing.T) {
	// Most frequent pair first; more than ten pairs are cut to ten.
	var gold []string
	var preds []intents.Prediction
	add := func(g, p string, n int) {
		for range n {
			gold = append(gold, g)
			preds = append(preds, intents.Prediction{Label: p, Confidence: 0.5})
		}
	}
	add("x", "y", 3)
	for i := range 12 {
		add(string(rune('a'+i)), "z", 1)
	}
	m := intents.Evaluate(gold, preds)
	if len(m.Confused) != 10 || m.Confused[0] != (intents.Confusion{Gold: "x", Predicted: "y", Count: 3}) || m.Confused[1].Gold != "a" {
		t.Errorf("Evaluate: confused %+v, want x->y first, then a->z ..., 10 in all", m.Confused)
	}
	if m.HasOOS || m.InScopeAccuracy != 0 || m.OOSRecall != 0 {
		t.Errorf("Evaluate without OOS gold: HasOOS %v in-scope %v recall %v, want false 0 0", m.HasOOS, m.InScopeAccuracy, m.OOSRecall)
	}
}

func TestEvaluateDegenerate(t *testing.T) {
	tests := []struct {
		name  string
		gold  []string
		preds []intents.Prediction
		n     int
	}{
		{"Empty", nil, nil, 0},
		{"LengthMismatch", []string{"a", "b"}, []intents.Prediction{{Label: "a"}}, 2},
	}
	for _, tt := range tests {
		m := intents.Evaluate(tt.gold, tt.preds)
		if m.N != tt.n || m.Accuracy != 0 || m.MacroF1 != 0 || len(m.PerLabel) != 0 || math.IsNaN(m.ECE) {
			t.Errorf("%s: Evaluate = %+v, want N %d and zeros", tt.name, m, tt.n)
		}
	}
	// Confidences outside [0, 1] are clamped into the end bins, not an index panic.
	m := intents.Evaluate([]string{"a", "a"}, []intents.Prediction{{Label: "a", Confidence: 1.5}, {Label: "a", Confidence: -0.5}})
	// Both right: (|1.5-1| + |-0.5-1|) / 2.
	if !near(m.ECE, 1) {
		t.Errorf("Evaluate with confidences 1.5 and -0.5: ECE %v, want 1", m.ECE)
	}
}
