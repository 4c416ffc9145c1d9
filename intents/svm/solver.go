package svm

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/parley-chat/parley/nlp"
)

// csr is the training matrix in compressed sparse rows.
type csr struct {
	ptr []int
	idx []int32
	val []float32
	dim int
}

func newCSR(rows []nlp.Features, dim int) *csr {
	m := &csr{ptr: make([]int, 1, len(rows)+1), dim: dim}
	for _, f := range rows {
		m.idx = append(m.idx, f.Idx...)
		m.val = append(m.val, f.Val...)
		m.ptr = append(m.ptr, len(m.idx))
	}
	return m
}

func (m *csr) rows() int { return len(m.ptr) - 1 }

// solveBinary trains one binary L2-regularized L2-loss (squared hinge)
// linear SVM by dual coordinate descent with shrinking: Hsieh et al.
// 2008, "A Dual Coordinate Descent Method for Large-scale Linear SVM",
// as implemented in liblinear's solve_l2r_l1l2_svc. y[i] is +1 or -1;
// cost[i] is the per-example C. The bias is an extra feature of value
// bias, regularized like the others (liblinear's -B). It returns
// w (dim+1 values, the last is the bias weight) and the iterations run.
func solveBinary(ctx context.Context, x *csr, y []int8, cost []float64, bias, eps float64, maxIter int, r *rand.Rand) ([]float64, int) {
	l := x.rows()
	w := make([]float64, x.dim+1)
	alpha := make([]float64, l)
	qd := make([]float64, l)
	diag := make([]float64, l)
	index := make([]int, l)
	for i := range l {
		diag[i] = 0.5 / cost[i]
		q := diag[i] + bias*bias
		for k := x.ptr[i]; k < x.ptr[i+1]; k++ {
			v := float64(x.val[k])
			q += v * v
		}
		qd[i] = q
		index[i] = i
	}
	active := l
	pgMaxOld, pgMinOld := math.Inf(1), math.Inf(-1)
	iter := 0
	for iter < maxIter {
		if iter%10 == 0 && ctx.Err() != nil {
			break
		}
		pgMax, pgMin := math.Inf(-1), math.Inf(1)
		r.Shuffle(active, func(i, j int) { index[i], index[j] = index[j], index[i] })
		for s := 0; s < active; s++ {
			i := index[s]
			yi := float64(y[i])
			lo, hi := x.ptr[i], x.ptr[i+1]
			dot := w[x.dim] * bias
			for k := lo; k < hi; k++ {
				dot += w[x.idx[k]] * float64(x.val[k])
			}
			g := yi*dot - 1 + alpha[i]*diag[i]
			pg := g
			if alpha[i] == 0 {
				if g > pgMaxOld {
					// Shrink: this example is at its bound and likely to stay.
					active--
					index[s], index[active] = index[active], index[s]
					s--
					continue
				}
				if g > 0 {
					pg = 0
				}
			}
			pgMax = max(pgMax, pg)
			pgMin = min(pgMin, pg)
			if math.Abs(pg) > 1e-12 {
				old := alpha[i]
				alpha[i] = max(old-g/qd[i], 0)
				d := (alpha[i] - old) * yi
				for k := lo; k < hi; k++ {
					w[x.idx[k]] += d * float64(x.val[k])
				}
				w[x.dim] += d * bias
			}
		}
		iter++
		if pgMax-pgMin <= eps {
			if active == l {
				break
			}
			// Converged on the shrunk problem: check all examples once more.
			active = l
			pgMaxOld, pgMinOld = math.Inf(1), math.Inf(-1)
			continue
		}
		pgMaxOld, pgMinOld = pgMax, pgMin
		if pgMaxOld <= 0 {
			pgMaxOld = math.Inf(1)
		}
		if pgMinOld >= 0 {
			pgMinOld = math.Inf(-1)
		}
	}
	_ = pgMinOld // liblinear also tracks it; the L2-loss dual has no upper bound to shrink at
	return w, iter
}

// trainOVR trains one binary SVM per class (one-vs-rest) on up to
// workers goroutines and returns the weights laid out for prediction:
// row f holds feature f's weight for every class, the last row the
// biases. Each class gets its own generator derived from seed, so the
// result does not depend on scheduling.
func trainOVR(ctx context.Context, x *csr, gold []int, nClass int, c Config, seed uint64) ([]float32, error) {
	workers := c.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	perClass := make([][]float64, nClass)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, nClass) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			y := make([]int8, len(gold))
			cost := make([]float64, len(gold))
			for k := range jobs {
				var pos int
				for i, g := range gold {
					if g == k {
						y[i] = 1
						pos++
					} else {
						y[i] = -1
					}
				}
				for i := range cost {
					cost[i] = c.C
					if c.Balanced && y[i] > 0 {
						// Weigh the positive class as if it were as large
						// as the average class.
						cost[i] = c.C * float64(len(gold)) / float64(nClass) / float64(max(pos, 1))
					}
				}
				r := rand.New(rand.NewPCG(seed, uint64(k)))
				perClass[k], _ = solveBinary(ctx, x, y, cost, c.Bias, c.Eps, c.MaxIter, r)
			}
		}()
	}
	for k := range nClass {
		if ctx.Err() != nil {
			break
		}
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows := x.dim + 1
	w := make([]float32, rows*nClass)
	for k, wk := range perClass {
		for f, v := range wk {
			w[f*nClass+k] = float32(v)
		}
	}
	return w, nil
}
