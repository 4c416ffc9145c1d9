package bot_test

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/parley-chat/parley/bot"
)

// FuzzParsePolicy feeds arbitrary bytes to the policy-file parser, with
// and without the model's labels. It must never panic; a failure is one
// or more *PolicyError naming the file, each line within it; a policy
// that parses has its answer threshold in [0, 1], no empty smalltalk
// reply and, given labels, names no other intent.
//
//	go test ./bot -run '^$' -fuzz '^FuzzParsePolicy$' -fuzztime 20s
func FuzzParsePolicy(f *testing.F) {
	builtin, err := os.ReadFile("policy.yml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(builtin, false)
	f.Add(builtin, true)
	for _, s := range []string{
		"",
		"thresholds:\n  answer: 0.6\nmax_fallbacks: 3\n",
		"thresholds:\n  answer: 2\n  clarify_margin: -1\n",
		"escalate_intents: [no_such_intent]\n",
		"smalltalk:\n  greeting: \"\"\n",
		"thresholds: [1, 2]\n",
		"unknown_key: 1\n",
		"a: &x [*x, *x]\n",
		"\x00\xff\xfe",
		"---\n---\n",
		"thresholds:\n\tanswer: 0.5\n",
		"thresholds: {answer: .nan, clarify_below: .inf}\n",
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat("- ", 5000) + "x\n",
	} {
		f.Add([]byte(s), true)
	}
	labels := []string{"greeting", "thanks", "goodbye", "talk_to_human", "track_order", "refund", "fallback"}
	f.Fuzz(func(t *testing.T, data []byte, withLabels bool) {
		var ls []string
		if withLabels {
			ls = labels
		}
		p, err := bot.ParsePolicy(bytes.NewReader(data), "fuzz.yml", ls)
		if err != nil {
			if p != nil {
				t.Fatalf("ParsePolicy(%q): policy and error %v", data, err)
			}
			var pe *bot.PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("ParsePolicy(%q): error %v (%T), want a *PolicyError", data, err, err)
			}
			// Lines as YAML counts them: CRLF, LF and a lone CR each end
			// one (the fuzzer found "\r00", a problem on line 2).
			lines := bytes.Count(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n")) +
				bytes.Count(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\r")) + 1
			for _, e := range policyErrors(err) {
				if e.File != "fuzz.yml" || e.Line < 0 || e.Line > lines {
					t.Fatalf("ParsePolicy(%q): problem %v outside the file (%d lines)", data, e, lines)
				}
			}
			return
		}
		if p == nil {
			t.Fatalf("ParsePolicy(%q): nil policy and no error", data)
		}
		if a := p.Thresholds.Answer; !(a >= 0 && a <= 1) {
			t.Fatalf("ParsePolicy(%q): accepted answer threshold %v, want [0, 1]", data, a)
		}
		for in, reply := range p.SmallTalk {
			if strings.TrimSpace(reply) == "" {
				t.Fatalf("ParsePolicy(%q): accepted an empty smalltalk reply for %q", data, in)
			}
		}
		if ls == nil {
			return
		}
		named := slices.Clone(p.EscalateIntents)
		for in := range p.SmallTalk {
			named = append(named, in)
		}
		for in := range p.Intents {
			named = append(named, in)
		}
		for _, in := range named {
			if !slices.Contains(ls, in) {
				t.Fatalf("ParsePolicy(%q, %v): kept intent %q, not a label", data, ls, in)
			}
		}
	})
}

// policyErrors flattens an error tree to its *PolicyError leaves.
func policyErrors(err error) []*bot.PolicyError {
	var out []*bot.PolicyError
	var walk func(error)
	walk = func(err error) {
		if pe, ok := err.(*bot.PolicyError); ok {
			out = append(out, pe)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}
