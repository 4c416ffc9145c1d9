// Package rnn is Parley's recurrent intent classifier: a (bidirectional)
// GRU over fastText-style subword embeddings learned with the network,
// trained with gorgonia on mini-batches bucketed by length, with early
// stopping and temperature calibration on held-out data. Prediction runs
// the trained weights in plain Go (see net.go).
//
// Payload format (after the artifact header, see intents.WriteArtifact):
//
//	vocabulary  uint32 min n, uint32 max n, uint32 buckets,
//	            strings: the words with their own row, in row order
//	shape       uint32 dim, uint32 hidden, uint32 classes, uint8 bidirectional
//	embeddings  int32s: the rows that are not all zero, increasing;
//	            float32s: those rows' values, dim per row
//	per direction  float32s wx (3 x dim x H), wh (3 x H x H), b (3 x H):
//	            gates z, r, n in that order, each matrix row-major
//	output      float32s wo (features x classes), bo (classes)
//	temperature float64
package rnn

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/nlp"
	"github.com/parley-chat/parley/nlp/binio"
)

// Kind is the artifact kind of RNN models.
const Kind = "rnn"

// Bounds on decoded models.
const (
	maxBuckets = 1 << 22
	maxWords   = 1 << 22
	maxWidth   = 1024
	maxClasses = 1 << 16
)

// Model is a trained RNN classifier. It is immutable and safe for
// concurrent use.
type Model struct {
	header intents.Header
	voc    *vocab
	net    *net
	temp   float64
}

var _ intents.Model = (*Model)(nil)

// Header implements intents.Model.
func (m *Model) Header() intents.Header { return m.header }

// Logits returns the uncalibrated class scores.
func (m *Model) Logits(d nlp.Doc) []float64 { return m.net.logits(m.voc.encode(d)) }

// Embed returns the message's sentence embedding: the pooled GRU
// states the classifier reads (per direction the final and the mean
// state), 2 x hidden x directions values. Messages about the same intent
// land close together, which makes it a retrieval embedding for text
// from the same domain.
func (m *Model) Embed(d nlp.Doc) []float32 {
	s := m.net.encode(m.voc.encode(d))
	defer scratchPool.Put(s)
	return slices.Clone(s.feat)
}

// Probs implements intents.Model.
func (m *Model) Probs(d nlp.Doc) []float64 {
	l := m.Logits(d)
	return intents.Softmax(l, l, m.temp)
}

// Predict implements intents.Model.
func (m *Model) Predict(d nlp.Doc) intents.Prediction {
	return intents.NewPrediction(m.header.Labels, m.Probs(d), intents.DefaultTopK, m.header.Threshold)
}

// WriteTo implements intents.Model.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	return intents.WriteArtifact(w, m.header, func(w io.Writer) error {
		bw := binio.NewWriter(w)
		v, n := m.voc, m.net
		bw.U32(uint32(v.minN))
		bw.U32(uint32(v.maxN))
		bw.U32(uint32(v.buckets))
		words := make([]string, len(v.words))
		for word, row := range v.words {
			words[row] = word
		}
		bw.Strings(words)
		bw.U32(uint32(n.dim))
		bw.U32(uint32(n.hidden))
		bw.U32(uint32(n.classes))
		bi := uint8(0)
		if n.bi {
			bi = 1
		}
		bw.U8(bi)
		var rows []int32
		var vals []float32
		for r := range len(n.emb) / n.dim {
			e := n.emb[r*n.dim : (r+1)*n.dim]
			for _, x := range e {
				if x != 0 {
					rows = append(rows, int32(r))
					vals = append(vals, e...)
					break
				}
			}
		}
		bw.I32s(rows)
		bw.F32s(vals)
		for d := range n.dirs() {
			bw.F32s(n.wx[d])
			bw.F32s(n.wh[d])
			bw.F32s(n.b[d])
		}
		bw.F32s(n.wo)
		bw.F32s(n.bo)
		bw.F64(m.temp)
		return bw.Flush()
	})
}

// Decode reads an RNN artifact written by WriteTo, validating every
// size and value.
func Decode(r io.Reader) (*Model, error) {
	h, payload, err := intents.ReadArtifact(r, Kind)
	if err != nil {
		return nil, err
	}
	m, err := decodePayload(h, payload)
	if err != nil {
		return nil, fmt.Errorf("decode rnn: %w", err)
	}
	return m, nil
}

