package conversion

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Bounds on datasets, so a malformed or hostile file cannot exhaust
// memory. A CRM with more customers than MaxRows is scored in batches.
const (
	MaxRows     = 5_000_000
	MaxFeatures = 10_000
	// MaxNameBytes bounds a feature name.
	MaxNameBytes = 512
)

// Errors. Callers use errors.Is.
var (
	// ErrInvalidData marks a dataset that cannot be used: bad shape,
	// duplicate or empty feature names, NaN or infinite values, too big.
	ErrInvalidData = errors.New("invalid data")
	// ErrOneClass marks training or evaluation data whose labels are all
	// the same: there is nothing to learn or rank.
	ErrOneClass = errors.New("labels are all one class")
	// ErrFeatures marks data whose feature names differ from a model's.
	ErrFeatures = errors.New("features do not match the model")
)

// Dataset is a table of examples: one row of X per example, one column
// per feature named in Names, and for labelled data one Y per row
// (true: converted). Rows may be shared between datasets (Subset and
// StratifiedSplit do not copy them); nothing in this package modifies a
// dataset's rows.
type Dataset struct {
	Names []string
	X     [][]float64
	// Y is nil for unlabelled data (customers to score).
	Y []bool
}

// Len returns the number of examples.
func (d Dataset) Len() int { return len(d.X) }

// Positives returns the number of examples labelled true.
func (d Dataset) Positives() int {
	n := 0
	for _, y := range d.Y {
		if y {
			n++
		}
	}
	return n
}

// Validate checks the shape and values of d: unique, non-empty feature
// names, rows of the same length, finite values, and (when labelled) one
// label per row. The error wraps ErrInvalidData and names the first bad
// row and feature.
func (d Dataset) Validate() error {
	if err := checkNames(d.Names); err != nil {
		return err
	}
	if len(d.X) > MaxRows {
		return fmt.Errorf("%w: %d rows, limit %d", ErrInvalidData, len(d.X), MaxRows)
	}
	if d.Y != nil && len(d.Y) != len(d.X) {
		return fmt.Errorf("%w: %d labels for %d rows", ErrInvalidData, len(d.Y), len(d.X))
	}
	for i, row := range d.X {
		if len(row) != len(d.Names) {
			return fmt.Errorf("%w: row %d has %d values, want %d", ErrInvalidData, i, len(row), len(d.Names))
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: row %d feature %q is %v", ErrInvalidData, i, d.Names[j], v)
			}
		}
	}
	return nil
}

// checkTraining validates d for fitting or evaluation: valid, labelled,
// not empty, both classes present.
func (d Dataset) checkTraining() error {
	if err := d.Validate(); err != nil {
		return err
	}
	if d.Y == nil {
		return fmt.Errorf("%w: dataset has no labels", ErrInvalidData)
	}
	if len(d.X) == 0 {
		return fmt.Errorf("%w: dataset is empty", ErrInvalidData)
	}
	if pos := d.Positives(); pos == 0 || pos == len(d.Y) {
		return fmt.Errorf("%w: %d of %d examples are positive", ErrOneClass, pos, len(d.Y))
	}
	return nil
}

func checkNames(names []string) error {
	if len(names) == 0 {
		return fmt.Errorf("%w: no features", ErrInvalidData)
	}
	if len(names) > MaxFeatures {
		return fmt.Errorf("%w: %d features, limit %d", ErrInvalidData, len(names), MaxFeatures)
	}
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		switch {
		case n == "":
			return fmt.Errorf("%w: feature %d has no name", ErrInvalidData, i)
		case len(n) > MaxNameBytes:
			return fmt.Errorf("%w: feature %d name is %d bytes, limit %d", ErrInvalidData, i, len(n), MaxNameBytes)
		case seen[n]:
			return fmt.Errorf("%w: feature %q appears twice", ErrInvalidData, n)
		}
		seen[n] = true
	}
	return nil
}

// Subset returns the examples at idx, in that order, sharing rows with d.
func (d Dataset) Subset(idx []int) Dataset {
	s := Dataset{Names: d.Names, X: make([][]float64, len(idx))}
	if d.Y != nil {
		s.Y = make([]bool, len(idx))
	}
	for k, i := range idx {
		s.X[k] = d.X[i]
		if d.Y != nil {
			s.Y[k] = d.Y[i]
		}
	}
	return s
}

// Hash returns a hex SHA-256 of the names, values and labels, recorded
// in model files so a model can be traced to its training data.
func (d Dataset) Hash() string {
	h := sha256.New()
	var buf [8]byte
	for _, n := range d.Names {
		binary.LittleEndian.PutUint64(buf[:], uint64(len(n)))
		h.Write(buf[:])
		h.Write([]byte(n))
	}
	row := make([]byte, 0, 8*len(d.Names)+1)
	for i, x := range d.X {
		row = row[:0]
		for _, v := range x {
			row = binary.LittleEndian.AppendUint64(row, math.Float64bits(v))
		}
		if d.Y != nil {
			if d.Y[i] {
				row = append(row, 1)
			} else {
				row = append(row, 0)
			}
		}
		h.Write(row)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// newRand returns the deterministic generator every split and model
// uses: the same seed gives the same result.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0xc0_4e_75_10_4e)) }

// StratifiedSplit holds out about frac of each class (at least one
// example of a class with two or more when frac > 0), chosen at random
// with seed, so both parts keep the positive rate. Both parts keep the
// original row order. frac must be in [0, 1).
func StratifiedSplit(d Dataset, frac float64, seed uint64) (train, test Dataset, err error) {
	if d.Y == nil || len(d.Y) != len(d.X) {
		return Dataset{}, Dataset{}, fmt.Errorf("%w: stratified split needs one label per row", ErrInvalidData)
	}
	if !(frac >= 0 && frac < 1) {
		return Dataset{}, Dataset{}, fmt.Errorf("%w: held-out fraction %v not in [0, 1)", ErrInvalidData, frac)
	}
	trainIdx, testIdx := StratifiedIndices(d.Y, frac, seed)
	return d.Subset(trainIdx), d.Subset(testIdx), nil
}

// StratifiedIndices is StratifiedSplit on labels alone: it returns the
// row indices of each part, each in increasing order, so that other
// per-row data (customer ids) can be split the same way. frac is not
// checked: values outside [0, 1) are clamped.
func StratifiedIndices(y []bool, frac float64, seed uint64) (train, test []int) {
	frac = math.Min(math.Max(frac, 0), 1)
	r := newRand(seed)
	var neg, pos []int
	for i, v := range y {
		if v {
			pos = append(pos, i)
		} else {
			neg = append(neg, i)
		}
	}
	held := make([]bool, len(y))
	for _, idx := range [][]int{neg, pos} {
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		n := int(math.Round(float64(len(idx)) * frac))
		if n == 0 && len(idx) >= 2 && frac > 0 {
			n = 1
		}
		for _, i := range idx[:n] {
			held[i] = true
		}
	}
	for i, h := range held {
		if h {
			test = append(test, i)
		} else {
			train = append(train, i)
		}
	}
	return train, test
}

// sameNames reports whether two feature lists are equal.
func sameNames(a, b []string) bool { return slices.Equal(a, b) }
