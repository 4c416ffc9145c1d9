package crmtest

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
)

func testLogInteraction(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	in := web("v1", "sess-1", "m1", "where is my order 48213?")
	in.CustomerName, in.CustomerEmail = "Ann", "ann@example.com"
	in.Message.Intent, in.Message.Confidence = "order_status", 0.91
	in.Message.Alternatives = []crm.Alternative{{Intent: "delivery", Confidence: 0.05}}
	in.Message.Sentiment, in.Message.SentimentScore = "negative", -0.4
	in.Message.Entities = []crm.Entity{{Kind: "order_id", Text: "48213", Value: "48213", Start: 18, End: 23}}
	in.Message.ModelVersion, in.Message.Action = "intent-v1", "escalate"
	in.Replies = []crm.Message{
		{Direction: crm.FromBot, Text: "Let me find a person.", QuickReplies: []string{"ok", "never mind"}},
		{Direction: crm.FromBot, Text: "Someone will be with you shortly."},
	}
	in.State, in.Slots, in.Fallbacks = crm.StateEscalated, map[string]string{"order": "48213"}, 1
	in.Escalate = "customer asked for a person"
	l := e.log(in)
	if l.CustomerID <= 0 || l.ConversationID <= 0 || l.MessageID <= 0 || l.EscalationID <= 0 || l.Duplicate {
		t.Fatalf("LogInteraction = %+v, want ids set and Duplicate false", l)
	}
	if len(l.Replies) != 2 {
		t.Fatalf("LogInteraction replies = %+v, want 2", l.Replies)
	}

	wantCust := crm.Customer{ID: l.CustomerID, Name: "Ann", Email: "ann@example.com",
		ExternalIDs: []crm.ExternalID{in.Customer}, CreatedAt: T0}
	equal(t, "customer", must(s.Customer(ctx, l.CustomerID))(t), wantCust)
	wantConv := crm.Conversation{ID: l.ConversationID, CustomerID: l.CustomerID, Channel: crm.ChannelWeb,
		Ref: "sess-1", State: crm.StateEscalated, Slots: map[string]string{"order": "48213"}, Fallbacks: 1,
		CreatedAt: T0, UpdatedAt: T0}
	equal(t, "conversation", e.conversation(l.ConversationID), wantConv)

	wantMsg := in.Message
	wantMsg.ID, wantMsg.ConversationID, wantMsg.CreatedAt = l.MessageID, l.ConversationID, T0
	wantReplies := make([]crm.Message, 2)
	for i, r := range in.Replies {
		r.ID, r.ConversationID, r.CreatedAt = l.Replies[i].ID, l.ConversationID, T0
		wantReplies[i] = r
	}
	equal(t, "Logged.Replies", l.Replies, wantReplies)
	equal(t, "messages", e.messages(l.ConversationID), append([]crm.Message{wantMsg}, wantReplies...))
	equal(t, "escalations", must(s.Escalations(ctx, l.ConversationID))(t), []crm.Escalation{{
		ID: l.EscalationID, ConversationID: l.ConversationID, Reason: in.Escalate,
		Status: crm.EscalationOpen, CreatedAt: T0}})

	// The next message finds the conversation by its ref, and without a
	// state leaves state and slots alone; an escalation already open
	// stays the only one.
	t1 := e.clock.Advance(time.Minute)
	next := web("v1", "sess-1", "m2", "hello?")
	next.Escalate = "still waiting"
	l2 := e.log(next)
	if l2.CustomerID != l.CustomerID || l2.ConversationID != l.ConversationID || l2.EscalationID != l.EscalationID {
		t.Errorf("second message logged as %+v, want customer %d, conversation %d, escalation %d",
			l2, l.CustomerID, l.ConversationID, l.EscalationID)
	}
	wantConv.UpdatedAt = t1
	equal(t, "conversation after second message", e.conversation(l.ConversationID), wantConv)
	if n := len(must(s.Escalations(ctx, l.ConversationID))(t)); n != 1 {
		t.Errorf("escalations after a second Escalate = %d, want 1", n)
	}

	// A message with its own time keeps it; replies without one share it.
	past := T0.Add(-24 * time.Hour)
	old := web("v1", "sess-1", "m0", "an imported message")
	old.Message.CreatedAt = past
	old.Replies = []crm.Message{reply("an imported reply")}
	l3 := e.log(old)
	msgs := e.messages(l.ConversationID)
	if msgs[0].ID != l3.MessageID || !msgs[0].CreatedAt.Equal(past) || msgs[1].ID != l3.Replies[0].ID || !msgs[1].CreatedAt.Equal(past) {
		t.Errorf("imported message and reply = %+v, want them first, at %v", msgs[:2], past)
	}
	if got := e.conversation(l.ConversationID).UpdatedAt; !got.Equal(t1) {
		t.Errorf("UpdatedAt after an older message = %v, want %v (unchanged)", got, t1)
	}
}

