package slackfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/parley-chat/parley/bot/slackbot/slackfake"
)

var tsPattern = regexp.MustCompile(`^\d{10}\.\d{6}$`)

func TestAPIURL(t *testing.T) {
	s := mustServer(t)
	u, err := url.Parse(s.APIURL())
	if err != nil {
		t.Fatalf("APIURL %q: %v", s.APIURL(), err)
	}
	if u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Path != "/" {
		t.Errorf("APIURL: got %q, want http://127.0.0.1:PORT/", s.APIURL())
	}
}

func TestAuthTest(t *testing.T) {
	s := mustServer(t)
	got, err := botClient(s).AuthTestContext(waitCtx(t))
	if err != nil {
		t.Fatalf("AuthTest: %v", err)
	}
	if got.UserID != slackfake.BotUserID || got.BotID != slackfake.BotID || got.TeamID != slackfake.TeamID {
		t.Errorf("AuthTest: got user %q bot %q team %q, want %q %q %q",
			got.UserID, got.BotID, got.TeamID, slackfake.BotUserID, slackfake.BotID, slackfake.TeamID)
	}
}

func TestPostMessage(t *testing.T) {
	blocks := []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Order* shipped", false, false), nil, nil),
		slack.NewActionBlock("actions", slack.NewButtonBlockElement("escalate", "yes", slack.NewTextBlockObject(slack.PlainTextType, "Talk to a person", false, false))),
	}
	meta := slack.SlackMetadata{EventType: "parley_reply", EventPayload: map[string]any{"client_msg_id": "m-1", "turn": float64(2)}}
	tests := []struct {
		name    string
		channel string
		opts    []slack.MsgOption
		want    slackfake.Message // TS and Blocks checked separately
		blocks  int
	}{
		{
			name:    "Text",
			channel: "D1",
			opts:    []slack.MsgOption{slack.MsgOptionText("hello", false)},
			want:    slackfake.Message{Channel: "D1", Text: "hello", User: slackfake.BotUserID},
		},
		{
			name:    "ThreadReply",
			channel: "C1",
			opts:    []slack.MsgOption{slack.MsgOptionText("in thread", false), slack.MsgOptionTS("1700000500.000001")},
			want:    slackfake.Message{Channel: "C1", ThreadTS: "1700000500.000001", Text: "in thread", User: slackfake.BotUserID},
		},
		{
			name:    "Blocks",
			channel: "C1",
			opts:    []slack.MsgOption{slack.MsgOptionText("fallback", false), slack.MsgOptionBlocks(blocks...)},
			want:    slackfake.Message{Channel: "C1", Text: "fallback", User: slackfake.BotUserID},
			blocks:  2,
		},
		{
			name:    "Metadata",
			channel: "C2",
			opts:    []slack.MsgOption{slack.MsgOptionText("with metadata", false), slack.MsgOptionMetadata(meta)},
			want: slackfake.Message{Channel: "C2", Text: "with metadata", User: slackfake.BotUserID,
				MetadataType: "parley_reply", MetadataPayload: map[string]any{"client_msg_id": "m-1", "turn": float64(2)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustServer(t)
			channel, ts, msg, err := botClient(s).PostMessageWithResponseContext(waitCtx(t), tt.channel, tt.opts...)
			if err != nil {
				t.Fatalf("PostMessage(%s): %v", tt.channel, err)
			}
			if channel != tt.channel || !tsPattern.MatchString(ts) {
				t.Errorf("PostMessage(%s): got channel %q ts %q, want %q and a Slack ts", tt.channel, channel, ts, tt.channel)
			}
			if msg.Timestamp != ts || msg.Text != tt.want.Text || msg.User != slackfake.BotUserID || msg.BotID != slackfake.BotID ||
				msg.ThreadTimestamp != tt.want.ThreadTS || len(msg.Blocks.BlockSet) != tt.blocks {
				t.Errorf("PostMessage(%s) message: got ts %q text %q user %q bot %q thread %q %d blocks, want %q %q %q %q %q %d",
					tt.channel, msg.Timestamp, msg.Text, msg.User, msg.BotID, msg.ThreadTimestamp, len(msg.Blocks.BlockSet),
					ts, tt.want.Text, slackfake.BotUserID, slackfake.BotID, tt.want.ThreadTS, tt.blocks)
			}
			posted := s.Posted("")
			if len(posted) != 1 {
				t.Fatalf("Posted: got %d messages, want 1", len(posted))
			}
			got := posted[0]
			if got.TS != ts {
				t.Errorf("Posted TS: got %q, want %q", got.TS, ts)
			}
			var gotBlocks []map[string]any
			if got.Blocks != nil {
				if err := json.Unmarshal(got.Blocks, &gotBlocks); err != nil {
					t.Fatalf("Posted blocks %s: %v", got.Blocks, err)
				}
			}
			if len(gotBlocks) != tt.blocks {
				t.Errorf("Posted blocks: got %d (%s), want %d", len(gotBlocks), got.Blocks, tt.blocks)
			}
			got.TS, got.Blocks = "", nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Posted: got %+v, want %+v", got, tt.want)
			}
			if other := s.Posted("elsewhere"); len(other) != 0 {
				t.Errorf("Posted(elsewhere): got %d messages, want 0", len(other))
			}
		})
	}
}

