package conversion_test

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/parley-chat/parley/crm/conversion"
)

func TestReadCSV(t *testing.T) {
	raw, err := os.ReadFile("testdata/leads.csv")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		input string
		opts  conversion.CSVOptions
		names []string
		x     [][]float64
		y     []bool
	}{
		{
			name: "one-hot and drop", input: string(raw),
			opts:  conversion.CSVOptions{Target: "converted", Drop: []string{"source"}},
			names: []string{"age", "plan=free", "plan=pro", "plan=team", "visits"},
			x:     [][]float64{{34, 0, 1, 0, 12}, {51, 1, 0, 0, 3}, {27, 0, 1, 0, 7}, {45, 0, 0, 1, 0}},
			y:     []bool{T, F, T, F},
		},
		{
			name: "numeric column forced categorical", input: string(raw),
			opts:  conversion.CSVOptions{Target: "converted", Drop: []string{"source", "plan", "age"}, Categorical: []string{"visits"}},
			names: []string{"visits=0", "visits=12", "visits=3", "visits=7"},
			x:     [][]float64{{0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}, {1, 0, 0, 0}},
			y:     []bool{T, F, T, F},
		},
		{
			name: "CRLF, BOM, spaces", input: "\ufeffa , y\r\n 1.5 ,yes\r\n-2,No\r\n",
			opts:  conversion.CSVOptions{Target: "y"},
			names: []string{"a"}, x: [][]float64{{1.5}, {-2}}, y: []bool{T, F},
		},
		{
			name: "unlabelled", input: "a,b\n1,u\n2,v\n",
			names: []string{"a", "b=u", "b=v"}, x: [][]float64{{1, 1, 0}, {2, 0, 1}},
		},
		{
			name: "numbers mixed with words are categorical", input: "a,y\n1,yes\nunknown,no\n",
			opts:  conversion.CSVOptions{Target: "y"},
			names: []string{"a=1", "a=unknown"}, x: [][]float64{{1, 0}, {0, 1}}, y: []bool{T, F},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := conversion.ReadCSV(strings.NewReader(tt.input), "in.csv", tt.opts)
			if err != nil {
				t.Fatalf("ReadCSV(%q): %v", tt.input, err)
			}
			if !slices.Equal(d.Names, tt.names) || !slices.EqualFunc(d.X, tt.x, slices.Equal) || !slices.Equal(d.Y, tt.y) {
				t.Errorf("ReadCSV(%q, %+v)\n = %q %v %v\nwant %q %v %v", tt.input, tt.opts, d.Names, d.X, d.Y, tt.names, tt.x, tt.y)
			}
			if err := d.Validate(); err != nil {
				t.Errorf("dataset does not validate: %v", err)
			}
		})
	}
}

func TestReadCSVErrors(t *testing.T) {
	target := conversion.CSVOptions{Target: "y"}
	tests := []struct {
		name  string
		input string
		opts  conversion.CSVOptions
		want  string // the error starts with this
	}{
		{"empty file", "", target, "in.csv: "},
		{"no target column", "a,b\n1,2\n", target, "in.csv:1: "},
		{"unknown column to drop", "a,y\n1,yes\n", conversion.CSVOptions{Target: "y", Drop: []string{"b"}}, "in.csv:1: "},
		{"dropping the target", "a,y\n1,yes\n", conversion.CSVOptions{Target: "y", Drop: []string{"y"}}, "in.csv:1: "},
		{"unknown categorical column", "a,y\n1,yes\n", conversion.CSVOptions{Target: "y", Categorical: []string{"c"}}, "in.csv:1: "},
		{"duplicate column", "a,a,y\n1,2,yes\n", target, "in.csv:1: "},
		{"unnamed column", "a,,y\n1,2,yes\n", target, "in.csv:1: "},
		{"no features", "y\nyes\n", target, "in.csv:1: "},
		{"short row", "a,b,y\n1,2,yes\n3,no\n", target, "in.csv:3: "},
		{"long row", "a,y\n1,yes\n2,no,3\n", target, "in.csv:3: "},
		{"row after a quoted newline", "a,b,y\n1,\"x\ny\",yes\n2,no\n", target, "in.csv:4: "},
		{"bad target", "a,y\n1,yes\n2,maybe\n", target, "in.csv:3: "},
		{"empty target", "a,y\n1,\n", target, "in.csv:2: "},
		{"empty number", "a,b,y\n1,2,yes\n,3,no\n", target, "in.csv:3: "},
		{"NaN", "a,y\n1,yes\nNaN,no\n", target, "in.csv:3: "},
		{"Inf", "a,y\n1,yes\n-Inf,no\n", target, "in.csv:3: "},
		{"huge number", "a,y\n1,yes\n1e999,no\n", target, "in.csv:3: "},
		{"bare quote", "a,y\n1,yes\n2\"x,no\n", target, "in.csv:3: "},
		{"too many rows", "a,y\n1,yes\n2,no\n3,no\n", conversion.CSVOptions{Target: "y", MaxRows: 2}, "in.csv:4: "},
		{"too many categories", "a,y\nu,yes\nv,no\nw,no\n", conversion.CSVOptions{Target: "y", MaxCategories: 2}, "in.csv:4: "},
		{"too many bytes", "a,y\n1,yes\n2,no\n", conversion.CSVOptions{Target: "y", MaxBytes: 8}, "read in.csv: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := conversion.ReadCSV(strings.NewReader(tt.input), "in.csv", tt.opts)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !errors.Is(err, conversion.ErrInvalidData) {
				t.Errorf("ReadCSV(%q) = %d rows, %v; want an ErrInvalidData error starting %q", tt.input, d.Len(), err, tt.want)
			}
		})
	}
}

func FuzzReadCSV(f *testing.F) {
	raw, err := os.ReadFile("testdata/leads.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(raw))
	f.Add("a,y\n1,yes\n\"2\",no\n")
	f.Add("a,b,y\r\n1,,yes\r\nx,2,no\r\n")
	f.Fuzz(func(t *testing.T, input string) {
		d, err := conversion.ReadCSV(strings.NewReader(input), "fuzz.csv", conversion.CSVOptions{Target: "y", MaxRows: 1000})
		if err != nil {
			return
		}
		if err := d.Validate(); err != nil {
			t.Errorf("ReadCSV(%q) returned an invalid dataset: %v", input, err)
		}
	})
}
