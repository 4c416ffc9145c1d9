package conversion

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/optimize"
)

// Logistic regression defaults.
const (
	// DefaultL2 equals scikit-learn's LogisticRegression C = 1.
	DefaultL2 = 1.0
	// DefaultMaxIterations bounds L-BFGS iterations; the problems here
	// converge in well under 200.
	DefaultMaxIterations = 1000
	// DefaultGradTol stops L-BFGS when no coordinate of the mean
	// objective's gradient exceeds it.
	DefaultGradTol = 1e-7
)

// LogisticConfig configures an L2-regularized logistic regression. The
// features are standardized inside the model (training means and
// population standard deviations are stored with it), and the fit
// minimizes
//
//	Σ_i log(1 + exp(-s_i·(b + w·z_i))) + L2/2·‖w‖²,   s_i = ±1
//
// over standardized rows z_i, with the intercept b unpenalized, using
// gonum's L-BFGS on the exact objective and gradient. The objective is
// strictly convex for L2 > 0, so the result does not depend on the start
// and the fit is deterministic.
type LogisticConfig struct {
	// L2 is the penalty strength λ (scikit-learn's 1/C); 0 fits without
	// penalty, which diverges on separable data.
	L2 float64 `json:"l2"`
	// MaxIterations bounds L-BFGS's major iterations.
	MaxIterations int `json:"max_iterations"`
	// GradTol is the convergence threshold on the gradient of the
	// objective divided by the number of examples.
	GradTol float64 `json:"grad_tol"`
	// Logger receives a summary of each fit at debug level (nil:
	// slog.Default()).
	Logger *slog.Logger `json:"-"`
}

// DefaultLogistic returns the default configuration.
func DefaultLogistic() LogisticConfig {
	return LogisticConfig{L2: DefaultL2, MaxIterations: DefaultMaxIterations, GradTol: DefaultGradTol}
}

func (c LogisticConfig) validate() error {
	switch {
	case !(c.L2 >= 0) || math.IsInf(c.L2, 0):
		return fmt.Errorf("l2 %v must be finite and non-negative", c.L2)
	case c.MaxIterations <= 0:
		return fmt.Errorf("max iterations %d must be positive (see DefaultLogistic)", c.MaxIterations)
	case !(c.GradTol > 0):
		return fmt.Errorf("gradient tolerance %v must be positive (see DefaultLogistic)", c.GradTol)
	}
	return nil
}

// Logistic is a fitted logistic regression. It is immutable and safe for
// concurrent use.
type Logistic struct {
	info Info
	p    logisticParams
	inv  []float64 // 1/Scale
}

// logisticParams are a logistic regression's parameters as stored.
type logisticParams struct {
	Config LogisticConfig `json:"config"`
	// Mean and Scale standardize feature j: z_j = (x_j - Mean_j) / Scale_j.
	Mean  []float64 `json:"mean"`
	Scale []float64 `json:"scale"`
	// Weights apply to standardized features.
	Weights    []float64 `json:"weights"`
	Intercept  float64   `json:"intercept"`
	Iterations int       `json:"iterations"`
	// Objective is the final value of the objective divided by the
	// number of examples.
	Objective float64 `json:"objective"`
}

var _ Model = (*Logistic)(nil)
var _ Trainer = LogisticConfig{}

// Train implements Trainer.
func (c LogisticConfig) Train(ctx context.Context, d Dataset, seed uint64) (Model, error) {
	return asModel(c.Fit(ctx, d, seed))
}