func testConversationLookup(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	a := e.log(web("v1", "sess-1", "m1", "hi"))
	b := e.log(web("v1", "sess-2", "m2", "hi again"))
	if b.ConversationID == a.ConversationID || b.CustomerID != a.CustomerID {
		t.Errorf("another ref logged as %+v, want a new conversation of customer %d", b, a.CustomerID)
	}
	c := e.log(web("v1", "", "m3", "no ref"))
	if c.ConversationID == a.ConversationID || c.ConversationID == b.ConversationID {
		t.Errorf("an empty ref reused conversation %d", c.ConversationID)
	}
	if d := e.log(web("v1", "", "m4", "no ref again")); d.ConversationID != c.ConversationID {
		t.Errorf("empty ref again: conversation %d, want %d", d.ConversationID, c.ConversationID)
	}
	// ConversationID wins over the ref.
	byID := web("v1", "sess-2", "m5", "by id")
	byID.ConversationID = a.ConversationID
	if l := e.log(byID); l.ConversationID != a.ConversationID {
		t.Errorf("ConversationID %d: logged in %d", a.ConversationID, l.ConversationID)
	}
	// A resolved conversation is handed back to the bot, not replaced.
	must(s.SetState(ctx, a.ConversationID, crm.StateResolved, 0, "done"))(t)
	if l := e.log(web("v1", "sess-1", "m6", "one more thing")); l.ConversationID != a.ConversationID {
		t.Errorf("after resolution: conversation %d, want %d", l.ConversationID, a.ConversationID)
	}
	// Another customer's ref does not match.
	if l := e.log(web("v2", "sess-1", "m7", "hi")); l.ConversationID == a.ConversationID || l.CustomerID == a.CustomerID {
		t.Errorf("another visitor with the same ref logged as %+v", l)
	}

	before := e.snapshot()
	missing := web("nobody", "", "m8", "hi")
	missing.ConversationID = 999999
	_, err := s.LogInteraction(ctx, missing)
	wantErr(t, "unknown ConversationID", err, crm.ErrNotFound)
	other := web("v2", "", "m9", "hi")
	other.ConversationID = a.ConversationID
	_, err = s.LogInteraction(ctx, other)
	wantErr(t, "another customer's ConversationID", err, crm.ErrInvalid)
	unknownAuthor := web("v1", "", "m11", "hi")
	unknownAuthor.Replies = []crm.Message{{Direction: crm.FromAgent, AuthorID: 999999, Text: "hello"}}
	_, err = s.LogInteraction(ctx, unknownAuthor)
	wantErr(t, "reply by an unknown author", err, crm.ErrNotFound)
	slack := web("v1", "", "m10", "hi")
	slack.Channel, slack.ConversationID = crm.ChannelSlack, a.ConversationID
	_, err = s.LogInteraction(ctx, slack)
	wantErr(t, "ConversationID on another channel", err, crm.ErrInvalid)
	e.unchanged("failed interactions", before)
	_, err = s.CustomerByExternalID(ctx, missing.Customer)
	wantErr(t, "customer of a failed interaction", err, crm.ErrNotFound)
}

