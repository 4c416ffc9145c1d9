package slackfake

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxTextRunes is Slack's limit on a message's text (msg_too_long).
const maxTextRunes = 40000

// tsBase is the first second of the fake's message timestamps.
const tsBase = 1700000000

// rawJSON is a JSON value the fake keeps as bytes, so that every copy
// handed out is fresh.
type rawJSON = json.RawMessage

// Message is a message posted with chat.postMessage (or added with
// AddMessage), as it stands after any chat.update.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string // the parent's ts for a thread reply, "" otherwise
	Text     string
	User     string          // the author: BotUserID for the bot's posts
	Blocks   json.RawMessage // the blocks as posted, nil if none
	// MetadataType and MetadataPayload are the message metadata
	// (metadata.event_type and metadata.event_payload), if any.
	MetadataType    string
	MetadataPayload map[string]any
	Updated         int // how many chat.update calls changed it
}

// Ephemeral is a message posted with chat.postEphemeral: seen only by
// User, and never part of a channel's history.
type Ephemeral struct {
	Channel  string
	User     string // the recipient
	TS       string // the message_ts answered
	ThreadTS string
	Text     string
	Blocks   json.RawMessage
}

// storedMessage is a message in a channel's history.
type storedMessage struct {
	channel, ts, threadTS, text, user string
	blocks                            rawJSON
	metaType                          string
	metaPayload                       rawJSON // a JSON object, or nil
	updated                           int
	editedTS                          string
	posted                            bool // by chat.postMessage, not AddMessage
}

func msgKey(channel, ts string) string { return channel + "\x00" + ts }

// message returns a fresh copy of m as a Message.
func (m *storedMessage) message() Message {
	out := Message{
		Channel:      m.channel,
		TS:           m.ts,
		ThreadTS:     m.threadTS,
		Text:         m.text,
		User:         m.user,
		Blocks:       bytes.Clone(m.blocks),
		MetadataType: m.metaType,
		Updated:      m.updated,
	}
	if m.metaPayload != nil {
		// Stored only after it decoded as an object, so this cannot fail.
		_ = json.Unmarshal(m.metaPayload, &out.MetadataPayload)
	}
	return out
}

// apiJSON is m in the shape Slack's methods answer messages in.
func (m *storedMessage) apiJSON(withMetadata bool) map[string]any {
	j := map[string]any{
		"type": "message",
		"user": m.user,
		"text": m.text,
		"ts":   m.ts,
		"team": TeamID,
	}
	if m.posted {
		j["bot_id"] = BotID
		j["app_id"] = AppID
	}
	if m.threadTS != "" {
		j["thread_ts"] = m.threadTS
	}
	if len(m.blocks) > 0 {
		j["blocks"] = json.RawMessage(bytes.Clone(m.blocks))
	}
	if m.editedTS != "" {
		j["edited"] = map[string]any{"user": m.user, "ts": m.editedTS}
	}
	if withMetadata && m.metaType != "" {
		meta := map[string]any{"event_type": m.metaType}
		if m.metaPayload != nil {
			meta["event_payload"] = json.RawMessage(bytes.Clone(m.metaPayload))
		}
		j["metadata"] = meta
	}
	return j
}

// Posted returns the messages posted with chat.postMessage to channel
// ("" for all channels), in posting order, as they stand now.
func (s *Server) Posted(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.postedLocked(channel, nil)
}

func (s *Server) postedLocked(channel string, match func(Message) bool) []Message {
	var out []Message
	for _, m := range s.messages {
		if !m.posted || (channel != "" && m.channel != channel) {
			continue
		}
		msg := m.message()
		if match == nil || match(msg) {
			out = append(out, msg)
		}
	}
	return out
}

// WaitPosted waits until at least n posted messages satisfy match (nil
// matches all) and returns all that do. When ctx ends first, the error
// lists every message posted so far.
func (s *Server) WaitPosted(ctx context.Context, n int, match func(Message) bool) ([]Message, error) {
	var got []Message
	err := s.waitFor(ctx, func() bool {
		got = s.postedLocked("", match)
		return len(got) >= n
	})
	if err != nil {
		all := s.Posted("")
		var b strings.Builder
		for _, m := range all {
			fmt.Fprintf(&b, "\n  %s ts=%s thread=%s text=%q", m.Channel, m.TS, m.ThreadTS, clip(m.Text, 80))
		}
		return got, fmt.Errorf("wait for %d matching posted messages: %d match, %d posted:%s: %w",
			n, len(got), len(all), b.String(), err)
	}
	return got, nil
}

