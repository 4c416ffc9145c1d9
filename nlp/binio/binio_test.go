package binio_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/parley-chat/parley/nlp/binio"
)

// writeAll writes one value of every kind.
func writeAll(w *binio.Writer) {
	w.U8(7)
	w.U32(0xdeadbeef)
	w.U64(1 << 40)
	w.Int(-1 & math.MaxInt64)
	w.Int(42)
	w.F32(1.5)
	w.F64(-2.25)
	w.Bytes([]byte("raw"))
	w.String("héllo")
	w.Strings([]string{"a", "", "ccc"})
	w.F32s([]float32{1, 2, 3})
	w.F64s([]float64{0.5})
	w.I32s([]int32{-1, 0, 1})
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := binio.NewWriter(&buf)
	writeAll(w)
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if w.N() != int64(buf.Len()) || w.Err() != nil {
		t.Fatalf("N() = %d, Err() = %v; wrote %d bytes", w.N(), w.Err(), buf.Len())
	}
	r := binio.NewReader(&buf)
	check := func(what string, got, want any) {
		t.Helper()
		if !equal(got, want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("U8", r.U8(), uint8(7))
	check("U32", r.U32(), uint32(0xdeadbeef))
	check("U64", r.U64(), uint64(1<<40))
	check("Int", r.Int(math.MaxInt64), math.MaxInt64)
	check("Int", r.Int(42), 42)
	check("F32", r.F32(), float32(1.5))
	check("F64", r.F64(), -2.25)
	check("Bytes", string(r.Bytes(3)), "raw")
	check("String", r.String(100), "héllo")
	check("Strings", r.Strings(3, 3), []string{"a", "", "ccc"})
	check("F32s", r.F32s(3), []float32{1, 2, 3})
	check("F64s", r.F64s(1), []float64{0.5})
	check("I32s", r.I32s(3), []int32{-1, 0, 1})
	if err := r.Err(); err != nil {
		t.Fatalf("Err() = %v", err)
	}
	if r.U8(); !errors.Is(r.Err(), io.ErrUnexpectedEOF) {
		t.Errorf("reading past the end: Err() = %v, want %v", r.Err(), io.ErrUnexpectedEOF)
	}
}

func equal(a, b any) bool {
	switch a := a.(type) {
	case []string:
		return slices.Equal(a, b.([]string))
	case []float32:
		return slices.Equal(a, b.([]float32))
	case []float64:
		return slices.Equal(a, b.([]float64))
	case []int32:
		return slices.Equal(a, b.([]int32))
	}
	return a == b
}

func TestReaderBounds(t *testing.T) {
	encode := func(f func(w *binio.Writer)) []byte {
		var buf bytes.Buffer
		w := binio.NewWriter(&buf)
		f(w)
		w.Flush()
		return buf.Bytes()
	}
	// A length prefix claiming 2^30 elements followed by a few bytes: the
	// reader must fail on the bound or on the missing bytes, without
	// allocating for the claim.
	forged := encode(func(w *binio.Writer) { w.U32(1 << 30); w.U32(1) })
	tests := []struct {
		name string
		in   []byte
		read func(r *binio.Reader)
		want error
	}{
		{"BytesTooLarge", encode(func(w *binio.Writer) { w.Bytes(make([]byte, 10)) }), func(r *binio.Reader) { r.Bytes(9) }, binio.ErrTooLarge},
		{"StringTooLarge", encode(func(w *binio.Writer) { w.String("abcdef") }), func(r *binio.Reader) { r.String(5) }, binio.ErrTooLarge},
		{"StringsTooMany", encode(func(w *binio.Writer) { w.Strings([]string{"a", "b"}) }), func(r *binio.Reader) { r.Strings(1, 10) }, binio.ErrTooLarge},
		{"StringsTooLong", encode(func(w *binio.Writer) { w.Strings([]string{"a", "bbbb"}) }), func(r *binio.Reader) { r.Strings(2, 3) }, binio.ErrTooLarge},
		{"F32sTooLarge", encode(func(w *binio.Writer) { w.F32s(make([]float32, 4)) }), func(r *binio.Reader) { r.F32s(3) }, binio.ErrTooLarge},
		{"F64sTooLarge", encode(func(w *binio.Writer) { w.F64s(make([]float64, 4)) }), func(r *binio.Reader) { r.F64s(3) }, binio.ErrTooLarge},
		{"I32sTooLarge", encode(func(w *binio.Writer) { w.I32s(make([]int32, 4)) }), func(r *binio.Reader) { r.I32s(3) }, binio.ErrTooLarge},
		{"ForgedF32s", forged, func(r *binio.Reader) { r.F32s(math.MaxInt32) }, io.ErrUnexpectedEOF},
		{"ForgedF64s", forged, func(r *binio.Reader) { r.F64s(math.MaxInt32) }, io.ErrUnexpectedEOF},
		{"ForgedI32s", forged, func(r *binio.Reader) { r.I32s(math.MaxInt32) }, io.ErrUnexpectedEOF},
		{"ForgedBytes", forged, func(r *binio.Reader) { r.Bytes(math.MaxInt32) }, io.ErrUnexpectedEOF},
		{"ForgedStrings", forged, func(r *binio.Reader) { r.Strings(math.MaxInt32, 10) }, io.ErrUnexpectedEOF},
		{"ForgedBound", forged, func(r *binio.Reader) { r.F32s(1 << 20) }, binio.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r := binio.NewReader(bytes.NewReader(tt.in))
			tt.read(r)
			runtime.ReadMemStats(&after)
			if !errors.Is(r.Err(), tt.want) {
				t.Errorf("Err() = %v, want %v", r.Err(), tt.want)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("allocated %d bytes reading %d bytes of input", n, len(tt.in))
			}
		})
	}
}

func TestReaderInt(t *testing.T) {
	tests := []struct {
		v, max int
		ok     bool
	}{
		{0, 0, true},
		{5, 5, true},
		{6, 5, false},
		{-1, 5, false},
		{math.MinInt64, math.MaxInt64, false},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		w := binio.NewWriter(&buf)
		w.Int(tt.v)
		w.Flush()
		r := binio.NewReader(&buf)
		got := r.Int(tt.max)
		if ok := r.Err() == nil; ok != tt.ok || (ok && got != tt.v) {
			t.Errorf("Int(%d) of %d = %d, err %v; want ok %v", tt.max, tt.v, got, r.Err(), tt.ok)
		}
	}
}

func TestReaderTruncated(t *testing.T) {
	var buf bytes.Buffer
	w := binio.NewWriter(&buf)
	writeAll(w)
	w.Flush()
	full := buf.Bytes()
	for n := range len(full) {
		r := binio.NewReader(bytes.NewReader(full[:n]))
		r.U8()
		r.U32()
		r.U64()
		r.Int(math.MaxInt64)
		r.Int(42)
		r.F32()
		r.F64()
		r.Bytes(3)
		r.String(100)
		r.Strings(3, 3)
		r.F32s(3)
		r.F64s(1)
		got := r.I32s(3)
		if !errors.Is(r.Err(), io.ErrUnexpectedEOF) || got != nil {
			t.Fatalf("reading the first %d of %d bytes: last value %v, Err() = %v; want nil, %v", n, len(full), got, r.Err(), io.ErrUnexpectedEOF)
		}
	}
}

func TestReaderSticky(t *testing.T) {
	r := binio.NewReader(bytes.NewReader([]byte{1, 2, 3, 4, 5, 6, 7, 8}))
	first := errors.New("invalid field")
	r.Fail(first)
	r.Fail(errors.New("second"))
	if got := r.U32(); got != 0 || r.Err() != first {
		t.Errorf("after Fail: U32() = %d, Err() = %v; want 0, %v", got, r.Err(), first)
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.after {
		n := f.after
		f.after = 0
		return n, errors.New("disk full")
	}
	f.after -= len(p)
	return len(p), nil
}

func TestWriterError(t *testing.T) {
	w := binio.NewWriter(&failWriter{after: 10})
	for range 10000 { // more than bufio's buffer, so writes reach the failing writer
		w.U64(1)
	}
	if err := w.Flush(); err == nil || w.Err() != err {
		t.Errorf("Flush() = %v, Err() = %v; want the writer's error from both", err, w.Err())
	}
}
