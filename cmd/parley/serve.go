package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/builtin"
	"github.com/parley-chat/parley/nlp"
)

type serveCommand struct {
	stdout, stderr io.Writer
	// listening, when set, receives the server's address once it
	// accepts connections (tests listen on port 0).
	listening func(addr string)
}

// Server limits.
const (
	maxRequestBytes = 64 << 10
	shutdownTimeout = 10 * time.Second
)

func (c *serveCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var (
		addr      = fs.String("addr", "localhost:8080", "address to listen on")
		modelPath = fs.String("model", "", "intent model file (default: the built-in model)")
		sentPath  = fs.String("sentiment-model", "", "sentiment model file (default: the built-in model)")
	)
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: parley serve [--addr HOST:PORT] [--model FILE] [--sentiment-model FILE]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(c.stderr, nil))
	nlu, err := loadNLU(*modelPath, *sentPath)
	if err != nil {
		return err
	}
	log.Info("models loaded", "intent", nlu.intent.Header().Kind, "labels", len(nlu.intent.Header().Labels), "sentiment", nlu.sentiment.Header().Kind)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           nlu.routes(log),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "url", "http://"+ln.Addr().String())
	if c.listening != nil {
		c.listening(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// nluModels are the intent and sentiment models a server or a command
// uses to understand messages.
type nluModels struct {
	intent, sentiment intents.Model
	tok               *nlp.Tokenizer
}

func loadNLU(intentPath, sentimentPath string) (*nluModels, error) {
	im, err := loadModel(intentPath, builtin.IntentModel)
	if err != nil {
		return nil, err
	}
	sm, err := loadModel(sentimentPath, builtin.SentimentModel)
	if err != nil {
		return nil, err
	}
	if !intents.SentimentLabels(sm.Header().Labels) {
		return nil, fmt.Errorf("sentiment model has labels %v, want negative, neutral, positive", sm.Header().Labels)
	}
	return &nluModels{intent: im, sentiment: sm, tok: nlp.NewTokenizer(0)}, nil
}

// analyze understands one message; stages selects the optional
// tokenizer stages (named entities cost about 40 times the rest).
func (n *nluModels) analyze(text string, stages nlp.Stages) (analysis, error) {
	doc, err := n.tok.Parse(text, stages)
	if err != nil {
		return analysis{}, err
	}
	a := analysis{
		Text:      doc.Text,
		Intent:    n.intent.Predict(doc),
		Model:     n.intent.Header().Kind,
		Sentiment: intents.NewSentiment(n.sentiment.Header().Labels, n.sentiment.Probs(doc)),
		Entities:  nlp.Entities(doc),
		Repaired:  doc.Repaired,
	}
	if a.Entities == nil {
		a.Entities = []nlp.Entity{}
	}
	return a, nil
}

func (n *nluModels) routes(log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "intent_model": n.intent.Header().DataHash, "sentiment_model": n.sentiment.Header().DataHash})
	})
	mux.HandleFunc("POST /api/v1/nlu", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Text     string `json:"text"`
			Entities bool   `json:"named_entities"`
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			status := http.StatusBadRequest
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				status = http.StatusRequestEntityTooLarge
			}
			writeJSON(w, status, map[string]string{"error": "invalid request body: " + err.Error()})
			return
		}
		stages := nlp.Stages(0)
		if req.Entities {
			stages = nlp.NamedEntities
		}
		a, err := n.analyze(req.Text, stages)
		switch {
		case errors.Is(err, nlp.ErrTooLong):
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": err.Error()})
			return
		case err != nil:
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": err.Error()})
			return
		}
		log.Debug("nlu", "intent", a.Intent.Label, "confidence", a.Intent.Confidence)
		writeJSON(w, http.StatusOK, a)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
