package forest

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/parley-chat/parley/nlp"
)

// mustMatrix builds training data from the columns present in each row
// (value 1) and the rows' classes.
func mustMatrix(tb testing.TB, rows [][]int32, y []int32, dim, nClass int) *matrix {
	tb.Helper()
	fs := make([]nlp.Features, len(rows))
	for i, cols := range rows {
		for k, c := range cols {
			if c < 0 || int(c) >= dim || k > 0 && c <= cols[k-1] {
				tb.Fatalf("row %d: columns %v not increasing in [0, %d)", i, cols, dim)
			}
			fs[i].Idx = append(fs[i].Idx, c)
			fs[i].Val = append(fs[i].Val, 1)
		}
	}
	return newMatrix(fs, y, dim, nClass)
}

// mustBuilder returns a builder over x with the given row weights (nil:
// all 1) that tries every column at each split.
func mustBuilder(tb testing.TB, x *matrix, w []float64, minLeaf int) *builder {
	tb.Helper()
	b := newBuilder(x, params{minLeaf: float64(minLeaf), maxFeatures: x.dim})
	for i := range b.w {
		b.w[i] = 1
		if w != nil {
			b.w[i] = w[i]
		}
	}
	b.reset(rand.New(rand.NewPCG(1, 2)))
	return b
}

func TestBestSplit(t *testing.T) {
	tests := []struct {
		name    string
		rows    [][]int32
		y       []int32
		w       []float64
		minLeaf int
		want    int32 // -1: no split
		wantImp float64
	}{
		{
			name: "separable",
			// Column 0 holds exactly class 0; columns 1 and 2 mix.
			rows: [][]int32{{0, 1}, {0}, {1, 2}, {}},
			y:    []int32{0, 0, 1, 1},
			want: 0, wantImp: 0,
		},
		{
			name: "best of impure",
			// Column 1 isolates one class-1 row (impurity 4/3); column 0
			// splits into two mixed pairs (impurity 2).
			rows: [][]int32{{0}, {0}, {1}, {}},
			y:    []int32{0, 1, 1, 0},
			want: 1, wantImp: 4.0 / 3,
		},
		{
			name: "weights decide",
			// As above, but bootstrap weights make column 0 better:
			// 1.5+1.5 against 0+7-(16+9)/7.
			rows: [][]int32{{0}, {0}, {1}, {}},
			y:    []int32{0, 1, 1, 0},
			w:    []float64{1, 3, 1, 3},
			want: 0, wantImp: 3,
		},
		{
			name: "constant column",
			// Every row has column 0: it cannot split.
			rows: [][]int32{{0}, {0}, {0}},
			y:    []int32{0, 1, 0},
			want: -1,
		},
		{
			name:    "min leaf",
			rows:    [][]int32{{0}, {}, {}, {}},
			y:       []int32{0, 1, 1, 1},
			minLeaf: 2,
			want:    -1,
		},
		{
			name:    "min leaf met",
			rows:    [][]int32{{0}, {}, {}, {}},
			y:       []int32{0, 1, 1, 1},
			minLeaf: 1,
			want:    0, wantImp: 0,
		},
		{
			name: "three classes",
			// Column 2 separates class 2 from classes 0 and 1:
			// 0 + 4-(4+4)/4 = 2; column 0 leaves class 2 mixed.
			rows: [][]int32{{0}, {0}, {1}, {1}, {0, 2}, {2}},
			y:    []int32{0, 0, 1, 1, 2, 2},
			want: 2, wantImp: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := mustMatrix(t, tt.rows, tt.y, 3, 3)
			b := mustBuilder(t, x, tt.w, max(tt.minLeaf, 1))
			n, _ := b.count(0, len(b.rows))
			s, ok := b.bestSplit(0, len(b.rows), n)
			if tt.want < 0 {
				if ok {
					t.Fatalf("bestSplit(%v, %v) = column %d, want no split", tt.rows, tt.y, s.feature)
				}
				return
			}
			if !ok || s.feature != tt.want || math.Abs(s.impurity-tt.wantImp) > 1e-9 {
				t.Errorf("bestSplit(%v, %v) = column %d impurity %v (ok %v), want column %d impurity %v",
					tt.rows, tt.y, s.feature, s.impurity, ok, tt.want, tt.wantImp)
			}
		})
	}
}

