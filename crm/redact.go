package crm

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parley-chat/parley/nlp"
)

// PII is a set of kinds of personal data a Redactor masks.
type PII uint8

// Kinds of personal data.
const (
	PIIEmail PII = 1 << iota
	PIICard
	PIIPhone

	PIIAll = PIIEmail | PIICard | PIIPhone
)

// Masks replace what a Redactor finds.
const (
	MaskEmail = "[email]"
	MaskCard  = "[card]"
	MaskPhone = "[phone]"
)

// Redactor masks personal data in text before it is stored. The zero
// value masks nothing; a Redactor is safe for concurrent use.
type Redactor struct {
	// Kinds are the kinds masked.
	Kinds PII
}

// NewRedactor returns a Redactor masking kinds.
func NewRedactor(kinds PII) Redactor { return Redactor{Kinds: kinds} }

// Redact masks emails, payment card numbers and phone numbers in text
// (see Redactor.Redact).
func Redact(text string) string { return Redactor{Kinds: PIIAll}.Redact(text) }

// Redact returns text with each email address, payment card number and
// phone number of r.Kinds replaced by its mask (MaskEmail, MaskCard,
// MaskPhone).
//
// Emails and phone numbers are the nlp package's entities (nlp.Entities
// on the text as given, so offsets match), which already leave order
// numbers alone: a bare 5-8 digit number is never a phone number. A card
// number is 13 to 19 digits, optionally grouped by single spaces or
// dashes, that passes the Luhn check; the check is what keeps long order
// and tracking numbers from being masked as cards (nine in ten random
// numbers fail it). Invalid UTF-8 is replaced by U+FFFD first, so the
// result is always valid UTF-8. Redact never panics and is linear in
// len(text).
func (r Redactor) Redact(text string) string {
	if r.Kinds&PIIAll == 0 || text == "" {
		return text
	}
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	var spans []span
	if r.Kinds&PIICard != 0 {
		spans = cardSpans(text)
	}
	if r.Kinds&(PIIEmail|PIIPhone) != 0 && mayHoldContact(text) {
		// Entities see the cards blanked out, as a second pass would
		// see them masked: digits left over next to a card are looked
		// at on their own.
		seen := text
		if len(spans) > 0 {
			b := []byte(text)
			for _, s := range spans {
				for i := s.start; i < s.end; i++ {
					b[i] = ' '
				}
			}
			seen = string(b)
		}
		for _, e := range nlp.Entities(nlp.Doc{Text: seen}) {
			var mask string
			switch {
			case e.Kind == nlp.KindEmail && r.Kinds&PIIEmail != 0:
				mask = MaskEmail
				e.Start = localPartStart(seen, e.Start)
			case e.Kind == nlp.KindPhone && r.Kinds&PIIPhone != 0:
				mask = MaskPhone
			default:
				continue
			}
			if !overlaps(spans, e.Start, e.End) {
				spans = append(spans, span{e.Start, e.End, mask})
			}
		}
	}
	if len(spans) == 0 {
		return text
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var b strings.Builder
	b.Grow(len(text))
	at := 0
	for _, s := range spans {
		b.WriteString(text[at:s.start])
		b.WriteString(s.mask)
		at = s.end
	}
	b.WriteString(text[at:])
	return b.String()
}

// mayHoldContact is the cheap test for what an email (an "@") or a
// phone number (seven digits) needs: most messages have neither, and
// entity extraction costs several regexp scans.
func mayHoldContact(text string) bool {
	if strings.IndexByte(text, '@') >= 0 {
		return true
	}
	digits := 0
	for i := 0; i < len(text); i++ {
		if isDigit(text[i]) {
			if digits++; digits >= 7 {
				return true
			}
		}
	}
	return false
}

// localPartStart extends an email's start back over the letters and
// digits nlp's ASCII-only pattern left out: of "müller@example.de" it
// finds "ller@example.de", and masking that would leave "mü" behind.
// Only a non-ASCII rune right before the match is left out that way:
// an ASCII one belongs to something else (the previous address, say).
func localPartStart(text string, start int) int {
	if r, _ := utf8.DecodeLastRuneInString(text[:start]); r < utf8.RuneSelf {
		return start
	}
	for start > 0 {
		r, size := utf8.DecodeLastRuneInString(text[:start])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._%+-", r) {
			break
		}
		start -= size
	}
	return start
}

// span is a masked byte range [start, end) of a text.
type span struct {
	start, end int
	mask       string
}

func overlaps(spans []span, start, end int) bool {
	for _, s := range spans {
		if start < s.end && s.start < end {
			return true
		}
	}
	return false
}

// Card numbers have 13 (old Visa) to 19 digits (ISO/IEC 7812).
const (
	minCardDigits = 13
	maxCardDigits = 19
)

// cardSpans finds Luhn-valid card numbers. It scans maximal runs of
// digits in which groups are separated by one space or dash, then looks
// for the longest whole-group sub-run of 13 to 19 digits that passes the
// Luhn check: "4111 1111 1111 1111 2" holds a card followed by a digit,
// while a 25-digit reference (one group) holds none. A run right after a
// "+" is a phone number, never a card.
func cardSpans(text string) []span {
	var out []span
	var groups []group
	for i := 0; i < len(text); {
		if !isDigit(text[i]) {
			i++
			continue
		}
		// A run starts here: collect its groups.
		groups = groups[:0]
		plus := i > 0 && text[i-1] == '+'
		j := i
		for {
			s := j
			for j < len(text) && isDigit(text[j]) {
				j++
			}
			groups = append(groups, group{s, j})
			if j+1 < len(text) && (text[j] == ' ' || text[j] == '-') && isDigit(text[j+1]) {
				j++
				continue
			}
			break
		}
		if !plus {
			out = appendCards(out, text, groups)
		}
		i = j
	}
	return out
}

type group struct{ start, end int }

// appendCards appends the card numbers within one run of digit groups:
// from left to right, the longest whole-group sub-run that is a card,
// then on after it. Sub-runs are bounded by 19 digits, so the work is
// linear in the number of groups.
func appendCards(out []span, text string, groups []group) []span {
	for lo := 0; lo < len(groups); {
		bestHi, n := -1, 0
		for hi := lo; hi < len(groups); hi++ {
			n += groups[hi].end - groups[hi].start
			if n > maxCardDigits {
				break
			}
			if n >= minCardDigits && luhn(text[groups[lo].start:groups[hi].end]) {
				bestHi = hi
			}
		}
		if bestHi < 0 {
			lo++
			continue
		}
		out = append(out, span{groups[lo].start, groups[bestHi].end, MaskCard})
		lo = bestHi + 1
	}
	return out
}

// luhn reports whether the digits of s (other bytes skipped) pass the
// Luhn checksum.
func luhn(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if !isDigit(c) {
			continue
		}
		d := int(c - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
