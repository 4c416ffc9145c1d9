package segment

import (
	"fmt"
	"math"
	"time"

	"github.com/parley-chat/parley/crm"
	"gonum.org/v1/gonum/mat"
)

// Feature indexes a column of Features.Raw and Features.Z.
type Feature int

// The features, in column order.
const (
	// Recency is the number of days from the last order to the reference
	// time. A customer who never ordered counts as lapsed since they
	// joined (days since CreatedAt); without a CreatedAt either, they get
	// the population's largest recency. Log-transformed.
	Recency Feature = iota
	// Frequency is the number of orders. Log-transformed.
	Frequency
	// Monetary is the sum of the orders' amounts; a net negative sum
	// (refunds above purchases) counts as 0. Log-transformed.
	Monetary
	// Tenure is the number of days since the customer was first seen:
	// the earlier of CreatedAt and the first order (a store may stamp
	// CreatedAt when the record was written, after orders it imported).
	// Kept linear: it is bounded by the shop's age, not skewed.
	Tenure
	// Conversations is the number of conversations. Log-transformed.
	Conversations
	// EscalationRate is escalations per conversation, at most 1 (0
	// without conversations).
	EscalationRate
	// Sentiment is the mean sentiment score of the customer's messages,
	// in [-1, 1] (0, neutral, without messages).
	Sentiment
	// PurchaseShare is the share of the customer's messages whose intent
	// is a purchase-type intent (Config.PurchaseIntents), in [0, 1].
	PurchaseShare

	// NumFeatures is the number of features.
	NumFeatures int = iota
)

// featureInfo describes each feature for tables and profile names.
var featureInfo = [NumFeatures]struct {
	name, label string
	log         bool   // log1p before standardizing
	high, low   string // the trait words for a high or low segment mean
	format      string // for tables
}{
	Recency:        {"recency_days", "recency (days)", true, "lapsed", "recent", "%.0f"},
	Frequency:      {"orders", "orders", true, "frequent", "infrequent", "%.1f"},
	Monetary:       {"monetary", "spend", true, "high value", "low value", "%.0f"},
	Tenure:         {"tenure_days", "tenure (days)", false, "long-standing", "new", "%.0f"},
	Conversations:  {"conversations", "conversations", true, "engaged", "quiet", "%.1f"},
	EscalationRate: {"escalation_rate", "escalation rate", false, "often escalated", "rarely escalated", "%.2f"},
	Sentiment:      {"sentiment", "sentiment", false, "happy", "unhappy", "%+.2f"},
	PurchaseShare:  {"purchase_share", "purchase questions", false, "purchase-minded", "support-minded", "%.2f"},
}

// String returns the feature's column name, e.g. "recency_days".
func (f Feature) String() string {
	if f < 0 || int(f) >= NumFeatures {
		return fmt.Sprintf("Feature(%d)", int(f))
	}
	return featureInfo[f].name
}

// Logged reports whether the feature is log-transformed (log1p) before
// standardizing.
func (f Feature) Logged() bool { return f >= 0 && int(f) < NumFeatures && featureInfo[f].log }

// DefaultPurchaseIntents are the purchase-type intents among Parley's
// built-in intents: questions asked before buying.
var DefaultPurchaseIntents = []string{
	"product_availability", "price_question", "product_info", "discount_code",
	"payment_methods", "shipping_cost", "delivery_time", "international_shipping", "gift_card",
}

// Features is the feature matrix of a population, one row per customer
// in the order of the stats it came from.
type Features struct {
	CustomerIDs []int64
	// Raw holds the features in natural units (days, orders, money, ...).
	Raw *mat.Dense
	// Z holds the standardized features: log1p where Feature.Logged, then
	// (x - Mean) / Std. A constant column (Std 0) is all zeros.
	Z *mat.Dense
	// Mean and Std are each transformed column's mean and population
	// standard deviation (as scikit-learn's StandardScaler computes them).
	Mean, Std []float64
}

