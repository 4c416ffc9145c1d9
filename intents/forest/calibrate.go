package forest

import (
	"maps"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/parley-chat/parley/intents"
)

// defaultSmooth is the vote smoothing of a model with nothing to
// calibrate on.
const defaultSmooth = 0.01

// smoothings are the vote smoothings calibration chooses from. Mean
// votes are often exactly 0 for all but a few classes; the smoothing
// sets how much probability those classes keep, the temperature how
// sharp the rest is.
var smoothings = []float64{1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1}

// calibrate fits m's smoothing, temperature and class biases on the
// out-of-bag votes, and chooses its out-of-scope threshold on
// c.Validation when given, else on the out-of-bag votes too (when the
// data has out-of-scope examples). It returns the header metrics.
//
// Calibration always uses the out-of-bag votes, even with validation
// data: they are as honest and there are many more of them, and the
// class biases (one per label) fitted on a small validation set overfit
// it, which then also misleads an ensemble weighing members on it.
func (c Config) calibrate(m *Model, x *matrix, bags [][]uint64) map[string]float64 {
	workers := c.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	labels := m.header.Labels
	oob := oobVotes(m.trees, x, bags, workers)
	var votes [][]float64
	var gold []int
	var goldLabels []string
	var right int
	for i, v := range oob {
		if v != nil {
			votes = append(votes, v)
			gold = append(gold, int(x.y[i]))
			goldLabels = append(goldLabels, labels[x.y[i]])
			if best := intents.TopK(v, 1); len(best) > 0 && best[0] == int(x.y[i]) {
				right++
			}
		}
	}
	metrics := map[string]float64{"oob_accuracy": float64(right) / float64(max(len(votes), 1))}
	if len(votes) == 0 {
		return metrics
	}
	m.smooth, m.temp = fitCalibration(votes, gold, workers)
	m.temp, m.bias = fitScaling(logVotes(votes, m.smooth), gold, m.temp, workers)

	probs := make([][]float64, len(votes))
	for i, v := range votes {
		probs[i] = m.calibrated(slices.Clone(v))
	}
	if val := c.Validation; len(val.Examples) > 0 {
		probs, goldLabels = nil, nil
		for i, doc := range intents.Parse(val) {
			probs = append(probs, m.Probs(doc))
			goldLabels = append(goldLabels, val.Examples[i].Label)
		}
	}
	tp := intents.ChooseThreshold(labels, probs, goldLabels, c.MaxOOSDrop)
	m.header.Threshold = tp.Threshold
	maps.Copy(metrics, tp.Metrics())
	return metrics
}

// fitCalibration chooses the smoothing and temperature minimizing the
// negative log-likelihood of the gold classes under
// softmax(log(votes + smooth) / temp). Each smoothing is fitted on its
// own goroutine, at most workers at once.
func fitCalibration(votes [][]float64, gold []int, workers int) (smooth, temp float64) {
	type fit struct{ temp, nll float64 }
	fits := make([]fit, len(smoothings))
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for k, s := range smoothings {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			scores := make([][]float64, len(votes))
			for i, v := range votes {
				scores[i] = make([]float64, len(v))
				for j, x := range v {
					scores[i][j] = math.Log(x + s)
				}
			}
			t := intents.FitTemperature(scores, gold)
			fits[k] = fit{t, intents.NLL(scores, gold, t)}
		}()
	}
	wg.Wait()
	best := 0
	for k := range fits {
		if fits[k].nll < fits[best].nll {
			best = k
		}
	}
	return smoothings[best], fits[best].temp
}

// oobVotes returns each training row's mean vote over the trees that
// did not see it (nil for a row every tree saw). Rows are split among
// workers; each row sums its trees in tree order, so the result does
// not depend on scheduling.
func oobVotes(ts *trees, x *matrix, bags [][]uint64, workers int) [][]float64 {
	n := x.rows()
	out := make([][]float64, n)
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			dense := make([]float32, x.dim)
			for i := lo; i < hi; i++ {
				cols := x.idx[x.ptr[i]:x.ptr[i+1]]
				for k, c := range cols {
					dense[c] = x.val[x.ptr[i]+k]
				}
				v := make([]float64, x.nClass)
				var count int
				for t := range ts.count() {
					if bags[t][i/64]&(1<<(i%64)) == 0 {
						ts.vote(ts.leaf(t, dense), v)
						count++
					}
				}
				for _, c := range cols {
					dense[c] = 0
				}
				if count > 0 {
					for k := range v {
						v[k] /= float64(count)
					}
					out[i] = v
				}
			}
		}()
	}
	wg.Wait()
	return out
}
