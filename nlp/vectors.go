package nlp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on word-vector files. The largest published English vectors
// have 300 dimensions; lines of 1000 values in exponent notation still
// fit MaxVectorLineBytes.
const (
	// MaxVectorDim is the largest dimension ReadVectors accepts.
	MaxVectorDim = 1000
	// MaxVectorLineBytes is the longest line ReadVectors accepts.
	MaxVectorLineBytes = 64 << 10
	// DefaultMaxVectorWords is the number of words ReadVectors keeps when
	// its caller gives no bound: 200,000 100-d vectors take 80 MB.
	DefaultMaxVectorWords = 200_000
)

// Vectors are pretrained word vectors: Words[i]'s vector is the i-th
// row of a Len() x Dim matrix. Vectors are immutable after ReadVectors
// returns and safe for concurrent use.
type Vectors struct {
	// Dim is the number of values per word.
	Dim int
	// Words in file order (most frequent first in GloVe and fastText files).
	Words []string

	data  []float32 // Len() rows of Dim values
	index map[string]int32
}

// Len returns the number of words.
func (v *Vectors) Len() int { return len(v.Words) }

// Lookup returns word's vector. Matching is exact: GloVe's vocabulary is
// lower-cased, so callers fold words first (see Fold). The slice shares
// the Vectors' memory and must not be modified.
func (v *Vectors) Lookup(word string) ([]float32, bool) {
	i, ok := v.index[word]
	if !ok {
		return nil, false
	}
	lo, hi := int(i)*v.Dim, (int(i)+1)*v.Dim
	return v.data[lo:hi:hi], true
}

// VectorsError is a malformed word-vector file, located by file and line.
type VectorsError struct {
	File string
	Line int
	Err  error
}

func (e *VectorsError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *VectorsError) Unwrap() error { return e.Err }

// ReadVectors reads word vectors in the text format of fastText's .vec
// files and GloVe's .txt files: one word per line followed by its values,
// separated by spaces. fastText files start with a header line "N D"
// (N words of D values); a first line of exactly two integers is taken
// as that header, anything else as GloVe's header-less format, whose
// dimension is the first line's. name is used in errors only.
//
// At most maxWords distinct words are kept (<= 0 means
// DefaultMaxVectorWords); reading stops there, so the first words of a
// frequency-ordered file make a smaller vocabulary. A word seen twice
// keeps its first vector. Malformed input is a *VectorsError naming the
// line: a value that is not a finite float32, a number of values that
// disagrees with the header or the first vector, a line longer than
// MaxVectorLineBytes, a dimension above MaxVectorDim, a word that is not
// UTF-8, no vectors at all, or a header whose word count disagrees with
// the file's lines. Read errors of r are returned wrapped.
func ReadVectors(r io.Reader, name string, maxWords int) (*Vectors, error) {
	if maxWords <= 0 {
		maxWords = DefaultMaxVectorWords
	}
	fail := func(line int, format string, a ...any) error {
		return &VectorsError{File: name, Line: line, Err: fmt.Errorf(format, a...)}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxVectorLineBytes)
	v := &Vectors{index: map[string]int32{}}
	line, rows, headerWords, dimLine := 0, 0, -1, 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), " \t\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
			if n, d, ok := vectorHeader(text); ok {
				if n < 1 || d < 1 || d > MaxVectorDim {
					return nil, fail(line, "header %q: want a word count >= 1 and a dimension in [1, %d]", text, MaxVectorDim)
				}
				headerWords, v.Dim = n, d
				// The header is untrusted: cap the preallocation.
				v.data = make([]float32, 0, min(n, maxWords, 1<<14)*d)
				continue
			}
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		text = strings.TrimLeft(text, " \t")
		word, rest := text, ""
		if i := strings.IndexAny(text, " \t"); i >= 0 {
			word, rest = text[:i], text[i+1:]
		}
		if !utf8.ValidString(word) {
			return nil, fail(line, "word is not valid UTF-8")
		}
		_, dup := v.index[word]
		n := 0
		for f := range strings.FieldsFuncSeq(rest, isFieldSep) {
			n++
			if v.Dim > 0 && n > v.Dim {
				continue // only counted, for the error below
			}
			if v.Dim == 0 && n > MaxVectorDim {
				return nil, fail(line, "more than %d values", MaxVectorDim)
			}
			x, err := strconv.ParseFloat(f, 32)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return nil, fail(line, "value %d: %.40q is not a number", n, f)
			}
			// ErrRange means the value overflows float32 (it is then ±Inf).
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fail(line, "value %d: %.40q is not a finite float32", n, f)
			}
			if !dup {
				v.data = append(v.data, float32(x))
			}
		}
		switch {
		case n == 0:
			return nil, fail(line, "word %.40q has no values", word)
		case v.Dim == 0:
			v.Dim, dimLine = n, line // GloVe: the first vector sets the dimension
		case n != v.Dim:
			what := fmt.Sprintf("line %d has", dimLine)
			if headerWords >= 0 {
				what = "header says"
			}
			return nil, fail(line, "word %.40q: wrong number of values: %d, %s %d", word, n, what, v.Dim)
		}
		rows++
		if dup {
			continue
		}
		// The word is a substring of the line: clone it so the line,
		// values and all, can be freed.
		word = strings.Clone(word)
		v.index[word] = int32(len(v.Words))
		v.Words = append(v.Words, word)
		if len(v.Words) == maxWords {
			return v.trim(), nil
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fail(line+1, "line longer than %d bytes", MaxVectorLineBytes)
		}
		return nil, fmt.Errorf("read vectors %s: %w", name, err)
	}
	if len(v.Words) == 0 {
		return nil, fail(max(line, 1), "no vectors")
	}
	if headerWords >= 0 && rows != headerWords {
		return nil, fail(1, "header says %d words, file has %d", headerWords, rows)
	}
	return v.trim(), nil
}

// trim drops the spare capacity append left, up to half the matrix.
func (v *Vectors) trim() *Vectors {
	if cap(v.data)-len(v.data) > len(v.data)/8 {
		v.data = slices.Clone(v.data)
	}
	return v
}

func isFieldSep(r rune) bool { return r == ' ' || r == '\t' }

// vectorHeader parses fastText's "N D" header line.
func vectorHeader(s string) (n, d int, ok bool) {
	a, b, found := strings.Cut(s, " ")
	if !found {
		return 0, 0, false
	}
	n, err1 := strconv.Atoi(strings.TrimSpace(a))
	d, err2 := strconv.Atoi(strings.TrimSpace(b))
	return n, d, err1 == nil && err2 == nil
}
