package knowledge

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parley-chat/parley/nlp"
)

// analyzer turns tokens into index terms. A token (from nlp's tokenizer)
// is case-folded with nlp.Fold and split at anything that is not a
// letter or digit, so Markdown markup, URLs and e-mail addresses break
// into words; a hyphenated token also gives its parts joined ("pick-up"
// gives pick, up and pickup; "e-mail" also email). Parts of a single
// letter are dropped (the "s" of "'s", the "t" of "n't"). Then, as
// configured, stop words are dropped and the rest are Porter-stemmed.
type analyzer struct {
	stopWords bool // drop stopWords
	stem      bool
}

// stopWords are function words with no topical content: pronouns,
// articles, auxiliaries, prepositions and the pieces prose's tokenizer
// splits contractions into ("ca" of "can't", "wo" of "won't"). Words
// that carry a request ("cancel", "stop") or a direction that matters
// here ("off", "out", "back", "not") are kept.
var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`
		a an the and or but if then so than as of at by for from in into on onto to with
		about over under between through during before after above below
		i me my mine myself you your yours yourself we us our ours he him his she her hers
		it its itself they them their theirs this that these those there here
		am is are was were be been being do does did doing have has had having
		can could would should will shall may might must
		what which who whom whose when where why how
		just very too also only own same such each both all any some
		ca wo ve ll re im pls please hi hello hey thanks thank u ur`) {
		stopWords[w] = true
	}
}

// appendTerms appends the terms of one token to dst.
func (an analyzer) appendTerms(dst []string, tok string) []string {
	f := nlp.Fold(tok)
	if isWord(f) {
		// The common case: one plain word, no splitting.
		return an.appendPart(dst, f)
	}
	hyphen := strings.IndexByte(f, '-') >= 0
	var joined strings.Builder
	parts := 0
	for len(f) > 0 {
		i := strings.IndexFunc(f, isWordRune)
		if i < 0 {
			break
		}
		f = f[i:]
		j := strings.IndexFunc(f, func(r rune) bool { return !isWordRune(r) })
		if j < 0 {
			j = len(f)
		}
		part := f[:j]
		f = f[j:]
		dst = an.appendPart(dst, part)
		if hyphen {
			joined.WriteString(part)
			parts++
		}
	}
	if hyphen && parts > 1 {
		dst = an.appendPart(dst, joined.String())
	}
	return dst
}

func (an analyzer) appendPart(dst []string, part string) []string {
	if utf8.RuneCountInString(part) < 2 && !isDigits(part) {
		return dst
	}
	if an.stopWords && stopWords[part] {
		return dst
	}
	if an.stem {
		part = stem(part)
	}
	return append(dst, part)
}

// docTerms returns the terms of a document's tokens.
func (an analyzer) docTerms(d nlp.Doc) []string {
	var terms []string
	for _, t := range d.Tokens {
		terms = an.appendTerms(terms, t.Text)
	}
	return terms
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func isWord(s string) bool {
	for _, r := range s {
		if !isWordRune(r) {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