func TestPostedTimestampsIncrease(t *testing.T) {
	s := mustServer(t)
	api := botClient(s)
	var prev string
	for i := range 3 {
		_, ts, err := api.PostMessageContext(waitCtx(t), "C1", slack.MsgOptionText("n", false))
		if err != nil {
			t.Fatalf("PostMessage %d: %v", i, err)
		}
		if ts <= prev {
			t.Errorf("PostMessage %d: got ts %q, want one after %q", i, ts, prev)
		}
		prev = ts
	}
	if want := "1700000000.000300"; prev != want {
		t.Errorf("third ts: got %q, want %q (the fake's counter, not the clock)", prev, want)
	}
}

func TestUpdateMessage(t *testing.T) {
	s := mustServer(t)
	api := botClient(s)
	ctx := waitCtx(t)
	_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("thinking…", false),
		slack.MsgOptionBlocks(slack.NewDividerBlock()))
	if err != nil {
		t.Fatalf("PostMessage: %v", err)
	}
	ch, uts, text, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("done", false))
	if err != nil {
		t.Fatalf("UpdateMessage(C1, %s): %v", ts, err)
	}
	if ch != "C1" || uts != ts || text != "done" {
		t.Errorf("UpdateMessage: got %q %q %q, want C1 %q done", ch, uts, text, ts)
	}
	got := s.Posted("C1")
	if len(got) != 1 || got[0].Text != "done" || got[0].Updated != 1 || got[0].Blocks == nil {
		t.Fatalf("Posted after text update: got %+v, want one message, text done, Updated 1, blocks kept", got)
	}
	// An empty block list clears the blocks, as slack-go documents.
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionBlocks()); err != nil {
		t.Fatalf("UpdateMessage clearing blocks: %v", err)
	}
	got = s.Posted("C1")
	if got[0].Blocks != nil || got[0].Text != "done" || got[0].Updated != 2 {
		t.Errorf("Posted after clearing blocks: got %+v, want no blocks, text done, Updated 2", got[0])
	}
}

func TestPostEphemeral(t *testing.T) {
	s := mustServer(t)
	ts, err := botClient(s).PostEphemeralContext(waitCtx(t), "C1", "U1", slack.MsgOptionText("only you", false))
	if err != nil {
		t.Fatalf("PostEphemeral: %v", err)
	}
	if !tsPattern.MatchString(ts) {
		t.Errorf("PostEphemeral: got ts %q, want a Slack ts", ts)
	}
	want := []slackfake.Ephemeral{{Channel: "C1", User: "U1", TS: ts, Text: "only you"}}
	if got := s.Ephemerals("C1"); !reflect.DeepEqual(got, want) {
		t.Errorf("Ephemerals: got %+v, want %+v", got, want)
	}
	if got := s.Posted(""); len(got) != 0 {
		t.Errorf("Posted after an ephemeral: got %+v, want none", got)
	}
}

