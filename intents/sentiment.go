package intents

import "slices"

// Sentiment labels. A sentiment model is any Model trained on data with
// these labels (a subset is fine: a two-class model has no neutral).
const (
	Negative = "negative"
	Neutral  = "neutral"
	Positive = "positive"
)

// Sentiment is the tone of one message.
type Sentiment struct {
	// Label is the most probable of negative, neutral and positive.
	Label string `json:"label"`
	// Score is P(positive) - P(negative), in [-1, 1]: -1 is certainly
	// negative, 0 neutral or undecided, 1 certainly positive.
	Score float64 `json:"score"`
	// Confidence is Label's calibrated probability.
	Confidence float64 `json:"confidence"`
}

// SentimentLabels reports whether labels are those of a sentiment
// model: negative and positive, optionally neutral, nothing else.
func SentimentLabels(labels []string) bool {
	if !slices.Contains(labels, Negative) || !slices.Contains(labels, Positive) {
		return false
	}
	for _, l := range labels {
		if l != Negative && l != Neutral && l != Positive {
			return false
		}
	}
	return true
}

// NewSentiment summarizes a sentiment model's probabilities (one per
// label, in labels order).
func NewSentiment(labels []string, probs []float64) Sentiment {
	var s Sentiment
	for i, l := range labels {
		switch l {
		case Positive:
			s.Score += probs[i]
		case Negative:
			s.Score -= probs[i]
		}
		if probs[i] > s.Confidence {
			s.Label, s.Confidence = l, probs[i]
		}
	}
	return s
}
