package conversion

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/parley-chat/parley/crm"
)

// StatsSource is what building features needs from the CRM; crm.Store
// provides it.
type StatsSource interface {
	Stats(ctx context.Context, asOf time.Time) ([]crm.CustomerStats, error)
	OrdersBetween(ctx context.Context, from, to time.Time) (map[int64]int, error)
}

// DefaultIntents are the built-in intents whose shares of a customer's
// messages are features: buying signals (asking about products, prices,
// payment, shipping, discounts) against trouble (complaints, returns,
// refunds, cancellations, asking for a person).
var DefaultIntents = []string{
	"product_availability", "price_question", "product_info", "payment_methods",
	"discount_code", "shipping_cost", "delivery_time", "order_status",
	"complaint", "return_item", "refund_status", "cancel_order",
	"cancel_subscription", "damaged_item", "talk_to_human",
}

// The profile, conversation, sentiment, response and escalation
// features, in order; intent shares follow.
var baseFeatures = []string{
	"tenure_days",       // days from sign-up to the cut-off
	"orders",            // orders before the cut-off
	"log_monetary",      // sign(m)·log(1+|m|) of the amount spent: spend is heavy-tailed
	"avg_order_value",   // amount per order (0 without orders)
	"recency_days",      // days since the last order (tenure_days without orders)
	"frequency_per_30d", // orders per 30 days of tenure
	"conversations",     // conversations before the cut-off
	"messages",          // customer messages before the cut-off
	"message_recency",   // days since the last customer message (tenure_days without)
	"sentiment_mean",    // mean sentiment score of the customer's messages
	"sentiment_trend",   // mean of the last 10 messages minus the overall mean
	"log_reply_seconds", // log(1+mean seconds to a reply): delays are heavy-tailed
	"escalations",       // hand-overs to a person
	"escalation_rate",   // escalations per conversation
}

// IntentPrefix starts the name of an intent-share feature: the share of
// the customer's messages with that intent.
const IntentPrefix = "intent_share:"

// FeatureNames returns the names of the features built for intents, in
// order: the profile features (tenure_days, orders, log_monetary,
// avg_order_value, recency_days, frequency_per_30d), conversation features
// (conversations, messages, message_recency), sentiment (sentiment_mean,
// sentiment_trend), response time (log_reply_seconds), escalations
// (escalations, escalation_rate), then IntentPrefix+intent for each
// intent. Intents must be unique and non-empty.
func FeatureNames(intents []string) ([]string, error) {
	names := append([]string(nil), baseFeatures...)
	for i, in := range intents {
		if in == "" {
			return nil, fmt.Errorf("intent list: %w: intent %d is empty", ErrInvalidData, i)
		}
		names = append(names, IntentPrefix+in)
	}
	if err := checkNames(names); err != nil {
		return nil, fmt.Errorf("intent list: %w", err)
	}
	return names, nil
}

func days(d time.Duration) float64 { return d.Hours() / 24 }

// CustomerFeatures appends to dst the features of one customer's stats
// as of asOf (see FeatureNames) and returns it. Stats computed as of a
// different time give meaningless recency features.
func CustomerFeatures(dst []float64, s crm.CustomerStats, asOf time.Time, intents []string) ([]float64, error) {
	if s.CreatedAt.IsZero() {
		return dst, fmt.Errorf("customer %d: %w: no sign-up time", s.CustomerID, ErrInvalidData)
	}
	for _, c := range []struct {
		name string
		n    int
	}{
		{"orders", s.Orders}, {"conversations", s.Conversations}, {"escalations", s.Escalations},
		{"messages", s.Messages}, {"late messages", s.LateMessages}, {"replies", s.Replies},
	} {
		if c.n < 0 {
			return dst, fmt.Errorf("customer %d: %w: %d %s", s.CustomerID, ErrInvalidData, c.n, c.name)
		}
	}
	tenure := math.Max(0, days(asOf.Sub(s.CreatedAt)))
	recency, avgOrder := tenure, 0.0
	if s.Orders > 0 {
		avgOrder = s.Monetary / float64(s.Orders)
		if !s.LastOrder.IsZero() {
			recency = math.Max(0, days(asOf.Sub(s.LastOrder)))
		}
	}
	msgRecency := tenure
	if !s.LastMessage.IsZero() {
		msgRecency = math.Max(0, days(asOf.Sub(s.LastMessage)))
	}
	var sentMean, sentTrend float64
	if s.Messages > 0 {
		sentMean = s.SentimentSum / float64(s.Messages)
		if s.LateMessages > 0 {
			sentTrend = s.LateSentimentSum/float64(s.LateMessages) - sentMean
		}
	}
	var reply float64
	if s.Replies > 0 {
		reply = math.Log1p(math.Max(0, s.ReplySeconds/float64(s.Replies)))
	}
	var escRate float64
	if s.Conversations > 0 {
		escRate = float64(s.Escalations) / float64(s.Conversations)
	}
	start := len(dst)
	dst = append(dst,
		tenure,
		float64(s.Orders),
		math.Copysign(math.Log1p(math.Abs(s.Monetary)), s.Monetary),
		avgOrder,
		recency,
		float64(s.Orders)/math.Max(tenure, 1)*30,
		float64(s.Conversations),
		float64(s.Messages),
		msgRecency,
		sentMean,
		sentTrend,
		reply,
		float64(s.Escalations),
		escRate,
	)
	for _, in := range intents {
		var share float64
		if s.Messages > 0 {
			share = float64(s.IntentCounts[in]) / float64(s.Messages)
		}
		dst = append(dst, share)
	}
	for j, v := range dst[start:] {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			name := IntentPrefix + "?"
			if j < len(baseFeatures) {
				name = baseFeatures[j]
			} else if j-len(baseFeatures) < len(intents) {
				name = IntentPrefix + intents[j-len(baseFeatures)]
			}
			return dst[:start], fmt.Errorf("customer %d: %w: feature %s is %v", s.CustomerID, ErrInvalidData, name, v)
		}
	}
	return dst, nil
}

