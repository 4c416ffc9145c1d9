package forest

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// treeRand returns tree t's generator. Each tree's randomness depends
// only on the seed and its index, so the forest is the same whatever
// the number of workers and however they are scheduled. The tag in the
// high bits keeps these streams apart from intents.NewRand(seed).
func treeRand(seed uint64, t int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0xf0_2e57<<32|uint64(t)))
}

// growAll grows c.Trees trees on up to c.Workers goroutines and returns
// them in tree order with each tree's in-bag rows (a bitset per tree).
func (c Config) growAll(ctx context.Context, x *matrix, seed uint64, log *slog.Logger) (*trees, [][]uint64, error) {
	workers := c.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	p := params{maxDepth: c.MaxDepth, minLeaf: float64(c.MinLeaf), maxFeatures: c.MaxFeatures}
	out := make([]*trees, c.Trees)
	bags := make([][]uint64, c.Trees)
	step := max(1, c.Trees/10)
	start := time.Now()
	var done atomic.Int64
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, c.Trees) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := newBuilder(x, p)
			for t := range jobs {
				if ctx.Err() != nil {
					continue // drain: the sender stops soon
				}
				r := treeRand(seed, t)
				bags[t] = make([]uint64, (x.rows()+63)/64)
				b.bootstrap(r, bags[t])
				out[t] = b.grow(r)
				if n := done.Add(1); n%int64(step) == 0 || int(n) == c.Trees {
					log.Info("forest trees grown", "trees", n, "of", c.Trees, "elapsed", time.Since(start).Round(time.Millisecond))
				}
			}
		}()
	}
	for t := range c.Trees {
		if ctx.Err() != nil {
			break
		}
		jobs <- t
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	ts := newTrees()
	for _, t := range out {
		ts.add(t)
	}
	return ts, bags, nil
}
