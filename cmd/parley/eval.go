package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"syscall"
	"time"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/nlp"
)

type evalCommand struct {
	stdout, stderr io.Writer
}

// evalResult is the --json output: one object scripts can read.
type evalResult struct {
	Model           string   `json:"model"`
	Train           string   `json:"train"`
	Test            string   `json:"test,omitempty"`
	Folds           int      `json:"folds,omitempty"`
	Accuracy        float64  `json:"accuracy"`
	MacroF1         float64  `json:"macro_f1"`
	ECE             float64  `json:"ece"`
	InScopeAccuracy *float64 `json:"in_scope_accuracy,omitempty"`
	OOSRecall       *float64 `json:"oos_recall,omitempty"`
	// InScopeLabelAccuracy is in-scope accuracy with no out-of-scope
	// detection: the difference to InScopeAccuracy is what detection costs.
	InScopeLabelAccuracy *float64 `json:"in_scope_label_accuracy,omitempty"`
	TrainSeconds         float64  `json:"train_seconds"`
	PredictP50us         float64  `json:"predict_p50_us"`
	PredictP99us         float64  `json:"predict_p99_us"`
	PeakRSSMB            float64  `json:"peak_rss_mb"`
	// Per fold (cross-validation) or the single test run.
	Runs []intents.Metrics `json:"runs,omitempty"`
	// AccuracyStd is the standard deviation across folds.
	AccuracyStd float64 `json:"accuracy_std,omitempty"`
}

func (c *evalCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var (
		trainPath = fs.String("train", "", "training data file (.csv, .jsonl or .yml)")
		testPath  = fs.String("test", "", "test data file")
		valPath   = fs.String("val", "", "validation data for calibration, ensemble weights and the out-of-scope threshold (default: held out from --train)")
		folds     = fs.Int("folds", 0, "cross-validate with this many folds on --train instead of using --test")
		asJSON    = fs.Bool("json", false, "print one JSON object")
		verbose   = fs.Bool("v", false, "log training progress to stderr")
	)
	mf := addModelFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: parley eval --train FILE (--test FILE | --folds K) [--val FILE] [--model KIND] [--json]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *trainPath == "" || (*testPath == "") == (*folds == 0) {
		fs.Usage()
		return errUsage
	}
	if *folds == 1 || *folds < 0 {
		return fmt.Errorf("--folds %d: need at least 2", *folds)
	}
	logger := progressLogger(c.stderr, *verbose)
	train, err := intents.LoadFile(*trainPath)
	if err != nil {
		return err
	}
	var val intents.Dataset
	if *valPath != "" {
		if val, err = intents.LoadFile(*valPath); err != nil {
			return err
		}
	}
	res := evalResult{Model: mf.kind, Train: *trainPath, Test: *testPath, Folds: *folds}
	type split struct{ train, test intents.Dataset }
	var splits []split
	if *folds > 0 {
		tr, te := intents.Folds(train, *folds, mf.seed)
		for i := range tr {
			splits = append(splits, split{tr[i], te[i]})
		}
	} else {
		test, err := intents.LoadFile(*testPath)
		if err != nil {
			return err
		}
		splits = append(splits, split{train, test})
	}
	var latencies []float64
	for i, s := range splits {
		trainer, err := mf.trainer(val, logger)
		if err != nil {
			return err
		}
		if len(splits) > 1 {
			logger.Info("fold", "n", i+1, "of", len(splits))
		}
		start := time.Now()
		model, err := trainer.FitModel(ctx, s.train, mf.seed)
		if err != nil {
			return err
		}
		res.TrainSeconds += time.Since(start).Seconds()
		preds, lat := predictAll(model, s.test)
		latencies = append(latencies, lat...)
		res.Runs = append(res.Runs, intents.Evaluate(labelsOf(s.test), preds))
	}
	res.TrainSeconds /= float64(len(splits))
	var accs []float64
	for _, m := range res.Runs {
		accs = append(accs, m.Accuracy)
		res.Accuracy += m.Accuracy / float64(len(res.Runs))
		res.MacroF1 += m.MacroF1 / float64(len(res.Runs))
		res.ECE += m.ECE / float64(len(res.Runs))
	}
	if len(accs) > 1 {
		res.AccuracyStd = stddev(accs)
	}
	if res.Runs[0].HasOOS {
		var in, rec, label float64
		for _, m := range res.Runs {
			in += m.InScopeAccuracy / float64(len(res.Runs))
			rec += m.OOSRecall / float64(len(res.Runs))
			label += m.InScopeLabelAccuracy / float64(len(res.Runs))
		}
		res.InScopeAccuracy, res.OOSRecall, res.InScopeLabelAccuracy = &in, &rec, &label
	}
	res.PredictP50us = percentile(latencies, 0.50)
	res.PredictP99us = percentile(latencies, 0.99)
	res.PeakRSSMB = peakRSSMB()
	if *asJSON {
		if len(res.Runs) > 1 {
			// Folds are summarized; keep the JSON small.
			for i := range res.Runs {
				res.Runs[i].PerLabel = nil
			}
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	if len(res.Runs) == 1 {
		res.Runs[0].WriteText(c.stdout)
	} else {
		fmt.Fprintf(c.stdout, "%d-fold cross-validation\naccuracy      %.4f ± %.4f\nmacro-F1      %.4f\nECE           %.4f\n", len(res.Runs), res.Accuracy, res.AccuracyStd, res.MacroF1, res.ECE)
		if res.InScopeAccuracy != nil {
			fmt.Fprintf(c.stdout, "in-scope acc  %.4f (%.4f without out-of-scope detection)\noos recall    %.4f\n", *res.InScopeAccuracy, *res.InScopeLabelAccuracy, *res.OOSRecall)
		}
	}
	fmt.Fprintf(c.stdout, "\ntrain         %.1f s\npredict       p50 %.0f µs, p99 %.0f µs per message (tokenize and features included)\npeak RSS      %.0f MB\n",
		res.TrainSeconds, res.PredictP50us, res.PredictP99us, res.PeakRSSMB)
	return nil
}

// predictAll classifies each test message one at a time, as a chatbot
// sees them, timing tokenization, features and prediction together.
func predictAll(m intents.Model, test intents.Dataset) ([]intents.Prediction, []float64) {
	preds := make([]intents.Prediction, len(test.Examples))
	lat := make([]float64, len(test.Examples))
	for i, e := range test.Examples {
		start := time.Now()
		doc, err := nlp.Parse(e.Text)
		if err != nil {
			preds[i] = intents.Prediction{Label: intents.OOS, OutOfScope: true}
		} else {
			preds[i] = m.Predict(doc)
		}
		lat[i] = float64(time.Since(start).Nanoseconds()) / 1e3
	}
	return preds, lat
}

func labelsOf(d intents.Dataset) []string {
	ls := make([]string, len(d.Examples))
	for i, e := range d.Examples {
		ls[i] = e.Label
	}
	return ls
}

func percentile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(int(q*float64(len(s))), len(s)-1)]
}

func stddev(v []float64) float64 {
	var mean, ss float64
	for _, x := range v {
		mean += x / float64(len(v))
	}
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss / float64(len(v)-1))
}

// peakRSSMB is this process's peak resident set size so far.
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}
