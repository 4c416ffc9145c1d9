package nlp

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/parley-chat/parley/nlp/binio"
)

// FeatureConfig configures the sparse lexical features shared by the
// linear and tree models: hashed word n-grams and character n-grams
// inside word boundaries, sublinear TF-IDF, L2-normalized per block.
type FeatureConfig struct {
	// HashBits sets the number of hash buckets per block to 2^HashBits.
	HashBits int
	// WordMin..WordMax is the word n-gram range (1..2: unigrams and bigrams).
	WordMin, WordMax int
	// CharMin..CharMax is the character n-gram range, taken inside each
	// token padded with spaces (sklearn's "char_wb").
	CharMin, CharMax int
	// MinDF drops buckets seen in fewer training documents.
	MinDF int
	// Sublinear uses 1+ln(tf) instead of raw counts.
	Sublinear bool
	// CharWeight is the char block's share of the squared norm relative to
	// the word block (1 weighs them equally).
	CharWeight float64
}

// DefaultFeatureConfig returns the configuration used by Parley's models.
func DefaultFeatureConfig() FeatureConfig {
	return FeatureConfig{
		HashBits: 20,
		WordMin:  1, WordMax: 2,
		CharMin: 2, CharMax: 5,
		MinDF:      1,
		Sublinear:  true,
		CharWeight: 1,
	}
}

// Validate reports an unusable configuration.
func (c FeatureConfig) Validate() error {
	switch {
	case c.HashBits < 8 || c.HashBits > 24:
		return fmt.Errorf("feature config: hash bits %d not in [8, 24]", c.HashBits)
	case c.WordMin < 0 || c.WordMax < c.WordMin || c.WordMax > 4:
		return fmt.Errorf("feature config: word n-gram range %d..%d invalid", c.WordMin, c.WordMax)
	case c.CharMin < 0 || c.CharMax < c.CharMin || c.CharMax > 8:
		return fmt.Errorf("feature config: char n-gram range %d..%d invalid", c.CharMin, c.CharMax)
	case c.WordMin == 0 && c.CharMin == 0:
		return errors.New("feature config: no features enabled")
	case c.MinDF < 1:
		return fmt.Errorf("feature config: min df %d < 1", c.MinDF)
	case c.CharWeight < 0 || math.IsNaN(c.CharWeight) || math.IsInf(c.CharWeight, 0):
		return fmt.Errorf("feature config: char weight %v invalid", c.CharWeight)
	}
	return nil
}

// Features is a sparse, L2-normalized feature vector: Val[i] is the
// value of column Idx[i]; Idx is strictly increasing.
type Features struct {
	Idx []int32
	Val []float32
}

const (
	blockWord = iota
	blockChar
	nBlocks
)

// Vectorizer turns Docs into Features. It is fitted on training data
// (which buckets exist, their IDF) and travels with the model that was
// trained on its output. A fitted Vectorizer is immutable and safe for
// concurrent use.
type Vectorizer struct {
	cfg FeatureConfig
	// cols[b][bucket] is the column of a bucket of block b, or -1.
	cols [nBlocks][]int32
	// idf per column; word columns come before char columns.
	idf []float32
}

// FitVectorizer learns the vocabulary (used buckets) and IDF weights
// from training documents.
func FitVectorizer(cfg FeatureConfig, docs []Doc) (*Vectorizer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, errors.New("fit vectorizer: no documents")
	}
	size := 1 << cfg.HashBits
	var df [nBlocks]map[uint32]int32
	for b := range df {
		df[b] = make(map[uint32]int32)
	}
	var g grams
	for _, d := range docs {
		g.collect(cfg, d)
		for b := range nBlocks {
			for _, h := range uniq(g.h[b]) {
				df[b][h]++
			}
		}
	}
	v := &Vectorizer{cfg: cfg}
	n := float64(len(docs))
	for b := range nBlocks {
		v.cols[b] = make([]int32, size)
		for i := range v.cols[b] {
			v.cols[b][i] = -1
		}
		keys := make([]uint32, 0, len(df[b]))
		for h, c := range df[b] {
			if int(c) >= cfg.MinDF {
				keys = append(keys, h)
			}
		}
		slices.Sort(keys) // deterministic column order
		for _, h := range keys {
			v.cols[b][h] = int32(len(v.idf))
			idf := math.Log((1+n)/(1+float64(df[b][h]))) + 1
			v.idf = append(v.idf, float32(idf))
		}
	}
	if len(v.idf) == 0 {
		return nil, errors.New("fit vectorizer: no features survive min df")
	}
	return v, nil
}

