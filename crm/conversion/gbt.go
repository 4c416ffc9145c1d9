package conversion

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime"
)

// Gradient-boosting defaults: scikit-learn's
// HistGradientBoostingClassifier defaults (version 1.x), so comparisons
// with it are like for like.
const (
	DefaultMaxIter        = 100
	DefaultLearningRate   = 0.1
	DefaultMaxLeafNodes   = 31
	DefaultMinSamplesLeaf = 20
	// DefaultMinHessianLeaf is scikit-learn's min_hessian_to_split.
	DefaultMinHessianLeaf = 1e-3
	DefaultMaxBins        = 255
	// Early stopping: on with more than DefaultEarlyStoppingRows
	// examples ("auto"), holding out DefaultValidationFraction
	// (stratified) and stopping when DefaultNIterNoChange iterations in
	// a row fail to improve the held-out log loss by more than
	// DefaultTol.
	DefaultEarlyStoppingRows  = 10_000
	DefaultValidationFraction = 0.1
	DefaultNIterNoChange      = 10
	DefaultTol                = 1e-7
)

// Bounds on boosted models, checked when fitting and decoding.
const (
	MaxTrees      = 10_000
	MaxLeafNodes  = 4096
	maxTreeNodes  = 2*MaxLeafNodes - 1
	maxTreeDepth  = 64
	maxSampleLeaf = 1 << 30
)

// EarlyStopping says when GBTConfig holds out validation data to stop
// boosting early.
type EarlyStopping string

// Early stopping modes.
const (
	EarlyStoppingAuto EarlyStopping = "auto" // when there are more than DefaultEarlyStoppingRows examples
	EarlyStoppingOn   EarlyStopping = "on"
	EarlyStoppingOff  EarlyStopping = "off"
)

// GBTConfig configures gradient-boosted trees for the binary log loss,
// histogram-based like LightGBM and scikit-learn's
// HistGradientBoostingClassifier, whose defaults DefaultGBT matches:
//
//   - Features are cut into at most MaxBins bins at quantiles of the
//     training values (one bin per value when there are few), and trees
//     split on bin edges, so finding a split costs one pass over a
//     histogram of gradient and hessian sums.
//   - The first raw score is the training log-odds; each iteration fits
//     one tree to the gradients g = p - y and hessians h = p(1 - p) of
//     the log loss, growing it best-first (the leaf whose split gains the
//     most goes next) up to MaxLeafNodes leaves and MaxDepth levels, with
//     at least MinSamplesLeaf examples and MinHessianLeaf hessian in each
//     leaf. A split's gain is G_L²/(H_L+λ) + G_R²/(H_R+λ) - G²/(H+λ) and
//     a leaf's value is -LearningRate·G/(H+λ), with λ = L2.
//   - Early stopping holds out ValidationFraction of the data
//     (stratified, chosen with the seed) and stops when the held-out log
//     loss has not improved by more than Tol on the best of the
//     NIterNoChange+1 iterations before; like scikit-learn, the trees fitted
//     until then are kept.
//
// Histograms are built and splits searched per feature on Workers
// goroutines; each feature is summed by one goroutine in a fixed order,
// so the model does not depend on the number of workers.
//
// Differences from scikit-learn: values must be finite (it routes NaN
// to a learned side; here NaN is an error), categorical features come
// one-hot encoded (no native categorical splits), and gradients are
// float64 (it uses float32), so models agree closely but not bit for
// bit.
type GBTConfig struct {
	MaxIter      int     `json:"max_iter"`
	LearningRate float64 `json:"learning_rate"`
	MaxLeafNodes int     `json:"max_leaf_nodes"`
	// MaxDepth bounds the depth of a tree (0: no bound; the root has
	// depth 0).
	MaxDepth       int     `json:"max_depth"`
	MinSamplesLeaf int     `json:"min_samples_leaf"`
	MinHessianLeaf float64 `json:"min_hessian_leaf"`
	L2             float64 `json:"l2"`
	// MaxBins bounds the bins per feature, 2 to MaxBins.
	MaxBins            int           `json:"max_bins"`
	EarlyStopping      EarlyStopping `json:"early_stopping"`
	ValidationFraction float64       `json:"validation_fraction"`
	NIterNoChange      int           `json:"n_iter_no_change"`
	Tol                float64       `json:"tol"`
	// Workers is the number of goroutines building histograms (0:
	// GOMAXPROCS). It does not change the model.
	Workers int `json:"-"`
	// Logger receives a summary of each fit at debug level (nil:
	// slog.Default()).
	Logger *slog.Logger `json:"-"`
}

