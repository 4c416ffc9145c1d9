package training

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/intents"
)

// Export formats.
const (
	FormatCSV = "csv"     // text,label with a header (RFC 4180)
	FormatNLU = "nlu.yml" // Rasa-style training data
)

// Export writes d in a format intents.Load reads back: FormatCSV or
// FormatNLU (also "yml", "yaml").
func Export(w io.Writer, d intents.Dataset, format string) error {
	switch strings.ToLower(format) {
	case FormatCSV:
		if err := d.WriteCSV(w); err != nil {
			return fmt.Errorf("export csv: %w", err)
		}
		return nil
	case FormatNLU, "yml", "yaml", "nlu":
		if err := WriteNLU(w, d); err != nil {
			return fmt.Errorf("export nlu.yml: %w", err)
		}
		return nil
	}
	return fmt.Errorf("export: %w: format %q (want csv or nlu.yml)", crm.ErrInvalid, format)
}

// WriteNLU writes d as Rasa-style nlu.yml, one block per label in order
// of first appearance:
//
//	version: "3.1"
//	nlu:
//	- intent: "order_status"
//	  examples: |
//	    - where is my order
//
// An example is one line of a block, so line breaks, tabs and other
// control or separator characters in a text become spaces (Parley's
// tokenizer collapses whitespace anyway, so the model reads the same
// words). Rasa's syntax has no escape for entity annotations: a text
// containing "[words](name)" reads back as "words", in Rasa as in Parley.
func WriteNLU(w io.Writer, d intents.Dataset) error {
	var order []string
	byLabel := map[string][]string{}
	for _, e := range d.Examples {
		if _, ok := byLabel[e.Label]; !ok {
			order = append(order, e.Label)
		}
		byLabel[e.Label] = append(byLabel[e.Label], oneLine(e.Text))
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# %d examples, %d intents\nversion: \"3.1\"\nnlu:", len(d.Examples), len(order))
	if len(order) == 0 {
		bw.WriteString(" []")
	}
	bw.WriteString("\n")
	for _, l := range order {
		name := l
		if !plainRE.MatchString(l) || yamlWords[strings.ToLower(l)] {
			// A JSON string is a valid YAML double-quoted scalar.
			q, err := json.Marshal(l)
			if err != nil {
				return err
			}
			name = string(q)
		}
		fmt.Fprintf(bw, "- intent: %s\n  examples: |\n", name)
		for _, t := range byLabel[l] {
			fmt.Fprintf(bw, "    - %s\n", t)
		}
	}
	return bw.Flush()
}

// plainRE matches intent names YAML reads as plain strings as they are
// (order_status); others are written quoted.
var plainRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_./-]*$`)

// yamlWords are plain scalars YAML may read as booleans or null.
var yamlWords = map[string]bool{"true": true, "false": true, "null": true, "yes": true, "no": true, "on": true, "off": true, "y": true, "n": true}

// oneLine collapses every run of whitespace, control and separator
// characters (YAML takes U+0085, U+2028 and U+2029 for line breaks) to
// one space.
func oneLine(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) || r == '\ufeff' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// ImportOptions control Import.
type ImportOptions struct {
	// NewIntents allows intents that are not known yet (see
	// LabelRequest.NewIntent); without it they are an error.
	NewIntents bool
}

// ImportResult is what Import did.
type ImportResult struct {
	// Read is the number of examples in the file.
	Read int `json:"read"`
	// Stored labels; Unchanged examples already in the training set with
	// the same label (nothing to store); Repeats examples repeating an
	// earlier line of the file.
	Stored    int `json:"stored"`
	Unchanged int `json:"unchanged"`
	Repeats   int `json:"repeats"`
	// NewIntents are intents the import created.
	NewIntents []string `json:"new_intents,omitempty"`
}

// ImportFile loads a data file (.csv, .jsonl or .yml, see intents.Load)
// and imports it (see Import). A malformed file is an error naming the
// file and line, and nothing is imported.
func (w *Workbench) ImportFile(ctx context.Context, path string, staffID int64, opts ImportOptions) (ImportResult, error) {
	d, err := intents.LoadFile(path)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import: %w", err)
	}
	return w.Import(ctx, d, staffID, opts)
}

// Import stores d's examples as labels by staffID (0: no author) with
// no message, all or nothing: everything is checked first — each
// example's intent (see Label), its text, and that the file does not
// give one text two labels — and any problem is an error naming the
// file and line, with nothing stored. Examples the training set already
// has with the same label are not stored again, so importing an export
// changes nothing. (The store has no transactions across labels: a
// store failing mid-way, a full disk say, leaves the labels stored
// before it, and the error says how many.)
func (w *Workbench) Import(ctx context.Context, d intents.Dataset, staffID int64, opts ImportOptions) (ImportResult, error) {
	res := ImportResult{Read: len(d.Examples)}
	if staffID < 0 {
		return res, fmt.Errorf("import: %w: staff id %d", crm.ErrInvalid, staffID)
	}
	if staffID > 0 {
		if _, err := w.store.Staff(ctx, staffID); err != nil {
			return res, fmt.Errorf("import: staff %d: %w", staffID, err)
		}
	}
	labels, err := w.store.Labels(ctx)
	if err != nil {
		return res, fmt.Errorf("import: %w", err)
	}
	known := w.knownIntents(labels)
	current := map[string]string{} // normalized text -> label trained on
	set := w.applyLabels(labels)
	for _, e := range set.Dataset.Examples {
		current[normKey(e.Text)] = e.Label
	}
	where := func(e intents.Example) string { return fmt.Sprintf("%s:%d", d.Name, e.Line) }
	var errs []error
	type first struct {
		label string
		line  int
	}
	inFile := map[string]first{}
	var todo []crm.Label
	newIntents := map[string]bool{}
	for _, e := range d.Examples {
		if err := w.checkIntent(e.Label, known, opts.NewIntents, where(e)); err != nil {
			errs = append(errs, err)
			continue
		}
		l := crm.Label{Text: e.Text, Intent: e.Label, StaffID: staffID}
		if err := l.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where(e), err))
			continue
		}
		k := normKey(e.Text)
		if f, ok := inFile[k]; ok {
			if f.label != e.Label {
				errs = append(errs, fmt.Errorf("%s: %w: %q labelled %s here and %s on line %d", where(e), crm.ErrInvalid, e.Text, e.Label, f.label, f.line))
			} else {
				res.Repeats++
			}
			continue
		}
		inFile[k] = first{e.Label, e.Line}
		if current[k] == e.Label {
			res.Unchanged++
			continue
		}
		if !slices.Contains(known, e.Label) && !newIntents[e.Label] {
			newIntents[e.Label] = true
			res.NewIntents = append(res.NewIntents, e.Label)
		}
		todo = append(todo, l)
	}
	if len(errs) > 0 {
		const maxShown = 20
		if len(errs) > maxShown {
			errs = append(errs[:maxShown], fmt.Errorf("and %d more problems", len(errs)-maxShown))
		}
		return ImportResult{Read: len(d.Examples)}, fmt.Errorf("import %s: nothing imported: %w", d.Name, errors.Join(errs...))
	}
	if err := ctx.Err(); err != nil {
		return ImportResult{Read: len(d.Examples)}, fmt.Errorf("import %s: nothing imported: %w", d.Name, err)
	}
	for i, l := range todo {
		if _, err := w.store.AddLabel(ctx, l); err != nil {
			return res, fmt.Errorf("import %s: %w (%d of %d labels stored)", d.Name, err, i, len(todo))
		}
		res.Stored++
	}
	w.log.Info("imported labels", "file", d.Name, "read", res.Read, "stored", res.Stored, "unchanged", res.Unchanged)
	return res, nil
}
