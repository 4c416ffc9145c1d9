package segment

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"gonum.org/v1/gonum/mat"
)

// blobs returns n points in d dimensions around k centres spaced far
// apart (centre c at 10·c on every axis), with unit Gaussian noise, and
// the true labels. Point i belongs to blob i % k.
func blobs(n, d, k int, seed uint64) (*mat.Dense, []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := mat.NewDense(n, d, nil)
	truth := make([]int, n)
	for i := 0; i < n; i++ {
		c := i % k
		truth[i] = c
		for j := 0; j < d; j++ {
			// Alternate the sign per axis so the centres do not sit on one line.
			centre := 10 * float64(c)
			if j%2 == 1 {
				centre = 10 * float64((c*3)%k)
			}
			x.Set(i, j, centre+rng.NormFloat64())
		}
	}
	return x, truth
}

// samePartition reports whether labels equal truth up to renaming.
func samePartition(labels, truth []int) bool {
	if len(labels) != len(truth) {
		return false
	}
	fwd, back := map[int]int{}, map[int]int{}
	for i := range labels {
		a, b := labels[i], truth[i]
		if v, ok := fwd[a]; ok && v != b {
			return false
		}
		if v, ok := back[b]; ok && v != a {
			return false
		}
		fwd[a], back[b] = b, a
	}
	return true
}

var testAsOf = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// customerKinds are the synthetic populations of synthStats: each kind
// draws its aggregates from its own ranges, far enough apart that a
// segmentation should separate them.
var customerKinds = []struct {
	name                     string
	share                    float64
	ordersLo, ordersHi       int
	amountLo, amountHi       float64
	lastLo, lastHi           float64 // days before asOf of the last order
	tenureLo, tenureHi       float64
	convLo, convHi           int
	escalate, sentiment, buy float64 // per conversation, mean score, purchase share
}{
	{"loyal", 0.2, 10, 30, 60, 200, 0, 20, 250, 365, 2, 6, 0.02, 0.6, 0.4},
	{"occasional", 0.4, 1, 4, 20, 60, 30, 150, 120, 365, 0, 2, 0.05, 0.1, 0.3},
	{"new", 0.15, 0, 1, 20, 50, 0, 10, 0, 20, 2, 5, 0.02, 0.3, 0.8},
	{"unhappy", 0.25, 2, 6, 30, 80, 20, 200, 120, 365, 4, 9, 0.5, -0.7, 0.05},
}

// synthStats returns n customers' stats as of testAsOf, deterministic
// in seed, and each customer's kind (an index into customerKinds).
func synthStats(n int, seed uint64) ([]crm.CustomerStats, []int) {
	rng := rand.New(rand.NewPCG(seed, 2))
	stats := make([]crm.CustomerStats, n)
	kinds := make([]int, n)
	day := 24 * time.Hour
	for i := range stats {
		u, kind := rng.Float64(), 0
		for k, c := range customerKinds {
			if u < c.share {
				kind = k
				break
			}
			u -= c.share
		}
		c := customerKinds[kind]
		kinds[i] = kind
		uni := func(lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
		tenure := uni(c.tenureLo, c.tenureHi)
		s := crm.CustomerStats{
			CustomerID: int64(i + 1),
			CreatedAt:  testAsOf.Add(-time.Duration(tenure * float64(day))),
			Orders:     c.ordersLo + rng.IntN(c.ordersHi-c.ordersLo+1),
		}
		if s.Orders > 0 {
			s.Monetary = float64(s.Orders) * uni(c.amountLo, c.amountHi)
			last := math.Min(uni(c.lastLo, c.lastHi), tenure)
			s.LastOrder = testAsOf.Add(-time.Duration(last * float64(day)))
			s.FirstOrder = s.CreatedAt
		}
		s.Conversations = c.convLo + rng.IntN(c.convHi-c.convLo+1)
		for v := 0; v < s.Conversations; v++ {
			if rng.Float64() < c.escalate {
				s.Escalations++
			}
			msgs := 1 + rng.IntN(3)
			s.Messages += msgs
			for m := 0; m < msgs; m++ {
				s.SentimentSum += math.Max(-1, math.Min(1, c.sentiment+0.3*rng.NormFloat64()))
			}
		}
		if s.Messages > 0 {
			s.IntentCounts = map[string]int{
				"price_question": int(math.Round(c.buy * float64(s.Messages))),
				"order_status":   s.Messages - int(math.Round(c.buy*float64(s.Messages))),
			}
		}
		stats[i] = s
	}
	return stats, kinds
}

// purity is the share of points whose cluster's majority kind is their
// own kind.
func purity(labels, kinds []int) float64 {
	counts := map[[2]int]int{}
	for i := range labels {
		counts[[2]int{labels[i], kinds[i]}]++
	}
	best := map[int]int{}
	for key, c := range counts {
		if c > best[key[0]] {
			best[key[0]] = c
		}
	}
	total := 0
	for _, c := range best {
		total += c
	}
	return float64(total) / float64(len(labels))
}

func near(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func mustRun(tb testing.TB, stats []crm.CustomerStats, cfg Config) *Result {
	tb.Helper()
	r, err := Run(tb.Context(), stats, testAsOf, cfg)
	if err != nil {
		tb.Fatalf("Run(%d customers, %+v): %v", len(stats), cfg, err)
	}
	return r
}
