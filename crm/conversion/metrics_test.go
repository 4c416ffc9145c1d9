package conversion_test

import (
	"errors"
	"math"
	"testing"

	"github.com/parley-chat/parley/crm/conversion"
)

const (
	T = true
	F = false
)

func close(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestAUC(t *testing.T) {
	tests := []struct {
		name string
		p    []float64
		y    []bool
		want float64
	}{
		// The example in scikit-learn's roc_auc_score doc.
		{"ranked", []float64{0.1, 0.4, 0.35, 0.8}, []bool{F, F, T, T}, 0.75},
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []bool{F, F, T, T}, 1},
		{"inverted", []float64{0.9, 0.8, 0.2, 0.1}, []bool{F, F, T, T}, 0},
		// Every pair tied: each counts one half.
		{"all tied", []float64{0.5, 0.5, 0.5, 0.5}, []bool{F, T, F, T}, 0.5},
		// Pairs (pos, neg): (.5,.2)=1 (.5,.5)=1/2 (.9,.2)=1 (.9,.5)=1: 3.5/4.
		{"tie across classes", []float64{0.2, 0.5, 0.5, 0.9}, []bool{F, F, T, T}, 0.875},
		// Raw scores: (10,-3)=1 (10,10)=1/2 (2,-3)=1 (2,10)=0: 2.5/4.
		{"scores, not probabilities", []float64{-3, 10, 10, 2}, []bool{F, T, F, T}, 0.625},
		// Ties within one class do not matter: 2 pos over 1 neg, all above.
		{"ties within a class", []float64{0.1, 0.7, 0.7}, []bool{F, T, T}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := conversion.AUC(tt.p, tt.y)
			if err != nil || !close(got, tt.want, 1e-12) {
				t.Errorf("AUC(%v, %v) = %v, %v; want %v", tt.p, tt.y, got, err, tt.want)
			}
		})
	}
}

func TestMetricErrors(t *testing.T) {
	metrics := map[string]func([]float64, []bool) (float64, error){
		"AUC": conversion.AUC, "LogLoss": conversion.LogLoss, "Brier": conversion.Brier,
	}
	tests := []struct {
		name    string
		p       []float64
		y       []bool
		want    error
		metrics []string
	}{
		{"length mismatch", []float64{0.1, 0.2}, []bool{T}, conversion.ErrInvalidData, []string{"AUC", "LogLoss", "Brier"}},
		{"empty", nil, nil, conversion.ErrInvalidData, []string{"AUC", "LogLoss", "Brier"}},
		{"NaN", []float64{0.1, math.NaN()}, []bool{T, F}, conversion.ErrInvalidData, []string{"AUC", "LogLoss", "Brier"}},
		{"Inf", []float64{math.Inf(1), 0.2}, []bool{T, F}, conversion.ErrInvalidData, []string{"AUC", "LogLoss", "Brier"}},
		{"not a probability", []float64{1.5, 0.2}, []bool{T, F}, conversion.ErrInvalidData, []string{"LogLoss", "Brier"}},
		{"one class", []float64{0.1, 0.2}, []bool{T, T}, conversion.ErrOneClass, []string{"AUC"}},
	}
	for _, tt := range tests {
		for _, name := range tt.metrics {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				got, err := metrics[name](tt.p, tt.y)
				if !errors.Is(err, tt.want) {
					t.Errorf("%s(%v, %v) = %v, %v; want error %v", name, tt.p, tt.y, got, err, tt.want)
				}
			})
		}
	}
}

