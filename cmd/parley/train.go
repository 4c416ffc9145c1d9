package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/intents"
)

type trainCommand struct{ stdout, stderr io.Writer }

func (c *trainCommand) Run(ctx context.Context, args []string) error {
	if fromDB(args) {
		// Retraining from the CRM has its own flags (training_cmds.go).
		return (&trainDBCommand{stdout: c.stdout, stderr: c.stderr}).Run(ctx, args)
	}
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var (
		dataPath = fs.String("data", "", "training data: a .csv, .jsonl or .yml file, or a directory of them")
		valPath  = fs.String("val", "", "validation data for calibration, ensemble weights and the out-of-scope threshold (default: held out from --data)")
		out      = fs.String("out", "parley.model", "where to write the model")
		quiet    = fs.Bool("q", false, "no progress on stderr")
	)
	mf := addModelFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: parley train --data PATH [--val FILE] [--model svm|forest|rnn|ensemble] [--out FILE]\n       parley train --from-db [--db FILE] [--seed S] [--folds K] (see parley train --from-db -h)")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dataPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	train, err := loadData(*dataPath)
	if err != nil {
		return err
	}
	var val intents.Dataset
	if *valPath != "" {
		if val, err = intents.LoadFile(*valPath); err != nil {
			return err
		}
	}
	rep := intents.Check(train)
	if len(rep.Conflicts) > 0 {
		// Training goes on (the model learns the majority), but the
		// analyst should know: run `parley data` for the list.
		fmt.Fprintf(c.stderr, "warning: %s has %d utterances with conflicting labels (see parley data %s)\n", train.Name, len(rep.Conflicts), train.Name)
	}
	trainer, err := mf.trainer(val, progressLogger(c.stderr, !*quiet))
	if err != nil {
		return err
	}
	start := time.Now()
	m, err := trainer.FitModel(ctx, train, mf.seed)
	if err != nil {
		return err
	}
	n, err := writeModel(*out, m)
	if err != nil {
		return err
	}
	h := m.Header()
	fmt.Fprintf(c.stdout, "trained %s on %d examples, %d labels, in %.1f s\n", h.Kind, h.Examples, len(h.Labels), time.Since(start).Seconds())
	printMetrics(c.stdout, h.Metrics)
	if h.Threshold > 0 {
		fmt.Fprintf(c.stdout, "  %-28s %.4g\n", "oos_threshold", h.Threshold)
	}
	fmt.Fprintf(c.stdout, "wrote %s (%.1f MB)\n", *out, float64(n)/(1<<20))
	return nil
}

// printMetrics prints metrics in name order, one a line.
func printMetrics(w io.Writer, metrics map[string]float64) {
	keys := make([]string, 0, len(metrics))
	for k := range metrics {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-28s %.4g\n", k, metrics[k])
	}
}

// loadData reads a data file, or every data file (.csv, .jsonl, .yml)
// of a directory tree, in name order, as one dataset.
func loadData(path string) (intents.Dataset, error) {
	st, err := os.Stat(path)
	if err != nil {
		return intents.Dataset{}, err
	}
	if !st.IsDir() {
		return intents.LoadFile(path)
	}
	all := intents.Dataset{Name: path}
	err = filepath.WalkDir(path, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".csv", ".jsonl", ".ndjson", ".yml", ".yaml":
		default:
			return nil
		}
		d, err := intents.LoadFile(p)
		if err != nil {
			return err
		}
		all.Examples = append(all.Examples, d.Examples...)
		return nil
	})
	if err != nil {
		return all, err
	}
	if len(all.Examples) == 0 {
		return all, fmt.Errorf("%s: no data files (.csv, .jsonl, .yml)", path)
	}
	return all, nil
}

// writeModel writes m to path atomically: a crash or a full disk leaves
// the previous file, never a truncated model.
func writeModel(path string, m intents.Model) (int64, error) {
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".parley-model-*")
	if err != nil {
		return 0, fmt.Errorf("write model: %w", err)
	}
	_, err = tmp.Write(buf.Bytes())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return 0, fmt.Errorf("write model %s: %w", path, err)
	}
	return int64(buf.Len()), nil
}
