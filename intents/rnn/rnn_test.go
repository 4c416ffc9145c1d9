package rnn_test

import (
	"context"
	"io"
	"testing"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/intentstest"
	"github.com/parley-chat/parley/intents/rnn"
)

// smallConfig keeps the contract suite fast: the tiny fixture needs no
// more than a few thousand parameters.
func smallConfig() rnn.Config {
	c := rnn.DefaultConfig()
	c.Dim, c.Hidden, c.Buckets = 16, 16, 2000
	c.Batch, c.Lengths = 8, []int{8, 64}
	c.MaxEpochs, c.Patience = 40, 8
	c.LearnRate = 0.01
	return c
}

func TestContract(t *testing.T) {
	intentstest.Run(t, intentstest.Family{
		Kind: rnn.Kind,
		Fit: func(ctx context.Context, d intents.Dataset, seed uint64) (intents.Model, error) {
			return smallConfig().Fit(ctx, d, seed)
		},
		Decode:      func(r io.Reader) (intents.Model, error) { return rnn.Decode(r) },
		MinAccuracy: 0.8, // measured 0.889
	}, "../..")
}
