package intents_test

import (
	"math"
	"testing"

	"github.com/parley-chat/parley/intents"
)

func TestSoftmax(t *testing.T) {
	e := math.E
	tests := []struct {
		name   string
		scores []float64
		temp   float64
		want   []float64
	}{
		{"Uniform", []float64{2, 2}, 1, []float64{0.5, 0.5}},
		{"Plain", []float64{0, 1}, 1, []float64{1 / (1 + e), e / (1 + e)}},
		{"Temperature", []float64{0, 2}, 2, []float64{1 / (1 + e), e / (1 + e)}},
		{"Huge", []float64{1000, 1001}, 1, []float64{1 / (1 + e), e / (1 + e)}},
		{"VeryNegative", []float64{-1e4, 0}, 1, []float64{0, 1}},
		{"One", []float64{-3}, 1, []float64{1}},
	}
	for _, tt := range tests {
		got := intents.Softmax(nil, tt.scores, tt.temp)
		if len(got) != len(tt.want) {
			t.Fatalf("%s: Softmax(%v, %v) = %v, want %v", tt.name, tt.scores, tt.temp, got, tt.want)
		}
		for i := range got {
			if !near(got[i], tt.want[i]) {
				t.Errorf("%s: Softmax(%v, %v) = %v, want %v", tt.name, tt.scores, tt.temp, got, tt.want)
				break
			}
		}
	}
	// dst may alias scores.
	s := []float64{0, 1}
	if got := intents.Softmax(s, s, 1); &got[0] != &s[0] || !near(s[1], e/(1+e)) {
		t.Errorf("Softmax in place = %v, want it written into scores", got)
	}
}

func TestNLL(t *testing.T) {
	// p(gold) = 3/4 and 1/2.
	scores := [][]float64{{0, math.Log(3)}, {5, 5}}
	got := intents.NLL(scores, []int{1, 0}, 1)
	want := (-math.Log(0.75) - math.Log(0.5)) / 2
	if !near(got, want) {
		t.Errorf("NLL(%v) = %v, want %v", scores, got, want)
	}
	// Doubling the scores and the temperature changes nothing.
	double := [][]float64{{0, 2 * math.Log(3)}, {10, 10}}
	if got2 := intents.NLL(double, []int{1, 0}, 2); !near(got2, want) {
		t.Errorf("NLL(%v, T=2) = %v, want %v", double, got2, want)
	}
}

func TestFitTemperature(t *testing.T) {
	// Synthetic held-out data: true logits z, gold labels drawn from
	// softmax(z), and a model whose scores are z*trueT — overconfident
	// (trueT > 1) or underconfident (< 1). The fitted temperature must
	// recover trueT.
	for _, trueT := range []float64{0.5, 2.5} {
		r := intents.NewRand(7)
		const n, k = 3000, 4
		scores := make([][]float64, n)
		gold := make([]int, n)
		p := make([]float64, k)
		for i := range scores {
			z := make([]float64, k)
			for j := range z {
				z[j] = 2 * r.NormFloat64()
			}
			intents.Softmax(p, z, 1)
			u, c := r.Float64(), 0
			for c < k-1 && u > p[c] {
				u -= p[c]
				c++
			}
			gold[i] = c
			for j := range z {
				z[j] *= trueT
			}
			scores[i] = z
		}
		got := intents.FitTemperature(scores, gold)
		t.Logf("true temperature %v, fitted %.4f", trueT, got)
		if math.Abs(got-trueT)/trueT > 0.1 {
			t.Errorf("FitTemperature(scores = logits*%v) = %v, want %v within 10%%", trueT, got, trueT)
		}
		if a, b := intents.NLL(scores, gold, got), intents.NLL(scores, gold, 1); a > b {
			t.Errorf("FitTemperature = %v has NLL %v, worse than T=1's %v", got, a, b)
		}
	}
	if got := intents.FitTemperature(nil, nil); got != 1 {
		t.Errorf("FitTemperature(no data) = %v, want 1", got)
	}
}

