package bot

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Policy is the dialogue policy: thresholds, escalation rules, small
// talk, per-intent labels and required slots, and the bot's fixed
// replies. It is data (see policy.yml); the engine reads it and never
// changes it.
type Policy struct {
	Thresholds Thresholds `yaml:"thresholds"`
	// MaxFallbacks consecutive fallbacks escalate.
	MaxFallbacks int `yaml:"max_fallbacks"`
	// EscalateIntents mean "I want a person".
	EscalateIntents []string `yaml:"escalate_intents"`
	// SmallTalk maps intents answered without the knowledge base to
	// their reply.
	SmallTalk map[string]string       `yaml:"smalltalk"`
	Intents   map[string]IntentPolicy `yaml:"intents"`
	// Slots maps a slot name to the question that asks for it.
	Slots   map[string]string `yaml:"slots"`
	Replies Replies           `yaml:"replies"`

	// lines maps "section/key" to the line it was defined on, for errors.
	lines map[string]int
	file  string
}

// Thresholds are the policy's numbers (see policy.yml).
type Thresholds struct {
	Answer            float64 `yaml:"answer"`
	ClarifyMargin     float64 `yaml:"clarify_margin"`
	ClarifyBelow      float64 `yaml:"clarify_below"`
	SearchBM25        float64 `yaml:"search_bm25"`
	SearchSimilarity  float64 `yaml:"search_similarity"`
	NegativeSentiment float64 `yaml:"negative_sentiment"`
	AngryMessages     int     `yaml:"angry_messages"`
}

// IntentPolicy is what the policy says about one intent.
type IntentPolicy struct {
	// Label names the intent on quick replies.
	Label string `yaml:"label"`
	// Slots must be known before the intent is answered.
	Slots []string `yaml:"slots"`
}

// Replies are the bot's fixed messages.
type Replies struct {
	Fallback      string `yaml:"fallback"`
	Escalate      string `yaml:"escalate"`
	Clarify       string `yaml:"clarify"`
	SomethingElse string `yaml:"something_else"`
	// Rephrase answers the "something else" quick reply.
	Rephrase string `yaml:"rephrase"`
}

//go:embed policy.yml
var defaultPolicy []byte

// DefaultPolicy returns the built-in policy.
func DefaultPolicy() *Policy {
	p, err := parsePolicy(defaultPolicy, "built-in policy.yml", false, nil)
	if err != nil {
		panic(err.Error()) // the embedded file is tested: unreachable
	}
	return p
}

// PolicyError is a problem in a policy file, located by file and line.
type PolicyError struct {
	File string
	Line int
	Err  error
}

func (e *PolicyError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *PolicyError) Unwrap() error { return e.Err }

// maxPolicyBytes bounds a policy file.
const maxPolicyBytes = 1 << 20

// ParsePolicy reads a policy file named name. Fields it leaves out keep
// the built-in default's values (base; nil for none). labels, when not
// nil, are the intent model's labels: the policy may name no other
// intent. Every problem is reported at once, each with its line.
func ParsePolicy(r io.Reader, name string, labels []string) (*Policy, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPolicyBytes+1))
	if err != nil {
		return nil, &PolicyError{File: name, Err: err}
	}
	if len(data) > maxPolicyBytes {
		return nil, &PolicyError{File: name, Err: fmt.Errorf("larger than %d bytes", maxPolicyBytes)}
	}
	return parsePolicy(data, name, true, labels)
}

// parsePolicy decodes data over the built-in defaults (withDefaults) or
// over nothing, then validates it.
func parsePolicy(data []byte, name string, withDefaults bool, labels []string) (*Policy, error) {
	p := &Policy{}
	if withDefaults {
		// A custom file overrides what it sets; maps merge key by key.
		if err := decodePolicy(defaultPolicy, p); err != nil {
			return nil, &PolicyError{File: "built-in policy.yml", Err: err}
		}
	}
	p.file = name
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &PolicyError{File: name, Line: yamlLine(err), Err: err}
	}
	if err := decodePolicy(data, p); err != nil {
		return nil, &PolicyError{File: name, Line: yamlLine(err), Err: err}
	}
	p.lines = keyLines(&root)
	if err := p.validate(labels); err != nil {
		return nil, err
	}
	return p, nil
}

