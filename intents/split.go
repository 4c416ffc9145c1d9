package intents

import (
	"math/rand/v2"
)

// NewRand returns the deterministic generator every model uses: the
// same seed gives the same model.
func NewRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed_0f_9a41e7)) }

// Split holds out about frac of each label's examples (at least one
// from labels with two or more), chosen at random with seed. Labels
// keep their order of first appearance, so results are deterministic.
func Split(d Dataset, frac float64, seed uint64) (train, held Dataset) {
	train, held = Dataset{Name: d.Name}, Dataset{Name: d.Name + " (held out)"}
	r := NewRand(seed)
	for _, idx := range byLabel(d) {
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		n := int(float64(len(idx))*frac + 0.5)
		if n == 0 && len(idx) >= 2 && frac > 0 {
			n = 1
		}
		for k, i := range idx {
			if k < n {
				held.Examples = append(held.Examples, d.Examples[i])
			} else {
				train.Examples = append(train.Examples, d.Examples[i])
			}
		}
	}
	return train, held
}

// Folds splits d into k stratified folds and returns, for each, the
// training part and the held-out fold.
func Folds(d Dataset, k int, seed uint64) (train, test []Dataset) {
	fold := make([]int, len(d.Examples))
	r := NewRand(seed)
	next := 0
	for _, idx := range byLabel(d) {
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx {
			fold[i] = next % k
			next++
		}
	}
	train, test = make([]Dataset, k), make([]Dataset, k)
	for f := range k {
		train[f].Name, test[f].Name = d.Name, d.Name
		for i, e := range d.Examples {
			if fold[i] == f {
				test[f].Examples = append(test[f].Examples, e)
			} else {
				train[f].Examples = append(train[f].Examples, e)
			}
		}
	}
	return train, test
}

func byLabel(d Dataset) [][]int {
	pos := map[string]int{}
	var groups [][]int
	for i, e := range d.Examples {
		g, ok := pos[e.Label]
		if !ok {
			g = len(groups)
			pos[e.Label] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

// LabelIndex maps labels to their positions.
func LabelIndex(labels []string) map[string]int {
	m := make(map[string]int, len(labels))
	for i, l := range labels {
		m[l] = i
	}
	return m
}
