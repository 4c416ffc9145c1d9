package intents_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/nlp"
)

// addFixtures seeds a fuzz corpus with the data fixtures of one format.
func addFixtures(f *testing.F, pattern string) {
	names, err := filepath.Glob(filepath.Join(dataDir, pattern))
	if err != nil || len(names) == 0 {
		f.Fatalf("no fixtures %s: %v", pattern, err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkRead is the contract of the dataset readers on any input: no
// panic; an error is a *ParseError for this file with a line; a success
// has valid, trimmed, bounded examples with lines.
func checkRead(t *testing.T, in []byte, d intents.Dataset, err error) {
	t.Helper()
	if err != nil {
		var pe *intents.ParseError
		if !errors.As(err, &pe) || pe.File != "fuzz" || pe.Line < 1 {
			t.Fatalf("read(%q): error %v (%T), want a *ParseError for file fuzz with a line", in, err, err)
		}
		return
	}
	if len(d.Examples) == 0 {
		t.Fatalf("read(%q): no examples and no error", in)
	}
	for _, e := range d.Examples {
		if e.Text == "" || e.Label == "" || e.Line < 1 || !utf8.ValidString(e.Text) || !utf8.ValidString(e.Label) ||
			len(e.Text) > nlp.DefaultMaxBytes || len(e.Label) > intents.MaxLabelBytes ||
			e.Text != strings.TrimSpace(e.Text) || e.Label != strings.TrimSpace(e.Label) {
			t.Fatalf("read(%q): invalid example %+v", in, e)
		}
	}
}

func FuzzReadCSV(f *testing.F) {
	addFixtures(f, "*.csv")
	f.Add([]byte("text,label\n\"a\nb\",c\n"))
	f.Add([]byte("label,text\n,\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := intents.ReadCSV(bytes.NewReader(in), "fuzz")
		checkRead(t, in, d, err)
	})
}

func FuzzReadJSONL(f *testing.F) {
	addFixtures(f, "*.jsonl")
	f.Add([]byte(`{"text":"a","intent":"b"}` + "\n\n" + `{"text":"\u00e9","label":"x"}`))
	f.Add([]byte(`{"text":"a","label":null}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := intents.ReadJSONL(bytes.NewReader(in), "fuzz")
		checkRead(t, in, d, err)
	})
}

func FuzzReadNLU(f *testing.F) {
	addFixtures(f, "*.yml")
	f.Add([]byte("nlu:\n- intent: a\n  examples: >\n    - x\n    - y\n"))
	f.Add([]byte("nlu: &x\n- intent: *x\n"))
	f.Add([]byte("nlu:\n- intent: a\n  examples: \"- x\\n- y\"\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := intents.ReadNLU(bytes.NewReader(in), "fuzz")
		checkRead(t, in, d, err)
	})
}

func FuzzReadArtifact(f *testing.F) {
	good := mustArtifact(f, testHeader(), testPayload)
	f.Add(good)
	f.Add(good[:20])
	f.Add(withCRC(append(good[:14:14], []byte(`{"kind":"svm","labels":["a"]}`+"\x00\x00\x00\x00")...)))
	f.Add([]byte("PARLEYMD"))
	f.Fuzz(func(t *testing.T, in []byte) {
		h, payload, err := intents.ReadArtifact(bytes.NewReader(in), "")
		if err != nil {
			if payload != nil {
				t.Fatalf("ReadArtifact(%q): payload with error %v", in, err)
			}
			return
		}
		if len(h.Labels) == 0 || len(payload) > len(in) {
			t.Fatalf("ReadArtifact(%q) = %+v, %d payload bytes", in, h, len(payload))
		}
	})
}
