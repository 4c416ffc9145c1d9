package nlp_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parley-chat/parley/nlp"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     string
		repaired bool
	}{
		{"Plain", "where is my order", "where is my order", false},
		{"KeepsCase", "Where Is ORD-220934", "Where Is ORD-220934", false},
		{"NFC", "cafe\u0301", "caf\u00e9", false},
		{"NFCHangul", "\u1112\u1161\u11ab", "\ud55c", false},
		{"CollapseWhitespace", "  where \t is\n\n my \r\n order  ", "where is my order", false},
		{"NoBreakSpace", "a\u00a0b\u2003c", "a b c", false},
		{"ControlChars", "ab\x00c\x07d\x1b", "abcd", false},
		{"ZeroWidth", "or\u200bder\u200c \ufeffnow\u2060", "order now", false},
		{"BidiMarks", "\u200eorder\u200f \u202aabc\u202c", "order abc", false},
		{"ZWJKept", "\U0001F469\u200d\U0001F4BB", "\U0001F469\u200d\U0001F4BB", false},
		{"TypographicQuotes", "don\u2019t \u201cquote\u201d", `don't "quote"`, false},
		{"Dashes", "a\u2013b\u2014c\u2212d", "a-b-c-d", false},
		{"Ellipsis", "wait\u2026", "wait...", false},
		{"FullwidthHash", "\uff035530192", "#5530192", false},
		{"HTMLEntities", "fish &amp; chips &lt;3 &quot;x&quot;", `fish & chips <3 "x"`, false},
		{"HTMLRsquo", "don&rsquo;t", "don't", false},
		{"InvalidUTF8", "caf\xe9 ok", "caf\ufffd ok", true},
		{"InvalidUTF8Only", "\xff\xfe", "\ufffd", true},
		{"Emoji", "\U0001F621\U0001F621", "\U0001F621\U0001F621", false},
		{"Japanese", "注文は どこ", "注文は どこ", false},
		{"Arabic", "أين طلبي؟", "أين طلبي؟", false},
		{"Cyrillic", "Где  мой заказ?", "Где мой заказ?", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nlp.Normalize(tt.in, 0)
			if err != nil {
				t.Fatalf("Normalize(%q): %v", tt.in, err)
			}
			if got.Text != tt.want || got.Repaired != tt.repaired {
				t.Errorf("Normalize(%q) = %q (repaired %v), want %q (repaired %v)", tt.in, got.Text, got.Repaired, tt.want, tt.repaired)
			}
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		maxBytes int
		want     error
	}{
		{"Empty", "", 0, nlp.ErrEmpty},
		{"Spaces", "   ", 0, nlp.ErrEmpty},
		{"Whitespace", "\t\n\r\u00a0", 0, nlp.ErrEmpty},
		{"ControlAndZeroWidth", "\x00\u200b", 0, nlp.ErrEmpty},
		{"OverDefault", strings.Repeat("a", nlp.DefaultMaxBytes+1), 0, nlp.ErrTooLong},
		{"OneMegabyte", strings.Repeat("order ", 1<<20/6+1), 0, nlp.ErrTooLong},
		{"OverCustom", "where is my order", 10, nlp.ErrTooLong},
		// The limit is on raw bytes: whitespace that would be removed counts.
		{"OverCustomSpaces", "a" + strings.Repeat(" ", 10), 10, nlp.ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nlp.Normalize(tt.in, tt.maxBytes)
			if !errors.Is(err, tt.want) {
				t.Errorf("Normalize(%.20q..., %d) = %q, %v; want error %v", tt.in, tt.maxBytes, got.Text, err, tt.want)
			}
		})
	}
}

func TestNormalizeLimit(t *testing.T) {
	// Exactly at the limit is accepted.
	in := strings.Repeat("a", nlp.DefaultMaxBytes)
	if _, err := nlp.Normalize(in, 0); err != nil {
		t.Errorf("Normalize(%d bytes, 0): %v, want nil", len(in), err)
	}
	if _, err := nlp.Normalize("0123456789", 10); err != nil {
		t.Errorf("Normalize(10 bytes, 10): %v, want nil", err)
	}
}

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"order", "order"},
		{"ORDER", "order"},
		{"Order #48213", "order #48213"},
		{"Straße", "strasse"},
		{"STRASSE", "strasse"},
		{"ΣΟΦΟΣ", "σοφοσ"},
		{"Где", "где"},
		{"注文", "注文"},
		{"\U0001F621", "\U0001F621"},
	}
	for _, tt := range tests {
		if got := nlp.Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFeatureForm(t *testing.T) {
	tests := []struct{ in, want string }{
		{"order", "order"},
		{"Order", "order"},
		{"48213", "00000"},
		{"A-771204", "a-000000"},
		{"#5530192", "#0000000"},
		{"0", "0"},
		{"$12.99", "$00.00"},
		{"2nd", "0nd"},
		// Only ASCII digits map: other scripts' digits are rare and keep
		// their identity.
		{"٣", "٣"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := nlp.FeatureForm(tt.in); got != tt.want {
			t.Errorf("FeatureForm(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range corpus {
		f.Add(s)
	}
	for _, s := range []string{"", " ", "\x00\u200b", "caf\xe9", "&amp;rsquo;", "&r\u200bsquo;", "e\u0301", "\u2026\u2026", "&#0;&#x1;&#xD800;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := nlp.Normalize(s, 0)
		if err != nil {
			if !errors.Is(err, nlp.ErrEmpty) && !errors.Is(err, nlp.ErrTooLong) {
				t.Fatalf("Normalize(%q): unexpected error %v", s, err)
			}
			return
		}
		if !utf8.ValidString(n.Text) {
			t.Fatalf("Normalize(%q) = %q: invalid UTF-8", s, n.Text)
		}
		if n.Text == "" || n.Text != strings.TrimSpace(n.Text) || strings.Contains(n.Text, "  ") {
			t.Fatalf("Normalize(%q) = %q: empty, untrimmed or uncollapsed", s, n.Text)
		}
		if n.Repaired == utf8.ValidString(s) {
			t.Fatalf("Normalize(%q): Repaired = %v for valid = %v input", s, n.Repaired, utf8.ValidString(s))
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(corpusBytes())
	for b.Loop() {
		for _, s := range corpus {
			if _, err := nlp.Normalize(s, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportPerMessage(b)
}

// reportPerMessage adds the time per corpus message: an op is one pass
// over the corpus.
func reportPerMessage(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(corpus)), "ns/msg")
}