func TestConversationReplies(t *testing.T) {
	s := mustServer(t)
	api := botClient(s)
	ctx := waitCtx(t)
	const parent = "1700000900.000100"
	if err := s.AddMessage(slackfake.Message{Channel: "C1", TS: parent, User: "U1", Text: "where is my order?"}); err != nil {
		t.Fatalf("AddMessage: %v", err)
	}
	meta := slack.SlackMetadata{EventType: "parley_reply", EventPayload: map[string]any{"client_msg_id": "m-1"}}
	_, r1, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("one", false), slack.MsgOptionTS(parent), slack.MsgOptionMetadata(meta))
	if err != nil {
		t.Fatalf("PostMessage reply 1: %v", err)
	}
	_, r2, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("two", false), slack.MsgOptionTS(parent))
	if err != nil {
		t.Fatalf("PostMessage reply 2: %v", err)
	}
	// A message elsewhere is not part of the thread.
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("top level", false)); err != nil {
		t.Fatalf("PostMessage top level: %v", err)
	}

	tests := []struct {
		name     string
		ts       string
		metadata bool
		wantMeta string // event_type on the first reply
	}{
		{name: "ByParentWithMetadata", ts: parent, metadata: true, wantMeta: "parley_reply"},
		{name: "ByParentWithoutMetadata", ts: parent, metadata: false, wantMeta: ""},
		{name: "ByReply", ts: r2, metadata: true, wantMeta: "parley_reply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, more, _, err := api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
				ChannelID: "C1", Timestamp: tt.ts, IncludeAllMetadata: tt.metadata})
			if err != nil {
				t.Fatalf("GetConversationReplies(C1, %s): %v", tt.ts, err)
			}
			var got []string
			for _, m := range msgs {
				got = append(got, m.Timestamp+" "+m.Text)
			}
			want := []string{parent + " where is my order?", r1 + " one", r2 + " two"}
			if !reflect.DeepEqual(got, want) || more {
				t.Fatalf("GetConversationReplies(C1, %s): got %q more=%v, want %q more=false", tt.ts, got, more, want)
			}
			if msgs[0].ReplyCount != 2 || msgs[0].LatestReply != r2 || msgs[1].ThreadTimestamp != parent || msgs[1].ParentUserId != "U1" {
				t.Errorf("thread shape: got reply_count %d latest %q, reply thread_ts %q parent_user %q; want 2 %q %q U1",
					msgs[0].ReplyCount, msgs[0].LatestReply, msgs[1].ThreadTimestamp, msgs[1].ParentUserId, r2, parent)
			}
			if gotMeta := msgs[1].Metadata.EventType; gotMeta != tt.wantMeta {
				t.Errorf("reply metadata event_type: got %q, want %q", gotMeta, tt.wantMeta)
			}
			if tt.wantMeta != "" && msgs[1].Metadata.EventPayload["client_msg_id"] != "m-1" {
				t.Errorf("reply metadata payload: got %v, want client_msg_id m-1", msgs[1].Metadata.EventPayload)
			}
		})
	}

	t.Run("Pages", func(t *testing.T) {
		var got []string
		cursor := ""
		for page := 0; page < 5; page++ {
			msgs, more, next, err := api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
				ChannelID: "C1", Timestamp: parent, Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatalf("GetConversationReplies page %d: %v", page, err)
			}
			for _, m := range msgs {
				got = append(got, m.Timestamp)
			}
			if !more {
				break
			}
			cursor = next
		}
		if want := []string{parent, r1, r2}; !reflect.DeepEqual(got, want) {
			t.Errorf("paged replies: got %q, want %q", got, want)
		}
	})

	t.Run("ThreadNotFound", func(t *testing.T) {
		_, _, _, err := api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: "C1", Timestamp: "1.000001"})
		if err == nil || err.Error() != "thread_not_found" {
			t.Errorf("GetConversationReplies(unknown ts): got %v, want thread_not_found", err)
		}
	})

	t.Run("ParentNeverSeen", func(t *testing.T) {
		// A reply to a user message the fake was not told about: the
		// replies are still there, without a parent.
		const unseen = "1700000950.000100"
		_, r, err := api.PostMessageContext(ctx, "C9", slack.MsgOptionText("reply", false), slack.MsgOptionTS(unseen))
		if err != nil {
			t.Fatalf("PostMessage: %v", err)
		}
		msgs, _, _, err := api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: "C9", Timestamp: unseen})
		if err != nil || len(msgs) != 1 || msgs[0].Timestamp != r {
			t.Errorf("GetConversationReplies(C9, %s): got %d messages, %v; want the one reply %s", unseen, len(msgs), err, r)
		}
	})
}

