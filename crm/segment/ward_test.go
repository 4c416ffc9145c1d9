package segment

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/parley-chat/parley/crm"
	"gonum.org/v1/gonum/mat"
)

func TestWardHandChecked(t *testing.T) {
	// Points 0, 1, 5, 6, 20 on a line. By hand, the increase in the sum
	// of squares of a merge is |A||B|/(|A|+|B|)·(cA-cB)²:
	//   {0}+{1}: 1/2·1 = 0.5          {5}+{6}: 0.5
	//   {0,1}+{5,6}: 4/4·5² = 25      ({5,6}+{20}: 2/3·14.5² = 140.2)
	//   {0,1,5,6}+{20}: 4/5·17² = 231.2
	x := mat.NewDense(5, 1, []float64{0, 1, 5, 6, 20})
	tree, err := Ward(t.Context(), x)
	if err != nil {
		t.Fatal(err)
	}
	wantCosts := []float64{0.5, 0.5, 25, 231.2}
	for i, m := range tree.Merges {
		if !near(m.Cost, wantCosts[i], 1e-12) {
			t.Errorf("merge %d %+v: cost %v, want %v", i, m, m.Cost, wantCosts[i])
		}
	}
	for _, tc := range []struct {
		k    int
		want []int
	}{
		{1, []int{0, 0, 0, 0, 0}},
		{2, []int{0, 0, 0, 0, 1}},
		{3, []int{0, 0, 1, 1, 2}},
		{5, []int{0, 1, 2, 3, 4}},
	} {
		got, err := tree.Cut(tc.k)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Cut(%d) of 0,1,5,6,20 = %v, %v; want %v", tc.k, got, err, tc.want)
		}
	}
	if _, err := tree.Cut(6); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("Cut(6) of 5 points: error %v, want crm.ErrInvalid", err)
	}
}

// naiveWard merges greedily, recomputing every pair's Ward cost from the
// cluster centroids: O(n³), the definition the fast version must match.
func naiveWard(x []float64, n, d, k int) []int {
	clusters := make([][]int, n)
	for i := range clusters {
		clusters[i] = []int{i}
	}
	centroid := func(c []int) []float64 {
		m := make([]float64, d)
		for _, i := range c {
			for j := 0; j < d; j++ {
				m[j] += x[i*d+j] / float64(len(c))
			}
		}
		return m
	}
	for len(clusters) > k {
		bi, bj, best := -1, -1, math.Inf(1)
		for i := range clusters {
			for j := i + 1; j < len(clusters); j++ {
				a, b := float64(len(clusters[i])), float64(len(clusters[j]))
				cost := a * b / (a + b) * sqDist(centroid(clusters[i]), centroid(clusters[j]))
				if cost < best {
					bi, bj, best = i, j, cost
				}
			}
		}
		clusters[bi] = append(clusters[bi], clusters[bj]...)
		clusters = slices.Delete(clusters, bj, bj+1)
	}
	labels := make([]int, n)
	for c, members := range clusters {
		for _, i := range members {
			labels[i] = c
		}
	}
	return labels
}

func TestWardMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const n, d = 60, 3
	data := make([]float64, n*d)
	for i := range data {
		data[i] = rng.NormFloat64() * float64(1+i%4)
	}
	tree, err := Ward(t.Context(), mat.NewDense(n, d, data))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{2, 3, 5, 8, 20} {
		got, err := tree.Cut(k)
		if err != nil {
			t.Fatal(err)
		}
		if want := naiveWard(data, n, d, k); !samePartition(got, want) {
			t.Errorf("Ward cut at k=%d on 60 random points differs from greedy Ward\n got  %v\n want %v", k, got, want)
		}
	}
	for i := 1; i < len(tree.Merges); i++ {
		if tree.Merges[i].Cost < tree.Merges[i-1].Cost {
			t.Errorf("merge costs not increasing at %d: %v then %v", i, tree.Merges[i-1].Cost, tree.Merges[i].Cost)
		}
	}
	if last := tree.Merges[n-2]; last.Size != n {
		t.Errorf("last merge %+v, want size %d", last, n)
	}
}

func TestWardRecoversBlobs(t *testing.T) {
	x, truth := blobs(300, 4, 3, 8)
	tree, err := Ward(t.Context(), x)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := tree.Cut(3)
	if !samePartition(got, truth) {
		t.Errorf("Ward cut at 3 on three blobs does not match them")
	}
}

