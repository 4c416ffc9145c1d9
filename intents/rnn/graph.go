package rnn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// graph is the training computation for one length bucket: a fixed
// batch of sequences of exactly steps tokens (shorter ones right-padded
// and masked). Every bucket's graph wraps the same parameter memory, so
// an update through one is seen by all. A graph is built once and reused
// for every batch of its bucket: rebuilding per batch leaks machines and
// is an order of magnitude slower.
//
// Two choices keep the tape short and its tensors contiguous (gorgonia
// walks non-contiguous views element by element with an iterator, which
// cost a third of the training time with one fused 3H-wide gate matrix):
// each gate has its own weight matrices, and the input projections of
// all steps are one matrix product, sliced by rows per step.
type graph struct {
	steps, batch int
	g            *G.ExprGraph
	// Inputs, set per batch.
	x    *G.Node // steps*batch x dim: token embeddings, step-major
	mask *G.Node // steps x batch x H: 1 on real tokens
	avg  *G.Node // steps x batch x H: mask / length, for the mean state
	drop *G.Node // batch x features: dropout mask scaled by 1/(1-p)
	y    *G.Node // batch x classes: one-hot gold scaled by 1/real batch size
	// Outputs.
	loss   *G.Node
	logits *G.Node // batch x classes, before the softmax
	params G.Nodes
	vm     G.VM

	// Reused input tensors.
	xT, maskT, avgT, dropT, yT *tensor.Dense
}

// paramTensors wraps the net's parameter slices in gorgonia tensors,
// in the fixed order the solver's state and newGraph rely on: per
// direction the three input matrices (z, r, n), the three recurrent
// matrices and the three biases; then the output weights and biases.
func paramTensors(n *net) []*tensor.Dense {
	h, dim := n.hidden, n.dim
	var ts []*tensor.Dense
	for d := range n.dirs() {
		for g := range gates {
			ts = append(ts, tensor.New(tensor.WithShape(dim, h), tensor.WithBacking(n.wx[d][g*dim*h:(g+1)*dim*h])))
		}
		for g := range gates {
			ts = append(ts, tensor.New(tensor.WithShape(h, h), tensor.WithBacking(n.wh[d][g*h*h:(g+1)*h*h])))
		}
		for g := range gates {
			ts = append(ts, tensor.New(tensor.WithShape(1, h), tensor.WithBacking(n.b[d][g*h:(g+1)*h])))
		}
	}
	ts = append(ts,
		tensor.New(tensor.WithShape(n.features(), n.classes), tensor.WithBacking(n.wo)),
		tensor.New(tensor.WithShape(1, n.classes), tensor.WithBacking(n.bo)))
	return ts
}

// perDirection is the number of parameter tensors of one direction.
const perDirection = 3 * gates

