package conversion

import (
	"math"
	"slices"
	"testing"
)

func TestBinThresholds(t *testing.T) {
	tests := []struct {
		name    string
		values  []float64
		maxBins int
		want    []float64
	}{
		{"one value", []float64{3, 3, 3}, 255, []float64{}},
		{"few values: midpoints", []float64{2, 0, 1, 1, 5}, 255, []float64{0.5, 1.5, 3.5}},
		{"adjacent floats", []float64{1, math.Nextafter(1, 2)}, 255, []float64{1}},
		// 8 distinct values into 4 bins: quantiles at 1/4, 2/4, 3/4 of 7
		// positions (1.75, 3.5, 5.25), midpoint of the neighbours.
		{"quantiles", []float64{7, 6, 5, 4, 3, 2, 1, 0}, 4, []float64{1.5, 3.5, 5.5}},
		// Heavy ties: all three quartiles are 0, kept once (scikit-learn
		// repeats them, leaving empty bins): zeros, then the rest.
		{"ties", append(slices.Repeat([]float64{0}, 90), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 4, []float64{0}},
	}
	for _, tt := range tests {
		got := binThresholds(slices.Clone(tt.values), tt.maxBins)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: binThresholds(%v, %d) = %v, want %v", tt.name, tt.values, tt.maxBins, got, tt.want)
		}
	}
}

func TestBinOf(t *testing.T) {
	thr := []float64{0.5, 1.5, 3.5}
	for _, tt := range []struct {
		v    float64
		want uint8
	}{{-1, 0}, {0.5, 0}, {0.6, 1}, {1.5, 1}, {2, 2}, {3.5, 2}, {100, 3}} {
		if got := binOf(thr, tt.v); got != tt.want {
			t.Errorf("binOf(%v, %v) = %d, want %d", thr, tt.v, got, tt.want)
		}
	}
	// Many distinct values: at most 255 bins, each holding about 1/255.
	values := make([]float64, 100_000)
	for i := range values {
		values[i] = math.Sin(float64(i)) * 1000
	}
	thr = binThresholds(slices.Clone(values), 255)
	counts := make([]int, 256)
	for _, v := range values {
		counts[binOf(thr, v)]++
	}
	if len(thr) != 254 {
		t.Errorf("%d edges for 100,000 distinct values, want 254", len(thr))
	}
	for b, c := range counts[:255] {
		if c < 350 || c > 430 {
			t.Errorf("bin %d holds %d values, want about 100,000/255 = 392", b, c)
		}
	}
}
