package nlp_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/parley-chat/parley/nlp"
)

func mustReadVectorsFile(tb testing.TB, path string, maxWords int) *nlp.Vectors {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	v, err := nlp.ReadVectors(f, path, maxWords)
	if err != nil {
		tb.Fatalf("ReadVectors(%s): %v", path, err)
	}
	return v
}

func TestReadVectorsFiles(t *testing.T) {
	tests := []struct {
		file     string
		maxWords int
		dim      int
		words    []string
		lookup   map[string][]float32
		missing  []string
	}{
		{
			// fastText: header, trailing space on one line, a duplicate
			// ("the" again: the first vector wins), exponents, non-ASCII.
			file: "../testdata/vectors/tiny.vec", dim: 4,
			words: []string{"the", "order", ",", "straße"},
			lookup: map[string][]float32{
				"the":    {0.1, -0.2, 0.3, 0.4},
				",":      {0.5, 0.5, 0.5, 0.5},
				"straße": {1e-3, -2.5e2, 0, 7},
			},
			missing: []string{"The", "strasse", ""},
		},
		{
			file: "../testdata/vectors/tiny_glove.txt", dim: 3,
			words:  []string{"the", "order", "parcel", "n't"},
			lookup: map[string][]float32{"n't": {-0.1, 0, 1e-5}, "parcel": {0.25, 0.5, -1}},
		},
		{
			// maxWords stops early, keeping the first (most frequent) words.
			file: "../testdata/vectors/tiny_glove.txt", maxWords: 2, dim: 3,
			words: []string{"the", "order"}, missing: []string{"parcel"},
		},
		{
			// Header promises 5 lines but reading stops before the count is checked.
			file: "../testdata/vectors/tiny.vec", maxWords: 3, dim: 4,
			words: []string{"the", "order", ","},
		},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.file, tt.maxWords), func(t *testing.T) {
			v := mustReadVectorsFile(t, tt.file, tt.maxWords)
			if v.Dim != tt.dim || v.Len() != len(tt.words) || !slices.Equal(v.Words, tt.words) {
				t.Errorf("ReadVectors(%s, %d): dim %d words %q, want dim %d words %q", tt.file, tt.maxWords, v.Dim, v.Words, tt.dim, tt.words)
			}
			for w, want := range tt.lookup {
				if got, ok := v.Lookup(w); !ok || !slices.Equal(got, want) {
					t.Errorf("Lookup(%q) = %v, %v; want %v, true", w, got, ok, want)
				}
			}
			for _, w := range tt.missing {
				if got, ok := v.Lookup(w); ok {
					t.Errorf("Lookup(%q) = %v, true; want false", w, got)
				}
			}
			for _, w := range v.Words {
				if got, ok := v.Lookup(w); !ok || len(got) != v.Dim || cap(got) != v.Dim {
					t.Errorf("Lookup(%q) = %d values (cap %d), %v; want %d", w, len(got), cap(got), ok, v.Dim)
				}
			}
		})
	}
}

func TestReadVectorsFormats(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		dim   int
		words []string
	}{
		{"CRLF", "2 2\r\na 1 2\r\nb 3 4\r\n", 2, []string{"a", "b"}},
		{"BOM", "\ufeffa 1 2\nb 3 4\n", 2, []string{"a", "b"}},
		{"Tabs", "a\t1\t2\nb 3\t4\n", 2, []string{"a", "b"}},
		{"BlankLines", "a 1 2\n\n  \nb 3 4", 2, []string{"a", "b"}},
		{"OneDimension", "a 0.5\nb 1\n", 1, []string{"a", "b"}},
		{"HeaderLikeWithHeader", "2 1\n3 4\n5 6\n", 1, []string{"3", "5"}},
		{"DuplicatesKeepFirst", "a 1\nb 2\na 3\n", 1, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := nlp.ReadVectors(strings.NewReader(tt.in), "x.vec", 0)
			if err != nil {
				t.Fatalf("ReadVectors(%q): %v", tt.in, err)
			}
			if v.Dim != tt.dim || !slices.Equal(v.Words, tt.words) {
				t.Errorf("ReadVectors(%q): dim %d words %q, want %d %q", tt.in, v.Dim, v.Words, tt.dim, tt.words)
			}
		})
	}
	v, _ := nlp.ReadVectors(strings.NewReader("a 1\nb 2\na 3\n"), "x.vec", 0)
	if got, _ := v.Lookup("a"); !slices.Equal(got, []float32{1}) {
		t.Errorf("duplicate word: Lookup(a) = %v, want the first vector [1]", got)
	}
}

