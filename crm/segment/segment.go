package segment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"time"

	"github.com/parley-chat/parley/crm"
	"gonum.org/v1/gonum/mat"
)

// Errors. Callers use errors.Is. Invalid input and configuration wrap
// crm.ErrInvalid.
var (
	// ErrEmpty is returned for an empty population.
	ErrEmpty = errors.New("no customers to segment")
	// ErrTooFew is returned when the population has fewer distinct
	// customers (feature vectors) than the segments asked for.
	ErrTooFew = errors.New("too few distinct customers for the segments asked")
)

// Method is the clustering algorithm.
type Method string

// Methods. MethodAuto (or "") picks Ward up to Config.WardMaxPoints
// customers and k-means above.
const (
	MethodAuto   Method = "auto"
	MethodKMeans Method = "kmeans"
	MethodWard   Method = "ward"
)

// Segmentation defaults and bounds.
const (
	DefaultMinK = 2
	DefaultMaxK = 8
	// MaxSegments bounds K and MaxK: more segments than this are not
	// readable as profiles.
	MaxSegments = 20
)

// Config configures Run. The zero value is usable: k chosen by
// silhouette over 2..8, the method by population size.
type Config struct {
	// K is the number of segments; 0 chooses it by the silhouette score
	// over MinK..MaxK (defaults 2 and 8), the lowest k winning ties.
	K, MinK, MaxK int
	// Restarts, MaxIter and Tol configure k-means (see KMeansConfig).
	Restarts, MaxIter int
	Tol               float64
	// Seed makes the run reproducible: k-means restarts, the silhouette
	// sample and the plot's point sample derive from it.
	Seed   uint64
	Method Method
	// PurchaseIntents are the purchase-type intents (nil:
	// DefaultPurchaseIntents).
	PurchaseIntents []string
	// SilhouetteSample bounds the customers the silhouette is computed on
	// (0: DefaultSilhouetteSample; negative: all, O(n²)).
	SilhouetteSample int
	// WardMaxPoints is the largest population MethodAuto clusters with
	// Ward (0: DefaultWardMaxPoints; at most WardLimit).
	WardMaxPoints int
	Logger        *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Method == "" {
		c.Method = MethodAuto
	}
	switch c.Method {
	case MethodAuto, MethodKMeans, MethodWard:
	default:
		return c, fmt.Errorf("segment config: unknown method %q (want auto, kmeans or ward): %w", c.Method, crm.ErrInvalid)
	}
	if c.K < 0 || c.MinK < 0 || c.MaxK < 0 || c.Restarts < 0 || c.MaxIter < 0 || c.Tol < 0 || math.IsNaN(c.Tol) || c.WardMaxPoints < 0 {
		return c, fmt.Errorf("segment config: negative value in %+v: %w", c, crm.ErrInvalid)
	}
	if c.MinK == 0 {
		c.MinK = DefaultMinK
	}
	if c.MaxK == 0 {
		c.MaxK = max(DefaultMaxK, c.MinK)
	}
	if c.K == 1 || c.MinK < 2 {
		return c, fmt.Errorf("segment config: k %d, min k %d: want at least 2 segments: %w", c.K, c.MinK, crm.ErrInvalid)
	}
	if c.K > MaxSegments || c.MaxK > MaxSegments || c.MinK > c.MaxK {
		return c, fmt.Errorf("segment config: k %d, range %d..%d: want 2 <= min <= max <= %d: %w",
			c.K, c.MinK, c.MaxK, MaxSegments, crm.ErrInvalid)
	}
	if c.SilhouetteSample == 0 {
		c.SilhouetteSample = DefaultSilhouetteSample
	}
	if c.WardMaxPoints == 0 {
		c.WardMaxPoints = DefaultWardMaxPoints
	}
	c.WardMaxPoints = min(c.WardMaxPoints, WardLimit)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// KScore is the quality of one k tried while choosing k.
type KScore struct {
	K          int
	Silhouette float64
	Inertia    float64
}

// Result is a segmentation. Segments are numbered by size, largest
// first: segment s is Profiles[s], named "S1", "S2", ....
type Result struct {
	AsOf   time.Time
	Method Method // MethodKMeans or MethodWard
	K      int
	Seed   uint64
	// Features are the customers' features, in the order of the stats.
	Features *Features
	// Labels[i] is customer i's segment, in [0, K).
	Labels []int
	// Centroids is K×NumFeatures: each segment's mean z-scores.
	Centroids *mat.Dense
	// Inertia is the within-segment sum of squares in z-score space.
	Inertia float64
	// Silhouette is the chosen segmentation's silhouette score, on a
	// sample of Config.SilhouetteSample customers for large populations
	// (-1 when the sample saw a single segment).
	Silhouette float64
	// Scores are the silhouette and inertia of each k tried, when K was
	// chosen (nil when it was given).
	Scores   []KScore
	Profiles []Profile
	// PCA places the customers on a plane for plotting.
	PCA *PCA
}

// Run segments the customers in stats as of asOf: features, clustering
// (k chosen by silhouette unless cfg.K is set), PCA projection and
// profiles. It fails with ErrEmpty on no stats, ErrTooFew when there are
// fewer distinct customers than segments (and fewer than three when k is
// to be chosen), and crm.ErrInvalid for bad stats or configuration.
func Run(ctx context.Context, stats []crm.CustomerStats, asOf time.Time, cfg Config) (*Result, error) {
	start := time.Now()
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	feats, err := Extract(stats, asOf, cfg.PurchaseIntents)
	if err != nil {
		return nil, fmt.Errorf("segment: %w", err)
	}
	data, n, d := rowMajor(feats.Z)
	distinct := distinctRows(data, n, d, MaxSegments+1)

	var ks []int
	if cfg.K > 0 {
		if distinct < cfg.K {
			return nil, fmt.Errorf("segment: %d customers, %d of them distinct, for %d segments: %w", n, distinct, cfg.K, ErrTooFew)
		}
		ks = []int{cfg.K}
	} else {
		// The silhouette needs k <= n-1 and every cluster a distinct point.
		hi := min(cfg.MaxK, n-1, distinct)
		if hi < cfg.MinK {
			return nil, fmt.Errorf("segment: %d customers, %d of them distinct: too few to choose k in %d..%d: %w",
				n, distinct, cfg.MinK, cfg.MaxK, ErrTooFew)
		}
		for k := cfg.MinK; k <= hi; k++ {
			ks = append(ks, k)
		}
	}

	method := cfg.Method
	if method == MethodAuto {
		method = MethodKMeans
		if n <= cfg.WardMaxPoints {
			method = MethodWard
		}
	}
	var tree *Tree
	if method == MethodWard {
		if tree, err = Ward(ctx, feats.Z); err != nil {
			return nil, fmt.Errorf("segment: %w", err)
		}
	}
	cluster := func(k int) (*Clustering, error) {
		if method == MethodWard {
			labels, err := tree.Cut(k)
			if err != nil {
				return nil, err
			}
			return clusteringOf(data, n, d, k, labels), nil
		}
		return KMeans(ctx, feats.Z, KMeansConfig{K: k, Restarts: cfg.Restarts, MaxIter: cfg.MaxIter, Tol: cfg.Tol, Seed: cfg.Seed})
	}
	sample := sampleIndexes(n, cfg.SilhouetteSample, cfg.Seed)

	var best *Clustering
	bestSil := math.Inf(-1)
	var scores []KScore
	for _, k := range ks {
		cl, err := cluster(k)
		if err != nil {
			return nil, fmt.Errorf("segment: cluster k=%d: %w", k, err)
		}
		sil, err := silhouette(ctx, data, n, d, cl.Labels, k, sample)
		if errors.Is(err, ErrTooFew) {
			// The sample saw one cluster only: no evidence for this k.
			sil, err = -1, nil
		}
		if err != nil {
			return nil, fmt.Errorf("segment: silhouette k=%d: %w", k, err)
		}
		cfg.Logger.Debug("segment: clustered", "method", method, "k", k, "silhouette", sil, "inertia", cl.Inertia, "iterations", cl.Iterations)
		scores = append(scores, KScore{K: k, Silhouette: sil, Inertia: cl.Inertia})
		if sil > bestSil {
			best, bestSil = cl, sil
		}
	}
	if cfg.K > 0 {
		scores = nil
	}

	res := &Result{
		AsOf: asOf, Method: method, K: best.K, Seed: cfg.Seed, Features: feats,
		Inertia: best.Inertia, Silhouette: bestSil, Scores: scores,
	}
	res.Labels, res.Centroids = bySize(best)
	if res.PCA, err = Project2D(feats.Z); err != nil {
		return nil, fmt.Errorf("segment: %w", err)
	}
	res.Profiles = profiles(feats, res.Labels, res.K)
	cfg.Logger.Info("segment: done", "customers", n, "method", method, "k", res.K,
		"silhouette", res.Silhouette, "elapsed", time.Since(start).Round(time.Millisecond))
	return res, nil
}

// bySize renumbers a clustering's clusters by size, largest first (ties:
// the lower old number first), returning the new labels and centroids.
func bySize(cl *Clustering) ([]int, *mat.Dense) {
	order := make([]int, cl.K)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return cl.Sizes[order[a]] > cl.Sizes[order[b]] })
	newID := make([]int, cl.K)
	_, d := cl.Centroids.Dims()
	cent := mat.NewDense(cl.K, d, nil)
	for s, old := range order {
		newID[old] = s
		cent.SetRow(s, cl.Centroids.RawRowView(old))
	}
	labels := make([]int, len(cl.Labels))
	for i, l := range cl.Labels {
		labels[i] = newID[l]
	}
	return labels, cent
}

// Assignments returns each customer's segment for crm.Store.SaveSegments:
// the segment's id ("S1", ...), its profile name and the customer's
// position on the PCA plane.
func (r *Result) Assignments() []crm.SegmentAssignment {
	as := make([]crm.SegmentAssignment, len(r.Labels))
	for i, l := range r.Labels {
		p := r.Profiles[l]
		as[i] = crm.SegmentAssignment{
			CustomerID: r.Features.CustomerIDs[i],
			Segment:    p.Segment,
			Profile:    p.Name,
			X:          r.PCA.X[i],
			Y:          r.PCA.Y[i],
		}
	}
	return as
}
