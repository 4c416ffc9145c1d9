package conversion_test

import (
	"bufio"
	"flag"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm/conversion"
)

var bankMarketing = flag.String("bank-marketing", "",
	"path of the UCI bank-marketing CSV (bank-additional-full.csv) for TestBankMarketing; empty skips it")

var bankSplits = flag.String("bank-splits", "",
	"file to write TestBankMarketing's test-row indices to, one line per seed, for testdata/sklearn_bank.py")

// bankSeeds are the seeds of the five held-out splits.
var bankSeeds = []uint64{1, 2, 3, 4, 5}

// TestBankMarketing is the quality benchmark on public conversion data,
// not run in CI:
//
//	go test ./crm/conversion -run TestBankMarketing -v \
//	    -bank-marketing /work/shared/datasets/bank-marketing/bank-additional-full.csv
//
// It drops duration (known only after the call: it leaks the outcome),
// one-hot encodes the categorical columns, and for each of five seeds
// holds out a stratified 20% test split, fits both models on the rest
// and reports held-out ROC AUC, log loss and Brier score.
// With -bank-splits FILE it writes the test rows of each split to FILE,
// and testdata/sklearn_bank.py runs scikit-learn on the same splits:
//
//	/usr/bin/python3 crm/conversion/testdata/sklearn_bank.py \
//	    /work/shared/datasets/bank-marketing/bank-additional-full.csv FILE
func TestBankMarketing(t *testing.T) {
	if *bankMarketing == "" {
		t.Skip("no -bank-marketing file given")
	}
	d := readBank(t, *bankMarketing)
	t.Logf("%s: %d rows, %d positives (%.1f%%), %d features after one-hot encoding",
		*bankMarketing, d.Len(), d.Positives(), 100*float64(d.Positives())/float64(d.Len()), len(d.Names))

	type result struct{ auc, loss, brier, secs []float64 }
	// The floors are the measured means less about 0.003. On exactly
	// these splits scikit-learn 1.2.1 (testdata/sklearn_bank.py) got
	// logistic 0.7662 (same to 4 digits) and
	// HistGradientBoostingClassifier 0.7802; this package 0.7662 and
	// 0.7810. The brief's 0.785 for boosted trees was one split's
	// number: seed 2 gives 0.7925 here and 0.7937 with scikit-learn.
	models := []struct {
		name    string
		trainer conversion.Trainer
		floor   float64 // mean AUC to reach
	}{
		{"logistic", conversion.DefaultLogistic(), 0.763},
		{"gbt", conversion.DefaultGBT(), 0.778},
	}
	results := make([]result, len(models))
	var splits strings.Builder
	for _, seed := range bankSeeds {
		trainIdx, testIdx := conversion.StratifiedIndices(d.Y, 0.2, seed)
		train, test := d.Subset(trainIdx), d.Subset(testIdx)
		for k, i := range testIdx {
			if k > 0 {
				splits.WriteByte(' ')
			}
			splits.WriteString(strconv.Itoa(i))
		}
		splits.WriteByte('\n')
		for k, m := range models {
			start := time.Now()
			model := mustFit(t, m.trainer, train, seed)
			secs := time.Since(start).Seconds()
			r, err := conversion.Evaluate(model, test)
			if err != nil {
				t.Fatal(err)
			}
			extra := ""
			if g, ok := model.(*conversion.GBT); ok {
				extra = " trees " + strconv.Itoa(g.Trees())
			}
			t.Logf("seed %d %-8s AUC %.4f  log loss %.4f  Brier %.4f  fit %.2fs%s", seed, m.name, r.AUC, r.LogLoss, r.Brier, secs, extra)
			res := &results[k]
			res.auc, res.loss, res.brier, res.secs = append(res.auc, r.AUC), append(res.loss, r.LogLoss), append(res.brier, r.Brier), append(res.secs, secs)
		}
	}
	if *bankSplits != "" {
		if err := os.WriteFile(*bankSplits, []byte(splits.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for k, m := range models {
		r := results[k]
		mean, std, lo, hi := summary(r.auc)
		lmean, lstd, _, _ := summary(r.loss)
		bmean, _, _, _ := summary(r.brier)
		smean, _, _, _ := summary(r.secs)
		t.Logf("%-8s ROC AUC mean %.4f std %.4f min %.4f max %.4f | log loss %.4f ± %.4f | Brier %.4f | fit %.2fs",
			m.name, mean, std, lo, hi, lmean, lstd, bmean, smean)
		if mean < m.floor {
			t.Errorf("%s mean held-out AUC %.4f over seeds %v, want >= %.3f", m.name, mean, bankSeeds, m.floor)
		}
	}
}

// readBank reads the bank-marketing file, finding its target column
// ("output" in the 15-column copy, "y" in the UCI one).
func readBank(tb testing.TB, path string) conversion.Dataset {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	head, _ := br.Peek(4096)
	target := "output"
	if line, _, _ := strings.Cut(string(head), "\n"); !strings.Contains(line, ",output") {
		target = "y"
	}
	d, err := conversion.ReadCSV(br, path, conversion.CSVOptions{Target: target, Drop: []string{"duration"}})
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// summary returns the mean, population standard deviation, min and max.
func summary(v []float64) (mean, std, lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		mean += x
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v))), lo, hi
}
