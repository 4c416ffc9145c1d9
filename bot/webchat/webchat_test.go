package webchat_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/parley-chat/parley/bot/webchat"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/nlp"
)

var newVisitorRE = regexp.MustCompile(`^v_[0-9a-f]{24}$`)

func TestHelloVisitor(t *testing.T) {
	h := newHarness(t, webchat.Config{}, nil)
	tests := []struct {
		name    string
		visitor string
		keep    bool // the server keeps the visitor id
	}{
		{"empty", "", false},
		{"valid", "v_returning01", true},
		{"shortest valid", "abcdefgh", true},
		{"too short", "v_1234", false},
		{"too long", strings.Repeat("a", 65), false},
		{"space", "v_has space1", false},
		{"path", "../../etc/passwd", false},
		{"colon", "v_abc:defgh", false}, // ':' separates visitor and message ids in the CRM
		{"non-ascii", "v_ünïcødé123", false},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, hist := h.connect(t, tt.visitor, 0)
			if len(hist) != 0 {
				t.Errorf("hello %q: got history %v, want none", tt.visitor, hist)
			}
			switch {
			case tt.keep && c.visitor != tt.visitor:
				t.Errorf("hello %q: welcome visitor %q, want it kept", tt.visitor, c.visitor)
			case !tt.keep && !newVisitorRE.MatchString(c.visitor):
				t.Errorf("hello %q: welcome visitor %q, want a new id matching %v", tt.visitor, c.visitor, newVisitorRE)
			}
			if !tt.keep && seen[c.visitor] {
				t.Errorf("hello %q: new visitor id %q was handed out before", tt.visitor, c.visitor)
			}
			seen[c.visitor] = true
			if c.conv != 0 {
				t.Errorf("hello %q: conversation %d, want 0 for a visitor who never wrote", tt.visitor, c.conv)
			}
			// The visitor id works: a message is answered.
			if ex := c.say("m1", "hello"); len(ex.replies) == 0 {
				t.Errorf("hello %q: no reply to a greeting", tt.visitor)
			}
		})
	}
}

func TestHelloWelcomeState(t *testing.T) {
	h := newHarness(t, webchat.Config{}, nil)
	c, _ := h.connect(t, "v_welcomestate", 0)
	ex := c.say("m1", "I want to speak to a real human being please")
	if ex.state != string(crm.StateEscalated) {
		t.Fatalf("asking for a person: state frame %q, want %q", ex.state, crm.StateEscalated)
	}
	c2, _ := h.connect(t, "v_welcomestate", 0)
	conv := conversationOf(t, h.store, "v_welcomestate")
	if c2.conv != conv.ID {
		t.Errorf("welcome conversation_id = %d, want %d", c2.conv, conv.ID)
	}
	// The welcome carries the state, read again from the CRM.
	c3 := h.dial(t)
	c3.send(hello{Type: "hello", Visitor: "v_welcomestate", LastSeq: 1 << 40})
	if f := c3.read(); f.Type != "welcome" || f.State != string(crm.StateEscalated) || f.ConversationID != conv.ID {
		t.Errorf("welcome of an escalated conversation = %v, want state %q conversation %d", f, crm.StateEscalated, conv.ID)
	}
}

func TestFrameOrder(t *testing.T) {
	h := newHarness(t, webchat.Config{}, nil)
	c := h.dial(t)

	c.send(message{Type: "message", ID: "early", Text: "hello"})
	if f := c.read(); f.Type != "error" || f.Code != "bad_frame" {
		t.Fatalf("message before hello: got %v, want error bad_frame", f)
	}
	if hist := c.hello("", 0); len(hist) != 0 {
		t.Fatalf("hello after a bad frame: history %v, want none", hist)
	}
	c.send(hello{Type: "hello", Visitor: c.visitor})
	if f := c.read(); f.Type != "error" || f.Code != "bad_frame" {
		t.Fatalf("second hello: got %v, want error bad_frame", f)
	}
	ex := c.say("m1", "hello")
	if len(ex.replies) == 0 {
		t.Fatal("no reply after a second hello")
	}
	// The refused early message was not stored.
	conv := conversationOf(t, h.store, c.visitor)
	if got := customerMessages(t, h.store, conv.ID); len(got) != 1 || got[0].Text != "hello" {
		t.Errorf("stored customer messages = %+v, want only the one after hello", got)
	}
}