func newGraph(n *net, params []*tensor.Dense, steps, batch int) (*graph, error) {
	gr := &graph{steps: steps, batch: batch, g: G.NewGraph()}
	g := gr.g
	h, f32 := n.hidden, tensor.Float32
	newInput := func(name string, shape ...int) (*G.Node, *tensor.Dense) {
		t := tensor.New(tensor.WithShape(shape...), tensor.Of(f32))
		return G.NewTensor(g, f32, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(t)), t
	}
	gr.x, gr.xT = newInput("x", steps*batch, n.dim)
	gr.mask, gr.maskT = newInput("mask", steps, batch, h)
	gr.avg, gr.avgT = newInput("avg", steps, batch, h)
	gr.drop, gr.dropT = newInput("drop", batch, n.features())
	gr.y, gr.yT = newInput("y", batch, n.classes)
	for i, t := range params {
		gr.params = append(gr.params, G.NewMatrix(g, f32, G.WithShape(t.Shape()...), G.WithName(fmt.Sprintf("p%d", i)), G.WithValue(t)))
	}

	var err error
	must := func(nd *G.Node, e error) *G.Node {
		if e != nil && err == nil {
			err = e
		}
		return nd
	}
	var feats G.Nodes
	for d := range n.dirs() {
		p := gr.params[d*perDirection : (d+1)*perDirection]
		wx, wh, b := p[0:3], p[3:6], p[6:9]
		// Input projections of every step at once: steps*batch x H per gate.
		var gx [gates]*G.Node
		for k := range gates {
			gx[k] = must(G.BroadcastAdd(must(G.Mul(gr.x, wx[k])), b[k], nil, []byte{0}))
		}
		var state, mean *G.Node
		for s := range steps {
			t := s
			if d == 1 {
				t = steps - 1 - s
			}
			rows := G.S(t*batch, (t+1)*batch)
			xz, xr, xn := must(G.Slice(gx[0], rows)), must(G.Slice(gx[1], rows)), must(G.Slice(gx[2], rows))
			var next *G.Node
			if state == nil {
				// The state starts at zero: the recurrent terms vanish.
				z := must(G.Sigmoid(xz))
				c := must(G.Tanh(xn))
				next = must(G.Sub(c, must(G.HadamardProd(z, c))))
			} else {
				z := must(G.Sigmoid(must(G.Add(xz, must(G.Mul(state, wh[0]))))))
				r := must(G.Sigmoid(must(G.Add(xr, must(G.Mul(state, wh[1]))))))
				c := must(G.Tanh(must(G.Add(xn, must(G.HadamardProd(r, must(G.Mul(state, wh[2]))))))))
				// (1-z)*c + z*state, written with one product.
				next = must(G.Add(c, must(G.HadamardProd(z, must(G.Sub(state, c))))))
			}
			// Padding keeps the state, so the final state is the state
			// after the last real token.
			mt := must(G.Slice(gr.mask, G.S(t)))
			if state == nil {
				state = must(G.HadamardProd(mt, next))
			} else {
				state = must(G.Add(state, must(G.HadamardProd(mt, must(G.Sub(next, state))))))
			}
			contrib := must(G.HadamardProd(must(G.Slice(gr.avg, G.S(t))), next))
			if mean == nil {
				mean = contrib
			} else {
				mean = must(G.Add(mean, contrib))
			}
		}
		feats = append(feats, state, mean)
	}
	feat := must(G.Concat(1, feats...))
	feat = must(G.HadamardProd(feat, gr.drop))
	wo, bo := gr.params[len(gr.params)-2], gr.params[len(gr.params)-1]
	gr.logits = must(G.BroadcastAdd(must(G.Mul(feat, wo)), bo, nil, []byte{0}))
	lsm := must(G.LogSoftMax(gr.logits))
	gr.loss = must(G.Neg(must(G.Sum(must(G.HadamardProd(gr.y, lsm))))))
	if err != nil {
		return nil, fmt.Errorf("build rnn graph: %w", err)
	}
	wrt := append(G.Nodes{gr.x}, gr.params...)
	if _, err := G.Grad(gr.loss, wrt...); err != nil {
		return nil, fmt.Errorf("rnn gradients: %w", err)
	}
	gr.vm = G.NewTapeMachine(g, G.BindDualValues(wrt...))
	return gr, nil
}

// run executes forward and backward passes on the inputs already written
// into the graph's tensors and returns the loss.
func (gr *graph) run() (float32, error) {
	defer gr.vm.Reset()
	if err := gr.vm.RunAll(); err != nil {
		return 0, fmt.Errorf("run rnn graph: %w", err)
	}
	l, ok := gr.loss.Value().Data().(float32)
	if !ok {
		return 0, fmt.Errorf("rnn loss has type %T", gr.loss.Value().Data())
	}
	return l, nil
}

// inputGrad returns the gradient of the loss with respect to the token
// embeddings, steps*batch x dim. The machine adds each run's gradient to
// this buffer, and no solver step clears it (x is not a parameter): the
// caller reads it, then calls clearInputGrad before the next run.
func (gr *graph) inputGrad() ([]float32, error) {
	gv, err := gr.x.Grad()
	if err != nil {
		return nil, fmt.Errorf("rnn input gradient: %w", err)
	}
	d, ok := gv.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("rnn input gradient has type %T", gv.Data())
	}
	return d, nil
}

// clearInputGrad zeroes the input gradient buffer.
func (gr *graph) clearInputGrad() {
	if gv, err := gr.x.Grad(); err == nil {
		if d, ok := gv.Data().([]float32); ok {
			clear(d)
		}
	}
}

// close releases the machine.
func (gr *graph) close() { gr.vm.Close() }
