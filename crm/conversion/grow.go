package conversion

import (
	"slices"
	"sync"
)

// binned is the training data cut into bins, column by column.
type binned struct {
	n, p int
	cols [][]uint8   // cols[f][i]: bin of example i's feature f
	thr  [][]float64 // thr[f]: bin edges of feature f (see binThresholds)
	offs []int       // feature f's histogram is hist[offs[f]:offs[f+1]]
}

// newBinned bins X's p features, choosing edges from at most
// binSubsample rows drawn with seed.
func newBinned(X [][]float64, p, maxBins int, seed uint64, workers int) *binned {
	n := len(X)
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	if n > binSubsample {
		r := newRand(seed ^ 0xb1)
		r.Shuffle(n, func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		rows = rows[:binSubsample]
		slices.Sort(rows)
	}
	b := &binned{n: n, p: p, cols: make([][]uint8, p), thr: make([][]float64, p), offs: make([]int, p+1)}
	parallel(p, workers, func(f int) {
		values := make([]float64, len(rows))
		for k, i := range rows {
			values[k] = X[i][f]
		}
		thr := binThresholds(values, maxBins)
		col := make([]uint8, n)
		for i, x := range X {
			col[i] = binOf(thr, x[f])
		}
		b.thr[f], b.cols[f] = thr, col
	})
	for f := range p {
		b.offs[f+1] = b.offs[f] + len(b.thr[f]) + 1
	}
	return b
}

// parallel calls fn(f) for f in [0, n) on up to workers goroutines,
// worker w taking f = w, w+workers, ...; it returns when all are done.
// Each fn(f) must touch only its own f's data, so results do not depend
// on the number of workers.
func parallel(n, workers int, fn func(f int)) {
	workers = min(workers, n)
	if workers <= 1 {
		for f := range n {
			fn(f)
		}
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := w; f < n; f += workers {
				fn(f)
			}
		}()
	}
	for f := 0; f < n; f += workers {
		fn(f)
	}
	wg.Wait()
}

// hbin is one histogram bin: sums of gradients and hessians and the
// count of the examples in it.
type hbin struct {
	g, h float64
	n    int
}

// split is a candidate split of a leaf: examples with bin <= bin of
// feature go left.
type split struct {
	gain    float64
	feature int
	bin     int
	g, h    float64 // left sums
	n       int     // left count
}

// leaf is a leaf of the tree being grown: its examples are
// grower.idx[start:end].
type leaf struct {
	node       int32
	start, end int
	g, h       float64
	depth      int
	hist       []hbin // nil once the leaf cannot split
	best       split
	ok         bool // best is a valid split
}

// grower grows one tree at a time on binned data; its buffers are reused
// across trees.
type grower struct {
	c       GBTConfig
	b       *binned
	workers int

	grad, hess []float64 // per example, set by the caller before grow
	idx, tmp   []int32   // the partition of examples into leaves
	og, oh     []float64 // a leaf's gradients and hessians in idx order
	best       []split   // per feature, for the leaf being searched
	free       [][]hbin  // histograms to reuse
	leaves     []*leaf
}

func newGrower(c GBTConfig, b *binned, workers int) *grower {
	return &grower{
		c: c, b: b, workers: workers,
		grad: make([]float64, b.n), hess: make([]float64, b.n),
		idx: make([]int32, b.n), tmp: make([]int32, b.n),
		og: make([]float64, b.n), oh: make([]float64, b.n),
		best: make([]split, b.p),
	}
}

func (g *grower) newHist() []hbin {
	if k := len(g.free); k > 0 {
		h := g.free[k-1]
		g.free = g.free[:k-1]
		return h
	}
	return make([]hbin, g.b.offs[g.b.p])
}

func (g *grower) release(l *leaf) {
	if l.hist != nil {
		g.free = append(g.free, l.hist)
		l.hist = nil
	}
}

// value is a node's value for sums G, H: the Newton step -G/(H+λ),
// shrunk by the learning rate.
func (g *grower) value(G, H float64) float64 {
	d := H + g.c.L2
	if !(d > 0) {
		return 0
	}
	return -g.c.LearningRate * G / d
}

// splittable reports whether a leaf may be split at all, before looking
// at its histogram.
func (g *grower) splittable(l *leaf) bool {
	if g.c.MaxDepth > 0 && l.depth >= g.c.MaxDepth {
		return false
	}
	return l.end-l.start >= 2*g.c.MinSamplesLeaf
}

// grow grows a tree best-first on the current gradients and hessians,
// leaving g.leaves with the final leaves and their example ranges.
func (g *grower) grow() tree {
	for i := range g.idx {
		g.idx[i] = int32(i)
	}
	for _, l := range g.leaves {
		g.release(l)
	}
	var G, H float64
	for i := range g.grad {
		G += g.grad[i]
		H += g.hess[i]
	}
	t := tree{nodes: []node{{feature: -1, value: g.value(G, H)}}}
	root := &leaf{node: 0, start: 0, end: g.b.n, g: G, h: H}
	g.leaves = append(g.leaves[:0], root)
	if g.splittable(root) {
		root.hist = g.newHist()
		g.buildHist(root)
		g.findSplit(root)
	}
	for len(g.leaves) < g.c.MaxLeafNodes {
		var next *leaf
		for _, l := range g.leaves {
			if l.ok && (next == nil || l.best.gain > next.best.gain) {
				next = l
			}
		}
		if next == nil {
			break
		}
		g.splitLeaf(&t, next)
	}
	for _, l := range g.leaves {
		g.release(l)
		l.ok = false
	}
	return t
}

