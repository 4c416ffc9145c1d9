// Package builtin holds Parley's built-in data and models, embedded in
// the binary so that `parley serve` needs nothing else: an online
// store's customer-service intents (see data/INTENTS.md), customer
// messages labelled with their sentiment, and the intent and sentiment
// models trained on them. The members were chosen on the validation
// file: the intent model is the ensemble of the SVM and the RNN (the
// forest added nothing there: in-scope accuracy 0.872 with it, 0.875
// without, and it costs 145 µs a message); the sentiment model is the
// SVM alone, as accurate as the ensemble at a twelfth of its cost.
//
// The data is written for Parley; nothing is copied from a public
// dataset. The models are artifacts (see intents.WriteArtifact) made by
// the go:generate commands below from exactly the embedded files; a test
// checks that each model's training-data hash matches, so editing the
// data without retraining fails the build's tests. Regenerate with
//
//	go generate ./intents/builtin
//
// Decoding a model needs its family's package; callers decode the
// artifacts (cmd/parley does it with ensemble.DecodeModel).
package builtin

//go:generate go run ../../cmd/parley train -q --data data/train.csv --val data/val.csv --model ensemble --members svm,rnn --out models/intent.model
//go:generate go run ../../cmd/parley train -q --data data/sentiment_train.csv --model svm --out models/sentiment.model

import (
	"embed"
	"fmt"
	"io/fs"

	"github.com/parley-chat/parley/intents"
)

//go:embed data/*.csv data/INTENTS.md
var dataFS embed.FS

//go:embed models/*.model
var modelFS embed.FS

// Names of the embedded files.
const (
	IntentTrain    = "train.csv"
	IntentVal      = "val.csv"
	IntentTest     = "test.csv"
	SentimentTrain = "sentiment_train.csv"
	SentimentTest  = "sentiment_test.csv"

	IntentModel    = "intent.model"
	SentimentModel = "sentiment.model"
)

// Data returns the embedded data files, by the names above.
func Data() fs.FS {
	sub, _ := fs.Sub(dataFS, "data") // cannot fail: "data" is a valid path
	return sub
}

// Models returns the embedded model artifacts, by the names above.
func Models() fs.FS {
	sub, _ := fs.Sub(modelFS, "models")
	return sub
}

// Dataset loads one of the embedded data files.
func Dataset(name string) (intents.Dataset, error) {
	d, err := intents.Load(Data(), name)
	if err != nil {
		return d, fmt.Errorf("built-in data: %w", err)
	}
	return d, nil
}