func TestMessage(t *testing.T) {
	tests := []struct {
		text  string
		reply *regexp.Regexp // on the replies' texts, joined by newlines
		state string         // a state frame, "" for none
	}{
		{"where is my order 12345", regexp.MustCompile(`12345`), ""},
		{"has order 20459871 shipped yet?", regexp.MustCompile(`20459871`), ""},
		{"I want to speak to a real human being please", regexp.MustCompile(`.`), string(crm.StateEscalated)},
	}
	h := newHarness(t, webchat.Config{}, nil)
	for i, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			visitor := fmt.Sprintf("v_message%03d", i)
			c, _ := h.connect(t, visitor, 0)
			id := fmt.Sprintf("c_%d", i)
			c.send(message{Type: "message", ID: id, Text: tt.text})
			ex := c.readExchange(id, tt.text)

			// The ack's seq is the CRM's id of the stored message.
			conv := conversationOf(t, h.store, visitor)
			stored := customerMessages(t, h.store, conv.ID)
			if len(stored) != 1 || stored[0].ID != ex.ack.Seq || stored[0].Text != tt.text || stored[0].ChannelMsgID != visitor+":"+id {
				t.Fatalf("%q: ack seq %d; stored customer messages %+v, want one with that id, the text and channel id %q", tt.text, ex.ack.Seq, stored, visitor+":"+id)
			}
			if ex.echo.Seq != ex.ack.Seq || ex.echo.ID != id || ex.echo.Text != tt.text {
				t.Errorf("%q: echo %v, want seq %d id %q and the text", tt.text, ex.echo, ex.ack.Seq, id)
			}
			if _, err := time.Parse(time.RFC3339, ex.echo.At); err != nil {
				t.Errorf("%q: echo at %q: %v", tt.text, ex.echo.At, err)
			}
			if len(ex.replies) == 0 {
				t.Fatalf("%q: no reply", tt.text)
			}
			var texts []string
			last := ex.ack.Seq
			for _, r := range ex.replies {
				if r.Seq <= last {
					t.Errorf("%q: reply seq %d after %d, want increasing", tt.text, r.Seq, last)
				}
				last = r.Seq
				if r.ID != "" || r.Author != "" {
					t.Errorf("%q: bot reply %v has a widget id or an author", tt.text, r)
				}
				texts = append(texts, r.Text)
			}
			if got := strings.Join(texts, "\n"); !tt.reply.MatchString(got) {
				t.Errorf("%q: replies %q, want a match of %v", tt.text, got, tt.reply)
			}
			if ex.state != tt.state {
				t.Errorf("%q: state frame %q, want %q", tt.text, ex.state, tt.state)
			}
			// The frames are what the CRM has, in its order.
			all, err := h.store.Messages(context.Background(), conv.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 1+len(ex.replies) {
				t.Fatalf("%q: the CRM has %d messages, the widget got %d", tt.text, len(all), 1+len(ex.replies))
			}
			for j, r := range ex.replies {
				if m := all[j+1]; m.ID != r.Seq || m.Text != r.Text || m.Direction != crm.FromBot {
					t.Errorf("%q: reply %d = %v, CRM has %+v", tt.text, j, r, m)
				}
			}
		})
	}
}

// TestTypingBeforeReply holds the engine: the widget shows typing while
// the bot works, and the ack waits for the message to be handled.
func TestTypingBeforeReply(t *testing.T) {
	var g *gatedEngine
	h := newHarness(t, webchat.Config{}, func(e webchat.Engine) webchat.Engine {
		g = &gatedEngine{inner: e, entered: make(chan string, 4), gate: make(chan struct{})}
		return g
	})
	c, _ := h.connect(t, "v_typingtest", 0)
	c.send(message{Type: "message", ID: "a", Text: "where is my order 12345"})
	c.send(message{Type: "message", ID: "b", Text: "thanks"})
	f := c.read()
	if f.Type != "typing" || f.On == nil || !*f.On {
		t.Fatalf("first frame %v, want typing on", f)
	}
	c.unread = append(c.unread, f) // for readExchange
	select {
	case id := <-g.entered:
		if id != "v_typingtest:a" {
			t.Fatalf("engine got %q first, want v_typingtest:a", id)
		}
	case <-time.After(ioTimeout):
		t.Fatal("engine not called")
	}
	// Nothing is stored while the engine holds: no ack can have gone out.
	if _, err := h.store.CustomerByExternalID(context.Background(), crm.ExternalID{Kind: crm.IDWebVisitor, Value: "v_typingtest"}); err == nil {
		t.Fatal("the customer exists before the engine handled the message")
	}
	close(g.gate)
	// The messages are handled one after the other, in order.
	a := c.readExchange("a", "where is my order 12345")
	b := c.readExchange("b", "thanks")
	if a.ack.Seq >= b.ack.Seq {
		t.Errorf("ack seqs a=%d b=%d, want a before b", a.ack.Seq, b.ack.Seq)
	}
	if a.replies[len(a.replies)-1].Seq >= b.echo.Seq {
		t.Errorf("a's last reply seq %d, b's echo %d: want a's exchange first", a.replies[len(a.replies)-1].Seq, b.echo.Seq)
	}
}

