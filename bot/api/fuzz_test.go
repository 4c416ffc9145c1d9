package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/api"
	"github.com/parley-chat/parley/bot/bottest"
	"github.com/parley-chat/parley/crm/crmtest"
)

// discard is the logger for fuzzing: a million inputs would flood the
// output.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// FuzzMessages posts arbitrary bodies and content types to POST
// /api/v1/messages on a real engine (built-in models, in-memory CRM). No
// body may panic or get a 5xx; every answer is JSON; a 2xx holds a
// conversation, a 4xx a non-empty "error".
//
//	go test ./bot/api -run '^$' -fuzz '^FuzzMessages$' -fuzztime 20s
func FuzzMessages(f *testing.F) {
	const ct = "application/json"
	for _, s := range []string{
		`{"customer_id":"c1","text":"where is my order 123456?","client_msg_id":"m1"}`,
		`{"customer_id":"c1","text":"I want to talk to a human","client_msg_id":"m2","conversation_id":1}`,
		`{"customer_id":"c1","text":"hi","client_msg_id":"m3","conversation_id":999}`,
		`{"customer_id":"c","text":"t","client_msg_id":"m","conversation_id":-1}`,
		`{"customer_id":"c","text":"t","client_msg_id":"m","conversation_id":1e99}`,
		`{"customer_id":"c","text":"\u0000\ud800","client_msg_id":"m"}`,
		`{"customer_id":"c","text":"` + strings.Repeat("a", 9000) + `","client_msg_id":"m"}`,
		`{"customer_id":"c","text":"t","client_msg_id":"m"} {}`,
		`{"customer_id":"c","text":"t","client_msg_id":"m","x":1}`,
		strings.Repeat("[", 10000),
		`null`, `[]`, `""`, ``,
		"{\"customer_id\":\"c\xff\",\"text\":\"\xfe\",\"client_msg_id\":\"m\"}",
	} {
		f.Add(ct, s)
	}
	f.Add("text/plain", `{"customer_id":"c1","text":"hi","client_msg_id":"m1"}`)
	f.Add("application/json; charset=utf-8", `{"customer_id":"c1","text":"thanks","client_msg_id":"m1"}`)
	f.Add("application/json; charset", `{}`)
	nlu, kb := bottest.Builtin(f)
	h := api.Handler(bot.NewEngine(nlu, kb, crmtest.NewMemory(), nil, discard), discard)
	f.Fuzz(func(t *testing.T, contentType, body string) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/messages", strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var v map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Fatalf("POST %q (%s): %d, body %q is not a JSON object: %v", body, contentType, w.Code, w.Body, err)
		}
		switch {
		case w.Code >= 500:
			t.Fatalf("POST %q (%s): %d %s, want no 5xx", body, contentType, w.Code, w.Body)
		case w.Code >= 400:
			if msg, _ := v["error"].(string); msg == "" {
				t.Fatalf("POST %q (%s): %d %s, want a JSON error", body, contentType, w.Code, w.Body)
			}
		case w.Code == http.StatusOK:
			if id, _ := v["conversation_id"].(float64); id < 1 {
				t.Fatalf("POST %q (%s): 200 %s, want a conversation_id", body, contentType, w.Body)
			}
		default:
			t.Fatalf("POST %q (%s): status %d, want 200 or 4xx", body, contentType, w.Code)
		}
	})
}
