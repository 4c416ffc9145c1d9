package knowledge

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// Base is a loaded knowledge base. It is immutable: accessors return
// copies, so a Base is safe for concurrent use.
type Base struct {
	articles []Article        // sorted by ID
	byID     map[string]int   // ID -> index in articles
	byIntent map[string][]int // intent -> indexes, in ID order
}

// Load reads every *.md file under dir in fsys (subdirectories too) as
// an article. A file is YAML front matter between two --- lines, then
// the Markdown body:
//
//	---
//	id: return-policy            # required: lowercase letters, digits, dashes
//	title: Returning an item     # required
//	intents: [return_item]       # optional: the intents it answers
//	tags: [returns, refunds]     # optional: indexed keywords
//	questions:                   # optional: how customers ask (indexed, not shown)
//	  - can I send this back
//	answer: >                    # required: the short answer; {placeholders} allowed
//	  You can return most items within 30 days ...
//	---
//	Full body in Markdown ...
//
// Unknown fields, fields given twice, wrong types, bad ids, malformed
// placeholders, oversized values and duplicate ids across files are
// errors. Load checks every file before giving up and returns all
// problems at once as ParseErrors, each a *ParseError with file (the
// path in fsys) and line. Reading errors are returned as they are,
// wrapped. A directory with no articles is an error too.
func Load(fsys fs.FS, dir string) (*Base, error) {
	set, err := readDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	if len(set.errs) > 0 {
		return nil, ParseErrors(set.errs)
	}
	if len(set.articles) == 0 {
		return nil, fmt.Errorf("load knowledge base: no *.md articles under %s", dir)
	}
	return newBase(set.articles), nil
}

// New builds a Base from articles made in code (a generated or imported
// knowledge base), checked by the same rules as Load, with errors
// located at each article's File and Line.
func New(articles ...Article) (*Base, error) {
	if len(articles) > MaxArticles {
		return nil, fmt.Errorf("new knowledge base: %d articles, more than the %d allowed", len(articles), MaxArticles)
	}
	if len(articles) == 0 {
		return nil, errors.New("new knowledge base: no articles")
	}
	var errs []*ParseError
	first := map[string]Article{}
	out := make([]Article, 0, len(articles))
	for i, a := range articles {
		a = a.clone()
		loc := a // where errors point: File, or the position in the call
		if loc.File == "" {
			loc.File = fmt.Sprintf("articles[%d]", i)
		}
		errs = append(errs, validate(loc, fieldLines{}, a.Line, nil)...)
		if f, dup := first[a.ID]; dup && a.ID != "" {
			errs = append(errs, duplicateError(loc, a.Line, f))
		} else {
			first[a.ID] = loc
		}
		out = append(out, a)
	}
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, ParseErrors(errs)
	}
	return newBase(out), nil
}

func duplicateError(a Article, line int, first Article) *ParseError {
	return &ParseError{File: a.File, Line: line, Err: fmt.Errorf("duplicate id %q (first in %s:%d)", a.ID, first.File, first.Line)}
}

func newBase(articles []Article) *Base {
	slices.SortFunc(articles, func(a, b Article) int { return strings.Compare(a.ID, b.ID) })
	b := &Base{articles: articles, byID: make(map[string]int, len(articles)), byIntent: map[string][]int{}}
	for i, a := range articles {
		b.byID[a.ID] = i
		for _, in := range a.Intents {
			b.byIntent[in] = append(b.byIntent[in], i)
		}
	}
	return b
}

// parsedFile is one article file as read, with its problems.
type parsedFile struct {
	article Article
	lines   fieldLines
	errs    []*ParseError
}

// articleSet is what readDir found: parsed files, the articles that
// parsed cleanly, and every problem (sorted).
type articleSet struct {
	files    []parsedFile
	articles []Article
	errs     []*ParseError
}

// readDir parses every article under dir. Only failures to read the
// directory itself are returned as an error; everything about the files
// goes into the set.
func readDir(fsys fs.FS, dir string) (articleSet, error) {
	var set articleSet
	var names []string
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && path.Ext(p) == ".md" {
			names = append(names, p)
			if len(names) > MaxArticles {
				return fmt.Errorf("more than %d article files", MaxArticles)
			}
		}
		return nil
	})
	if err != nil {
		return set, fmt.Errorf("load knowledge base %s: %w", dir, err)
	}
	first := map[string]Article{}
	for _, name := range names {
		data, err := readBounded(fsys, name)
		if err != nil {
			set.errs = append(set.errs, &ParseError{File: name, Err: err})
			continue
		}
		a, lines, errs := parseArticle(name, data)
		if a.ID != "" && validID(a.ID) {
			if f, dup := first[a.ID]; dup {
				errs = append(errs, duplicateError(a, a.Line, f))
			} else {
				first[a.ID] = a
			}
		}
		set.files = append(set.files, parsedFile{a, lines, errs})
		set.errs = append(set.errs, errs...)
		if len(errs) == 0 {
			set.articles = append(set.articles, a)
		}
	}
	sortErrors(set.errs)
	return set, nil
}

// readBounded reads a file, refusing one larger than MaxFileBytes
// without reading it all.
func readBounded(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("file is larger than the %d bytes allowed", MaxFileBytes)
	}
	return data, nil
}

// Len is the number of articles.
func (b *Base) Len() int { return len(b.articles) }

// Articles returns every article, sorted by ID.
func (b *Base) Articles() []Article {
	out := make([]Article, len(b.articles))
	for i, a := range b.articles {
		out[i] = a.clone()
	}
	return out
}

// Article returns the article with the given ID.
func (b *Base) Article(id string) (Article, bool) {
	i, ok := b.byID[id]
	if !ok {
		return Article{}, false
	}
	return b.articles[i].clone(), true
}

// ForIntent returns the articles that name intent, sorted by ID; none
// for an intent no article names.
func (b *Base) ForIntent(intent string) []Article {
	idx := b.byIntent[intent]
	if len(idx) == 0 {
		return nil
	}
	out := make([]Article, len(idx))
	for i, j := range idx {
		out[i] = b.articles[j].clone()
	}
	return out
}

// Intents returns the intents articles name, sorted.
func (b *Base) Intents() []string {
	out := make([]string, 0, len(b.byIntent))
	for in := range b.byIntent {
		out = append(out, in)
	}
	slices.Sort(out)
	return out
}
