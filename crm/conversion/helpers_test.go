package conversion_test

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/conversion"
)

// linearData draws n rows of len(w) standard normal features labelled by
// a logistic model with intercept b and weights w, with a fixed seed.
func linearData(n int, b float64, w []float64, seed uint64) conversion.Dataset {
	r := rand.New(rand.NewPCG(seed, 1))
	d := conversion.Dataset{Names: names(len(w)), X: make([][]float64, n), Y: make([]bool, n)}
	for i := range d.X {
		x := make([]float64, len(w))
		z := b
		for j := range x {
			x[j] = r.NormFloat64()
			z += w[j] * x[j]
		}
		d.X[i] = x
		d.Y[i] = r.Float64() < 1/(1+math.Exp(-z))
	}
	return d
}

// xorData draws n rows: two informative features uniform on [-1, 1]
// labelled by whether they have the same sign (flipped with probability
// noise), plus extra pure-noise features.
func xorData(n, extra int, noise float64, seed uint64) conversion.Dataset {
	r := rand.New(rand.NewPCG(seed, 2))
	d := conversion.Dataset{Names: names(2 + extra), X: make([][]float64, n), Y: make([]bool, n)}
	for i := range d.X {
		x := make([]float64, 2+extra)
		for j := range x {
			x[j] = 2*r.Float64() - 1
		}
		y := x[0]*x[1] > 0
		if r.Float64() < noise {
			y = !y
		}
		d.X[i], d.Y[i] = x, y
	}
	return d
}

func names(n int) []string {
	s := make([]string, n)
	for j := range s {
		s[j] = "x" + string(rune('a'+j%26))
		if j >= 26 {
			s[j] += string(rune('0' + j/26))
		}
	}
	return s
}

// mustFit fits a model or fails the test.
func mustFit(tb testing.TB, tr conversion.Trainer, d conversion.Dataset, seed uint64) conversion.Model {
	tb.Helper()
	m, err := tr.Train(context.Background(), d, seed)
	if err != nil {
		tb.Fatalf("Train(%d rows, seed %d): %v", d.Len(), seed, err)
	}
	return m
}

// mustAUC scores d with m and returns the AUC.
func mustAUC(tb testing.TB, m conversion.Model, d conversion.Dataset) float64 {
	tb.Helper()
	r, err := conversion.Evaluate(m, d)
	if err != nil {
		tb.Fatalf("Evaluate: %v", err)
	}
	return r.AUC
}

// encode writes m to bytes.
func encode(tb testing.TB, m conversion.Model) []byte {
	tb.Helper()
	var buf bytes.Buffer
	n, err := m.WriteTo(&buf)
	if err != nil {
		tb.Fatalf("WriteTo: %v", err)
	}
	if n != int64(buf.Len()) {
		tb.Fatalf("WriteTo returned %d, wrote %d bytes", n, buf.Len())
	}
	return buf.Bytes()
}

// quickGBT is a small boosted configuration for fast tests.
func quickGBT() conversion.GBTConfig {
	c := conversion.DefaultGBT()
	c.MaxIter = 40
	return c
}

// syntheticCustomers makes n customers' stats as of asOf, varied like a
// shop's: tenure up to two years, a few orders, conversations with
// intents from DefaultIntents plus small talk, sentiment, reply delays.
func syntheticCustomers(n int, seed uint64) []crm.CustomerStats {
	r := rand.New(rand.NewPCG(seed, 3))
	intents := append(slices.Clone(conversion.DefaultIntents), "greeting", "thanks")
	out := make([]crm.CustomerStats, n)
	for i := range out {
		tenure := time.Duration(1+r.IntN(730)) * day
		s := crm.CustomerStats{CustomerID: int64(i + 1), CreatedAt: ago(tenure), IntentCounts: map[string]int{}}
		s.Orders = r.IntN(6)
		for range s.Orders {
			s.Monetary += 10 + 190*r.Float64()
		}
		if s.Orders > 0 {
			s.FirstOrder = ago(time.Duration(r.Int64N(int64(tenure))))
			s.LastOrder = s.FirstOrder.Add(time.Duration(r.Int64N(int64(asOf.Sub(s.FirstOrder)) + 1)))
		}
		s.Conversations = r.IntN(8)
		for range s.Conversations {
			msgs := 1 + r.IntN(6)
			s.Messages += msgs
			for range msgs {
				s.IntentCounts[intents[r.IntN(len(intents))]]++
				s.SentimentSum += 2*r.Float64() - 1
			}
			if r.IntN(5) == 0 {
				s.Escalations++
			}
		}
		if s.Messages > 0 {
			s.LateMessages = min(s.Messages, 10)
			s.LateSentimentSum = s.SentimentSum * float64(s.LateMessages) / float64(s.Messages) * (0.5 + r.Float64())
			s.LastMessage = ago(time.Duration(r.Int64N(int64(tenure))))
			s.Replies = s.Messages
			s.ReplySeconds = float64(s.Replies) * (1 + 600*r.Float64())
		}
		out[i] = s
	}
	return out
}
