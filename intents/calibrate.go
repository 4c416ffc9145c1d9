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

// ThresholdPoint is one candidate out-of-scope threshold and its effect
// on validation data.
type ThresholdPoint struct {
	Threshold       float64
	InScopeAccuracy float64
	OOSRecall       float64
}

// ChooseThreshold picks the out-of-scope threshold on validation data:
// the one with the highest out-of-scope recall whose in-scope accuracy
// is at most maxDrop below the accuracy with no threshold; ties go to
// the lower threshold. conf are top-label confidences; oos marks
// out-of-scope examples; correct marks in-scope examples whose top label
// is right. It returns 0 (no threshold) when there are no out-of-scope
// examples to learn from.
func ChooseThreshold(conf []float64, oos, correct []bool, maxDrop float64) ThresholdPoint {
	var nIn, nOOS, base int
	for i := range conf {
		if oos[i] {
			nOOS++
		} else {
			nIn++
			if correct[i] {
				base++
			}
		}
	}
	if nOOS == 0 || nIn == 0 {
		return ThresholdPoint{InScopeAccuracy: float64(base) / float64(max(nIn, 1))}
	}
	baseAcc := float64(base) / float64(nIn)
	best := ThresholdPoint{InScopeAccuracy: baseAcc}
	cands := slices.Clone(conf)
	slices.Sort(cands)
	cands = slices.Compact(cands)
	for _, c := range cands {
		// Threshold just above c: everything with conf <= c is flagged.
		t := math.Nextafter(c, 2)
		var keep, hit int
		for i := range conf {
			flagged := conf[i] < t
			if oos[i] {
				if flagged {
					hit++
				}
			} else if correct[i] && !flagged {
				keep++
			}
		}
		acc := float64(keep) / float64(nIn)
		rec := float64(hit) / float64(nOOS)
		if baseAcc-acc > maxDrop+1e-12 {
			break // accuracy only falls as the threshold rises
		}
		if rec > best.OOSRecall {
			best = ThresholdPoint{Threshold: t, InScopeAccuracy: acc, OOSRecall: rec}
		}
	}
	return best
}
