package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/api"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/nlp"
)

// fakeEngine answers from a function, to check what the handler passes
// and how it maps results and errors.
type fakeEngine func(m bot.Message) (bot.Turn, error)

func (f fakeEngine) Handle(ctx context.Context, m bot.Message) (bot.Turn, error) { return f(m) }

func TestMessages(t *testing.T) {
	var got bot.Message
	eng := fakeEngine(func(m bot.Message) (bot.Turn, error) {
		got = m
		switch m.Text {
		case "boom":
			return bot.Turn{}, errors.New("disk on fire")
		case "full":
			return bot.Turn{}, fmt.Errorf("log interaction: %w: the disk is full", crm.ErrUnavailable)
		case "long":
			return bot.Turn{}, fmt.Errorf("%w: %w", bot.ErrBadMessage, nlp.ErrTooLong)
		}
		if m.ConversationID == 404 {
			return bot.Turn{}, bot.ErrUnknownConversation
		}
		return bot.Turn{
			ConversationID: 7,
			Replies:        []bot.Reply{{Text: "Hello!", QuickReplies: []string{"A", "B"}}},
			Prediction:     intents.Prediction{Label: "greeting", Confidence: 0.93},
			Sentiment:      intents.Sentiment{Label: "positive", Score: 0.4},
			State:          crm.StateBot,
		}, nil
	})
	srv := httptest.NewServer(api.Handler(eng, nil))
	defer srv.Close()
	post := func(ct, body string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/api/v1/messages", ct, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatalf("response is not JSON: %v", err)
		}
		return resp.StatusCode, v
	}
	status, v := post("application/json", `{"customer_id":"c1","text":"hi","client_msg_id":"m1"}`)
	want := `{"conversation_id":7,"escalated":false,"intent":{"confidence":0.93,"name":"greeting"},"replies":[{"quick_replies":["A","B"],"text":"Hello!"}],"sentiment":{"label":"positive","score":0.4}}`
	if b, _ := json.Marshal(v); status != 200 || string(b) != want {
		t.Errorf("POST: %d %s, want 200 %s", status, b, want)
	}
	if got.Channel != crm.ChannelAPI || got.Customer != (crm.ExternalID{Kind: crm.IDAPI, Value: "c1"}) || got.ChannelMsgID != "c1/m1" || got.Text != "hi" {
		t.Errorf("engine got %+v", got)
	}
	for _, tc := range []struct {
		name, ct, body string
		status         int
		errPart        string
	}{
		{"wrong content type", "text/plain", `{"customer_id":"c1","text":"hi","client_msg_id":"m1"}`, 415, "Content-Type"},
		{"invalid JSON", "application/json", `{"customer_id":`, 400, "invalid JSON"},
		{"two values", "application/json", `{"customer_id":"c","text":"t","client_msg_id":"m"} {}`, 400, "more than one"},
		{"unknown field", "application/json", `{"customer_id":"c","text":"t","client_msg_id":"m","x":1}`, 400, "unknown field"},
		{"missing fields", "application/json", `{"text":"  "}`, 400, "customer_id, text, client_msg_id"},
		{"negative conversation", "application/json", `{"customer_id":"c","text":"t","client_msg_id":"m","conversation_id":-1}`, 400, "conversation_id"},
		{"unknown conversation", "application/json", `{"customer_id":"c","text":"t","client_msg_id":"m","conversation_id":404}`, 404, "unknown conversation"},
		{"text too long", "application/json", `{"customer_id":"c","text":"long","client_msg_id":"m"}`, 413, "longer than"},
		{"body too large", "application/json", `{"customer_id":"c","text":"` + strings.Repeat("a", api.MaxBodyBytes) + `","client_msg_id":"m"}`, 413, "larger than"},
		{"engine failure", "application/json", `{"customer_id":"c","text":"boom","client_msg_id":"m"}`, 500, "internal error"},
		{"CRM cannot store", "application/json", `{"customer_id":"c","text":"full","client_msg_id":"m"}`, 503, "retry with the same client_msg_id"},
	} {
		status, v := post(tc.ct, tc.body)
		msg, _ := v["error"].(string)
		if status != tc.status || !strings.Contains(msg, tc.errPart) {
			t.Errorf("%s: %d %q, want %d with %q", tc.name, status, msg, tc.status, tc.errPart)
		}
	}
	resp, err := http.Get(srv.URL + "/api/v1/messages")
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %v %v, want 405", resp.Status, err)
	}
}
