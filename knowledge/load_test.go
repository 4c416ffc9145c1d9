package knowledge_test

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/parley-chat/parley/knowledge"
)

// problem is an expected *ParseError: where, and a part of the message.
type problem struct {
	file string
	line int
	msg  string
}

func problemsOf(t *testing.T, err error) []*knowledge.ParseError {
	t.Helper()
	var list knowledge.ParseErrors
	if !errors.As(err, &list) {
		t.Fatalf("error %v (%T) is not a knowledge.ParseErrors", err, err)
	}
	var pe *knowledge.ParseError
	if !errors.As(err, &pe) || pe != list[0] {
		t.Errorf("errors.As(*ParseError) = %v, want the first problem %v", pe, list[0])
	}
	return list
}

func checkProblems(t *testing.T, err error, want []problem) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %d problems", len(want))
	}
	got := problemsOf(t, err)
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(got), len(want), err)
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.File != w.file || g.Line != w.line || !strings.Contains(g.Err.Error(), w.msg) {
			t.Errorf("problem %d: got %s:%d: %v\nwant %s:%d: ...%s...", i, g.File, g.Line, g.Err, w.file, w.line, w.msg)
		}
	}
}

// TestLoadBroken loads each broken fixture (one directory per case,
// testdata/broken/CASE) and checks every problem's file, line and message.
func TestLoadBroken(t *testing.T) {
	fsys := os.DirFS("testdata/broken")
	f := func(c string) string { return c + "/" + c + ".md" }
	tests := []struct {
		dir  string
		want []problem
	}{
		{"no-front-matter", []problem{{f("no-front-matter"), 1, "missing front matter"}}},
		{"unclosed", []problem{{f("unclosed"), 1, "front matter not closed"}}},
		{"yaml-syntax", []problem{{f("yaml-syntax"), 4, "did not find expected ',' or ']'"}}},
		{"yaml-scanner", []problem{{f("yaml-scanner"), 3, "mapping values are not allowed"}}},
		// yaml.v3 gives no line for a construct opened on the first YAML
		// line; the line is then where the parser noticed the problem.
		{"yaml-first-line", []problem{{f("yaml-first-line"), 3, "did not find expected ',' or ']'"}}},
		{"unknown-field", []problem{{f("unknown-field"), 4, `unknown field "summary"`}}},
		{"missing-fields", []problem{
			{f("missing-fields"), 1, "missing required field title"},
			{f("missing-fields"), 1, "missing required field answer"},
		}},
		{"bad-id", []problem{{f("bad-id"), 2, `bad id "Return_Policy"`}}},
		{"wrong-types", []problem{
			{f("wrong-types"), 3, "field title must be text, not a list"},
			{f("wrong-types"), 4, "field intents must be a list"},
			{f("wrong-types"), 7, "field tags: entry 2 must be text, not a list"},
		}},
		{"duplicate-field", []problem{{f("duplicate-field"), 5, "field title given twice (first on line 3)"}}},
		{"bad-placeholder", []problem{{f("bad-placeholder"), 4, `bad placeholder name "order id"`}}},
		{"empty-entries", []problem{
			{f("empty-entries"), 4, `"return_item" is listed twice`},
			{f("empty-entries"), 5, "field tags: entry 2 is empty"},
			{f("empty-entries"), 8, "field questions: entry 2 must be text, not empty"},
		}},
		{"empty-values", []problem{
			{f("empty-values"), 3, "field title is empty"},
			{f("empty-values"), 4, "field answer is empty"},
		}},
		{"alias", []problem{{f("alias"), 5, "aliases (*name) are not allowed"}}},
		{"not-mapping", []problem{{f("not-mapping"), 2, "front matter must be a mapping"}}},
		{"duplicate-ids", []problem{{"duplicate-ids/b.md", 3, `duplicate id "same-id" (first in duplicate-ids/a.md:2)`}}},
		// Every problem of every file at once, sorted by file and line.
		{"multi", []problem{
			{"multi/multi.md", 2, `bad id "Multi"`},
			{"multi/multi.md", 4, `unknown field "colour"`},
			{"multi/multi.md", 5, "field intents must be a list"},
			{"multi/multi.md", 6, "unclosed {"},
			{"multi/other.md", 1, "missing required field id"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			b, err := knowledge.Load(fsys, tt.dir)
			if b != nil {
				t.Errorf("Load(%s) returned a base with %d articles, want nil", tt.dir, b.Len())
			}
			checkProblems(t, err, tt.want)
		})
	}
}

// TestLoadGenerated covers problems easier to make in code than to keep
// as fixtures: sizes, encodings, line endings.
func TestLoadGenerated(t *testing.T) {
	good := "---\nid: ok\ntitle: T\nanswer: A.\n---\nBody.\n"
	tests := []struct {
		name string
		data string
		want []problem // nil: loads
	}{
		{"ok", good, nil},
		{"crlf", strings.ReplaceAll(good, "\n", "\r\n"), nil},
		{"bom", "\uFEFF" + good, nil},
		{"trailing spaces on delimiters", "--- \nid: ok\ntitle: T\nanswer: A.\n---\t\n", nil},
		{"empty file", "", []problem{{"kb/a.md", 1, "missing front matter"}}},
		{"empty front matter", "---\n---\nBody.\n", []problem{
			{"kb/a.md", 1, "missing required field id"},
			{"kb/a.md", 1, "missing required field title"},
			{"kb/a.md", 1, "missing required field answer"},
		}},
		{"invalid utf-8", "---\nid: ok\ntitle: T\xff\nanswer: A.\n---\n", []problem{{"kb/a.md", 3, "not valid UTF-8"}}},
		{"long answer", "---\nid: ok\ntitle: T\nanswer: " + strings.Repeat("a", knowledge.MaxAnswerBytes+1) + "\n---\n",
			[]problem{{"kb/a.md", 4, "field answer is 2001 bytes"}}},
		{"long id", "---\nid: " + strings.Repeat("a", knowledge.MaxIDBytes+1) + "\ntitle: T\nanswer: A.\n---\n",
			[]problem{{"kb/a.md", 2, "field id is 65 bytes"}}},
		{"too many tags", "---\nid: ok\ntitle: T\ntags: [" + strings.Repeat("t,", knowledge.MaxTags) + "t]\nanswer: A.\n---\n",
			[]problem{{"kb/a.md", 4, "field tags has 33 entries"}}},
		{"huge file", "---\nid: ok\ntitle: T\nanswer: A.\n---\n" + strings.Repeat("x", knowledge.MaxFileBytes),
			[]problem{{"kb/a.md", 0, "larger than"}}},
		{"huge front matter", "---\n#" + strings.Repeat("x", knowledge.MaxFrontMatterBytes) + "\nid: ok\n---\n",
			[]problem{{"kb/a.md", 1, "front matter is"}}},
		{"bad id dashes", "---\nid: return--policy\ntitle: T\nanswer: A.\n---\n", []problem{{"kb/a.md", 2, "bad id"}}},
		{"bad intent", "---\nid: ok\ntitle: T\nintents: [return item]\nanswer: A.\n---\n", []problem{{"kb/a.md", 4, `bad intent name`}}},
		{"lone brace", "---\nid: ok\ntitle: T\nanswer: a } b\n---\n", []problem{{"kb/a.md", 4, "unmatched }"}}},
		{"field name not a word", "---\n[a]: b\nid: ok\ntitle: T\nanswer: A.\n---\n", []problem{{"kb/a.md", 2, "field names must be plain words"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"kb/a.md": {Data: []byte(tt.data)}}
			b, err := knowledge.Load(fsys, "kb")
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Load(%q) = %v, want no error", tt.data, err)
				}
				a, ok := b.Article("ok")
				if !ok || a.Title != "T" || a.Answer != "A." || a.File != "kb/a.md" || a.Line != 2 {
					t.Errorf("Load(%q): article = %+v, %v; want id ok, title T, answer A., kb/a.md:2", tt.data, a, ok)
				}
				return
			}
			checkProblems(t, err, tt.want)
		})
	}
}

