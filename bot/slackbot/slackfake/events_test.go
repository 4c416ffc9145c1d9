package slackfake_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/parley-chat/parley/bot/slackbot/slackfake"
)

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

func TestSign(t *testing.T) {
	body := slackfake.EventCallback("Ev1", slackfake.MessageEvent("U1", "D1", "im", "hi", "1700000001.000100", ""))
	form := []byte(slackfake.SlashCommandForm("U1", "C1", "/parley", "help").Encode())
	now := time.Now()
	tests := []struct {
		name     string
		body     []byte
		signWith string
		at       time.Time
		wantCT   string
		wantErr  error
	}{
		{"JSON", body, secret, now, "application/json", nil},
		{"Form", form, secret, now, "application/x-www-form-urlencoded", nil},
		{"WrongSecret", body, "not-the-secret", now, "application/json", slack.ErrInvalidSignature},
		{"Stale", body, secret, now.Add(-6 * time.Minute), "application/json", slack.ErrExpiredTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := slackfake.Sign(tt.signWith, tt.body, tt.at)
			if got := h.Get("Content-Type"); got != tt.wantCT {
				t.Errorf("Content-Type: got %q, want %q", got, tt.wantCT)
			}
			if !strings.HasPrefix(h.Get("X-Slack-Signature"), "v0=") {
				t.Errorf("X-Slack-Signature: got %q, want v0=...", h.Get("X-Slack-Signature"))
			}
			sv, err := slack.NewSecretsVerifier(h, secret)
			if err == nil {
				if _, err = sv.Write(tt.body); err != nil {
					t.Fatal(err)
				}
				err = sv.Ensure()
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("verify %s: got %v, want %v", tt.name, err, tt.wantErr)
			}
		})
	}
	// The same input gives the same signature.
	a, b := slackfake.Sign(secret, body, now), slackfake.Sign(secret, body, now)
	if a.Get("X-Slack-Signature") != b.Get("X-Slack-Signature") {
		t.Errorf("Sign twice: got %q and %q, want the same", a.Get("X-Slack-Signature"), b.Get("X-Slack-Signature"))
	}
}

func TestEventCallbackParses(t *testing.T) {
	verify := slackevents.OptionVerifyToken(&slackevents.TokenComparator{VerificationToken: slackfake.VerificationToken})
	tests := []struct {
		name  string
		event map[string]any
		check func(any) string
	}{
		{
			name:  "DirectMessage",
			event: slackfake.MessageEvent("U1", "D1", "im", "hello", "1700000001.000100", ""),
			check: func(d any) string {
				m, ok := d.(*slackevents.MessageEvent)
				if !ok || m.ChannelType != "im" || m.Text != "hello" || m.ThreadTimeStamp != "" || m.EventTimeStamp != "1700000001.000100" {
					return "want an im message hello, no thread"
				}
				return ""
			},
		},
		{
			name:  "ThreadReply",
			event: slackfake.MessageEvent("U1", "C1", "channel", "more", "1700000002.000100", "1700000001.000100"),
			check: func(d any) string {
				m, ok := d.(*slackevents.MessageEvent)
				if !ok || m.ChannelType != "channel" || m.ThreadTimeStamp != "1700000001.000100" || m.User != "U1" {
					return "want a channel message in thread 1700000001.000100"
				}
				return ""
			},
		},
		{
			name:  "Mention",
			event: slackfake.MentionEvent("U1", "C1", "help me", "1700000003.000100", "1700000001.000100"),
			check: func(d any) string {
				m, ok := d.(*slackevents.AppMentionEvent)
				if !ok || m.Text != "<@"+slackfake.BotUserID+"> help me" || m.ThreadTimeStamp != "1700000001.000100" || m.Channel != "C1" {
					return "want an app_mention <@UBOT> help me in thread 1700000001.000100"
				}
				return ""
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := slackfake.EventCallback("Ev-"+tt.name, tt.event)
			e, err := slackevents.ParseEvent(json.RawMessage(body), verify)
			if err != nil {
				t.Fatalf("ParseEvent(%s): %v", body, err)
			}
			if e.Type != slackevents.CallbackEvent || e.TeamID != slackfake.TeamID {
				t.Errorf("outer event: got type %q team %q, want event_callback %s", e.Type, e.TeamID, slackfake.TeamID)
			}
			if cb, ok := e.Data.(*slackevents.EventsAPICallbackEvent); !ok || cb.EventID != "Ev-"+tt.name ||
				len(cb.Authorizations) != 1 || cb.Authorizations[0].UserID != slackfake.BotUserID {
				t.Errorf("callback: got %+v, want event_id Ev-%s and the bot's authorization", e.Data, tt.name)
			}
			if problem := tt.check(e.InnerEvent.Data); problem != "" {
				t.Errorf("inner event: got %T %+v, %s", e.InnerEvent.Data, e.InnerEvent.Data, problem)
			}
			if again := slackfake.EventCallback("Ev-"+tt.name, tt.event); !bytes.Equal(again, body) {
				t.Errorf("EventCallback twice: got %s and %s, want the same bytes", body, again)
			}
		})
	}
}

func TestURLVerification(t *testing.T) {
	e, err := slackevents.ParseEvent(slackfake.URLVerification("abc123"), slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatalf("ParseEvent(url_verification): %v", err)
	}
	v, ok := e.Data.(*slackevents.EventsAPIURLVerificationEvent)
	if !ok || e.Type != slackevents.URLVerification || v.Challenge != "abc123" {
		t.Errorf("url_verification: got %T %+v, want challenge abc123", e.Data, e.Data)
	}
}

// TestInteractionOverHTTP: a signed button click, as Slack POSTs it,
// parsed by slack-go.
func TestInteractionOverHTTP(t *testing.T) {
	payload := slackfake.BlockActionPayload("U1", "D1", "1700000000.000100", "", "resolve", "no")
	body := slackfake.InteractionForm(payload).Encode()
	r := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(body))
	r.Header = slackfake.Sign(secret, []byte(body), time.Now())
	ic, err := slack.InteractionCallbackParse(r)
	if err != nil {
		t.Fatalf("InteractionCallbackParse: %v", err)
	}
	if ic.Type != slack.InteractionTypeBlockActions || ic.ActionCallback.BlockActions[0].ActionID != "resolve" ||
		ic.ActionCallback.BlockActions[0].BlockID != "actions" || ic.Container.ThreadTs != "" || ic.Team.ID != slackfake.TeamID ||
		ic.ResponseURL != "" || ic.TriggerID == "" {
		t.Errorf("interaction: got %+v, want block_actions resolve in block actions, no thread, team %s, no response_url", ic, slackfake.TeamID)
	}
}

func TestSlashCommandForm(t *testing.T) {
	body := slackfake.SlashCommandForm("U1", "C1", "/parley", "order 42").Encode()
	r := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
	r.Header = slackfake.Sign(secret, []byte(body), time.Now())
	cmd, err := slack.SlashCommandParse(r)
	if err != nil {
		t.Fatalf("SlashCommandParse: %v", err)
	}
	want := slack.SlashCommand{
		Token: slackfake.VerificationToken, TeamID: slackfake.TeamID, TeamDomain: slackfake.TeamDomain,
		ChannelID: "C1", ChannelName: "C1", UserID: "U1", UserName: "U1", Command: "/parley", Text: "order 42",
		APIAppID: slackfake.AppID, TriggerID: cmd.TriggerID,
	}
	if cmd != want || cmd.TriggerID == "" {
		t.Errorf("slash command: got %+v, want %+v with a trigger_id", cmd, want)
	}
}