// TestResend resends an acknowledged message after a reconnect: the CRM
// keeps it once and the widget gets an ack again.
func TestResend(t *testing.T) {
	h := newHarness(t, webchat.Config{}, nil)
	c, _ := h.connect(t, "v_resender1", 0)
	first := c.say("c_same", "where is my order 12345")
	last := first.replies[len(first.replies)-1].Seq

	closing := c.closing()
	if n := h.srv.Disconnect("v_resender1"); n != 1 {
		t.Fatalf("Disconnect = %d, want 1", n)
	}
	wantClosed(t, closing, websocket.StatusGoingAway)

	for _, tc := range []struct {
		name    string
		lastSeq int64
	}{
		{"after the replies", last},
		{"history again", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, hist := h.connect(t, "v_resender1", tc.lastSeq)
			c.send(message{Type: "message", ID: "c_same", Text: "where is my order 12345"})
			frames := []frame{c.read(), c.read()}
			if f := frames[0]; f.Type != "typing" || !*f.On {
				t.Fatalf("resend: first frame %v, want typing on", f)
			}
			if f := frames[1]; f.Type != "ack" || f.ID != "c_same" || f.Seq != first.ack.Seq {
				t.Fatalf("resend: got %v, want ack of c_same with seq %d", f, first.ack.Seq)
			}
			// Nothing new: only typing off follows.
			if f := c.read(); f.Type != "typing" || *f.On {
				t.Fatalf("resend: got %v, want typing off (nothing new to show)", f)
			}
			if tc.lastSeq == 0 && (len(hist) == 0 || hist[0].ID != "c_same" || hist[0].Seq != first.ack.Seq) {
				t.Errorf("history %v, want the message c_same first", hist)
			}
			conv := conversationOf(t, h.store, "v_resender1")
			if got := customerMessages(t, h.store, conv.ID); len(got) != 1 {
				t.Errorf("customer messages in the CRM = %+v, want the message once", got)
			}
		})
	}
}

// history makes a conversation of a few turns and returns every frame
// the widget showed, in order.
func history(t *testing.T, h *harness, visitor string, texts ...string) []frame {
	t.Helper()
	c, _ := h.connect(t, visitor, 0)
	var shown []frame
	for i, text := range texts {
		ex := c.say(fmt.Sprintf("h%d", i), text)
		shown = append(shown, ex.echo)
		shown = append(shown, ex.replies...)
	}
	c.ws.Close(websocket.StatusNormalClosure, "")
	return shown
}

func TestReplay(t *testing.T) {
	h := newHarness(t, webchat.Config{}, nil)
	shown := history(t, h, "v_replayer1", "hello", "where is my order 12345", "thanks")
	if len(shown) < 6 {
		t.Fatalf("history has %d messages, want at least 6", len(shown))
	}
	seqs := func(fs []frame) []int64 {
		var out []int64
		for _, f := range fs {
			out = append(out, f.Seq)
		}
		return out
	}
	tests := []struct {
		name    string
		lastSeq int64
		want    []frame
	}{
		{"everything", 0, shown},
		{"negative", -5, shown},
		{"after the first", shown[0].Seq, shown[1:]},
		{"after the middle", shown[3].Seq, shown[4:]},
		{"all shown", shown[len(shown)-1].Seq, nil},
		{"beyond", shown[len(shown)-1].Seq + 100, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, hist := h.connect(t, "v_replayer1", tt.lastSeq)
			if fmt.Sprint(seqs(hist)) != fmt.Sprint(seqs(tt.want)) {
				t.Fatalf("last_seq %d: replayed seqs %v, want %v", tt.lastSeq, seqs(hist), seqs(tt.want))
			}
			for i, f := range hist {
				w := tt.want[i]
				if f.From != w.From || f.Text != w.Text || f.ID != w.ID || f.At != w.At || fmt.Sprint(f.QuickReplies) != fmt.Sprint(w.QuickReplies) {
					t.Errorf("last_seq %d: replayed %v, first shown as %v", tt.lastSeq, f, w)
				}
			}
		})
	}
	// Another visitor sees none of it.
	if _, hist := h.connect(t, "v_stranger1", 0); len(hist) != 0 {
		t.Errorf("another visitor got history %v", hist)
	}
}

// TestTabs opens two connections of one visitor: both show everything,
// whichever tab wrote it.
func TestTabs(t *testing.T) {
	tests := []struct {
		name    string
		history bool // the visitor had a conversation before the tabs opened
	}{
		{"returning visitor", true},
		{"new visitor", false},
	}
	h := newHarness(t, webchat.Config{}, nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			visitor := fmt.Sprintf("v_tabs%05d", i)
			var lastSeq int64
			if tt.history {
				shown := history(t, h, visitor, "hello")
				lastSeq = shown[len(shown)-1].Seq
			}
			a, _ := h.connect(t, visitor, lastSeq)
			b, _ := h.connect(t, visitor, lastSeq)
			ex := a.say("from_a", "where is my order 12345")
			want := append([]frame{ex.echo}, ex.replies...)
			for _, w := range want {
				f := b.read()
				if f.Type != "message" || f.Seq != w.Seq || f.Text != w.Text || f.ID != w.ID || f.From != w.From {
					t.Fatalf("tab b got %v, want %v", f, w)
				}
			}
			// And back: b writes, a shows it.
			ex = b.say("from_b", "thanks")
			for _, w := range append([]frame{ex.echo}, ex.replies...) {
				if f := a.read(); f.Type != "message" || f.Seq != w.Seq || f.ID != w.ID {
					t.Fatalf("tab a got %v, want %v", f, w)
				}
			}
		})
	}
}