// DefaultGBT returns the default configuration (see the Default*
// constants).
func DefaultGBT() GBTConfig {
	return GBTConfig{
		MaxIter:            DefaultMaxIter,
		LearningRate:       DefaultLearningRate,
		MaxLeafNodes:       DefaultMaxLeafNodes,
		MinSamplesLeaf:     DefaultMinSamplesLeaf,
		MinHessianLeaf:     DefaultMinHessianLeaf,
		MaxBins:            DefaultMaxBins,
		EarlyStopping:      EarlyStoppingAuto,
		ValidationFraction: DefaultValidationFraction,
		NIterNoChange:      DefaultNIterNoChange,
		Tol:                DefaultTol,
	}
}

func (c GBTConfig) validate() error {
	switch {
	case c.MaxIter <= 0 || c.MaxIter > MaxTrees:
		return fmt.Errorf("max iterations %d not in [1, %d] (see DefaultGBT)", c.MaxIter, MaxTrees)
	case !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0):
		return fmt.Errorf("learning rate %v must be positive (see DefaultGBT)", c.LearningRate)
	case c.MaxLeafNodes < 2 || c.MaxLeafNodes > MaxLeafNodes:
		return fmt.Errorf("max leaf nodes %d not in [2, %d]", c.MaxLeafNodes, MaxLeafNodes)
	case c.MaxDepth < 0 || c.MaxDepth > maxTreeDepth:
		return fmt.Errorf("max depth %d not in [0, %d]", c.MaxDepth, maxTreeDepth)
	case c.MinSamplesLeaf < 1 || c.MinSamplesLeaf > maxSampleLeaf:
		return fmt.Errorf("min samples per leaf %d must be positive", c.MinSamplesLeaf)
	case !(c.MinHessianLeaf >= 0) || math.IsInf(c.MinHessianLeaf, 0):
		return fmt.Errorf("min hessian per leaf %v must be finite and non-negative", c.MinHessianLeaf)
	case !(c.L2 >= 0) || math.IsInf(c.L2, 0):
		return fmt.Errorf("l2 %v must be finite and non-negative", c.L2)
	case c.MaxBins < 2 || c.MaxBins > MaxBins:
		return fmt.Errorf("max bins %d not in [2, %d]", c.MaxBins, MaxBins)
	case c.Workers < 0:
		return fmt.Errorf("workers %d must not be negative", c.Workers)
	}
	switch c.EarlyStopping {
	case EarlyStoppingOff:
		return nil
	case EarlyStoppingAuto, EarlyStoppingOn:
	default:
		return fmt.Errorf("early stopping %q, want auto, on or off", c.EarlyStopping)
	}
	switch {
	case !(c.ValidationFraction > 0 && c.ValidationFraction < 1):
		return fmt.Errorf("validation fraction %v not in (0, 1)", c.ValidationFraction)
	case c.NIterNoChange < 1:
		return fmt.Errorf("iterations without change %d must be positive", c.NIterNoChange)
	case !(c.Tol >= 0) || math.IsInf(c.Tol, 0):
		return fmt.Errorf("tolerance %v must be finite and non-negative", c.Tol)
	}
	return nil
}

// GBT is a fitted gradient-boosted tree model. It is immutable and safe
// for concurrent use.
type GBT struct {
	info  Info
	p     gbtParams
	trees []tree
	nfeat int
}

