package slackbot

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/bottest"
	"github.com/parley-chat/parley/bot/handoff"
	"github.com/parley-chat/parley/bot/slackbot/slackfake"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
)

// fuzzApp is the app on the real engine, an in-memory CRM and the fake
// Slack, built once per fuzz target: one per input would cost a Slack
// connect each.
func fuzzApp(f *testing.F) http.Handler {
	f.Helper()
	fake := slackfake.New()
	f.Cleanup(fake.Close)
	fake.AddUser(slackfake.User{ID: customer, Name: "ann", RealName: "Ann Lee", Email: "ann@example.com"})
	store := crmtest.NewMemory()
	f.Cleanup(func() { store.Close() })
	nlu, kb := bottest.Builtin(f)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	engine := bot.NewEngine(nlu, kb, store, nil, log)
	desk := handoff.New(store, log)
	engine.OnEscalate, engine.OnHandoff = desk.Escalated, desk.CustomerWrote
	app, err := New(Config{BotToken: slackfake.BotToken, SigningSecret: secret, StaffChannel: staffCh,
		APIURL: fake.APIURL(), ConsoleURL: "https://parley.example", Logger: log}, engine, desk, store)
	if err != nil {
		f.Fatal(err)
	}
	desk.Route(crm.ChannelSlack, app)
	if err := app.Connect(context.Background()); err != nil {
		f.Fatal(err)
	}
	return app.Handler()
}

// fuzzPost sends body to path, signed with key, and checks what any
// body must get: no 5xx, and 401 when the signature is wrong.
func fuzzPost(t *testing.T, h http.Handler, path, contentType string, body []byte, key string) int {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	for k, v := range slackfake.Sign(key, body, time.Now()) {
		r.Header[k] = v
	}
	r.Header.Set("Content-Type", contentType)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code >= 500 {
		t.Fatalf("POST %s %q: %d %q, want no 5xx (the CRM is healthy)", path, body, w.Code, w.Body)
	}
	if key != secret && w.Code != http.StatusUnauthorized {
		t.Fatalf("POST %s %q signed with the wrong secret: %d, want 401", path, body, w.Code)
	}
	return w.Code
}

// FuzzEvents posts arbitrary Events API bodies, signed so they reach the
// parser, and the same bodies with a forged signature, which must be
// refused before anything is read.
//
//	go test ./bot/slackbot -run '^$' -fuzz '^FuzzEvents$' -fuzztime 20s
func FuzzEvents(f *testing.F) {
	f.Add(slackfake.EventCallback("Ev1", slackfake.MessageEvent(customer, dm, "im", "where is my order 123456?", "1800000000.000001", "")))
	f.Add(slackfake.EventCallback("Ev2", slackfake.MentionEvent(customer, "CPUB", "<@UBOT> refund please", "1800000000.000002", "")))
	f.Add(slackfake.EventCallback("Ev3", slackfake.MessageEvent("UNKNOWN", dm, "im", "\x00\xff", "x", "y")))
	f.Add(slackfake.URLVerification("challenge-token"))
	for _, s := range []string{
		``, `null`, `{}`, `[]`, `{"type":"url_verification"}`, `{"type":"event_callback"}`,
		`{"type":"event_callback","event":{"type":"message"}}`,
		`{"type":"event_callback","event_id":"E","event":{"type":"message","channel_type":"im","user":"UCUST","channel":"DCUST","ts":"1.1","text":""}}`,
		`{"type":"event_callback","event":{"type":"app_mention","text":null}}`,
		`{"type":"event_callback","event":[1,2]}`,
		`{"type":"app_rate_limited"}`,
		`{"type":"event_callback","event":{"type":"message","subtype":"message_changed","message":{"text":"x"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Add(bytes.Repeat([]byte("["), 10000))
	h := fuzzApp(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzPost(t, h, "/slack/events", "application/json", body, "forged-secret")
		fuzzPost(t, h, "/slack/events", "application/json", body, secret)
	})
}

// FuzzInteractions posts arbitrary interaction payloads (button clicks)
// in a signed form, and forged copies of them.
//
//	go test ./bot/slackbot -run '^$' -fuzz '^FuzzInteractions$' -fuzztime 20s
func FuzzInteractions(f *testing.F) {
	f.Add(string(slackfake.BlockActionPayload(agent, staffCh, "1800000000.000001", "", "take", "1")))
	f.Add(string(slackfake.BlockActionPayload(agent, staffCh, "1800000000.000001", "", "resolve", "not-a-number")))
	f.Add(string(slackfake.BlockActionPayload("UNOBODY", staffCh, "", "", "", "")))
	for _, s := range []string{``, `null`, `{}`, `{"type":"block_actions"}`, `{"type":"block_actions","actions":[{}]}`, `{"type":"view_submission"}`, "\x00", `{"type":"block_actions","actions":null,"user":{"id":7}}`} {
		f.Add(s)
	}
	h := fuzzApp(f)
	f.Fuzz(func(t *testing.T, payload string) {
		form := slackfake.InteractionForm([]byte(payload)).Encode()
		fuzzPost(t, h, "/slack/interactions", "application/x-www-form-urlencoded", []byte(form), "forged-secret")
		fuzzPost(t, h, "/slack/interactions", "application/x-www-form-urlencoded", []byte(form), secret)
	})
}