func TestLogLossBrier(t *testing.T) {
	tests := []struct {
		name        string
		p           []float64
		y           []bool
		loss, brier float64
	}{
		{"half", []float64{0.5}, []bool{T}, math.Ln2, 0.25},
		// -(ln .9 + ln .8)/2; ((.1)² + (.2)²)/2.
		{"two", []float64{0.9, 0.2}, []bool{T, F}, (-math.Log(0.9) - math.Log(0.8)) / 2, 0.025},
		// Clipped at 1e-15: -ln(1e-15).
		{"confident mistake", []float64{0}, []bool{T}, 34.538776394910684, 1},
		{"certain and right", []float64{1, 0}, []bool{T, F}, 1e-15, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := conversion.LogLoss(tt.p, tt.y)
			if err != nil || !close(l, tt.loss, 1e-12) {
				t.Errorf("LogLoss(%v, %v) = %v, %v; want %v", tt.p, tt.y, l, err, tt.loss)
			}
			b, err := conversion.Brier(tt.p, tt.y)
			if err != nil || !close(b, tt.brier, 1e-15) {
				t.Errorf("Brier(%v, %v) = %v, %v; want %v", tt.p, tt.y, b, err, tt.brier)
			}
		})
	}
}

func TestCalibration(t *testing.T) {
	t.Run("equal width", func(t *testing.T) {
		p := []float64{0.05, 0.15, 0.12, 0.95, 1.0}
		y := []bool{F, T, F, T, T}
		got, err := conversion.Calibration(p, y, 10, conversion.EqualWidth)
		if err != nil {
			t.Fatalf("Calibration(%v, %v, 10): %v", p, y, err)
		}
		want := map[int]conversion.CalibrationBin{
			0: {Lo: 0, Hi: 0.1, Count: 1, Positives: 0, MeanPredicted: 0.05, Observed: 0},
			1: {Lo: 0.1, Hi: 0.2, Count: 2, Positives: 1, MeanPredicted: 0.135, Observed: 0.5},
			9: {Lo: 0.9, Hi: 1, Count: 2, Positives: 2, MeanPredicted: 0.975, Observed: 1},
		}
		if len(got) != 10 {
			t.Fatalf("Calibration(%v, %v, 10) has %d bins, want 10", p, y, len(got))
		}
		for k, b := range got {
			w := want[k]
			if w.Count == 0 {
				w.Lo, w.Hi = float64(k)/10, float64(k+1)/10
			}
			if b.Count != w.Count || b.Positives != w.Positives || !close(b.MeanPredicted, w.MeanPredicted, 1e-12) ||
				!close(b.Observed, w.Observed, 1e-12) || !close(b.Lo, w.Lo, 1e-12) || !close(b.Hi, w.Hi, 1e-12) {
				t.Errorf("bin %d of Calibration(%v, %v) = %+v, want %+v", k, p, y, b, w)
			}
		}
	})
	t.Run("quantile", func(t *testing.T) {
		p := []float64{0.3, 0.1, 0.2, 0.4}
		y := []bool{F, F, T, T}
		got, err := conversion.Calibration(p, y, 2, conversion.Quantile)
		want := []conversion.CalibrationBin{
			{Lo: 0.1, Hi: 0.2, Count: 2, Positives: 1, MeanPredicted: 0.15, Observed: 0.5},
			{Lo: 0.3, Hi: 0.4, Count: 2, Positives: 1, MeanPredicted: 0.35, Observed: 0.5},
		}
		if err != nil || len(got) != 2 {
			t.Fatalf("Calibration(%v, %v, 2, Quantile) = %v, %v; want %v", p, y, got, err, want)
		}
		for k := range want {
			g, w := got[k], want[k]
			if g.Count != w.Count || g.Positives != w.Positives || !close(g.MeanPredicted, w.MeanPredicted, 1e-12) ||
				g.Lo != w.Lo || g.Hi != w.Hi || g.Observed != w.Observed {
				t.Errorf("bin %d = %+v, want %+v", k, g, w)
			}
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, bins := range []int{0, -1, 5} {
			if _, err := conversion.Calibration([]float64{0.1, 0.2}, []bool{T, F}, bins, conversion.Quantile); !errors.Is(err, conversion.ErrInvalidData) {
				t.Errorf("Calibration(2 predictions, %d quantile bins) error = %v, want ErrInvalidData", bins, err)
			}
		}
	})
}
