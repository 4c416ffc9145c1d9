package nlp_test

import (
	"testing"

	"github.com/parley-chat/parley/nlp"
)

// corpus is a small set of realistic customer messages for benchmarks:
// short and long, with typos, entities, emoji and other scripts.
var corpus = []string{
	"where is my order",
	"Hi, I ordered a lamp last Tuesday and it still hasn't arrived. Order A-771204",
	"can u give me the tracking number for #5530192 pls",
	"I was charged twice!! $49.99 taken two times from my card ending 4412",
	"My name is Anna Schmidt, I live in Berlin and want to return the shoes I bought on March 3rd 2026",
	"how much is shipping to Canada?",
	"please call me on +44 20 7946 0958 tomorrow morning",
	"I don’t want the Plus membership anymore, cancel it",
	"refund for ORD-220934 never came, it was 40 euros",
	"change my email to anna.schmidt@example.com",
	"parcel says delivered but nothing here 😡😡",
	"Где мой заказ? Номер 48213",
	"wrong size sent, I ordered a M and got XL. order 48213",
	"do you ship to Japan and how long does it take",
	"talk to a real person now",
	"The package from 12/05/2026 is damaged, the screen is cracked & the box was wet",
	"forgot my password and the reset link isn't arriving",
	"thanks, that's all",
	"is the blue jacket back in stock in size 40?",
	"my discount code SPRING25 doesn't work at checkout",
}

// tokenizer is shared by the tests: its prose model takes a few hundred
// milliseconds to build on first use of a stage, once per Tokenizer.
var tokenizer = nlp.NewTokenizer(0)

func corpusBytes() int64 {
	var n int64
	for _, s := range corpus {
		n += int64(len(s))
	}
	return n
}

// mustParse parses s with the given stages or fails the test.
func mustParse(tb testing.TB, tk *nlp.Tokenizer, s string, stages nlp.Stages) nlp.Doc {
	tb.Helper()
	d, err := tk.Parse(s, stages)
	if err != nil {
		tb.Fatalf("Parse(%q): %v", s, err)
	}
	return d
}

// checkOffsets reports tokens whose offsets do not index their text or
// do not increase.
func checkOffsets(tb testing.TB, d nlp.Doc) {
	tb.Helper()
	prev := 0
	for i, tok := range d.Tokens {
		if tok.Start < prev || tok.End <= tok.Start || tok.End > len(d.Text) {
			tb.Fatalf("%q: token %d %q has offsets [%d:%d], previous token ends at %d", d.Text, i, tok.Text, tok.Start, tok.End, prev)
		}
		if got := d.Text[tok.Start:tok.End]; got != tok.Text {
			tb.Fatalf("%q: token %d: Text[%d:%d] = %q, token text %q", d.Text, i, tok.Start, tok.End, got, tok.Text)
		}
		prev = tok.End
	}
}
