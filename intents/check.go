package intents

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/parley-chat/parley/nlp"
)

// Occurrence is one place an utterance appears.
type Occurrence struct {
	Label string
	Line  int
}

// Repeat is an utterance that appears more than once (compared after
// normalization and case folding).
type Repeat struct {
	Text        string
	Occurrences []Occurrence
}

// Report lists problems found in a dataset by Check.
type Report struct {
	Name string
	// Duplicates repeat an utterance with the same label.
	Duplicates []Repeat
	// Conflicts give one utterance different labels: at least one of
	// them is wrong, and the model cannot learn both.
	Conflicts []Repeat
	// Counts is the number of examples per label.
	Counts map[string]int
}

// Check finds duplicate utterances and conflicting labels.
func Check(d Dataset) Report {
	rep := Report{Name: d.Name, Counts: map[string]int{}}
	seen := map[string]*Repeat{}
	var order []string
	for _, e := range d.Examples {
		rep.Counts[e.Label]++
		key := checkKey(e.Text)
		r, ok := seen[key]
		if !ok {
			r = &Repeat{Text: e.Text}
			seen[key] = r
			order = append(order, key)
		}
		r.Occurrences = append(r.Occurrences, Occurrence{Label: e.Label, Line: e.Line})
	}
	for _, key := range order {
		r := seen[key]
		if len(r.Occurrences) < 2 {
			continue
		}
		conflict := slices.ContainsFunc(r.Occurrences, func(o Occurrence) bool { return o.Label != r.Occurrences[0].Label })
		if conflict {
			rep.Conflicts = append(rep.Conflicts, *r)
		} else {
			rep.Duplicates = append(rep.Duplicates, *r)
		}
	}
	return rep
}

func checkKey(text string) string {
	n, err := nlp.Normalize(text, 1<<30)
	if err != nil {
		return text
	}
	return nlp.Fold(n.Text)
}

// WriteText prints the report for people.
func (r Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%s: %d labels, %d duplicates, %d conflicts\n", r.Name, len(r.Counts), len(r.Duplicates), len(r.Conflicts))
	for _, c := range r.Conflicts {
		fmt.Fprintf(w, "conflict %q:%s\n", c.Text, occurrences(r.Name, c.Occurrences))
	}
	for _, c := range r.Duplicates {
		fmt.Fprintf(w, "duplicate %q:%s\n", c.Text, occurrences(r.Name, c.Occurrences))
	}
}

func occurrences(name string, os []Occurrence) string {
	var b strings.Builder
	for _, o := range os {
		fmt.Fprintf(&b, " %s:%d (%s)", name, o.Line, o.Label)
	}
	return b.String()
}
