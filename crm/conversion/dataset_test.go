package conversion_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/parley-chat/parley/crm/conversion"
)

func TestStratifiedSplit(t *testing.T) {
	// 1000 rows, 100 positive; each row's value is its index.
	d := conversion.Dataset{Names: []string{"i"}}
	for i := range 1000 {
		d.X = append(d.X, []float64{float64(i)})
		d.Y = append(d.Y, i%10 == 3)
	}
	train, test, err := conversion.StratifiedSplit(d, 0.2, 7)
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 800 || test.Len() != 200 || train.Positives() != 80 || test.Positives() != 20 {
		t.Errorf("split 1000 rows (100 positive) at 0.2 into %d (%d positive) + %d (%d positive); want 800 (80) + 200 (20)",
			train.Len(), train.Positives(), test.Len(), test.Positives())
	}
	var seen []int
	for _, part := range []conversion.Dataset{train, test} {
		prev := -1
		for k, x := range part.X {
			i := int(x[0])
			if i <= prev {
				t.Fatalf("rows out of order: %d after %d", i, prev)
			}
			if part.Y[k] != d.Y[i] {
				t.Fatalf("row %d lost its label", i)
			}
			prev = i
			seen = append(seen, i)
		}
	}
	slices.Sort(seen)
	if len(slices.Compact(seen)) != 1000 {
		t.Errorf("the parts do not cover each row exactly once")
	}
	_, again, _ := conversion.StratifiedSplit(d, 0.2, 7)
	_, other, _ := conversion.StratifiedSplit(d, 0.2, 8)
	if !slices.EqualFunc(again.X, test.X, slices.Equal) {
		t.Errorf("the same seed gave another split")
	}
	if slices.EqualFunc(other.X, test.X, slices.Equal) {
		t.Errorf("seeds 7 and 8 gave the same split")
	}

	for _, frac := range []float64{-0.1, 1, 2} {
		if _, _, err := conversion.StratifiedSplit(d, frac, 1); !errors.Is(err, conversion.ErrInvalidData) {
			t.Errorf("StratifiedSplit(frac %v) error = %v, want ErrInvalidData", frac, err)
		}
	}
	if _, _, err := conversion.StratifiedSplit(conversion.Dataset{Names: d.Names, X: d.X}, 0.2, 1); !errors.Is(err, conversion.ErrInvalidData) {
		t.Errorf("StratifiedSplit(unlabelled) error = %v, want ErrInvalidData", err)
	}
	// A class of two keeps one example on each side.
	small := conversion.Dataset{Names: d.Names, X: d.X[:10], Y: []bool{T, F, F, F, F, F, F, F, F, T}}
	tr, te, _ := conversion.StratifiedSplit(small, 0.1, 1)
	if tr.Positives() != 1 || te.Positives() != 1 {
		t.Errorf("split of 2 positives at 0.1: %d + %d positives, want 1 + 1", tr.Positives(), te.Positives())
	}
}

func TestHash(t *testing.T) {
	d := linearData(50, 0, []float64{1, 2}, 70)
	h := d.Hash()
	if h != d.Hash() || len(h) != 64 {
		t.Fatalf("Hash = %q, then %q; want a stable 64-digit hex string", h, d.Hash())
	}
	flipped := d
	flipped.Y = slices.Clone(d.Y)
	flipped.Y[3] = !flipped.Y[3]
	renamed := d
	renamed.Names = []string{"xa", "other"}
	for name, e := range map[string]conversion.Dataset{"a flipped label": flipped, "a renamed feature": renamed} {
		if e.Hash() == h {
			t.Errorf("Hash unchanged by %s", name)
		}
	}
}
