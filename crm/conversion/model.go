package conversion

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
)

// Model is a fitted conversion model. Implementations are immutable and
// safe for concurrent use.
//
// x is one row of features, in the order of Info().Features, with finite
// values. Passing a row of another length is a programmer error and
// panics; Score checks a whole dataset (names, lengths, values) first.
type Model interface {
	// Info describes the model: family, features, training data, seed.
	Info() Info
	// Logit returns the model's log-odds that x converts.
	Logit(x []float64) float64
	// Prob returns the probability that x converts: sigmoid(Logit(x)).
	Prob(x []float64) float64
	// Explain lists the features that drove x's score, largest absolute
	// effect first, leaving out features with no effect. The effects
	// plus Base add up to Logit(x).
	Explain(x []float64) []Contribution
	// Base is the log-odds before any feature's contribution: the
	// intercept of a logistic regression (the score of an average
	// customer), the prior plus the trees' root values of boosted trees.
	Base() float64
	// WriteTo writes the model in the format Decode reads (see the
	// package doc).
	WriteTo(w io.Writer) (int64, error)
}

// Trainer fits a model: LogisticConfig and GBTConfig are Trainers.
type Trainer interface {
	Train(ctx context.Context, d Dataset, seed uint64) (Model, error)
}

// asModel returns a family's Fit result as a Model, so that a failed fit
// gives a nil Model, not a non-nil interface holding a nil pointer.
func asModel[M Model](m M, err error) (Model, error) {
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Contribution is one feature's part in a score.
type Contribution struct {
	Feature string  `json:"feature"`
	Index   int     `json:"index"` // position in Info().Features
	Value   float64 `json:"value"` // the feature's value in x
	// Effect is the log-odds the feature added (negative: it lowered
	// the score).
	Effect float64 `json:"effect"`
}

// Info describes a fitted model.
type Info struct {
	// Kind is KindLogistic or KindGBT.
	Kind     string   `json:"kind"`
	Features []string `json:"features"`
	// Examples and Positives count the training data; DataHash is its
	// Dataset.Hash.
	Examples  int    `json:"examples"`
	Positives int    `json:"positives"`
	DataHash  string `json:"data_hash"`
	Seed      uint64 `json:"seed"`
}

// clone returns a copy of i that shares no memory with it, so callers
// cannot change a model's feature names.
func (i Info) clone() Info {
	i.Features = slices.Clone(i.Features)
	return i
}

// Model kinds.
const (
	KindLogistic = "logistic"
	KindGBT      = "gbt"
)

// FormatVersion is the model file format this code writes and reads.
const FormatVersion = 1

// MaxModelBytes bounds a model file's payload.
const MaxModelBytes = 256 << 20

// Errors reading model files. Callers use errors.Is.
var (
	ErrNotModel = errors.New("not a Parley conversion model file")
	ErrVersion  = errors.New("unsupported conversion model format version")
	ErrCorrupt  = errors.New("corrupt conversion model file")
)

var magic = [8]byte{'P', 'A', 'R', 'L', 'E', 'Y', 'C', 'V'}

// fileModel is the JSON payload of a model file.
type fileModel struct {
	Info     Info            `json:"info"`
	Logistic *logisticParams `json:"logistic,omitempty"`
	GBT      *gbtParams      `json:"gbt,omitempty"`
}

// writeModel writes f in the model file format.
func writeModel(w io.Writer, f fileModel) (int64, error) {
	payload, err := json.Marshal(f)
	if err != nil {
		return 0, fmt.Errorf("encode %s model: %w", f.Info.Kind, err)
	}
	if len(payload) > MaxModelBytes {
		return 0, fmt.Errorf("encode %s model: %d bytes, limit %d", f.Info.Kind, len(payload), MaxModelBytes)
	}
	buf := make([]byte, 0, 18+len(payload))
	buf = append(buf, magic[:]...)
	buf = binary.LittleEndian.AppendUint16(buf, FormatVersion)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(payload)))
	buf = append(buf, payload...)
	buf = binary.LittleEndian.AppendUint32(buf, crc32.ChecksumIEEE(buf))
	n, err := w.Write(buf)
	if err != nil {
		return int64(n), fmt.Errorf("write %s model: %w", f.Info.Kind, err)
	}
	return int64(n), nil
}

