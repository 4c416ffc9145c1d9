package rnn

import (
	"math"
	"os"
	"slices"
	"testing"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/nlp"
)

// testNet returns a small network with random weights and embeddings
// and a few encoded sequences of different lengths.
func testNet(t *testing.T, bi bool) (*net, []example) {
	t.Helper()
	c := DefaultConfig()
	c.Dim, c.Hidden, c.Bidirectional = 6, 5, bi
	r := intents.NewRand(3)
	n := newNet(c, 20, 4, r)
	for i := range n.emb {
		n.emb[i] = float32(r.NormFloat64() * 0.5)
	}
	for d := range n.dirs() {
		for i := range n.b[d] {
			n.b[d][i] = float32(r.NormFloat64() * 0.1)
		}
	}
	for i := range n.bo {
		n.bo[i] = float32(r.NormFloat64() * 0.1)
	}
	seqs := [][][]int32{
		{{1}},
		{{2, 3}, {4}, {5, 6, 7}},
		{{8}, {9}, {10}, {11}, {12}},
	}
	var data []example
	for i, s := range seqs {
		data = append(data, example{enc: encoded{rows: s}, gold: i % 4})
	}
	return n, data
}

func testTrainer(t *testing.T, n *net, steps, batch int) *trainer {
	t.Helper()
	c := DefaultConfig()
	c.Dim, c.Hidden, c.Bidirectional = n.dim, n.hidden, n.bi
	c.Dropout, c.WordDropout = 0, 0
	c.Lengths, c.Batch = []int{steps}, batch
	tr, err := newTrainer(c, n, n.classes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.close)
	return tr
}

// The plain-Go forward pass used for prediction must compute what the
// gorgonia training graph computes, padding and masking included.
func TestGraphMatchesNet(t *testing.T) {
	for _, bi := range []bool{false, true} {
		n, data := testNet(t, bi)
		tr := testTrainer(t, n, 6, 4) // one padding row, padded steps
		g := tr.graphs[0]
		idx := []int{0, 1, 2}
		tr.load(g, data, idx, intents.NewRand(1))
		if _, err := g.run(); err != nil {
			t.Fatal(err)
		}
		// run resets the machine but node values stay readable.
		got := g.logits.Value().Data().([]float32)
		for b, i := range idx {
			want := n.logits(data[i].enc)
			for c, w := range want {
				if v := float64(got[b*n.classes+c]); math.Abs(v-w) > 1e-4 {
					t.Errorf("bi=%v seq %d class %d: graph logit %v, net logit %v", bi, i, c, v, w)
				}
			}
		}
	}
}

// loss is the mean negative log-likelihood the graph minimizes,
// computed with the plain-Go network.
func (n *net) loss(data []example, idx []int) float64 {
	var l float64
	for _, i := range idx {
		lg := n.logits(data[i].enc)
		p := intents.Softmax(lg, lg, 1)
		l -= math.Log(p[data[i].gold])
	}
	return l / float64(len(idx))
}

// The graph's gradients must match finite differences of the loss, for
// a sample of every parameter tensor.
func TestGraphGradients(t *testing.T) {
	n, data := testNet(t, true)
	tr := testTrainer(t, n, 6, 3)
	g := tr.graphs[0]
	idx := []int{0, 1, 2}
	tr.load(g, data, idx, intents.NewRand(1))
	if _, err := g.run(); err != nil {
		t.Fatal(err)
	}
	params := paramTensors(n)
	const eps = 1e-2
	for p, node := range g.params {
		gv, err := node.Grad()
		if err != nil {
			t.Fatalf("param %d: %v", p, err)
		}
		grad := gv.Data().([]float32)
		vals := params[p].Data().([]float32)
		for _, k := range []int{0, len(vals) / 2, len(vals) - 1} {
			old := vals[k]
			vals[k] = old + eps
			up := n.loss(data, idx)
			vals[k] = old - eps
			down := n.loss(data, idx)
			vals[k] = old
			num := (up - down) / (2 * eps)
			if diff := math.Abs(num - float64(grad[k])); diff > 2e-3+0.05*math.Abs(num) {
				t.Errorf("param %d[%d]: graph gradient %v, finite difference %v", p, k, grad[k], num)
			}
		}
	}
	// The input gradient drives the embedding updates.
	buf, err := g.inputGrad()
	if err != nil {
		t.Fatal(err)
	}
	dx := slices.Clone(buf)
	x := g.xT.Data().([]float32)
	for _, off := range []int{0, (1*g.batch + 1) * n.dim, (4*g.batch+2)*n.dim + 3} {
		// Perturb one input value and rerun the graph's forward pass.
		old := x[off]
		g.clearInputGrad()
		x[off] = old + eps
		up := graphLoss(t, g)
		x[off] = old - eps
		down := graphLoss(t, g)
		x[off] = old
		num := (up - down) / (2 * eps)
		if diff := math.Abs(num - float64(dx[off])); diff > 2e-3+0.05*math.Abs(num) {
			t.Errorf("input %d: graph gradient %v, finite difference %v", off, dx[off], num)
		}
	}
}

