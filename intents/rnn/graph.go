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
type graph struct {
	steps, batch int
	g            *G.ExprGraph
	// Inputs, set per batch.
	x    *G.Node // steps x batch x dim: token embeddings
	mask *G.Node // steps x batch x H: 1 on real tokens
	keep *G.Node // steps x batch x H: 1 - mask
	avg  *G.Node // steps x batch x H: mask / length, for the mean state
	drop *G.Node // batch x features: dropout mask scaled by 1/(1-p)
	y    *G.Node // batch x classes: one-hot gold scaled by 1/real batch size
	// Outputs.
	loss   *G.Node
	logits *G.Node
	params G.Nodes
	vm     G.VM

	// Reused input tensors.
	xT, maskT, keepT, avgT, dropT, yT *tensor.Dense
}

// paramTensors wraps the net's parameter slices in gorgonia tensors,
// in the fixed order the solver's state relies on.
func paramTensors(n *net) []*tensor.Dense {
	h := n.hidden
	var ts []*tensor.Dense
	for d := range n.dirs() {
		ts = append(ts,
			tensor.New(tensor.WithShape(n.dim, 3*h), tensor.WithBacking(n.wx[d])),
			tensor.New(tensor.WithShape(h, 3*h), tensor.WithBacking(n.wh[d])),
			tensor.New(tensor.WithShape(1, 3*h), tensor.WithBacking(n.b[d])))
	}
	ts = append(ts,
		tensor.New(tensor.WithShape(n.features(), n.classes), tensor.WithBacking(n.wo)),
		tensor.New(tensor.WithShape(1, n.classes), tensor.WithBacking(n.bo)))
	return ts
}

func newGraph(n *net, params []*tensor.Dense, steps, batch int) (*graph, error) {
	gr := &graph{steps: steps, batch: batch, g: G.NewGraph()}
	g := gr.g
	h, f32 := n.hidden, tensor.Float32
	newInput := func(name string, shape ...int) (*G.Node, *tensor.Dense) {
		t := tensor.New(tensor.WithShape(shape...), tensor.Of(f32))
		return G.NewTensor(g, f32, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(t)), t
	}
	gr.x, gr.xT = newInput("x", steps, batch, n.dim)
	gr.mask, gr.maskT = newInput("mask", steps, batch, h)
	gr.keep, gr.keepT = newInput("keep", steps, batch, h)
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
	one := G.NewConstant(float32(1))
	var feats G.Nodes
	for d := range n.dirs() {
		wx, wh, b := gr.params[3*d], gr.params[3*d+1], gr.params[3*d+2]
		state := G.NewMatrix(g, f32, G.WithShape(batch, h), G.WithName(fmt.Sprintf("h0_%d", d)), G.WithInit(G.Zeroes()))
		var mean *G.Node
		for s := range steps {
			t := s
			if d == 1 {
				t = steps - 1 - s
			}
			xt := must(G.Slice(gr.x, G.S(t)))
			gx := must(G.BroadcastAdd(must(G.Mul(xt, wx)), b, nil, []byte{0}))
			gh := must(G.Mul(state, wh))
			col := func(m *G.Node, k int) *G.Node { return must(G.Slice(m, nil, G.S(k*h, (k+1)*h))) }
			z := must(G.Sigmoid(must(G.Add(col(gx, 0), col(gh, 0)))))
			r := must(G.Sigmoid(must(G.Add(col(gx, 1), col(gh, 1)))))
			c := must(G.Tanh(must(G.Add(col(gx, 2), must(G.HadamardProd(r, col(gh, 2)))))))
			next := must(G.Add(must(G.HadamardProd(must(G.Sub(one, z)), c)), must(G.HadamardProd(z, state))))
			// Padding keeps the state, so the final state is the state
			// after the last real token.
			mt := must(G.Slice(gr.mask, G.S(t)))
			kt := must(G.Slice(gr.keep, G.S(t)))
			state = must(G.Add(must(G.HadamardProd(mt, next)), must(G.HadamardProd(kt, state))))
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
// embeddings, steps x batch x dim; valid until the next run.
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

// close releases the machine.
func (gr *graph) close() { gr.vm.Close() }
