package knowledge

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Article is one entry of the knowledge base.
type Article struct {
	// ID names the article: lowercase letters, digits and single dashes
	// ("return-policy"), unique in its base.
	ID string
	// Title is the article's heading, shown with the answer.
	Title string
	// Intents are the intents the article answers; the bot uses
	// Base.ForIntent to find it for a confident prediction.
	Intents []string
	// Tags are keywords, indexed for retrieval.
	Tags []string
	// Questions are ways customers ask for the article, indexed (lexically
	// and by embedding) but never shown.
	Questions []string
	// Answer is the short answer for chat; it may hold {placeholders}
	// (see Render).
	Answer string
	// Body is the full article in Markdown.
	Body string
	// File is the article's path in the file system it was loaded from,
	// and Line the 1-based line of its id field there.
	File string
	Line int
}

// clone returns a copy that shares no slices with a.
func (a Article) clone() Article {
	a.Intents = slices.Clone(a.Intents)
	a.Tags = slices.Clone(a.Tags)
	a.Questions = slices.Clone(a.Questions)
	return a
}

// Bounds on an article. Larger values are a mistake or hostile, and a
// clear error beats a bloated chat reply or index.
const (
	MaxFileBytes        = 256 << 10 // one article file
	MaxFrontMatterBytes = 64 << 10
	MaxIDBytes          = 64
	MaxTitleBytes       = 200
	MaxAnswerBytes      = 2000
	MaxIntents          = 16
	MaxIntentBytes      = 128
	MaxTags             = 32
	MaxTagBytes         = 64
	MaxQuestions        = 64
	MaxQuestionBytes    = 300
	MaxArticles         = 10000 // one base
)

// fieldLines records where an article's fields are, for error messages:
// the line of each field's key and of each list item.
type fieldLines struct {
	field map[string]int
	items map[string][]int
}

func (fl fieldLines) line(field string, fallback int) int {
	if l := fl.field[field]; l > 0 {
		return l
	}
	return fallback
}

func (fl fieldLines) item(field string, i, fallback int) int {
	if ls := fl.items[field]; i < len(ls) {
		return ls[i]
	}
	return fl.line(field, fallback)
}

// validate checks the values of a's fields (the front matter parser has
// already checked their shapes) and returns every problem, located with
// lines (start is the line to blame when a field is absent). Fields in
// skip were reported already, so one mistake gives one message.
func validate(a Article, lines fieldLines, start int, skip map[string]bool) []*ParseError {
	var errs []*ParseError
	add := func(line int, format string, args ...any) {
		errs = append(errs, &ParseError{File: a.File, Line: line, Err: fmt.Errorf(format, args...)})
	}
	str := func(field, v string, max int) bool {
		switch {
		case skip[field]:
		case strings.TrimSpace(v) == "":
			if lines.field[field] > 0 {
				add(lines.field[field], "field %s is empty", field)
			} else {
				add(start, "missing required field %s", field)
			}
		case len(v) > max:
			add(lines.line(field, start), "field %s is %d bytes, more than the %d allowed", field, len(v), max)
		case !utf8.ValidString(v):
			add(lines.line(field, start), "field %s is not valid UTF-8", field)
		default:
			return true
		}
		return false
	}
	if str("id", a.ID, MaxIDBytes) && !validID(a.ID) {
		add(lines.line("id", start), "bad id %q: use lowercase letters, digits and single dashes, like return-policy", a.ID)
	}
	str("title", a.Title, MaxTitleBytes)
	if str("answer", a.Answer, MaxAnswerBytes) {
		if _, err := parseTemplate(a.Answer); err != nil {
			add(lines.line("answer", start), "field answer: %v", err)
		}
	}
	list := func(field string, vs []string, maxN, maxBytes int, word func(string) bool, what string) {
		if skip[field] {
			return
		}
		if len(vs) > maxN {
			add(lines.line(field, start), "field %s has %d entries, more than the %d allowed", field, len(vs), maxN)
			return
		}
		for i, v := range vs {
			l := lines.item(field, i, start)
			switch {
			case strings.TrimSpace(v) == "":
				add(l, "field %s: entry %d is empty", field, i+1)
			case len(v) > maxBytes:
				add(l, "field %s: entry %d is %d bytes, more than the %d allowed", field, i+1, len(v), maxBytes)
			case !utf8.ValidString(v):
				add(l, "field %s: entry %d is not valid UTF-8", field, i+1)
			case word != nil && !word(v):
				add(l, "field %s: bad %s %q", field, what, v)
			case slices.Contains(vs[:i], v):
				add(l, "field %s: %q is listed twice", field, v)
			}
		}
	}
	list("intents", a.Intents, MaxIntents, MaxIntentBytes, validIntent, "intent name (letters, digits, _ . -; no spaces)")
	list("tags", a.Tags, MaxTags, MaxTagBytes, nil, "")
	list("questions", a.Questions, MaxQuestions, MaxQuestionBytes, nil, "")
	if len(a.Body) > MaxFileBytes {
		add(start, "body is %d bytes, more than the %d allowed", len(a.Body), MaxFileBytes)
	} else if !utf8.ValidString(a.Body) {
		add(start, "body is not valid UTF-8")
	}
	return errs
}

// validID reports whether id is lowercase letters and digits in groups
// separated by single dashes: ids end up in URLs and log lines.
func validID(id string) bool {
	if id == "" || id[0] == '-' || id[len(id)-1] == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' && id[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

// validIntent accepts the label names intents datasets use.
func validIntent(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c == '_' || c == '.' || c == '-' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
		if !ok {
			return false
		}
	}
	return s != ""
}