func TestChooseThreshold(t *testing.T) {
	above := func(x float64) float64 { return math.Nextafter(x, 2) }
	tests := []struct {
		name    string
		conf    []float64
		oos     []bool
		correct []bool
		maxDrop float64
		want    intents.ThresholdPoint
	}{
		{
			// In scope: .9 right, .8 right, .7 wrong; out of scope: .3, .2, .6.
			// Flagging up to .6 catches every OOS message and loses no
			// right answer; flagging .7 too costs nothing but gains
			// nothing either (ties go to the lower threshold); flagging
			// .8 loses a right answer.
			name:    "Separable",
			conf:    []float64{0.9, 0.8, 0.7, 0.3, 0.2, 0.6},
			oos:     []bool{false, false, false, true, true, true},
			correct: []bool{true, true, false, false, false, false},
			maxDrop: 0.05,
			want:    intents.ThresholdPoint{Threshold: above(0.6), InScopeAccuracy: 2.0 / 3, OOSRecall: 1},
		},
		{
			// The OOS message (.6) sits above a right answer (.5): with
			// no accuracy to spare nothing can be flagged.
			name:    "NoDropAllowed",
			conf:    []float64{0.9, 0.5, 0.6},
			oos:     []bool{false, false, true},
			correct: []bool{true, true, false},
			maxDrop: 0,
			want:    intents.ThresholdPoint{InScopeAccuracy: 1},
		},
		{
			name:    "DropAllowed",
			conf:    []float64{0.9, 0.5, 0.6},
			oos:     []bool{false, false, true},
			correct: []bool{true, true, false},
			maxDrop: 0.5,
			want:    intents.ThresholdPoint{Threshold: above(0.6), InScopeAccuracy: 0.5, OOSRecall: 1},
		},
		{
			name:    "NoOOS",
			conf:    []float64{0.9, 0.4, 0.3},
			oos:     []bool{false, false, false},
			correct: []bool{true, false, true},
			maxDrop: 1,
			want:    intents.ThresholdPoint{InScopeAccuracy: 2.0 / 3},
		},
		{
			name:    "OnlyOOS",
			conf:    []float64{0.9, 0.4},
			oos:     []bool{true, true},
			correct: []bool{false, false},
			maxDrop: 1,
			want:    intents.ThresholdPoint{},
		},
		{
			name: "Empty",
			want: intents.ThresholdPoint{},
		},
	}
	// Each message's best label is "a" with probability conf (the
	// other four share the rest, never more than conf: every conf here is
	// at least 0.2); gold is "a" when the answer is right, "b" when it is
	// wrong, OOS for out-of-scope messages.
	labels := []string{"a", "b", "c", "d", "e"}
	for _, tt := range tests {
		var probs [][]float64
		var gold []string
		for i, c := range tt.conf {
			r := (1 - c) / 4
			probs = append(probs, []float64{c, r, r, r, r})
			switch {
			case tt.oos[i]:
				gold = append(gold, intents.OOS)
			case tt.correct[i]:
				gold = append(gold, "a")
			default:
				gold = append(gold, "b")
			}
		}
		got := intents.ChooseThreshold(labels, probs, gold, tt.maxDrop)
		if got.Threshold != tt.want.Threshold || !near(got.InScopeAccuracy, tt.want.InScopeAccuracy) || !near(got.OOSRecall, tt.want.OOSRecall) {
			t.Errorf("%s: ChooseThreshold(%v, %v, %v, %v) = %+v, want %+v", tt.name, tt.conf, tt.oos, tt.correct, tt.maxDrop, got, tt.want)
		}
	}

	// With an oos class: the threshold applies to the best in-scope
	// label (never oos), whose probability the class lowered.
	withOOS := []string{"a", intents.OOS}
	probs := [][]float64{{0.9, 0.1}, {0.55, 0.45}, {0.4, 0.6}, {0.3, 0.7}, {0.52, 0.48}}
	gold := []string{"a", "a", "a", intents.OOS, intents.OOS}
	got := intents.ChooseThreshold(withOOS, probs, gold, 0.34)
	want := intents.ThresholdPoint{Threshold: math.Nextafter(0.52, 2), BaseAccuracy: 1, InScopeAccuracy: 2.0 / 3, OOSRecall: 1, InScope: 3, OOS: 2}
	if got != want {
		t.Errorf("ChooseThreshold with an oos class = %+v, want %+v", got, want)
	}
}