// gbtParams are a boosted model's parameters as stored.
type gbtParams struct {
	Config GBTConfig `json:"config"`
	// Baseline is the raw score before the first tree: the training
	// log-odds.
	Baseline float64      `json:"baseline"`
	Trees    []treeParams `json:"trees"`
	// ValidationLoss is the held-out log loss after 0, 1, ... trees
	// when early stopping was on.
	ValidationLoss []float64 `json:"validation_loss,omitempty"`
}

// treeParams is one tree as stored: node i splits on Feature[i] (x <=
// Threshold[i] goes to Left[i], else Right[i]) or, with Feature[i] = -1,
// is a leaf. Value[i] is the node's value -LearningRate·G/(H+λ) for
// every node; a leaf's is its output, internal ones serve explanations.
// Children come after their parent, node 0 is the root.
type treeParams struct {
	Feature   []int32   `json:"feature"`
	Threshold []float64 `json:"threshold"`
	Left      []int32   `json:"left"`
	Right     []int32   `json:"right"`
	Value     []float64 `json:"value"`
}

// tree is a tree laid out for prediction.
type tree struct{ nodes []node }

type node struct {
	feature     int32 // -1 for a leaf
	left, right int32
	threshold   float64
	value       float64
}

var _ Model = (*GBT)(nil)
var _ Trainer = GBTConfig{}

// Train implements Trainer.
func (c GBTConfig) Train(ctx context.Context, d Dataset, seed uint64) (Model, error) {
	return asModel(c.Fit(ctx, d, seed))
}

// Fit fits boosted trees to d; seed chooses the early-stopping
// validation split and the rows that choose bin edges when there are
// more than 200,000. It returns an error wrapping ErrInvalidData or
// ErrOneClass for unusable data, and the context's error when ctx ends
// first (checked between iterations).
func (c GBTConfig) Fit(ctx context.Context, d Dataset, seed uint64) (*GBT, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("boosted trees: %w", err)
	}
	if err := d.checkTraining(); err != nil {
		return nil, fmt.Errorf("boosted trees: %w", err)
	}
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	workers := c.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	early := c.EarlyStopping == EarlyStoppingOn ||
		c.EarlyStopping == EarlyStoppingAuto && len(d.X) > DefaultEarlyStoppingRows
	train, val := d, Dataset{}
	if early {
		ti, vi := StratifiedIndices(d.Y, c.ValidationFraction, seed)
		train, val = d.Subset(ti), d.Subset(vi)
		if val.Len() == 0 {
			return nil, fmt.Errorf("boosted trees: %w: %d examples leave none for early stopping's validation split",
				ErrInvalidData, d.Len())
		}
		if pos := train.Positives(); pos == 0 || pos == train.Len() {
			return nil, fmt.Errorf("boosted trees: %w: %d of %d training examples positive after holding out validation data",
				ErrOneClass, pos, train.Len())
		}
	}
	n := train.Len()
	b := newBinned(train.X, len(d.Names), c.MaxBins, seed, workers)
	pos := float64(train.Positives())
	baseline := math.Log(pos / (float64(n) - pos))

	raw := make([]float64, n)
	for i := range raw {
		raw[i] = baseline
	}
	rawVal := make([]float64, val.Len())
	for i := range rawVal {
		rawVal[i] = baseline
	}
	var scores, valLoss []float64 // scores are -loss, as in scikit-learn
	if early {
		l := meanLogLoss(rawVal, val.Y)
		valLoss, scores = append(valLoss, l), append(scores, -l)
	}

	g := newGrower(c, b, workers)
	m := &GBT{nfeat: len(d.Names)}
	for it := 0; it < c.MaxIter; it++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("boosted trees: iteration %d: %w", it, err)
		}
		for i, r := range raw {
			p := sigmoid(r)
			if train.Y[i] {
				g.grad[i] = p - 1
			} else {
				g.grad[i] = p
			}
			g.hess[i] = p * (1 - p)
		}
		t := g.grow()
		g.addLeafValues(t, raw)
		m.trees = append(m.trees, t)
		if !early {
			continue
		}
		for i, x := range val.X {
			rawVal[i] += t.predict(x)
		}
		l := meanLogLoss(rawVal, val.Y)
		valLoss, scores = append(valLoss, l), append(scores, -l)
		if shouldStop(scores, c.NIterNoChange, c.Tol) {
			break
		}
	}
	m.info = Info{Kind: KindGBT, Features: append([]string(nil), d.Names...), Examples: d.Len(),
		Positives: d.Positives(), DataHash: d.Hash(), Seed: seed}
	m.p = gbtParams{Config: c, Baseline: baseline, ValidationLoss: valLoss}
	m.p.Config.Logger = nil
	for _, t := range m.trees {
		m.p.Trees = append(m.p.Trees, t.params())
	}
	log.Debug("conversion: fitted boosted trees", "examples", d.Len(), "features", len(d.Names),
		"trees", len(m.trees), "early_stopping", early, "validation_loss", lastOr(valLoss, math.NaN()))
	return m, nil
}

