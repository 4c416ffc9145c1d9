package rnn

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	G "gorgonia.org/gorgonia"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/nlp"
)

// Config holds the RNN's hyperparameters. Start from DefaultConfig.
type Config struct {
	// Dim is the embedding width, Hidden the GRU state width per direction.
	Dim    int `json:"dim"`
	Hidden int `json:"hidden"`
	// Bidirectional adds a GRU reading the message backwards.
	Bidirectional bool `json:"bidirectional"`
	// Buckets is the number of hashed character n-gram rows; MinN..MaxN
	// the n-gram lengths (fastText uses 3..6 with millions of buckets).
	Buckets int `json:"buckets"`
	MinN    int `json:"min_n"`
	MaxN    int `json:"max_n"`
	// MinCount is how often a word must occur to get its own row.
	MinCount int `json:"min_count"`
	// Batch is the mini-batch size; Lengths the token-length buckets
	// (a message of n tokens goes to the first bucket >= n; longer ones
	// are truncated to the last).
	Batch   int   `json:"batch"`
	Lengths []int `json:"lengths"`
	// MaxEpochs bounds training; Patience stops it after that many
	// epochs without a better validation accuracy.
	MaxEpochs int `json:"max_epochs"`
	Patience  int `json:"patience"`
	// LearnRate is Adam's step for the GRU and output layer; EmbedRate
	// the sparse Adagrad step for embedding rows.
	LearnRate float64 `json:"learn_rate"`
	EmbedRate float64 `json:"embed_rate"`
	// Dropout on the pooled features; WordDropout drops whole tokens'
	// embeddings during training.
	Dropout     float64 `json:"dropout"`
	WordDropout float64 `json:"word_dropout"`
	// HoldOut is the share of training data used for early stopping,
	// calibration and the out-of-scope threshold when Validation is empty.
	HoldOut    float64 `json:"hold_out"`
	MaxOOSDrop float64 `json:"max_oos_drop"`
	// Pretrained, when set, initializes the rows of words it has (its
	// Dim must equal Dim), and its first PretrainedWords words join the
	// vocabulary; PretrainedName records where they came from.
	Pretrained      *nlp.Vectors `json:"-"`
	PretrainedWords int          `json:"pretrained_words,omitempty"`
	PretrainedName  string       `json:"pretrained,omitempty"`
	// Validation, when it has examples, replaces the held-out share.
	Validation intents.Dataset `json:"-"`
	Logger     *slog.Logger    `json:"-"`
}

// DefaultConfig returns the hyperparameters chosen on held-out training
// data (see BENCHMARKS.md).
func DefaultConfig() Config {
	return Config{
		Dim: 64, Hidden: 64, Bidirectional: true,
		Buckets: 50000, MinN: 3, MaxN: 5, MinCount: 1,
		Batch: 32, Lengths: []int{8, 16, 32, maxTokens},
		MaxEpochs: 30, Patience: 4,
		LearnRate: 0.002, EmbedRate: 0.1,
		Dropout: 0.3, WordDropout: 0.1,
		HoldOut: 0.1, MaxOOSDrop: 0.01,
	}
}

func (c Config) validate() error {
	switch {
	case c.Dim < 1 || c.Dim > 1024 || c.Hidden < 1 || c.Hidden > 1024:
		return fmt.Errorf("rnn: dim %d / hidden %d out of range", c.Dim, c.Hidden)
	case c.Buckets < 0 || c.Buckets > maxBuckets:
		return fmt.Errorf("rnn: buckets %d out of range", c.Buckets)
	case c.MinN < 1 || c.MaxN < c.MinN || c.MaxN > 8:
		return fmt.Errorf("rnn: n-gram range %d..%d invalid", c.MinN, c.MaxN)
	case c.MinCount < 1:
		return fmt.Errorf("rnn: min count %d < 1", c.MinCount)
	case c.Batch < 1 || c.MaxEpochs < 1 || c.Patience < 1:
		return fmt.Errorf("rnn: batch %d, max epochs %d and patience %d must be positive", c.Batch, c.MaxEpochs, c.Patience)
	case len(c.Lengths) == 0 || !slices.IsSorted(c.Lengths) || c.Lengths[0] < 1 || c.Lengths[len(c.Lengths)-1] > maxTokens:
		return fmt.Errorf("rnn: length buckets %v invalid", c.Lengths)
	case !(c.LearnRate > 0) || !(c.EmbedRate > 0):
		return fmt.Errorf("rnn: learning rates must be positive")
	case c.Dropout < 0 || c.Dropout >= 1 || c.WordDropout < 0 || c.WordDropout >= 1:
		return fmt.Errorf("rnn: dropout must be in [0, 1)")
	case c.HoldOut < 0 || c.HoldOut >= 1:
		return fmt.Errorf("rnn: hold-out %v not in [0, 1)", c.HoldOut)
	case c.Pretrained != nil && c.Pretrained.Dim != c.Dim:
		return fmt.Errorf("rnn: pretrained vectors have %d dimensions, the embeddings %d", c.Pretrained.Dim, c.Dim)
	case c.PretrainedWords < 0:
		return fmt.Errorf("rnn: pretrained words %d < 0", c.PretrainedWords)
	}
	return nil
}

