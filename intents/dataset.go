package intents

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/parley-chat/parley/nlp"
)

// OOS is the label of out-of-scope examples in datasets and the value of
// Prediction.Decision for a message no intent covers.
const OOS = "oos"

// Bounds on what a data file may contain: larger inputs are malformed or
// hostile, and failing with a clear error beats exhausting memory.
const (
	MaxFileBytes  = 256 << 20
	MaxLabelBytes = 128
)

// Example is one labelled utterance.
type Example struct {
	Text  string
	Label string
	// Line is the 1-based line in the source file where the example
	// starts; 0 for examples not read from a file.
	Line int
}

// Dataset is a list of labelled utterances and where they came from.
type Dataset struct {
	// Name is the source file's name, used in error messages and reports.
	Name     string
	Examples []Example
}

// ParseError is a malformed data file, located by file and line.
type ParseError struct {
	File string
	Line int
	Err  error
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *ParseError) Unwrap() error { return e.Err }

// LoadFile reads a dataset from a file; see Load.
func LoadFile(name string) (Dataset, error) {
	dir, file := path.Split(name)
	if dir == "" {
		dir = "."
	}
	d, err := Load(os.DirFS(dir), file)
	d.Name = name
	var pe *ParseError
	if errors.As(err, &pe) {
		pe.File = name
	}
	return d, err
}

// Load reads a dataset from fsys, choosing the format by extension:
// .csv (a header with `text` and `label` columns; other columns are
// ignored), .jsonl (one {"text","label"} object per line; "intent" is
// accepted for "label") or .yml/.yaml (Rasa-style nlu.yml).
func Load(fsys fs.FS, name string) (Dataset, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return Dataset{}, fmt.Errorf("load dataset: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return Dataset{}, fmt.Errorf("load dataset %s: %w", name, err)
	}
	if len(data) > MaxFileBytes {
		return Dataset{}, fmt.Errorf("load dataset %s: larger than %d bytes", name, MaxFileBytes)
	}
	switch ext := strings.ToLower(path.Ext(name)); ext {
	case ".csv":
		return ReadCSV(bytes.NewReader(data), name)
	case ".jsonl", ".ndjson":
		return ReadJSONL(bytes.NewReader(data), name)
	case ".yml", ".yaml":
		return ReadNLU(bytes.NewReader(data), name)
	default:
		return Dataset{}, fmt.Errorf("load dataset %s: unknown format %q (want .csv, .jsonl or .yml)", name, ext)
	}
}

// add validates one example and appends it.
func (d *Dataset) add(text, label string, line int) error {
	fail := func(format string, a ...any) error {
		return &ParseError{File: d.Name, Line: line, Err: fmt.Errorf(format, a...)}
	}
	if !utf8.ValidString(text) || !utf8.ValidString(label) {
		return fail("invalid UTF-8")
	}
	text = strings.TrimSpace(text)
	label = strings.TrimSpace(label)
	switch {
	case text == "":
		return fail("empty text")
	case len(text) > nlp.DefaultMaxBytes:
		return fail("text is %d bytes, limit %d", len(text), nlp.DefaultMaxBytes)
	case label == "":
		return fail("empty label")
	case len(label) > MaxLabelBytes || strings.ContainsAny(label, "\n\r\t"):
		return fail("invalid label %.40q", label)
	}
	d.Examples = append(d.Examples, Example{Text: text, Label: label, Line: line})
	return nil
}

// ReadCSV reads `text,label` CSV (RFC 4180, header row required).
func ReadCSV(r io.Reader, name string) (Dataset, error) {
	d := Dataset{Name: name}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked below, with a better message
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return d, &ParseError{File: name, Line: 1, Err: errors.New("empty file: want a header with text,label")}
	}
	if err != nil {
		return d, csvError(name, err)
	}
	ti, li := -1, -1
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) {
		case "text":
			ti = i
		case "label", "intent":
			li = i
		}
	}
	if ti < 0 || li < 0 {
		return d, &ParseError{File: name, Line: 1, Err: fmt.Errorf("header %q: want columns text and label", strings.Join(header, ","))}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return d, csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) <= max(ti, li) {
			return d, &ParseError{File: name, Line: line, Err: fmt.Errorf("%d fields, want at least %d", len(rec), max(ti, li)+1)}
		}
		if err := d.add(rec[ti], rec[li], line); err != nil {
			return d, err
		}
	}
	if len(d.Examples) == 0 {
		return d, &ParseError{File: name, Line: 1, Err: errors.New("no examples")}
	}
	return d, nil
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{File: name, Line: pe.Line, Err: pe.Err}
	}
	return fmt.Errorf("%s: %w", name, err)
}

