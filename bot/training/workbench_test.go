package training_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/parley-chat/parley/bot/training"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
	"github.com/parley-chat/parley/intents"
)

// Retraining uses what the built-in model was trained with: the members
// and hyperparameters in its artifact header (see intents/builtin's
// go:generate line: --model ensemble --members svm,rnn).
func TestBuiltinConfig(t *testing.T) {
	c, err := training.BuiltinConfig()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Members, []string{"svm", "rnn"}) || c.RNN.MaxEpochs == 0 || c.SVM.C == 0 || c.WeightStep == 0 {
		t.Errorf("built-in config %+v: want members svm, rnn with their hyperparameters", c)
	}
	d, err := training.BuiltinData()
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Train.Examples) == 0 || len(d.Val.Examples) == 0 || len(d.Test.Examples) == 0 || d.Test.Name != "builtin/test.csv" {
		t.Errorf("built-in data: %d/%d/%d examples, test named %q", len(d.Train.Examples), len(d.Val.Examples), len(d.Test.Examples), d.Test.Name)
	}
}

func TestNew(t *testing.T) {
	if _, err := training.New(nil); err == nil {
		t.Errorf("New(nil store): no error")
	}
	train := intents.Dataset{Examples: []intents.Example{{Text: "hi", Label: "greeting"}}}
	if _, err := training.New(crmtest.NewMemory(), training.WithData(training.Data{Train: train})); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("New without test data: %v, want ErrInvalid", err)
	}
	wb, err := training.New(crmtest.NewMemory())
	if err != nil {
		t.Fatal(err)
	}
	if wb.Data().Train.Name != "builtin/train.csv" {
		t.Errorf("default data %q, want the built-in", wb.Data().Train.Name)
	}
}
