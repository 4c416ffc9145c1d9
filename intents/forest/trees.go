package forest

import (
	"fmt"
	"math"
)

// node is one tree node. It is a leaf when feature < 0; otherwise a
// message goes left when its value of column feature is <= threshold
// (absent columns are 0), else right. A leaf's left is its leaf index.
// The fields sit together so a walk touches one cache line per node.
type node struct {
	feature     int32
	threshold   float32
	left, right int32
}

// vote is one class of a leaf's distribution.
type vote struct {
	class int32
	prob  float32
}

// trees holds an ensemble of trees in flat arrays (see the package doc
// for the file layout). Node indices are global; children come after
// their parent within its tree, so a walk always ends.
type trees struct {
	start []int32 // tree t's nodes are start[t]..start[t+1]-1
	nodes []node
	// Leaf l's class distribution is votes[leafPtr[l]:leafPtr[l+1]],
	// sparse, classes increasing.
	leafPtr []int32
	votes   []vote
}

func newTrees() *trees { return &trees{start: []int32{0}, leafPtr: []int32{0}} }

func (ts *trees) count() int { return len(ts.start) - 1 }

// add appends the trees of o, shifting its node and leaf indices.
func (ts *trees) add(o *trees) {
	nodes, leaves, votes := int32(len(ts.nodes)), int32(len(ts.leafPtr)-1), int32(len(ts.votes))
	for _, s := range o.start[1:] {
		ts.start = append(ts.start, nodes+s)
	}
	for _, n := range o.nodes {
		if n.feature >= 0 {
			n.left, n.right = n.left+nodes, n.right+nodes
		} else {
			n.left += leaves
		}
		ts.nodes = append(ts.nodes, n)
	}
	for _, p := range o.leafPtr[1:] {
		ts.leafPtr = append(ts.leafPtr, votes+p)
	}
	ts.votes = append(ts.votes, o.votes...)
}

// leaf returns the leaf that the dense feature vector x reaches in tree t.
func (ts *trees) leaf(t int, x []float32) int32 {
	n := &ts.nodes[ts.start[t]]
	for n.feature >= 0 {
		if x[n.feature] <= n.threshold {
			n = &ts.nodes[n.left]
		} else {
			n = &ts.nodes[n.right]
		}
	}
	return n.left
}

// vote adds leaf l's class distribution to votes.
func (ts *trees) vote(l int32, votes []float64) {
	for _, v := range ts.votes[ts.leafPtr[l]:ts.leafPtr[l+1]] {
		votes[v.class] += float64(v.prob)
	}
}

// check verifies the invariants that make walking the trees safe and
// meaningful for dim columns and nClass classes: every index in range,
// children after their parent within the same tree, leaves numbered in
// node order, finite thresholds, probabilities in [0, 1].
func (ts *trees) check(dim, nClass int) error {
	nodes := len(ts.nodes)
	switch {
	case len(ts.start) < 2 || ts.start[0] != 0 || int(ts.start[len(ts.start)-1]) != nodes:
		return fmt.Errorf("tree starts do not cover %d nodes", nodes)
	case len(ts.leafPtr) < 1 || ts.leafPtr[0] != 0 || int(ts.leafPtr[len(ts.leafPtr)-1]) != len(ts.votes):
		return fmt.Errorf("leaf pointers do not cover %d votes", len(ts.votes))
	}
	leaves := int32(0)
	for t := range ts.count() {
		lo, hi := ts.start[t], ts.start[t+1]
		if hi <= lo || int(hi) > nodes {
			return fmt.Errorf("tree %d has nodes %d..%d of %d", t, lo, hi-1, nodes)
		}
		for i := lo; i < hi; i++ {
			n := ts.nodes[i]
			switch {
			case n.feature >= 0 && int(n.feature) >= dim:
				return fmt.Errorf("node %d tests column %d of %d", i, n.feature, dim)
			case n.feature >= 0 && (n.left <= i || n.left >= hi || n.right <= i || n.right >= hi):
				return fmt.Errorf("node %d has children %d, %d outside %d..%d", i, n.left, n.right, i+1, hi-1)
			case n.feature >= 0 && !finite(n.threshold):
				return fmt.Errorf("node %d has threshold %v", i, n.threshold)
			case n.feature < 0 && (n.feature != -1 || n.left != leaves || n.right != -1 || n.threshold != 0):
				return fmt.Errorf("leaf node %d is malformed (%d, %v, %d, %d)", i, n.feature, n.threshold, n.left, n.right)
			}
			if n.feature < 0 {
				leaves++
			}
		}
	}
	if int(leaves) != len(ts.leafPtr)-1 {
		return fmt.Errorf("%d leaf nodes for %d leaf distributions", leaves, len(ts.leafPtr)-1)
	}
	for l := range leaves {
		a, b := ts.leafPtr[l], ts.leafPtr[l+1]
		if b <= a || int(b) > len(ts.votes) {
			return fmt.Errorf("leaf %d has votes %d..%d of %d", l, a, b-1, len(ts.votes))
		}
		for e := a; e < b; e++ {
			v := ts.votes[e]
			if v.class < 0 || int(v.class) >= nClass || (e > a && v.class <= ts.votes[e-1].class) {
				return fmt.Errorf("leaf %d: class %d out of range or order", l, v.class)
			}
			if !(v.prob >= 0 && v.prob <= 1) {
				return fmt.Errorf("leaf %d: probability %v", l, v.prob)
			}
		}
	}
	return nil
}

func finite(x float32) bool {
	return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0)
}
