package slackbot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// MaxBodyBytes bounds a request from Slack (theirs are far smaller).
const MaxBodyBytes = 1 << 20

// Handler serves the Events API over HTTP: /slack/events (events and
// url_verification), /slack/interactions (button clicks) and
// /slack/commands (/parley). Every request must carry a valid signature
// from the last five minutes; without a signing secret configured they
// all answer 404.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/events", a.serveEvents)
	mux.HandleFunc("POST /slack/interactions", a.serveInteractions)
	mux.HandleFunc("POST /slack/commands", a.serveCommands)
	return mux
}

// verified reads the body of a request whose signature checks out, or
// answers it with an error.
func (a *App) verified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if a.cfg.SigningSecret == "" {
		http.Error(w, "the Events API is not configured (SLACK_SIGNING_SECRET)", http.StatusNotFound)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.log.Warn("slack request too large", "path", r.URL.Path)
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "could not read the request", http.StatusBadRequest)
		}
		return nil, false
	}
	sv, err := slack.NewSecretsVerifier(r.Header, a.cfg.SigningSecret)
	if err == nil {
		sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		// Forged, replayed or stale: nothing is read, nothing stored.
		a.log.Warn("slack request refused: bad signature", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

func (a *App) serveEvents(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verified(w, r)
	if !ok {
		return
	}
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		a.log.Warn("slack event: malformed", "err", err)
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	switch ev.Type {
	case slackevents.URLVerification:
		v, ok := ev.Data.(*slackevents.EventsAPIURLVerificationEvent)
		if !ok {
			http.Error(w, "malformed url_verification", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, v.Challenge)
	case slackevents.CallbackEvent:
		cb, _ := ev.Data.(*slackevents.EventsAPICallbackEvent)
		id := ""
		if cb != nil {
			id = cb.EventID
		}
		if id != "" && a.seen.has(id) {
			// A redelivery (X-Slack-Retry-Num) of what was handled.
			a.log.Debug("slack event redelivered", "event_id", id, "retry", r.Header.Get("X-Slack-Retry-Num"))
			w.WriteHeader(http.StatusOK)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), eventDeadline)
		defer cancel()
		if err := a.handleEvent(ctx, ev); err != nil {
			a.log.Error("slack event", "event_id", id, "err", err)
			// Slack delivers it again; the CRM dedupes what was stored.
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		if id != "" {
			a.seen.add(id)
		}
		w.WriteHeader(http.StatusOK)
	default:
		a.log.Debug("slack event type ignored", "type", ev.Type)
		w.WriteHeader(http.StatusOK)
	}
}

func (a *App) serveInteractions(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verified(w, r)
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		http.Error(w, "expected a form with a payload", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		a.log.Warn("slack interaction: malformed", "err", err)
		http.Error(w, "malformed payload", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), eventDeadline)
	defer cancel()
	if err := a.onInteraction(ctx, cb); err != nil {
		a.log.Error("slack interaction", "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (a *App) serveCommands(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verified(w, r)
	if !ok {
		return
	}
	// SlashCommandParse reads the form from the body we already read.
	r.Body = io.NopCloser(bytes.NewReader(body))
	cmd, err := slack.SlashCommandParse(r)
	if err != nil {
		http.Error(w, "malformed command", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"response_type": "ephemeral", "text": a.onCommand(r.Context(), cmd)})
}
