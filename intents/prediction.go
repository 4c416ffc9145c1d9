package intents

import (
	"math"
	"slices"
)

// Scored is a label with its calibrated probability.
type Scored struct {
	Label      string  `json:"label"`
	Confidence float64 `json:"confidence"`
}

// Prediction is a model's answer for one message.
type Prediction struct {
	// Label is the most probable label.
	Label string `json:"label"`
	// Confidence is Label's calibrated probability: among predictions
	// with confidence 0.8, about 80% are right on held-out data.
	Confidence float64 `json:"confidence"`
	// Alternatives are the next most probable labels, best first.
	Alternatives []Scored `json:"alternatives,omitempty"`
	// OutOfScope is set when Confidence is below the threshold chosen on
	// validation data: no label covers the message.
	OutOfScope bool `json:"out_of_scope"`
}

// Decision is the label acted on: OOS when the message is out of scope,
// otherwise Label.
func (p Prediction) Decision() string {
	if p.OutOfScope {
		return OOS
	}
	return p.Label
}

// DefaultTopK is how many alternatives predictions carry.
const DefaultTopK = 3

// NewPrediction builds a Prediction from a probability per label: the
// best label, up to k alternatives, and the out-of-scope flag, set when
// the best label's probability is below threshold (0 disables it). When
// labels include OOS (the model learned out-of-scope examples as a
// class), OOS is never the Label or an alternative: Label is the best
// in-scope label, whose probability the OOS class has lowered for
// messages like the out-of-scope ones. (The threshold alone decides, not
// "OOS is the most probable label": on the built-in data the threshold
// catches as many out-of-scope messages for a third of the in-scope
// accuracy lost.) probs is not retained.
func NewPrediction(labels []string, probs []float64, k int, threshold float64) Prediction {
	oos := slices.Index(labels, OOS)
	order := TopK(probs, max(k, 0)+2)
	if oos >= 0 {
		order = slices.DeleteFunc(order, func(i int) bool { return i == oos })
	}
	if len(order) == 0 {
		return Prediction{OutOfScope: true, Label: OOS}
	}
	order = order[:min(len(order), max(k, 0)+1)]
	p := Prediction{Label: labels[order[0]], Confidence: probs[order[0]]}
	for _, i := range order[1:] {
		p.Alternatives = append(p.Alternatives, Scored{Label: labels[i], Confidence: probs[i]})
	}
	p.OutOfScope = p.Confidence < threshold
	return p
}

// TopK returns the indices of the k largest values, largest first; ties
// go to the lower index so results are deterministic, and NaNs are
// skipped. k <= 0 gives none.
func TopK(v []float64, k int) []int {
	k = min(k, len(v))
	if k <= 0 {
		return nil
	}
	idx := make([]int, 0, k+1)
	for i, x := range v {
		if math.IsNaN(x) {
			continue
		}
		if len(idx) == k && x <= v[idx[k-1]] {
			continue
		}
		pos, _ := slices.BinarySearchFunc(idx, x, func(j int, x float64) int {
			if v[j] >= x {
				return -1
			}
			return 1
		})
		idx = slices.Insert(idx, pos, i)
		if len(idx) > k {
			idx = idx[:k]
		}
	}
	return idx
}