// Config returns the configuration the Vectorizer was fitted with.
func (v *Vectorizer) Config() FeatureConfig { return v.cfg }

// Dim returns the number of columns.
func (v *Vectorizer) Dim() int { return len(v.idf) }

var gramPool = sync.Pool{New: func() any { return new(grams) }}

// Transform computes the features of one document. Unknown n-grams are
// ignored; a document with none gets empty Features.
func (v *Vectorizer) Transform(d Doc) Features {
	g := gramPool.Get().(*grams)
	defer gramPool.Put(g)
	g.collect(v.cfg, d)

	var f Features
	var sq [nBlocks]float64
	start := 0
	for b := range nBlocks {
		cols := g.cols[:0]
		for _, h := range g.h[b] {
			if c := v.cols[b][h]; c >= 0 {
				cols = append(cols, c)
			}
		}
		g.cols = cols
		slices.Sort(cols)
		for i := 0; i < len(cols); {
			j := i + 1
			for j < len(cols) && cols[j] == cols[i] {
				j++
			}
			tf := float64(j - i)
			if v.cfg.Sublinear {
				tf = 1 + math.Log(tf)
			}
			x := tf * float64(v.idf[cols[i]])
			f.Idx = append(f.Idx, cols[i])
			f.Val = append(f.Val, float32(x))
			sq[b] += x * x
			i = j
		}
		// Normalize each block to its weight's share so a long message's
		// many char n-grams do not drown its few words.
		if sq[b] > 0 {
			scale := 1 / math.Sqrt(sq[b])
			if b == blockChar {
				scale *= math.Sqrt(v.cfg.CharWeight)
			}
			for i := start; i < len(f.Val); i++ {
				f.Val[i] = float32(float64(f.Val[i]) * scale)
			}
		}
		start = len(f.Val)
	}
	// Final L2 normalization across blocks.
	var norm float64
	for _, x := range f.Val {
		norm += float64(x) * float64(x)
	}
	if norm > 0 {
		s := float32(1 / math.Sqrt(norm))
		for i := range f.Val {
			f.Val[i] *= s
		}
	}
	return f
}

// grams collects n-gram hashes per block; reused through gramPool.
type grams struct {
	h     [nBlocks][]uint32
	words []string
	runes []rune
	buf   []byte
	cols  []int32
}

func (g *grams) collect(cfg FeatureConfig, d Doc) {
	mask := uint32(1)<<cfg.HashBits - 1
	for b := range g.h {
		g.h[b] = g.h[b][:0]
	}
	g.words = g.words[:0]
	for _, t := range d.Tokens {
		g.words = append(g.words, FeatureForm(t.Text))
	}
	if cfg.WordMin > 0 {
		for n := cfg.WordMin; n <= cfg.WordMax; n++ {
			for i := 0; i+n <= len(g.words); i++ {
				h := uint32(fnvOffset) ^ uint32(n)*0x9e3779b1
				for k := i; k < i+n; k++ {
					if k > i {
						h = fnvByte(h, 0) // separator
					}
					h = fnvString(h, g.words[k])
				}
				g.h[blockWord] = append(g.h[blockWord], h&mask)
			}
		}
	}
	if cfg.CharMin > 0 {
		for _, w := range g.words {
			g.runes = append(g.runes[:0], ' ')
			for _, r := range w {
				g.runes = append(g.runes, r)
			}
			g.runes = append(g.runes, ' ')
			for n := cfg.CharMin; n <= cfg.CharMax; n++ {
				for i := 0; i+n <= len(g.runes); i++ {
					h := uint32(fnvOffset) ^ uint32(n)*0x85ebca6b
					for _, r := range g.runes[i : i+n] {
						if r < utf8.RuneSelf {
							h = fnvByte(h, byte(r))
						} else {
							g.buf = utf8.AppendRune(g.buf[:0], r)
							for _, c := range g.buf {
								h = fnvByte(h, c)
							}
						}
					}
					g.h[blockChar] = append(g.h[blockChar], h&mask)
				}
			}
		}
	}
}