func lastOr(v []float64, def float64) float64 {
	if len(v) == 0 {
		return def
	}
	return v[len(v)-1]
}

// shouldStop is scikit-learn's rule: stop when none of the last
// nIter scores beats the one before them by more than tol.
func shouldStop(scores []float64, nIter int, tol float64) bool {
	ref := nIter + 1
	if len(scores) < ref {
		return false
	}
	refScore := scores[len(scores)-ref] + tol
	for _, s := range scores[len(scores)-ref+1:] {
		if s > refScore {
			return false
		}
	}
	return true
}

// meanLogLoss is the mean log loss of raw scores.
func meanLogLoss(raw []float64, y []bool) float64 {
	var s float64
	for i, r := range raw {
		s += logLoss1(r, y[i])
	}
	return s / float64(len(raw))
}

func (t tree) predict(x []float64) float64 {
	nodes := t.nodes
	i := int32(0)
	for {
		n := &nodes[i]
		if n.feature < 0 {
			return n.value
		}
		if x[n.feature] <= n.threshold {
			i = n.left
		} else {
			i = n.right
		}
	}
}

func (t tree) params() treeParams {
	k := len(t.nodes)
	p := treeParams{Feature: make([]int32, k), Threshold: make([]float64, k), Left: make([]int32, k),
		Right: make([]int32, k), Value: make([]float64, k)}
	for i, n := range t.nodes {
		p.Feature[i], p.Threshold[i], p.Left[i], p.Right[i], p.Value[i] = n.feature, n.threshold, n.left, n.right, n.value
	}
	return p
}

