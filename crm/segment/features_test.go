package segment

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"gonum.org/v1/gonum/mat"
)

func TestExtract(t *testing.T) {
	day := 24 * time.Hour
	stats := []crm.CustomerStats{
		{
			CustomerID: 10, CreatedAt: testAsOf.Add(-100 * day),
			Orders: 4, Monetary: 250, FirstOrder: testAsOf.Add(-200 * day), LastOrder: testAsOf.Add(-3 * day),
			Conversations: 4, Escalations: 1, Messages: 8, SentimentSum: -2,
			IntentCounts: map[string]int{"price_question": 2, "shipping_cost": 1, "complaint": 5},
		},
		{ // never ordered: lapsed since joining
			CustomerID: 11, CreatedAt: testAsOf.Add(-30 * day),
		},
		{ // no CreatedAt, no orders: the population's largest recency
			CustomerID: 12, Monetary: -20, Conversations: 1, Escalations: 3, Messages: 2, SentimentSum: 5,
			IntentCounts: map[string]int{"gift_card": 9},
		},
	}
	f, err := Extract(stats, testAsOf, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{
		// recency, orders, monetary, tenure, conversations, escalation rate, sentiment, purchase share
		{3, 4, 250, 200, 4, 0.25, -0.25, 3.0 / 8},
		{30, 0, 0, 30, 0, 0, 0, 0},
		{30, 0, 0, 0, 1, 1, 1, 1},
	}
	for i, row := range want {
		for j, w := range row {
			if got := f.Raw.At(i, j); !near(got, w, 1e-12) {
				t.Errorf("customer %d %s = %v, want %v", stats[i].CustomerID, Feature(j), got, w)
			}
		}
	}
	// Z: log1p then z-scores, each column mean 0 and variance 1 unless constant.
	n, d := f.Z.Dims()
	for j := 0; j < d; j++ {
		var m, ss float64
		for i := 0; i < n; i++ {
			m += f.Z.At(i, j)
		}
		m /= float64(n)
		for i := 0; i < n; i++ {
			ss += (f.Z.At(i, j) - m) * (f.Z.At(i, j) - m)
		}
		if !near(m, 0, 1e-12) || !near(ss/float64(n), 1, 1e-12) {
			t.Errorf("column %s: z mean %v, variance %v; want 0, 1", Feature(j), m, ss/float64(n))
		}
	}
	// Monetary column: log1p(250), 0, 0.
	l := math.Log1p(250)
	if got, want := f.Mean[Monetary], l/3; !near(got, want, 1e-12) {
		t.Errorf("monetary mean of log1p = %v, want %v", got, want)
	}
	if got := f.CustomerIDs; got[0] != 10 || got[2] != 12 {
		t.Errorf("CustomerIDs = %v, want 10, 11, 12", got)
	}
}

func TestExtractPurchaseIntents(t *testing.T) {
	stats := []crm.CustomerStats{
		{CustomerID: 1, Messages: 4, IntentCounts: map[string]int{"a": 1, "b": 2, "price_question": 1}},
		{CustomerID: 2},
	}
	f, err := Extract(stats, testAsOf, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Raw.At(0, int(PurchaseShare)); got != 0.75 {
		t.Errorf("purchase share with intents a, b of {a:1 b:2 price_question:1}/4 = %v, want 0.75", got)
	}
}

func TestExtractErrors(t *testing.T) {
	ok := crm.CustomerStats{CustomerID: 1}
	for _, tc := range []struct {
		name  string
		stats []crm.CustomerStats
		asOf  time.Time
		want  error
	}{
		{"empty", nil, testAsOf, ErrEmpty},
		{"zero time", []crm.CustomerStats{ok}, time.Time{}, crm.ErrInvalid},
		{"duplicate", []crm.CustomerStats{ok, ok}, testAsOf, crm.ErrInvalid},
		{"negative orders", []crm.CustomerStats{{CustomerID: 1, Orders: -1}}, testAsOf, crm.ErrInvalid},
		{"orders without time", []crm.CustomerStats{{CustomerID: 1, Orders: 2}}, testAsOf, crm.ErrInvalid},
		{"nan monetary", []crm.CustomerStats{{CustomerID: 1, Monetary: math.NaN()}}, testAsOf, crm.ErrInvalid},
		{"inf sentiment", []crm.CustomerStats{{CustomerID: 1, SentimentSum: math.Inf(-1)}}, testAsOf, crm.ErrInvalid},
		{"negative intent", []crm.CustomerStats{{CustomerID: 1, IntentCounts: map[string]int{"x": -1}}}, testAsOf, crm.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Extract(tc.stats, tc.asOf, nil); !errors.Is(err, tc.want) {
				t.Errorf("Extract(%s) error %v, want %v", tc.name, err, tc.want)
			}
		})
	}
}

func TestStandardizeConstant(t *testing.T) {
	x := mat.NewDense(3, 2, []float64{5, 1, 5, 2, 5, 3})
	z, mean, std := Standardize(x)
	if std[0] != 0 || mean[0] != 5 || z.At(0, 0) != 0 || z.At(2, 0) != 0 {
		t.Errorf("Standardize(constant column 5) = mean %v std %v z %v; want 5, 0, zeros", mean[0], std[0], mat.Col(nil, 0, z))
	}
	if s := math.Sqrt(2.0 / 3); !near(std[1], s, 1e-12) || !near(z.At(2, 1), 1/s, 1e-12) {
		t.Errorf("Standardize(1,2,3) = std %v, z[2] %v; want %v, %v", std[1], z.At(2, 1), s, 1/s)
	}
	if x.At(0, 1) != 1 {
		t.Error("Standardize changed its input")
	}
}