func TestLoadReadsTree(t *testing.T) {
	art := func(id string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("---\nid: " + id + "\ntitle: T " + id + "\nintents: [x]\nanswer: A " + id + ".\n---\n")}
	}
	fsys := fstest.MapFS{
		"kb/b.md":        art("b"),
		"kb/sub/a.md":    art("a"),
		"kb/notes.txt":   {Data: []byte("not an article")},
		"kb/README":      {Data: []byte("---\nnot: an article\n")},
		"other/c.md":     art("c"),
		"kb/deep/x/y.md": art("y"),
	}
	b, err := knowledge.Load(fsys, "kb")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range b.Articles() {
		ids = append(ids, a.ID)
	}
	if want := []string{"a", "b", "y"}; !slices.Equal(ids, want) {
		t.Errorf("Load(kb): ids %v, want %v (sorted; *.md under kb only)", ids, want)
	}
	if _, err := knowledge.Load(fsys, "missing"); err == nil || errors.As(err, new(knowledge.ParseErrors)) {
		t.Errorf("Load(missing dir) = %v, want a plain read error", err)
	}
	if _, err := knowledge.Load(fstest.MapFS{"kb/x.txt": {}}, "kb"); err == nil || !strings.Contains(err.Error(), "no *.md articles") {
		t.Errorf("Load(dir without articles) = %v, want a no-articles error", err)
	}
}

