package nlp_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parley-chat/parley/nlp"
)

func TestParseTokens(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // token texts; nil: check offsets only
	}{
		{"English", "Where is my order? I need it.", []string{"Where", "is", "my", "order", "?", "I", "need", "it", "."}},
		{"Dont", "I don't know", []string{"I", "do", "n't", "know"}},
		{"Ill", "I'll wait", []string{"I", "'ll", "wait"}},
		{"Wont", "it won't arrive", []string{"it", "wo", "n't", "arrive"}},
		{"TypographicApostrophe", "I don\u2019t know", []string{"I", "do", "n't", "know"}},
		{"Dollar", "$100", []string{"$", "100"}},
		{"Brackets", `("quoted")`, []string{"(", `"`, "quoted", `"`, ")"}},
		{"OrderIDs", "order A-771204 or #5530192", []string{"order", "A-771204", "or", "#5530192"}},
		{"EmojiOnly", "\U0001F621\U0001F621\U0001F44D", []string{"\U0001F621\U0001F621\U0001F44D"}},
		{"EmojiZWJ", "\U0001F469\u200d\U0001F4BB help", []string{"\U0001F469\u200d\U0001F4BB", "help"}},
		{"Japanese", "注文番号はどこですか？ 東京", []string{"注文番号はどこですか？", "東京"}},
		{"Arabic", "أين طلبي؟", []string{"أين", "طلبي؟"}},
		{"Cyrillic", "Где мой заказ?", []string{"Где", "мой", "заказ", "?"}},
		{"URL", "see https://example.com/a?b=c, ok", []string{"see", "https://example.com/a?b=c", ",", "ok"}},
		{"Email", "mail anna.b+x@example.co.uk now", []string{"mail", "anna.b+x@example.co.uk", "now"}},
		{"Emoticon", "thanks :-)", []string{"thanks", ":-)"}},
		{"Repeated", "no no no", []string{"no", "no", "no"}},
		{"HTMLRsquo", "don&rsquo;t", []string{"do", "n't"}},
		{"Corpus", strings.Join(corpus, " "), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := nlp.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			checkOffsets(t, d)
			var got []string
			for _, tok := range d.Tokens {
				got = append(got, tok.Text)
				if tok.Tag != "" || tok.Label != "" {
					t.Errorf("Parse(%q): token %q has tag %q label %q without stages", tt.in, tok.Text, tok.Tag, tok.Label)
				}
			}
			if tt.want != nil && !slices.Equal(got, tt.want) {
				t.Errorf("Parse(%q) tokens = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseRepaired(t *testing.T) {
	d, err := nlp.Parse("caf\xe9 order")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if !d.Repaired || d.Text != "caf\ufffd order" {
		t.Errorf("Parse(%q) = %q (repaired %v), want %q (repaired true)", "caf\xe9 order", d.Text, d.Repaired, "caf\ufffd order")
	}
	checkOffsets(t, d)
}

func TestParseErrors(t *testing.T) {
	tk := nlp.NewTokenizer(16)
	tests := []struct {
		in   string
		want error
	}{
		{"", nlp.ErrEmpty},
		{" \u200b ", nlp.ErrEmpty},
		{"where is my order please", nlp.ErrTooLong},
	}
	for _, tt := range tests {
		for _, stages := range []nlp.Stages{0, nlp.Tags, nlp.NamedEntities} {
			if d, err := tk.Parse(tt.in, stages); !errors.Is(err, tt.want) {
				t.Errorf("Parse(%q, %d) = %d tokens, %v; want error %v", tt.in, stages, len(d.Tokens), err, tt.want)
			}
		}
	}
}

func TestParseStages(t *testing.T) {
	tk := tokenizer
	const in = "My name is Anna Schmidt and I live in Berlin. Where is my order?"
	tagged := mustParse(t, tk, in, nlp.Tags)
	checkOffsets(t, tagged)
	for _, tok := range tagged.Tokens {
		if tok.Tag == "" || tok.Label != "" {
			t.Errorf("Parse(%q, Tags): token %q tag %q label %q, want a tag and no label", in, tok.Text, tok.Tag, tok.Label)
		}
	}
	ner := mustParse(t, tk, in, nlp.NamedEntities)
	checkOffsets(t, ner)
	labels := map[string]string{}
	for _, tok := range ner.Tokens {
		if tok.Tag == "" || tok.Label == "" {
			t.Errorf("Parse(%q, NamedEntities): token %q tag %q label %q, want both", in, tok.Text, tok.Tag, tok.Label)
		}
		labels[tok.Text] = tok.Label
	}
	// prose's model on this sentence, as measured: a regression check on
	// the wiring, not a claim about the model's quality.
	for word, want := range map[string]string{"Anna": "B-PERSON", "Schmidt": "B-PERSON", "Berlin": "B-GPE", "order": "O"} {
		if labels[word] != want {
			t.Errorf("Parse(%q, NamedEntities): %q labelled %q, want %q", in, word, labels[word], want)
		}
	}
	// The stages add annotations only: the tokens are the same.
	plain := mustParse(t, tk, in, 0)
	if len(plain.Tokens) != len(ner.Tokens) {
		t.Fatalf("Parse(%q): %d tokens without stages, %d with", in, len(plain.Tokens), len(ner.Tokens))
	}
	for i := range plain.Tokens {
		p, n := plain.Tokens[i], ner.Tokens[i]
		if p.Text != n.Text || p.Start != n.Start || p.End != n.End {
			t.Errorf("Parse(%q): token %d is %+v without stages, %+v with", in, i, p, n)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range corpus {
		f.Add(s, uint8(0))
	}
	for _, s := range []string{"$100", "don't", "&r\u200bsquo;t", "\u201cx\u201d", "(-_-) :-)", "a.b.c.", "Mr. Smith's"} {
		f.Add(s, uint8(nlp.NamedEntities))
	}
	tk := tokenizer
	f.Fuzz(func(t *testing.T, s string, stages uint8) {
		d, err := tk.Parse(s, nlp.Stages(stages)&(nlp.Tags|nlp.NamedEntities))
		if err != nil {
			if !errors.Is(err, nlp.ErrEmpty) && !errors.Is(err, nlp.ErrTooLong) {
				t.Fatalf("Parse(%q): unexpected error %v", s, err)
			}
			return
		}
		if !utf8.ValidString(d.Text) {
			t.Fatalf("Parse(%q).Text = %q: invalid UTF-8", s, d.Text)
		}
		checkOffsets(t, d)
	})
}

func BenchmarkTokenize(b *testing.B) {
	benchmarkParse(b, 0)
}

func BenchmarkTokenizeTagged(b *testing.B) {
	benchmarkParse(b, nlp.Tags)
}

func BenchmarkTokenizeNamedEntities(b *testing.B) {
	benchmarkParse(b, nlp.NamedEntities)
}

func benchmarkParse(b *testing.B, stages nlp.Stages) {
	tk := tokenizer
	mustParse(b, tk, corpus[0], stages) // builds prose's model outside the timer
	b.ReportAllocs()
	b.SetBytes(corpusBytes())
	for b.Loop() {
		for _, s := range corpus {
			if _, err := tk.Parse(s, stages); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportPerMessage(b)
}