func testIdempotency(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	in := web("v1", "sess-1", "m1", "cancel my order please")
	in.Replies = []crm.Message{reply("Which order?"), {Direction: crm.FromBot, Text: "Or type 'agent'.", QuickReplies: []string{"agent"}}}
	in.Escalate = "cancellation"
	first := e.log(in)

	e.clock.Advance(time.Minute)
	before := e.snapshot()
	again := in
	again.Message.Text = "a redelivery that differs"
	again.Replies = []crm.Message{reply("a different answer")}
	second := e.log(again)
	want := first
	want.Duplicate = true
	equal(t, "redelivered message", second, want)
	e.unchanged("a redelivered message", before)

	// The id is unique per channel, not across channels.
	onSlack := in
	onSlack.Channel = crm.ChannelSlack
	onSlack.Customer = crm.ExternalID{Kind: crm.IDSlackUser, Value: "U1"}
	if l := e.log(onSlack); l.Duplicate || l.MessageID == first.MessageID {
		t.Errorf("same id on another channel logged as %+v, want a new message", l)
	}

	// AddMessage with a logged id returns the logged message.
	got := must(s.AddMessage(ctx, crm.Message{ConversationID: first.ConversationID, Direction: crm.FromBot, Text: "x", ChannelMsgID: "m1"}))(t)
	if got.ID != first.MessageID || got.Text != in.Message.Text {
		t.Errorf("AddMessage with logged id m1 = %+v, want message %d", got, first.MessageID)
	}

	// A reply whose channel id exists fails the whole interaction.
	before = e.snapshot()
	clash := web("v3", "", "m2", "new visitor")
	clash.Replies = []crm.Message{{Direction: crm.FromBot, Text: "hi", ChannelMsgID: "m1"}}
	_, err := s.LogInteraction(ctx, clash)
	wantErr(t, "reply with a logged channel id", err, crm.ErrConflict)
	twice := web("v3", "", "m3", "new visitor")
	twice.Replies = []crm.Message{{Direction: crm.FromBot, Text: "hi", ChannelMsgID: "m3"}}
	_, err = s.LogInteraction(ctx, twice)
	wantErr(t, "reply with the message's channel id", err, crm.ErrConflict)
	e.unchanged("conflicting replies", before)

	// Without a channel id there is no deduplication.
	a := e.log(web("v1", "sess-9", "", "same text"))
	b := e.log(web("v1", "sess-9", "", "same text"))
	if a.MessageID == b.MessageID || b.Duplicate {
		t.Errorf("messages without channel ids: %+v then %+v, want two messages", a, b)
	}
}