func TestPublish(t *testing.T) {
	h := newHarness(t, webchat.Config{}, nil)
	ctx := context.Background()
	shown := history(t, h, "v_published", "my parcel never arrived")
	conv := conversationOf(t, h.store, "v_published")
	alice, err := h.store.CreateStaff(ctx, crm.StaffUser{Email: "alice@shop.example", Name: "Alice", Role: crm.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	nameless, err := h.store.CreateStaff(ctx, crm.StaffUser{Email: "x@shop.example", Role: crm.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}

	// The widget reconnected since the conversation began: pushes reach
	// a connection that said hello to an existing conversation.
	c, _ := h.connect(t, "v_published", shown[len(shown)-1].Seq)

	tests := []struct {
		name   string
		msg    crm.Message
		author string
	}{
		{"agent", crm.Message{Direction: crm.FromAgent, AuthorID: alice.ID, Text: "Hi, I'm Alice. Let me check."}, "Alice"},
		{"agent without a name", crm.Message{Direction: crm.FromAgent, AuthorID: nameless.ID, Text: "Found it."}, "Support team"},
		{"bot outside a turn", crm.Message{Direction: crm.FromBot, Text: "Anything else?", QuickReplies: []string{"No, thanks"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A note is for staff: it must never reach the widget, so the
			// frame after the publish is the message, not the note.
			if _, err := h.store.AddMessage(ctx, crm.Message{ConversationID: conv.ID, Direction: crm.Note, AuthorID: alice.ID, Text: "internal: VIP"}); err != nil {
				t.Fatal(err)
			}
			h.srv.Publish(ctx, conv.ID)
			tt.msg.ConversationID = conv.ID
			m, err := h.store.AddMessage(ctx, tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			h.srv.Publish(ctx, conv.ID)
			h.srv.Publish(ctx, conv.ID) // twice: shown once
			f := c.read()
			from := map[crm.Direction]string{crm.FromAgent: "agent", crm.FromBot: "bot"}[tt.msg.Direction]
			if f.Type != "message" || f.From != from || f.Seq != m.ID || f.Text != tt.msg.Text || f.Author != tt.author ||
				fmt.Sprint(f.QuickReplies) != fmt.Sprint(tt.msg.QuickReplies) {
				t.Fatalf("after Publish got %v, want %s message %d %q by %q", f, from, m.ID, tt.msg.Text, tt.author)
			}
		})
	}

	for _, s := range []crm.State{crm.StateAssigned, crm.StateResolved} {
		h.srv.SetState(conv.ID, s)
		if f := c.read(); f.Type != "state" || f.State != string(s) {
			t.Fatalf("SetState(%q): got %v, want a state frame", s, f)
		}
	}
	// Publishing a conversation nobody watches is harmless.
	h.srv.Publish(ctx, conv.ID+1000)
	h.srv.SetState(conv.ID+1000, crm.StateAssigned)
}

func TestBadInput(t *testing.T) {
	h := newHarness(t, webchat.Config{Rate: 1000, Burst: 1000}, nil)
	long := strings.Repeat("a", nlp.DefaultMaxBytes+1)
	tests := []struct {
		name   string
		typ    websocket.MessageType
		data   string
		code   string
		id     string // the error's id
		stored bool   // the message is stored anyway
	}{
		{"invalid JSON", websocket.MessageText, `{"type":"message",`, "bad_frame", "", false},
		{"not an object", websocket.MessageText, `["message"]`, "bad_frame", "", false},
		{"wrong field type", websocket.MessageText, `{"type":"message","id":7,"text":"hi"}`, "bad_frame", "", false},
		{"unknown type", websocket.MessageText, `{"type":"subscribe"}`, "bad_frame", "", false},
		{"no type", websocket.MessageText, `{"id":"x1","text":"hi"}`, "bad_frame", "", false},
		{"binary", websocket.MessageBinary, `{"type":"message","id":"b1","text":"hi"}`, "bad_frame", "", false},
		{"no id", websocket.MessageText, `{"type":"message","text":"hi"}`, "bad_message", "", false},
		{"bad id", websocket.MessageText, `{"type":"message","id":"a b","text":"hi"}`, "bad_message", "", false},
		{"id too long", websocket.MessageText, `{"type":"message","id":"` + strings.Repeat("i", 65) + `","text":"hi"}`, "bad_message", "", false},
		{"too long", websocket.MessageText, `{"type":"message","id":"long1","text":"` + long + `"}`, "too_long", "long1", false},
		{"empty text", websocket.MessageText, `{"type":"message","id":"empty1","text":""}`, "bad_message", "empty1", false},
		{"blank text", websocket.MessageText, `{"type":"message","id":"blank1","text":" \t\u200b "}`, "bad_message", "blank1", false},
	}
	c, _ := h.connect(t, "v_badinput1", 0)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.sendRaw(tt.typ, []byte(tt.data))
			f := c.read()
			if tt.code == "bad_message" && tt.id != "" {
				// The engine refuses it: typing on first.
				if f.Type != "typing" || !*f.On {
					t.Fatalf("%.80s: got %v, want typing on", tt.data, f)
				}
				f = c.read()
			}
			if f.Type != "error" || f.Code != tt.code || f.ID != tt.id || f.Message == "" {
				t.Fatalf("%.80s: got %v, want error %s with id %q and a message", tt.data, f, tt.code, tt.id)
			}
			if tt.code == "bad_message" && tt.id != "" {
				if f := c.read(); f.Type != "typing" || *f.On {
					t.Fatalf("%.80s: got %v after the error, want typing off", tt.data, f)
				}
			}
			// The connection still works.
			id := fmt.Sprintf("ok%d", i)
			ex := c.say(id, "where is my order 12345")
			if len(ex.replies) == 0 {
				t.Fatalf("after %s: no reply", tt.name)
			}
			for _, m := range customerMessages(t, h.store, conversationOf(t, h.store, "v_badinput1").ID) {
				if m.Text != "where is my order 12345" {
					t.Errorf("after %s: stored %q, want only the valid messages", tt.name, m.Text)
				}
			}
		})
	}
}

// TestInvalidUTF8 sends a text frame whose message text is not UTF-8.
// JSON decoding turns each bad byte into U+FFFD, so the engine sees a
// valid string; what is stored and echoed is that repaired text.
func TestInvalidUTF8(t *testing.T) {
	h := newHarness(t, webchat.Config{}, nil)
	c, _ := h.connect(t, "v_utf8test1", 0)
	tests := []struct {
		name string
		raw  string // the text field's bytes in the frame
		want string // the stored and echoed text
		code string // an error instead
	}{
		{"bad byte in words", "where is my order 12345 \xff", "where is my order 12345 \ufffd", ""},
		{"lone surrogate escape", `help \udc00 me`, "help \ufffd me", ""},
		{"only bad bytes", "\xff\xfe", "\ufffd\ufffd", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("u%d", i)
			c.sendRaw(websocket.MessageText, []byte(`{"type":"message","id":"`+id+`","text":"`+tt.raw+`"}`))
			ex := c.readExchange(id, tt.raw)
			if ex.echo.Text != tt.want || !utf8.ValidString(ex.echo.Text) {
				t.Errorf("text %q: echo %q, want %q", tt.raw, ex.echo.Text, tt.want)
			}
			stored := customerMessages(t, h.store, conversationOf(t, h.store, "v_utf8test1").ID)
			if got := stored[len(stored)-1]; got.ID != ex.ack.Seq || got.Text != tt.want {
				t.Errorf("text %q: stored %+v, want id %d text %q", tt.raw, got, ex.ack.Seq, tt.want)
			}
		})
	}
}

func TestFrameTooBig(t *testing.T) {
	h := newHarness(t, webchat.Config{MaxFrameBytes: 1024}, nil)
	c, _ := h.connect(t, "v_bigframe1", 0)
	if ex := c.say("fits", strings.Repeat("help ", 150)); ex.ack.Seq == 0 {
		t.Fatal("a frame under the limit was not acknowledged")
	}
	c.sendRaw(websocket.MessageText, []byte(`{"type":"message","id":"big","text":"`+strings.Repeat("x", 2048)+`"}`))
	if code := c.expectClosed(); code != websocket.StatusMessageTooBig {
		t.Errorf("after a 2 KiB frame (limit 1 KiB): closed with %v, want %v", code, websocket.StatusMessageTooBig)
	}
	waitFor(t, "the connection to unregister", func() bool { return h.srv.Connections() == 0 })
	// The server is fine: the visitor reconnects and goes on.
	c, hist := h.connect(t, "v_bigframe1", 0)
	if len(hist) < 2 {
		t.Errorf("history after reconnecting: %v, want the first exchange", hist)
	}
	c.say("after", "thanks")
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, webchat.Config{Rate: 1, Burst: 2}, nil)
	c, _ := h.connect(t, "v_ratelimit", 0)
	c.say("r1", "hello")
	c.say("r2", "where is my order 12345")
	c.send(message{Type: "message", ID: "r3", Text: "thanks"})
	f := c.read()
	if f.Type != "error" || f.Code != "rate_limited" || f.ID != "r3" || f.RetryAfterMs <= 0 || f.RetryAfterMs > 1001 {
		t.Fatalf("third message at once (rate 1/s, burst 2): got %v, want rate_limited for r3 with 0 < retry_after_ms <= 1001", f)
	}
	conv := conversationOf(t, h.store, "v_ratelimit")
	if n := len(customerMessages(t, h.store, conv.ID)); n != 2 {
		t.Errorf("stored %d customer messages, want 2 (the limited one is not)", n)
	}
	time.Sleep(time.Duration(f.RetryAfterMs) * time.Millisecond)
	c.say("r3", "thanks")
	if n := len(customerMessages(t, h.store, conv.ID)); n != 3 {
		t.Errorf("stored %d customer messages after the wait, want 3", n)
	}
}