func decodePayload(h intents.Header, payload []byte) (*Model, error) {
	pr := bytes.NewReader(payload)
	br := binio.NewReader(pr)
	corrupt := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", intents.ErrCorrupt, fmt.Sprintf(format, a...))
	}
	v := &vocab{}
	v.minN, v.maxN, v.buckets = int(br.U32()), int(br.U32()), int(br.U32())
	words := br.Strings(maxWords, 1<<16)
	if err := br.Err(); err != nil {
		return nil, corrupt("vocabulary: %v", err)
	}
	if v.minN < 1 || v.maxN < v.minN || v.maxN > 8 || v.buckets > maxBuckets {
		return nil, corrupt("n-gram range %d..%d or %d buckets", v.minN, v.maxN, v.buckets)
	}
	v.words = make(map[string]int32, len(words))
	for i, w := range words {
		if _, dup := v.words[w]; dup {
			return nil, corrupt("word %q twice", w)
		}
		v.words[w] = int32(i)
	}
	n := &net{dim: int(br.U32()), hidden: int(br.U32()), classes: int(br.U32())}
	switch br.U8() {
	case 0:
	case 1:
		n.bi = true
	default:
		return nil, corrupt("bad direction flag")
	}
	if err := br.Err(); err != nil {
		return nil, corrupt("shape: %v", err)
	}
	if n.dim < 1 || n.dim > maxWidth || n.hidden < 1 || n.hidden > maxWidth || n.classes > maxClasses {
		return nil, corrupt("shape dim %d hidden %d classes %d", n.dim, n.hidden, n.classes)
	}
	if err := h.CheckLabels(n.classes); err != nil {
		return nil, err
	}
	nrows := v.rows()
	rows := br.I32s(nrows)
	vals := br.F32s(len(rows) * n.dim)
	if err := br.Err(); err != nil {
		return nil, corrupt("embeddings: %v", err)
	}
	if len(vals) != len(rows)*n.dim {
		return nil, corrupt("%d embedding values for %d rows", len(vals), len(rows))
	}
	n.emb = make([]float32, nrows*n.dim)
	prev := int32(-1)
	for i, r := range rows {
		if r <= prev || int(r) >= nrows {
			return nil, corrupt("embedding row %d out of order or range", r)
		}
		prev = r
		copy(n.emb[int(r)*n.dim:], vals[i*n.dim:(i+1)*n.dim])
	}
	read := func(want int, what string) ([]float32, error) {
		x := br.F32s(want)
		if err := br.Err(); err != nil {
			return nil, corrupt("%s: %v", what, err)
		}
		if len(x) != want {
			return nil, corrupt("%s has %d values, want %d", what, len(x), want)
		}
		return x, nil
	}
	var err error
	for d := range n.dirs() {
		if n.wx[d], err = read(n.dim*3*n.hidden, "input weights"); err != nil {
			return nil, err
		}
		if n.wh[d], err = read(n.hidden*3*n.hidden, "recurrent weights"); err != nil {
			return nil, err
		}
		if n.b[d], err = read(3*n.hidden, "gate biases"); err != nil {
			return nil, err
		}
	}
	if n.wo, err = read(n.features()*n.classes, "output weights"); err != nil {
		return nil, err
	}
	if n.bo, err = read(n.classes, "output biases"); err != nil {
		return nil, err
	}
	temp := br.F64()
	if err := br.Err(); err != nil {
		return nil, corrupt("temperature: %v", err)
	}
	if !(temp > 0) || math.IsInf(temp, 0) {
		return nil, corrupt("temperature %v", temp)
	}
	if pr.Len() != 0 {
		return nil, corrupt("%d trailing bytes", pr.Len())
	}
	for _, s := range [][]float32{n.emb, n.wx[0], n.wx[1], n.wh[0], n.wh[1], n.b[0], n.b[1], n.wo, n.bo} {
		for _, x := range s {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, corrupt("non-finite weight")
			}
		}
	}
	n.compact()
	return &Model{header: h, voc: v, net: n, temp: temp}, nil
}
