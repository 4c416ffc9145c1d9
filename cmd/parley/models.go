package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/forest"
	"github.com/parley-chat/parley/intents/rnn"
	"github.com/parley-chat/parley/intents/svm"
)

// modelFlags are the flags shared by train and eval that pick a model
// family and its main hyperparameters.
type modelFlags struct {
	kind string
	seed uint64
	c    float64
	// Forest.
	trees, maxFeatures, minLeaf, maxDepth int
}

func addModelFlags(fs *flag.FlagSet) *modelFlags {
	mf := &modelFlags{}
	fs.StringVar(&mf.kind, "model", "svm", "model family: svm or forest")
	fs.Uint64Var(&mf.seed, "seed", 1, "random seed (same seed, same data: same model)")
	fs.Float64Var(&mf.c, "c", 0, "SVM regularization C (0: default)")
	fs.IntVar(&mf.trees, "trees", 0, "forest: number of trees (0: default)")
	fs.IntVar(&mf.maxFeatures, "max-features", 0, "forest: candidate features per split (0: default)")
	fs.IntVar(&mf.minLeaf, "min-leaf", 0, "forest: least bootstrap examples per leaf (0: default)")
	fs.IntVar(&mf.maxDepth, "max-depth", -1, "forest: maximum tree depth (0: unlimited; -1: default)")
	return mf
}

// trainer returns the configured trainer for the chosen family.
func (mf *modelFlags) trainer(val intents.Dataset, logger *slog.Logger) (intents.Trainer, error) {
	switch mf.kind {
	case svm.Kind:
		c := svm.DefaultConfig()
		if mf.c > 0 {
			c.C = mf.c
		}
		c.Validation = val
		c.Logger = logger
		return c, nil
	case rnn.Kind:
		c := rnn.DefaultConfig()
		c.Validation = val
		c.Logger = logger
		return c, nil
	case forest.Kind:
		c := forest.DefaultConfig()
		if mf.trees > 0 {
			c.Trees = mf.trees
		}
		if mf.maxFeatures > 0 {
			c.MaxFeatures = mf.maxFeatures
		}
		if mf.minLeaf > 0 {
			c.MinLeaf = mf.minLeaf
		}
		if mf.maxDepth >= 0 {
			c.MaxDepth = mf.maxDepth
		}
		c.Validation = val
		c.Logger = logger
		return c, nil
	}
	return nil, fmt.Errorf("unknown model family %q", mf.kind)
}

// progressLogger logs training progress to w when verbose, else nowhere.
func progressLogger(w io.Writer, verbose bool) *slog.Logger {
	if !verbose {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
