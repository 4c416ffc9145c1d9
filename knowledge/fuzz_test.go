package knowledge_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/parley-chat/parley/knowledge"
	"github.com/parley-chat/parley/nlp"
)

// FuzzLoad feeds arbitrary bytes to the article parser. It must never
// panic; every failure is a ParseErrors whose problems point into the
// file; and an article that loads renders once its placeholders have
// values.
//
//	go test ./knowledge -run '^$' -fuzz FuzzLoad -fuzztime 30s
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/broken/*/*.md")
	more, _ := filepath.Glob("articles/*.md")
	for _, p := range append(seeds, more[:5]...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("---\nid: a\ntitle: &x T\nquestions: [*x]\nanswer: {{x}}\n---\n"))
	f.Add([]byte("---\r\nid: a\r\n---"))
	f.Add([]byte("---\n---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := knowledge.Load(fstest.MapFS{"kb/a.md": {Data: data}}, "kb")
		if err != nil {
			var list knowledge.ParseErrors
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %v (%T) is not a non-empty ParseErrors", err, err)
			}
			lines := strings.Count(string(data), "\n") + 1
			for _, e := range list {
				if e.File != "kb/a.md" || e.Line < 0 || e.Line > lines {
					t.Fatalf("problem %v outside the file (%d lines)", e, lines)
				}
			}
			return
		}
		for _, a := range b.Articles() {
			vars := map[string]string{}
			for _, p := range a.Placeholders() {
				vars[p] = "v"
			}
			if _, err := a.Render(vars); err != nil {
				t.Fatalf("loaded article %s does not render: %v", a.ID, err)
			}
		}
	})
}

// FuzzRender checks that Render and Placeholders agree on any template:
// a template Render accepts with every placeholder given never reports a
// missing value, and none of them panics.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"", "a {order_id} b", "{{", "}}", "{", "}", "{a}{b}{{c}}", "{é}", "{a b}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, answer string) {
		a := knowledge.Article{ID: "x", Answer: answer}
		vars := map[string]string{}
		for _, p := range a.Placeholders() {
			vars[p] = "v"
		}
		_, err := a.Render(vars)
		var me *knowledge.MissingValueError
		if errors.As(err, &me) {
			t.Fatalf("Render(%q) with every placeholder given: %v", answer, err)
		}
		var te *knowledge.TemplateError
		if err != nil && !errors.As(err, &te) {
			t.Fatalf("Render(%q): unexpected error type %T", answer, err)
		}
	})
}

// FuzzParseQuestions checks the question-file parser never panics.
func FuzzParseQuestions(f *testing.F) {
	f.Add([]byte("question,article_id,split\nwhere is it,track-order,test\n"))
	f.Add([]byte("question,article_id\n\"a\"b,c\n"))
	f.Add([]byte("\uFEFFquestion,article_id\n,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		qs, err := knowledge.ParseQuestions(data, "q.csv")
		if err == nil && len(qs) == 0 {
			t.Fatal("no error and no questions")
		}
	})
}

// FuzzSearch runs customer text through the built-in index in every
// mode: no panic, at most k hits, sorted.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{"where is my order 123456", "", "🙂", "a-b-c--d", strings.Repeat("refund ", 200)} {
		f.Add(s)
	}
	b := MustBuiltin(f)
	ix := MustIndex(f, b, fakeEmbedder{dims: 4}, knowledge.DefaultIndexConfig())
	f.Fuzz(func(t *testing.T, text string) {
		d, err := nlp.Parse(text)
		if err != nil {
			return
		}
		for _, mode := range []knowledge.Mode{knowledge.BM25, knowledge.Embedding, knowledge.Hybrid} {
			hits := ix.Search(d, 5, nil, mode)
			if len(hits) > 5 {
				t.Fatalf("%v: %d hits for k=5", mode, len(hits))
			}
			for i := 1; i < len(hits); i++ {
				if hits[i].Score > hits[i-1].Score {
					t.Fatalf("%v: hits not sorted: %+v", mode, hits)
				}
			}
		}
	})
}