func testAddMessage(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	l := e.log(web("v1", "s", "m1", "hi"))
	agent := e.staff("sam@example.com", crm.RoleAgent)
	t1 := e.clock.Advance(time.Minute)
	m := crm.Message{ConversationID: l.ConversationID, Direction: crm.FromAgent, AuthorID: agent.ID,
		Text: "Hi, I'm Sam.", ChannelMsgID: "a1", QuickReplies: []string{"thanks"}}
	got := must(s.AddMessage(ctx, m))(t)
	want := m
	want.ID, want.CreatedAt = got.ID, t1
	if got.ID <= 0 {
		t.Fatalf("AddMessage id = %d, want > 0", got.ID)
	}
	equal(t, "added message", got, want)
	msgs := e.messages(l.ConversationID)
	equal(t, "last message", msgs[len(msgs)-1], want)
	if u := e.conversation(l.ConversationID).UpdatedAt; !u.Equal(t1) {
		t.Errorf("conversation UpdatedAt = %v, want %v", u, t1)
	}

	e.clock.Advance(time.Minute)
	before := e.snapshot()
	equal(t, "AddMessage again", must(s.AddMessage(ctx, m))(t), want)
	e.unchanged("AddMessage of a known channel id", before)

	note := crm.Message{ConversationID: l.ConversationID, Direction: crm.Note, AuthorID: agent.ID, Text: "VIP"}
	n1 := must(s.AddMessage(ctx, note))(t)
	n2 := must(s.AddMessage(ctx, note))(t)
	if n1.ID == n2.ID {
		t.Errorf("two notes without channel ids got one id %d", n1.ID)
	}
	// No author: a bot message sent outside an interaction.
	must(s.AddMessage(ctx, crm.Message{ConversationID: l.ConversationID, Direction: crm.FromBot, Text: "Are you still there?"}))(t)

	before = e.snapshot()
	for _, tt := range []struct {
		name   string
		m      crm.Message
		target error
	}{
		{"unknown conversation", crm.Message{ConversationID: 999999, Direction: crm.FromBot, Text: "x"}, crm.ErrNotFound},
		{"unknown author", crm.Message{ConversationID: l.ConversationID, Direction: crm.FromAgent, AuthorID: 999999, Text: "x"}, crm.ErrNotFound},
		{"bad direction", crm.Message{ConversationID: l.ConversationID, Direction: "sideways", Text: "x"}, crm.ErrInvalid},
		{"invalid UTF-8", crm.Message{ConversationID: l.ConversationID, Direction: crm.FromBot, Text: "\xff"}, crm.ErrInvalid},
	} {
		_, err := s.AddMessage(ctx, tt.m)
		wantErr(t, "AddMessage "+tt.name, err, tt.target)
	}
	e.unchanged("failed AddMessage calls", before)
}

func testConversations(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	agent := e.staff("sam@example.com", crm.RoleAgent)
	a := e.log(web("v1", "a", "m1", "a"))
	e.clock.Advance(time.Minute)
	bIn := web("v1", "b", "m2", "b")
	bIn.Channel, bIn.Customer = crm.ChannelSlack, crm.ExternalID{Kind: crm.IDWebVisitor, Value: "v1"}
	bIn.Escalate = "angry"
	b := e.log(bIn)
	e.clock.Advance(time.Minute)
	c := e.log(web("v2", "c", "m3", "c"))
	must(s.SetState(ctx, c.ConversationID, crm.StateAssigned, agent.ID, ""))(t)
	e.clock.Advance(time.Minute)
	dIn := web("v2", "d", "m4", "d")
	dIn.Channel = crm.ChannelAPI
	d := e.log(dIn)
	must(s.SetState(ctx, d.ConversationID, crm.StateResolved, 0, ""))(t)
	e.clock.Advance(time.Minute)
	e.log(web("v1", "a", "m5", "a again")) // a is now the latest updated

	A, B, C, D := a.ConversationID, b.ConversationID, c.ConversationID, d.ConversationID
	for _, tt := range []struct {
		name string
		f    crm.ConversationFilter
		want []int64
	}{
		{"all", crm.ConversationFilter{}, []int64{A, D, C, B}},
		{"states", crm.ConversationFilter{States: []crm.State{crm.StateEscalated, crm.StateAssigned}}, []int64{C, B}},
		{"bot", crm.ConversationFilter{States: []crm.State{crm.StateBot}}, []int64{A}},
		{"assignee", crm.ConversationFilter{AssigneeID: agent.ID}, []int64{C}},
		{"customer", crm.ConversationFilter{CustomerID: a.CustomerID}, []int64{A, B}},
		{"channel", crm.ConversationFilter{Channel: crm.ChannelSlack}, []int64{B}},
		{"customer and channel", crm.ConversationFilter{CustomerID: c.CustomerID, Channel: crm.ChannelWeb}, []int64{C}},
		{"limit", crm.ConversationFilter{Limit: 2}, []int64{A, D}},
		{"none", crm.ConversationFilter{CustomerID: 999999}, []int64{}},
	} {
		got := must(s.Conversations(ctx, tt.f))(t)
		equal(t, "Conversations "+tt.name, convIDs(got), tt.want)
	}
	if got := must(s.Conversations(ctx, crm.ConversationFilter{AssigneeID: agent.ID}))(t); len(got) == 1 {
		equal(t, "listed conversation", got[0], e.conversation(C))
	}
	for _, f := range []crm.ConversationFilter{
		{States: []crm.State{"lost"}}, {Channel: "fax"}, {Limit: -1},
	} {
		_, err := s.Conversations(ctx, f)
		wantErr(t, fmt.Sprintf("Conversations(%+v)", f), err, crm.ErrInvalid)
	}
}