func TestOrigin(t *testing.T) {
	tests := []struct {
		name    string
		allowed []string
		origin  string // "same" for the server's own origin
		status  int    // the refused handshake's status; 0 when accepted
	}{
		{"no origin (not a browser)", nil, "", 0},
		{"same origin", nil, "same", 0},
		{"foreign by default", nil, "https://evil.example", http.StatusForbidden},
		{"allowed subdomain", []string{"*.shop.example"}, "https://www.shop.example", 0},
		{"allowed case-insensitive", []string{"*.shop.example"}, "https://WWW.Shop.Example", 0},
		{"pattern needs a subdomain", []string{"*.shop.example"}, "https://shop.example", http.StatusForbidden},
		{"lookalike", []string{"*.shop.example"}, "https://www.shop.example.evil.example", http.StatusForbidden},
		{"other host with a list", []string{"*.shop.example"}, "https://evil.example", http.StatusForbidden},
		{"same origin with a list", []string{"*.shop.example"}, "same", 0},
		{"exact host", []string{"shop.example"}, "https://shop.example", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, webchat.Config{AllowedOrigins: tt.allowed}, nil)
			origin := tt.origin
			if origin == "same" {
				origin = h.ts.URL
			}
			header := http.Header{}
			if origin != "" {
				header.Set("Origin", origin)
			}
			ws, resp, err := h.tryDial(t, header)
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("origin %q, allowed %q: %v, want accepted", origin, tt.allowed, err)
				}
				c := &client{tb: t, ws: ws}
				c.hello("", 0)
				return
			}
			if err == nil {
				t.Fatalf("origin %q, allowed %q: accepted, want HTTP %d", origin, tt.allowed, tt.status)
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Fatalf("origin %q, allowed %q: response %v (%v), want HTTP %d", origin, tt.allowed, resp, err, tt.status)
			}
		})
	}
}