func TestReadVectorsErrors(t *testing.T) {
	long := "w " + strings.Repeat("0.5 ", nlp.MaxVectorLineBytes/4+1)
	wide := "w" + strings.Repeat(" 1", nlp.MaxVectorDim+1)
	tests := []struct {
		name string
		in   string
		line int
	}{
		{"Empty", "", 1},
		{"HeaderOnly", "3 2\n", 1},
		{"WrongCount", "a 1 2 3\nb 1 2\n", 2},
		{"TooManyValues", "a 1 2\nb 1 2 3\n", 2},
		{"ManyMoreValues", "\n\na 1 2\nb" + strings.Repeat(" 1", 50) + "\n", 4},
		{"NoValues", "a 1\nb\n", 2},
		{"NotANumber", "a 1 2\nb 1 x\n", 2},
		{"Comma", "a 1,5 2\n", 1},
		{"NaN", "a 1 2\nb NaN 2\n", 2},
		{"Inf", "a 1 2\nb 1 -Inf\n", 2},
		{"Overflow", "a 1 2\nb 1e39 0\n", 2},
		{"HeaderDimDisagrees", "2 3\na 1 2 3\nb 1 2\n", 3},
		{"HeaderCountTooHigh", "3 2\na 1 2\nb 1 2\n", 1},
		{"HeaderCountTooLow", "1 2\na 1 2\nb 1 2\n", 1},
		{"HeaderZero", "0 2\n", 1},
		{"HeaderDimTooLarge", "1 1001\n", 1},
		{"DimTooLarge", wide + "\n", 1},
		{"LineTooLong", "a 1\n" + long + "\n", 2},
		{"InvalidUTF8", "a 1\n\xff 2\n", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := nlp.ReadVectors(strings.NewReader(tt.in), "bad.vec", 0)
			var ve *nlp.VectorsError
			if !errors.As(err, &ve) {
				t.Fatalf("ReadVectors(%.40q) = %v, %v; want a *VectorsError", tt.in, v, err)
			}
			if ve.File != "bad.vec" || ve.Line != tt.line || v != nil {
				t.Errorf("ReadVectors(%.40q): error %v, want bad.vec:%d", tt.in, err, tt.line)
			}
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadVectorsReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("a 1 2\n"), errReader{})
	_, err := nlp.ReadVectors(r, "x.vec", 0)
	var ve *nlp.VectorsError
	if err == nil || errors.As(err, &ve) || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("ReadVectors(failing reader) = %v; want the read error, not a format error", err)
	}
}

func FuzzReadVectors(f *testing.F) {
	for _, name := range []string{"../testdata/vectors/tiny.vec", "../testdata/vectors/tiny_glove.txt"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "1 1\na 1\n", "2 1\na 1\na 2\n", "a NaN", "a 1e39", "\ufeff1 1\nx 0x1p-2\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := nlp.ReadVectors(strings.NewReader(string(in)), "fuzz.vec", 64)
		if err != nil {
			var ve *nlp.VectorsError
			if !errors.As(err, &ve) || ve.Line < 1 || v != nil {
				t.Fatalf("ReadVectors(%q) = %v, %v; want nil and a *VectorsError with a line", in, v, err)
			}
			return
		}
		if v.Dim < 1 || v.Dim > nlp.MaxVectorDim || v.Len() < 1 || v.Len() > 64 {
			t.Fatalf("ReadVectors(%q): dim %d, %d words", in, v.Dim, v.Len())
		}
		for _, w := range v.Words {
			if x, ok := v.Lookup(w); !ok || len(x) != v.Dim {
				t.Fatalf("ReadVectors(%q): Lookup(%q) = %v, %v", in, w, x, ok)
			}
		}
	})
}

func BenchmarkReadVectors(b *testing.B) {
	// 2,000 words of 100 values, GloVe's shape.
	var sb strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&sb, "w%d", i)
		for j := range 100 {
			fmt.Fprintf(&sb, " %.5f", float64((i*31+j*17)%1000)/1000-0.5)
		}
		sb.WriteByte('\n')
	}
	data := sb.String()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := nlp.ReadVectors(strings.NewReader(data), "bench.vec", 0); err != nil {
			b.Fatal(err)
		}
	}
}
