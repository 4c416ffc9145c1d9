package crmtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
)

func TestMemory(t *testing.T) {
	crmtest.Run(t, func(t *testing.T, now func() time.Time) crm.Store {
		return crmtest.NewMemory(crmtest.WithClock(now))
	})
}

func TestMemoryRedactor(t *testing.T) {
	ctx := context.Background()
	s := crmtest.NewMemory(crmtest.WithRedactor(crm.Redact))
	in := crm.Interaction{
		Channel:  crm.ChannelWeb,
		Customer: crm.ExternalID{Kind: crm.IDWebVisitor, Value: "v"},
		Message: crm.Message{Direction: crm.FromCustomer, Text: "mail jo@example.com",
			Entities: []crm.Entity{{Kind: "email", Text: "jo@example.com", Value: "jo@example.com", Start: 5, End: 19}}},
	}
	l, err := s.LogInteraction(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Messages(ctx, l.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if got := msgs[0]; got.Text != "mail [email]" || got.Entities[0].Text != "[email]" || got.Entities[0].Value != "[email]" {
		t.Errorf("stored message %+v, want the email masked in text and entity", got)
	}
	lab, err := s.AddLabel(ctx, crm.Label{Text: "call +44 20 7946 0958", Intent: "callback"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(lab.Text, "7946") {
		t.Errorf("stored label text %q, want the phone number masked", lab.Text)
	}
}

// The memory store returns copies: changing a result changes nothing.
func TestMemoryCopies(t *testing.T) {
	ctx := context.Background()
	s := crmtest.NewMemory()
	in := crm.Interaction{
		Channel:  crm.ChannelWeb,
		Customer: crm.ExternalID{Kind: crm.IDWebVisitor, Value: "v"},
		Message:  crm.Message{Direction: crm.FromCustomer, Text: "hi", QuickReplies: []string{"a"}},
		State:    crm.StateBot,
		Slots:    map[string]string{"k": "v"},
	}
	l, err := s.LogInteraction(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	in.Slots["k"] = "changed"
	c, _ := s.Conversation(ctx, l.ConversationID)
	c.Slots["k"] = "changed too"
	msgs, _ := s.Messages(ctx, l.ConversationID)
	msgs[0].QuickReplies[0] = "b"
	c, _ = s.Conversation(ctx, l.ConversationID)
	msgs, _ = s.Messages(ctx, l.ConversationID)
	if c.Slots["k"] != "v" || msgs[0].QuickReplies[0] != "a" {
		t.Errorf("stored records changed through results: slots %v, quick replies %v", c.Slots, msgs[0].QuickReplies)
	}
}

func TestMemoryChannelRedaction(t *testing.T) {
	crmtest.ChannelRedaction(t, crmtest.NewMemory(crmtest.WithRedactor(crm.Redact),
		crmtest.WithChannelRedactor(crm.ChannelWeb, crm.NewRedactor(crm.PIIEmail).Redact),
		crmtest.WithChannelRedactor(crm.ChannelSlack, nil)))
}
