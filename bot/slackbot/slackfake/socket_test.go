package slackfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/parley-chat/parley/bot/slackbot/slackfake"
)

// TestSocketMode runs slack-go's real Socket Mode client against the
// fake: connect, an events_api envelope parsed into slackevents types and
// acked, a dropped connection and the reconnect, then the other envelope
// types, a redelivery and Slack's disconnect request.
func TestSocketMode(t *testing.T) {
	s := mustServer(t)
	client := runSocketClient(t, s)
	ctx := waitCtx(t)
	if err := s.WaitSocket(ctx); err != nil {
		t.Fatal(err)
	}

	// An events_api envelope with a direct message.
	msg := slackfake.MessageEvent("U1", "D1", "im", "where is my order?", "1700000001.000100", "")
	id, err := s.SendEnvelope(slackfake.EnvelopeEventsAPI, slackfake.EventCallback("Ev1", msg))
	if err != nil {
		t.Fatalf("SendEnvelope(events_api): %v", err)
	}
	evt := nextEvent(t, client, socketmode.EventTypeEventsAPI)
	if evt.Request == nil || evt.Request.EnvelopeID != id || evt.Request.AcceptsResponsePayload || evt.Request.RetryAttempt != 0 {
		t.Fatalf("events_api request: got %+v, want envelope %s, accepts_response_payload false, retry 0", evt.Request, id)
	}
	outer, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok || outer.Type != slackevents.CallbackEvent || outer.TeamID != slackfake.TeamID || outer.APIAppID != slackfake.AppID {
		t.Fatalf("events_api data: got %T %+v, want an event_callback for %s/%s", evt.Data, evt.Data, slackfake.TeamID, slackfake.AppID)
	}
	cb, ok := outer.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || cb.EventID != "Ev1" || cb.EventTime != 1700000001 {
		t.Errorf("callback: got %T %+v, want event_id Ev1, event_time 1700000001", outer.Data, outer.Data)
	}
	me, ok := outer.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok {
		t.Fatalf("inner event: got %T, want *slackevents.MessageEvent", outer.InnerEvent.Data)
	}
	if me.User != "U1" || me.Channel != "D1" || me.ChannelType != "im" || me.Text != "where is my order?" ||
		me.TimeStamp != "1700000001.000100" || me.ThreadTimeStamp != "" || me.ClientMsgID == "" {
		t.Errorf("message event: got %+v, want U1 in D1 (im) at 1700000001.000100 with a client_msg_id", me)
	}

	// The client's ack, with a payload, is what WaitAck returns.
	if err := client.Ack(*evt.Request, map[string]any{"handled": true}); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	raw, err := s.WaitAck(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var ack struct {
		EnvelopeID string         `json:"envelope_id"`
		Payload    map[string]any `json:"payload"`
	}
	if err := json.Unmarshal(raw, &ack); err != nil || ack.EnvelopeID != id || ack.Payload["handled"] != true {
		t.Errorf("ack: got %s (%v), want envelope_id %s and payload handled=true", raw, err, id)
	}

	// A dropped connection: the client reconnects through
	// apps.connections.open and gets the next envelope there.
	s.DropSocket()
	if err := s.WaitConnects(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if got := s.SocketConnects(); got != 2 {
		t.Errorf("SocketConnects after a drop: got %d, want 2", got)
	}
	if got := len(s.Calls("apps.connections.open")); got != 2 {
		t.Errorf("apps.connections.open calls after a drop: got %d, want 2", got)
	}

	click := slackfake.BlockActionPayload("U1", "C1", "1700000000.000100", "1699999999.000100", "escalate", "yes")
	id2, err := s.SendEnvelope(slackfake.EnvelopeInteractive, click)
	if err != nil {
		t.Fatalf("SendEnvelope(interactive) after reconnect: %v", err)
	}
	evt = nextEvent(t, client, socketmode.EventTypeInteractive)
	ic, ok := evt.Data.(slack.InteractionCallback)
	if !ok || evt.Request.EnvelopeID != id2 || evt.Request.AcceptsResponsePayload {
		t.Fatalf("interactive: got %T, envelope %+v; want slack.InteractionCallback in %s, accepts_response_payload false", evt.Data, evt.Request, id2)
	}
	if ic.Type != slack.InteractionTypeBlockActions || len(ic.ActionCallback.BlockActions) != 1 ||
		ic.ActionCallback.BlockActions[0].ActionID != "escalate" || ic.ActionCallback.BlockActions[0].Value != "yes" ||
		ic.User.ID != "U1" || ic.Channel.ID != "C1" || ic.Container.MessageTs != "1700000000.000100" ||
		ic.Container.ThreadTs != "1699999999.000100" || ic.Message.Timestamp != "1700000000.000100" {
		t.Errorf("block action: got %+v, want escalate=yes by U1 on 1700000000.000100 in C1, thread 1699999999.000100", ic)
	}
	if err := client.Ack(*evt.Request); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	raw, err = s.WaitAck(ctx, id2)
	if err != nil || strings.Contains(string(raw), "payload") {
		t.Errorf("ack without payload: got %s, %v; want just the envelope_id", raw, err)
	}

	// A slash command accepts a response payload.
	id3, err := s.SendEnvelope(slackfake.EnvelopeSlashCommands, slackfake.SlashCommandPayload("U1", "C1", "/parley", "order 42"))
	if err != nil {
		t.Fatalf("SendEnvelope(slash_commands): %v", err)
	}
	evt = nextEvent(t, client, socketmode.EventTypeSlashCommand)
	cmd, ok := evt.Data.(slack.SlashCommand)
	if !ok || !evt.Request.AcceptsResponsePayload || evt.Request.EnvelopeID != id3 ||
		cmd.Command != "/parley" || cmd.Text != "order 42" || cmd.UserID != "U1" || cmd.ChannelID != "C1" || cmd.TeamID != slackfake.TeamID {
		t.Errorf("slash command: got %T %+v (envelope %+v), want /parley order 42 by U1 in C1, accepts_response_payload true", evt.Data, evt.Data, evt.Request)
	}

	// Slack redelivers an envelope whose ack was late.
	if err := s.RetryEnvelope(id, "timeout"); err != nil {
		t.Fatalf("RetryEnvelope: %v", err)
	}
	evt = nextEvent(t, client, socketmode.EventTypeEventsAPI)
	if evt.Request.EnvelopeID != id || evt.Request.RetryAttempt != 1 || evt.Request.RetryReason != "timeout" {
		t.Errorf("redelivery: got %+v, want envelope %s, retry_attempt 1, retry_reason timeout", evt.Request, id)
	}
	if err := client.Ack(*evt.Request); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if acks, err := s.WaitAcks(ctx, id, 2); err != nil || len(s.Acks(id)) != 2 {
		t.Errorf("acks after a redelivery: got %d, %v; want 2", len(acks), err)
	}

	// Slack's disconnect request: the client reconnects by itself.
	if err := s.SendDisconnect("refresh_requested"); err != nil {
		t.Fatalf("SendDisconnect: %v", err)
	}
	if err := s.WaitConnects(ctx, 3); err != nil {
		t.Fatal(err)
	}
}

// TestSocketPings: slack-go's client drops a connection that was not
// pinged within its interval; the fake's pings keep it open.
func TestSocketPings(t *testing.T) {
	s := mustServer(t)
	s.SetPingInterval(20 * time.Millisecond)
	const clientLimit = 100 * time.Millisecond
	client := runSocketClient(t, s, socketmode.OptionPingInterval(clientLimit))
	if err := s.WaitSocket(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	// Time itself is what is tested: several of the client's intervals.
	<-time.After(4 * clientLimit)
	if got := s.SocketConnects(); got != 1 {
		t.Errorf("SocketConnects after %v with pings every 20ms: got %d, want 1 (no reconnect)", 4*clientLimit, got)
	}
	id, err := s.SendEnvelope(slackfake.EnvelopeEventsAPI, slackfake.EventCallback("Ev1",
		slackfake.MentionEvent("U1", "C1", "hi", "1700000001.000100", "")))
	if err != nil {
		t.Fatal(err)
	}
	evt := nextEvent(t, client, socketmode.EventTypeEventsAPI)
	if evt.Request.EnvelopeID != id {
		t.Errorf("envelope: got %s, want %s", evt.Request.EnvelopeID, id)
	}
}

func TestSocketTickets(t *testing.T) {
	s := mustServer(t)
	wsURL := "ws" + strings.TrimPrefix(s.APIURL(), "http") + "socket-mode"
	tests := []struct {
		name string
		url  func(t *testing.T) string
		want int // HTTP status of the handshake; 101 when it succeeds
	}{
		{"NoTicket", func(*testing.T) string { return wsURL }, http.StatusUnauthorized},
		{"MadeUpTicket", func(*testing.T) string { return wsURL + "?ticket=ticket-999" }, http.StatusUnauthorized},
		{"Issued", func(t *testing.T) string { return openURL(t, s) }, http.StatusSwitchingProtocols},
		{"Reused", func(t *testing.T) string {
			u := openURL(t, s)
			c, _, err := websocket.DefaultDialer.Dial(u, nil)
			if err != nil {
				t.Fatalf("first dial of %s: %v", u, err)
			}
			c.Close()
			return u
		}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.url(t)
			c, resp, err := websocket.DefaultDialer.Dial(u, nil)
			if c != nil {
				defer c.Close()
			}
			got := 0
			if resp != nil {
				got = resp.StatusCode
			}
			if got != tt.want {
				t.Errorf("dial %s: got status %d (%v), want %d", u, got, err, tt.want)
			}
			if c == nil {
				return
			}
			var hello map[string]any
			if err := c.ReadJSON(&hello); err != nil {
				t.Fatalf("read hello: %v", err)
			}
			info, _ := hello["connection_info"].(map[string]any)
			if hello["type"] != "hello" || info["app_id"] != slackfake.AppID || hello["num_connections"] == nil || hello["debug_info"] == nil {
				t.Errorf("hello: got %v, want type hello, connection_info.app_id %s, num_connections, debug_info", hello, slackfake.AppID)
			}
		})
	}
}

// openURL calls apps.connections.open as slack-go does.
func openURL(t *testing.T, s *slackfake.Server) string {
	t.Helper()
	api := slack.New(slackfake.BotToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(slackfake.AppToken))
	_, u, err := api.StartSocketModeContext(waitCtx(t))
	if err != nil {
		t.Fatalf("apps.connections.open: %v", err)
	}
	if !strings.HasPrefix(u, "ws://127.0.0.1:") {
		t.Fatalf("apps.connections.open: got url %q, want ws://127.0.0.1:PORT/...", u)
	}
	return u
}

func TestSendEnvelopeErrors(t *testing.T) {
	s := mustServer(t)
	tests := []struct {
		name    string
		typ     string
		payload any
		wantID  bool
		wantIs  error
	}{
		{"UnknownType", "hello", map[string]any{}, false, nil},
		{"NilPayload", slackfake.EnvelopeEventsAPI, nil, false, nil},
		{"NotJSON", slackfake.EnvelopeEventsAPI, []byte("{"), false, nil},
		{"NotAnObject", slackfake.EnvelopeEventsAPI, "[1,2]", false, nil},
		{"Unmarshallable", slackfake.EnvelopeEventsAPI, map[string]any{"f": func() {}}, false, nil},
		{"NoClient", slackfake.EnvelopeEventsAPI, slackfake.EventCallback("Ev1", slackfake.MessageEvent("U1", "D1", "im", "hi", "1.000001", "")), true, slackfake.ErrNoSocket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := s.SendEnvelope(tt.typ, tt.payload)
			if err == nil {
				t.Fatalf("SendEnvelope(%q, %v): got no error, want one", tt.typ, tt.payload)
			}
			if (id != "") != tt.wantID {
				t.Errorf("SendEnvelope(%q): got id %q, want an id: %v", tt.typ, id, tt.wantID)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("SendEnvelope(%q): got %v, want %v", tt.typ, err, tt.wantIs)
			}
		})
	}
	if _, err := s.WaitAck(context.Background(), "never-sent"); !errors.Is(err, slackfake.ErrUnknownEnvelope) {
		t.Errorf("WaitAck(never-sent): got %v, want ErrUnknownEnvelope", err)
	}
	if err := s.RetryEnvelope("never-sent", "timeout"); !errors.Is(err, slackfake.ErrUnknownEnvelope) {
		t.Errorf("RetryEnvelope(never-sent): got %v, want ErrUnknownEnvelope", err)
	}
	if err := s.SendDisconnect("warning"); !errors.Is(err, slackfake.ErrNoSocket) {
		t.Errorf("SendDisconnect with no client: got %v, want ErrNoSocket", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.WaitSocket(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitSocket with no client and a cancelled context: got %v, want context.Canceled", err)
	}
}
