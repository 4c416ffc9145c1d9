package intents

import (
	"math"
	"slices"
)

// Softmax writes softmax(scores/temp) into dst (which may alias scores)
// and returns it.
func Softmax(dst, scores []float64, temp float64) []float64 {
	if len(dst) < len(scores) {
		dst = make([]float64, len(scores))
	}
	dst = dst[:len(scores)]
	mx := math.Inf(-1)
	for _, s := range scores {
		mx = max(mx, s)
	}
	var sum float64
	for i, s := range scores {
		e := math.Exp((s - mx) / temp)
		dst[i] = e
		sum += e
	}
	for i := range dst {
		dst[i] /= sum
	}
	return dst
}

// NLL is the mean negative log-likelihood of gold classes under
// softmax(scores/temp).
func NLL(scores [][]float64, gold []int, temp float64) float64 {
	var total float64
	for i, s := range scores {
		mx := math.Inf(-1)
		for _, x := range s {
			mx = max(mx, x)
		}
		var sum float64
		for _, x := range s {
			sum += math.Exp((x - mx) / temp)
		}
		total += math.Log(sum) - (s[gold[i]]-mx)/temp
	}
	return total / float64(len(scores))
}

// FitTemperature returns the temperature T minimizing the negative
// log-likelihood of softmax(scores/T) on held-out data: temperature
// scaling (Guo et al. 2017), which fixes over- or under-confidence
// without changing which label wins. Scores are logits or log-probs.
func FitTemperature(scores [][]float64, gold []int) float64 {
	if len(scores) == 0 {
		return 1
	}
	// NLL is unimodal in log T for this family: golden-section search.
	f := func(lt float64) float64 { return NLL(scores, gold, math.Exp(lt)) }
	lo, hi := math.Log(1e-3), math.Log(1e3)
	const phi = 0.6180339887498949
	a, b := hi-phi*(hi-lo), lo+phi*(hi-lo)
	fa, fb := f(a), f(b)
	for range 80 {
		if fa < fb {
			hi, b, fb = b, a, fa
			a = hi - phi*(hi-lo)
			fa = f(a)
		} else {
			lo, a, fa = a, b, fb
			b = lo + phi*(hi-lo)
			fb = f(b)
		}
	}
	return math.Exp((lo + hi) / 2)
}

// ThresholdPoint is an out-of-scope threshold and its effect on
// validation data.
type ThresholdPoint struct {
	Threshold float64
	// BaseAccuracy is the in-scope accuracy of the best in-scope label
	// with no out-of-scope detection at all.
	BaseAccuracy float64
	// InScopeAccuracy counts an in-scope message flagged out of scope as
	// an error; OOSRecall is the share of out-of-scope messages flagged.
	InScopeAccuracy float64
	OOSRecall       float64
	// InScope and OOS count the validation messages.
	InScope, OOS int
}

// Metrics returns the point as artifact header metrics.
func (tp ThresholdPoint) Metrics() map[string]float64 {
	m := map[string]float64{"heldout_accuracy": tp.BaseAccuracy}
	if tp.OOS > 0 {
		m["heldout_in_scope_accuracy"] = tp.InScopeAccuracy
		m["heldout_oos_recall"] = tp.OOSRecall
	}
	return m
}

// ChooseThreshold picks the out-of-scope threshold on validation data:
// the one with the highest out-of-scope recall whose in-scope accuracy
// is at most maxDrop below BaseAccuracy; ties go to the lower threshold.
// probs[i] are a model's probabilities (in labels order) for a message
// whose gold label is gold[i] (OOS for out-of-scope messages); a
// message is flagged when its best in-scope label's probability is below
// the threshold, as in NewPrediction. Without out-of-scope messages to
// learn from, the threshold is 0 (none).
func ChooseThreshold(labels []string, probs [][]float64, gold []string, maxDrop float64) ThresholdPoint {
	type point struct {
		conf         float64
		oos, flagged bool // gold out of scope; flagged by an oos class
		right        bool // in scope, and the best in-scope label is gold
	}
	pts := make([]point, len(probs))
	var tp ThresholdPoint
	var base int
	for i, p := range probs {
		pr := NewPrediction(labels, p, 0, 0)
		pts[i] = point{conf: pr.Confidence, oos: gold[i] == OOS, right: gold[i] != OOS && pr.Label == gold[i]}
		if pts[i].oos {
			tp.OOS++
		} else {
			tp.InScope++
			if pts[i].right {
				base++
			}
		}
	}
	tp.BaseAccuracy = float64(base) / float64(max(tp.InScope, 1))
	eval := func(t float64) (acc, rec float64) {
		var keep, hit int
		for _, p := range pts {
			flagged := p.conf < t
			if p.oos && flagged {
				hit++
			} else if p.right && !flagged {
				keep++
			}
		}
		return float64(keep) / float64(max(tp.InScope, 1)), float64(hit) / float64(max(tp.OOS, 1))
	}
	tp.InScopeAccuracy, tp.OOSRecall = eval(0)
	if tp.OOS == 0 || tp.InScope == 0 {
		tp.OOSRecall = 0
		return tp
	}
	cands := make([]float64, len(pts))
	for i, p := range pts {
		cands[i] = p.conf
	}
	slices.Sort(cands)
	cands = slices.Compact(cands)
	best := tp
	for _, c := range cands {
		// Threshold just above c: everything with conf <= c is flagged.
		t := math.Nextafter(c, 2)
		acc, rec := eval(t)
		if tp.BaseAccuracy-acc > maxDrop+1e-12 {
			break // accuracy only falls as the threshold rises
		}
		if rec > best.OOSRecall {
			best.Threshold, best.InScopeAccuracy, best.OOSRecall = t, acc, rec
		}
	}
	return best
}
