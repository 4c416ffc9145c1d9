package training

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Occurrence is one example of a check report: its text, label and origin.
type Occurrence struct {
	Text   string `json:"text"`
	Label  string `json:"label"`
	Origin Origin `json:"origin"`
}

func (o Occurrence) String() string { return fmt.Sprintf("%s (%s)", o.Origin, o.Label) }

// Repeat is a text that occurs more than once (same normalized text).
type Repeat struct {
	Text        string       `json:"text"`
	Occurrences []Occurrence `json:"occurrences"`
}

// NearDuplicate is a pair of different texts with the same words (see
// Similarity): A comes first in the set.
type NearDuplicate struct {
	A          Occurrence `json:"a"`
	B          Occurrence `json:"b"`
	Similarity float64    `json:"similarity"`
}

// CheckReport lists what Check found.
type CheckReport struct {
	Name     string         `json:"name"`
	Examples int            `json:"examples"`
	Counts   map[string]int `json:"counts"`
	// Conflicts give one normalized text different labels: at least one
	// is wrong, and the model cannot learn both.
	Conflicts []Repeat `json:"conflicts,omitempty"`
	// Duplicates repeat a text with the same label.
	Duplicates []Repeat `json:"duplicates,omitempty"`
	// NearConflicts are near-duplicates with different labels: the
	// likeliest mistakes (or a line between intents worth a look).
	NearConflicts []NearDuplicate `json:"near_conflicts,omitempty"`
	// NearDuplicates are near-duplicates with the same label: harmless
	// but redundant.
	NearDuplicates []NearDuplicate `json:"near_duplicates,omitempty"`
}

// Check finds conflicting labels and near-duplicate utterances in s:
// exact repeats of a normalized text (as intents.Check), and pairs of
// different texts whose word sets are at least Similarity alike — the
// threshold the inbox groups by. Each finding names its examples'
// origins (file:line or label id).
func Check(s Set) CheckReport {
	d := s.Dataset
	rep := CheckReport{Name: d.Name, Examples: len(d.Examples), Counts: map[string]int{}}
	occ := func(i int) Occurrence {
		o := Occurrence{Text: d.Examples[i].Text, Label: d.Examples[i].Label}
		if i < len(s.Origins) {
			o.Origin = s.Origins[i]
		} else {
			o.Origin = Origin{File: d.Name, Line: d.Examples[i].Line}
		}
		return o
	}
	keys := make([]string, len(d.Examples))
	byKey := map[string][]int{}
	var order []string
	for i, e := range d.Examples {
		rep.Counts[e.Label]++
		k := normKey(e.Text)
		keys[i] = k
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], i)
	}
	for _, k := range order {
		idx := byKey[k]
		if len(idx) < 2 {
			continue
		}
		r := Repeat{Text: d.Examples[idx[0]].Text}
		conflict := false
		for _, i := range idx {
			r.Occurrences = append(r.Occurrences, occ(i))
			conflict = conflict || d.Examples[i].Label != d.Examples[idx[0]].Label
		}
		if conflict {
			rep.Conflicts = append(rep.Conflicts, r)
		} else {
			rep.Duplicates = append(rep.Duplicates, r)
		}
	}
	// Near-duplicates among distinct texts: one representative (the
	// first example) per normalized text, exact repeats being reported
	// above.
	reps := make([]int, len(order))
	sets := make([][]string, len(order))
	for j, k := range order {
		reps[j] = byKey[k][0]
		sets[j] = wordSet(d.Examples[reps[j]].Text)
	}
	idx := newSetIndex(sets, Similarity)
	for j := range order {
		ids, sims := idx.similar(sets[j])
		for n, other := range ids {
			a, b := occ(reps[other]), occ(reps[j])
			nd := NearDuplicate{A: a, B: b, Similarity: sims[n]}
			if a.Label != b.Label {
				rep.NearConflicts = append(rep.NearConflicts, nd)
			} else {
				rep.NearDuplicates = append(rep.NearDuplicates, nd)
			}
		}
		idx.add(sets[j])
	}
	byOrder := func(x, y NearDuplicate) int {
		return cmp.Or(cmp.Compare(y.Similarity, x.Similarity), strings.Compare(x.A.Origin.String(), y.A.Origin.String()), strings.Compare(x.B.Origin.String(), y.B.Origin.String()))
	}
	slices.SortStableFunc(rep.NearConflicts, byOrder)
	slices.SortStableFunc(rep.NearDuplicates, byOrder)
	return rep
}

// Problems reports whether the report has conflicts, exact or near: the
// findings an analyst must resolve.
func (r CheckReport) Problems() bool { return len(r.Conflicts)+len(r.NearConflicts) > 0 }

// WriteText prints the report for people; near-duplicates with the same
// label only when all is set (they are many and harmless).
func (r CheckReport) WriteText(w io.Writer, all bool) {
	fmt.Fprintf(w, "%s: %d examples, %d labels, %d conflicts, %d near-conflicts, %d duplicates, %d near-duplicates\n",
		r.Name, r.Examples, len(r.Counts), len(r.Conflicts), len(r.NearConflicts), len(r.Duplicates), len(r.NearDuplicates))
	for _, c := range r.Conflicts {
		fmt.Fprintf(w, "conflict %q:%s\n", c.Text, occurrences(c.Occurrences))
	}
	for _, n := range r.NearConflicts {
		fmt.Fprintf(w, "near-conflict %.2f: %q %s ~ %q %s\n", n.Similarity, n.A.Text, n.A, n.B.Text, n.B)
	}
	if !all {
		return
	}
	for _, c := range r.Duplicates {
		fmt.Fprintf(w, "duplicate %q:%s\n", c.Text, occurrences(c.Occurrences))
	}
	for _, n := range r.NearDuplicates {
		fmt.Fprintf(w, "near-duplicate %.2f: %q %s ~ %q %s\n", n.Similarity, n.A.Text, n.A, n.B.Text, n.B)
	}
}

func occurrences(os []Occurrence) string {
	var b strings.Builder
	for _, o := range os {
		fmt.Fprintf(&b, " %s", o)
	}
	return b.String()
}