// ReadJSONL reads one JSON object per line with "text" and "label" (or
// "intent") string fields. Blank lines are skipped.
func ReadJSONL(r io.Reader, name string) (Dataset, error) {
	d := Dataset{Name: name}
	sc := bufio.NewScanner(r)
	// The limit is the larger of the buffer's capacity and max: a small
	// initial buffer keeps max the limit.
	sc.Buffer(make([]byte, 0, 4<<10), 4*nlp.DefaultMaxBytes+1024)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		// encoding/json would silently replace invalid UTF-8 with U+FFFD;
		// reject it as ReadCSV does.
		if !utf8.Valid(b) {
			return d, &ParseError{File: name, Line: line, Err: errors.New("invalid UTF-8")}
		}
		var rec struct {
			Text   *string `json:"text"`
			Label  *string `json:"label"`
			Intent *string `json:"intent"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			return d, &ParseError{File: name, Line: line, Err: fmt.Errorf("invalid JSON: %v", err)}
		}
		if rec.Label == nil {
			rec.Label = rec.Intent
		}
		if rec.Text == nil || rec.Label == nil {
			return d, &ParseError{File: name, Line: line, Err: errors.New(`want string fields "text" and "label"`)}
		}
		if err := d.add(*rec.Text, *rec.Label, line); err != nil {
			return d, err
		}
	}
	if err := sc.Err(); err != nil {
		return d, &ParseError{File: name, Line: line + 1, Err: err}
	}
	if len(d.Examples) == 0 {
		return d, &ParseError{File: name, Line: 1, Err: errors.New("no examples")}
	}
	return d, nil
}

// ReadNLU reads Rasa-style training data:
//
//	nlu:
//	- intent: greet
//	  examples: |
//	    - hello [Anna](name)
//
// Entity annotations are reduced to their text; other nlu items
// (synonym, regex, lookup) are ignored.
func ReadNLU(r io.Reader, name string) (Dataset, error) {
	d := Dataset{Name: name}
	var root yaml.Node
	dec := yaml.NewDecoder(r)
	if err := dec.Decode(&root); err != nil {
		if err == io.EOF {
			return d, &ParseError{File: name, Line: 1, Err: errors.New("empty file")}
		}
		return d, &ParseError{File: name, Line: yamlErrorLine(err), Err: err}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return d, &ParseError{File: name, Line: root.Line, Err: errors.New("want a mapping with an nlu key")}
	}
	top := root.Content[0]
	var nlu *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "nlu" {
			nlu = top.Content[i+1]
		}
	}
	if nlu == nil || nlu.Kind != yaml.SequenceNode {
		return d, &ParseError{File: name, Line: top.Line, Err: errors.New("want an nlu list")}
	}
	for _, item := range nlu.Content {
		if item.Kind != yaml.MappingNode {
			return d, &ParseError{File: name, Line: item.Line, Err: errors.New("nlu item is not a mapping")}
		}
		var intent, examples *yaml.Node
		for i := 0; i+1 < len(item.Content); i += 2 {
			switch item.Content[i].Value {
			case "intent":
				intent = item.Content[i+1]
			case "examples":
				examples = item.Content[i+1]
			}
		}
		if intent == nil {
			continue // synonym, regex, lookup
		}
		if intent.Kind != yaml.ScalarNode || examples == nil || examples.Kind != yaml.ScalarNode {
			return d, &ParseError{File: name, Line: item.Line, Err: errors.New("intent needs a name and an examples block")}
		}
		// A block scalar's content starts on the line after its indicator.
		first := examples.Line
		if examples.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			first++
		}
		for i, ln := range strings.Split(examples.Value, "\n") {
			ln = strings.TrimSpace(ln)
			if ln == "" {
				continue
			}
			text, ok := strings.CutPrefix(ln, "- ")
			if !ok {
				return d, &ParseError{File: name, Line: first + i, Err: fmt.Errorf("example %.40q does not start with \"- \"", ln)}
			}
			if err := d.add(stripAnnotations(text), intent.Value, first+i); err != nil {
				return d, err
			}
		}
	}
	if len(d.Examples) == 0 {
		return d, &ParseError{File: name, Line: 1, Err: errors.New("no examples")}
	}
	return d, nil
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func yamlErrorLine(err error) int {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		var n int
		fmt.Sscan(m[1], &n)
		return n
	}
	return 1
}

// annotationRE matches Rasa entity annotations: [text](entity),
// [text]{"entity": ...} and [text][...].
var annotationRE = regexp.MustCompile(`\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\}|\[[^\]]*\])`)

func stripAnnotations(s string) string { return annotationRE.ReplaceAllString(s, "$1") }

// WriteCSV writes the dataset as `text,label` CSV.
func (d Dataset) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"text", "label"})
	for _, e := range d.Examples {
		cw.Write([]string{e.Text, e.Label})
	}
	cw.Flush()
	return cw.Error()
}

// Labels returns the distinct labels, sorted.
func (d Dataset) Labels() []string {
	var ls []string
	for _, e := range d.Examples {
		ls = append(ls, e.Label)
	}
	slices.Sort(ls)
	return slices.Compact(ls)
}

// Hash identifies the dataset's content (texts and labels in order) for
// model artifacts: a model whose header names another hash was trained
// on other data.
func (d Dataset) Hash() string {
	h := sha256.New()
	for _, e := range d.Examples {
		io.WriteString(h, e.Text)
		h.Write([]byte{0})
		io.WriteString(h, e.Label)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Filter returns the examples for which keep is true.
func (d Dataset) Filter(keep func(Example) bool) Dataset {
	out := Dataset{Name: d.Name}
	for _, e := range d.Examples {
		if keep(e) {
			out.Examples = append(out.Examples, e)
		}
	}
	return out
}

// Concat returns a dataset with the examples of d followed by those of others.
func (d Dataset) Concat(others ...Dataset) Dataset {
	out := Dataset{Name: d.Name, Examples: slices.Clone(d.Examples)}
	for _, o := range others {
		out.Examples = append(out.Examples, o.Examples...)
	}
	return out
}
