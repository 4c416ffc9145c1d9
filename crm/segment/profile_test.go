package segment

import (
	"testing"

	"gonum.org/v1/gonum/mat"
)

// zrow builds a segment mean z-score vector from feature: value pairs.
func zrow(kv map[Feature]float64) []float64 {
	z := make([]float64, NumFeatures)
	for f, v := range kv {
		z[f] = v
	}
	return z
}

func TestName(t *testing.T) {
	for _, tc := range []struct {
		z    map[Feature]float64
		want string
	}{
		{map[Feature]float64{Monetary: 1.4, Sentiment: -0.9, Frequency: 0.7}, "high value, unhappy"},
		{map[Feature]float64{Tenure: -1.5, Conversations: 0.8}, "new, engaged"},
		{map[Feature]float64{Recency: 1.2, Monetary: -0.6}, "lapsed, low value"},
		{map[Feature]float64{Recency: -0.8, Frequency: 0.51}, "recent, frequent"},
		{map[Feature]float64{EscalationRate: 2, PurchaseShare: -0.6}, "often escalated, support-minded"},
		{map[Feature]float64{PurchaseShare: 0.9, Sentiment: 0.6}, "purchase-minded, happy"},
		{map[Feature]float64{Conversations: -0.55}, "quiet"},
		{map[Feature]float64{Monetary: 0.5, Recency: -0.49}, "typical"}, // the threshold is strict
		{nil, "typical"},
	} {
		if got := Name(traits(zrow(tc.z))); got != tc.want {
			t.Errorf("Name(z %v) = %q, want %q", tc.z, got, tc.want)
		}
	}
}

func TestProfilesUniqueNames(t *testing.T) {
	// Three segments of two customers on two features; segments 1 and 2
	// share the two main traits, segment 2 also has a third.
	raw := mat.NewDense(6, NumFeatures, nil)
	z := mat.NewDense(6, NumFeatures, nil)
	set := func(i int, kv map[Feature]float64) {
		for f, v := range kv {
			z.Set(i, int(f), v)
			raw.Set(i, int(f), 10*v)
		}
	}
	for _, i := range []int{0, 1} {
		set(i, map[Feature]float64{Monetary: 2, Sentiment: -1})
	}
	for _, i := range []int{2, 3} {
		set(i, map[Feature]float64{Monetary: 2, Sentiment: -1, Recency: 0.8})
	}
	for _, i := range []int{4, 5} {
		set(i, map[Feature]float64{Monetary: 2, Sentiment: -1})
	}
	f := &Features{CustomerIDs: []int64{1, 2, 3, 4, 5, 6}, Raw: raw, Z: z}
	ps := profiles(f, []int{0, 0, 1, 1, 2, 2}, 3)
	want := []string{"high value, unhappy", "high value, unhappy, lapsed", "high value, unhappy (S3)"}
	for s, p := range ps {
		if p.Name != want[s] {
			t.Errorf("segment %s name %q, want %q", p.Segment, p.Name, want[s])
		}
		if p.Size != 2 || !near(p.Share, 1.0/3, 1e-12) {
			t.Errorf("segment %s size %d share %v, want 2, 1/3", p.Segment, p.Size, p.Share)
		}
		if p.Mean[Monetary] != 20 || p.Z[Monetary] != 2 {
			t.Errorf("segment %s monetary mean %v z %v, want 20, 2", p.Segment, p.Mean[Monetary], p.Z[Monetary])
		}
	}
	if tr := ps[1].Traits; len(tr) != 3 || tr[0].Feature != Monetary || tr[2].Word != "lapsed" {
		t.Errorf("segment S2 traits %+v, want monetary, sentiment, recency", tr)
	}
}

func TestFeatureString(t *testing.T) {
	if Recency.String() != "recency_days" || PurchaseShare.String() != "purchase_share" || Feature(99).String() != "Feature(99)" {
		t.Errorf("Feature names: %s %s %s", Recency, PurchaseShare, Feature(99))
	}
	if !Monetary.Logged() || Sentiment.Logged() || Feature(-1).Logged() {
		t.Error("Logged: want monetary logged, sentiment not, unknown not")
	}
}
