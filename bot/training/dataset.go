package training

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/nlp"
)

// Origin says where a training example came from: a line of a data
// file, or an analyst's label.
type Origin struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// LabelID is the crm.Label's id (0 for file examples), MessageID its
	// message (0 for utterances added by hand or imported), StaffID who
	// labelled (0 for none).
	LabelID   int64 `json:"label_id,omitempty"`
	MessageID int64 `json:"message_id,omitempty"`
	StaffID   int64 `json:"staff_id,omitempty"`
}

// String is "file:line" or "label ID".
func (o Origin) String() string {
	if o.LabelID != 0 {
		return fmt.Sprintf("label %d", o.LabelID)
	}
	return fmt.Sprintf("%s:%d", o.File, o.Line)
}

func labelOrigin(l crm.Label) Origin {
	return Origin{LabelID: l.ID, MessageID: l.MessageID, StaffID: l.StaffID}
}

// Set is a training set with the origin of each example.
type Set struct {
	Dataset intents.Dataset
	// Origins[i] is where Dataset.Examples[i] came from.
	Origins []Origin
	// Report says how the analysts' labels changed the base data (zero
	// for a set read from a file).
	Report SetReport
}

// SetOf wraps a dataset read from a file: origins are its file and lines.
func SetOf(d intents.Dataset) Set {
	s := Set{Dataset: d, Origins: make([]Origin, len(d.Examples))}
	for i, e := range d.Examples {
		s.Origins[i] = Origin{File: d.Name, Line: e.Line}
	}
	return s
}

// SetReport is how TrainingSet applied the labels.
type SetReport struct {
	// Base is the number of base examples, Labels the labels read.
	Base   int `json:"base"`
	Labels int `json:"labels"`
	// Added counts utterances the labels added; Confirmed base examples
	// whose text's latest label agrees with them (kept as they are);
	// Repeated labels that repeat an earlier label's text and intent.
	Added     int `json:"added"`
	Confirmed int `json:"confirmed"`
	Repeated  int `json:"repeated"`
	// Overrides are base examples a label gave another intent.
	Overrides []Override `json:"overrides,omitempty"`
	// Conflicts are texts labelled with different intents: the latest
	// label wins.
	Conflicts []LabelConflict `json:"conflicts,omitempty"`
	// HeldOut are labels left out of training because their text is an
	// utterance of the held-out test set: training on it would make the
	// held-out metrics lie.
	HeldOut []Origin `json:"held_out,omitempty"`
	// Skipped are labels that cannot be training examples, with why.
	Skipped []Skipped `json:"skipped,omitempty"`
}

// Override is a base example relabelled by an analyst.
type Override struct {
	Text       string `json:"text"`
	Base       Origin `json:"base"`
	BaseIntent string `json:"base_intent"`
	Label      Origin `json:"label"`
	Intent     string `json:"intent"`
}

// LabelConflict is one text that labels disagree on, oldest label first.
type LabelConflict struct {
	Text    string   `json:"text"`
	Labels  []Origin `json:"labels"`
	Intents []string `json:"intents"`
	// Winner is the intent trained on: the latest label's.
	Winner string `json:"winner"`
}

// Skipped is a label that cannot be used, and why.
type Skipped struct {
	Label  Origin `json:"label"`
	Reason string `json:"reason"`
}

// TrainingSet returns the base training data with the analysts' labels
// applied (see the package doc). For each normalized text, the latest
// label's intent wins: base examples of the text with that intent stay
// as they are, the others are dropped (overrides), and when none stays
// the label's example takes the place of the first of them. Labels of
// texts the base lacks are appended in the order they were first
// labelled; labels of held-out test utterances are left out.
func (w *Workbench) TrainingSet(ctx context.Context) (Set, error) {
	labels, err := w.store.Labels(ctx)
	if err != nil {
		return Set{}, fmt.Errorf("training set: %w", err)
	}
	return w.applyLabels(labels), nil
}

