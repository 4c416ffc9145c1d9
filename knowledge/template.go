package knowledge

import (
	"fmt"
	"slices"
	"strings"
)

// MaxPlaceholderBytes bounds a placeholder's name.
const MaxPlaceholderBytes = 64

// MissingValueError is returned by Render when placeholders have no
// value. Names lists them in order of first use, so the caller (the bot)
// can ask the customer for exactly those.
type MissingValueError struct {
	Article string // the article's ID
	Names   []string
}

func (e *MissingValueError) Error() string {
	return fmt.Sprintf("article %s: no value for %s", e.Article, strings.Join(quoteAll(e.Names), ", "))
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "{" + s + "}"
	}
	return out
}

// segment is one piece of a parsed template: literal text, or a
// placeholder when name is set.
type segment struct {
	text string
	name string
}

// TemplateError is a malformed answer template. Offset is the byte
// offset in the template where the problem starts.
type TemplateError struct {
	Offset int
	Msg    string
}

func (e *TemplateError) Error() string { return fmt.Sprintf("at byte %d: %s", e.Offset, e.Msg) }

// parseTemplate splits s into literals and placeholders. {name} is a
// placeholder (name: a letter or underscore, then letters, digits or
// underscores, as entity kinds like order_id and PERSON are); {{ and }}
// are literal braces. Anything else with a brace is an error rather than
// text, so a typo like "{order_id" is caught when the article is loaded,
// not shown to a customer.
func parseTemplate(s string) ([]segment, error) {
	var segs []segment
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, segment{text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i += 2
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i += 2
		case c == '}':
			return nil, &TemplateError{i, "unmatched }: write }} for a literal brace"}
		case c == '{':
			end := strings.IndexByte(s[i+1:], '}')
			if end < 0 {
				return nil, &TemplateError{i, "unclosed {: write {{ for a literal brace"}
			}
			name := s[i+1 : i+1+end]
			if err := checkPlaceholderName(name); err != nil {
				return nil, &TemplateError{i, err.Error()}
			}
			flush()
			segs = append(segs, segment{name: name})
			i += end + 2
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return segs, nil
}

func checkPlaceholderName(name string) error {
	if name == "" {
		return fmt.Errorf("empty placeholder {}")
	}
	if len(name) > MaxPlaceholderBytes {
		return fmt.Errorf("placeholder name longer than %d bytes", MaxPlaceholderBytes)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return fmt.Errorf("bad placeholder name %q: use letters, digits and underscores, starting with a letter", name)
		}
	}
	return nil
}

// Placeholders returns the names of the placeholders in the article's
// answer, each once, in order of first use. A malformed answer (only
// possible for an Article built by hand, not loaded) gives the names
// before the problem; Render reports the problem itself.
func (a Article) Placeholders() []string {
	segs, _ := parseTemplatePrefix(a.Answer)
	var names []string
	for _, s := range segs {
		if s.name != "" && !slices.Contains(names, s.name) {
			names = append(names, s.name)
		}
	}
	return names
}

// parseTemplatePrefix is parseTemplate that keeps what it parsed before
// an error.
func parseTemplatePrefix(s string) ([]segment, error) {
	segs, err := parseTemplate(s)
	if err == nil {
		return segs, nil
	}
	te, ok := err.(*TemplateError)
	if !ok {
		return nil, err
	}
	segs, _ = parseTemplate(s[:te.Offset])
	return segs, err
}

// Render returns the article's answer with its placeholders filled from
// vars, keyed by placeholder name (entity kinds such as order_id, email,
// PERSON, or slot names). Values are inserted as they are: escaping for
// a channel (HTML in the web chat) is the channel's job. A placeholder
// whose value is missing or empty makes Render fail with a
// *MissingValueError listing every such name; a malformed answer fails
// with a *TemplateError.
func (a Article) Render(vars map[string]string) (string, error) {
	segs, err := parseTemplate(a.Answer)
	if err != nil {
		return "", fmt.Errorf("article %s: answer: %w", a.ID, err)
	}
	var b strings.Builder
	var missing []string
	for _, s := range segs {
		if s.name == "" {
			b.WriteString(s.text)
			continue
		}
		v := vars[s.name]
		if v == "" {
			if !slices.Contains(missing, s.name) {
				missing = append(missing, s.name)
			}
			continue
		}
		b.WriteString(v)
	}
	if missing != nil {
		return "", &MissingValueError{Article: a.ID, Names: missing}
	}
	return b.String(), nil
}
