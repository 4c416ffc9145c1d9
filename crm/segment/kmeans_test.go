package segment

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/parley-chat/parley/crm"
	"gonum.org/v1/gonum/mat"
)

func TestKMeansRecoversBlobs(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n, d, k    int
		seed       uint64
		maxInertia float64 // unit noise: about n·d, with slack
	}{
		{"k2_d2", 200, 2, 2, 1, 200 * 2 * 1.3},
		{"k4_d3", 400, 3, 4, 2, 400 * 3 * 1.3},
		{"k6_d8", 600, 8, 6, 3, 600 * 8 * 1.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, truth := blobs(tc.n, tc.d, tc.k, tc.seed)
			cl, err := KMeans(t.Context(), x, KMeansConfig{K: tc.k, Seed: 7})
			if err != nil {
				t.Fatalf("KMeans(blobs %s): %v", tc.name, err)
			}
			if !samePartition(cl.Labels, truth) {
				t.Errorf("KMeans(blobs %s): labels do not match the blobs (sizes %v)", tc.name, cl.Sizes)
			}
			if cl.Inertia > tc.maxInertia {
				t.Errorf("KMeans(blobs %s): inertia %.1f, want <= %.1f", tc.name, cl.Inertia, tc.maxInertia)
			}
			for c, s := range cl.Sizes {
				if s != tc.n/tc.k {
					t.Errorf("KMeans(blobs %s): cluster %d has %d points, want %d", tc.name, c, s, tc.n/tc.k)
				}
			}
		})
	}
}

func TestKMeansPlusPlusSeeding(t *testing.T) {
	// Four tight, far-apart blobs: greedy k-means++ puts one seed in each
	// (a seed in an already-seeded blob would leave a huge potential).
	x, truth := blobs(200, 2, 4, 11)
	data, n, d := rowMajor(x)
	for seed := uint64(0); seed < 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		centers := kmeansPlusPlus(data, n, d, 4, rng)
		hit := map[int]bool{}
		for c := 0; c < 4; c++ {
			row := centers[c*d : (c+1)*d]
			i := -1
			for p := 0; p < n; p++ {
				if slices.Equal(row, data[p*d:(p+1)*d]) {
					i = p
					break
				}
			}
			if i < 0 {
				t.Fatalf("seed %d: centre %d %v is not a data point", seed, c, row)
			}
			hit[truth[i]] = true
		}
		if len(hit) != 4 {
			t.Errorf("seed %d: k-means++ seeded blobs %v, want all 4", seed, hit)
		}
	}
}

// naiveLloyd is textbook Lloyd from the given centres with lloyd's
// stopping rule, the reference Hamerly's bounds must reproduce.
func naiveLloyd(x []float64, n, d, k int, centers []float64, maxIter int, tol float64) ([]int, float64) {
	labels := make([]int, n)
	assignAll := func() int {
		changed := 0
		for i := 0; i < n; i++ {
			best, bestD := 0, math.Inf(1)
			for c := 0; c < k; c++ {
				if v := sqDist(x[i*d:(i+1)*d], centers[c*d:(c+1)*d]); v < bestD {
					best, bestD = c, v
				}
			}
			if labels[i] != best {
				changed++
			}
			labels[i] = best
		}
		return changed
	}
	assignAll()
	for it := 0; it < maxIter; it++ {
		sums, counts := make([]float64, k*d), make([]int, k)
		for i := 0; i < n; i++ {
			counts[labels[i]]++
			for j := 0; j < d; j++ {
				sums[labels[i]*d+j] += x[i*d+j]
			}
		}
		var shift float64
		for c := 0; c < k; c++ {
			for j := 0; j < d; j++ {
				v := sums[c*d+j] / float64(counts[c])
				shift += (v - centers[c*d+j]) * (v - centers[c*d+j])
				centers[c*d+j] = v
			}
		}
		if assignAll() == 0 || shift <= tol {
			break
		}
	}
	var inertia float64
	for i := 0; i < n; i++ {
		inertia += sqDist(x[i*d:(i+1)*d], centers[labels[i]*d:(labels[i]+1)*d])
	}
	return labels, inertia
}