// Decode reads a model written by WriteTo. It returns an error wrapping
// ErrNotModel, ErrVersion or ErrCorrupt for a file that is not a model,
// of another format version, or damaged or inconsistent; it never panics.
func Decode(r io.Reader) (Model, error) {
	var head [14]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: %d-byte header truncated", ErrNotModel, len(head))
		}
		return nil, fmt.Errorf("read model header: %w", err)
	}
	if !bytes.Equal(head[:8], magic[:]) {
		return nil, fmt.Errorf("%w: magic %q", ErrNotModel, head[:8])
	}
	if v := binary.LittleEndian.Uint16(head[8:]); v != FormatVersion {
		return nil, fmt.Errorf("%w: version %d, this build reads %d", ErrVersion, v, FormatVersion)
	}
	n := binary.LittleEndian.Uint32(head[10:])
	if n > MaxModelBytes {
		return nil, fmt.Errorf("%w: payload of %d bytes, limit %d", ErrCorrupt, n, MaxModelBytes)
	}
	// Read what is there rather than allocating the declared length up
	// front: a forged 14-byte file must not cost 256 MiB.
	body, err := io.ReadAll(io.LimitReader(r, int64(n)+4))
	if err != nil {
		return nil, fmt.Errorf("read model payload: %w", err)
	}
	if len(body) < int(n)+4 {
		return nil, fmt.Errorf("%w: truncated: %d of %d bytes after the header", ErrCorrupt, len(body), int(n)+4)
	}
	payload, sum := body[:n], binary.LittleEndian.Uint32(body[n:])
	crc := crc32.Update(crc32.ChecksumIEEE(head[:]), crc32.IEEETable, payload)
	if crc != sum {
		return nil, fmt.Errorf("%w: checksum %08x, want %08x", ErrCorrupt, crc, sum)
	}
	var f fileModel
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if err := checkNames(f.Info.Features); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if f.Info.Examples < 0 || f.Info.Positives < 0 || f.Info.Positives > f.Info.Examples {
		return nil, fmt.Errorf("%w: %d positives of %d examples", ErrCorrupt, f.Info.Positives, f.Info.Examples)
	}
	switch {
	case f.Info.Kind == KindLogistic && f.Logistic != nil && f.GBT == nil:
		m, err := newLogistic(f.Info, *f.Logistic)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		return m, nil
	case f.Info.Kind == KindGBT && f.GBT != nil && f.Logistic == nil:
		m, err := newGBT(f.Info, *f.GBT)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w: kind %q without its parameters", ErrCorrupt, f.Info.Kind)
}

// Score returns the probability of every row of d, after checking that
// d has the model's features and valid values. It is the checked way to
// call Prob on data from outside.
func Score(m Model, d Dataset) ([]float64, error) {
	if want := m.Info().Features; !sameNames(d.Names, want) {
		return nil, fmt.Errorf("%w: data has %d features (%s), model %d (%s)",
			ErrFeatures, len(d.Names), abbrev(d.Names), len(want), abbrev(want))
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	p := make([]float64, len(d.X))
	for i, x := range d.X {
		p[i] = m.Prob(x)
	}
	return p, nil
}

// abbrev shows the first few names of a list, for error messages.
func abbrev(names []string) string {
	const show = 4
	if len(names) <= show {
		return fmt.Sprintf("%q", names)
	}
	return fmt.Sprintf("%q...", names[:show])
}

// sigmoid is the logistic function, computed without overflow.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// logLoss1 is one example's log loss for log-odds z: log(1+exp(-z)) for
// a positive, log(1+exp(z)) for a negative, computed stably.
func logLoss1(z float64, y bool) float64 {
	if y {
		z = -z
	}
	// softplus(z) = max(z, 0) + log(1 + exp(-|z|))
	return math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z)))
}

// contributions lists the features with a non-zero effect, largest
// absolute effect first; equal effects keep feature order, so
// explanations are deterministic. It sorts indices rather than
// Contributions: swapping structs that hold strings costs write
// barriers, and sorting was most of Explain's time.
func contributions(effect, x []float64, names []string) []Contribution {
	idx := make([]int32, 0, len(effect))
	for j, e := range effect {
		if e != 0 {
			idx = append(idx, int32(j))
		}
	}
	slices.SortFunc(idx, func(a, b int32) int {
		ea, eb := math.Abs(effect[a]), math.Abs(effect[b])
		switch {
		case ea > eb:
			return -1
		case ea < eb:
			return 1
		}
		return int(a - b)
	})
	cs := make([]Contribution, len(idx))
	for k, j := range idx {
		cs[k] = Contribution{Feature: names[j], Index: int(j), Value: x[j], Effect: effect[j]}
	}
	return cs
}

// finite reports whether every value is a finite number.
func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// maxParam bounds decoded parameters. Fitted ones are many orders of
// magnitude smaller; the bound keeps sums of products of parameters
// (and of ordinary feature values) from overflowing into Inf - Inf =
// NaN scores.
const maxParam = 1e50

// bounded reports whether every value is within ±maxParam.
func bounded(vs ...float64) bool {
	for _, v := range vs {
		if !(math.Abs(v) <= maxParam) {
			return false
		}
	}
	return true
}
