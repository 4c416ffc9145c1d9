package knowledge_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/parley-chat/parley/knowledge"
)

func TestCheck(t *testing.T) {
	fsys := fstest.MapFS{
		"kb/a.md":   {Data: []byte("---\nid: a\ntitle: A\nintents:\n  - order_status\n  - order_stauts\nanswer: A.\n---\n")},
		"kb/b.md":   {Data: []byte("---\nid: b\ntitle: B\nintents: [refund_status]\nanswer: B.\n---\n")},
		"kb/bad.md": {Data: []byte("---\nid: bad\ntitle: Bad\nintents: [cancel_order]\nsummary: x\nanswer: C.\n---\n")},
	}
	r := knowledge.Check(fsys, "kb", []string{"order_status", "refund_status", "cancel_order", "warranty"})
	want := `kb: warning: intent "warranty" has no article
kb/a.md:6: warning: intent "order_stauts" is not one of the intents that need answers
kb/bad.md:5: unknown field "summary" (known: id, title, intents, tags, questions, answer)
3 articles, 1 errors, 2 warnings
`
	if got := r.String(); got != want {
		t.Errorf("Check report:\n%s\nwant:\n%s", got, want)
	}
	if r.OK() || r.Errors() != 1 || r.Warnings() != 2 || r.Articles != 3 {
		t.Errorf("OK=%v Errors=%d Warnings=%d Articles=%d; want false 1 2 3", r.OK(), r.Errors(), r.Warnings(), r.Articles)
	}
	// A broken file's intents still count as covered: cancel_order is
	// not reported missing although bad.md does not load.

	if r := knowledge.Check(fsys, "kb", nil); r.Warnings() != 0 || r.Errors() != 1 {
		t.Errorf("Check with no intent list: %d warnings, %d errors; want 0 and 1\n%s", r.Warnings(), r.Errors(), r)
	}
	r = knowledge.Check(fsys, "nowhere", nil)
	if r.OK() || !strings.Contains(r.String(), "nowhere") {
		t.Errorf("Check(missing dir) = %q, want an error naming the directory", r)
	}
}
