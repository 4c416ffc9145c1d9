package forest

import (
	"math/rand/v2"
	"slices"

	"github.com/parley-chat/parley/nlp"
)

// matrix is the training data: features in compressed sparse rows, the
// rows holding each column, and a class per row. It is read-only once
// built, shared by the goroutines growing trees.
type matrix struct {
	ptr    []int
	idx    []int32
	val    []float32
	dim    int
	y      []int32
	nClass int
	// colRows[colPtr[f]:colPtr[f+1]] are the rows with column f.
	colPtr  []int
	colRows []int32
}

func newMatrix(rows []nlp.Features, y []int32, dim, nClass int) *matrix {
	m := &matrix{ptr: make([]int, 1, len(rows)+1), dim: dim, y: y, nClass: nClass}
	for _, f := range rows {
		m.idx = append(m.idx, f.Idx...)
		m.val = append(m.val, f.Val...)
		m.ptr = append(m.ptr, len(m.idx))
	}
	m.colPtr = make([]int, dim+1)
	for _, f := range m.idx {
		m.colPtr[f+1]++
	}
	for f := range dim {
		m.colPtr[f+1] += m.colPtr[f]
	}
	m.colRows = make([]int32, len(m.idx))
	next := slices.Clone(m.colPtr[:dim])
	for i := range m.rows() {
		for _, f := range m.idx[m.ptr[i]:m.ptr[i+1]] {
			m.colRows[next[f]] = int32(i)
			next[f]++
		}
	}
	return m
}

func (m *matrix) rows() int { return len(m.ptr) - 1 }

// params are the tree-shaping hyperparameters.
type params struct {
	maxDepth    int // 0: unlimited
	minLeaf     float64
	maxFeatures int
}

// builder grows trees on one goroutine; it owns scratch space sized by
// the data, reused from tree to tree.
type builder struct {
	x *matrix
	p params
	r *rand.Rand
	w []float64 // bootstrap weight per row; 0 is out of bag

	rows []int32 // in-bag rows, partitioned in place node by node
	pos  []int32 // per row: its index in rows, -1 out of bag

	// Split search scratch, see split.go.
	mark    []uint32 // per column: stamp of the last search that saw it
	stamp   uint32
	inNode  []int32 // per column: rows holding it in the node
	slot    []int32 // per column: candidate slot, or -1
	present []int32
	cands   []int32
	total   []float64 // class weights of the node
	counts  []float64 // class weights of rows with candidate j: counts[j*nClass+c]

	// Leaf distributions by node while the tree grows; laid out in
	// node order when it is done.
	distAt [][2]int32 // per node: its range in dist, for leaves
	dist   []vote
}

func newBuilder(x *matrix, p params) *builder {
	b := &builder{
		x:      x,
		p:      p,
		w:      make([]float64, x.rows()),
		pos:    make([]int32, x.rows()),
		mark:   make([]uint32, x.dim),
		inNode: make([]int32, x.dim),
		slot:   make([]int32, x.dim),
		total:  make([]float64, x.nClass),
	}
	for i := range b.slot {
		b.slot[i] = -1
	}
	return b
}

// bootstrap draws n rows with replacement into b.w and sets bag bits
// for the rows drawn.
func (b *builder) bootstrap(r *rand.Rand, bag []uint64) {
	n := len(b.w)
	clear(b.w)
	for range n {
		b.w[r.IntN(n)]++
	}
	for i, w := range b.w {
		if w > 0 {
			bag[i/64] |= 1 << (i % 64)
		}
	}
}

// reset prepares to grow a tree from the rows with positive weight in
// b.w, using r for candidate features.
func (b *builder) reset(r *rand.Rand) {
	b.r = r
	b.rows = b.rows[:0]
	for i, w := range b.w {
		b.pos[i] = -1
		if w > 0 {
			b.pos[i] = int32(len(b.rows))
			b.rows = append(b.rows, int32(i))
		}
	}
}

// grow builds one tree on the rows with positive weight in b.w, using
// r for candidate features. Nodes are numbered in preorder, so children
// come after their parent; leaves are numbered in node order.
func (b *builder) grow(r *rand.Rand) *trees {
	b.reset(r)
	t := &trees{}
	b.distAt = b.distAt[:0]
	b.dist = b.dist[:0]
	addNode := func() int32 {
		t.nodes = append(t.nodes, node{feature: -1, right: -1})
		b.distAt = append(b.distAt, [2]int32{})
		return int32(len(t.nodes) - 1)
	}
	type task struct {
		node          int32
		lo, hi, depth int
	}
	stack := []task{{node: addNode(), lo: 0, hi: len(b.rows)}}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n, sq := b.count(k.lo, k.hi)
		parent := n - sq/n
		s, ok := split{}, false
		if parent > 1e-9*n && n >= 2*b.p.minLeaf && (b.p.maxDepth == 0 || k.depth < b.p.maxDepth) {
			s, ok = b.bestSplit(k.lo, k.hi, n)
			ok = ok && s.impurity < parent-1e-9*n
		}
		if !ok {
			b.leaf(k.node, n)
			continue
		}
		mid := b.partition(k.lo, k.hi, s.feature)
		l, rt := addNode(), addNode()
		// Threshold 0: absent columns are 0 and present ones positive.
		t.nodes[k.node] = node{feature: s.feature, threshold: 0, left: l, right: rt}
		stack = append(stack, task{rt, mid, k.hi, k.depth + 1}, task{l, k.lo, mid, k.depth + 1})
	}
	return b.preorder(t)
}

// preorder renumbers t's nodes depth-first, left (absent) child first,
// and numbers the leaves in that order. A message has few of the
// columns tested, so its walk mostly goes left: with the left child
// right after its parent, walks read memory mostly in sequence.
func (b *builder) preorder(t *trees) *trees {
	old := t.nodes
	order := make([]int32, 0, len(old))
	stack := []int32{0}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		order = append(order, i)
		if n := old[i]; n.feature >= 0 {
			stack = append(stack, n.right, n.left)
		}
	}
	pos := make([]int32, len(old))
	for k, i := range order {
		pos[i] = int32(k)
	}
	out := &trees{start: []int32{0, int32(len(order))}, nodes: make([]node, len(order)), leafPtr: []int32{0}}
	for k, i := range order {
		n := old[i]
		if n.feature >= 0 {
			n.left, n.right = pos[n.left], pos[n.right]
		} else {
			n.left = int32(len(out.leafPtr) - 1)
			r := b.distAt[i]
			out.votes = append(out.votes, b.dist[r[0]:r[1]]...)
			out.leafPtr = append(out.leafPtr, int32(len(out.votes)))
		}
		out.nodes[k] = n
	}
	return out
}

// count sets b.total to the weighted class counts of rows[lo:hi] and
// returns their total weight and sum of squared counts.
func (b *builder) count(lo, hi int) (n, sq float64) {
	clear(b.total)
	for _, i := range b.rows[lo:hi] {
		b.total[b.x.y[i]] += b.w[i]
	}
	for _, c := range b.total {
		n += c
		sq += c * c
	}
	return n, sq
}

// leaf records the class distribution in b.total as node's leaf,
// sparse (classes increasing): most leaves hold one class or a few.
func (b *builder) leaf(at int32, n float64) {
	from := int32(len(b.dist))
	for c, v := range b.total {
		if v > 0 {
			b.dist = append(b.dist, vote{class: int32(c), prob: float32(v / n)})
		}
	}
	b.distAt[at] = [2]int32{from, int32(len(b.dist))}
}
