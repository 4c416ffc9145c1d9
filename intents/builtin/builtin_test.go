package builtin_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/builtin"
	"github.com/parley-chat/parley/intents/ensemble"
	"github.com/parley-chat/parley/nlp"
)

func decode(t *testing.T, name string) intents.Model {
	t.Helper()
	f, err := builtin.Models().Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := ensemble.DecodeModel(f)
	if err != nil {
		t.Fatalf("built-in %s: %v", name, err)
	}
	return m
}

func load(t *testing.T, name string) intents.Dataset {
	t.Helper()
	d, err := builtin.Dataset(name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The embedded models must be trained on exactly the embedded data:
// edit the data and this fails until `go generate ./intents/builtin`.
func TestModelsMatchData(t *testing.T) {
	for _, tc := range []struct{ model, data string }{
		{builtin.IntentModel, builtin.IntentTrain},
		{builtin.SentimentModel, builtin.SentimentTrain},
	} {
		m := decode(t, tc.model)
		d := load(t, tc.data)
		h := m.Header()
		if h.DataHash != d.Hash() {
			t.Errorf("%s was trained on data with hash %s, but %s hashes to %s: run go generate ./intents/builtin", tc.model, h.DataHash, tc.data, d.Hash())
		}
		want, err := intents.ClassLabels(d)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(h.Labels, want) {
			t.Errorf("%s labels %v, want %v", tc.model, h.Labels, want)
		}
	}
}

func TestData(t *testing.T) {
	train := load(t, builtin.IntentTrain)
	counts := intents.Check(train).Counts
	var intentsN int
	for label, n := range counts {
		if label == intents.OOS {
			continue
		}
		intentsN++
		if n < 40 {
			t.Errorf("intent %s has %d training utterances, want >= 40", label, n)
		}
	}
	if intentsN < 30 {
		t.Errorf("%d intents, want >= 30", intentsN)
	}
	for _, name := range []string{builtin.IntentTrain, builtin.IntentVal, builtin.IntentTest, builtin.SentimentTrain, builtin.SentimentTest} {
		rep := intents.Check(load(t, name))
		if len(rep.Conflicts) > 0 {
			t.Errorf("%s: %d conflicting labels, e.g. %+v", name, len(rep.Conflicts), rep.Conflicts[0])
		}
	}
	// Held-out files share no utterance with the training file.
	seen := map[string]bool{}
	for _, e := range train.Examples {
		seen[e.Text] = true
	}
	for _, name := range []string{builtin.IntentVal, builtin.IntentTest} {
		for _, e := range load(t, name).Examples {
			if seen[e.Text] {
				t.Errorf("%s:%d %q is also in %s", name, e.Line, e.Text, builtin.IntentTrain)
			}
		}
	}
	if n := len(load(t, builtin.SentimentTrain).Examples) + len(load(t, builtin.SentimentTest).Examples); n < 600 {
		t.Errorf("%d sentiment-labelled messages, want >= 600", n)
	}
}

// Quality of the shipped models on the held-out test files, as a
// regression test: thresholds are the measured values less a margin.
func TestQuality(t *testing.T) {
	m := decode(t, builtin.IntentModel)
	test := load(t, builtin.IntentTest)
	var gold []string
	var preds []intents.Prediction
	for i, d := range intents.Parse(test) {
		gold = append(gold, test.Examples[i].Label)
		preds = append(preds, m.Predict(d))
	}
	met := intents.Evaluate(gold, preds)
	t.Logf("intent test: label accuracy %.4f, in-scope accuracy %.4f, oos recall %.4f, ECE %.4f", met.InScopeLabelAccuracy, met.InScopeAccuracy, met.OOSRecall, met.ECE)
	if met.InScopeLabelAccuracy < 0.87 {
		t.Errorf("in-scope label accuracy %.4f, want >= 0.87", met.InScopeLabelAccuracy)
	}
	if met.OOSRecall < 0.70 {
		t.Errorf("out-of-scope recall %.4f, want >= 0.70", met.OOSRecall)
	}
	if drop := met.InScopeLabelAccuracy - met.InScopeAccuracy; drop > 0.02 {
		t.Errorf("out-of-scope detection costs %.4f in-scope accuracy, want <= 0.02", drop)
	}

	sm := decode(t, builtin.SentimentModel)
	st := load(t, builtin.SentimentTest)
	gold, preds = nil, nil
	for i, d := range intents.Parse(st) {
		gold = append(gold, st.Examples[i].Label)
		preds = append(preds, sm.Predict(d))
	}
	sMet := intents.Evaluate(gold, preds)
	t.Logf("sentiment test: accuracy %.4f, macro-F1 %.4f", sMet.Accuracy, sMet.MacroF1)
	if sMet.Accuracy < 0.80 {
		t.Errorf("sentiment accuracy %.4f, want >= 0.80", sMet.Accuracy)
	}
}

// Messages the models cannot read get a clear error or are flagged out
// of scope (the fallback then says what the bot can do), never a panic.
func TestBadInput(t *testing.T) {
	m := decode(t, builtin.IntentModel)
	sm := decode(t, builtin.SentimentModel)
	for _, tc := range []struct {
		name, text string
		err        error // nil: must parse and be flagged out of scope
	}{
		{"empty", "", nlp.ErrEmpty},
		{"whitespace", " \t\n ", nlp.ErrEmpty},
		{"controls", "\x00\x01\u200b", nlp.ErrEmpty},
		{"1 MB", strings.Repeat("where is my order ", 1<<20/18), nlp.ErrTooLong},
		{"emoji", "😀😀😀", nil},
		{"russian", "Где мой заказ?", nil},
		{"chinese", "我的订单在哪里", nil},
		{"arabic", "أين طلبي؟", nil},
		{"invalid UTF-8", "\xff\xfe\xfd", nil},
	} {
		d, err := nlp.Parse(tc.text)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: Parse error %v, want %v", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Parse(%q): %v", tc.name, tc.text, err)
			continue
		}
		if p := m.Predict(d); !p.OutOfScope {
			t.Errorf("%s: %q predicted %+v, want out of scope", tc.name, tc.text, p)
		}
		sm.Predict(d) // must not panic
	}
}