func TestSampleByColumnsMatchesRows(t *testing.T) {
	// Both ways of drawing candidates must find the same columns (all
	// but the constant column 5) with the same class weights.
	x := mustMatrix(t, [][]int32{{0, 3, 5}, {1, 3, 5}, {0, 2, 3, 5}, {2, 3, 5}, {4, 5}}, []int32{0, 1, 0, 1, 2}, 6, 3)
	b := mustBuilder(t, x, []float64{2, 1, 1, 3, 1}, 1)
	byRows := map[int32][]float64{}
	b.sampleByRows(0, len(b.rows), x.dim)
	for j, f := range b.cands {
		byRows[f] = append([]float64(nil), b.counts[j*3:(j+1)*3]...)
	}
	if !b.sampleByColumns(0, len(b.rows), len(byRows), 1<<20) {
		t.Fatalf("sampleByColumns gave up with an unlimited budget")
	}
	if len(b.cands) != len(byRows) {
		t.Fatalf("sampleByColumns found %v, sampleByRows %v", b.cands, byRows)
	}
	for j, f := range b.cands {
		got, want := b.counts[j*3:(j+1)*3], byRows[f]
		for c := range got {
			if got[c] != want[c] {
				t.Errorf("column %d: class weights by columns %v, by rows %v", f, got, want)
				break
			}
		}
	}
	if _, ok := byRows[5]; ok || len(byRows) != 5 {
		t.Errorf("candidates %v, want columns 0-4 (5 is constant)", b.cands)
	}
}

func TestGrow(t *testing.T) {
	rows := [][]int32{{0, 1}, {0}, {1, 2}, {2}, {3}, {3, 4}, {4}, {}}
	y := []int32{0, 0, 1, 1, 2, 2, 0, 1}
	tests := []struct {
		name      string
		maxDepth  int
		wantFit   bool // every training row reaches a leaf of its class
		wantDepth int  // 0: any
	}{
		{name: "unlimited", wantFit: true},
		{name: "stump", maxDepth: 1, wantDepth: 1},
		{name: "depth 2", maxDepth: 2, wantDepth: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := mustMatrix(t, rows, y, 5, 3)
			b := mustBuilder(t, x, nil, 1)
			b.p.maxDepth = tt.maxDepth
			tr := b.grow(rand.New(rand.NewPCG(3, 4)))
			if err := tr.check(x.dim, x.nClass); err != nil {
				t.Fatalf("grown tree fails check: %v", err)
			}
			for i, n := range tr.nodes {
				if n.feature >= 0 && n.left != int32(i+1) {
					t.Errorf("node %d: left child %d, want %d (preorder)", i, n.left, i+1)
				}
			}
			if d := depth(tr, 0); tt.wantDepth > 0 && d > tt.wantDepth {
				t.Errorf("depth %d, want <= %d", d, tt.wantDepth)
			}
			if !tt.wantFit {
				return
			}
			dense := make([]float32, x.dim)
			for i, cols := range rows {
				for _, c := range cols {
					dense[c] = 1
				}
				votes := make([]float64, x.nClass)
				tr.vote(tr.leaf(0, dense), votes)
				if votes[y[i]] != 1 {
					t.Errorf("row %d %v (class %d): leaf votes %v, want all for its class", i, cols, y[i], votes)
				}
				clear(dense)
			}
		})
	}
}

func depth(tr *trees, n int32) int {
	nd := tr.nodes[n]
	if nd.feature < 0 {
		return 0
	}
	return 1 + max(depth(tr, nd.left), depth(tr, nd.right))
}