// newGBT builds a model from decoded parameters, validating them: every
// tree must be a proper binary tree (children after their parent, each
// node but the root the child of exactly one node) over known features
// with finite values, so prediction cannot loop or index out of range.
func newGBT(info Info, p gbtParams) (*GBT, error) {
	if err := p.Config.validate(); err != nil {
		return nil, fmt.Errorf("boosted trees config: %w", err)
	}
	if !bounded(p.Baseline) || !finite(p.ValidationLoss...) {
		return nil, errors.New("boosted trees: non-finite baseline or validation loss")
	}
	if len(p.Trees) == 0 || len(p.Trees) > MaxTrees {
		return nil, fmt.Errorf("boosted trees: %d trees, want 1 to %d", len(p.Trees), MaxTrees)
	}
	nfeat := len(info.Features)
	m := &GBT{info: info, p: p, nfeat: nfeat, trees: make([]tree, len(p.Trees))}
	for ti, tp := range p.Trees {
		k := len(tp.Feature)
		if k == 0 || k > maxTreeNodes || len(tp.Threshold) != k || len(tp.Left) != k || len(tp.Right) != k || len(tp.Value) != k {
			return nil, fmt.Errorf("boosted trees: tree %d: %d nodes or mismatched node fields", ti, k)
		}
		parents := make([]int, k)
		nodes := make([]node, k)
		for i := range k {
			n := node{feature: tp.Feature[i], left: tp.Left[i], right: tp.Right[i], threshold: tp.Threshold[i], value: tp.Value[i]}
			if !bounded(n.value) {
				return nil, fmt.Errorf("boosted trees: tree %d node %d: value %v", ti, i, n.value)
			}
			switch {
			case n.feature == -1:
				if n.left != 0 || n.right != 0 {
					return nil, fmt.Errorf("boosted trees: tree %d node %d: a leaf with children", ti, i)
				}
			case n.feature < 0 || int(n.feature) >= nfeat:
				return nil, fmt.Errorf("boosted trees: tree %d node %d: feature %d of %d", ti, i, n.feature, nfeat)
			default:
				if math.IsNaN(n.threshold) {
					return nil, fmt.Errorf("boosted trees: tree %d node %d: threshold NaN", ti, i)
				}
				for _, c := range []int32{n.left, n.right} {
					if int(c) <= i || int(c) >= k {
						return nil, fmt.Errorf("boosted trees: tree %d node %d: child %d", ti, i, c)
					}
					parents[c]++
				}
				if n.left == n.right {
					return nil, fmt.Errorf("boosted trees: tree %d node %d: both children are %d", ti, i, n.left)
				}
			}
			nodes[i] = n
		}
		for i := 1; i < k; i++ {
			if parents[i] != 1 {
				return nil, fmt.Errorf("boosted trees: tree %d node %d has %d parents", ti, i, parents[i])
			}
		}
		m.trees[ti] = tree{nodes: nodes}
	}
	return m, nil
}

// Info implements Model.
func (m *GBT) Info() Info { return m.info.clone() }

// Config returns the configuration the model was fitted with.
func (m *GBT) Config() GBTConfig { return m.p.Config }

// Trees returns the number of trees (boosting iterations) fitted.
func (m *GBT) Trees() int { return len(m.trees) }

// ValidationLoss returns the held-out log loss after 0, 1, ... trees
// (nil when the fit did not stop early).
func (m *GBT) ValidationLoss() []float64 { return append([]float64(nil), m.p.ValidationLoss...) }

// Logit implements Model: the baseline plus every tree's leaf value.
func (m *GBT) Logit(x []float64) float64 {
	m.checkLen(x)
	s := m.p.Baseline
	for _, t := range m.trees {
		s += t.predict(x)
	}
	return s
}

// Prob implements Model.
func (m *GBT) Prob(x []float64) float64 { return sigmoid(m.Logit(x)) }

// Base implements Model: the baseline plus every tree's root value.
func (m *GBT) Base() float64 {
	s := m.p.Baseline
	for _, t := range m.trees {
		s += t.nodes[0].value
	}
	return s
}

// Explain implements Model with Saabas's method: walking each tree from
// the root to x's leaf, the change of node value at every split is
// credited to the split's feature. The credits plus Base add up to
// Logit(x) exactly (up to rounding), though unlike SHAP values they
// favour features split on near the leaves.
func (m *GBT) Explain(x []float64) []Contribution {
	m.checkLen(x)
	effect := make([]float64, m.nfeat)
	for _, t := range m.trees {
		i := int32(0)
		for {
			n := &t.nodes[i]
			if n.feature < 0 {
				break
			}
			next := n.right
			if x[n.feature] <= n.threshold {
				next = n.left
			}
			effect[n.feature] += t.nodes[next].value - n.value
			i = next
		}
	}
	return contributions(effect, x, m.info.Features)
}

// WriteTo implements Model.
func (m *GBT) WriteTo(w io.Writer) (int64, error) {
	p := m.p
	return writeModel(w, fileModel{Info: m.info, GBT: &p})
}

func (m *GBT) checkLen(x []float64) {
	if len(x) != m.nfeat {
		panic(fmt.Sprintf("conversion: row of %d values for a model of %d features", len(x), m.nfeat))
	}
}