func testSetState(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	l := e.log(web("v1", "s", "m1", "help"))
	id := l.ConversationID
	s1 := e.staff("one@example.com", crm.RoleAgent)
	s2 := e.staff("two@example.com", crm.RoleAgent)

	t1 := e.clock.Advance(time.Minute)
	c := must(s.SetState(ctx, id, crm.StateEscalated, 0, ""))(t)
	if c.State != crm.StateEscalated || c.AssigneeID != 0 || !c.UpdatedAt.Equal(t1) {
		t.Errorf("escalated: %+v", c)
	}
	esc := must(s.Escalations(ctx, id))(t)
	if len(esc) != 1 {
		t.Fatalf("escalations after escalating = %+v, want 1", esc)
	}
	first := esc[0]
	equal(t, "opened escalation", first, crm.Escalation{ID: first.ID, ConversationID: id, Reason: crm.EscalationByStaff, Status: crm.EscalationOpen, CreatedAt: t1})

	t2 := e.clock.Advance(time.Minute)
	c = must(s.SetState(ctx, id, crm.StateAssigned, s1.ID, ""))(t)
	equal(t, "assigned conversation", c, e.conversation(id))
	if c.State != crm.StateAssigned || c.AssigneeID != s1.ID {
		t.Errorf("assigned: %+v, want assignee %d", c, s1.ID)
	}
	first.Status, first.AssigneeID, first.AssignedAt = crm.EscalationAssigned, s1.ID, t2
	equal(t, "assigned escalation", must(s.Escalations(ctx, id))(t), []crm.Escalation{first})

	t3 := e.clock.Advance(time.Minute)
	must(s.SetState(ctx, id, crm.StateAssigned, s2.ID, ""))(t)
	first.AssigneeID, first.AssignedAt = s2.ID, t3
	equal(t, "reassigned escalation", must(s.Escalations(ctx, id))(t), []crm.Escalation{first})
	if got := must(s.Conversations(ctx, crm.ConversationFilter{AssigneeID: s2.ID}))(t); len(got) != 1 || got[0].ID != id {
		t.Errorf("conversations of the new assignee = %v, want [%d]", convIDs(got), id)
	}

	t4 := e.clock.Advance(time.Minute)
	c = must(s.SetState(ctx, id, crm.StateResolved, 0, "refund issued"))(t)
	if c.State != crm.StateResolved || c.AssigneeID != 0 {
		t.Errorf("resolved: %+v, want no assignee", c)
	}
	first.Status, first.Resolution, first.ResolvedAt = crm.EscalationResolved, "refund issued", t4
	equal(t, "resolved escalation", must(s.Escalations(ctx, id))(t), []crm.Escalation{first})

	// From resolved straight to a person: a new escalation, assigned.
	t5 := e.clock.Advance(time.Minute)
	must(s.SetState(ctx, id, crm.StateAssigned, s1.ID, ""))(t)
	esc = must(s.Escalations(ctx, id))(t)
	if len(esc) != 2 {
		t.Fatalf("escalations after reassigning a resolved conversation = %+v, want 2", esc)
	}
	second := esc[1]
	equal(t, "second escalation", second, crm.Escalation{ID: second.ID, ConversationID: id, Reason: crm.EscalationByStaff,
		Status: crm.EscalationAssigned, AssigneeID: s1.ID, CreatedAt: t5, AssignedAt: t5})
	// Back to waiting: unassigned again.
	must(s.SetState(ctx, id, crm.StateEscalated, 0, ""))(t)
	second.Status, second.AssigneeID, second.AssignedAt = crm.EscalationOpen, 0, time.Time{}
	equal(t, "unassigned escalation", must(s.Escalations(ctx, id))(t)[1], second)
	// Back to the bot resolves it.
	t6 := e.clock.Advance(time.Minute)
	c = must(s.SetState(ctx, id, crm.StateBot, 0, "handed back"))(t)
	if c.State != crm.StateBot {
		t.Errorf("bot: %+v", c)
	}
	second.Status, second.Resolution, second.ResolvedAt = crm.EscalationResolved, "handed back", t6
	equal(t, "escalation handed back", must(s.Escalations(ctx, id))(t), []crm.Escalation{first, second})
	// Resolving a conversation with no open escalation opens none.
	must(s.SetState(ctx, id, crm.StateResolved, 0, ""))(t)
	if n := len(must(s.Escalations(ctx, id))(t)); n != 2 {
		t.Errorf("escalations after resolving with none open = %d, want 2", n)
	}

	before := e.snapshot()
	for _, tt := range []struct {
		name     string
		id       int64
		state    crm.State
		assignee int64
		target   error
	}{
		{"unknown conversation", 999999, crm.StateEscalated, 0, crm.ErrNotFound},
		{"assigned without assignee", id, crm.StateAssigned, 0, crm.ErrInvalid},
		{"unknown assignee", id, crm.StateAssigned, 999999, crm.ErrNotFound},
		{"unknown state", id, "lost", 0, crm.ErrInvalid},
		{"assignee for another state", id, crm.StateResolved, s1.ID, crm.ErrInvalid},
	} {
		_, err := s.SetState(ctx, tt.id, tt.state, tt.assignee, "")
		wantErr(t, "SetState "+tt.name, err, tt.target)
	}
	_, err := s.SetState(ctx, id, crm.StateResolved, 0, string(make([]byte, crm.MaxShortBytes+1)))
	wantErr(t, "SetState oversized resolution", err, crm.ErrInvalid)
	e.unchanged("failed SetState calls", before)
}

