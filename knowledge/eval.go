package knowledge

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/parley-chat/parley/nlp"
)

// Question is one labelled customer question of an evaluation set.
type Question struct {
	Text      string
	ArticleID string // the article that answers it
	Split     string // "dev", "test" or "" (unsplit)
	Line      int    // 1-based line in the source file
}

// Splits of a question set: DEV chooses parameters, TEST only reports.
const (
	SplitDev  = "dev"
	SplitTest = "test"
)

// MaxQuestionFileBytes bounds a question file.
const MaxQuestionFileBytes = 16 << 20

// LoadQuestions reads a question file from fsys; see ParseQuestions.
func LoadQuestions(fsys fs.FS, name string) ([]Question, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("load questions: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxQuestionFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("load questions %s: %w", name, err)
	}
	return ParseQuestions(data, name)
}

// ParseQuestions parses a question CSV: a header naming the columns
// question and article_id, and optionally split (dev or test); other
// columns are ignored. Every problem (a bad id, an empty or overlong
// question, an unknown split, a malformed row) is reported at once as
// ParseErrors located by name and line.
func ParseQuestions(data []byte, name string) ([]Question, error) {
	if len(data) > MaxQuestionFileBytes {
		return nil, &ParseError{File: name, Err: fmt.Errorf("file is larger than the %d bytes allowed", MaxQuestionFileBytes)}
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\uFEFF"))))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ParseError{File: name, Line: 1, Err: errors.New("empty file: want a header with question,article_id[,split]")}
		}
		return nil, &ParseError{File: name, Line: 1, Err: err}
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.ToLower(h))] = i
	}
	qi, ok1 := col["question"]
	ai, ok2 := col["article_id"]
	si, hasSplit := col["split"]
	if !ok1 || !ok2 {
		return nil, &ParseError{File: name, Line: 1, Err: fmt.Errorf("header %q lacks the question and article_id columns", strings.Join(header, ","))}
	}
	var qs []Question
	var errs ParseErrors
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A quoting error: the reader cannot resynchronize, so stop.
			// (FieldPos would panic here: the failed record has no fields.)
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			errs = append(errs, &ParseError{File: name, Line: line, Err: err})
			break
		}
		line, _ := r.FieldPos(0)
		get := func(i int) string {
			if i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		q := Question{Text: get(qi), ArticleID: get(ai), Line: line}
		if hasSplit {
			q.Split = get(si)
		}
		bad := func(format string, args ...any) {
			errs = append(errs, &ParseError{File: name, Line: line, Err: fmt.Errorf(format, args...)})
		}
		switch _, perr := nlp.Parse(q.Text); {
		case q.Text == "":
			bad("empty question")
		case perr != nil:
			bad("question: %v", perr)
		}
		if !validID(q.ArticleID) {
			bad("bad article id %q", q.ArticleID)
		}
		if q.Split != "" && q.Split != SplitDev && q.Split != SplitTest {
			bad("unknown split %q (want %s or %s)", q.Split, SplitDev, SplitTest)
		}
		qs = append(qs, q)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if len(qs) == 0 {
		return nil, &ParseError{File: name, Line: 1, Err: errors.New("no questions")}
	}
	return qs, nil
}

// Split returns the questions of one split.
func Split(qs []Question, split string) []Question {
	var out []Question
	for _, q := range qs {
		if q.Split == split {
			out = append(out, q)
		}
	}
	return out
}

// CheckQuestions reports, located in the question file name, every
// question naming an article b does not have.
func CheckQuestions(b *Base, qs []Question, name string) error {
	var errs ParseErrors
	for _, q := range qs {
		if _, ok := b.byID[q.ArticleID]; !ok {
			errs = append(errs, &ParseError{File: name, Line: q.Line, Err: fmt.Errorf("no article %q", q.ArticleID)})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Metrics are retrieval quality over a question set.
type Metrics struct {
	Mode Mode
	N    int // questions evaluated
	// RecallAt1, RecallAt3 and RecallAt5 are the share of questions whose
	// article ranks within the first 1, 3, 5 hits; MRR is the mean of
	// 1/rank (0 when the article is not returned at all).
	RecallAt1, RecallAt3, RecallAt5, MRR float64
	// Misses are the questions whose article did not rank first.
	Misses []Miss
}

// Miss is a question whose article was not the top hit.
type Miss struct {
	Question Question
	Rank     int    // 0: not returned
	Top      string // the ID ranked first ("" when nothing was)
}

// Evaluate searches ix for every question with mode and measures where
// the labelled article ranks. A question that cannot be parsed, or names
// an article ix does not have, counts as a miss (see CheckQuestions).
func Evaluate(ix *Index, questions []Question, mode Mode) Metrics {
	return EvaluateFiltered(ix, questions, mode, nil)
}

// EvaluateFiltered is Evaluate with each question's search restricted by
// filter(q) (nil, or a nil result: no restriction), e.g. to the articles
// of the intent the classifier predicted, as the bot searches when an
// intent has several articles.
func EvaluateFiltered(ix *Index, questions []Question, mode Mode, filter func(Question) func(Article) bool) Metrics {
	m := Metrics{Mode: mode, N: len(questions)}
	if ix == nil || len(questions) == 0 {
		return m
	}
	n := len(ix.base.articles)
	var r1, r3, r5, rr float64
	for _, q := range questions {
		var hits []Hit
		var f func(Article) bool
		if filter != nil {
			f = filter(q)
		}
		if d, err := nlp.Parse(q.Text); err == nil {
			hits = ix.Search(d, n, f, mode)
		}
		rank := 1 + slices.IndexFunc(hits, func(h Hit) bool { return h.Article.ID == q.ArticleID })
		if rank > 0 {
			rr += 1 / float64(rank)
		}
		if rank == 1 {
			r1++
		}
		if rank >= 1 && rank <= 3 {
			r3++
		}
		if rank >= 1 && rank <= 5 {
			r5++
		}
		if rank != 1 {
			miss := Miss{Question: q, Rank: rank}
			if len(hits) > 0 {
				miss.Top = hits[0].Article.ID
			}
			m.Misses = append(m.Misses, miss)
		}
	}
	total := float64(len(questions))
	m.RecallAt1, m.RecallAt3, m.RecallAt5, m.MRR = r1/total, r3/total, r5/total, rr/total
	return m
}

// WriteMetrics prints metrics as an aligned table, one row per entry.
func WriteMetrics(w io.Writer, ms ...Metrics) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tN\tR@1\tR@3\tR@5\tMRR\t")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t%.1f%%\t%.1f%%\t%.3f\t\n", m.Mode, m.N, 100*m.RecallAt1, 100*m.RecallAt3, 100*m.RecallAt5, m.MRR)
	}
	return tw.Flush()
}