func TestUsers(t *testing.T) {
	s := mustServer(t)
	s.AddUser(slackfake.User{ID: "U1", Name: "ada", RealName: "Ada Lovelace", Email: "ada@example.com"})
	s.AddUser(slackfake.User{Name: "no id"}) // ignored
	api := botClient(s)
	ctx := waitCtx(t)

	tests := []struct {
		name    string
		user    string
		wantErr string
		want    slackfake.User
	}{
		{name: "Person", user: "U1", want: slackfake.User{ID: "U1", Name: "ada", RealName: "Ada Lovelace", Email: "ada@example.com"}},
		{name: "Bot", user: slackfake.BotUserID, want: slackfake.User{ID: slackfake.BotUserID, Name: slackfake.BotName, RealName: "Parley", IsBot: true}},
		{name: "Unknown", user: "U404", wantErr: "user_not_found"},
		{name: "Empty", user: "", wantErr: "user_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := api.GetUserInfoContext(ctx, tt.user)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("GetUserInfo(%q): got %v, want %s", tt.user, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetUserInfo(%q): %v", tt.user, err)
			}
			got := slackfake.User{ID: u.ID, Name: u.Name, RealName: u.RealName, Email: u.Profile.Email, IsBot: u.IsBot}
			if got != tt.want || u.Profile.RealName != tt.want.RealName || u.TeamID != slackfake.TeamID {
				t.Errorf("GetUserInfo(%q): got %+v (profile real name %q, team %q), want %+v", tt.user, got, u.Profile.RealName, u.TeamID, tt.want)
			}
		})
	}

	u, err := api.GetUserByEmailContext(ctx, "ADA@example.com")
	if err != nil || u.ID != "U1" {
		t.Errorf("GetUserByEmail(ADA@example.com): got %+v, %v; want U1", u, err)
	}
	if _, err := api.GetUserByEmailContext(ctx, "nobody@example.com"); err == nil || err.Error() != "users_not_found" {
		t.Errorf("GetUserByEmail(nobody): got %v, want users_not_found", err)
	}
}

