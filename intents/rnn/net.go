package rnn

import (
	"math"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// net holds the learned parameters as plain slices. Training wraps them
// in gorgonia tensors that share this memory (the solver updates them
// in place); prediction runs the same computation in plain Go, which is
// several times faster than a gorgonia machine for one short sentence,
// needs no per-goroutine machine, and is tested to match the graph.
type net struct {
	dim, hidden, classes int
	bi                   bool
	emb                  []float32 // rows x dim
	// Per direction (0 forward, 1 backward), gate-major in the order
	// z (update), r (reset), n (candidate): input weights 3 x (dim x H),
	// recurrent weights 3 x (H x H), biases 3 x H; matrices row-major.
	wx, wh, b [2][]float32
	// fx and fh are wx and wh fused for prediction (see compact): row i
	// holds the three gates' row i side by side, dim x 3H and H x 3H, so
	// one product serves all gates. nil until compact runs.
	fx, fh [2][]float32
	wo     []float32 // features x classes
	bo     []float32 // classes
}

func (n *net) dirs() int {
	if n.bi {
		return 2
	}
	return 1
}

// gates is the number of GRU gates.
const gates = 3

// features is the width of the pooled representation: per direction the
// final state and the mean of the states.
func (n *net) features() int { return 2 * n.hidden * n.dirs() }

// embed writes the mean of the rows' embeddings into dst.
func (n *net) embed(dst []float32, rows []int32) {
	clear(dst)
	for _, r := range rows {
		e := n.emb[int(r)*n.dim : int(r)*n.dim+n.dim]
		for k, v := range e {
			dst[k] += v
		}
	}
	inv := 1 / float32(len(rows))
	for k := range dst {
		dst[k] *= inv
	}
}

// scratch holds per-call buffers so prediction allocates little.
type scratch struct {
	x      []float32 // tokens x dim
	all    []float32 // tokens x 3H input projections, grown on demand
	gx, gh []float32 // 3H
	h      []float32
	feat   []float32
}

func (s *scratch) gxAll(size int) []float32 {
	if cap(s.all) < size {
		s.all = make([]float32, size)
	}
	return s.all[:size]
}

// scratchPool recycles scratch buffers between predictions: every
// message would otherwise allocate (and the collector clear) them anew.
var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// grow returns buf with length n, reusing its memory when it can.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// getScratch returns pooled buffers sized for n and tokens; callers give
// them back with scratchPool.Put.
func (n *net) getScratch(tokens int) *scratch {
	s := scratchPool.Get().(*scratch)
	h := n.hidden
	s.x = grow(s.x, tokens*n.dim)
	s.gx, s.gh = grow(s.gx, 3*h), grow(s.gh, 3*h)
	s.h, s.feat = grow(s.h, h), grow(s.feat, n.features())
	return s
}

// encode runs the GRU over one encoded message and returns the pooled
// features (per direction the final and the mean state) in s.feat; the
// caller puts s back in scratchPool.
func (n *net) encode(e encoded) *scratch {
	s := n.getScratch(len(e.rows))
	for t, rows := range e.rows {
		n.embed(s.x[t*n.dim:(t+1)*n.dim], rows)
	}
	h := n.hidden
	for d := range n.dirs() {
		final := s.feat[2*d*h : 2*d*h+h]
		mean := s.feat[2*d*h+h : 2*d*h+2*h]
		n.run(d, s, len(e.rows), final, mean)
	}
	return s
}

// logits computes the class scores of one encoded message.
func (n *net) logits(e encoded) []float64 {
	s := n.encode(e)
	defer scratchPool.Put(s)
	out := make([]float64, n.classes)
	for c := range n.classes {
		out[c] = float64(n.bo[c])
	}
	for f, v := range s.feat {
		if v == 0 {
			continue
		}
		row := n.wo[f*n.classes : (f+1)*n.classes]
		for c, w := range row {
			out[c] += float64(v * w)
		}
	}
	return out
}

// run runs direction d over the tokens in s.x, writing the final state
// and the mean state. It is the computation of newGraph for one sequence.
func (n *net) run(d int, s *scratch, tokens int, final, mean []float32) {
	h, dim := n.hidden, n.dim
	clear(s.h)
	clear(mean)
	if tokens == 0 {
		clear(final)
		return
	}
	b := n.b[d]
	// Input projections of every token at once when the fused weights
	// are there: one matrix product instead of three per token.
	var gxAll []float32
	if n.fx[d] != nil {
		gxAll = s.gxAll(tokens * 3 * h)
		blas32.Gemm(blas.NoTrans, blas.NoTrans, 1,
			blas32.General{Rows: tokens, Cols: dim, Stride: dim, Data: s.x[:tokens*dim]},
			blas32.General{Rows: dim, Cols: 3 * h, Stride: 3 * h, Data: n.fx[d]},
			0, blas32.General{Rows: tokens, Cols: 3 * h, Stride: 3 * h, Data: gxAll})
	}
	inv := 1 / float32(tokens)
	for step := range tokens {
		t := step
		if d == 1 {
			t = tokens - 1 - step
		}
		gx := s.gx
		if gxAll != nil {
			gx = gxAll[t*3*h : (t+1)*3*h]
		} else {
			x := s.x[t*dim : (t+1)*dim]
			for g := range gates {
				matVec(gx[g*h:(g+1)*h], x, n.wx[d][g*dim*h:(g+1)*dim*h], h)
			}
		}
		switch {
		case step == 0:
			clear(s.gh) // the state starts at zero
		case n.fh[d] != nil:
			matVec(s.gh, s.h, n.fh[d], 3*h)
		default:
			for g := range gates {
				matVec(s.gh[g*h:(g+1)*h], s.h, n.wh[d][g*h*h:(g+1)*h*h], h)
			}
		}
		for k := range h {
			z := sigmoid(gx[k] + b[k] + s.gh[k])
			r := sigmoid(gx[h+k] + b[h+k] + s.gh[h+k])
			c := tanh(gx[2*h+k] + b[2*h+k] + r*s.gh[2*h+k])
			s.h[k] = c + z*(s.h[k]-c)
			mean[k] += s.h[k] * inv
		}
	}
	copy(final, s.h)
}

// fuse lays the gates' matrices side by side: row i of the result is
// row i of each gate's rows x cols matrix in turn.
func fuse(w []float32, rows, cols int) []float32 {
	out := make([]float32, 0, len(w))
	for i := range rows {
		for g := range gates {
			out = append(out, w[g*rows*cols+i*cols:g*rows*cols+(i+1)*cols]...)
		}
	}
	return out
}

// compact prepares a trained or decoded net for prediction: the fused
// gate weights. The per-gate matrices stay, for writing and training.
func (n *net) compact() {
	for d := range n.dirs() {
		n.fx[d] = fuse(n.wx[d], n.dim, n.hidden)
		n.fh[d] = fuse(n.wh[d], n.hidden, n.hidden)
	}
}

// matVec computes dst = v · W for a row-major W with len(v) rows and
// cols columns. gonum's BLAS runs the row updates in SIMD assembly,
// 3.7 times faster than a Go loop (BenchmarkMatVec).
func matVec(dst, v, w []float32, cols int) {
	blas32.Gemv(blas.Trans, 1,
		blas32.General{Rows: len(v), Cols: cols, Stride: cols, Data: w[:len(v)*cols]},
		blas32.Vector{N: len(v), Inc: 1, Data: v},
		0, blas32.Vector{N: cols, Inc: 1, Data: dst[:cols]})
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }
func tanh(x float32) float32    { return float32(math.Tanh(float64(x))) }
