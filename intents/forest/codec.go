package forest

import (
	"bytes"
	"fmt"
	"io"
	"math"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/nlp"
	"github.com/parley-chat/parley/nlp/binio"
)

// Bounds on decoded models: far above anything trained here, and small
// enough that a forged length cannot exhaust memory (binio also never
// allocates much more than the input holds).
const (
	maxClasses = 1 << 16
	maxNodes   = intents.MaxArtifactBytes / 16 // each node takes 16 bytes
	maxVotes   = intents.MaxArtifactBytes / 8  // each leaf vote takes 8
)

// WriteTo implements intents.Model.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	return intents.WriteArtifact(w, m.header, func(w io.Writer) error {
		if _, err := m.vec.WriteTo(w); err != nil {
			return err
		}
		bw := binio.NewWriter(w)
		bw.F64(m.temp)
		bw.F64(m.smooth)
		bw.U32(uint32(m.nClass))
		bw.F64s(m.bias)
		bw.F64s(m.prior)
		ts := m.trees
		bw.I32s(ts.start)
		// Column by column, as the package doc lays them out.
		n := len(ts.nodes)
		feature, left, right := make([]int32, n), make([]int32, n), make([]int32, n)
		threshold := make([]float32, n)
		for i, nd := range ts.nodes {
			feature[i], threshold[i], left[i], right[i] = nd.feature, nd.threshold, nd.left, nd.right
		}
		class, prob := make([]int32, len(ts.votes)), make([]float32, len(ts.votes))
		for i, v := range ts.votes {
			class[i], prob[i] = v.class, v.prob
		}
		bw.I32s(feature)
		bw.F32s(threshold)
		bw.I32s(left)
		bw.I32s(right)
		bw.I32s(ts.leafPtr)
		bw.I32s(class)
		bw.F32s(prob)
		return bw.Flush()
	})
}

// Decode reads a forest artifact written by WriteTo, validating it: a
// corrupt or hostile file is an error wrapping intents.ErrCorrupt (or
// another intents artifact error), never a panic or a model that could
// index out of range.
func Decode(r io.Reader) (*Model, error) {
	h, payload, err := intents.ReadArtifact(r, Kind)
	if err != nil {
		return nil, err
	}
	m, err := decodePayload(h, payload)
	if err != nil {
		return nil, fmt.Errorf("%w: forest: %v", intents.ErrCorrupt, err)
	}
	return m, nil
}

func decodePayload(h intents.Header, payload []byte) (*Model, error) {
	pr := bytes.NewReader(payload)
	vec, err := nlp.ReadVectorizer(pr)
	if err != nil {
		return nil, err
	}
	br := binio.NewReader(pr)
	m := &Model{header: h, vec: vec, trees: &trees{}}
	m.temp = br.F64()
	m.smooth = br.F64()
	m.nClass = int(br.U32())
	m.bias = br.F64s(maxClasses)
	m.prior = br.F64s(maxClasses)
	ts := m.trees
	ts.start = br.I32s(maxTrees + 1)
	feature := br.I32s(maxNodes)
	threshold := br.F32s(maxNodes)
	left := br.I32s(maxNodes)
	right := br.I32s(maxNodes)
	ts.leafPtr = br.I32s(maxNodes + 1)
	class := br.I32s(maxVotes)
	prob := br.F32s(maxVotes)
	if err := br.Err(); err != nil {
		return nil, fmt.Errorf("read trees: %w", err)
	}
	n := len(feature)
	if len(threshold) != n || len(left) != n || len(right) != n || len(prob) != len(class) {
		return nil, fmt.Errorf("node or vote columns of unequal length")
	}
	ts.nodes = make([]node, n)
	for i := range ts.nodes {
		ts.nodes[i] = node{feature: feature[i], threshold: threshold[i], left: left[i], right: right[i]}
	}
	ts.votes = make([]vote, len(class))
	for i := range ts.votes {
		ts.votes[i] = vote{class: class[i], prob: prob[i]}
	}
	if pr.Len() != 0 {
		return nil, fmt.Errorf("%d trailing bytes", pr.Len())
	}
	switch {
	case m.nClass != len(h.Labels):
		return nil, fmt.Errorf("%d classes in trees, %d labels in header", m.nClass, len(h.Labels))
	case !(m.temp > 0) || math.IsInf(m.temp, 0):
		return nil, fmt.Errorf("temperature %v", m.temp)
	case !(m.smooth > 0) || math.IsInf(m.smooth, 0):
		return nil, fmt.Errorf("smoothing %v", m.smooth)
	case len(m.prior) != m.nClass || len(m.bias) != m.nClass:
		return nil, fmt.Errorf("%d prior probabilities and %d biases for %d classes", len(m.prior), len(m.bias), m.nClass)
	}
	for _, b := range m.bias {
		if math.IsNaN(b) || math.IsInf(b, 0) {
			return nil, fmt.Errorf("bias %v", b)
		}
	}
	var sum float64
	for _, p := range m.prior {
		if !(p >= 0 && p <= 1) {
			return nil, fmt.Errorf("prior probability %v", p)
		}
		sum += p
	}
	if math.Abs(sum-1) > 1e-6 {
		return nil, fmt.Errorf("prior sums to %v", sum)
	}
	if err := ts.check(vec.Dim(), m.nClass); err != nil {
		return nil, err
	}
	return m, nil
}