// TestSlackErrors covers the errors the fake answers as Slack would, both
// through slack-go and with raw requests slack-go would not build.
func TestSlackErrors(t *testing.T) {
	bot := http.Header{"Authorization": {"Bearer " + slackfake.BotToken}}
	tests := []struct {
		name   string
		method string
		form   url.Values
		header http.Header
		want   string
	}{
		{"EmptyChannel", "chat.postMessage", url.Values{"text": {"hi"}}, bot, "channel_not_found"},
		{"NoText", "chat.postMessage", url.Values{"channel": {"C1"}}, bot, "no_text"},
		{"EmptyBlocksNoText", "chat.postMessage", url.Values{"channel": {"C1"}, "blocks": {"[]"}}, bot, "no_text"},
		{"BlocksNotJSON", "chat.postMessage", url.Values{"channel": {"C1"}, "blocks": {"[{"}}, bot, "invalid_blocks_format"},
		{"BlockWithoutType", "chat.postMessage", url.Values{"channel": {"C1"}, "blocks": {`[{"text":"x"}]`}}, bot, "invalid_blocks"},
		{"MetadataNotJSON", "chat.postMessage", url.Values{"channel": {"C1"}, "text": {"x"}, "metadata": {"{"}}, bot, "invalid_metadata_format"},
		{"MetadataNoType", "chat.postMessage", url.Values{"channel": {"C1"}, "text": {"x"}, "metadata": {`{"event_payload":{}}`}}, bot, "invalid_metadata_schema"},
		{"MetadataPayloadNotObject", "chat.postMessage", url.Values{"channel": {"C1"}, "text": {"x"}, "metadata": {`{"event_type":"t","event_payload":[1]}`}}, bot, "invalid_metadata_schema"},
		{"BadThreadTS", "chat.postMessage", url.Values{"channel": {"C1"}, "text": {"x"}, "thread_ts": {"yesterday"}}, bot, "invalid_arguments"},
		{"TooLong", "chat.postMessage", url.Values{"channel": {"C1"}, "text": {strings.Repeat("é", 40001)}}, bot, "msg_too_long"},
		{"TokenInForm", "chat.postMessage", url.Values{"channel": {"C1"}, "text": {"x"}, "token": {slackfake.BotToken}}, nil, ""},
		{"NoToken", "chat.postMessage", url.Values{"channel": {"C1"}, "text": {"x"}}, nil, "not_authed"},
		{"WrongToken", "chat.postMessage", url.Values{"channel": {"C1"}, "text": {"x"}, "token": {"xoxb-wrong"}}, nil, "invalid_auth"},
		{"AppTokenOnBotMethod", "auth.test", nil, http.Header{"Authorization": {"Bearer " + slackfake.AppToken}}, "not_allowed_token_type"},
		{"UpdateUnknown", "chat.update", url.Values{"channel": {"C1"}, "ts": {"1.000001"}, "text": {"x"}}, bot, "message_not_found"},
		{"UpdateUserMessage", "chat.update", url.Values{"channel": {"C1"}, "ts": {"1700000900.000100"}, "text": {"x"}}, bot, "cant_update_message"},
		{"EphemeralNoUser", "chat.postEphemeral", url.Values{"channel": {"C1"}, "text": {"x"}}, bot, "user_not_found"},
		{"RepliesBadCursor", "conversations.replies", url.Values{"channel": {"C1"}, "ts": {"1700000900.000100"}, "cursor": {"!!"}}, bot, "invalid_cursor"},
		{"RepliesBadLimit", "conversations.replies", url.Values{"channel": {"C1"}, "ts": {"1700000900.000100"}, "limit": {"-1"}}, bot, "invalid_limit"},
		{"ConnectionsOpenBotToken", "apps.connections.open", nil, bot, "not_allowed_token_type"},
		{"ConnectionsOpenTokenInForm", "apps.connections.open", url.Values{"token": {slackfake.AppToken}}, nil, "not_authed"},
		{"ConnectionsOpenWrongToken", "apps.connections.open", nil, http.Header{"Authorization": {"Bearer xapp-wrong"}}, "invalid_auth"},
		{"UnknownMethod", "chat.scheduleMessage", url.Values{"channel": {"C1"}}, bot, "unknown_method"},
		{"SlacktestDefaultIsUnknown", "reactions.add", url.Values{"channel": {"C1"}}, bot, "unknown_method"},
		{"BadForm", "chat.postMessage", nil, bot, "invalid_form_data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustServer(t)
			if err := s.AddMessage(slackfake.Message{Channel: "C1", TS: "1700000900.000100", User: "U1", Text: "a person's"}); err != nil {
				t.Fatal(err)
			}
			var status int
			var body string
			if tt.name == "BadForm" {
				req, _ := http.NewRequest(http.MethodPost, s.APIURL()+tt.method, strings.NewReader("channel=%zz"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header["Authorization"] = bot["Authorization"]
				status, body = do(t, req)
			} else {
				status, body = postForm(t, s, tt.method, tt.form, tt.header)
			}
			var got struct {
				OK    bool   `json:"ok"`
				Error string `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil || status != http.StatusOK {
				t.Fatalf("%s %v: got status %d body %q, want 200 and JSON", tt.method, tt.form, status, body)
			}
			if got.Error != tt.want || got.OK != (tt.want == "") {
				t.Errorf("%s %v: got ok=%v error %q, want error %q", tt.method, tt.form, got.OK, got.Error, tt.want)
			}
			calls := s.Calls(tt.method)
			if len(calls) != 1 || calls[0].Error != tt.want || calls[0].Status != http.StatusOK {
				t.Errorf("Calls(%s): got %+v, want one call answered 200 with error %q", tt.method, calls, tt.want)
			}
		})
	}

	t.Run("ThroughSlackGo", func(t *testing.T) {
		s := mustServer(t)
		_, _, err := botClient(s).PostMessageContext(waitCtx(t), "", slack.MsgOptionText("x", false))
		var se slack.SlackErrorResponse
		if !errors.As(err, &se) || se.Err != "channel_not_found" {
			t.Errorf("PostMessage(\"\"): got %v, want slack.SlackErrorResponse channel_not_found", err)
		}
		wrong := slack.New("xoxb-wrong", slack.OptionAPIURL(s.APIURL()))
		if _, err := wrong.AuthTestContext(waitCtx(t)); err == nil || err.Error() != "invalid_auth" {
			t.Errorf("AuthTest with a wrong token: got %v, want invalid_auth", err)
		}
	})
}

func TestCallsRecorded(t *testing.T) {
	s := mustServer(t)
	api := botClient(s)
	ctx := waitCtx(t)
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("form", false)); err != nil {
		t.Fatalf("PostMessage: %v", err)
	}
	// Slack also takes JSON bodies; the fake flattens their fields.
	status, body := postJSON(t, s, "chat.postMessage",
		`{"channel":"C1","text":"json","unfurl_links":false,"n":3,"blocks":[ {"type": "divider"} ],"x":null}`)
	if status != http.StatusOK || !strings.Contains(body, `"ok":true`) {
		t.Fatalf("JSON chat.postMessage: got %d %s, want 200 ok", status, body)
	}
	if _, err := api.AuthTestContext(ctx); err != nil {
		t.Fatalf("AuthTest: %v", err)
	}

	all := s.Calls("")
	var methods []string
	for _, c := range all {
		methods = append(methods, c.Method)
	}
	if want := []string{"chat.postMessage", "chat.postMessage", "auth.test"}; !reflect.DeepEqual(methods, want) {
		t.Fatalf("Calls(\"\"): got methods %q, want %q", methods, want)
	}
	form := all[0]
	if form.Params.Get("channel") != "C1" || form.Params.Get("text") != "form" || form.Token != slackfake.BotToken ||
		form.Params.Get("token") != slackfake.BotToken || form.Status != http.StatusOK || form.Error != "" || form.At.IsZero() ||
		!strings.Contains(string(form.Body), "text=form") {
		t.Errorf("form call: got %+v, want channel C1, text form, the bot token (form field), 200, At set", form)
	}
	js := all[1].Params
	wantJSON := url.Values{"channel": {"C1"}, "text": {"json"}, "unfurl_links": {"false"}, "n": {"3"},
		"blocks": {`[{"type":"divider"}]`}, "x": {""}}
	if !reflect.DeepEqual(js, wantJSON) || all[1].Token != slackfake.BotToken {
		t.Errorf("JSON call params: got %v token %q, want %v and the bot token (header)", js, all[1].Token, wantJSON)
	}
	if got := s.Posted("C1"); len(got) != 2 || got[1].Text != "json" || string(got[1].Blocks) != `[{"type":"divider"}]` {
		t.Errorf("Posted after a JSON post: got %+v, want the JSON message second with its blocks", got)
	}
	// What Calls returns is a copy.
	all[0].Params.Set("channel", "changed")
	if got := s.Calls("chat.postMessage")[0].Params.Get("channel"); got != "C1" {
		t.Errorf("Calls after changing a returned copy: got channel %q, want C1", got)
	}
	if got := s.Calls("auth.test"); len(got) != 1 {
		t.Errorf("Calls(auth.test): got %d, want 1", len(got))
	}
}

func TestAddMessage(t *testing.T) {
	tests := []struct {
		name    string
		msg     slackfake.Message
		wantErr bool
	}{
		{"OK", slackfake.Message{Channel: "C1", TS: "1700000001.000001", User: "U1", Text: "hi"}, false},
		{"ThreadReply", slackfake.Message{Channel: "C1", TS: "1700000001.000002", ThreadTS: "1700000001.000001", User: "U1"}, false},
		{"Duplicate", slackfake.Message{Channel: "C1", TS: "1700000001.000001", User: "U2"}, true},
		{"NoChannel", slackfake.Message{TS: "1700000001.000003", User: "U1"}, true},
		{"NoUser", slackfake.Message{Channel: "C1", TS: "1700000001.000004"}, true},
		{"BadTS", slackfake.Message{Channel: "C1", TS: "now", User: "U1"}, true},
		{"BadThreadTS", slackfake.Message{Channel: "C1", TS: "1700000001.000005", ThreadTS: "1.x", User: "U1"}, true},
		{"BadPayload", slackfake.Message{Channel: "C1", TS: "1700000001.000006", User: "U1", MetadataType: "t",
			MetadataPayload: map[string]any{"f": func() {}}}, true},
	}
	s := mustServer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.AddMessage(tt.msg)
			if (err != nil) != tt.wantErr {
				t.Errorf("AddMessage(%+v): got error %v, want error %v", tt.msg, err, tt.wantErr)
			}
		})
	}
	if got := s.Posted(""); len(got) != 0 {
		t.Errorf("Posted after AddMessage: got %d, want 0 (added messages are not the bot's posts)", len(got))
	}
}

func TestWaitPosted(t *testing.T) {
	s := mustServer(t)
	api := botClient(s)
	go func() {
		for _, text := range []string{"a", "b", "c"} {
			_, _, _ = api.PostMessage("C1", slack.MsgOptionText(text, false))
		}
	}()
	got, err := s.WaitPosted(waitCtx(t), 2, func(m slackfake.Message) bool { return m.Text != "a" })
	if err != nil {
		t.Fatalf("WaitPosted(2, not a): %v", err)
	}
	if len(got) < 2 || got[0].Text != "b" || got[1].Text != "c" {
		t.Errorf("WaitPosted(2, not a): got %+v, want b then c", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = s.WaitPosted(ctx, 10, nil)
	if err == nil || !strings.Contains(err.Error(), `text="b"`) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitPosted(10) past its deadline: got %v, want a deadline error listing the posted messages", err)
	}
}