// Ephemerals returns the ephemeral messages posted to channel ("" for
// all), in posting order.
func (s *Server) Ephemerals(channel string) []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Ephemeral
	for _, e := range s.ephemerals {
		if channel == "" || e.Channel == channel {
			e.Blocks = bytes.Clone(e.Blocks)
			out = append(out, e)
		}
	}
	return out
}

// AddMessage puts a message in a channel's history as if m.User (a
// person) had written it, typically the customer message a test delivers
// as an event, so that conversations.replies finds the thread's parent as
// Slack would. It is not one of Posted's messages and the bot cannot
// update it. Channel, TS (in Slack's "seconds.micros" form) and User are
// required; the (Channel, TS) pair must be new.
func (s *Server) AddMessage(m Message) error {
	switch {
	case m.Channel == "":
		return errors.New("add message: empty channel")
	case m.User == "":
		return fmt.Errorf("add message %s in %s: empty user", m.TS, m.Channel)
	case !validTS(m.TS):
		return fmt.Errorf("add message in %s: ts %q is not of the form 1700000000.000100", m.Channel, m.TS)
	case m.ThreadTS != "" && !validTS(m.ThreadTS):
		return fmt.Errorf("add message %s in %s: thread_ts %q is not of the form 1700000000.000100", m.TS, m.Channel, m.ThreadTS)
	}
	sm := &storedMessage{
		channel: m.Channel, ts: m.TS, threadTS: m.ThreadTS, text: m.Text, user: m.User,
		blocks: bytes.Clone(m.Blocks), metaType: m.MetadataType,
	}
	if m.MetadataPayload != nil {
		p, err := json.Marshal(m.MetadataPayload)
		if err != nil {
			return fmt.Errorf("add message %s in %s: encode metadata payload: %w", m.TS, m.Channel, err)
		}
		sm.metaPayload = p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := msgKey(m.Channel, m.TS)
	if _, dup := s.byKey[key]; dup {
		return fmt.Errorf("add message %s in %s: a message with that ts exists", m.TS, m.Channel)
	}
	s.byKey[key] = sm
	s.messages = append(s.messages, sm)
	s.notifyLocked()
	return nil
}

// nextTSLocked returns a new timestamp, unused in channel.
func (s *Server) nextTSLocked(channel string) string {
	for {
		s.tsSeq++
		n := s.tsSeq * 100 // microseconds
		ts := fmt.Sprintf("%d.%06d", tsBase+n/1_000_000, n%1_000_000)
		if _, used := s.byKey[msgKey(channel, ts)]; !used {
			return ts
		}
	}
}

// parseBlocks checks a blocks argument: a JSON array, nil when absent or
// empty. It returns Slack's error code for anything else.
func parseBlocks(arg string) (rawJSON, string) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return nil, ""
	}
	var blocks []json.RawMessage
	if err := json.Unmarshal([]byte(arg), &blocks); err != nil {
		return nil, "invalid_blocks_format"
	}
	for _, b := range blocks {
		var typed struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(b, &typed) != nil || typed.Type == "" {
			return nil, "invalid_blocks"
		}
	}
	if len(blocks) == 0 {
		return nil, ""
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, []byte(arg)) // valid: it just decoded
	return buf.Bytes(), ""
}

// parseMetadata checks a metadata argument, {"event_type":...,
// "event_payload":{...}}; an absent one is no metadata.
func parseMetadata(arg string) (typ string, payload rawJSON, code string) {
	if strings.TrimSpace(arg) == "" {
		return "", nil, ""
	}
	var meta struct {
		EventType    string          `json:"event_type"`
		EventPayload json.RawMessage `json:"event_payload"`
	}
	if err := json.Unmarshal([]byte(arg), &meta); err != nil {
		return "", nil, "invalid_metadata_format"
	}
	if meta.EventType == "" {
		return "", nil, "invalid_metadata_schema"
	}
	p := bytes.TrimSpace(meta.EventPayload)
	if len(p) == 0 || string(p) == "null" {
		return meta.EventType, nil, ""
	}
	var obj map[string]any
	if err := json.Unmarshal(p, &obj); err != nil {
		return "", nil, "invalid_metadata_schema"
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, p)
	return meta.EventType, buf.Bytes(), ""
}

// hasAttachments reports whether an attachments argument holds any.
func hasAttachments(arg string) bool {
	arg = strings.TrimSpace(arg)
	return arg != "" && arg != "[]" && arg != "null"
}