func TestRefuse(t *testing.T) {
	h := newHarness(t, webchat.Config{}, nil)
	open, _ := h.connect(t, "v_drainer01", 0)
	h.srv.Refuse(true)
	_, resp, err := h.tryDial(t, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("dial while refusing: %v (%v), want HTTP 503 with Retry-After", resp, err)
	}
	// Connections already open are not cut by refusing new ones.
	open.say("m1", "hello")
	h.srv.Refuse(false)
	h.connect(t, "v_drainer01", 0)
}

func TestConnections(t *testing.T) {
	h := newHarness(t, webchat.Config{}, nil)
	if n := h.srv.Connections(); n != 0 {
		t.Fatalf("Connections() = %d before any, want 0", n)
	}
	a1, _ := h.connect(t, "v_visitor_a", 0)
	a2, _ := h.connect(t, "v_visitor_a", 0)
	b, _ := h.connect(t, "v_visitor_b", 0)
	if n := h.srv.Connections(); n != 3 {
		t.Fatalf("Connections() = %d, want 3", n)
	}
	if n := h.srv.Disconnect("v_nobody_here"); n != 0 {
		t.Errorf("Disconnect(unknown) = %d, want 0", n)
	}
	a1closed, a2closed := a1.closing(), a2.closing()
	if n := h.srv.Disconnect("v_visitor_a"); n != 2 {
		t.Fatalf("Disconnect(a) = %d, want 2", n)
	}
	wantClosed(t, a1closed, websocket.StatusGoingAway)
	wantClosed(t, a2closed, websocket.StatusGoingAway)
	waitFor(t, "a's connections to unregister", func() bool { return h.srv.Connections() == 1 })
	b.say("m1", "hello") // b is unaffected
	bclosed := b.closing()
	h.srv.Close()
	wantClosed(t, bclosed, websocket.StatusServiceRestart)
	waitFor(t, "every connection to unregister", func() bool { return h.srv.Connections() == 0 })
	// Close does not refuse: the widgets come back.
	h.connect(t, "v_visitor_b", 0)
}

