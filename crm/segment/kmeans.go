package segment

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"

	"github.com/parley-chat/parley/crm"
	"gonum.org/v1/gonum/mat"
)

// K-means defaults, those of scikit-learn's KMeans so that results can
// be compared with it.
const (
	DefaultRestarts = 10
	DefaultMaxIter  = 300
	DefaultTol      = 1e-4
)

// KMeansConfig configures KMeans. Zero fields take the defaults.
type KMeansConfig struct {
	K int
	// Restarts is the number of k-means++ initializations (scikit-learn's
	// n_init); the one with the lowest inertia wins.
	Restarts int
	// MaxIter bounds the Lloyd iterations of one restart.
	MaxIter int
	// Tol is the convergence tolerance relative to the data's mean
	// per-column variance, as in scikit-learn: a restart stops when the
	// squared centroid shifts sum to at most Tol times that variance, or
	// when no point changes cluster.
	Tol  float64
	Seed uint64
}

// Clustering is a partition of points into K clusters.
type Clustering struct {
	K int
	// Labels[i] is point i's cluster, in [0, K).
	Labels []int
	// Centroids is K×d: each cluster's mean.
	Centroids *mat.Dense
	// Inertia is the sum of squared distances from the points to their
	// cluster's centroid.
	Inertia float64
	// Sizes[c] is the number of points in cluster c.
	Sizes []int
	// Iterations is the number of Lloyd iterations of the chosen restart
	// (0 for clusterings not made by k-means).
	Iterations int
}

// KMeans clusters the rows of x into cfg.K clusters with k-means:
// greedy k-means++ seeding (as scikit-learn: 2+ln k candidates per
// centre, the one that lowers the potential most is kept), then Lloyd
// iterations to convergence, with Hamerly's distance bounds to skip
// distance computations that cannot change an assignment. Restarts run
// on up to GOMAXPROCS goroutines; restart r draws from a generator seeded
// with (Seed, r), so the result does not depend on scheduling.
//
// x must have at least K distinct rows (ErrTooFew otherwise).
func KMeans(ctx context.Context, x *mat.Dense, cfg KMeansConfig) (*Clustering, error) {
	data, n, d := rowMajor(x)
	if n == 0 {
		return nil, ErrEmpty
	}
	if cfg.K < 1 {
		return nil, fmt.Errorf("k-means: k is %d, want at least 1: %w", cfg.K, crm.ErrInvalid)
	}
	if cfg.Restarts < 0 || cfg.MaxIter < 0 || cfg.Tol < 0 || math.IsNaN(cfg.Tol) {
		return nil, fmt.Errorf("k-means: negative restarts %d, iterations %d or tolerance %v: %w",
			cfg.Restarts, cfg.MaxIter, cfg.Tol, crm.ErrInvalid)
	}
	for _, v := range data {
		if bad(v) {
			return nil, fmt.Errorf("k-means: non-finite value %v in the data: %w", v, crm.ErrInvalid)
		}
	}
	if got := distinctRows(data, n, d, cfg.K); got < cfg.K {
		return nil, fmt.Errorf("k-means: %d distinct points for k=%d: %w", got, cfg.K, ErrTooFew)
	}
	if cfg.Restarts == 0 {
		cfg.Restarts = DefaultRestarts
	}
	if cfg.MaxIter == 0 {
		cfg.MaxIter = DefaultMaxIter
	}
	if cfg.Tol == 0 {
		cfg.Tol = DefaultTol
	}
	tol := cfg.Tol * meanVariance(data, n, d)

	results := make([]*Clustering, cfg.Restarts)
	errs := make([]error, cfg.Restarts)
	workers := min(runtime.GOMAXPROCS(0), cfg.Restarts)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() { // exits when next is closed
			defer wg.Done()
			for r := range next {
				if errs[r] = ctx.Err(); errs[r] != nil {
					continue
				}
				rng := rand.New(rand.NewPCG(cfg.Seed, uint64(r)))
				centers := kmeansPlusPlus(data, n, d, cfg.K, rng)
				results[r], errs[r] = lloyd(ctx, data, n, d, cfg.K, centers, cfg.MaxIter, tol)
			}
		}()
	}
	for r := 0; r < cfg.Restarts; r++ {
		next <- r
	}
	close(next)
	wg.Wait()

	var best *Clustering
	for r, c := range results {
		if errs[r] != nil {
			return nil, fmt.Errorf("k-means restart %d: %w", r, errs[r])
		}
		if best == nil || c.Inertia < best.Inertia {
			best = c
		}
	}
	return best, nil
}

