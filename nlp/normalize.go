package nlp

import (
	"errors"
	"fmt"
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// DefaultMaxBytes is the largest message Normalize accepts. Customer chat
// messages are short; anything this large is a paste or an attack, and the
// features and models downstream are sized for sentences, not documents.
const DefaultMaxBytes = 8 << 10

// Errors returned by Normalize. Callers use errors.Is.
var (
	// ErrEmpty means the text has nothing left after normalization
	// (empty, whitespace or control characters only).
	ErrEmpty = errors.New("empty message")
	// ErrTooLong means the raw text exceeds the size limit.
	ErrTooLong = errors.New("message too long")
)

// Normalized is the result of Normalize.
type Normalized struct {
	// Text is NFC-normalized, with control characters removed, typographic
	// quotes and dashes mapped to ASCII, HTML entities decoded and
	// whitespace collapsed. Token offsets refer to this string.
	Text string
	// Repaired reports that the input was not valid UTF-8 and invalid
	// bytes were replaced with U+FFFD.
	Repaired bool
}

// Normalize prepares raw user text for tokenization. It fails with
// ErrTooLong when len(raw) > maxBytes (maxBytes <= 0 means
// DefaultMaxBytes) and with ErrEmpty when nothing is left. Case is kept:
// folding is done per feature (see Fold) because entity extraction and
// tagging need the original case.
func Normalize(raw string, maxBytes int) (Normalized, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if len(raw) > maxBytes {
		return Normalized{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLong, len(raw), maxBytes)
	}
	var n Normalized
	if !utf8.ValidString(raw) {
		raw = strings.ToValidUTF8(raw, "\uFFFD")
		n.Repaired = true
	}
	// Slack and some web forms deliver &amp; &lt; &gt; escaped.
	// prose's tokenizer rewrites a literal "&rsquo;" itself, which would
	// break token offsets; decoding it here keeps tokens substrings.
	if strings.IndexByte(raw, '&') >= 0 {
		raw = strings.ReplaceAll(html.UnescapeString(raw), "&rsquo;", "'")
	}
	raw = norm.NFC.String(raw)

	var b strings.Builder
	b.Grow(len(raw))
	space := true // drop leading whitespace
	for _, r := range raw {
		switch {
		case unicode.IsSpace(r) || r == '\u00a0':
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		case unicode.Is(unicode.Cc, r), unicode.Is(unicode.Cf, r) && r != '\u200d':
			// Control and invisible format characters (zero-width space,
			// bidi marks) carry no meaning for us but split or hide words.
			// ZWJ stays: it joins emoji sequences.
			continue
		}
		if a, ok := asciiPunct[r]; ok {
			b.WriteString(a)
		} else {
			b.WriteRune(r)
		}
		space = false
	}
	// Removing a control character can bring two combining marks
	// together, and NFC orders them: normalize again, or a second
	// Normalize would change the text (found by FuzzNormalizeFixedPoint).
	n.Text = norm.NFC.String(strings.TrimRight(b.String(), " "))
	if n.Text == "" {
		return Normalized{}, ErrEmpty
	}
	return n, nil
}

// asciiPunct maps typographic punctuation to the ASCII forms the tokenizer
// and the training data use, so "don’t" and "don't" are one word.
var asciiPunct = map[rune]string{
	'\u2018': "'", '\u2019': "'", '\u201a': "'", '\u201b': "'", '\u2032': "'",
	'\u201c': `"`, '\u201d': `"`, '\u201e': `"`, '\u201f': `"`, '\u2033': `"`,
	'\u2010': "-", '\u2011': "-", '\u2012': "-", '\u2013': "-", '\u2014': "-", '\u2212': "-",
	'\u2026': "...",
	'\uff03': "#", '\uff20': "@",
}

// Fold returns the case-folded form of s used by features: "ORDER",
// "Order" and "order" become one feature, and so do "STRASSE" and
// "straße". ASCII takes a fast path; a cases.Caser is stateful, so the
// rare non-ASCII string gets its own.
func Fold(s string) string {
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return cases.Fold().String(s)
		}
		upper = upper || ('A' <= c && c <= 'Z')
	}
	if upper {
		return strings.ToLower(s)
	}
	return s
}