func testInteractionState(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	agent := e.staff("sam@example.com", crm.RoleAgent)
	l := e.log(web("v1", "s", "m1", "hi"))

	before := e.snapshot()
	in := web("v1", "s", "m2", "assign me")
	in.State = crm.StateAssigned
	_, err := s.LogInteraction(ctx, in)
	wantErr(t, "interaction assigning a conversation nobody has", err, crm.ErrInvalid)
	e.unchanged("failed interaction", before)

	must(s.SetState(ctx, l.ConversationID, crm.StateAssigned, agent.ID, ""))(t)
	open := must(s.Escalations(ctx, l.ConversationID))(t)[0]
	// While a person has it, an interaction without a state keeps it
	// theirs, and an Escalate finds the open escalation.
	in = web("v1", "s", "m3", "I want a person")
	in.Escalate = "asked again"
	l3 := e.log(in)
	if l3.EscalationID != open.ID {
		t.Errorf("Escalate while assigned: escalation %d, want the open %d", l3.EscalationID, open.ID)
	}
	c := e.conversation(l.ConversationID)
	if c.State != crm.StateAssigned || c.AssigneeID != agent.ID {
		t.Errorf("conversation after a message while assigned = %+v, want still assigned to %d", c, agent.ID)
	}
	// State assigned keeps the assignee; slots and fallbacks apply.
	in = web("v1", "s", "m4", "order 48213")
	in.State, in.Slots, in.Fallbacks = crm.StateAssigned, map[string]string{"order": "48213"}, 2
	e.log(in)
	c = e.conversation(l.ConversationID)
	if c.AssigneeID != agent.ID || c.Fallbacks != 2 || c.Slots["order"] != "48213" {
		t.Errorf("conversation after state assigned = %+v", c)
	}
	// State bot resolves the open escalation and clears slots.
	in = web("v1", "s", "m5", "never mind")
	in.State = crm.StateBot
	e.log(in)
	c = e.conversation(l.ConversationID)
	if c.State != crm.StateBot || c.AssigneeID != 0 || c.Slots != nil || c.Fallbacks != 0 {
		t.Errorf("conversation after state bot = %+v, want bot, no assignee, slots or fallbacks", c)
	}
	if esc := must(s.Escalations(ctx, l.ConversationID))(t); len(esc) != 1 || esc[0].Status != crm.EscalationResolved {
		t.Errorf("escalations after state bot = %+v, want the one resolved", esc)
	}
	// State escalated without Escalate opens one all the same.
	in = web("v1", "s", "m6", "hmm")
	in.State = crm.StateEscalated
	l6 := e.log(in)
	esc := must(s.Escalations(ctx, l.ConversationID))(t)
	if len(esc) != 2 || esc[1].ID != l6.EscalationID || esc[1].Reason != crm.EscalationByBot || esc[1].Status != crm.EscalationOpen {
		t.Errorf("escalations after state escalated = %+v, want a second one, open, reason %q, id %d", esc, crm.EscalationByBot, l6.EscalationID)
	}
}

