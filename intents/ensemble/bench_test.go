package ensemble_test

import (
	"testing"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/builtin"
	"github.com/parley-chat/parley/intents/ensemble"
	"github.com/parley-chat/parley/nlp"
)

// builtinModel decodes the embedded intent model: the ensemble and its
// members as the server runs them.
func builtinModel(tb testing.TB) *ensemble.Model {
	tb.Helper()
	f, err := builtin.Models().Open(builtin.IntentModel)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	m, err := ensemble.Decode(f)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// BenchmarkPredict measures one message at a time, as a chatbot sees
// them: tokenization, features and prediction, over the built-in test
// messages, for each member of the built-in ensemble and the ensemble.
func BenchmarkPredict(b *testing.B) {
	m := builtinModel(b)
	test, err := builtin.Dataset(builtin.IntentTest)
	if err != nil {
		b.Fatal(err)
	}
	texts := make([]string, len(test.Examples))
	for i, e := range test.Examples {
		texts[i] = e.Text
	}
	members, _ := m.Members()
	models := append([]intents.Model{m}, members...)
	for _, model := range models {
		b.Run(model.Header().Kind, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				d, err := nlp.Parse(texts[i%len(texts)])
				if err != nil {
					b.Fatal(err)
				}
				model.Predict(d)
			}
		})
	}
}
