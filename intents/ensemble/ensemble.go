// Package ensemble combines Parley's model families into one classifier:
// the members' calibrated probabilities are pooled log-linearly,
//
//	p(label) ∝ exp( Σ_k w_k · log p_k(label) / T ),
//
// with the weights w (on the simplex, a grid of step Config.WeightStep)
// chosen to minimize the negative log-likelihood of validation data, a
// temperature T fitted on the same data, and the out-of-scope threshold
// chosen there too (intents.ChooseThreshold). Nothing is hard-coded: a
// member that does not help gets weight 0.
//
// Validation data is Config.Validation when given; otherwise a
// stratified share of the training data (Config.HoldOut) is held out.
// Members are trained on the rest and calibrated, early-stopped and
// weighed on the held-out share; with Config.Refit the families whose
// own calibration needs no outside data (SVM, forest) are then trained
// again on all of it.
//
// Payload format (after the artifact header, see intents.WriteArtifact;
// little-endian):
//
//	members      uint32 K (1..maxMembers)
//	weights      float64s (K): w_k, each in [0, 1]
//	temperature  float64 T > 0
//	K times      bytes: the member's own artifact (uint32 length, then
//	             the artifact with its own header and checksum)
//
// Every member must list the ensemble's labels in the same order.
package ensemble

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/forest"
	"github.com/parley-chat/parley/intents/rnn"
	"github.com/parley-chat/parley/intents/svm"
	"github.com/parley-chat/parley/nlp"
	"github.com/parley-chat/parley/nlp/binio"
)

// Kind is the artifact kind of ensembles.
const Kind = "ensemble"

// maxMembers bounds the members of a decoded ensemble.
const maxMembers = 16

// Config holds the ensemble's hyperparameters and its members'. Start
// from DefaultConfig.
type Config struct {
	// Members lists the families to combine, by kind (svm.Kind,
	// forest.Kind, rnn.Kind), each at most once.
	Members []string      `json:"members"`
	SVM     svm.Config    `json:"svm"`
	Forest  forest.Config `json:"forest"`
	RNN     rnn.Config    `json:"rnn"`
	// HoldOut is the share of training data held out to weigh the
	// members when Validation is empty.
	HoldOut float64 `json:"hold_out"`
	// Refit retrains the SVM and the forest on all the training data
	// once the weights are chosen on held-out data (the RNN keeps the
	// model early-stopped on it).
	Refit bool `json:"refit"`
	// WeightStep is the grid step of the weight search.
	WeightStep float64 `json:"weight_step"`
	// MaxOOSDrop is the in-scope accuracy (a fraction) the out-of-scope
	// threshold may cost on validation data.
	MaxOOSDrop float64 `json:"max_oos_drop"`
	// Validation, when it has examples, replaces the held-out share.
	Validation intents.Dataset `json:"-"`
	// Logger receives progress; nil discards it.
	Logger *slog.Logger `json:"-"`
}

// DefaultConfig returns every family with its default hyperparameters.
func DefaultConfig() Config {
	return Config{
		Members:    []string{svm.Kind, forest.Kind, rnn.Kind},
		SVM:        svm.DefaultConfig(),
		Forest:     forest.DefaultConfig(),
		RNN:        rnn.DefaultConfig(),
		HoldOut:    0.1,
		Refit:      true,
		WeightStep: 0.05,
		MaxOOSDrop: 0.01,
	}
}

func (c Config) validate() error {
	if len(c.Members) == 0 {
		return errors.New("ensemble: no members")
	}
	seen := map[string]bool{}
	for _, k := range c.Members {
		switch k {
		case svm.Kind, forest.Kind, rnn.Kind:
		default:
			return fmt.Errorf("ensemble: unknown member family %q", k)
		}
		if seen[k] {
			return fmt.Errorf("ensemble: member %q listed twice", k)
		}
		seen[k] = true
	}
	switch {
	case c.HoldOut <= 0 || c.HoldOut >= 1:
		return fmt.Errorf("ensemble: hold-out %v not in (0, 1)", c.HoldOut)
	case !(c.WeightStep > 0 && c.WeightStep <= 1):
		return fmt.Errorf("ensemble: weight step %v not in (0, 1]", c.WeightStep)
	case !(c.MaxOOSDrop >= 0 && c.MaxOOSDrop <= 1):
		return fmt.Errorf("ensemble: max oos drop %v not in [0, 1]", c.MaxOOSDrop)
	}
	return nil
}

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Model is a trained ensemble. It is immutable and safe for concurrent use.
type Model struct {
	header  intents.Header
	members []intents.Model
	weights []float64
	temp    float64
}

