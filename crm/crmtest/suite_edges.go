package crmtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
)

func testBadInput(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	e.history("a")
	long := strings.Repeat("x", crm.MaxTextBytes+1)
	short := strings.Repeat("x", crm.MaxShortBytes+1)
	tests := []struct {
		name string
		edit func(*crm.Interaction)
	}{
		{"invalid UTF-8 text", func(in *crm.Interaction) { in.Message.Text = "caf\xe9" }},
		{"oversized text", func(in *crm.Interaction) { in.Message.Text = long }},
		{"NUL in text", func(in *crm.Interaction) { in.Message.Text = "a\x00b" }},
		{"unknown channel", func(in *crm.Interaction) { in.Channel = "fax" }},
		{"unknown state", func(in *crm.Interaction) { in.State = "asleep" }},
		{"message direction", func(in *crm.Interaction) { in.Message.Direction = crm.FromBot }},
		{"unknown direction", func(in *crm.Interaction) { in.Message.Direction = "up" }},
		{"reply direction", func(in *crm.Interaction) { in.Replies = []crm.Message{{Direction: crm.Note, Text: "x"}} }},
		{"invalid reply", func(in *crm.Interaction) { in.Replies = []crm.Message{reply("ok"), reply("\xff")} }},
		{"unknown id kind", func(in *crm.Interaction) { in.Customer.Kind = "fax" }},
		{"empty id", func(in *crm.Interaction) { in.Customer.Value = "" }},
		{"oversized name", func(in *crm.Interaction) { in.CustomerName = short }},
		{"oversized channel id", func(in *crm.Interaction) { in.Message.ChannelMsgID = short }},
		{"oversized quick reply", func(in *crm.Interaction) {
			in.Replies = []crm.Message{{Direction: crm.FromBot, QuickReplies: []string{short}}}
		}},
		{"invalid slot", func(in *crm.Interaction) { in.State, in.Slots = crm.StateBot, map[string]string{"k": "\xff"} }},
		{"escalation with state bot", func(in *crm.Interaction) { in.State, in.Escalate = crm.StateBot, "x" }},
		{"negative fallbacks", func(in *crm.Interaction) { in.State, in.Fallbacks = crm.StateBot, -1 }},
		{"invalid entity", func(in *crm.Interaction) { in.Message.Entities = []crm.Entity{{Kind: "email", Text: "\xff"}} }},
	}
	before := e.snapshot()
	for _, tt := range tests {
		in := web("new", "r", "bad-1", "hello")
		tt.edit(&in)
		_, err := s.LogInteraction(ctx, in)
		wantErr(t, "LogInteraction "+tt.name, err, crm.ErrInvalid)
	}
	_, err := s.FindOrCreateCustomer(ctx, crm.ExternalID{Kind: crm.IDAPI, Value: "x"}, short, "")
	wantErr(t, "FindOrCreateCustomer oversized name", err, crm.ErrInvalid)
	_, err = s.FindOrCreateCustomer(ctx, crm.ExternalID{Kind: crm.IDAPI, Value: "x\xff"}, "", "")
	wantErr(t, "FindOrCreateCustomer invalid id", err, crm.ErrInvalid)
	e.unchanged("bad input", before)
}

func testNotFound(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	const none = 999999
	l := e.log(web("v", "r", "m", "hi"))
	for _, tt := range []struct {
		what string
		err  error
	}{
		{"Customer", second(s.Customer(ctx, none))},
		{"CustomerByExternalID", second(s.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDAPI, Value: "none"}))},
		{"LinkExternalID", s.LinkExternalID(ctx, none, crm.ExternalID{Kind: crm.IDAPI, Value: "none"})},
		{"DeleteCustomer", s.DeleteCustomer(ctx, none)},
		{"Conversation", second(s.Conversation(ctx, none))},
		{"Messages", second(s.Messages(ctx, none))},
		{"Escalations", second(s.Escalations(ctx, none))},
		{"SetState", second(s.SetState(ctx, none, crm.StateBot, 0, ""))},
		{"AddMessage", second(s.AddMessage(ctx, crm.Message{ConversationID: none, Direction: crm.FromBot, Text: "x"}))},
		{"AddOrder", second(s.AddOrder(ctx, crm.Order{CustomerID: none, Kind: crm.OrderPurchase}))},
		{"Orders", second(s.Orders(ctx, none))},
		{"Staff", second(s.Staff(ctx, none))},
		{"StaffByEmail", second(s.StaffByEmail(ctx, "none@example.com"))},
		{"UpdateStaff", s.UpdateStaff(ctx, crm.StaffUser{ID: none, Email: "x@example.com", Role: crm.RoleAgent})},
		{"CreateSession", s.CreateSession(ctx, crm.Session{TokenHash: "t", StaffID: none, ExpiresAt: T0.Add(time.Hour)})},
		{"Session", second(s.Session(ctx, "none", T0))},
		{"DeleteSession", s.DeleteSession(ctx, "none")},
		{"AddLabel message", second(s.AddLabel(ctx, crm.Label{MessageID: none, Intent: "x"}))},
		{"AddLabel staff", second(s.AddLabel(ctx, crm.Label{MessageID: l.MessageID, Intent: "x", StaffID: none}))},
		{"ModelVersion", second(s.ModelVersion(ctx, none))},
		{"ActiveModel", second(s.ActiveModel(ctx, "intent"))},
		{"PromoteModel", s.PromoteModel(ctx, none)},
		{"SaveSegments", s.SaveSegments(ctx, []crm.SegmentAssignment{{CustomerID: none, Segment: "x"}})},
		{"SaveLeadScores", s.SaveLeadScores(ctx, []crm.LeadScore{{CustomerID: none, Score: 0.5}}, T0)},
		{"Export", second(s.Export(ctx, none))},
	} {
		wantErr(t, tt.what, tt.err, crm.ErrNotFound)
	}
	// Lists that match nothing are empty, not errors.
	if got := must(s.Conversations(ctx, crm.ConversationFilter{CustomerID: none}))(t); len(got) != 0 {
		t.Errorf("Conversations of nobody = %+v", got)
	}
}