// Features returns the features (see FeatureNames) of every customer who
// signed up before asOf, unlabelled, for scoring, with the customers' ids
// in the same order.
func Features(ctx context.Context, src StatsSource, asOf time.Time, intents []string) (Dataset, []int64, error) {
	names, err := FeatureNames(intents)
	if err != nil {
		return Dataset{}, nil, err
	}
	stats, err := src.Stats(ctx, asOf)
	if err != nil {
		return Dataset{}, nil, fmt.Errorf("customer stats as of %s: %w", asOf.Format(time.RFC3339), err)
	}
	if len(stats) > MaxRows {
		return Dataset{}, nil, fmt.Errorf("%w: %d customers, limit %d per dataset", ErrInvalidData, len(stats), MaxRows)
	}
	d := Dataset{Names: names, X: make([][]float64, 0, len(stats))}
	ids := make([]int64, 0, len(stats))
	// One backing array for all rows: 100,000 customers are one
	// allocation, not 100,000.
	backing := make([]float64, 0, len(stats)*len(names))
	for _, s := range stats {
		if !s.CreatedAt.Before(asOf) {
			continue // not a customer yet at the cut-off
		}
		start := len(backing)
		backing, err = CustomerFeatures(backing, s, asOf, intents)
		if err != nil {
			return Dataset{}, nil, err
		}
		d.X = append(d.X, backing[start:len(backing):len(backing)])
		ids = append(ids, s.CustomerID)
	}
	return d, ids, nil
}

// Snapshot returns a labelled dataset for training: the features of
// every customer who signed up before asOf, computed from what happened
// before asOf, labelled true when the customer placed at least one order
// in [asOf, asOf+horizon). Choose asOf at least horizon before now, or
// recent customers look like non-converters only because their window is
// not over.
func Snapshot(ctx context.Context, src StatsSource, asOf time.Time, horizon time.Duration, intents []string) (Dataset, []int64, error) {
	if horizon <= 0 {
		return Dataset{}, nil, fmt.Errorf("%w: horizon %v must be positive", ErrInvalidData, horizon)
	}
	d, ids, err := Features(ctx, src, asOf, intents)
	if err != nil {
		return Dataset{}, nil, err
	}
	orders, err := src.OrdersBetween(ctx, asOf, asOf.Add(horizon))
	if err != nil {
		return Dataset{}, nil, fmt.Errorf("orders in [%s, %s): %w", asOf.Format(time.RFC3339), asOf.Add(horizon).Format(time.RFC3339), err)
	}
	d.Y = make([]bool, len(ids))
	for i, id := range ids {
		d.Y[i] = orders[id] > 0
	}
	return d, ids, nil
}

// ModelIntents returns the intents whose shares are among a model's
// features, checking that the features are exactly those FeatureNames
// builds for them, in order: a model trained on Snapshot data.
func ModelIntents(m Model) ([]string, error) {
	names := m.Info().Features
	var intents []string
	for _, n := range names {
		if in, ok := strings.CutPrefix(n, IntentPrefix); ok {
			intents = append(intents, in)
		}
	}
	want, err := FeatureNames(intents)
	if err != nil || !sameNames(names, want) {
		return nil, fmt.Errorf("%w: the model's %d features (%s) are not customer features", ErrFeatures, len(names), abbrev(names))
	}
	return intents, nil
}

// ScoreCustomers scores every customer who signed up before now with a
// model trained on Snapshot data, ready for crm.Store.SaveLeadScores.
func ScoreCustomers(ctx context.Context, src StatsSource, m Model, now time.Time) ([]crm.LeadScore, error) {
	intents, err := ModelIntents(m)
	if err != nil {
		return nil, err
	}
	d, ids, err := Features(ctx, src, now, intents)
	if err != nil {
		return nil, err
	}
	p, err := Score(m, d)
	if err != nil {
		return nil, err
	}
	scores := make([]crm.LeadScore, len(ids))
	for i, id := range ids {
		scores[i] = crm.LeadScore{CustomerID: id, Score: p[i]}
	}
	return scores, nil
}
