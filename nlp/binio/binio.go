// Package binio reads and writes the little-endian binary payloads of
// Parley's model artifacts. Model files are untrusted input, so every
// read of a length is checked against a caller-given bound before
// anything is allocated, and errors are sticky: after the first failure
// every call is a no-op and Err reports it. Nothing here panics on input.
package binio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// ErrTooLarge means a length in the input exceeds the bound the caller
// allowed for it: the file is corrupt or not what it claims to be.
var ErrTooLarge = errors.New("length exceeds bound")

// Writer writes binary values; check Err (or the result of Flush) once
// at the end.
type Writer struct {
	w   *bufio.Writer
	n   int64
	err error
	buf [8]byte
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriter(w)} }

func (w *Writer) write(p []byte) {
	if w.err != nil {
		return
	}
	n, err := w.w.Write(p)
	w.n += int64(n)
	w.err = err
}

// U8 writes one byte.
func (w *Writer) U8(v uint8) { w.buf[0] = v; w.write(w.buf[:1]) }

// U32 writes a uint32.
func (w *Writer) U32(v uint32) { binary.LittleEndian.PutUint32(w.buf[:4], v); w.write(w.buf[:4]) }

// U64 writes a uint64.
func (w *Writer) U64(v uint64) { binary.LittleEndian.PutUint64(w.buf[:8], v); w.write(w.buf[:8]) }

// Int writes an int as an int64.
func (w *Writer) Int(v int) { w.U64(uint64(int64(v))) }

// F32 writes a float32.
func (w *Writer) F32(v float32) { w.U32(math.Float32bits(v)) }

// F64 writes a float64.
func (w *Writer) F64(v float64) { w.U64(math.Float64bits(v)) }

// Bytes writes a length-prefixed byte slice.
func (w *Writer) Bytes(p []byte) { w.U32(uint32(len(p))); w.write(p) }

// String writes a length-prefixed string.
func (w *Writer) String(s string) { w.Bytes([]byte(s)) }

// Strings writes a length-prefixed list of strings.
func (w *Writer) Strings(ss []string) {
	w.U32(uint32(len(ss)))
	for _, s := range ss {
		w.String(s)
	}
}

// F32s writes a length-prefixed []float32.
func (w *Writer) F32s(v []float32) {
	w.U32(uint32(len(v)))
	for _, x := range v {
		w.F32(x)
	}
}

// F64s writes a length-prefixed []float64.
func (w *Writer) F64s(v []float64) {
	w.U32(uint32(len(v)))
	for _, x := range v {
		w.F64(x)
	}
}

// I32s writes a length-prefixed []int32.
func (w *Writer) I32s(v []int32) {
	w.U32(uint32(len(v)))
	for _, x := range v {
		w.U32(uint32(x))
	}
}

// Flush writes buffered data and returns the first error.
func (w *Writer) Flush() error {
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

// N returns the number of bytes written so far.
func (w *Writer) N() int64 { return w.n }

// Err returns the first error.
func (w *Writer) Err() error { return w.err }

// Reader reads what Writer wrote.
type Reader struct {
	r   io.Reader
	err error
	buf [8]byte
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Err returns the first error; a short input is io.ErrUnexpectedEOF.
func (r *Reader) Err() error { return r.err }

// Fail records err (the first one wins), for validation done by callers.
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *Reader) read(p []byte) bool {
	if r.err != nil {
		return false
	}
	if _, err := io.ReadFull(r.r, p); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		r.err = err
		return false
	}
	return true
}

// U8 reads one byte.
func (r *Reader) U8() uint8 {
	if !r.read(r.buf[:1]) {
		return 0
	}
	return r.buf[0]
}

// U32 reads a uint32.
func (r *Reader) U32() uint32 {
	if !r.read(r.buf[:4]) {
		return 0
	}
	return binary.LittleEndian.Uint32(r.buf[:4])
}

// U64 reads a uint64.
func (r *Reader) U64() uint64 {
	if !r.read(r.buf[:8]) {
		return 0
	}
	return binary.LittleEndian.Uint64(r.buf[:8])
}

// Int reads an int written by Writer.Int and checks 0 <= v <= max.
func (r *Reader) Int(max int) int {
	v := int64(r.U64())
	if r.err == nil && (v < 0 || v > int64(max)) {
		r.err = fmt.Errorf("integer %d out of range [0, %d]", v, max)
		return 0
	}
	return int(v)
}

// F32 reads a float32.
func (r *Reader) F32() float32 { return math.Float32frombits(r.U32()) }

// F64 reads a float64.
func (r *Reader) F64() float64 { return math.Float64frombits(r.U64()) }

// Len reads a length prefix and checks it against max.
func (r *Reader) Len(max int) int {
	n := r.U32()
	if r.err == nil && int64(n) > int64(max) {
		r.err = fmt.Errorf("%w: %d > %d", ErrTooLarge, n, max)
		return 0
	}
	return int(n)
}

// Bytes reads a length-prefixed byte slice of at most max bytes.
func (r *Reader) Bytes(max int) []byte {
	n := r.Len(max)
	if r.err != nil {
		return nil
	}
	// Grow with what was actually read, as F32s does: a forged length
	// must not allocate up to max before the input runs out.
	p := make([]byte, 0, min(n, chunk))
	for len(p) < n && r.err == nil {
		k := min(n-len(p), chunk)
		p = slices.Grow(p, k)[:len(p)+k]
		r.read(p[len(p)-k:])
	}
	if r.err != nil {
		return nil
	}
	return p
}

// String reads a length-prefixed string of at most max bytes.
func (r *Reader) String(max int) string { return string(r.Bytes(max)) }

// Strings reads a list of at most maxN strings of at most maxLen bytes.
func (r *Reader) Strings(maxN, maxLen int) []string {
	n := r.Len(maxN)
	if r.err != nil {
		return nil
	}
	ss := make([]string, 0, min(n, chunk/16)) // as in Bytes: not more than the input backs
	for i := 0; i < n && r.err == nil; i++ {
		ss = append(ss, r.String(maxLen))
	}
	return ss
}

// chunk bounds how much is allocated before the bytes behind it have
// been read, so a forged length cannot allocate more than the input
// actually holds (plus one chunk).
const chunk = 1 << 16

// F32s reads a []float32 of at most max elements.
func (r *Reader) F32s(max int) []float32 {
	n := r.Len(max)
	v := make([]float32, 0, min(n, chunk))
	for i := 0; i < n && r.err == nil; i++ {
		v = append(v, r.F32())
	}
	if r.err != nil {
		return nil
	}
	return v
}

// F64s reads a []float64 of at most max elements.
func (r *Reader) F64s(max int) []float64 {
	n := r.Len(max)
	v := make([]float64, 0, min(n, chunk))
	for i := 0; i < n && r.err == nil; i++ {
		v = append(v, r.F64())
	}
	if r.err != nil {
		return nil
	}
	return v
}

// I32s reads a []int32 of at most max elements.
func (r *Reader) I32s(max int) []int32 {
	n := r.Len(max)
	v := make([]int32, 0, min(n, chunk))
	for i := 0; i < n && r.err == nil; i++ {
		v = append(v, int32(r.U32()))
	}
	if r.err != nil {
		return nil
	}
	return v
}