func testCanceled(t *testing.T, e *env) {
	s := e.s
	e.log(web("v", "r", "m1", "hi"))
	before := e.snapshot()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.LogInteraction(ctx, web("v2", "r", "m2", "hi"))
	wantErr(t, "LogInteraction with a canceled context", err, context.Canceled)
	_, err = s.FindOrCreateCustomer(ctx, crm.ExternalID{Kind: crm.IDAPI, Value: "x"}, "", "")
	wantErr(t, "FindOrCreateCustomer with a canceled context", err, context.Canceled)
	_, err = s.Customers(ctx, 0, 0)
	wantErr(t, "Customers with a canceled context", err, context.Canceled)
	e.unchanged("calls with a canceled context", before)
}

func testConcurrent(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	const (
		writers   = 16
		perWriter = 25
		customers = 8
		dupers    = 8
	)
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter+dupers+writers)
	for g := range writers {
		wg.Go(func() {
			for i := range perWriter {
				in := crm.Interaction{
					Channel:         crm.ChannelAPI,
					Customer:        crm.ExternalID{Kind: crm.IDAPI, Value: fmt.Sprintf("c%d", g%customers)},
					ConversationRef: fmt.Sprintf("g%d", g),
					Message:         crm.Message{Direction: crm.FromCustomer, Text: fmt.Sprintf("message %d", i), ChannelMsgID: fmt.Sprintf("g%d-%d", g, i), Intent: "x"},
					Replies:         []crm.Message{reply("ok")},
				}
				if i == perWriter-1 {
					in.Escalate = "done"
				}
				if _, err := s.LogInteraction(ctx, in); err != nil {
					errs <- fmt.Errorf("writer %d message %d: %w", g, i, err)
				}
				if i%10 == 0 {
					if _, err := s.Conversations(ctx, crm.ConversationFilter{}); err != nil {
						errs <- fmt.Errorf("writer %d: Conversations: %w", g, err)
					}
				}
			}
		})
	}
	// Redeliveries racing each other: one of them logs, all agree.
	logged := make(chan crm.Logged, dupers)
	for range dupers {
		wg.Go(func() {
			l, err := s.LogInteraction(ctx, web("dup", "r", "same-id", "once"))
			if err != nil {
				errs <- fmt.Errorf("redelivery: %w", err)
				return
			}
			logged <- l
		})
	}
	wg.Wait()
	close(errs)
	close(logged)
	for err := range errs {
		t.Error(err)
	}
	fresh, msgID := 0, int64(-1)
	for l := range logged {
		if !l.Duplicate {
			fresh++
		}
		if msgID >= 0 && l.MessageID != msgID {
			t.Errorf("redeliveries disagree: message %d and %d", msgID, l.MessageID)
		}
		msgID = l.MessageID
	}
	if fresh != 1 {
		t.Errorf("%d of %d racing redeliveries logged the message, want 1", fresh, dupers)
	}

	custs := must(s.Customers(ctx, 0, 0))(t)
	if len(custs) != customers+1 {
		t.Errorf("%d customers, want %d", len(custs), customers+1)
	}
	convs := must(s.Conversations(ctx, crm.ConversationFilter{Channel: crm.ChannelAPI}))(t)
	if len(convs) != writers {
		t.Fatalf("%d conversations, want %d", len(convs), writers)
	}
	for _, c := range convs {
		msgs := e.messages(c.ID)
		if len(msgs) != 2*perWriter {
			t.Errorf("conversation %s: %d messages, want %d", c.Ref, len(msgs), 2*perWriter)
		}
		if esc := must(s.Escalations(ctx, c.ID))(t); len(esc) != 1 || c.State != crm.StateEscalated {
			t.Errorf("conversation %s: state %s, %d escalations, want escalated with 1", c.Ref, c.State, len(esc))
		}
	}
	if got := len(must(s.InboxMessages(ctx, crm.MessageFilter{Limit: crm.MaxLimit}))(t)); got != writers*perWriter+1 {
		t.Errorf("%d customer messages, want %d", got, writers*perWriter+1)
	}
}