// TestEngineFailure: an engine error is "internal" for the widget, which
// resends; a CRM that cannot store (full disk) is "unavailable" with a
// pause before the resend. Nothing was stored, and the resend is handled.
func TestEngineFailure(t *testing.T) {
	full := fmt.Errorf("log interaction: %w: the disk is full", crm.ErrUnavailable)
	for _, tc := range []struct {
		name, visitor string
		err           error
		code          string
		retryAfterMs  int64
	}{
		{"engine error", "v_failures1", nil, "internal", 0},
		{"CRM full", "v_failures2", full, "unavailable", 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, webchat.Config{}, func(e webchat.Engine) webchat.Engine {
				return &failingEngine{inner: e, fails: 2, err: tc.err}
			})
			c, _ := h.connect(t, tc.visitor, 0)
			for i := range 2 {
				c.send(message{Type: "message", ID: "f1", Text: "where is my order 12345"})
				frames := []frame{c.read(), c.read(), c.read()}
				if f := frames[1]; f.Type != "error" || f.Code != tc.code || f.ID != "f1" || f.Message == "" ||
					strings.Contains(f.Message, "crm") || strings.Contains(f.Message, "disk") || f.RetryAfterMs != tc.retryAfterMs {
					t.Fatalf("try %d: got %+v, want error %s for f1 after %d ms with a message that hides the cause", i+1, f, tc.code, tc.retryAfterMs)
				}
				if f := frames[2]; f.Type != "typing" || *f.On {
					t.Fatalf("try %d: got %v after the error, want typing off", i+1, f)
				}
			}
			if _, err := h.store.CustomerByExternalID(context.Background(), crm.ExternalID{Kind: crm.IDWebVisitor, Value: tc.visitor}); err == nil {
				t.Error("a customer was stored by failed handling")
			}
			ex := c.say("f1", "where is my order 12345")
			if len(ex.replies) == 0 {
				t.Fatal("no reply to the resend")
			}
		})
	}
}

func TestOnMessage(t *testing.T) {
	got := make(chan int64, 4)
	h := newHarness(t, webchat.Config{}, nil)
	h.srv.OnMessage = func(id int64) { got <- id } // set before any connection
	c, _ := h.connect(t, "v_onmessage", 0)
	c.say("m1", "hello")
	conv := conversationOf(t, h.store, "v_onmessage")
	select {
	case id := <-got:
		if id != conv.ID {
			t.Errorf("OnMessage(%d), want %d", id, conv.ID)
		}
	case <-time.After(ioTimeout):
		t.Fatal("OnMessage not called")
	}
	// A refused message is not one. Typing off is the exchange's last
	// frame, sent after OnMessage would have been called.
	c.send(message{Type: "message", ID: "m2", Text: ""})
	for f := c.read(); f.Type != "typing" || *f.On; f = c.read() {
	}
	select {
	case id := <-got:
		t.Errorf("OnMessage(%d) after a refused message", id)
	default:
	}
}

