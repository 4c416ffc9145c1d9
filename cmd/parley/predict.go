package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/builtin"
	"github.com/parley-chat/parley/intents/ensemble"
	"github.com/parley-chat/parley/nlp"
)

type predictCommand struct{ stdout, stderr io.Writer }

// analysis is what predict prints: everything Parley understands of one
// message.
type analysis struct {
	Text      string             `json:"text"`
	Intent    intents.Prediction `json:"intent"`
	Model     string             `json:"model"`
	Sentiment intents.Sentiment  `json:"sentiment"`
	Entities  []nlp.Entity       `json:"entities"`
	Repaired  bool               `json:"repaired_utf8,omitempty"`
}

func (c *predictCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var (
		modelPath = fs.String("model", "", "intent model file (default: the built-in model)")
		sentPath  = fs.String("sentiment-model", "", "sentiment model file (default: the built-in model)")
		asJSON    = fs.Bool("json", false, "print one JSON object")
	)
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, `Usage: parley predict [--model FILE] [--sentiment-model FILE] [--json] "text"`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	set, err := loadModelSet(*modelPath, *sentPath)
	if err != nil {
		return err
	}
	// predict is for people trying the models: run every stage, named
	// entities included (the server runs them only when asked).
	a, err := analyze(set, fs.Arg(0), nlp.NamedEntities)
	if err != nil {
		return fmt.Errorf("cannot classify this message: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(a)
	}
	a.writeText(c.stdout)
	return nil
}

func (a analysis) writeText(w io.Writer) {
	p := a.Intent
	fmt.Fprintf(w, "intent        %s (%.3f, %s)\n", p.Label, p.Confidence, a.Model)
	if p.OutOfScope {
		fmt.Fprintf(w, "out of scope  yes: confidence below the model's threshold\n")
	}
	if len(p.Alternatives) > 0 {
		var alts []string
		for _, s := range p.Alternatives {
			alts = append(alts, fmt.Sprintf("%s (%.3f)", s.Label, s.Confidence))
		}
		fmt.Fprintf(w, "alternatives  %s\n", strings.Join(alts, ", "))
	}
	fmt.Fprintf(w, "sentiment     %s (score %+.2f, %.3f)\n", a.Sentiment.Label, a.Sentiment.Score, a.Sentiment.Confidence)
	if len(a.Entities) == 0 {
		fmt.Fprintf(w, "entities      none\n")
	}
	for i, e := range a.Entities {
		head := "entities"
		if i > 0 {
			head = ""
		}
		fmt.Fprintf(w, "%-13s %s %q at %d:%d = %s\n", head, e.Kind, e.Text, e.Start, e.End, e.Value)
	}
	if a.Repaired {
		fmt.Fprintf(w, "note          invalid UTF-8 in the input was replaced\n")
	}
}

// loadModelSet loads intent and sentiment models from files, or the
// built-in ones for empty paths.
func loadModelSet(intentPath, sentimentPath string) (bot.ModelSet, error) {
	im, err := loadModel(intentPath, builtin.IntentModel)
	if err != nil {
		return bot.ModelSet{}, err
	}
	sm, err := loadModel(sentimentPath, builtin.SentimentModel)
	if err != nil {
		return bot.ModelSet{}, err
	}
	set := bot.ModelSet{Intent: im, Sentiment: sm, Version: "local"}
	return set, set.Validate()
}

// analyze understands one message; stages selects the optional
// tokenizer stages (named entities cost about 50 times the rest).
func analyze(set bot.ModelSet, text string, stages nlp.Stages) (analysis, error) {
	doc, err := tokenizer.Parse(text, stages)
	if err != nil {
		return analysis{}, err
	}
	a := analysis{
		Text:      doc.Text,
		Intent:    set.Intent.Predict(doc),
		Model:     set.Intent.Header().Kind,
		Sentiment: intents.NewSentiment(set.Sentiment.Header().Labels, set.Sentiment.Probs(doc)),
		Entities:  nlp.Entities(doc),
		Repaired:  doc.Repaired,
	}
	if a.Entities == nil {
		a.Entities = []nlp.Entity{}
	}
	return a, nil
}

// loadModel decodes the model file at path, or the built-in model name
// when path is empty.
func loadModel(path, name string) (intents.Model, error) {
	var f fs.File
	var err error
	if path == "" {
		path = "built-in " + name
		f, err = builtin.Models().Open(name)
	} else {
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, fmt.Errorf("open model: %w", err)
	}
	defer f.Close()
	m, err := ensemble.DecodeModel(f)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	return m, nil
}

// tokenizer is shared: its tagging and entity models are built once, on
// first use.
var tokenizer = nlp.NewTokenizer(0)
