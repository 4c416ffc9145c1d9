package slackfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// These builders make what Slack sends to an app, for the Events API
// over HTTP and for Socket Mode payloads alike. They are deterministic:
// the same arguments give the same bytes, with IDs (client_msg_id,
// trigger_id) derived from the arguments.
//
// The payloads carry no response_url: one pointing at hooks.slack.com
// would send a test's traffic off the machine. Reply through the Web API.

// EventCallback is the outer event_callback JSON of an Events API
// delivery wrapping event (e.g. from MessageEvent): token, team_id,
// api_app_id, event, type, event_id, event_time (from the event's
// event_ts or ts, else 1700000000), authorizations and event_context.
// It panics if event cannot be marshalled to JSON (a channel or a func in
// it), which is a mistake in the calling test, never input.
func EventCallback(eventID string, event map[string]any) []byte {
	return mustJSON("event callback", map[string]any{
		"token":      VerificationToken,
		"team_id":    TeamID,
		"api_app_id": AppID,
		"event":      event,
		"type":       "event_callback",
		"event_id":   eventID,
		"event_time": eventTime(event),
		"authorizations": []map[string]any{{
			"enterprise_id": nil, "team_id": TeamID, "user_id": BotUserID,
			"is_bot": true, "is_enterprise_install": false,
		}},
		"is_ext_shared_channel": false,
		"event_context":         "4-" + shortID(eventID),
	})
}

// eventTime is the whole second of the event's event_ts or ts.
func eventTime(event map[string]any) int64 {
	for _, k := range []string{"event_ts", "ts"} {
		if ts, ok := event[k].(string); ok {
			sec, _, _ := strings.Cut(ts, ".")
			if n, err := strconv.ParseInt(sec, 10, 64); err == nil {
				return n
			}
		}
	}
	return tsBase
}

// MessageEvent is a person's message event: channelType "im" for a
// direct message to the bot, "channel" (or "group", "mpim") otherwise;
// threadTS "" for a message outside a thread.
func MessageEvent(user, channel, channelType, text, ts, threadTS string) map[string]any {
	e := map[string]any{
		"type":          "message",
		"client_msg_id": uuidFrom("msg", channel, ts),
		"user":          user,
		"text":          text,
		"ts":            ts,
		"team":          TeamID,
		"channel":       channel,
		"channel_type":  channelType,
		"event_ts":      ts,
	}
	if threadTS != "" {
		e["thread_ts"] = threadTS
	}
	return e
}

// MentionEvent is an app_mention event: text prefixed with "<@UBOT> ",
// as Slack shows a mention of the bot.
func MentionEvent(user, channel, text, ts, threadTS string) map[string]any {
	e := map[string]any{
		"type":          "app_mention",
		"client_msg_id": uuidFrom("msg", channel, ts),
		"user":          user,
		"text":          "<@" + BotUserID + "> " + text,
		"ts":            ts,
		"team":          TeamID,
		"channel":       channel,
		"event_ts":      ts,
	}
	if threadTS != "" {
		e["thread_ts"] = threadTS
	}
	return e
}

// URLVerification is the url_verification request Slack sends when an
// Events API Request URL is configured.
func URLVerification(challenge string) []byte {
	return mustJSON("url verification", map[string]any{
		"token":     VerificationToken,
		"challenge": challenge,
		"type":      "url_verification",
	})
}

// Sign returns the headers Slack sends with a request body signed by
// secret at time at: X-Slack-Request-Timestamp (Unix seconds),
// X-Slack-Signature ("v0=" and the hex HMAC-SHA256 of "v0:" timestamp ":"
// body) and Content-Type (application/json for a JSON object body,
// application/x-www-form-urlencoded otherwise, as for interactions and
// slash commands). slack-go's verifier rejects timestamps more than five
// minutes from now.
func Sign(secret string, body []byte, at time.Time) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	// hash.Hash's Write never returns an error.
	_, _ = mac.Write([]byte("v0:" + ts + ":"))
	_, _ = mac.Write(body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		h.Set("Content-Type", "application/json")
	} else {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return h
}