func testInbox(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	logMsg := func(id string, conf float64, oos bool, action string) crm.Logged {
		in := web("v1", "s", id, "text of "+id)
		in.Message.Intent, in.Message.Confidence, in.Message.OutOfScope, in.Message.Action = "x", conf, oos, action
		in.Replies = []crm.Message{reply("answer to " + id)}
		e.clock.Advance(time.Minute)
		return e.log(in)
	}
	m1 := logMsg("m1", 0.9, false, "answer")
	m2 := logMsg("m2", 0.3, false, "clarify")
	m3 := logMsg("m3", 0.5, true, "fallback")
	m4 := logMsg("m4", 0.95, false, "escalate")
	must(s.AddMessage(ctx, crm.Message{ConversationID: m1.ConversationID, Direction: crm.Note, Text: "not in the inbox"}))(t)
	since := must(s.Messages(ctx, m2.ConversationID))(t)[2].CreatedAt // m2's time

	M1, M2, M3, M4 := m1.MessageID, m2.MessageID, m3.MessageID, m4.MessageID
	for _, tt := range []struct {
		name string
		f    crm.MessageFilter
		want []int64
	}{
		{"all", crm.MessageFilter{}, []int64{M4, M3, M2, M1}},
		{"low confidence", crm.MessageFilter{MaxConfidence: 0.6}, []int64{M3, M2}},
		{"out of scope", crm.MessageFilter{OutOfScope: true}, []int64{M3}},
		{"actions", crm.MessageFilter{Actions: []string{"escalate", "answer"}}, []int64{M4, M1}},
		{"either", crm.MessageFilter{MaxConfidence: 0.4, Actions: []string{"escalate"}}, []int64{M4, M2}},
		{"since", crm.MessageFilter{Since: since}, []int64{M4, M3, M2}},
		{"since and condition", crm.MessageFilter{Since: since, MaxConfidence: 0.92}, []int64{M3, M2}},
		{"limit", crm.MessageFilter{Limit: 2}, []int64{M4, M3}},
		{"no match", crm.MessageFilter{Actions: []string{"smalltalk"}}, []int64{}},
	} {
		got := must(s.InboxMessages(ctx, tt.f))(t)
		equal(t, "InboxMessages "+tt.name, msgIDs(got), tt.want)
	}
	got := must(s.InboxMessages(ctx, crm.MessageFilter{OutOfScope: true}))(t)
	msgs := e.messages(m3.ConversationID)
	for _, m := range msgs {
		if m.ID == M3 && len(got) == 1 {
			equal(t, "inbox message", got[0], m)
		}
	}
	for _, f := range []crm.MessageFilter{{MaxConfidence: math.NaN()}, {Limit: -3}} {
		_, err := s.InboxMessages(ctx, f)
		wantErr(t, fmt.Sprintf("InboxMessages(%+v)", f), err, crm.ErrInvalid)
	}
}