func graphLoss(t *testing.T, g *graph) float64 {
	t.Helper()
	l, err := g.run()
	if err != nil {
		t.Fatal(err)
	}
	return float64(l)
}

// The machine accumulates the input gradient across runs; clearInputGrad
// must reset it, or every batch's embedding update would carry all the
// earlier batches' gradients.
func TestInputGradDoesNotAccumulate(t *testing.T) {
	n, data := testNet(t, false)
	tr := testTrainer(t, n, 6, 3)
	g := tr.graphs[0]
	tr.load(g, data, []int{0, 1, 2}, intents.NewRand(1))
	var first []float32
	for run := range 3 {
		if _, err := g.run(); err != nil {
			t.Fatal(err)
		}
		dx, err := g.inputGrad()
		if err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			first = slices.Clone(dx)
		} else if !slices.Equal(dx, first) {
			t.Fatalf("run %d: input gradient %v, first run %v", run, dx[:6], first[:6])
		}
		g.clearInputGrad()
	}
}

// Pretrained vectors start the composed vectors of the words they have
// (a word's row plus its n-gram rows, averaged) at the pretrained values.
func TestInitPretrained(t *testing.T) {
	f, err := os.Open("../../testdata/vectors/tiny.vec")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := nlp.ReadVectors(f, "tiny.vec", 0)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := nlp.Parse("where is my order")
	if err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Dim, c.Buckets = v.Dim, 100
	voc := newVocab([]nlp.Doc{doc}, 1, c.Buckets, c.MinN, c.MaxN, v.Words[:2])
	if _, ok := voc.words["the"]; !ok {
		t.Fatalf("vocabulary %v lacks the pretrained word %q", voc.words, "the")
	}
	n := newNet(c, voc.rows(), 2, intents.NewRand(1))
	if found := n.initPretrained(voc, v); found != 2 {
		t.Errorf("initPretrained found %d words, want 2 (the, order)", found)
	}
	for _, w := range []string{"the", "order"} {
		want, _ := v.Lookup(w)
		got := make([]float32, n.dim)
		n.embed(got, voc.tokenRows(nil, w))
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-6 {
				t.Errorf("%q: composed vector %v, want %v", w, got, want)
				break
			}
		}
	}
}

// Embed returns exactly the pooled features the output layer reads.
func TestEmbedIsPooledFeatures(t *testing.T) {
	n, data := testNet(t, true)
	for _, ex := range data {
		feat := slices.Clone(n.encode(ex.enc).feat)
		if len(feat) != n.features() {
			t.Fatalf("embedding has %d values, want %d", len(feat), n.features())
		}
		want := n.logits(ex.enc)
		for c := range n.classes {
			got := float64(n.bo[c])
			for f, v := range feat {
				got += float64(v * n.wo[f*n.classes+c])
			}
			if math.Abs(got-want[c]) > 1e-5 {
				t.Errorf("class %d: bo + feat·wo = %v, logits %v", c, got, want[c])
			}
		}
	}
}

// The fused gate weights used for prediction compute what the per-gate
// matrices compute.
func TestCompactSameLogits(t *testing.T) {
	for _, bi := range []bool{false, true} {
		n, data := testNet(t, bi)
		var before [][]float64
		for _, ex := range data {
			before = append(before, n.logits(ex.enc))
		}
		n.compact()
		for i, ex := range data {
			after := n.logits(ex.enc)
			for c := range after {
				if math.Abs(after[c]-before[i][c]) > 1e-5 {
					t.Errorf("bi=%v seq %d class %d: fused %v, per gate %v", bi, i, c, after[c], before[i][c])
				}
			}
		}
	}
}
