package intents_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/parley-chat/parley/intents"
)

// labelled builds a dataset with n[label] examples per label, texts
// unique so examples can be told apart.
func labelled(counts ...any) intents.Dataset {
	d := intents.Dataset{Name: "d"}
	for i := 0; i+1 < len(counts); i += 2 {
		label, n := counts[i].(string), counts[i+1].(int)
		for k := range n {
			d.Examples = append(d.Examples, intents.Example{Text: fmt.Sprintf("%s %d", label, k), Label: label, Line: len(d.Examples) + 2})
		}
	}
	return d
}

func texts(ds ...intents.Dataset) []string {
	var out []string
	for _, d := range ds {
		for _, e := range d.Examples {
			out = append(out, e.Text)
		}
	}
	slices.Sort(out)
	return out
}

func countLabels(d intents.Dataset) map[string]int {
	m := map[string]int{}
	for _, e := range d.Examples {
		m[e.Label]++
	}
	return m
}

func TestSplit(t *testing.T) {
	d := labelled("a", 10, "b", 5, "c", 1, "d", 2)
	train, held := intents.Split(d, 0.2, 1)
	// Per label: round(n*0.2), at least one from labels with two or more.
	wantHeld := map[string]int{"a": 2, "b": 1, "d": 1}
	if got := countLabels(held); !maps.Equal(got, wantHeld) {
		t.Errorf("Split(0.2): held-out labels %v, want %v", got, wantHeld)
	}
	if got, want := texts(train, held), texts(d); !slices.Equal(got, want) {
		t.Errorf("Split: train+held = %q, want every example exactly once %q", got, want)
	}
	train2, held2 := intents.Split(d, 0.2, 1)
	if !slices.Equal(train.Examples, train2.Examples) || !slices.Equal(held.Examples, held2.Examples) {
		t.Errorf("Split with the same seed differs")
	}
	differs := false
	for seed := uint64(2); seed < 6 && !differs; seed++ {
		_, h := intents.Split(d, 0.2, seed)
		differs = !slices.Equal(h.Examples, held.Examples)
	}
	if !differs {
		t.Errorf("Split with seeds 1..5 gives the same held-out set every time")
	}
	if _, h := intents.Split(d, 0, 1); len(h.Examples) != 0 {
		t.Errorf("Split(0) held out %d examples, want 0", len(h.Examples))
	}
	if tr, _ := intents.Split(d, 1, 1); len(tr.Examples) != 0 {
		t.Errorf("Split(1) kept %d training examples, want 0", len(tr.Examples))
	}
}

func TestFolds(t *testing.T) {
	d := labelled("a", 10, "b", 5, "c", 1, "d", 7)
	const k = 3
	train, test := intents.Folds(d, k, 42)
	if len(train) != k || len(test) != k {
		t.Fatalf("Folds(%d) = %d train, %d test sets", k, len(train), len(test))
	}
	if got, want := texts(test...), texts(d); !slices.Equal(got, want) {
		t.Errorf("Folds: test folds together = %q, want every example exactly once %q", got, want)
	}
	for f := range k {
		if got, want := texts(train[f], test[f]), texts(d); !slices.Equal(got, want) {
			t.Errorf("fold %d: train+test = %q, want the dataset, disjoint", f, got)
		}
	}
	// Stratified: each label's examples spread over the folds within one.
	for _, label := range d.Labels() {
		var sizes []int
		for f := range k {
			sizes = append(sizes, countLabels(test[f])[label])
		}
		if slices.Max(sizes)-slices.Min(sizes) > 1 {
			t.Errorf("Folds: label %s spread %v over the folds, want within one", label, sizes)
		}
	}
	train2, test2 := intents.Folds(d, k, 42)
	for f := range k {
		if !slices.Equal(test[f].Examples, test2[f].Examples) || !slices.Equal(train[f].Examples, train2[f].Examples) {
			t.Errorf("Folds with the same seed differ in fold %d", f)
		}
	}
}

func TestLabelIndexGold(t *testing.T) {
	labels := []string{"a", "b", "c"}
	idx := intents.LabelIndex(labels)
	if idx["a"] != 0 || idx["c"] != 2 || len(idx) != 3 {
		t.Errorf("LabelIndex(%q) = %v", labels, idx)
	}
	d := labelled("c", 1, intents.OOS, 1, "a", 1)
	if got, want := intents.Gold(d, labels), []int{2, -1, 0}; !slices.Equal(got, want) {
		t.Errorf("Gold = %v, want %v", got, want)
	}
}