func decodePolicy(data []byte, p *Policy) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// keyLines records the line of every key of the top-level sections.
func keyLines(root *yaml.Node) map[string]int {
	lines := map[string]int{}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return lines
	}
	top := root.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		lines[k.Value] = k.Line
		switch v.Kind {
		case yaml.MappingNode:
			for j := 0; j+1 < len(v.Content); j += 2 {
				lines[k.Value+"/"+v.Content[j].Value] = v.Content[j].Line
			}
		case yaml.SequenceNode:
			for _, item := range v.Content {
				lines[k.Value+"/"+item.Value] = item.Line
			}
		}
	}
	return lines
}

// yamlLine extracts the line from a yaml.v3 error ("yaml: line 12: ...").
func yamlLine(err error) int {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if i := strings.Index(msg, "line "); i >= 0 {
		var n int
		if _, err := fmt.Sscanf(msg[i:], "line %d", &n); err == nil {
			return n
		}
	}
	return 0
}

func (p *Policy) validate(labels []string) error {
	var errs []error
	fail := func(key string, format string, a ...any) {
		errs = append(errs, &PolicyError{File: p.file, Line: p.lines[key], Err: fmt.Errorf(format, a...)})
	}
	t := p.Thresholds
	for _, f := range []struct {
		key    string
		v      float64
		lo, hi float64
	}{
		{"thresholds/answer", t.Answer, 0, 1},
		{"thresholds/clarify_margin", t.ClarifyMargin, 0, 1},
		{"thresholds/clarify_below", t.ClarifyBelow, 0, 1},
		{"thresholds/search_bm25", t.SearchBM25, 0, math.Inf(1)},
		{"thresholds/search_similarity", t.SearchSimilarity, -1, 1},
		{"thresholds/negative_sentiment", t.NegativeSentiment, -1, 1},
	} {
		if !(f.v >= f.lo && f.v <= f.hi) {
			fail(f.key, "%s = %v, want a value in [%v, %v]", strings.TrimPrefix(f.key, "thresholds/"), f.v, f.lo, f.hi)
		}
	}
	if t.AngryMessages < 1 {
		fail("thresholds/angry_messages", "angry_messages = %d, want at least 1", t.AngryMessages)
	}
	if p.MaxFallbacks < 1 {
		fail("max_fallbacks", "max_fallbacks = %d, want at least 1", p.MaxFallbacks)
	}
	// The file may name only the model's intents; entries it inherits
	// from the defaults for intents the model lacks are dropped.
	known := func(section, intent string) bool {
		if labels == nil || slices.Contains(labels, intent) {
			return true
		}
		if _, written := p.lines[section+"/"+intent]; written {
			fail(section+"/"+intent, "intent %q is not a label of the intent model", intent)
		}
		return false
	}
	p.EscalateIntents = slices.DeleteFunc(p.EscalateIntents, func(in string) bool { return !known("escalate_intents", in) })
	for _, in := range sortedKeys(p.SmallTalk) {
		if !known("smalltalk", in) {
			delete(p.SmallTalk, in)
			continue
		}
		if strings.TrimSpace(p.SmallTalk[in]) == "" {
			fail("smalltalk/"+in, "empty reply for %q", in)
		}
	}
	for _, in := range sortedKeys(p.Intents) {
		if !known("intents", in) {
			delete(p.Intents, in)
			continue
		}
		ip := p.Intents[in]
		if strings.TrimSpace(ip.Label) == "" {
			fail("intents/"+in, "intent %q has no label", in)
		}
		for _, s := range ip.Slots {
			if _, ok := p.Slots[s]; !ok {
				fail("intents/"+in, "intent %q needs slot %q, which has no question under slots", in, s)
			}
		}
	}
	for _, f := range []struct{ key, v string }{
		{"replies/fallback", p.Replies.Fallback}, {"replies/escalate", p.Replies.Escalate},
		{"replies/clarify", p.Replies.Clarify}, {"replies/something_else", p.Replies.SomethingElse},
		{"replies/rephrase", p.Replies.Rephrase},
	} {
		if strings.TrimSpace(f.v) == "" {
			fail(f.key, "%s reply is empty", strings.TrimPrefix(f.key, "replies/"))
		}
	}
	if !strings.Contains(p.Replies.Clarify, "{options}") {
		fail("replies/clarify", "the clarify reply must contain {options}")
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Label is the intent's name on quick replies (the intent itself when
// the policy gives none).
func (p *Policy) Label(intent string) string {
	if ip, ok := p.Intents[intent]; ok && ip.Label != "" {
		return ip.Label
	}
	return strings.ReplaceAll(intent, "_", " ")
}

// escalates reports whether intent asks for a person.
func (p *Policy) escalates(intent string) bool { return slices.Contains(p.EscalateIntents, intent) }
