package knowledge

import (
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
)

// Severity says whether a Problem stops a knowledge base from loading.
type Severity int

const (
	// SeverityError problems make Load fail.
	SeverityError Severity = iota
	// SeverityWarning problems load, but the bot will miss something.
	SeverityWarning
)

func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Problem is one finding of Check. Line is 0 for findings about the
// whole base (an intent no article answers).
type Problem struct {
	File     string
	Line     int
	Severity Severity
	Message  string
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	if p.Severity == SeverityWarning {
		return loc + ": warning: " + p.Message
	}
	return loc + ": " + p.Message
}

// Report is the result of Check: every problem, errors and warnings,
// sorted by file and line.
type Report struct {
	// Articles counts the article files read.
	Articles int
	Problems []Problem
}

// Errors counts the problems that make Load fail.
func (r Report) Errors() int {
	n := 0
	for _, p := range r.Problems {
		if p.Severity == SeverityError {
			n++
		}
	}
	return n
}

// Warnings counts the other problems.
func (r Report) Warnings() int { return len(r.Problems) - r.Errors() }

// OK reports whether the base loads (warnings allowed).
func (r Report) OK() bool { return r.Errors() == 0 }

// String is the report as printed by WriteTo.
func (r Report) String() string {
	var b strings.Builder
	r.WriteTo(&b)
	return b.String()
}

// WriteTo prints one "file:line: message" line per problem and a
// summary line.
func (r Report) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for _, p := range r.Problems {
		k, err := fmt.Fprintln(w, p.String())
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	k, err := fmt.Fprintf(w, "%d articles, %d errors, %d warnings\n", r.Articles, r.Errors(), r.Warnings())
	return n + int64(k), err
}

// Check reports everything Load would reject in the articles under dir,
// plus warnings about coverage against intentsNeedingAnswers: an intent
// in the list that no article names, and an article naming an intent
// not in the list (a typo, or an intent the bot never predicts). A nil
// list skips the coverage warnings. A directory that cannot be read is
// reported as an error problem too, so the report is always complete.
func Check(fsys fs.FS, dir string, intentsNeedingAnswers []string) Report {
	var r Report
	set, err := readDir(fsys, dir)
	if err != nil {
		r.Problems = append(r.Problems, Problem{File: dir, Severity: SeverityError, Message: err.Error()})
		return r
	}
	r.Articles = len(set.files)
	for _, e := range set.errs {
		r.Problems = append(r.Problems, Problem{File: e.File, Line: e.Line, Severity: SeverityError, Message: e.Err.Error()})
	}
	if len(set.files) == 0 {
		r.Problems = append(r.Problems, Problem{File: dir, Severity: SeverityError, Message: "no *.md articles"})
	}
	if intentsNeedingAnswers != nil {
		covered := map[string]bool{}
		for _, f := range set.files {
			for i, in := range f.article.Intents {
				covered[in] = true
				if !slices.Contains(intentsNeedingAnswers, in) {
					r.Problems = append(r.Problems, Problem{
						File: f.article.File, Line: f.lines.item("intents", i, 1), Severity: SeverityWarning,
						Message: fmt.Sprintf("intent %q is not one of the intents that need answers", in),
					})
				}
			}
		}
		for _, in := range intentsNeedingAnswers {
			if !covered[in] {
				r.Problems = append(r.Problems, Problem{File: dir, Severity: SeverityWarning,
					Message: fmt.Sprintf("intent %q has no article", in)})
			}
		}
	}
	slices.SortStableFunc(r.Problems, func(a, b Problem) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	return r
}