func (w *Workbench) applyLabels(labels []crm.Label) Set {
	base := w.data.Train
	rep := SetReport{Base: len(base.Examples), Labels: len(labels)}
	test := map[string]bool{}
	for _, e := range w.data.Test.Examples {
		test[normKey(e.Text)] = true
	}
	baseIdx := map[string][]int{} // key -> base examples with it
	for i, e := range base.Examples {
		k := normKey(e.Text)
		baseIdx[k] = append(baseIdx[k], i)
	}
	type labelled struct {
		last    crm.Label
		history []crm.Label
	}
	byKey := map[string]*labelled{}
	var newKeys []string // keys not in base, in first-labelled order
	for _, l := range labels {
		text := strings.TrimSpace(l.Text)
		switch {
		case text == "":
			rep.Skipped = append(rep.Skipped, Skipped{labelOrigin(l), "empty text"})
			continue
		case len(text) > nlp.DefaultMaxBytes:
			rep.Skipped = append(rep.Skipped, Skipped{labelOrigin(l), fmt.Sprintf("text is %d bytes, the models read at most %d", len(text), nlp.DefaultMaxBytes)})
			continue
		case len(l.Intent) > intents.MaxLabelBytes || strings.ContainsAny(l.Intent, "\n\r\t"):
			rep.Skipped = append(rep.Skipped, Skipped{labelOrigin(l), fmt.Sprintf("intent %.40q is not a valid label", l.Intent)})
			continue
		}
		k := normKey(text)
		if test[k] {
			rep.HeldOut = append(rep.HeldOut, labelOrigin(l))
			continue
		}
		lb := byKey[k]
		if lb == nil {
			lb = &labelled{}
			byKey[k] = lb
			if _, inBase := baseIdx[k]; !inBase {
				newKeys = append(newKeys, k)
			}
		} else if lb.last.Intent == l.Intent {
			rep.Repeated++
		}
		lb.last = l
		lb.history = append(lb.history, l)
	}
	// Conflicts among labels, in first-labelled order of their texts.
	var keys []string
	seen := map[string]bool{}
	for _, l := range labels {
		k := normKey(strings.TrimSpace(l.Text))
		if byKey[k] != nil && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		lb := byKey[k]
		var ints []string
		for _, l := range lb.history {
			if !slices.Contains(ints, l.Intent) {
				ints = append(ints, l.Intent)
			}
		}
		if len(ints) > 1 {
			c := LabelConflict{Text: lb.last.Text, Intents: ints, Winner: lb.last.Intent}
			for _, l := range lb.history {
				c.Labels = append(c.Labels, labelOrigin(l))
			}
			rep.Conflicts = append(rep.Conflicts, c)
		}
	}
	s := Set{Dataset: intents.Dataset{Name: base.Name}}
	add := func(e intents.Example, o Origin) {
		s.Dataset.Examples = append(s.Dataset.Examples, e)
		s.Origins = append(s.Origins, o)
	}
	for i, e := range base.Examples {
		k := normKey(e.Text)
		lb := byKey[k]
		if lb == nil {
			add(e, Origin{File: base.Name, Line: e.Line})
			continue
		}
		l := lb.last
		if e.Label == l.Intent {
			// Confirmed: the example stays as it is, so a set whose
			// labels only confirm the base data hashes the same.
			rep.Confirmed++
			add(e, Origin{File: base.Name, Line: e.Line})
			continue
		}
		rep.Overrides = append(rep.Overrides, Override{
			Text: e.Text, Base: Origin{File: base.Name, Line: e.Line}, BaseIntent: e.Label,
			Label: labelOrigin(l), Intent: l.Intent,
		})
		confirmed := slices.ContainsFunc(baseIdx[k], func(bi int) bool { return base.Examples[bi].Label == l.Intent })
		if !confirmed && baseIdx[k][0] == i {
			// The label's example takes the place of its text's first
			// base example.
			add(intents.Example{Text: strings.TrimSpace(l.Text), Label: l.Intent}, labelOrigin(l))
		}
	}
	for _, k := range newKeys {
		l := byKey[k].last
		add(intents.Example{Text: strings.TrimSpace(l.Text), Label: l.Intent}, labelOrigin(l))
		rep.Added++
	}
	if n := len(labels); n > 0 {
		s.Dataset.Name = fmt.Sprintf("%s + %d labels", base.Name, n)
	}
	s.Report = rep
	return s
}

// WriteText prints the report for people.
func (r SetReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%d base examples, %d labels: %d new utterances, %d overrides, %d confirmations, %d repeats, %d label conflicts, %d held out, %d skipped\n",
		r.Base, r.Labels, r.Added, len(r.Overrides), r.Confirmed, r.Repeated, len(r.Conflicts), len(r.HeldOut), len(r.Skipped))
	for _, o := range r.Overrides {
		fmt.Fprintf(w, "override %q: %s (%s) -> %s (%s)\n", o.Text, o.Base, o.BaseIntent, o.Label, o.Intent)
	}
	for _, c := range r.Conflicts {
		parts := make([]string, len(c.Labels))
		for i, o := range c.Labels {
			parts[i] = o.String()
		}
		fmt.Fprintf(w, "label conflict %q: %s labelled %s; trained as %s (the latest)\n", c.Text, strings.Join(parts, ", "), strings.Join(c.Intents, " / "), c.Winner)
	}
	for _, o := range r.HeldOut {
		fmt.Fprintf(w, "held out: %s is a test utterance, not trained on\n", o)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "skipped %s: %s\n", s.Label, s.Reason)
	}
}