// FitModel implements intents.Trainer.
func (c Config) FitModel(ctx context.Context, d intents.Dataset, seed uint64) (intents.Model, error) {
	return c.Fit(ctx, d, seed)
}

// Fit trains a GRU classifier on d with gorgonia: mini-batches bucketed
// by length, early stopping on held-out data, calibrated by temperature
// scaling on the same held-out data. Examples labelled intents.OOS, if
// any, are a class of their own (see intents.ClassLabels).
func (c Config) Fit(ctx context.Context, d intents.Dataset, seed uint64) (*Model, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	labels, err := intents.ClassLabels(d)
	if err != nil {
		return nil, fmt.Errorf("rnn: %w", err)
	}
	fitData, val := d, c.Validation
	if len(val.Examples) == 0 && c.HoldOut > 0 {
		fitData, val = intents.Split(d, c.HoldOut, seed)
	}

	fitDocs := intents.Parse(fitData)
	var extra []string
	if c.Pretrained != nil {
		extra = c.Pretrained.Words[:min(c.PretrainedWords, c.Pretrained.Len())]
	}
	voc := newVocab(fitDocs, c.MinCount, c.Buckets, c.MinN, c.MaxN, extra)
	r := intents.NewRand(seed)
	n := newNet(c, voc.rows(), len(labels), r)
	if c.Pretrained != nil {
		found := n.initPretrained(voc, c.Pretrained)
		log.Info("rnn pretrained vectors", "name", c.PretrainedName, "words", len(voc.words), "found", found)
	}
	m := &Model{
		header: intents.Header{Kind: Kind, Labels: labels, Created: time.Now().UTC()},
		voc:    voc, net: n, temp: 1,
	}
	tr, err := newTrainer(c, n, len(labels))
	if err != nil {
		return nil, err
	}
	defer tr.close()

	train := encodeAll(voc, fitDocs, intents.Gold(fitData, labels))
	valDocs := intents.Parse(val)
	valGold := intents.Gold(val, labels)
	valEnc := make([]encoded, len(valDocs))
	for i, doc := range valDocs {
		valEnc[i] = voc.encode(doc)
	}

	best := struct {
		acc, nll float64
		epoch    int
		snap     *net
	}{acc: -1}
	for epoch := 1; epoch <= c.MaxEpochs; epoch++ {
		loss, err := tr.epoch(ctx, train, r)
		if err != nil {
			return nil, err
		}
		acc, nll := evaluate(n, valEnc, valGold)
		log.Info("rnn epoch", "epoch", epoch, "loss", round(loss), "val_acc", round(acc), "val_nll", round(nll), "elapsed", time.Since(start).Round(time.Millisecond))
		if len(valEnc) == 0 {
			continue // no held-out data: train for MaxEpochs
		}
		if acc > best.acc || (acc == best.acc && nll < best.nll) {
			best.acc, best.nll, best.epoch, best.snap = acc, nll, epoch, n.clone()
		} else if epoch-best.epoch >= c.Patience {
			break
		}
	}
	if best.snap != nil {
		m.net = best.snap
	}
	metrics := map[string]float64{"epochs": float64(max(best.epoch, c.MaxEpochs*boolInt(best.snap == nil)))}
	if len(valEnc) > 0 {
		var logits [][]float64
		var gold []int
		for i, e := range valEnc {
			if valGold[i] >= 0 {
				logits = append(logits, m.net.logits(e))
				gold = append(gold, valGold[i])
			}
		}
		m.temp = intents.FitTemperature(logits, gold)
		tp := intents.TuneThreshold(m.Probs, labels, valDocs, val, c.MaxOOSDrop)
		m.header.Threshold = tp.Threshold
		maps.Copy(metrics, tp.Metrics())
		log.Info("rnn calibrated", "best_epoch", best.epoch, "temperature", m.temp, "oos_threshold", tp.Threshold)
	}
	m.net.compact()
	cfg, _ := json.Marshal(c)
	m.header.Config = cfg
	m.header.DataHash = d.Hash()
	m.header.Examples = len(d.Examples)
	m.header.Seed = seed
	metrics["train_seconds"] = time.Since(start).Seconds()
	m.header.Metrics = metrics
	return m, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// newNet initializes parameters: Glorot-uniform weights, zero biases,
// zero embeddings (rows no training example touches then contribute
// nothing, and the model file stores only the rows that were learned).
func newNet(c Config, rows, classes int, r *rand.Rand) *net {
	dirs := 1
	if c.Bidirectional {
		dirs = 2
	}
	n := &net{dim: c.Dim, hidden: c.Hidden, classes: classes, bi: c.Bidirectional}
	n.emb = make([]float32, rows*c.Dim)
	glorot := func(in, out int) []float32 {
		w := make([]float32, in*out)
		lim := math.Sqrt(6 / float64(in+out))
		for i := range w {
			w[i] = float32((r.Float64()*2 - 1) * lim)
		}
		return w
	}
	for d := range dirs {
		for range gates {
			n.wx[d] = append(n.wx[d], glorot(c.Dim, c.Hidden)...)
			n.wh[d] = append(n.wh[d], glorot(c.Hidden, c.Hidden)...)
		}
		n.b[d] = make([]float32, gates*c.Hidden)
	}
	n.wo = glorot(n.features(), classes)
	n.bo = make([]float32, classes)
	return n
}

// initPretrained sets the row of each vocabulary word that v has so
// that the word's composed vector (the mean of its row and its n-gram
// rows, which start at zero) starts as the pretrained vector. It returns
// how many words it found.
func (n *net) initPretrained(voc *vocab, v *nlp.Vectors) int {
	found := 0
	for w, row := range voc.words {
		vec, ok := v.Lookup(w)
		if !ok {
			continue
		}
		found++
		k := float32(len(voc.tokenRows(nil, w)))
		e := n.emb[int(row)*n.dim : int(row)*n.dim+n.dim]
		for i, x := range vec {
			e[i] = x * k
		}
	}
	return found
}

func (n *net) clone() *net {
	c := *n
	c.emb = slices.Clone(n.emb)
	for d := range 2 {
		c.wx[d], c.wh[d], c.b[d] = slices.Clone(n.wx[d]), slices.Clone(n.wh[d]), slices.Clone(n.b[d])
	}
	c.wo, c.bo = slices.Clone(n.wo), slices.Clone(n.bo)
	return &c
}

// example is one encoded training message and its gold class.
type example struct {
	enc  encoded
	gold int
}

func encodeAll(v *vocab, docs []nlp.Doc, gold []int) []example {
	out := make([]example, 0, len(docs))
	for i, d := range docs {
		if gold[i] < 0 {
			continue
		}
		out = append(out, example{enc: v.encode(d), gold: gold[i]})
	}
	return out
}

// evaluate returns accuracy and mean NLL (temperature 1) on held-out data.
func evaluate(n *net, enc []encoded, gold []int) (acc, nll float64) {
	var right, cnt int
	for i, e := range enc {
		if gold[i] < 0 {
			continue
		}
		l := n.logits(e)
		p := intents.Softmax(l, l, 1)
		if intents.TopK(p, 1)[0] == gold[i] {
			right++
		}
		nll -= math.Log(max(p[gold[i]], 1e-12))
		cnt++
	}
	if cnt == 0 {
		return 0, 0
	}
	return float64(right) / float64(cnt), nll / float64(cnt)
}

// trainer owns the per-bucket graphs, the solver and the sparse
// embedding optimizer state for one Fit.
type trainer struct {
	c      Config
	n      *net
	graphs []*graph // one per length bucket
	solver G.Solver
	// Adagrad accumulators for embedding rows, allocated on first touch.
	accum map[int32][]float32
	grad  map[int32][]float32
}

func newTrainer(c Config, n *net, classes int) (*trainer, error) {
	tr := &trainer{
		c: c, n: n,
		solver: G.NewAdamSolver(G.WithLearnRate(c.LearnRate), G.WithClip(5)),
		accum:  map[int32][]float32{},
		grad:   map[int32][]float32{},
	}
	params := paramTensors(n)
	for _, steps := range c.Lengths {
		g, err := newGraph(n, params, steps, c.Batch)
		if err != nil {
			tr.close()
			return nil, err
		}
		tr.graphs = append(tr.graphs, g)
	}
	return tr, nil
}

func (tr *trainer) close() {
	for _, g := range tr.graphs {
		g.close()
	}
}

// bucketOf returns the graph index for a message of n tokens.
func (tr *trainer) bucketOf(n int) int {
	for i, l := range tr.c.Lengths {
		if n <= l {
			return i
		}
	}
	return len(tr.c.Lengths) - 1
}

// epoch runs one pass over the training data in shuffled, length-bucketed
// mini-batches and returns the mean loss.
func (tr *trainer) epoch(ctx context.Context, data []example, r *rand.Rand) (float64, error) {
	byBucket := make([][]int, len(tr.graphs))
	for i, ex := range data {
		b := tr.bucketOf(len(ex.enc.rows))
		byBucket[b] = append(byBucket[b], i)
	}
	type batch struct {
		bucket int
		idx    []int
	}
	var batches []batch
	for b, idx := range byBucket {
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for s := 0; s < len(idx); s += tr.c.Batch {
			batches = append(batches, batch{b, idx[s:min(s+tr.c.Batch, len(idx))]})
		}
	}
	r.Shuffle(len(batches), func(i, j int) { batches[i], batches[j] = batches[j], batches[i] })
	var total float64
	for _, bt := range batches {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		loss, err := tr.step(tr.graphs[bt.bucket], data, bt.idx, r)
		if err != nil {
			return 0, err
		}
		total += float64(loss)
	}
	return total / float64(max(len(batches), 1)), nil
}

// step trains on one mini-batch.
func (tr *trainer) step(g *graph, data []example, idx []int, r *rand.Rand) (float32, error) {
	kept := tr.load(g, data, idx, r)
	loss, err := g.run()
	if err != nil {
		return 0, err
	}
	dx, err := g.inputGrad()
	if err != nil {
		return 0, err
	}
	err = tr.update(g, data, idx, kept, dx)
	g.clearInputGrad()
	return loss, err
}

// load writes the mini-batch idx into g's input tensors, drawing word
// and feature dropout from r. It reports which tokens' embeddings were
// used (kept[b][t]), for the sparse embedding update.
func (tr *trainer) load(g *graph, data []example, idx []int, r *rand.Rand) (kept [][]bool) {
	n := tr.n
	dim, h, F := n.dim, n.hidden, n.features()
	x := g.xT.Data().([]float32)
	mask := g.maskT.Data().([]float32)
	avg := g.avgT.Data().([]float32)
	drop := g.dropT.Data().([]float32)
	y := g.yT.Data().([]float32)
	clear(x)
	clear(mask)
	clear(avg)
	clear(y)
	kept = make([][]bool, len(idx))
	for b, i := range idx {
		rows := data[i].enc.rows
		length := min(len(rows), g.steps)
		kept[b] = make([]bool, length)
		inv := float32(1) / float32(max(length, 1))
		for t := range length {
			off := (t*g.batch + b)
			for k := range h {
				mask[off*h+k] = 1
				avg[off*h+k] = inv
			}
			if r.Float64() < tr.c.WordDropout {
				continue // the token is there (mask 1) but its meaning is hidden
			}
			kept[b][t] = true
			n.embed(x[off*dim:(off+1)*dim], rows[t])
			if tr.c.WordDropout > 0 {
				s := float32(1 / (1 - tr.c.WordDropout))
				for k := range dim {
					x[off*dim+k] *= s
				}
			}
		}
		y[b*n.classes+data[i].gold] = 1 / float32(len(idx))
	}
	ks := float32(1 / (1 - tr.c.Dropout))
	for i := range drop {
		if i/F < len(idx) && r.Float64() >= tr.c.Dropout {
			drop[i] = ks
		} else {
			drop[i] = 0
		}
	}
	return kept
}

// update applies one optimizer step from the gradients of the last run:
// the input gradient dx is scattered to the embedding rows, which get
// sparse Adagrad, before the solver updates the dense parameters (its
// step zeroes their gradients).
func (tr *trainer) update(g *graph, data []example, idx []int, kept [][]bool, dx []float32) error {
	n, dim := tr.n, tr.n.dim
	clear(tr.grad)
	for b, i := range idx {
		for t, used := range kept[b] {
			if !used {
				continue
			}
			rows := data[i].enc.rows[t]
			off := (t*g.batch + b) * dim
			scale := float32(1) / float32(len(rows))
			if tr.c.WordDropout > 0 {
				scale *= float32(1 / (1 - tr.c.WordDropout))
			}
			for _, row := range rows {
				gr := tr.grad[row]
				if gr == nil {
					gr = make([]float32, dim)
					tr.grad[row] = gr
				}
				for k := range dim {
					gr[k] += dx[off+k] * scale
				}
			}
		}
	}
	lr := float32(tr.c.EmbedRate)
	for row, gr := range tr.grad {
		acc := tr.accum[row]
		if acc == nil {
			acc = make([]float32, dim)
			tr.accum[row] = acc
		}
		e := n.emb[int(row)*dim : int(row)*dim+dim]
		for k, gk := range gr {
			acc[k] += gk * gk
			e[k] -= lr * gk / (float32(math.Sqrt(float64(acc[k]))) + 1e-8)
		}
	}
	if err := tr.solver.Step(G.NodesToValueGrads(g.params)); err != nil {
		return fmt.Errorf("rnn solver step: %w", err)
	}
	return nil
}
