package knowledge

import (
	"slices"
	"testing"

	"github.com/parley-chat/parley/nlp"
)

func TestStem(t *testing.T) {
	// Examples from Porter (1980) and the reference implementation's
	// test vocabulary, plus words of this domain.
	tests := []struct{ in, want string }{
		{"caresses", "caress"}, {"ponies", "poni"}, {"ties", "ti"}, {"caress", "caress"}, {"cats", "cat"},
		{"feed", "feed"}, {"agreed", "agre"}, {"plastered", "plaster"}, {"bled", "bled"},
		{"motoring", "motor"}, {"sing", "sing"}, {"conflated", "conflat"}, {"troubled", "troubl"},
		{"sized", "size"}, {"hopping", "hop"}, {"tanned", "tan"}, {"falling", "fall"},
		{"hissing", "hiss"}, {"fizzed", "fizz"}, {"failing", "fail"}, {"filing", "file"},
		{"happy", "happi"}, {"sky", "sky"}, {"relational", "relat"}, {"conditional", "condit"},
		{"rational", "ration"}, {"digitizer", "digit"}, {"generalizations", "gener"},
		{"oscillators", "oscil"}, {"hopeful", "hope"}, {"goodness", "good"}, {"allowance", "allow"},
		{"adjustable", "adjust"}, {"replacement", "replac"}, {"adoption", "adopt"},
		{"probate", "probat"}, {"rate", "rate"}, {"cease", "ceas"}, {"controll", "control"}, {"roll", "roll"},
		{"returns", "return"}, {"returned", "return"}, {"returning", "return"},
		{"cancelled", "cancel"}, {"cancelling", "cancel"}, {"refunds", "refund"},
		{"delivery", "deliveri"}, {"delivered", "deliv"},
		// Unchanged: short words, non-letters, non-ASCII.
		{"is", "is"}, {"a", "a"}, {"", ""}, {"2fa", "2fa"}, {"größe", "größe"},
	}
	for _, tt := range tests {
		if got := stem(tt.in); got != tt.want {
			t.Errorf("stem(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAnalyzer(t *testing.T) {
	tests := []struct {
		an   analyzer
		text string
		want []string
	}{
		{analyzer{}, "Where's my ORDER?", []string{"where", "my", "order"}},
		{analyzer{stem: true}, "Returning two parcels", []string{"return", "two", "parcel"}},
		{analyzer{stopWords: true}, "can I return the shoes", []string{"return", "shoes"}},
		{analyzer{}, "I can't log in", []string{"ca", "log", "in"}},
		{analyzer{}, "pick-up point, e-mail", []string{"pick", "up", "pickup", "point", "mail", "email"}},
		{analyzer{}, "see https://shop.example/track/123", []string{"see", "https", "shop", "example", "track", "123"}},
		{analyzer{}, "**Account > Orders** | 2 to 4", []string{"account", "orders", "2", "to", "4"}},
		{analyzer{}, "STRASSE Straße", []string{"strasse", "strasse"}},
	}
	for _, tt := range tests {
		d, err := nlp.Parse(tt.text)
		if err != nil {
			t.Fatal(err)
		}
		if got := tt.an.docTerms(d); !slices.Equal(got, tt.want) {
			t.Errorf("%+v terms(%q) = %q, want %q", tt.an, tt.text, got, tt.want)
		}
	}
}
