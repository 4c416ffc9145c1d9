package conversion

import (
	"slices"
	"sort"
)

// MaxBins is the most bins a feature can have: bin indices are bytes.
const MaxBins = 256

// binSubsample bounds the values used to choose a feature's bin
// thresholds, as scikit-learn does (subsample=2e5): quantiles of 200,000
// values are as good as those of millions and much cheaper.
const binSubsample = 200_000

// binThresholds returns the upper edges of a feature's bins: a value v
// falls in bin k when thr[k-1] < v <= thr[k] (bin 0 below thr[0], the
// last bin above the last edge). With at most maxBins distinct values
// each gets its own bin, split at midpoints; otherwise the edges are
// the (k/maxBins)-quantiles, with scikit-learn's "midpoint"
// interpolation, deduplicated. values is sorted in place.
func binThresholds(values []float64, maxBins int) []float64 {
	slices.Sort(values)
	distinct := slices.Compact(slices.Clone(values))
	if len(distinct) <= maxBins {
		thr := make([]float64, 0, max(len(distinct)-1, 0))
		for i := 1; i < len(distinct); i++ {
			thr = append(thr, midpoint(distinct[i-1], distinct[i]))
		}
		return thr
	}
	n := len(values)
	thr := make([]float64, 0, maxBins-1)
	for k := 1; k < maxBins; k++ {
		pos := float64(k) / float64(maxBins) * float64(n-1)
		lo := int(pos)
		hi := lo
		if float64(lo) < pos {
			hi = lo + 1
		}
		q := midpoint(values[lo], values[hi])
		if len(thr) == 0 || q > thr[len(thr)-1] {
			thr = append(thr, q)
		}
	}
	return thr
}

// midpoint returns a value in [a, b) halfway between a <= b (a when they
// are equal or adjacent floats), so a goes left and b right of it.
func midpoint(a, b float64) float64 {
	m := a/2 + b/2
	if m >= b || m < a {
		return a
	}
	return m
}

// binOf returns v's bin for thresholds thr.
func binOf(thr []float64, v float64) uint8 {
	return uint8(sort.SearchFloat64s(thr, v))
}
