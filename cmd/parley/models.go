package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/ensemble"
	"github.com/parley-chat/parley/intents/forest"
	"github.com/parley-chat/parley/intents/rnn"
	"github.com/parley-chat/parley/intents/svm"
	"github.com/parley-chat/parley/nlp"
)

// modelFlags are the flags shared by train and eval that pick a model
// family and its main hyperparameters.
type modelFlags struct {
	kind string
	seed uint64
	c    float64
	// Features (svm and forest).
	charWeight       float64
	wordMax, charMax int
	// Forest.
	trees, maxFeatures, minLeaf, maxDepth int
	// RNN.
	epochs, hidden int
	vectors        string
	vectorWords    int
	// Ensemble.
	members string
	noRefit bool
}

func addModelFlags(fs *flag.FlagSet) *modelFlags {
	mf := &modelFlags{}
	fs.StringVar(&mf.kind, "model", ensemble.Kind, "model family: svm, forest, rnn or ensemble")
	fs.Uint64Var(&mf.seed, "seed", 1, "random seed (same seed, same data: same model)")
	fs.Float64Var(&mf.c, "c", 0, "SVM regularization C (0: default)")
	fs.Float64Var(&mf.charWeight, "char-weight", 0, "features: weight of character n-grams relative to words (0: default)")
	fs.IntVar(&mf.wordMax, "word-max", 0, "features: longest word n-gram (0: default)")
	fs.IntVar(&mf.charMax, "char-max", 0, "features: longest character n-gram (0: default)")
	fs.IntVar(&mf.trees, "trees", 0, "forest: number of trees (0: default)")
	fs.IntVar(&mf.maxFeatures, "max-features", 0, "forest: candidate features per split (0: default)")
	fs.IntVar(&mf.minLeaf, "min-leaf", 0, "forest: least bootstrap examples per leaf (0: default)")
	fs.IntVar(&mf.maxDepth, "max-depth", -1, "forest: maximum tree depth (0: unlimited; -1: default)")
	fs.IntVar(&mf.epochs, "epochs", 0, "rnn: maximum epochs (0: default)")
	fs.IntVar(&mf.hidden, "hidden", 0, "rnn: GRU state width (0: default)")
	fs.StringVar(&mf.vectors, "vectors", "", "rnn: pretrained word vectors (.vec or GloVe text) to start the embeddings from; sets their width")
	fs.IntVar(&mf.vectorWords, "vector-words", 20000, "rnn: how many of the pretrained vectors' most frequent words join the vocabulary")
	fs.StringVar(&mf.members, "members", "", "ensemble: comma-separated families to combine (default: svm,forest,rnn)")
	fs.BoolVar(&mf.noRefit, "no-refit", false, "ensemble: keep the members trained without the held-out share")
	return mf
}

// trainer returns the configured trainer for the chosen family.
func (mf *modelFlags) trainer(val intents.Dataset, logger *slog.Logger) (intents.Trainer, error) {
	switch mf.kind {
	case svm.Kind:
		c := mf.svmConfig()
		c.Validation, c.Logger = val, logger
		return c, nil
	case forest.Kind:
		c := mf.forestConfig()
		c.Validation, c.Logger = val, logger
		return c, nil
	case rnn.Kind:
		c, err := mf.rnnConfig()
		if err != nil {
			return nil, err
		}
		c.Validation, c.Logger = val, logger
		return c, nil
	case ensemble.Kind:
		c := ensemble.DefaultConfig()
		rc, err := mf.rnnConfig()
		if err != nil {
			return nil, err
		}
		c.SVM, c.Forest, c.RNN = mf.svmConfig(), mf.forestConfig(), rc
		if mf.members != "" {
			c.Members = strings.Split(mf.members, ",")
		}
		c.Refit = !mf.noRefit
		c.Validation, c.Logger = val, logger
		return c, nil
	}
	return nil, fmt.Errorf("unknown model family %q (want svm, forest, rnn or ensemble)", mf.kind)
}

func (mf *modelFlags) svmConfig() svm.Config {
	c := svm.DefaultConfig()
	if mf.c > 0 {
		c.C = mf.c
	}
	c.Features = mf.features(c.Features)
	return c
}

func (mf *modelFlags) features(f nlp.FeatureConfig) nlp.FeatureConfig {
	if mf.charWeight > 0 {
		f.CharWeight = mf.charWeight
	}
	if mf.wordMax > 0 {
		f.WordMax = mf.wordMax
	}
	if mf.charMax > 0 {
		f.CharMax = mf.charMax
	}
	return f
}

func (mf *modelFlags) forestConfig() forest.Config {
	c := forest.DefaultConfig()
	c.Features = mf.features(c.Features)
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
	return c
}

func (mf *modelFlags) rnnConfig() (rnn.Config, error) {
	c := rnn.DefaultConfig()
	if mf.vectors != "" {
		f, err := os.Open(mf.vectors)
		if err != nil {
			return c, err
		}
		defer f.Close()
		v, err := nlp.ReadVectors(bufio.NewReader(f), mf.vectors, 0)
		if err != nil {
			return c, err
		}
		c.Pretrained, c.PretrainedName, c.PretrainedWords, c.Dim = v, filepath.Base(mf.vectors), mf.vectorWords, v.Dim
	}
	if mf.epochs > 0 {
		c.MaxEpochs = mf.epochs
	}
	if mf.hidden > 0 {
		c.Hidden = mf.hidden
	}
	return c, nil
}

// progressLogger logs training progress to w when verbose, else nowhere.
func progressLogger(w io.Writer, verbose bool) *slog.Logger {
	if !verbose {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
