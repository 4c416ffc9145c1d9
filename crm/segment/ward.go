package segment

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/parley-chat/parley/crm"
	"gonum.org/v1/gonum/mat"
)

// Ward limits. Ward keeps the n(n-1)/2 pairwise distances in memory.
const (
	// DefaultWardMaxPoints is the population up to which Run's automatic
	// method uses Ward rather than k-means: 2,000 points take 16 MB of
	// distances and well under a second, and on small populations Ward's
	// deterministic hierarchy is steadier than k-means restarts.
	DefaultWardMaxPoints = 2000
	// WardLimit is the largest input Ward accepts (100 MB of distances).
	WardLimit = 5000
)

// Merge is one step of a Ward hierarchy: the clusters containing points
// A and B are joined, increasing the within-cluster sum of squares by
// Cost, into a cluster of Size points.
type Merge struct {
	A, B int
	Cost float64
	Size int
}

// Tree is a Ward hierarchy over n points: n-1 merges in increasing cost.
type Tree struct {
	N      int
	Merges []Merge
}

// Ward builds the agglomerative hierarchy of x's rows with Ward linkage:
// each step joins the two clusters whose union increases the
// within-cluster sum of squares least. It uses the nearest-neighbour
// chain algorithm (valid because Ward's linkage is reducible) with the
// Lance–Williams update on squared distances, O(n²) time and memory.
// Ties go to the lower point index, so the tree is deterministic.
func Ward(ctx context.Context, x *mat.Dense) (*Tree, error) {
	data, n, d := rowMajor(x)
	if n == 0 {
		return nil, ErrEmpty
	}
	if n > WardLimit {
		return nil, fmt.Errorf("ward: %d points, limit %d (pairwise distances need O(n²) memory): %w", n, WardLimit, crm.ErrInvalid)
	}
	for _, v := range data {
		if bad(v) {
			return nil, fmt.Errorf("ward: non-finite value %v in the data: %w", v, crm.ErrInvalid)
		}
	}
	// dist holds the Lance–Williams dissimilarities of the active
	// clusters, condensed (i < j). For singletons it is the squared
	// distance; for clusters I, J it is 2·|I||J|/(|I|+|J|)·‖cI−cJ‖²,
	// twice the increase in the sum of squares their merge causes.
	dist := make([]float64, n*(n-1)/2)
	at := func(i, j int) int {
		if i > j {
			i, j = j, i
		}
		return n*i - i*(i+1)/2 + j - i - 1
	}
	for i := 0; i < n; i++ {
		xi := data[i*d : (i+1)*d]
		for j := i + 1; j < n; j++ {
			dist[at(i, j)] = sqDist(xi, data[j*d:(j+1)*d])
		}
	}
	size := make([]int, n)
	active := make([]bool, n)
	for i := range size {
		size[i], active[i] = 1, true
	}
	merges := make([]Merge, 0, n-1)
	chain := make([]int, 0, n)
	for len(merges) < n-1 {
		if len(merges)%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if len(chain) == 0 {
			for i := 0; i < n; i++ {
				if active[i] {
					chain = append(chain, i)
					break
				}
			}
		}
		// Grow the chain until its last two are each other's nearest.
		for {
			a := chain[len(chain)-1]
			prev := -1
			if len(chain) > 1 {
				prev = chain[len(chain)-2]
			}
			best, bestD := -1, math.Inf(1)
			if prev >= 0 {
				best, bestD = prev, dist[at(a, prev)] // ties keep the chain's predecessor: no cycles
			}
			for c := 0; c < n; c++ {
				if !active[c] || c == a {
					continue
				}
				if v := dist[at(a, c)]; v < bestD {
					best, bestD = c, v
				}
			}
			if best == prev {
				chain = chain[:len(chain)-2]
				i, j := min(a, best), max(a, best)
				ni, nj := float64(size[i]), float64(size[j])
				dij := bestD
				for c := 0; c < n; c++ {
					if !active[c] || c == i || c == j {
						continue
					}
					nc := float64(size[c])
					dist[at(c, i)] = ((ni+nc)*dist[at(c, i)] + (nj+nc)*dist[at(c, j)] - nc*dij) / (ni + nj + nc)
				}
				size[i] += size[j]
				active[j] = false
				merges = append(merges, Merge{A: i, B: j, Cost: math.Max(0, dij/2), Size: size[i]})
				break
			}
			chain = append(chain, best)
		}
	}
	// The chain finds merges out of order; for a reducible linkage their
	// costs sorted ascending give the hierarchy.
	sort.SliceStable(merges, func(a, b int) bool { return merges[a].Cost < merges[b].Cost })
	return &Tree{N: n, Merges: merges}, nil
}

// Cut returns the k clusters the hierarchy has after its first n-k
// merges, labelled 0..k-1 in order of each cluster's lowest point index.
func (t *Tree) Cut(k int) ([]int, error) {
	if k < 1 || k > t.N {
		return nil, fmt.Errorf("ward cut: k is %d, want 1..%d: %w", k, t.N, crm.ErrInvalid)
	}
	parent := make([]int, t.N)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for _, m := range t.Merges[:t.N-k] {
		ra, rb := find(m.A), find(m.B)
		if ra != rb {
			parent[max(ra, rb)] = min(ra, rb)
		}
	}
	labels := make([]int, t.N)
	id := make(map[int]int, k)
	for i := range labels {
		r := find(i)
		l, ok := id[r]
		if !ok {
			l = len(id)
			id[r] = l
		}
		labels[i] = l
	}
	return labels, nil
}

// clusteringOf turns labels in [0, k) into a Clustering with centroids
// and inertia.
func clusteringOf(x []float64, n, d, k int, labels []int) *Clustering {
	cl := &Clustering{K: k, Labels: labels, Sizes: make([]int, k)}
	cent := make([]float64, k*d)
	for i := 0; i < n; i++ {
		l := labels[i]
		cl.Sizes[l]++
		for j, v := range x[i*d : (i+1)*d] {
			cent[l*d+j] += v
		}
	}
	for c := 0; c < k; c++ {
		if cl.Sizes[c] == 0 {
			continue
		}
		for j := 0; j < d; j++ {
			cent[c*d+j] /= float64(cl.Sizes[c])
		}
	}
	for i := 0; i < n; i++ {
		cl.Inertia += sqDist(x[i*d:(i+1)*d], cent[labels[i]*d:(labels[i]+1)*d])
	}
	cl.Centroids = mat.NewDense(k, d, cent)
	return cl
}