var _ intents.Model = (*Model)(nil)

// FitModel implements intents.Trainer.
func (c Config) FitModel(ctx context.Context, d intents.Dataset, seed uint64) (intents.Model, error) {
	return c.Fit(ctx, d, seed)
}

// Fit trains the members (concurrently: the RNN's gorgonia machine uses
// one core, the SVM and the forest share the rest) and combines them.
// Examples labelled intents.OOS, if any, are a class of their own (see
// intents.ClassLabels).
func (c Config) Fit(ctx context.Context, d intents.Dataset, seed uint64) (*Model, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	log := c.logger()
	start := time.Now()
	labels, err := intents.ClassLabels(d)
	if err != nil {
		return nil, fmt.Errorf("ensemble: %w", err)
	}
	fitData, val := d, c.Validation
	heldOut := len(val.Examples) == 0
	if heldOut {
		fitData, val = intents.Split(d, c.HoldOut, seed)
	}
	members, err := c.fitMembers(ctx, fitData, val, seed, false)
	if err != nil {
		return nil, err
	}
	for i, m := range members {
		if !slices.Equal(m.Header().Labels, labels) {
			return nil, fmt.Errorf("ensemble: member %s has labels %v, want %v", c.Members[i], m.Header().Labels, labels)
		}
	}
	log.Info("ensemble members trained", "members", c.Members, "elapsed", time.Since(start).Round(time.Millisecond))

	docs := intents.Parse(val)
	gold := intents.Gold(val, labels)
	logp := memberLogProbs(members, docs)
	w, nll := chooseWeights(logp, gold, c.WeightStep)
	m := &Model{
		header:  intents.Header{Kind: Kind, Labels: labels, Created: time.Now().UTC()},
		members: members,
		weights: w,
		temp:    1,
	}
	var pooled [][]float64
	var pooledGold []int
	for i := range docs {
		if gold[i] >= 0 {
			pooled = append(pooled, pool(logp, i, w, nil))
			pooledGold = append(pooledGold, gold[i])
		}
	}
	m.temp = intents.FitTemperature(pooled, pooledGold)
	tp := intents.TuneThreshold(m.Probs, labels, docs, val, c.MaxOOSDrop)
	m.header.Threshold = tp.Threshold
	metrics := tp.Metrics()
	metrics["heldout_nll"] = nll
	for k, kind := range c.Members {
		metrics["weight_"+kind] = w[k]
	}
	log.Info("ensemble weighed", "weights", w, "temperature", m.temp, "oos_threshold", tp.Threshold, "heldout_accuracy", tp.BaseAccuracy, "heldout_oos_recall", tp.OOSRecall)

	if c.Refit && heldOut {
		refit, err := c.fitMembers(ctx, d, intents.Dataset{}, seed, true)
		if err != nil {
			return nil, err
		}
		for i, r := range refit {
			if r != nil {
				m.members[i] = r
			}
		}
		log.Info("ensemble refit on all training data", "elapsed", time.Since(start).Round(time.Millisecond))
	}
	cfg, _ := json.Marshal(c)
	m.header.Config = cfg
	m.header.DataHash = d.Hash()
	m.header.Examples = len(d.Examples)
	m.header.Seed = seed
	m.header.Metrics = metrics
	m.header.Metrics["train_seconds"] = time.Since(start).Seconds()
	return m, nil
}

