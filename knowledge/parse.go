package knowledge

import (
	"bytes"
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// ParseError is one problem in an article file, located by file and
// 1-based line (0 when it concerns the whole file).
type ParseError struct {
	File string
	Line int
	Err  error
}

func (e *ParseError) Error() string {
	if e.Line <= 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// ParseErrors is every problem found in a set of article files, sorted
// by file and line. errors.As finds the list and each *ParseError in it.
type ParseErrors []*ParseError

func (l ParseErrors) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is and errors.As look at each problem.
func (l ParseErrors) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

func sortErrors(errs []*ParseError) {
	slices.SortStableFunc(errs, func(a, b *ParseError) int {
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
}

// knownFields are the front matter's fields, in the order errors list them.
var knownFields = []string{"id", "title", "intents", "tags", "questions", "answer"}

// frontMatterStart is the file line of the front matter's first YAML
// line: line 1 is the opening ---.
const frontMatterStart = 2

// parseArticle parses one article file. It returns the article with
// every field that could be read (even when there are errors, so that
// Check can still see which intents the file covers), where its fields
// are, and every problem found.
func parseArticle(file string, data []byte) (Article, fieldLines, []*ParseError) {
	a := Article{File: file, Line: 1}
	lines := fieldLines{field: map[string]int{}, items: map[string][]int{}}
	var errs []*ParseError
	fail := func(line int, format string, args ...any) {
		errs = append(errs, &ParseError{File: file, Line: line, Err: fmt.Errorf(format, args...)})
	}
	if len(data) > MaxFileBytes {
		fail(0, "file is %d bytes, more than the %d allowed", len(data), MaxFileBytes)
		return a, lines, errs
	}
	if !utf8.Valid(data) {
		fail(invalidUTF8Line(data), "not valid UTF-8")
		return a, lines, errs
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	// CRLF files keep their line numbers with \r dropped.
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))

	first, rest, _ := bytes.Cut(data, []byte("\n"))
	if string(bytes.TrimRight(first, " \t")) != "---" {
		fail(1, "missing front matter: the file must start with a --- line")
		return a, lines, errs
	}
	fm, body, ok := cutDelimiter(rest)
	if !ok {
		fail(1, "front matter not closed: no --- line after this one")
		return a, lines, errs
	}
	if len(fm) > MaxFrontMatterBytes {
		fail(1, "front matter is %d bytes, more than the %d allowed", len(fm), MaxFrontMatterBytes)
		return a, lines, errs
	}
	a.Body = strings.TrimSpace(string(body))

	root, err := decodeYAML(fm)
	if err != nil {
		line, msg := yamlError(err)
		fail(line, "front matter: %s", msg)
		return a, lines, errs
	}
	var m *yaml.Node
	switch {
	case root == nil:
		// Empty front matter: validate reports the missing fields.
	case root.Kind == yaml.MappingNode:
		m = root
	default:
		fail(root.Line+frontMatterStart-1, "front matter must be a mapping of fields (%s), not %s", strings.Join(knownFields, ", "), kindName(root))
		return a, lines, errs
	}
	seen := map[string]int{}
	badShape := map[string]bool{} // reported already: validate skips them
	for i := 0; m != nil && i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		kl := k.Line + frontMatterStart - 1
		vl := v.Line + frontMatterStart - 1
		if k.Kind != yaml.ScalarNode {
			fail(kl, "field names must be plain words, not %s", kindName(k))
			continue
		}
		name := k.Value
		if !slices.Contains(knownFields, name) {
			fail(kl, "unknown field %q (known: %s)", name, strings.Join(knownFields, ", "))
			continue
		}
		if first, dup := seen[name]; dup {
			fail(kl, "field %s given twice (first on line %d)", name, first)
			continue
		}
		seen[name] = kl
		lines.field[name] = kl
		switch name {
		case "id", "title", "answer":
			s, msg := scalar(v)
			if msg != "" {
				fail(vl, "field %s %s", name, msg)
				badShape[name] = true
				continue
			}
			switch name {
			case "id":
				a.ID, a.Line = strings.TrimSpace(s), kl
			case "title":
				a.Title = strings.TrimSpace(s)
			case "answer":
				a.Answer = strings.TrimSpace(s)
			}
		default:
			items, itemLines, bad := sequence(v, frontMatterStart-1)
			for _, b := range bad {
				fail(b.line, "field %s%s", name, b.msg)
			}
			if bad != nil {
				badShape[name] = true
				continue
			}
			lines.items[name] = itemLines
			switch name {
			case "intents":
				a.Intents = items
			case "tags":
				a.Tags = items
			case "questions":
				a.Questions = items
			}
		}
	}
	errs = append(errs, validate(a, lines, 1, badShape)...)
	return a, lines, errs
}

// cutDelimiter splits rest at the first line that is exactly --- (the
// closing delimiter), returning what is before and after that line.
func cutDelimiter(rest []byte) (before, after []byte, ok bool) {
	off := 0
	for off <= len(rest) {
		line, _, _ := bytes.Cut(rest[off:], []byte("\n"))
		if string(bytes.TrimRight(line, " \t")) == "---" {
			end := off + len(line) + 1
			if end > len(rest) {
				end = len(rest)
			}
			return rest[:off], rest[end:], true
		}
		if off+len(line) >= len(rest) {
			break
		}
		off += len(line) + 1
	}
	return nil, nil, false
}

// decodeYAML parses the front matter into a node tree (nil when empty).
// yaml.v3 has had panics on malformed input (CVE-2022-28948, fixed in
// the v3.0.1 we use); the recover turns any that remain into an error,
// since an article file must never take the process down.
func decodeYAML(src []byte) (root *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("yaml: line 1: the YAML parser failed: %v", r)
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	if n := findAlias(doc.Content[0], 0); n != nil {
		// Aliases would let a small file expand into a huge one, and
		// articles have no use for them.
		return nil, fmt.Errorf("yaml: line %d: aliases (*name) are not allowed in front matter", n.Line)
	}
	return doc.Content[0], nil
}

func findAlias(n *yaml.Node, depth int) *yaml.Node {
	if n.Kind == yaml.AliasNode || depth > 64 {
		return n
	}
	for _, c := range n.Content {
		if a := findAlias(c, depth+1); a != nil {
			return a
		}
	}
	return nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are the messages of yaml.v3's parser (as opposed to
// its scanner). yaml.v3 v3.0.1 reports the line of a parser error
// 0-based and of a scanner error 1-based (decode.go, parser.fail), and
// leaves the line out when it is 0; the parser's line is the start of
// the construct that failed, e.g. the [ of an unclosed list.
var yamlParserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// yamlError turns a yaml.v3 error into a file line and a message. The
// front matter starts on line 2 of the file.
func yamlError(err error) (int, string) {
	msg := err.Error()
	m := yamlLineRE.FindStringSubmatch(msg)
	if m == nil {
		// No line: yaml.v3 leaves it out for the first line.
		return frontMatterStart, strings.TrimPrefix(msg, "yaml: ")
	}
	n, convErr := strconv.Atoi(m[1])
	if convErr != nil {
		return frontMatterStart, m[2]
	}
	if slices.Contains(yamlParserProblems, m[2]) {
		n++ // 0-based
	}
	return n + frontMatterStart - 1, m[2]
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return "a single value"
	}
	return "an unknown node"
}

// scalar reads a string field. Any non-null scalar counts (an id of 404
// or a title of "yes" is what the author wrote); a problem comes back as
// the rest of an error message.
func scalar(v *yaml.Node) (string, string) {
	if v.Kind != yaml.ScalarNode {
		return "", "must be text, not " + kindName(v)
	}
	if v.Tag == "!!null" {
		return "", ""
	}
	return v.Value, ""
}

type itemProblem struct {
	line int
	msg  string
}

// sequence reads a list-of-strings field; empty (null) means no entries.
func sequence(v *yaml.Node, offset int) ([]string, []int, []itemProblem) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil, nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, nil, []itemProblem{{v.Line + offset, " must be a list like [a, b], not " + kindName(v)}}
	}
	var items []string
	var lines []int
	var bad []itemProblem
	for i, it := range v.Content {
		if it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
			bad = append(bad, itemProblem{it.Line + offset, fmt.Sprintf(": entry %d must be text, not %s", i+1, kindName(it))})
			continue
		}
		items = append(items, strings.TrimSpace(it.Value))
		lines = append(lines, it.Line+offset)
	}
	return items, lines, bad
}

// invalidUTF8Line is the 1-based line of the first invalid UTF-8 byte.
func invalidUTF8Line(data []byte) int {
	line := 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		data = data[size:]
	}
	return line
}