// Fit fits a logistic regression to d. seed is recorded in the model
// (the fit itself uses no randomness). It returns an error wrapping
// ErrInvalidData or ErrOneClass for unusable data, and the context's
// error when ctx ends first.
func (c LogisticConfig) Fit(ctx context.Context, d Dataset, seed uint64) (*Logistic, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("logistic regression: %w", err)
	}
	if err := d.checkTraining(); err != nil {
		return nil, fmt.Errorf("logistic regression: %w", err)
	}
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	n, p := len(d.X), len(d.Names)
	mean, scale := standardization(d.X, p)
	inv := make([]float64, p)
	for j := range inv {
		inv[j] = 1 / scale[j]
	}

	// Evaluations come as Func then Grad at the same point; compute both
	// in one pass over the data and cache them for the point.
	var (
		lastX    []float64
		lastF    float64
		lastGrad = make([]float64, p+1)
		z        = make([]float64, p)
	)
	eval := func(theta []float64) {
		if lastX != nil && floats.Equal(lastX, theta) {
			return
		}
		w, b := theta[:p], theta[p]
		for j := range lastGrad {
			lastGrad[j] = 0
		}
		gw, gb := lastGrad[:p], &lastGrad[p]
		var loss float64
		for i, x := range d.X {
			for j, v := range x {
				z[j] = (v - mean[j]) * inv[j]
			}
			s := b + floats.Dot(w, z)
			loss += logLoss1(s, d.Y[i])
			r := sigmoid(s)
			if d.Y[i] {
				r--
			}
			floats.AddScaled(gw, r, z)
			*gb += r
		}
		loss += c.L2 / 2 * floats.Dot(w, w)
		floats.AddScaled(gw, c.L2, w)
		scaleBy := 1 / float64(n)
		lastF = loss * scaleBy
		floats.Scale(scaleBy, lastGrad)
		lastX = append(lastX[:0], theta...)
	}
	problem := optimize.Problem{
		Func: func(theta []float64) float64 { eval(theta); return lastF },
		Grad: func(grad, theta []float64) { eval(theta); copy(grad, lastGrad) },
		Status: func() (optimize.Status, error) {
			if err := ctx.Err(); err != nil {
				return optimize.Failure, err
			}
			return optimize.NotTerminated, nil
		},
	}
	// Start at the prior log-odds with no weights: the optimum of the
	// intercept-only model, close to the solution on weak features.
	init := make([]float64, p+1)
	prior := float64(d.Positives()) / float64(n)
	init[p] = math.Log(prior / (1 - prior))
	settings := &optimize.Settings{
		GradientThreshold: c.GradTol,
		MajorIterations:   c.MaxIterations,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-13, Iterations: 25},
	}
	res, err := optimize.Minimize(problem, init, settings, &optimize.LBFGS{})
	if cerr := ctx.Err(); cerr != nil {
		return nil, fmt.Errorf("logistic regression: %w", cerr)
	}
	if res == nil {
		return nil, fmt.Errorf("logistic regression: minimize: %w", err)
	}
	if err != nil {
		// L-BFGS's line search gives up when it can no longer make
		// progress in floating point, which near the optimum is
		// convergence; accept the point only if the gradient says so.
		eval(res.X)
		if gn := floats.Norm(lastGrad, math.Inf(1)); !finite(res.F) || gn > 1e3*c.GradTol && gn > 1e-4 {
			return nil, fmt.Errorf("logistic regression: minimize (gradient norm %.3g): %w", gn, err)
		}
		log.Debug("conversion: logistic regression stopped early", "status", res.Status, "err", err)
	}
	w := append([]float64(nil), res.X[:p]...)
	if !finite(w...) || !finite(res.X[p]) {
		return nil, errors.New("logistic regression: diverged (is the data separable with l2 = 0?)")
	}
	m := &Logistic{
		info: Info{Kind: KindLogistic, Features: append([]string(nil), d.Names...), Examples: n,
			Positives: d.Positives(), DataHash: d.Hash(), Seed: seed},
		p: logisticParams{Config: c.withoutLogger(), Mean: mean, Scale: scale, Weights: w, Intercept: res.X[p],
			Iterations: res.MajorIterations, Objective: res.F},
		inv: inv,
	}
	log.Debug("conversion: fitted logistic regression", "examples", n, "features", p,
		"iterations", res.MajorIterations, "objective", res.F, "status", res.Status)
	return m, nil
}