func TestHamerlyMatchesLloyd(t *testing.T) {
	// Overlapping blobs, so points do change clusters over many iterations.
	rng := rand.New(rand.NewPCG(5, 5))
	const n, d = 1500, 4
	x := make([]float64, n*d)
	for i := range x {
		x[i] = rng.NormFloat64() + float64(i%3)
	}
	for _, k := range []int{2, 5, 9} {
		for seed := uint64(0); seed < 3; seed++ {
			init := kmeansPlusPlus(x, n, d, k, rand.New(rand.NewPCG(seed, 9)))
			ref := slices.Clone(init)
			wantLabels, wantInertia := naiveLloyd(x, n, d, k, ref, 300, 0)
			got, err := lloyd(t.Context(), x, n, d, k, slices.Clone(init), 300, 0)
			if err != nil {
				t.Fatalf("lloyd(k=%d, seed %d): %v", k, seed, err)
			}
			if !slices.Equal(got.Labels, wantLabels) || !near(got.Inertia, wantInertia, 1e-9) {
				t.Errorf("lloyd(k=%d, seed %d): inertia %.6f, labels equal %v; want plain Lloyd's %.6f",
					k, seed, got.Inertia, slices.Equal(got.Labels, wantLabels), wantInertia)
			}
		}
	}
}

func TestKMeansDeterministic(t *testing.T) {
	x, _ := blobs(500, 3, 5, 4)
	// Noise on top so that restarts genuinely differ.
	noise := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 500; i++ {
		x.Set(i, 0, x.At(i, 0)+8*noise.NormFloat64())
	}
	a, err := KMeans(t.Context(), x, KMeansConfig{K: 5, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		b, err := KMeans(t.Context(), x, KMeansConfig{K: 5, Seed: 42})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.Labels, b.Labels) || a.Inertia != b.Inertia || !mat.Equal(a.Centroids, b.Centroids) {
			t.Fatalf("KMeans(seed 42) twice: inertia %v then %v, want identical results", a.Inertia, b.Inertia)
		}
	}
}

func TestKMeansEmptyClusterRelocation(t *testing.T) {
	// Centres placed so that one of them attracts no point at all.
	x := []float64{0, 0, 0.1, 0, 10, 0, 10.1, 0}
	centers := []float64{0, 0, 10, 0, 100, 100}
	cl, err := lloyd(t.Context(), x, 4, 2, 3, centers, 50, 0)
	if err != nil {
		t.Fatal(err)
	}
	for c, s := range cl.Sizes {
		if s == 0 {
			t.Errorf("lloyd with a far centre: cluster %d empty (sizes %v), want it relocated", c, cl.Sizes)
		}
	}
}

func TestKMeansErrors(t *testing.T) {
	same := mat.NewDense(5, 2, []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1})
	two := mat.NewDense(4, 1, []float64{0, 0, 1, 1})
	nan := mat.NewDense(2, 1, []float64{0, math.NaN()})
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		x    *mat.Dense
		cfg  KMeansConfig
		want error
	}{
		{"empty", t.Context(), &mat.Dense{}, KMeansConfig{K: 2}, ErrEmpty},
		{"nil", t.Context(), nil, KMeansConfig{K: 2}, ErrEmpty},
		{"k0", t.Context(), two, KMeansConfig{K: 0}, crm.ErrInvalid},
		{"identical", t.Context(), same, KMeansConfig{K: 2}, ErrTooFew},
		{"k above distinct", t.Context(), two, KMeansConfig{K: 3}, ErrTooFew},
		{"nan", t.Context(), nan, KMeansConfig{K: 1}, crm.ErrInvalid},
		{"negative restarts", t.Context(), two, KMeansConfig{K: 2, Restarts: -1}, crm.ErrInvalid},
		{"canceled", canceled, two, KMeansConfig{K: 2}, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := KMeans(tc.ctx, tc.x, tc.cfg)
			if !errors.Is(err, tc.want) {
				t.Errorf("KMeans(%s, %+v) error %v, want %v", tc.name, tc.cfg, err, tc.want)
			}
		})
	}
	// One cluster of identical points is fine.
	cl, err := KMeans(t.Context(), same, KMeansConfig{K: 1})
	if err != nil || cl.Inertia != 0 || cl.Sizes[0] != 5 {
		t.Errorf("KMeans(identical points, k=1) = %+v, %v; want one cluster of 5, inertia 0", cl, err)
	}
}

func BenchmarkKMeans100k(b *testing.B) {
	x, _ := blobs(100_000, 8, 5, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := KMeans(b.Context(), x, KMeansConfig{K: 5, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