func TestBaseIsImmutable(t *testing.T) {
	fsys := fstest.MapFS{"kb/a.md": {Data: []byte("---\nid: a\ntitle: T\nintents: [x, y]\ntags: [t]\nquestions: [q]\nanswer: A.\n---\n")}}
	b, err := knowledge.Load(fsys, "kb")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := b.Article("a")
	a.Intents[0], a.Tags[0], a.Questions[0] = "changed", "changed", "changed"
	b.Articles()[0].Intents[0] = "changed"
	b.ForIntent("x")[0].Questions[0] = "changed"
	again, _ := b.Article("a")
	if again.Intents[0] != "x" || again.Tags[0] != "t" || again.Questions[0] != "q" {
		t.Errorf("after modifying returned copies, the base has %+v", again)
	}
	if got := b.ForIntent("y"); len(got) != 1 || got[0].ID != "a" {
		t.Errorf("ForIntent(y) = %v, want [a]", got)
	}
	if got := b.ForIntent("none"); got != nil {
		t.Errorf("ForIntent(none) = %v, want nil", got)
	}
	if _, ok := b.Article("none"); ok {
		t.Error("Article(none) found something")
	}
	if got := b.Intents(); !slices.Equal(got, []string{"x", "y"}) {
		t.Errorf("Intents() = %v, want [x y]", got)
	}
}

func TestNew(t *testing.T) {
	ok := knowledge.Article{ID: "a", Title: "T", Answer: "A {order_id}."}
	if b, err := knowledge.New(ok); err != nil || b.Len() != 1 {
		t.Fatalf("New(valid) = %v, %v", b, err)
	}
	_, err := knowledge.New(ok, knowledge.Article{ID: "a", Title: "T", Answer: "B", File: "x.md", Line: 7},
		knowledge.Article{ID: "Bad", Answer: "{"})
	checkProblems(t, err, []problem{
		{"articles[2]", 0, `bad id "Bad"`},
		{"articles[2]", 0, "missing required field title"},
		{"articles[2]", 0, "unclosed {"},
		{"x.md", 7, `duplicate id "a" (first in articles[0]:0)`},
	})
	if _, err := knowledge.New(); err == nil {
		t.Error("New() with no articles: no error")
	}
}