// rowMajor returns x's elements as a contiguous row-major slice (x's own
// storage when it is contiguous: callers must not write to it).
func rowMajor(x *mat.Dense) (data []float64, n, d int) {
	if x == nil || x.IsEmpty() {
		return nil, 0, 0
	}
	raw := x.RawMatrix()
	if raw.Stride == raw.Cols {
		return raw.Data[:raw.Rows*raw.Cols], raw.Rows, raw.Cols
	}
	data = make([]float64, raw.Rows*raw.Cols)
	for i := 0; i < raw.Rows; i++ {
		copy(data[i*raw.Cols:], raw.Data[i*raw.Stride:i*raw.Stride+raw.Cols])
	}
	return data, raw.Rows, raw.Cols
}

// distinctRows counts the distinct rows of x, stopping at limit.
func distinctRows(x []float64, n, d, limit int) int {
	seen := make(map[string]struct{}, limit)
	key := make([]byte, 8*d)
	for i := 0; i < n && len(seen) < limit; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			if v == 0 {
				v = 0 // -0 and +0 are the same point
			}
			b := math.Float64bits(v)
			for k := 0; k < 8; k++ {
				key[8*j+k] = byte(b >> (8 * k))
			}
		}
		seen[string(key)] = struct{}{}
	}
	return len(seen)
}

// meanVariance is the mean over columns of each column's variance.
func meanVariance(x []float64, n, d int) float64 {
	var total float64
	for j := 0; j < d; j++ {
		var m, ss float64
		for i := 0; i < n; i++ {
			m += x[i*d+j]
		}
		m /= float64(n)
		for i := 0; i < n; i++ {
			v := x[i*d+j] - m
			ss += v * v
		}
		total += ss / float64(n)
	}
	return total / float64(d)
}

func sqDist(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		t := v - b[i]
		s += t * t
	}
	return s
}

// kmeansPlusPlus picks k initial centres (k×d, row-major) by greedy
// k-means++. It needs at least k distinct points, so the potential of
// the points not yet chosen stays positive until k are chosen.
func kmeansPlusPlus(x []float64, n, d, k int, rng *rand.Rand) []float64 {
	centers := make([]float64, k*d)
	trials := 2 + int(math.Log(float64(k)))
	first := rng.IntN(n)
	copy(centers, x[first*d:(first+1)*d])
	closest := make([]float64, n)
	for i := range closest {
		closest[i] = sqDist(x[i*d:(i+1)*d], centers[:d])
	}
	cum := make([]float64, n)
	cand := make([][]float64, trials)
	for t := range cand {
		cand[t] = make([]float64, n)
	}
	for c := 1; c < k; c++ {
		var s float64
		for i, v := range closest {
			s += v
			cum[i] = s
		}
		pot := cum[n-1]
		bestPot, bestID := math.Inf(1), -1
		var bestDist []float64
		for t := 0; t < trials; t++ {
			// (0, 1]: a zero draw could pick a point that is already a centre.
			r := (1 - rng.Float64()) * pot
			id := sort.SearchFloat64s(cum, r)
			if id >= n {
				id = n - 1
			}
			for id > 0 && closest[id] == 0 { // rounding at the top end
				id--
			}
			dist := cand[t]
			var p float64
			xc := x[id*d : (id+1)*d]
			for i := 0; i < n; i++ {
				v := min(closest[i], sqDist(x[i*d:(i+1)*d], xc))
				dist[i] = v
				p += v
			}
			if p < bestPot {
				bestPot, bestID, bestDist = p, id, dist
			}
		}
		copy(closest, bestDist)
		copy(centers[c*d:(c+1)*d], x[bestID*d:(bestID+1)*d])
	}
	return centers
}