// fitMembers trains the configured members concurrently on d, each
// calibrated on val (or on its own held-out share when val is empty).
// With refitOnly, only the SVM and the forest are trained and the
// other entries are nil.
func (c Config) fitMembers(ctx context.Context, d, val intents.Dataset, seed uint64, refitOnly bool) ([]intents.Model, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]intents.Model, len(c.Members))
	errs := make([]error, len(c.Members))
	var wg sync.WaitGroup
	for i, kind := range c.Members {
		var tr intents.Trainer
		switch kind {
		case svm.Kind:
			sc := c.SVM
			sc.Validation, sc.Logger = val, c.Logger
			tr = sc
		case forest.Kind:
			fc := c.Forest
			fc.Validation, fc.Logger = val, c.Logger
			tr = fc
		case rnn.Kind:
			if refitOnly {
				continue
			}
			rc := c.RNN
			rc.Validation, rc.Logger = val, c.Logger
			tr = rc
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := tr.FitModel(ctx, d, seed)
			if err != nil {
				errs[i] = fmt.Errorf("ensemble member %s: %w", kind, err)
				cancel() // the others' work is wasted now
				return
			}
			out[i] = m
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// memberLogProbs returns logp[k][i]: member k's log-probabilities for doc i.
func memberLogProbs(members []intents.Model, docs []nlp.Doc) [][][]float64 {
	logp := make([][][]float64, len(members))
	for k, m := range members {
		logp[k] = make([][]float64, len(docs))
		for i, d := range docs {
			p := m.Probs(d)
			for j := range p {
				p[j] = math.Log(max(p[j], minProb))
			}
			logp[k][i] = p
		}
	}
	return logp
}

// minProb floors member probabilities before the logarithm, so one
// member's certainty cannot veto a label outright.
const minProb = 1e-9

// pool returns Σ_k w_k logp[k][i] in dst.
func pool(logp [][][]float64, i int, w []float64, dst []float64) []float64 {
	n := len(logp[0][i])
	dst = append(dst[:0], make([]float64, n)...)
	for k, wk := range w {
		if wk == 0 {
			continue
		}
		for j, v := range logp[k][i] {
			dst[j] += wk * v
		}
	}
	return dst
}

// chooseWeights searches the simplex grid for the weights with the
// lowest validation NLL of the pooled distribution (temperature 1; the
// temperature is fitted after). Ties go to the earlier grid point.
func chooseWeights(logp [][][]float64, gold []int, step float64) ([]float64, float64) {
	k := len(logp)
	var scores [][]float64
	var g []int
	best, bestNLL := make([]float64, k), math.Inf(1)
	if k == 1 {
		best[0] = 1
	}
	steps := int(math.Round(1 / step))
	w := make([]float64, k)
	var rec func(pos, left int)
	rec = func(pos, left int) {
		if pos == k-1 {
			w[pos] = float64(left) / float64(steps)
			scores, g = scores[:0], g[:0]
			for i := range gold {
				if gold[i] >= 0 {
					scores = append(scores, pool(logp, i, w, nil))
					g = append(g, gold[i])
				}
			}
			if len(g) == 0 {
				return
			}
			if nll := intents.NLL(scores, g, 1); nll < bestNLL-1e-12 {
				bestNLL = nll
				copy(best, w)
			}
			return
		}
		for s := 0; s <= left; s++ {
			w[pos] = float64(s) / float64(steps)
			rec(pos+1, left-s)
		}
	}
	rec(0, steps)
	if math.IsInf(bestNLL, 1) {
		// No in-scope validation data: weigh members equally.
		for i := range best {
			best[i] = 1 / float64(k)
		}
		bestNLL = 0
	}
	return best, bestNLL
}

// Header implements intents.Model.
func (m *Model) Header() intents.Header { return m.header }

// Members returns the member models (shared, not copies: they are
// immutable) and their weights.
func (m *Model) Members() ([]intents.Model, []float64) {
	return slices.Clone(m.members), slices.Clone(m.weights)
}

// Probs implements intents.Model. Members run one after the other:
// running them concurrently did not shorten a message's latency on the
// 2-vCPU machine the benchmarks run on.
func (m *Model) Probs(d nlp.Doc) []float64 {
	out := make([]float64, len(m.header.Labels))
	for k, mem := range m.members {
		if m.weights[k] == 0 {
			continue
		}
		for j, p := range mem.Probs(d) {
			out[j] += m.weights[k] * math.Log(max(p, minProb))
		}
	}
	return intents.Softmax(out, out, m.temp)
}

// Predict implements intents.Model.
func (m *Model) Predict(d nlp.Doc) intents.Prediction {
	return intents.NewPrediction(m.header.Labels, m.Probs(d), intents.DefaultTopK, m.header.Threshold)
}

// WriteTo implements intents.Model.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	var parts [][]byte
	for _, mem := range m.members {
		var b bytes.Buffer
		if _, err := mem.WriteTo(&b); err != nil {
			return 0, err
		}
		parts = append(parts, b.Bytes())
	}
	return intents.WriteArtifact(w, m.header, func(w io.Writer) error {
		bw := binio.NewWriter(w)
		bw.U32(uint32(len(m.members)))
		bw.F64s(m.weights)
		bw.F64(m.temp)
		for _, p := range parts {
			bw.Bytes(p)
		}
		return bw.Flush()
	})
}

// Decode reads an ensemble artifact written by WriteTo, validating it
// and every member.
func Decode(r io.Reader) (*Model, error) {
	h, payload, err := intents.ReadArtifact(r, Kind)
	if err != nil {
		return nil, err
	}
	m, err := decodePayload(h, payload)
	if err != nil {
		return nil, fmt.Errorf("decode ensemble: %w", err)
	}
	return m, nil
}

func decodePayload(h intents.Header, payload []byte) (*Model, error) {
	corrupt := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", intents.ErrCorrupt, fmt.Sprintf(format, a...))
	}
	pr := bytes.NewReader(payload)
	br := binio.NewReader(pr)
	k := int(br.U32())
	if br.Err() == nil && (k < 1 || k > maxMembers) {
		return nil, corrupt("%d members", k)
	}
	m := &Model{header: h}
	m.weights = br.F64s(maxMembers)
	m.temp = br.F64()
	if err := br.Err(); err != nil {
		return nil, corrupt("%v", err)
	}
	if len(m.weights) != k {
		return nil, corrupt("%d weights for %d members", len(m.weights), k)
	}
	for _, w := range m.weights {
		if !(w >= 0 && w <= 1) {
			return nil, corrupt("weight %v", w)
		}
	}
	if !(m.temp > 0) || math.IsInf(m.temp, 0) {
		return nil, corrupt("temperature %v", m.temp)
	}
	for i := range k {
		b := br.Bytes(intents.MaxArtifactBytes)
		if err := br.Err(); err != nil {
			return nil, corrupt("member %d: %v", i, err)
		}
		mem, err := DecodeModel(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("member %d: %w", i, err)
		}
		if mem.Header().Kind == Kind {
			return nil, corrupt("member %d is itself an ensemble", i)
		}
		if !slices.Equal(mem.Header().Labels, h.Labels) {
			return nil, corrupt("member %d labels differ from the ensemble's", i)
		}
		m.members = append(m.members, mem)
	}
	if pr.Len() != 0 {
		return nil, corrupt("%d trailing bytes", pr.Len())
	}
	return m, nil
}

// DecodeModel reads an artifact of any family (svm, forest, rnn or
// ensemble), dispatching on the kind in its header.
func DecodeModel(r io.Reader) (intents.Model, error) {
	data, err := io.ReadAll(io.LimitReader(r, intents.MaxArtifactBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	h, _, err := intents.ReadArtifact(bytes.NewReader(data), "")
	if err != nil {
		return nil, err
	}
	switch h.Kind {
	case svm.Kind:
		return svm.Decode(bytes.NewReader(data))
	case forest.Kind:
		return forest.Decode(bytes.NewReader(data))
	case rnn.Kind:
		return rnn.Decode(bytes.NewReader(data))
	case Kind:
		return Decode(bytes.NewReader(data))
	}
	return nil, fmt.Errorf("%w: unknown model kind %q", intents.ErrKind, h.Kind)
}