// standardization returns each feature's mean and population standard
// deviation (1 for a constant feature, whose weight then stays 0).
func standardization(X [][]float64, p int) (mean, scale []float64) {
	mean, scale = make([]float64, p), make([]float64, p)
	for _, x := range X {
		floats.Add(mean, x)
	}
	floats.Scale(1/float64(len(X)), mean)
	for _, x := range X {
		for j, v := range x {
			dv := v - mean[j]
			scale[j] += dv * dv
		}
	}
	for j := range scale {
		sd := math.Sqrt(scale[j] / float64(len(X)))
		// A spread lost in rounding next to the mean is no spread.
		if !(sd > 1e-12*math.Max(1, math.Abs(mean[j]))) {
			sd = 1
		}
		scale[j] = sd
	}
	return mean, scale
}

// newLogistic builds a model from decoded parameters, validating them.
func newLogistic(info Info, p logisticParams) (*Logistic, error) {
	n := len(info.Features)
	if len(p.Mean) != n || len(p.Scale) != n || len(p.Weights) != n {
		return nil, fmt.Errorf("logistic regression: %d features but %d means, %d scales, %d weights",
			n, len(p.Mean), len(p.Scale), len(p.Weights))
	}
	if !bounded(p.Mean...) || !bounded(p.Weights...) || !bounded(p.Intercept) {
		return nil, fmt.Errorf("logistic regression: parameter not a number within ±%g", maxParam)
	}
	inv := make([]float64, n)
	for j, s := range p.Scale {
		if !(s > 0) || !bounded(s, 1/s) {
			return nil, fmt.Errorf("logistic regression: feature %q scale %v", info.Features[j], s)
		}
		inv[j] = 1 / s
	}
	if err := p.Config.validate(); err != nil {
		return nil, fmt.Errorf("logistic regression config: %w", err)
	}
	return &Logistic{info: info, p: p, inv: inv}, nil
}

// Info implements Model.
func (m *Logistic) Info() Info { return m.info.clone() }

// Config returns the configuration the model was fitted with.
func (m *Logistic) Config() LogisticConfig { return m.p.Config }

// Logit implements Model: b + Σ_j w_j·z_j.
func (m *Logistic) Logit(x []float64) float64 {
	m.checkLen(x)
	s := m.p.Intercept
	for j, v := range x {
		s += m.p.Weights[j] * ((v - m.p.Mean[j]) * m.inv[j])
	}
	return s
}

// Prob implements Model.
func (m *Logistic) Prob(x []float64) float64 { return sigmoid(m.Logit(x)) }

// Base implements Model: the intercept, the log-odds of a customer whose
// every feature is at its training mean.
func (m *Logistic) Base() float64 { return m.p.Intercept }

// Explain implements Model: feature j's effect is w_j·z_j, its weight
// times its standardized value, so an effect says how far the feature
// moved the score from that of an average customer.
func (m *Logistic) Explain(x []float64) []Contribution {
	m.checkLen(x)
	effect := make([]float64, len(x))
	for j, v := range x {
		effect[j] = m.p.Weights[j] * ((v - m.p.Mean[j]) * m.inv[j])
	}
	return contributions(effect, x, m.info.Features)
}

// Coefficients returns the model on raw (unstandardized) features:
// logit = intercept + Σ_j weights_j·x_j.
func (m *Logistic) Coefficients() (intercept float64, weights []float64) {
	weights = make([]float64, len(m.p.Weights))
	intercept = m.p.Intercept
	for j, w := range m.p.Weights {
		weights[j] = w * m.inv[j]
		intercept -= weights[j] * m.p.Mean[j]
	}
	return intercept, weights
}

// Iterations returns the number of L-BFGS iterations the fit took.
func (m *Logistic) Iterations() int { return m.p.Iterations }

// WriteTo implements Model.
func (m *Logistic) WriteTo(w io.Writer) (int64, error) {
	p := m.p
	return writeModel(w, fileModel{Info: m.info, Logistic: &p})
}

func (m *Logistic) checkLen(x []float64) {
	if len(x) != len(m.p.Weights) {
		panic(fmt.Sprintf("conversion: row of %d values for a model of %d features", len(x), len(m.p.Weights)))
	}
}

// withoutLogger returns c without its logger: a fitted model keeps the
// hyperparameters, not the caller's plumbing.
func (c LogisticConfig) withoutLogger() LogisticConfig {
	c.Logger = nil
	return c
}
