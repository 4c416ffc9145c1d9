package knowledge_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/parley-chat/parley/knowledge"
)

func TestParseQuestions(t *testing.T) {
	good := "question,article_id,split\n\"can I, maybe, return it\",return-policy,dev\nwhere is it,track-order,test\n"
	qs, err := knowledge.ParseQuestions([]byte(good), "q.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []knowledge.Question{
		{Text: "can I, maybe, return it", ArticleID: "return-policy", Split: "dev", Line: 2},
		{Text: "where is it", ArticleID: "track-order", Split: "test", Line: 3},
	}
	if len(qs) != len(want) || qs[0] != want[0] || qs[1] != want[1] {
		t.Errorf("ParseQuestions = %+v, want %+v", qs, want)
	}
	// Column order and extra columns do not matter; split is optional.
	qs, err = knowledge.ParseQuestions([]byte("note,article_id,question\nx,faq-1,how do I\n"), "q.csv")
	if err != nil || len(qs) != 1 || qs[0].Text != "how do I" || qs[0].ArticleID != "faq-1" || qs[0].Split != "" {
		t.Errorf("ParseQuestions(other columns) = %+v, %v", qs, err)
	}
	if got, err := knowledge.LoadQuestions(fstest.MapFS{"q.csv": {Data: []byte(good)}}, "q.csv"); err != nil || len(got) != 2 {
		t.Errorf("LoadQuestions = %v, %v", got, err)
	}
	if _, err := knowledge.LoadQuestions(fstest.MapFS{}, "q.csv"); err == nil {
		t.Error("LoadQuestions(missing file): no error")
	}

	tests := []struct {
		name string
		data string
		want []problem
	}{
		{"empty", "", []problem{{"q.csv", 1, "empty file"}}},
		{"no columns", "text,label\nhi,greeting\n", []problem{{"q.csv", 1, "lacks the question and article_id columns"}}},
		{"no rows", "question,article_id\n", []problem{{"q.csv", 1, "no questions"}}},
		{"bad rows", "question,article_id,split\n,a,dev\nok,Bad_Id,test\nok,a,train\n   ,a,\n", []problem{
			{"q.csv", 2, "empty question"},
			{"q.csv", 3, `bad article id "Bad_Id"`},
			{"q.csv", 4, `unknown split "train"`},
			{"q.csv", 5, "empty question"},
		}},
		{"too long", "question,article_id\n" + strings.Repeat("x", 9000) + ",a\n", []problem{{"q.csv", 2, "message too long"}}},
		{"quoting", "question,article_id\nok,a\n\"unclosed,a\n", []problem{{"q.csv", 3, "extraneous or missing"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := knowledge.ParseQuestions([]byte(tt.data), "q.csv")
			if err == nil {
				t.Fatalf("no error, want %v", tt.want)
			}
			// Row problems come as a ParseErrors list, file-level ones as
			// a single *ParseError.
			var list knowledge.ParseErrors
			if errors.As(err, &list) {
				checkProblems(t, err, tt.want)
				return
			}
			var pe *knowledge.ParseError
			if !errors.As(err, &pe) || pe.File != tt.want[0].file || pe.Line != tt.want[0].line || !strings.Contains(pe.Err.Error(), tt.want[0].msg) {
				t.Errorf("error %v, want %s:%d: ...%s...", err, tt.want[0].file, tt.want[0].line, tt.want[0].msg)
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	b := mustNew(t,
		knowledge.Article{ID: "shoes", Title: "shoes and boots", Answer: "x"},
		knowledge.Article{ID: "hats", Title: "hats and caps", Answer: "x"},
		knowledge.Article{ID: "refunds", Title: "refund money", Answer: "x"},
	)
	ix := MustIndex(t, b, nil, knowledge.DefaultIndexConfig())
	qs := []knowledge.Question{
		{Text: "boots", ArticleID: "shoes", Line: 2},            // rank 1
		{Text: "refund", ArticleID: "refunds", Line: 3},         // rank 1
		{Text: "caps and money", ArticleID: "hats", Line: 4},    // rank 1 or 2: ties broken by ID
		{Text: "umbrella", ArticleID: "hats", Line: 5},          // not returned
		{Text: "refund", ArticleID: "no-such-article", Line: 6}, // unknown: a miss
	}
	// Check the tie: hats < refunds, both match one term of equal idf and length.
	m := knowledge.Evaluate(ix, qs, knowledge.BM25)
	if m.N != 5 || m.Mode != knowledge.BM25 {
		t.Fatalf("Evaluate: N %d mode %v, want 5 bm25", m.N, m.Mode)
	}
	want := struct{ r1, r3, r5, mrr float64 }{3.0 / 5, 3.0 / 5, 3.0 / 5, 3.0 / 5}
	if math.Abs(m.RecallAt1-want.r1) > eps || math.Abs(m.RecallAt3-want.r3) > eps || math.Abs(m.RecallAt5-want.r5) > eps || math.Abs(m.MRR-want.mrr) > eps {
		t.Errorf("Evaluate = R@1 %v R@3 %v R@5 %v MRR %v, want %v", m.RecallAt1, m.RecallAt3, m.RecallAt5, m.MRR, want)
	}
	if len(m.Misses) != 2 || m.Misses[0].Question.Line != 5 || m.Misses[0].Rank != 0 || m.Misses[0].Top != "" ||
		m.Misses[1].Question.Line != 6 || m.Misses[1].Top != "refunds" {
		t.Errorf("misses %+v, want line 5 (not returned) and line 6 (unknown article, top refunds)", m.Misses)
	}
	if err := knowledge.CheckQuestions(b, qs, "q.csv"); err == nil || !strings.Contains(err.Error(), `q.csv:6: no article "no-such-article"`) {
		t.Errorf("CheckQuestions = %v, want q.csv:6 named", err)
	}

	// A rank-2 answer gives MRR 1/2.
	m = knowledge.Evaluate(ix, []knowledge.Question{{Text: "caps and money", ArticleID: "refunds"}}, knowledge.BM25)
	if m.RecallAt1 != 0 || m.RecallAt3 != 1 || m.MRR != 0.5 || m.Misses[0].Rank != 2 || m.Misses[0].Top != "hats" {
		t.Errorf("rank-2 question: %+v, want R@1 0, R@3 1, MRR 0.5, top hats", m)
	}
	if m := knowledge.Evaluate(nil, qs, knowledge.BM25); m.N != 5 || m.RecallAt1 != 0 {
		t.Errorf("Evaluate(nil index) = %+v", m)
	}

	var sb strings.Builder
	if err := knowledge.WriteMetrics(&sb, m); err != nil {
		t.Fatal(err)
	}
	if got := sb.String(); !strings.Contains(got, "bm25") || !strings.Contains(got, "100.0%") || !strings.Contains(got, "0.500") {
		t.Errorf("WriteMetrics = %q, want a row with bm25, 100.0%% and 0.500", got)
	}
}
