package bot_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/parley-chat/parley/bot"
)

func TestDefaultPolicy(t *testing.T) {
	p := bot.DefaultPolicy()
	if p.MaxFallbacks != 2 || p.Thresholds.Answer <= 0 || p.Label("order_status") != "Track my order" {
		t.Errorf("default policy %+v looks wrong", p.Thresholds)
	}
	// Every intent the built-in model knows is valid in the policy.
	nlu, _ := builtinParts(t)
	labels := nlu.Current().Intent.Header().Labels
	for _, in := range append(append([]string{}, p.EscalateIntents...), keys(p.SmallTalk)...) {
		if !contains(labels, in) {
			t.Errorf("default policy names %q, not a label of the built-in model", in)
		}
	}
	for in := range p.Intents {
		if !contains(labels, in) {
			t.Errorf("default policy names %q, not a label of the built-in model", in)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	labels := []string{"order_status", "greeting", "talk_to_human", "oos"}
	for _, tc := range []struct {
		name, yaml string
		want       []string // substrings of the error, "" for success
	}{
		{"override one threshold", "thresholds:\n  answer: 0.6\n", nil},
		{"syntax", "thresholds:\n  answer: [\n", []string{"custom.yml:2"}},
		{"unknown field", "thresholds:\n  anwser: 0.6\n", []string{"custom.yml:2", "anwser"}},
		{"wrong type", "max_fallbacks: lots\n", []string{"custom.yml:1"}},
		{"out of range", "thresholds:\n  answer: 1.5\n  negative_sentiment: -3\n", []string{"custom.yml:2: answer = 1.5", "custom.yml:3: negative_sentiment = -3"}},
		{"unknown intent", "escalate_intents: [talk_to_human, speak_to_manager]\n", []string{"custom.yml:1", `"speak_to_manager" is not a label`}},
		{"slot without question", "intents:\n  order_status: {label: Track, slots: [tracking_code]}\n", []string{"custom.yml:2", `"tracking_code"`}},
		{"empty reply", "smalltalk:\n  greeting: \"\"\n", []string{"custom.yml:2", "empty reply"}},
		{"clarify without options", "replies:\n  clarify: Which one?\n", []string{"custom.yml:2", "{options}"}},
	} {
		p, err := bot.ParsePolicy(strings.NewReader(tc.yaml), "custom.yml", labels)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			} else if tc.name == "override one threshold" && (p.Thresholds.Answer != 0.6 || p.MaxFallbacks != 2 || p.Label("order_status") != "Track my order") {
				t.Errorf("%s: %+v: the rest should keep the defaults", tc.name, p.Thresholds)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: ParsePolicy(%q) succeeded, want an error", tc.name, tc.yaml)
			continue
		}
		var pe *bot.PolicyError
		if !errors.As(err, &pe) {
			t.Errorf("%s: error %v is not a *PolicyError", tc.name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
	}
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
