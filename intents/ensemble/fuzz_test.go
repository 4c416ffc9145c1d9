package ensemble_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/ensemble"
	"github.com/parley-chat/parley/intents/intentstest"
	"github.com/parley-chat/parley/intents/svm"
)

// FuzzDecodeModel feeds DecodeModel, which reads model files of every
// family, mutations of real artifacts: a model file is untrusted input
// and must decode or fail with an error, never panic or allocate without
// bound. (The checksum rejects most mutations early; the fuzzer learns
// to fix it up, and the seeds include payloads with valid checksums.)
func FuzzDecodeModel(f *testing.F) {
	train, _ := intentstest.Fixture(f, "../..")
	c := smallConfig()
	c.Forest.Trees = 3
	c.RNN.MaxEpochs = 2
	m, err := c.Fit(context.Background(), train, 1)
	if err != nil {
		f.Fatal(err)
	}
	members, _ := m.Members()
	for _, mm := range append(members, intents.Model(m)) {
		var b bytes.Buffer
		if _, err := mm.WriteTo(&b); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	one, err := svm.DefaultConfig().Fit(context.Background(), train, 1)
	if err != nil {
		f.Fatal(err)
	}
	var b bytes.Buffer
	one.WriteTo(&b)
	f.Add(b.Bytes()[:b.Len()/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ensemble.DecodeModel(bytes.NewReader(data))
		if err != nil {
			return
		}
		// A model that decodes must predict without panicking.
		if len(m.Header().Labels) == 0 {
			t.Fatal("decoded a model with no labels")
		}
		m.Predict(mustDoc(t, "where is my order"))
	})
}