func TestWardErrors(t *testing.T) {
	if _, err := Ward(t.Context(), &mat.Dense{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("Ward(empty): %v, want ErrEmpty", err)
	}
	if _, err := Ward(t.Context(), mat.NewDense(WardLimit+1, 1, nil)); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("Ward(%d points): %v, want crm.ErrInvalid", WardLimit+1, err)
	}
	if _, err := Ward(t.Context(), mat.NewDense(2, 1, []float64{0, math.Inf(1)})); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("Ward(+Inf): %v, want crm.ErrInvalid", err)
	}
	one, err := Ward(t.Context(), mat.NewDense(1, 2, []float64{1, 2}))
	if err != nil || len(one.Merges) != 0 {
		t.Fatalf("Ward(one point) = %+v, %v; want no merges", one, err)
	}
	if got, err := one.Cut(1); err != nil || !slices.Equal(got, []int{0}) {
		t.Errorf("Cut(1) of one point = %v, %v; want [0]", got, err)
	}
}

func TestSilhouetteHandChecked(t *testing.T) {
	// 0 and 1 together, 3 alone: point 0 has a=1, b=3 -> 2/3; point 1
	// a=1, b=2 -> 1/2; the lone point 0. Mean 7/18.
	x := mat.NewDense(3, 1, []float64{0, 1, 3})
	got, err := Silhouette(t.Context(), x, []int{0, 0, 1}, 2)
	if err != nil || !near(got, 7.0/18, 1e-12) {
		t.Errorf("Silhouette(0,1 | 3) = %v, %v; want %v", got, err, 7.0/18)
	}
	// Two tight, far pairs: near 1.
	x = mat.NewDense(4, 1, []float64{0, 0.1, 10, 10.1})
	if got, _ := Silhouette(t.Context(), x, []int{0, 0, 1, 1}, 2); got < 0.98 {
		t.Errorf("Silhouette(two far pairs) = %v, want > 0.98", got)
	}
	if _, err := Silhouette(t.Context(), x, []int{0, 0, 0, 0}, 2); !errors.Is(err, ErrTooFew) {
		t.Errorf("Silhouette(one cluster): %v, want ErrTooFew", err)
	}
	if _, err := Silhouette(t.Context(), x, []int{0, 0, 7, 0}, 2); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("Silhouette(label 7 of 2): %v, want crm.ErrInvalid", err)
	}
	if _, err := Silhouette(t.Context(), x, []int{0, 1}, 2); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("Silhouette(2 labels for 4 points): %v, want crm.ErrInvalid", err)
	}
}

func TestSilhouettePicksK(t *testing.T) {
	for _, trueK := range []int{3, 5} {
		x, _ := blobs(500, 3, trueK, uint64(trueK))
		bestK, best := 0, math.Inf(-1)
		for k := 2; k <= 8; k++ {
			cl, err := KMeans(t.Context(), x, KMeansConfig{K: k, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			s, err := SilhouetteSample(t.Context(), x, cl.Labels, k, 300, 1)
			if err != nil {
				t.Fatal(err)
			}
			if s > best {
				bestK, best = k, s
			}
		}
		if bestK != trueK {
			t.Errorf("silhouette on %d blobs picked k=%d (score %.3f), want %d", trueK, bestK, best, trueK)
		}
	}
}

func TestSampleIndexes(t *testing.T) {
	a := sampleIndexes(10_000, 500, 9)
	b := sampleIndexes(10_000, 500, 9)
	if !slices.Equal(a, b) {
		t.Fatal("sampleIndexes(seed 9) twice differ")
	}
	if len(a) != 500 || !slices.IsSorted(a) || len(slices.Compact(slices.Clone(a))) != 500 {
		t.Errorf("sampleIndexes(10000, 500) = %d indexes (sorted %v), want 500 distinct sorted", len(a), slices.IsSorted(a))
	}
	if slices.Equal(a, sampleIndexes(10_000, 500, 10)) {
		t.Error("sampleIndexes with seeds 9 and 10 are equal")
	}
	if got := sampleIndexes(5, 500, 1); !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
		t.Errorf("sampleIndexes(5, 500) = %v, want all", got)
	}
}