// splitLeaf splits l by its best split into two new leaves (l's slot
// becomes the left child), partitioning its examples and computing the
// children's histograms: the smaller child's by summing, the larger's
// by subtracting it from the parent's.
func (g *grower) splitLeaf(t *tree, l *leaf) {
	s := l.best
	col := g.b.cols[s.feature]
	// Stable partition: left examples first, then right, each in order.
	nl, nr := l.start, 0
	for _, i := range g.idx[l.start:l.end] {
		if int(col[i]) <= s.bin {
			g.idx[nl] = i
			nl++
		} else {
			g.tmp[nr] = i
			nr++
		}
	}
	copy(g.idx[nl:l.end], g.tmp[:nr])

	li, ri := int32(len(t.nodes)), int32(len(t.nodes)+1)
	left := &leaf{node: li, start: l.start, end: nl, g: s.g, h: s.h, depth: l.depth + 1}
	right := &leaf{node: ri, start: nl, end: l.end, g: l.g - s.g, h: l.h - s.h, depth: l.depth + 1}
	t.nodes[l.node] = node{feature: int32(s.feature), left: li, right: ri,
		threshold: g.b.thr[s.feature][s.bin], value: t.nodes[l.node].value}
	t.nodes = append(t.nodes,
		node{feature: -1, value: g.value(left.g, left.h)},
		node{feature: -1, value: g.value(right.g, right.h)})

	parent := l.hist
	l.hist = nil
	// The leaf count after this split bounds what is worth computing:
	// at the limit no leaf will be split again.
	more := len(g.leaves)+1 < g.c.MaxLeafNodes
	small, large := left, right
	if right.end-right.start < left.end-left.start {
		small, large = right, left
	}
	splitSmall, splitLarge := more && g.splittable(small), more && g.splittable(large)
	if splitSmall || splitLarge {
		small.hist = g.newHist()
		g.buildHist(small)
		if splitLarge {
			for k := range parent {
				parent[k].g -= small.hist[k].g
				parent[k].h -= small.hist[k].h
				parent[k].n -= small.hist[k].n
			}
			large.hist, parent = parent, nil
			g.findSplit(large)
		}
		if splitSmall {
			g.findSplit(small)
		} else {
			g.release(small)
		}
	}
	if parent != nil {
		g.free = append(g.free, parent)
	}
	// Replace l by its children, keeping creation order for ties.
	for k, x := range g.leaves {
		if x == l {
			g.leaves[k] = left
			break
		}
	}
	g.leaves = append(g.leaves, right)
}

// buildHist sums l's examples into l.hist, feature by feature in
// parallel.
func (g *grower) buildHist(l *leaf) {
	idx := g.idx[l.start:l.end]
	og, oh := g.og[:len(idx)], g.oh[:len(idx)]
	for k, i := range idx {
		og[k], oh[k] = g.grad[i], g.hess[i]
	}
	hist := l.hist
	parallel(g.b.p, g.workers, func(f int) {
		h := hist[g.b.offs[f]:g.b.offs[f+1]]
		clear(h)
		col := g.b.cols[f]
		for k, i := range idx {
			bb := &h[col[i]]
			bb.g += og[k]
			bb.h += oh[k]
			bb.n++
		}
	})
}

// findSplit finds l's best split: the bin edge, over all features, with
// the largest positive gain that leaves MinSamplesLeaf examples and
// MinHessianLeaf hessian on each side. Ties go to the lower feature and
// bin, so the search is deterministic.
func (g *grower) findSplit(l *leaf) {
	lambda, msl, mhl := g.c.L2, g.c.MinSamplesLeaf, g.c.MinHessianLeaf
	n := l.end - l.start
	parentScore := l.g * l.g / (l.h + lambda)
	parallel(g.b.p, g.workers, func(f int) {
		h := l.hist[g.b.offs[f]:g.b.offs[f+1]]
		best := split{feature: -1}
		var gl, hl float64
		var cl int
		for bin := 0; bin < len(h)-1; bin++ {
			gl += h[bin].g
			hl += h[bin].h
			cl += h[bin].n
			if cl < msl || hl < mhl {
				continue
			}
			if n-cl < msl {
				break
			}
			gr, hr := l.g-gl, l.h-hl
			if hr < mhl {
				continue
			}
			gain := gl*gl/(hl+lambda) + gr*gr/(hr+lambda) - parentScore
			if gain > 0 && (best.feature < 0 || gain > best.gain) {
				best = split{gain: gain, feature: f, bin: bin, g: gl, h: hl, n: cl}
			}
		}
		g.best[f] = best
	})
	l.ok = false
	for _, s := range g.best {
		if s.feature >= 0 && (!l.ok || s.gain > l.best.gain) {
			l.best, l.ok = s, true
		}
	}
}

// addLeafValues adds each final leaf's value to its examples' raw
// scores.
func (g *grower) addLeafValues(t tree, raw []float64) {
	for _, l := range g.leaves {
		v := t.nodes[l.node].value
		for _, i := range g.idx[l.start:l.end] {
			raw[i] += v
		}
	}
}