// FeatureForm is the form of a token used by lexical features and the
// RNN's vocabulary: case-folded, with every ASCII digit mapped to 0 so
// that "order 48213" and "order 55301" share features.
func FeatureForm(tok string) string {
	s := Fold(tok)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '1' && c <= '9' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= '1' && b[j] <= '9' {
					b[j] = '0'
				}
			}
			return string(b)
		}
	}
	return s
}

func uniq(h []uint32) []uint32 {
	c := slices.Clone(h)
	slices.Sort(c)
	return slices.Compact(c)
}

// FNV-1a, 32 bit: fast, allocation-free, and stable across Go versions
// (hash/maphash is seeded per process, which would break saved models).
const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func fnvByte(h uint32, c byte) uint32 { return (h ^ uint32(c)) * fnvPrime }

func fnvString(h uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * fnvPrime
	}
	return h
}

// Hash32 is the FNV-1a hash of s from a seed; other packages use it for
// hashed vocabularies so that one function defines every bucket.
func Hash32(seed uint32, s string) uint32 { return fnvString(fnvOffset^seed, s) }

// Bounds on decoded vectorizers: far above anything trained here, far
// below what would exhaust memory.
const maxColumns = 1 << 24

// WriteTo writes the fitted vectorizer: its config, then for each block
// the used buckets in column order, then the IDF per column.
func (v *Vectorizer) WriteTo(w io.Writer) (int64, error) {
	bw := binio.NewWriter(w)
	c := v.cfg
	for _, x := range []int{c.HashBits, c.WordMin, c.WordMax, c.CharMin, c.CharMax, c.MinDF} {
		bw.Int(x)
	}
	sub := uint8(0)
	if c.Sublinear {
		sub = 1
	}
	bw.U8(sub)
	bw.F64(c.CharWeight)
	for b := range nBlocks {
		buckets := make([]int32, 0)
		for h, col := range v.cols[b] {
			if col >= 0 {
				buckets = append(buckets, int32(h))
			}
		}
		// Columns were assigned in bucket order within a block, so the
		// buckets in ascending order are the columns in order.
		bw.I32s(buckets)
	}
	bw.F32s(v.idf)
	err := bw.Flush()
	return bw.N(), err
}

// ReadVectorizer reads what WriteTo wrote, validating every field.
func ReadVectorizer(r io.Reader) (*Vectorizer, error) {
	br := binio.NewReader(r)
	var c FeatureConfig
	c.HashBits = br.Int(64)
	c.WordMin, c.WordMax = br.Int(64), br.Int(64)
	c.CharMin, c.CharMax = br.Int(64), br.Int(64)
	c.MinDF = br.Int(math.MaxInt32)
	c.Sublinear = br.U8() == 1
	c.CharWeight = br.F64()
	if err := br.Err(); err != nil {
		return nil, fmt.Errorf("read vectorizer config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("read vectorizer: %w", err)
	}
	v := &Vectorizer{cfg: c}
	size := 1 << c.HashBits
	// Read and check everything before allocating the bucket tables
	// (up to 2^24 entries each), so a short forged file costs little.
	var buckets [nBlocks][]int32
	ncols := 0
	for b := range nBlocks {
		buckets[b] = br.I32s(min(size, maxColumns))
		if br.Err() != nil {
			return nil, fmt.Errorf("read vectorizer buckets: %w", br.Err())
		}
		prev := int32(-1)
		for _, h := range buckets[b] {
			if h <= prev || int(h) >= size {
				return nil, fmt.Errorf("read vectorizer: bucket %d out of order or range", h)
			}
			prev = h
		}
		ncols += len(buckets[b])
	}
	v.idf = br.F32s(maxColumns)
	if err := br.Err(); err != nil {
		return nil, fmt.Errorf("read vectorizer idf: %w", err)
	}
	if len(v.idf) != ncols || ncols == 0 {
		return nil, fmt.Errorf("read vectorizer: %d idf values for %d columns", len(v.idf), ncols)
	}
	for _, x := range v.idf {
		if !(x > 0) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("read vectorizer: invalid idf %v", x)
		}
	}
	col := int32(0)
	for b := range nBlocks {
		v.cols[b] = make([]int32, size)
		for i := range v.cols[b] {
			v.cols[b][i] = -1
		}
		for _, h := range buckets[b] {
			v.cols[b][h] = col
			col++
		}
	}
	return v, nil
}
