package intents_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/parley-chat/parley/intents"
)

// dataDir holds the fixtures written for these tests.
const dataDir = "../testdata/data"

func examples(es ...intents.Example) []intents.Example { return es }

func ex(line int, text, label string) intents.Example {
	return intents.Example{Text: text, Label: label, Line: line}
}

func TestLoadFile(t *testing.T) {
	tests := []struct {
		file string
		want []intents.Example
	}{
		{"good.csv", examples(
			ex(2, "where is my order", "order_status"),
			ex(3, "wheres my package, ordered 5 days ago", "order_status"),
			ex(4, `cancel "the" order`, "cancel_order"),
			ex(5, "hi there", "greeting"), // text and label trimmed
		)},
		{"multiline.csv", examples(
			ex(2, "first line", "greeting"),
			ex(3, "a message\nthat spans\nthree lines", "complaint"), // the record's first line
			ex(6, "after it", "thanks"),
		)},
		{"good.jsonl", examples(
			ex(1, "where is my order", "order_status"),
			ex(3, "hello", "greeting"), // after a blank line; "intent" for "label"
			ex(4, "I want a refund \u2014 now", "refund_status"),
		)},
		{"nlu.yml", examples(
			ex(5, "hello", "greet"),
			ex(6, "hi, I'm Anna", "greet"),
			ex(7, "good morning from Berlin", "greet"),
			// synonym, regex and lookup items are skipped; a blank line
			// inside the block keeps the line count.
			ex(16, "where is order 48213", "order_status"),
			ex(18, "has my parcel shipped", "order_status"),
		)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			name := filepath.Join(dataDir, tt.file)
			d, err := intents.LoadFile(name)
			if err != nil {
				t.Fatalf("LoadFile(%s): %v", name, err)
			}
			if d.Name != name || !slices.Equal(d.Examples, tt.want) {
				t.Errorf("LoadFile(%s) = %q %+v, want %q %+v", name, d.Name, d.Examples, name, tt.want)
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		file string
		line int
		msg  string
	}{
		{"bad_quote.csv", 4, `bare "`},
		{"one_field.csv", 3, "1 fields, want at least 2"},
		{"empty_text.csv", 4, "empty text"},
		{"empty_label.csv", 2, "empty label"},
		{"invalid_utf8.csv", 3, "invalid UTF-8"},
		{"no_label_column.csv", 1, "want columns text and label"},
		{"header_only.csv", 1, "no examples"},
		{"empty.csv", 1, "empty file"},
		{"multiline_bad.csv", 3, "empty label"}, // the record starts on line 3
		{"bad_json.jsonl", 3, "invalid JSON"},
		{"missing_label.jsonl", 2, `want string fields "text" and "label"`},
		{"number_label.jsonl", 1, "invalid JSON"},
		{"bad_example.yml", 6, `"good morning" does not start with "- "`},
		{"syntax.yml", 6, "mapping values are not allowed"},
		{"not_nlu.yml", 1, "want an nlu list"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			name := filepath.Join(dataDir, tt.file)
			_, err := intents.LoadFile(name)
			var pe *intents.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("LoadFile(%s) error = %v, want a *ParseError", name, err)
			}
			if pe.File != name || pe.Line != tt.line || !strings.Contains(pe.Err.Error(), tt.msg) {
				t.Errorf("LoadFile(%s) error = %v, want %s:%d: ...%s...", name, err, name, tt.line, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), name+":") {
				t.Errorf("LoadFile(%s) error %q does not start with the file name", name, err)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	fsys := os.DirFS(dataDir)
	d, err := intents.Load(fsys, "good.csv")
	if err != nil || d.Name != "good.csv" || len(d.Examples) != 4 {
		t.Errorf("Load(good.csv) = %q with %d examples, %v; want good.csv with 4, nil", d.Name, len(d.Examples), err)
	}
	_, err = intents.Load(fsys, "bad_quote.csv")
	var pe *intents.ParseError
	if !errors.As(err, &pe) || pe.File != "bad_quote.csv" || pe.Line != 4 {
		t.Errorf("Load(bad_quote.csv) error = %v, want bad_quote.csv:4", err)
	}
	// Extensions are matched case-insensitively, and .ndjson and .yaml too.
	mem := fstest.MapFS{
		"UPPER.CSV":    {Data: []byte("text,label\nhi,greeting\n")},
		"lines.ndjson": {Data: []byte(`{"text":"hi","label":"greeting"}`)},
		"nlu.yaml":     {Data: []byte("nlu:\n- intent: greeting\n  examples: |\n    - hi\n")},
	}
	for name := range mem {
		if d, err := intents.Load(mem, name); err != nil || len(d.Examples) != 1 {
			t.Errorf("Load(%s) = %d examples, %v; want 1, nil", name, len(d.Examples), err)
		}
	}
}

func TestLoadUnknownFormat(t *testing.T) {
	name := filepath.Join(dataDir, "data.txt")
	_, err := intents.LoadFile(name)
	var pe *intents.ParseError
	if err == nil || errors.As(err, &pe) || !strings.Contains(err.Error(), `unknown format ".txt"`) {
		t.Errorf("LoadFile(%s) error = %v, want an unknown-format error that is not a *ParseError", name, err)
	}
	_, err = intents.LoadFile(filepath.Join(dataDir, "missing.csv"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadFile(missing.csv) error = %v, want fs.ErrNotExist", err)
	}
}

// TestReadInline covers cases easier to state inline than as files.
func TestReadInline(t *testing.T) {
	type reader func(r *strings.Reader, name string) (intents.Dataset, error)
	csvR := func(r *strings.Reader, name string) (intents.Dataset, error) { return intents.ReadCSV(r, name) }
	jsonlR := func(r *strings.Reader, name string) (intents.Dataset, error) { return intents.ReadJSONL(r, name) }
	nluR := func(r *strings.Reader, name string) (intents.Dataset, error) { return intents.ReadNLU(r, name) }
	long := strings.Repeat("a", 9000)
	tests := []struct {
		name string
		read reader
		in   string
		line int // 0: no error
		msg  string
	}{
		{"CSVBOMHeader", csvR, "\ufefftext,label\nhi,greeting\n", 0, ""},
		{"CSVIntentColumn", csvR, "Label,Text\ngreeting,hi\n", 0, ""},
		{"CSVCRLF", csvR, "text,label\r\nhi,greeting\r\nbye,goodbye\r\n", 0, ""},
		{"CSVUnterminatedQuote", csvR, "text,label\nhi,greeting\n\"open,x\n", 3, "extraneous or missing"},
		{"CSVLongText", csvR, "text,label\n" + long + ",x\n", 2, "limit"},
		{"CSVLabelTab", csvR, "text,label\nhi,\"a\tb\"\n", 2, "invalid label"},
		{"CSVLongLabel", csvR, "text,label\nhi," + strings.Repeat("l", 129) + "\n", 2, "invalid label"},
		{"JSONLEmpty", jsonlR, "\n\n", 1, "no examples"},
		{"JSONLNotObject", jsonlR, `["hi","greeting"]`, 1, "invalid JSON"},
		{"JSONLNullText", jsonlR, `{"text":null,"label":"x"}`, 1, "want string fields"},
		{"JSONLInvalidUTF8", jsonlR, "{\"text\":\"caf\xe9\",\"label\":\"x\"}", 1, "invalid UTF-8"},
		{"JSONLLineTooLong", jsonlR, "{\"text\":\"hi\",\"label\":\"x\"}\n{\"text\":\"" + strings.Repeat("a", 40000) + "\"}\n", 2, "too long"},
		{"NLUEmpty", nluR, "", 1, "empty file"},
		{"NLUScalar", nluR, "just text", 1, "want a mapping"},
		{"NLUItemNotMapping", nluR, "nlu:\n- just text\n", 2, "not a mapping"},
		{"NLUNoExamples", nluR, "nlu:\n- intent: greet\n", 2, "needs a name and an examples block"},
		{"NLUExamplesList", nluR, "nlu:\n- intent: greet\n  examples:\n  - hi\n", 2, "needs a name and an examples block"},
		{"NLUOnlySynonyms", nluR, "nlu:\n- synonym: x\n  examples: |\n    - y\n", 1, "no examples"},
		{"NLUEmptyAnnotation", nluR, "nlu:\n- intent: greet\n  examples: |\n    - [](name)\n", 4, "empty text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.read(strings.NewReader(tt.in), "in")
			if tt.line == 0 {
				if err != nil || len(d.Examples) == 0 {
					t.Errorf("read(%.60q) = %d examples, %v; want some, nil", tt.in, len(d.Examples), err)
				}
				return
			}
			var pe *intents.ParseError
			if !errors.As(err, &pe) || pe.File != "in" || pe.Line != tt.line || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("read(%.60q) error = %v, want in:%d: ...%s...", tt.in, err, tt.line, tt.msg)
			}
		})
	}
}

func TestDatasetHelpers(t *testing.T) {
	d := intents.Dataset{Name: "d", Examples: examples(
		ex(2, "hi", "greeting"), ex(3, "where is it", "order_status"), ex(4, "hello, \"you\"", "greeting"))}
	if got, want := d.Labels(), []string{"greeting", "order_status"}; !slices.Equal(got, want) {
		t.Errorf("Labels() = %q, want %q", got, want)
	}
	greet := d.Filter(func(e intents.Example) bool { return e.Label == "greeting" })
	if len(greet.Examples) != 2 || greet.Name != "d" {
		t.Errorf("Filter(greeting) = %+v, want 2 examples named d", greet)
	}
	all := greet.Concat(d)
	if len(all.Examples) != 5 || len(greet.Examples) != 2 {
		t.Errorf("Concat: %d examples (receiver now %d), want 5 (2)", len(all.Examples), len(greet.Examples))
	}
	if d.Hash() == greet.Hash() || d.Hash() != d.Concat().Hash() || len(d.Hash()) != 64 {
		t.Errorf("Hash() does not identify content: %s %s", d.Hash(), greet.Hash())
	}
	// Hash separates text from label: moving a character across changes it.
	a := intents.Dataset{Examples: examples(ex(0, "ab", "c"))}
	b := intents.Dataset{Examples: examples(ex(0, "a", "bc"))}
	if a.Hash() == b.Hash() {
		t.Errorf("Hash(ab|c) == Hash(a|bc)")
	}
	var buf bytes.Buffer
	if err := d.WriteCSV(&buf); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	back, err := intents.ReadCSV(&buf, "back.csv")
	if err != nil {
		t.Fatalf("ReadCSV(WriteCSV output): %v", err)
	}
	for i, e := range back.Examples {
		if e.Text != d.Examples[i].Text || e.Label != d.Examples[i].Label {
			t.Errorf("WriteCSV/ReadCSV example %d = %+v, want %+v", i, e, d.Examples[i])
		}
	}
}