// TestSlowClient: a widget that stops reading is disconnected; it holds
// up neither Publish nor other visitors.
func TestSlowClient(t *testing.T) {
	h := newHarness(t, webchat.Config{WriteTimeout: 300 * time.Millisecond}, nil)
	ctx := context.Background()
	shown := history(t, h, "v_slowpoke1", "hello")
	conv := conversationOf(t, h.store, "v_slowpoke1")
	slow, _ := h.connect(t, "v_slowpoke1", shown[len(shown)-1].Seq) // and never reads again
	other, _ := h.connect(t, "v_bystander", 0)

	// More than the send queue and the sockets' buffers hold: 800 frames
	// of 16 KiB.
	text := strings.Repeat("x", crm.MaxTextBytes)
	for range 800 {
		if _, err := h.store.AddMessage(ctx, crm.Message{ConversationID: conv.ID, Direction: crm.FromBot, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	h.srv.Publish(ctx, conv.ID)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Publish to a client that does not read took %v", d)
	}
	other.say("m1", "hello") // not held up
	waitFor(t, "the slow client to be disconnected", func() bool { return h.srv.Connections() == 1 })
	slow.ws.CloseNow()
	other.say("m2", "thanks")
}

// TestLongHistory replays more messages than a connection's send queue
// holds: a burst of history is not a slow client.
func TestLongHistory(t *testing.T) {
	h := newHarness(t, webchat.Config{}, nil)
	ctx := context.Background()
	history(t, h, "v_chatterbox", "hello")
	conv := conversationOf(t, h.store, "v_chatterbox")
	const extra = 600
	for i := range extra {
		if _, err := h.store.AddMessage(ctx, crm.Message{ConversationID: conv.ID, Direction: crm.FromBot, Text: fmt.Sprintf("note %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := h.store.Messages(ctx, conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, hist := h.connect(t, "v_chatterbox", 0)
	if len(hist) != len(all) {
		t.Fatalf("replayed %d messages, want all %d", len(hist), len(all))
	}
	for i, f := range hist {
		if f.Seq != all[i].ID {
			t.Fatalf("replayed message %d has seq %d, want %d", i, f.Seq, all[i].ID)
		}
	}
}

// TestPing: a widget that answers pings stays; one that does not (its
// reader is stuck) is dropped after two intervals.
func TestPing(t *testing.T) {
	h := newHarness(t, webchat.Config{PingInterval: 100 * time.Millisecond}, nil)
	alive, _ := h.connect(t, "v_responsive", 0)
	silent, _ := h.connect(t, "v_unresponsive", 0)
	aliveClosed := alive.closing() // reading answers pings
	waitFor(t, "the silent widget to be dropped", func() bool { return h.srv.Connections() == 1 })
	time.Sleep(300 * time.Millisecond) // three more pings
	select {
	case c := <-aliveClosed:
		t.Fatalf("a widget answering pings was closed: %+v", c)
	default:
	}
	if n := h.srv.Connections(); n != 1 {
		t.Errorf("Connections() = %d, want the responsive widget only", n)
	}
	silent.ws.CloseNow()
}

// TestHandleTimeout: a message the engine cannot handle in time is an
// internal error, which the widget resends.
func TestHandleTimeout(t *testing.T) {
	var g *gatedEngine
	h := newHarness(t, webchat.Config{HandleTimeout: 50 * time.Millisecond}, func(e webchat.Engine) webchat.Engine {
		g = &gatedEngine{inner: e, entered: make(chan string, 4), gate: make(chan struct{})}
		return g
	})
	c, _ := h.connect(t, "v_timeout01", 0)
	c.send(message{Type: "message", ID: "t1", Text: "hello"})
	if f := c.read(); f.Type != "typing" || !*f.On {
		t.Fatalf("got %v, want typing on", f)
	}
	if f := c.read(); f.Type != "error" || f.Code != "internal" || f.ID != "t1" {
		t.Fatalf("engine past the handle timeout: got %v, want error internal for t1", f)
	}
	if f := c.read(); f.Type != "typing" || *f.On {
		t.Fatalf("got %v, want typing off", f)
	}
	close(g.gate)
	c.say("t1", "hello")
}

// TestPublishWhileClosing publishes agent messages while connections of
// the conversation come and go, as when a person answers a visitor who
// keeps reloading the page: Publish names the author (which takes the
// server's lock) for connections that register and unregister (which
// take it too). Run it with -race; a lock-order deadlock fails it.
func TestPublishWhileClosing(t *testing.T) {
	h := newHarness(t, webchat.Config{}, nil)
	ctx := context.Background()
	history(t, h, "v_reloader1", "hello")
	conv := conversationOf(t, h.store, "v_reloader1")
	alice, err := h.store.CreateStaff(ctx, crm.StaffUser{Email: "alice@shop.example", Name: "Alice", Role: crm.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	// For 200 ms; the conversation grows by at most 1,000 messages.
	deadline := time.Now().Add(200 * time.Millisecond)
	done := make(chan error, 1)
	go func() {
		for n := 0; n < 1000 && time.Now().Before(deadline); n++ {
			if _, err := h.store.AddMessage(ctx, crm.Message{ConversationID: conv.ID, Direction: crm.FromAgent, AuthorID: alice.ID, Text: "still here"}); err != nil {
				done <- err
				return
			}
			h.srv.Publish(ctx, conv.ID)
		}
		done <- nil
	}()
	n := 0
	for ; time.Now().Before(deadline); n++ {
		msgs, err := h.store.Messages(ctx, conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		c := h.dial(t)
		c.send(hello{Type: "hello", Visitor: "v_reloader1", LastSeq: msgs[len(msgs)-1].ID})
		if f := c.read(); f.Type != "welcome" {
			t.Fatalf("got %v, want the welcome first", f)
		}
		c.ws.CloseNow()
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(ioTimeout):
		t.Fatal("Publish is stuck (a lock-order deadlock?)")
	}
	t.Logf("%d connections came and went", n)
	waitFor(t, "the connections to unregister", func() bool { return h.srv.Connections() == 0 })
}

// A connection that never says hello is closed after HelloTimeout; one
// that does is not.
func TestHelloTimeout(t *testing.T) {
	h := newHarness(t, webchat.Config{HelloTimeout: 150 * time.Millisecond}, nil)
	silent := h.dial(t)
	if code := silent.expectClosed(); code == websocket.StatusNormalClosure {
		t.Errorf("a connection without hello: closed with %v, want an abnormal close", code)
	}
	c, _ := h.connect(t, "v_hellotimeout", 0)
	time.Sleep(300 * time.Millisecond)
	if ex := c.say("late", "how much is shipping"); ex.ack.Seq == 0 {
		t.Error("a connection that said hello was closed by the hello timeout")
	}
}