// Extract computes the features of stats at the reference time asOf.
// purchase names the purchase-type intents (nil: DefaultPurchaseIntents).
// It fails on empty input, duplicate customer ids, negative counts and
// non-finite numbers, naming the customer; times after asOf count as asOf.
func Extract(stats []crm.CustomerStats, asOf time.Time, purchase []string) (*Features, error) {
	if len(stats) == 0 {
		return nil, ErrEmpty
	}
	if asOf.IsZero() {
		return nil, fmt.Errorf("extract features: zero reference time: %w", crm.ErrInvalid)
	}
	if purchase == nil {
		purchase = DefaultPurchaseIntents
	}
	n, d := len(stats), NumFeatures
	raw := make([]float64, n*d)
	ids := make([]int64, n)
	seen := make(map[int64]bool, n)
	noHistory := []int{} // rows without orders or CreatedAt: recency filled in below
	maxRecency := 0.0
	for i, s := range stats {
		if err := checkStats(s); err != nil {
			return nil, fmt.Errorf("extract features: customer %d: %w", s.CustomerID, err)
		}
		if seen[s.CustomerID] {
			return nil, fmt.Errorf("extract features: customer %d appears twice: %w", s.CustomerID, crm.ErrInvalid)
		}
		seen[s.CustomerID] = true
		ids[i] = s.CustomerID
		row := raw[i*d : (i+1)*d]

		first := s.CreatedAt
		if !s.FirstOrder.IsZero() && (first.IsZero() || s.FirstOrder.Before(first)) {
			first = s.FirstOrder
		}
		if !first.IsZero() {
			row[Tenure] = days(asOf, first)
		}
		switch {
		case s.Orders > 0:
			row[Recency] = days(asOf, s.LastOrder)
		case !s.CreatedAt.IsZero():
			row[Recency] = days(asOf, s.CreatedAt)
		default:
			noHistory = append(noHistory, i)
		}
		maxRecency = math.Max(maxRecency, row[Recency])
		row[Frequency] = float64(s.Orders)
		row[Monetary] = math.Max(0, s.Monetary)
		row[Conversations] = float64(s.Conversations)
		if s.Conversations > 0 {
			row[EscalationRate] = math.Min(1, float64(s.Escalations)/float64(s.Conversations))
		}
		if s.Messages > 0 {
			row[Sentiment] = math.Max(-1, math.Min(1, s.SentimentSum/float64(s.Messages)))
			p := 0
			for _, intent := range purchase {
				p += s.IntentCounts[intent]
			}
			row[PurchaseShare] = math.Min(1, float64(p)/float64(s.Messages))
		}
	}
	for _, i := range noHistory {
		raw[i*d+int(Recency)] = maxRecency
	}

	z := make([]float64, n*d)
	for j := 0; j < d; j++ {
		for i := 0; i < n; i++ {
			v := raw[i*d+j]
			if featureInfo[j].log {
				v = math.Log1p(v)
			}
			z[i*d+j] = v
		}
	}
	mean, std := standardize(z, n, d)
	return &Features{
		CustomerIDs: ids,
		Raw:         mat.NewDense(n, d, raw),
		Z:           mat.NewDense(n, d, z),
		Mean:        mean,
		Std:         std,
	}, nil
}

// checkStats rejects aggregates no store can produce.
func checkStats(s crm.CustomerStats) error {
	if s.Orders < 0 || s.Conversations < 0 || s.Escalations < 0 || s.Messages < 0 {
		return fmt.Errorf("negative count (orders %d, conversations %d, escalations %d, messages %d): %w",
			s.Orders, s.Conversations, s.Escalations, s.Messages, crm.ErrInvalid)
	}
	if bad(s.Monetary) || bad(s.SentimentSum) {
		return fmt.Errorf("non-finite monetary %v or sentiment sum %v: %w", s.Monetary, s.SentimentSum, crm.ErrInvalid)
	}
	if s.Orders > 0 && s.LastOrder.IsZero() {
		return fmt.Errorf("%d orders but no last order time: %w", s.Orders, crm.ErrInvalid)
	}
	for intent, c := range s.IntentCounts {
		if c < 0 {
			return fmt.Errorf("negative count %d for intent %q: %w", c, intent, crm.ErrInvalid)
		}
	}
	return nil
}

func bad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// days is the number of days from t to asOf, 0 when t is later.
func days(asOf, t time.Time) float64 {
	return math.Max(0, asOf.Sub(t).Hours()/24)
}

// standardize turns the n×d row-major x into z-scores in place and
// returns each column's mean and population standard deviation. A
// column whose spread is below rounding noise is constant: it becomes
// zeros and its Std is reported as 0, so it neither divides by zero nor
// turns float noise into a feature.
func standardize(x []float64, n, d int) (mean, std []float64) {
	mean, std = make([]float64, d), make([]float64, d)
	for j := 0; j < d; j++ {
		var m float64
		for i := 0; i < n; i++ {
			m += x[i*d+j]
		}
		m /= float64(n)
		var ss float64
		for i := 0; i < n; i++ {
			dv := x[i*d+j] - m
			ss += dv * dv
		}
		s := math.Sqrt(ss / float64(n))
		if s <= 1e-12*math.Max(1, math.Abs(m)) {
			s = 0
		}
		mean[j], std[j] = m, s
		for i := 0; i < n; i++ {
			if s == 0 {
				x[i*d+j] = 0
			} else {
				x[i*d+j] = (x[i*d+j] - m) / s
			}
		}
	}
	return mean, std
}

// Standardize returns the z-scores of x's columns with each column's
// mean and population standard deviation, as Extract standardizes
// features (constant columns become zeros with Std 0). x is not changed.
func Standardize(x mat.Matrix) (z *mat.Dense, mean, std []float64) {
	n, d := x.Dims()
	if n == 0 || d == 0 {
		return &mat.Dense{}, make([]float64, d), make([]float64, d)
	}
	data := make([]float64, n*d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			data[i*d+j] = x.At(i, j)
		}
	}
	mean, std = standardize(data, n, d)
	return mat.NewDense(n, d, data), mean, std
}
