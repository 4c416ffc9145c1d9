package conversion

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// checkScored validates predictions against labels for a metric.
func checkScored(metric string, p []float64, y []bool, probabilities bool) error {
	if len(p) != len(y) {
		return fmt.Errorf("%s: %w: %d predictions for %d labels", metric, ErrInvalidData, len(p), len(y))
	}
	if len(p) == 0 {
		return fmt.Errorf("%s: %w: no predictions", metric, ErrInvalidData)
	}
	for i, v := range p {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: %w: prediction %d is %v", metric, ErrInvalidData, i, v)
		}
		if probabilities && (v < 0 || v > 1) {
			return fmt.Errorf("%s: %w: prediction %d is %v, not a probability", metric, ErrInvalidData, i, v)
		}
	}
	return nil
}

// AUC returns the area under the ROC curve of scores p for labels y:
// the probability that a random positive scores above a random negative,
// ties counting one half (the Mann-Whitney U statistic over P·N). It is
// exact, computed from average ranks in O(n log n). Scores need not be
// probabilities. Both classes must be present (else ErrOneClass).
func AUC(p []float64, y []bool) (float64, error) {
	if err := checkScored("auc", p, y, false); err != nil {
		return 0, err
	}
	order := make([]int, len(p))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	var pos, neg int
	var rankSum float64 // sum of positives' ranks (1-based, ties averaged)
	for i := 0; i < len(order); {
		j := i
		for j < len(order) && p[order[j]] == p[order[i]] {
			j++
		}
		avg := float64(i+1+j) / 2 // mean of ranks i+1 .. j
		for _, k := range order[i:j] {
			if y[k] {
				pos++
				rankSum += avg
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return 0, fmt.Errorf("auc: %w: %d positives, %d negatives", ErrOneClass, pos, neg)
	}
	u := rankSum - float64(pos)*float64(pos+1)/2
	return u / (float64(pos) * float64(neg)), nil
}

// LogLossEpsilon clips probabilities in LogLoss to [ε, 1-ε], so one
// confident mistake costs about 34.5 nats instead of infinity.
const LogLossEpsilon = 1e-15

// LogLoss returns the mean negative log-likelihood of labels y under
// probabilities p (natural log), with p clipped by LogLossEpsilon.
func LogLoss(p []float64, y []bool) (float64, error) {
	if err := checkScored("log loss", p, y, true); err != nil {
		return 0, err
	}
	var s float64
	for i, v := range p {
		v = math.Min(math.Max(v, LogLossEpsilon), 1-LogLossEpsilon)
		if y[i] {
			s -= math.Log(v)
		} else {
			s -= math.Log1p(-v)
		}
	}
	return s / float64(len(p)), nil
}

// Brier returns the mean squared difference between probabilities p and
// outcomes y (1 for true, 0 for false).
func Brier(p []float64, y []bool) (float64, error) {
	if err := checkScored("brier", p, y, true); err != nil {
		return 0, err
	}
	var s float64
	for i, v := range p {
		d := v
		if y[i] {
			d = v - 1
		}
		s += d * d
	}
	return s / float64(len(p)), nil
}

// Binning chooses a calibration table's bins.
type Binning int

// Binnings.
const (
	// EqualWidth bins are [k/B, (k+1)/B); the last includes 1.
	EqualWidth Binning = iota
	// Quantile bins hold equal numbers of examples (±1) in order of
	// probability; tied probabilities may straddle two bins.
	Quantile
)

// CalibrationBin is one row of a calibration table.
type CalibrationBin struct {
	// Lo and Hi bound the bin: its range for EqualWidth, its smallest
	// and largest probability for Quantile.
	Lo, Hi    float64
	Count     int
	Positives int
	// MeanPredicted is the bin's mean probability and Observed its rate
	// of positives (both 0 for an empty bin).
	MeanPredicted float64
	Observed      float64
}

// Calibration returns a calibration table of bins rows: for each bin of
// predicted probability, the mean prediction against the observed rate.
// A calibrated model has MeanPredicted ≈ Observed in every bin.
func Calibration(p []float64, y []bool, bins int, b Binning) ([]CalibrationBin, error) {
	if err := checkScored("calibration", p, y, true); err != nil {
		return nil, err
	}
	if bins < 1 || bins > len(p) && b == Quantile || bins > 10_000 {
		return nil, fmt.Errorf("calibration: %w: %d bins for %d predictions", ErrInvalidData, bins, len(p))
	}
	table := make([]CalibrationBin, bins)
	switch b {
	case EqualWidth:
		for k := range table {
			table[k].Lo, table[k].Hi = float64(k)/float64(bins), float64(k+1)/float64(bins)
		}
		for i, v := range p {
			k := min(int(v*float64(bins)), bins-1)
			table[k].add(v, y[i])
		}
	case Quantile:
		order := make([]int, len(p))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
		for k := range table {
			lo, hi := k*len(p)/bins, (k+1)*len(p)/bins
			table[k].Lo, table[k].Hi = p[order[lo]], p[order[hi-1]]
			for _, i := range order[lo:hi] {
				table[k].add(p[i], y[i])
			}
		}
	default:
		return nil, fmt.Errorf("calibration: %w: unknown binning %d", ErrInvalidData, b)
	}
	for k := range table {
		if c := table[k].Count; c > 0 {
			table[k].MeanPredicted /= float64(c)
			table[k].Observed = float64(table[k].Positives) / float64(c)
		}
	}
	return table, nil
}

// add counts one prediction into the bin; Calibration turns the sum
// into a mean.
func (c *CalibrationBin) add(p float64, y bool) {
	c.Count++
	c.MeanPredicted += p
	if y {
		c.Positives++
	}
}

// Report is a model's quality on labelled data.
type Report struct {
	Examples, Positives int
	AUC, LogLoss, Brier float64
	// Calibration has 10 equal-width bins.
	Calibration []CalibrationBin
}

// Evaluate scores d with m (see Score) and reports AUC, log loss, Brier
// score and a 10-bin calibration table.
func Evaluate(m Model, d Dataset) (Report, error) {
	if d.Y == nil {
		return Report{}, fmt.Errorf("evaluate: %w: dataset has no labels", ErrInvalidData)
	}
	p, err := Score(m, d)
	if err != nil {
		return Report{}, fmt.Errorf("evaluate: %w", err)
	}
	r := Report{Examples: d.Len(), Positives: d.Positives()}
	if r.AUC, err = AUC(p, d.Y); err != nil {
		return Report{}, fmt.Errorf("evaluate: %w", err)
	}
	if r.LogLoss, err = LogLoss(p, d.Y); err != nil {
		return Report{}, fmt.Errorf("evaluate: %w", err)
	}
	if r.Brier, err = Brier(p, d.Y); err != nil {
		return Report{}, fmt.Errorf("evaluate: %w", err)
	}
	if r.Calibration, err = Calibration(p, d.Y, 10, EqualWidth); err != nil {
		return Report{}, fmt.Errorf("evaluate: %w", err)
	}
	return r, nil
}
