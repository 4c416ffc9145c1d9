package intents_test

import (
	"math"
	"slices"
	"testing"

	"github.com/parley-chat/parley/intents"
)

func TestTopK(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		v    []float64
		k    int
		want []int
	}{
		{"Plain", []float64{0.1, 0.7, 0.2}, 2, []int{1, 2}},
		{"TiesLowerIndexFirst", []float64{0.2, 0.5, 0.5, 0.1, 0.5}, 2, []int{1, 2}},
		{"TiesAll", []float64{0.2, 0.5, 0.5, 0.1, 0.5}, 10, []int{1, 2, 4, 0, 3}},
		{"AllEqual", []float64{1, 1, 1}, 3, []int{0, 1, 2}},
		{"TieAtTheCut", []float64{0.3, 0.1, 0.3, 0.3}, 2, []int{0, 2}},
		{"NaNSkipped", []float64{nan, 0.3, nan, 0.4}, 3, []int{3, 1}},
		{"AllNaN", []float64{nan, nan}, 2, nil},
		{"Negative", []float64{-3, -1, -2}, 2, []int{1, 2}},
		{"Infinities", []float64{math.Inf(-1), math.Inf(1), 0}, 3, []int{1, 2, 0}},
		{"KZero", []float64{0.1, 0.2}, 0, nil},
		{"KNegative", []float64{0.1, 0.2}, -1, nil},
		{"Empty", nil, 3, nil},
	}
	for _, tt := range tests {
		if got := intents.TopK(tt.v, tt.k); !slices.Equal(got, tt.want) {
			t.Errorf("%s: TopK(%v, %d) = %v, want %v", tt.name, tt.v, tt.k, got, tt.want)
		}
	}
}

func TestNewPrediction(t *testing.T) {
	labels := []string{"a", "b", "c", "d", "e"}
	probs := []float64{0.1, 0.4, 0.05, 0.3, 0.15}
	tests := []struct {
		name      string
		k         int
		threshold float64
		want      intents.Prediction
	}{
		{"TopThree", 3, 0, intents.Prediction{Label: "b", Confidence: 0.4, Alternatives: []intents.Scored{{"d", 0.3}, {"e", 0.15}, {"a", 0.1}}}},
		{"NoAlternatives", 0, 0, intents.Prediction{Label: "b", Confidence: 0.4}},
		{"BelowThreshold", 1, 0.5, intents.Prediction{Label: "b", Confidence: 0.4, Alternatives: []intents.Scored{{"d", 0.3}}, OutOfScope: true}},
		{"AtThreshold", 1, 0.4, intents.Prediction{Label: "b", Confidence: 0.4, Alternatives: []intents.Scored{{"d", 0.3}}}},
		{"NegativeK", -5, 0, intents.Prediction{Label: "b", Confidence: 0.4}},
	}
	for _, tt := range tests {
		got := intents.NewPrediction(labels, probs, tt.k, tt.threshold)
		if got.Label != tt.want.Label || got.Confidence != tt.want.Confidence || got.OutOfScope != tt.want.OutOfScope || !slices.Equal(got.Alternatives, tt.want.Alternatives) {
			t.Errorf("%s: NewPrediction(k=%d, threshold=%v) = %+v, want %+v", tt.name, tt.k, tt.threshold, got, tt.want)
		}
	}
	// With an oos class: never the label or an alternative.
	withOOS := []string{"a", intents.OOS, "c"}
	for _, tt := range []struct {
		probs     []float64
		threshold float64
		want      intents.Prediction
	}{
		{[]float64{0.3, 0.6, 0.1}, 0, intents.Prediction{Label: "a", Confidence: 0.3, Alternatives: []intents.Scored{{"c", 0.1}}}},
		{[]float64{0.3, 0.6, 0.1}, 0.31, intents.Prediction{Label: "a", Confidence: 0.3, Alternatives: []intents.Scored{{"c", 0.1}}, OutOfScope: true}},
		{[]float64{0.5, 0.4, 0.1}, 0, intents.Prediction{Label: "a", Confidence: 0.5, Alternatives: []intents.Scored{{"c", 0.1}}}},
		{[]float64{0.5, 0.4, 0.1}, 0.6, intents.Prediction{Label: "a", Confidence: 0.5, Alternatives: []intents.Scored{{"c", 0.1}}, OutOfScope: true}},
	} {
		got := intents.NewPrediction(withOOS, tt.probs, 3, tt.threshold)
		if got.Label != tt.want.Label || got.Confidence != tt.want.Confidence || got.OutOfScope != tt.want.OutOfScope || !slices.Equal(got.Alternatives, tt.want.Alternatives) {
			t.Errorf("NewPrediction(%v, %v, threshold %v) = %+v, want %+v", withOOS, tt.probs, tt.threshold, got, tt.want)
		}
	}
	if got := intents.NewPrediction([]string{"a"}, []float64{math.NaN()}, 3, 0); got.Decision() != intents.OOS {
		t.Errorf("NewPrediction(NaN probs) = %+v, want out of scope", got)
	}
	p := intents.Prediction{Label: "b", OutOfScope: true}
	if p.Decision() != intents.OOS {
		t.Errorf("Decision() of an out-of-scope prediction = %q, want %q", p.Decision(), intents.OOS)
	}
	p.OutOfScope = false
	if p.Decision() != "b" {
		t.Errorf("Decision() = %q, want %q", p.Decision(), "b")
	}
}

func TestNewSentiment(t *testing.T) {
	labels := []string{intents.Negative, intents.Neutral, intents.Positive}
	for _, tc := range []struct {
		probs []float64
		want  intents.Sentiment
	}{
		{[]float64{0.8, 0.15, 0.05}, intents.Sentiment{Label: intents.Negative, Score: -0.75, Confidence: 0.8}},
		{[]float64{0.1, 0.2, 0.7}, intents.Sentiment{Label: intents.Positive, Score: 0.6, Confidence: 0.7}},
		{[]float64{0.3, 0.4, 0.3}, intents.Sentiment{Label: intents.Neutral, Score: 0, Confidence: 0.4}},
	} {
		got := intents.NewSentiment(labels, tc.probs)
		if got.Label != tc.want.Label || math.Abs(got.Score-tc.want.Score) > 1e-12 || got.Confidence != tc.want.Confidence {
			t.Errorf("NewSentiment(%v) = %+v, want %+v", tc.probs, got, tc.want)
		}
	}
	for _, tc := range []struct {
		labels []string
		want   bool
	}{
		{labels, true},
		{[]string{intents.Negative, intents.Positive}, true},
		{[]string{intents.Negative, intents.Neutral}, false},
		{[]string{intents.Negative, intents.Positive, "order_status"}, false},
	} {
		if got := intents.SentimentLabels(tc.labels); got != tc.want {
			t.Errorf("SentimentLabels(%v) = %v, want %v", tc.labels, got, tc.want)
		}
	}
}