// BlockActionPayload is the interaction JSON of a button click (type
// block_actions) by user on the bot's message messageTS in channel
// (threadTS: the thread it is in, "" if none): over HTTP Slack sends it
// as the form field "payload" (see InteractionForm), in Socket Mode as
// the interactive envelope's payload. The button's block_id is
// "actions"; its value and label are value.
func BlockActionPayload(user, channel, messageTS, threadTS, actionID, value string) []byte {
	container := map[string]any{
		"type":         "message",
		"message_ts":   messageTS,
		"channel_id":   channel,
		"is_ephemeral": false,
	}
	message := map[string]any{
		"type":    "message",
		"user":    BotUserID,
		"bot_id":  BotID,
		"app_id":  AppID,
		"ts":      messageTS,
		"team":    TeamID,
		"text":    "",
		"blocks":  []any{},
		"channel": channel,
	}
	if threadTS != "" {
		container["thread_ts"] = threadTS
		message["thread_ts"] = threadTS
	}
	return mustJSON("block action", map[string]any{
		"type":                  "block_actions",
		"token":                 VerificationToken,
		"api_app_id":            AppID,
		"trigger_id":            triggerID(user, channel, messageTS, actionID),
		"user":                  map[string]any{"id": user, "username": user, "name": user, "team_id": TeamID},
		"team":                  map[string]any{"id": TeamID, "domain": TeamDomain},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"container":             container,
		"channel":               map[string]any{"id": channel, "name": channel},
		"message":               message,
		"state":                 map[string]any{"values": map[string]any{}},
		"actions": []map[string]any{{
			"type":      "button",
			"action_id": actionID,
			"block_id":  "actions",
			"value":     value,
			"text":      map[string]any{"type": "plain_text", "text": value, "emoji": true},
			"action_ts": messageTS,
		}},
	})
}

// InteractionForm is the form body Slack POSTs to an app's interactivity
// URL: the single field "payload" holding payload (e.g. from
// BlockActionPayload). Sign its Encode() to sign the request.
func InteractionForm(payload []byte) url.Values {
	return url.Values{"payload": {string(payload)}}
}

// SlashCommandForm is the form Slack POSTs to a slash command's URL when
// user types command (e.g. "/parley") with text in channel.
func SlashCommandForm(user, channel, command, text string) url.Values {
	return url.Values{
		"token":                 {VerificationToken},
		"team_id":               {TeamID},
		"team_domain":           {TeamDomain},
		"channel_id":            {channel},
		"channel_name":          {channel},
		"user_id":               {user},
		"user_name":             {user},
		"command":               {command},
		"text":                  {text},
		"api_app_id":            {AppID},
		"is_enterprise_install": {"false"},
		"trigger_id":            {triggerID(user, channel, command, text)},
	}
}

// SlashCommandPayload is SlashCommandForm as the JSON object Slack puts
// in a slash_commands envelope (every field a string, as in the form).
func SlashCommandPayload(user, channel, command, text string) map[string]any {
	out := map[string]any{}
	for k, v := range SlashCommandForm(user, channel, command, text) {
		out[k] = v[0]
	}
	return out
}

func mustJSON(what string, v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("slackfake: encode %s: %v", what, err))
	}
	return data
}

// hash64 is a stable hash of parts, for IDs derived from arguments.
func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return h.Sum64()
}

// uuidFrom is a UUID-shaped ID derived from parts.
func uuidFrom(parts ...string) string {
	a, b := hash64(parts...), hash64(append(parts, "2")...)
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x",
		uint32(a>>32), uint16(a>>16), uint16(a)&0xfff, uint16(b>>48)&0xfff, b&0xffffffffffff)
}

func shortID(s string) string { return strconv.FormatUint(hash64(s), 36) }

// triggerID is shaped like Slack's ("13345224609.738474920.8088...").
func triggerID(parts ...string) string {
	h := hash64(parts...)
	return fmt.Sprintf("%d.%d.%016x", 1000000000+h%9000000000, 700000000+h%100000000, h)
}