func (s *Server) chatPostMessage(req *request) result {
	p := req.params
	channel := p.Get("channel")
	if channel == "" {
		return fail("channel_not_found")
	}
	text := p.Get("text")
	blocks, code := parseBlocks(p.Get("blocks"))
	if code != "" {
		return fail(code)
	}
	if text == "" && blocks == nil && !hasAttachments(p.Get("attachments")) {
		return fail("no_text")
	}
	if utf8.RuneCountInString(text) > maxTextRunes {
		return fail("msg_too_long")
	}
	metaType, metaPayload, code := parseMetadata(p.Get("metadata"))
	if code != "" {
		return fail(code)
	}
	threadTS := p.Get("thread_ts")
	if threadTS != "" && !validTS(threadTS) {
		return fail("invalid_arguments")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	m := &storedMessage{
		channel: channel, ts: s.nextTSLocked(channel), threadTS: threadTS, text: text,
		user: BotUserID, blocks: blocks, metaType: metaType, metaPayload: metaPayload, posted: true,
	}
	s.byKey[msgKey(channel, m.ts)] = m
	s.messages = append(s.messages, m)
	s.notifyLocked()
	return ok(map[string]any{"channel": channel, "ts": m.ts, "message": m.apiJSON(true)})
}

func (s *Server) chatUpdate(req *request) result {
	p := req.params
	channel, ts := p.Get("channel"), p.Get("ts")
	if channel == "" {
		return fail("channel_not_found")
	}
	var blocks rawJSON
	_, setBlocks := p["blocks"]
	if setBlocks {
		var code string
		if blocks, code = parseBlocks(p.Get("blocks")); code != "" {
			return fail(code)
		}
	}
	_, setText := p["text"]
	text := p.Get("text")
	if utf8.RuneCountInString(text) > maxTextRunes {
		return fail("msg_too_long")
	}
	metaType, metaPayload, code := parseMetadata(p.Get("metadata"))
	if code != "" {
		return fail(code)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	m, found := s.byKey[msgKey(channel, ts)]
	switch {
	case !found:
		return fail("message_not_found")
	case !m.posted:
		return fail("cant_update_message")
	}
	// Slack keeps what an update leaves out; the result must still show
	// something.
	newText, newBlocks := m.text, m.blocks
	if setText {
		newText = text
	}
	if setBlocks {
		newBlocks = blocks
	}
	if newText == "" && newBlocks == nil && !hasAttachments(p.Get("attachments")) {
		return fail("no_text")
	}
	m.text, m.blocks = newText, newBlocks
	if metaType != "" {
		m.metaType, m.metaPayload = metaType, metaPayload
	}
	m.updated++
	m.editedTS = s.nextTSLocked(channel)
	s.notifyLocked()
	return ok(map[string]any{"channel": channel, "ts": ts, "text": m.text, "message": m.apiJSON(true)})
}

func (s *Server) chatPostEphemeral(req *request) result {
	p := req.params
	channel, user := p.Get("channel"), p.Get("user")
	if channel == "" {
		return fail("channel_not_found")
	}
	if user == "" {
		return fail("user_not_found")
	}
	text := p.Get("text")
	blocks, code := parseBlocks(p.Get("blocks"))
	if code != "" {
		return fail(code)
	}
	if text == "" && blocks == nil && !hasAttachments(p.Get("attachments")) {
		return fail("no_text")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := Ephemeral{
		Channel: channel, User: user, TS: s.nextTSLocked(channel),
		ThreadTS: p.Get("thread_ts"), Text: text, Blocks: blocks,
	}
	s.ephemerals = append(s.ephemerals, e)
	s.notifyLocked()
	return ok(map[string]any{"message_ts": e.TS})
}

// defaultRepliesLimit is conversations.replies' page size when the call
// names none (Slack's documented default and maximum).
const defaultRepliesLimit = 1000

func (s *Server) conversationsReplies(req *request) result {
	p := req.params
	channel, ts := p.Get("channel"), p.Get("ts")
	if channel == "" {
		return fail("channel_not_found")
	}
	limit, valid := pageLimit(p.Get("limit"))
	if !valid {
		return fail("invalid_limit")
	}
	offset := 0
	if c := p.Get("cursor"); c != "" {
		n, err := decodeCursor(c)
		if err != nil {
			return fail("invalid_cursor")
		}
		offset = n
	}
	withMeta := truthy(p.Get("include_all_metadata"))

	s.mu.Lock()
	defer s.mu.Unlock()
	// ts may name the parent or any reply in the thread.
	parentTS := ts
	if m, found := s.byKey[msgKey(channel, ts)]; found && m.threadTS != "" {
		parentTS = m.threadTS
	}
	parent := s.byKey[msgKey(channel, parentTS)]
	var replies []*storedMessage
	for _, m := range s.messages {
		if m.channel == channel && m.threadTS == parentTS && m.ts != parentTS {
			replies = append(replies, m)
		}
	}
	if parent == nil && len(replies) == 0 {
		return fail("thread_not_found")
	}
	slices.SortStableFunc(replies, func(a, b *storedMessage) int { return compareTS(a.ts, b.ts) })

	// The parent carries the thread's summary, as in Slack. It is absent
	// when the fake never saw it (a user's message not added with
	// AddMessage): the replies are still answered.
	var thread []map[string]any
	if parent != nil {
		pj := parent.apiJSON(withMeta)
		if len(replies) > 0 {
			pj["thread_ts"] = parent.ts
			pj["reply_count"] = len(replies)
			pj["latest_reply"] = replies[len(replies)-1].ts
			var users []string
			for _, r := range replies {
				if !slices.Contains(users, r.user) {
					users = append(users, r.user)
				}
			}
			pj["reply_users"] = users
			pj["reply_users_count"] = len(users)
		}
		thread = append(thread, pj)
	}
	for _, r := range replies {
		rj := r.apiJSON(withMeta)
		if parent != nil {
			rj["parent_user_id"] = parent.user
		}
		thread = append(thread, rj)
	}

	if offset > len(thread) {
		return fail("invalid_cursor")
	}
	end := min(offset+limit, len(thread))
	page := thread[offset:end]
	next := ""
	if end < len(thread) {
		next = encodeCursor(end)
	}
	return ok(map[string]any{
		"messages":          page,
		"has_more":          next != "",
		"response_metadata": map[string]any{"next_cursor": next},
	})
}

func truthy(v string) bool { return v == "1" || strings.EqualFold(v, "true") }

// Cursors are opaque to clients, as Slack's are; the fake's encode an
// offset into the thread.
func encodeCursor(offset int) string {
	return base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

func decodeCursor(c string) (int, error) {
	raw, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, fmt.Errorf("decode cursor: %w", err)
	}
	n, found := strings.CutPrefix(string(raw), "offset:")
	if !found {
		return 0, fmt.Errorf("cursor %q: not one of this fake's", c)
	}
	off, err := strconv.Atoi(n)
	if err != nil || off < 0 {
		return 0, fmt.Errorf("cursor %q: bad offset", c)
	}
	return off, nil
}

// validTS reports whether ts has Slack's form: digits, a dot, digits.
func validTS(ts string) bool {
	sec, frac, found := strings.Cut(ts, ".")
	return found && allDigits(sec) && allDigits(frac)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// compareTS orders Slack timestamps numerically ("9.5" before "10.1").
func compareTS(a, b string) int {
	as, af, _ := strings.Cut(a, ".")
	bs, bf, _ := strings.Cut(b, ".")
	if c := cmp.Compare(len(strings.TrimLeft(as, "0")), len(strings.TrimLeft(bs, "0"))); c != 0 {
		return c
	}
	if c := cmp.Compare(strings.TrimLeft(as, "0"), strings.TrimLeft(bs, "0")); c != 0 {
		return c
	}
	// Fractions compare as decimals: pad to the same length.
	n := max(len(af), len(bf))
	return cmp.Compare(af+strings.Repeat("0", n-len(af)), bf+strings.Repeat("0", n-len(bf)))
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// conversationsHistory answers conversations.history: the channel's
// top-level messages newest first, after oldest when given, with
// metadata when include_all_metadata is set (a client checks with it
// whether a post it is unsure about made it).
func (s *Server) conversationsHistory(req *request) result {
	p := req.params
	channel := p.Get("channel")
	if channel == "" {
		return fail("channel_not_found")
	}
	limit, valid := pageLimit(p.Get("limit"))
	if !valid {
		return fail("invalid_limit")
	}
	oldest := p.Get("oldest")
	if oldest != "" && !validTS(oldest) {
		return fail("invalid_ts_oldest")
	}
	withMeta := truthy(p.Get("include_all_metadata"))
	s.mu.Lock()
	defer s.mu.Unlock()
	var top []*storedMessage
	for _, m := range s.messages {
		if m.channel == channel && (m.threadTS == "" || m.threadTS == m.ts) && (oldest == "" || compareTS(m.ts, oldest) > 0) {
			top = append(top, m)
		}
	}
	slices.SortStableFunc(top, func(a, b *storedMessage) int { return compareTS(b.ts, a.ts) })
	more := len(top) > limit
	top = top[:min(limit, len(top))]
	out := make([]map[string]any, 0, len(top))
	for _, m := range top {
		out = append(out, m.apiJSON(withMeta))
	}
	return ok(map[string]any{"messages": out, "has_more": more})
}

// pageLimit reads a page size ("" is the default), capped at the default.
func pageLimit(l string) (int, bool) {
	if l == "" {
		return defaultRepliesLimit, true
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 {
		return 0, false
	}
	return min(n, defaultRepliesLimit), true
}
