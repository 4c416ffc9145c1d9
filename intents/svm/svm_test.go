package svm_test

import (
	"context"
	"io"
	"testing"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/intentstest"
	"github.com/parley-chat/parley/intents/svm"
)

func TestContract(t *testing.T) {
	intentstest.Run(t, intentstest.Family{
		Kind: svm.Kind,
		Fit: func(ctx context.Context, d intents.Dataset, seed uint64) (intents.Model, error) {
			return svm.DefaultConfig().Fit(ctx, d, seed)
		},
		Decode:      func(r io.Reader) (intents.Model, error) { return svm.Decode(r) },
		MinAccuracy: 0.80,
	}, "../..")
}