// lloyd runs Lloyd iterations from centers (k×d, row-major) with
// Hamerly's bounds: for each point an upper bound u on the distance to
// its centre and a lower bound l on the distance to every other centre;
// when u is below both l and half the distance from its centre to the
// nearest other centre, the point cannot change cluster and no distance
// is computed. The bounds are exact after a full recomputation and are
// loosened by the centre shifts after each update, so the assignments
// are those of plain Lloyd.
func lloyd(ctx context.Context, x []float64, n, d, k int, centers []float64, maxIter int, tol float64) (*Clustering, error) {
	labels := make([]int, n)
	upper := make([]float64, n)
	lower := make([]float64, n)
	half := make([]float64, k)   // half the distance to the nearest other centre
	shift := make([]float64, k)  // how far each centre moved in the last update
	sums := make([]float64, k*d) // per-cluster sums of the points
	counts := make([]int, k)
	next := make([]float64, k*d)

	full := func(i int) {
		xi := x[i*d : (i+1)*d]
		b1, b2, lb := math.Inf(1), math.Inf(1), 0
		for c := 0; c < k; c++ {
			dc := sqDist(xi, centers[c*d:(c+1)*d])
			if dc < b1 {
				b2, b1, lb = b1, dc, c
			} else if dc < b2 {
				b2 = dc
			}
		}
		labels[i], upper[i], lower[i] = lb, math.Sqrt(b1), math.Sqrt(b2)
	}
	for i := 0; i < n; i++ {
		full(i)
	}

	iter := 0
	for iter = 1; iter <= maxIter; iter++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Update step: centres to the means of their points.
		clear(sums)
		clear(counts)
		for i := 0; i < n; i++ {
			c := labels[i]
			counts[c]++
			s := sums[c*d : (c+1)*d]
			for j, v := range x[i*d : (i+1)*d] {
				s[j] += v
			}
		}
		if relocateEmpty(x, n, d, k, labels, centers, counts, sums) {
			for i := 0; i < n; i++ {
				full(i) // the bounds no longer hold; start them afresh
			}
			continue
		}
		var total float64
		for c := 0; c < k; c++ {
			nc, oc := next[c*d:(c+1)*d], centers[c*d:(c+1)*d]
			inv := 1 / float64(counts[c])
			for j := range nc {
				nc[j] = sums[c*d+j] * inv
			}
			s := sqDist(nc, oc)
			total += s
			shift[c] = math.Sqrt(s)
		}
		copy(centers, next)
		// Loosen the bounds by the shifts.
		r1, r2 := -1, -1 // the two centres that moved most
		for c := 0; c < k; c++ {
			if r1 < 0 || shift[c] > shift[r1] {
				r2, r1 = r1, c
			} else if r2 < 0 || shift[c] > shift[r2] {
				r2 = c
			}
		}
		for i := 0; i < n; i++ {
			upper[i] += shift[labels[i]]
			if labels[i] == r1 {
				if r2 >= 0 {
					lower[i] -= shift[r2]
				}
			} else {
				lower[i] -= shift[r1]
			}
		}
		// Assignment step with the new centres.
		changed := assign(x, n, d, k, centers, labels, upper, lower, half, full)
		if changed == 0 || total <= tol {
			break
		}
	}
	if iter > maxIter {
		iter = maxIter
	}

	cl := &Clustering{K: k, Labels: labels, Sizes: make([]int, k), Iterations: iter}
	for i := 0; i < n; i++ {
		cl.Sizes[labels[i]]++
		cl.Inertia += sqDist(x[i*d:(i+1)*d], centers[labels[i]*d:(labels[i]+1)*d])
	}
	cl.Centroids = mat.NewDense(k, d, centers)
	return cl, nil
}

// assign moves each point to its nearest centre, computing distances
// only where Hamerly's bounds allow a change, and returns how many moved.
func assign(x []float64, n, d, k int, centers []float64, labels []int, upper, lower, half []float64, full func(int)) int {
	for c := 0; c < k; c++ {
		m := math.Inf(1)
		for o := 0; o < k; o++ {
			if o != c {
				m = math.Min(m, sqDist(centers[c*d:(c+1)*d], centers[o*d:(o+1)*d]))
			}
		}
		half[c] = math.Sqrt(m) / 2
	}
	changed := 0
	for i := 0; i < n; i++ {
		c := labels[i]
		bound := max(half[c], lower[i])
		if upper[i] <= bound {
			continue
		}
		upper[i] = math.Sqrt(sqDist(x[i*d:(i+1)*d], centers[c*d:(c+1)*d]))
		if upper[i] <= bound {
			continue
		}
		full(i)
		if labels[i] != c {
			changed++
		}
	}
	return changed
}

// relocateEmpty gives each empty cluster the point farthest from its
// centre (as scikit-learn does), updating labels, counts and sums. It
// reports whether it moved anything.
func relocateEmpty(x []float64, n, d, k int, labels []int, centers []float64, counts []int, sums []float64) bool {
	moved := false
	for c := 0; c < k; c++ {
		if counts[c] > 0 {
			continue
		}
		far, farD := -1, -1.0
		for i := 0; i < n; i++ {
			if counts[labels[i]] < 2 {
				continue // taking its only point would empty another cluster
			}
			if dd := sqDist(x[i*d:(i+1)*d], centers[labels[i]*d:(labels[i]+1)*d]); dd > farD {
				far, farD = i, dd
			}
		}
		if far < 0 {
			continue // cannot happen with at least k distinct points
		}
		old := labels[far]
		xi := x[far*d : (far+1)*d]
		for j, v := range xi {
			sums[old*d+j] -= v
			sums[c*d+j] += v
		}
		counts[old]--
		counts[c]++
		labels[far] = c
		copy(centers[c*d:(c+1)*d], xi)
		moved = true
	}
	return moved
}
