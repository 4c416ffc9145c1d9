package crm_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parley-chat/parley/crm"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"nothing", "where is my parcel?", "where is my parcel?"},
		{"email", "mail me at Jane.Doe+shop@example.co.uk please", "mail me at [email] please"},
		{"two emails", "a@b.io or c.d@e-f.com", "[email] or [email]"},
		{"card plain", "card 4111111111111111 exp 12/27", "card [card] exp 12/27"},
		{"card spaces", "it's 4111 1111 1111 1111.", "it's [card]."},
		{"card dashes", "5500-0000-0000-0004 was charged", "[card] was charged"},
		{"amex 15 digits", "amex 3782 822463 10005", "amex [card]"},
		{"visa 13 digits", "old card 4222222222222", "old card [card]"},
		{"19 digits", "card 6011 0009 9013 9420 007?", "card [card]?"},
		{"20 digits is no card", "ref 60110009901394200070", "ref 60110009901394200070"},
		{"luhn invalid 16 digits", "ref 4111111111111112", "ref 4111111111111112"},
		{"card then a digit", "4111 1111 1111 1111 2 items", "[card] 2 items"},
		{"25 digit reference", "ref 1234567890123456789012345", "ref 1234567890123456789012345"},
		{"order number", "my order 48213 hasn't arrived", "my order 48213 hasn't arrived"},
		{"order numbers 5-8 digits", "orders 55301 and 5530192 and 12345678", "orders 55301 and 5530192 and 12345678"},
		{"prefixed order", "ORD-220934 and #5530192", "ORD-220934 and #5530192"},
		{"phone intl", "call +44 20 7946 0958 today", "call [phone] today"},
		{"phone us", "my number is (415) 555-2671", "my number is [phone]"},
		{"phone dotted", "555.123.4567", "[phone]"},
		{"plus is never a card", "+4111111111111111", "+4111111111111111"},
		{"swiss phone", "reach me: +41 79 123 45 67", "reach me: [phone]"},
		{"date is not a phone", "delivered 2026-03-03", "delivered 2026-03-03"},
		{"price", "it cost $1,299.99", "it cost $1,299.99"},
		{"all kinds", "jo@x.org, 4111-1111-1111-1111, +1 415 555 2671",
			"[email], [card], [phone]"},
		{"unicode around", "Grüße: müller@example.de ☎ +49 30 901820", "Grüße: [email] ☎ [phone]"},
		{"invalid utf-8", "bad \xff byte a@b.io", "bad \uFFFD byte [email]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := crm.Redact(tt.in); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactorKinds(t *testing.T) {
	const in = "jo@x.org 4111111111111111 +1 415 555 2671 order 48213"
	tests := []struct {
		kinds crm.PII
		want  string
	}{
		{0, in},
		{crm.PIIEmail, "[email] 4111111111111111 +1 415 555 2671 order 48213"},
		{crm.PIICard, "jo@x.org [card] +1 415 555 2671 order 48213"},
		{crm.PIIPhone, "jo@x.org 4111111111111111 [phone] order 48213"},
		{crm.PIIEmail | crm.PIIPhone, "[email] 4111111111111111 [phone] order 48213"},
		{crm.PIIAll, "[email] [card] [phone] order 48213"},
	}
	for _, tt := range tests {
		if got := crm.NewRedactor(tt.kinds).Redact(in); got != tt.want {
			t.Errorf("Redactor{%03b}.Redact(%q) = %q, want %q", tt.kinds, in, got, tt.want)
		}
	}
}

func TestRedactLongRunsAreLinear(t *testing.T) {
	// Thousands of one-digit groups: the card search must stay linear.
	in := strings.Repeat("1 ", 8000)
	got := crm.Redact(in)
	if !utf8.ValidString(got) || len(got) > len(in) {
		t.Fatalf("Redact(8000 groups) = %d bytes, want valid UTF-8 no longer than %d", len(got), len(in))
	}
}

func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"", "a@b.io", "4111 1111 1111 1111", "+44 20 7946 0958", "order 48213",
		"\xff\xfe", "1-2-3-4-5-6-7-8-9-0-1-2-3-4", "x@y.zz@w.com 5500-0000-0000-0004",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := crm.Redact(in)
		if !utf8.ValidString(out) {
			t.Fatalf("Redact(%q) = %q: not valid UTF-8", in, out)
		}
		// Each mask replaces at least 6 bytes ("a@b.io", a 7-digit phone,
		// a 13-digit card) with at most 7, so the output grows by at most
		// one byte per mask over the repaired input.
		repaired := strings.ToValidUTF8(in, "\uFFFD")
		masks := strings.Count(out, crm.MaskEmail) + strings.Count(out, crm.MaskCard) + strings.Count(out, crm.MaskPhone)
		if len(out) > len(repaired)+masks {
			t.Fatalf("Redact(%q) = %q: %d bytes from %d with %d masks", in, out, len(out), len(repaired), masks)
		}
		// Redact only replaces spans: what lies between the masks is the
		// input's text, in order. (It is not idempotent: whether digits
		// are a phone number depends on what is next to them, and a mask
		// changes that.)
		rest := repaired
		for _, seg := range maskRE.Split(out, -1) {
			i := strings.Index(rest, seg)
			if i < 0 {
				t.Fatalf("Redact(%q) = %q: %q is not from the input", in, out, seg)
			}
			rest = rest[i+len(seg):]
		}
	})
}

var maskRE = regexp.MustCompile(`\[(?:email|card|phone)\]`)

func BenchmarkRedact(b *testing.B) {
	msgs := []string{
		"hi, where is my order 48213? it was due yesterday",
		"my card 4111 1111 1111 1111 was charged twice, call me on +44 20 7946 0958 or mail jo@example.com",
		"thanks, that's all",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		crm.Redact(msgs[i%len(msgs)])
	}
}
