package charts

import (
	"math"
	"testing"
	"time"
)

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		lo, hi    float64
		want      []float64 // nil: check the invariants only
		wantRange [2]float64
	}{
		{0, 0, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}, [2]float64{0, 1}}, // zero data
		{0, 7, []float64{0, 2, 4, 6, 8}, [2]float64{0, 8}},
		{0, 1, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}, [2]float64{0, 1}},
		{0, 100, []float64{0, 20, 40, 60, 80, 100}, [2]float64{0, 100}},
		{5, 5, []float64{0, 1, 2, 3, 4, 5}, [2]float64{0, 5}}, // one value
		{-3, -3, []float64{-3, -2, -1, 0}, [2]float64{-3, 0}},
		{-0.3, 0.5, []float64{-0.4, -0.2, 0, 0.2, 0.4, 0.6}, [2]float64{-0.4, 0.6}},
		{7, 0, []float64{0, 2, 4, 6, 8}, [2]float64{0, 8}}, // reversed
		{0, 1e12, []float64{0, 2e11, 4e11, 6e11, 8e11, 1e12}, [2]float64{0, 1e12}},
		{0, 3.7e15, nil, [2]float64{0, 4e15}},
		{math.NaN(), 3, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}, [2]float64{0, 1}},
		{0, math.Inf(1), []float64{0, 0.2, 0.4, 0.6, 0.8, 1}, [2]float64{0, 1}},
		{-math.MaxFloat64, math.MaxFloat64, nil, [2]float64{}},
		{1e15, 1e15 + 1, nil, [2]float64{}}, // a tiny range far from zero
		{0.1, 0.1 + 1e-14, nil, [2]float64{}},
	}
	for _, tt := range tests {
		ticks, lo, hi, step := niceTicks(tt.lo, tt.hi, 5)
		if tt.want != nil {
			if len(ticks) != len(tt.want) {
				t.Errorf("niceTicks(%v, %v): got %v, want %v", tt.lo, tt.hi, ticks, tt.want)
				continue
			}
			for i := range ticks {
				if !approx(ticks[i], tt.want[i]) {
					t.Errorf("niceTicks(%v, %v): got %v, want %v", tt.lo, tt.hi, ticks, tt.want)
					break
				}
			}
		}
		if tt.wantRange != [2]float64{} && (!approx(lo, tt.wantRange[0]) || !approx(hi, tt.wantRange[1])) {
			t.Errorf("niceTicks(%v, %v): range %v to %v, want %v", tt.lo, tt.hi, lo, hi, tt.wantRange)
		}
		// Invariants for every input: a few finite ascending ticks
		// within a finite range, with a positive step.
		if len(ticks) < 2 || len(ticks) > maxTicks+2 {
			t.Errorf("niceTicks(%v, %v): %d ticks %v, want 2 to %d", tt.lo, tt.hi, len(ticks), ticks, maxTicks+2)
		}
		if !finite(lo) || !finite(hi) || !(hi > lo) || !finite(step) || step <= 0 {
			t.Errorf("niceTicks(%v, %v): range %v to %v, step %v: want a finite range and step", tt.lo, tt.hi, lo, hi, step)
		}
		for i, v := range ticks {
			if !finite(v) || i > 0 && !(v > ticks[i-1]) {
				t.Errorf("niceTicks(%v, %v): ticks %v are not finite and ascending", tt.lo, tt.hi, ticks)
				break
			}
		}
	}
}

func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestAxisLabels(t *testing.T) {
	tests := []struct {
		v, step float64
		f       Format
		want    string
	}{
		{0, 1, Count, "0"},
		{950, 50, Count, "950"},
		{1500, 500, Count, "1.5k"},
		{2000, 1000, Count, "2k"},
		{2e6, 1e6, Count, "2M"},
		{1.25e9, 5e7, Count, "1.25B"},
		{1.2e9, 2e8, Count, "1.2B"},
		{4e12, 1e12, Count, "4T"},
		{3e18, 1e18, Count, "3e+18"},
		{0.5, 0.5, Count, "0.5"},
		{0.25, 0.05, Percent, "25%"},
		{0.025, 0.005, Percent, "2.5%"},
		{1, 0.2, Percent, "100%"},
		{0.4, 0.2, Signed, "+0.4"},
		{-0.4, 0.2, Signed, "−0.4"},
		{0, 0.2, Signed, "0"},
	}
	for _, tt := range tests {
		if got := axisLabel(tt.v, tt.step, tt.f); got != tt.want {
			t.Errorf("axisLabel(%v, %v, %v) = %q, want %q", tt.v, tt.step, tt.f, got, tt.want)
		}
	}
}

func TestValue(t *testing.T) {
	tests := []struct {
		v    float64
		f    Format
		want string
	}{
		{0, Count, "0"},
		{999, Count, "999"},
		{1234, Count, "1,234"},
		{1234567, Count, "1,234,567"},
		{-1234, Count, "−1,234"},
		{12.5, Count, "12.5"},
		{1e18, Count, "1e+18"},
		{0.1234, Percent, "12.3%"},
		{1, Percent, "100%"},
		{0, Percent, "0%"},
		{0.123, Signed, "+0.12"},
		{-0.5, Signed, "−0.50"},
		{-0.001, Signed, "0.00"},
		{math.NaN(), Count, "–"},
		{math.Inf(1), Percent, "–"},
	}
	for _, tt := range tests {
		if got := Value(tt.v, tt.f); got != tt.want {
			t.Errorf("Value(%v, %v) = %q, want %q", tt.v, tt.f, got, tt.want)
		}
	}
}

func TestDayStep(t *testing.T) {
	for _, tt := range []struct{ n, want int }{
		{1, 1}, {7, 1}, {8, 1}, {9, 2}, {14, 2}, {30, 7}, {90, 14}, {365, 56}, {10000, 1250},
	} {
		if got := dayStep(tt.n); got != tt.want {
			t.Errorf("dayStep(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
	if got := dayLabel(time.Date(2025, 12, 2, 23, 0, 0, 0, time.FixedZone("x", 3*3600))); got != "2 Dec" {
		t.Errorf("dayLabel of 2 Dec 23:00 +03:00 = %q, want the UTC day, 2 Dec", got)
	}
}

func TestFit(t *testing.T) {
	for _, tt := range []struct {
		s     string
		width float64
		want  string
	}{
		{"short", 100, "short"},
		{"a rather long segment profile name", 100, "a rather long…"},
		{"ünïcödé ünïcödé", 50, "ünïcöd…"},
		{"x", 1, "…"},
	} {
		if got := fit(tt.s, tt.width, 12); got != tt.want {
			t.Errorf("fit(%q, %v) = %q, want %q", tt.s, tt.width, got, tt.want)
		}
	}
}

func TestClean(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain", "plain"},
		{"tab\tnew\nline", "tab\tnew\nline"},
		{"bell\x07nul\x00", "bell nul "},
		{"bad \xff byte", "bad \uFFFD byte"},
		{"\uFFFE", " "},
	} {
		if got := clean(tt.in); got != tt.want {
			t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
