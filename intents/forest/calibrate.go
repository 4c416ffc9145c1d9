package forest

import (
	"math"
	"runtime"
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

// calibrate fits m's smoothing, temperature and class biases, on out-of-bag votes or
// on c.Validation when given, and chooses its out-of-scope threshold
// when out-of-scope examples are available (oos, from the training
// data, or in c.Validation). It returns the header metrics.
func (c Config) calibrate(m *Model, x *matrix, bags [][]uint64, oos intents.Dataset) map[string]float64 {
	metrics := map[string]float64{}
	workers := c.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	oob := oobVotes(m.trees, x, bags, workers)
	var votes [][]float64
	var gold []int
	var right int
	for i, v := range oob {
		if v != nil {
			votes = append(votes, v)
			gold = append(gold, int(x.y[i]))
			if best := intents.TopK(v, 1); len(best) > 0 && best[0] == int(x.y[i]) {
				right++
			}
		}
	}
	metrics["oob_accuracy"] = float64(right) / float64(max(len(votes), 1))

	// Out-of-scope examples (gold -1) were never in any bootstrap, so
	// the whole forest's votes are as honest as out-of-bag ones.
	cal := oos
	if len(c.Validation.Examples) > 0 {
		cal = c.Validation.Concat(oos)
		votes, gold = nil, nil
	}
	// Messages with no known features get the prior, not votes (see
	// Probs); nil votes stand for them.
	calGold := intents.Gold(cal, m.header.Labels)
	for i, doc := range intents.Parse(cal) {
		var v []float64
		if f := m.vec.Transform(doc); len(f.Idx) > 0 {
			v = m.votes(f, nil)
		}
		votes = append(votes, v)
		gold = append(gold, calGold[i])
	}
	var inVotes [][]float64
	var inGold []int
	for i, g := range gold {
		if g >= 0 && votes[i] != nil {
			inVotes = append(inVotes, votes[i])
			inGold = append(inGold, g)
		}
	}
	if len(inVotes) == 0 {
		return metrics
	}
	m.smooth, m.temp = fitCalibration(inVotes, inGold, workers)
	m.temp, m.bias = fitScaling(logVotes(inVotes, m.smooth), inGold, m.temp, workers)

	conf := make([]float64, len(votes))
	isOOS := make([]bool, len(votes))
	correct := make([]bool, len(votes))
	right = 0
	p := make([]float64, m.nClass)
	var inScope int
	for i, v := range votes {
		if v != nil {
			m.calibrated(append(p[:0], v...))
		} else {
			copy(p, m.prior)
		}
		isOOS[i] = gold[i] < 0
		if best := intents.TopK(p, 1); len(best) > 0 {
			conf[i], correct[i] = p[best[0]], best[0] == gold[i]
		}
		if !isOOS[i] {
			inScope++
		}
		if correct[i] {
			right++
		}
	}
	if len(c.Validation.Examples) > 0 {
		metrics["heldout_accuracy"] = float64(right) / float64(max(inScope, 1))
	}
	tp := intents.ChooseThreshold(conf, isOOS, correct, c.MaxOOSDrop)
	m.header.Threshold = tp.Threshold
	if tp.Threshold > 0 {
		metrics["heldout_oos_recall"] = tp.OOSRecall
		metrics["heldout_in_scope_accuracy"] = tp.InScopeAccuracy
	}
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
