package knowledge_test

import (
	"hash/fnv"
	"slices"
	"strings"
	"testing"

	"github.com/parley-chat/parley/intents/builtin"
	"github.com/parley-chat/parley/knowledge"
)

// dialogueIntents are the built-in intents that need no article.
var dialogueIntents = []string{"greeting", "thanks", "goodbye", "affirm", "deny", "talk_to_human"}

func TestAnswerIntentsMatchBuiltinModel(t *testing.T) {
	ds, err := builtin.Dataset(builtin.IntentTrain)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, e := range ds.Examples {
		if e.Label != "oos" && !slices.Contains(labels, e.Label) && !slices.Contains(dialogueIntents, e.Label) {
			labels = append(labels, e.Label)
		}
	}
	got := knowledge.AnswerIntents()
	slices.Sort(labels)
	slices.Sort(got)
	if !slices.Equal(got, labels) || len(got) != 32 {
		t.Errorf("AnswerIntents() = %v (%d)\nwant the built-in intents minus dialogue ones: %v (%d)", got, len(got), labels, len(labels))
	}
}

func TestBuiltin(t *testing.T) {
	b := MustBuiltin(t)
	if b.Len() < 40 {
		t.Errorf("built-in base has %d articles, want at least 40", b.Len())
	}
	r := knowledge.Check(knowledge.BuiltinFS(), knowledge.BuiltinDir, knowledge.AnswerIntents())
	if len(r.Problems) != 0 {
		t.Errorf("Check(built-in) found problems:\n%s", r)
	}
	for _, in := range knowledge.AnswerIntents() {
		if len(b.ForIntent(in)) == 0 {
			t.Errorf("intent %s has no article", in)
		}
	}
	for _, in := range dialogueIntents {
		if got := b.ForIntent(in); got != nil {
			t.Errorf("dialogue intent %s has articles %v", in, got)
		}
	}
	multi := 0
	for _, in := range knowledge.AnswerIntents() {
		if len(b.ForIntent(in)) > 1 {
			multi++
		}
	}
	if multi < 10 {
		t.Errorf("%d intents have several articles, want at least 10 (retrieval has to choose within them)", multi)
	}
	orderArticles := 0
	for _, a := range b.Articles() {
		vars := map[string]string{}
		for _, p := range a.Placeholders() {
			vars[p] = "<" + p + ">"
		}
		if slices.Contains(a.Placeholders(), "order_id") {
			orderArticles++
		}
		got, err := a.Render(vars)
		if err != nil {
			t.Errorf("%s: Render with every placeholder given: %v", a.ID, err)
			continue
		}
		if strings.ContainsAny(got, "{}") {
			t.Errorf("%s: rendered answer has a brace: %q", a.ID, got)
		}
		if len(a.Placeholders()) > 0 {
			if _, err := a.Render(nil); err == nil {
				t.Errorf("%s: Render(nil) succeeded though it needs %v", a.ID, a.Placeholders())
			}
		}
		if a.Body == "" || len(a.Questions) < 5 || len(a.Tags) == 0 {
			t.Errorf("%s: body %d bytes, %d questions, %d tags; want a body, at least 5 questions and some tags", a.ID, len(a.Body), len(a.Questions), len(a.Tags))
		}
		if want := knowledge.BuiltinDir + "/" + a.ID + ".md"; a.File != want {
			t.Errorf("%s is in %s, want %s (one file per article, named by id)", a.ID, a.File, want)
		}
	}
	if orderArticles < 3 {
		t.Errorf("%d articles use {order_id}, want at least 3", orderArticles)
	}
	again, err := knowledge.Builtin()
	if err != nil || again != b {
		t.Errorf("Builtin() a second time = %p, %v; want the same base %p", again, err, b)
	}
}

// splitOf is the rule that assigned the built-in questions to DEV and
// TEST before any tuning: FNV-1a of the question text, 1 in 4 to DEV.
func splitOf(q string) string {
	h := fnv.New32a()
	h.Write([]byte(q))
	if h.Sum32()%4 == 0 {
		return knowledge.SplitDev
	}
	return knowledge.SplitTest
}

func TestBuiltinQuestions(t *testing.T) {
	b := MustBuiltin(t)
	qs := MustQuestions(t)
	if err := knowledge.CheckQuestions(b, qs, "questions.csv"); err != nil {
		t.Fatal(err)
	}
	perArticle := map[string]int{}
	seen := map[string]int{}
	for _, q := range qs {
		if want := splitOf(q.Text); q.Split != want {
			t.Errorf("questions.csv:%d: %q is in split %q, but the split rule puts it in %q", q.Line, q.Text, q.Split, want)
		}
		if l, dup := seen[strings.ToLower(q.Text)]; dup {
			t.Errorf("questions.csv:%d: %q repeats line %d", q.Line, q.Text, l)
		}
		seen[strings.ToLower(q.Text)] = q.Line
		perArticle[q.ArticleID]++
		a, _ := b.Article(q.ArticleID)
		for _, aq := range append([]string{a.Title}, a.Questions...) {
			if strings.EqualFold(aq, q.Text) {
				t.Errorf("questions.csv:%d: %q copies the article's own title or question", q.Line, q.Text)
			}
		}
	}
	dev, test := knowledge.Split(qs, knowledge.SplitDev), knowledge.Split(qs, knowledge.SplitTest)
	if len(qs) < 200 || len(test) < 150 || len(dev) < 40 {
		t.Errorf("%d questions: %d dev, %d test; want >= 200, >= 40 dev, >= 150 test", len(qs), len(dev), len(test))
	}
	for _, a := range b.Articles() {
		if perArticle[a.ID] < 3 {
			t.Errorf("article %s has %d questions in the set, want at least 3", a.ID, perArticle[a.ID])
		}
	}
}
