package crmtest

import (
	"context"
	"testing"

	"github.com/parley-chat/parley/crm"
)

// ChannelRedaction checks per-channel redaction on a new, empty store
// configured like `parley serve --redact all --redact-web email
// --redact-slack none`: crm.Redact by default (so for the API channel),
// crm.NewRedactor(crm.PIIEmail).Redact for web chat, nothing for Slack.
// Both stores' tests run it with their own options.
func ChannelRedaction(t *testing.T, s crm.Store) {
	t.Helper()
	ctx := context.Background()
	const text = "mail jo@example.com or call +44 20 7946 0958"
	for _, tt := range []struct {
		ch             crm.Channel
		kind           crm.IDKind
		want, wantNote string
	}{
		{crm.ChannelWeb, crm.IDWebVisitor, "mail [email] or call +44 20 7946 0958", "note: [email]"},
		{crm.ChannelSlack, crm.IDSlackUser, text, "note: jo@example.com"},
		{crm.ChannelAPI, crm.IDAPI, "mail [email] or call [phone]", "note: [email]"},
	} {
		in := crm.Interaction{
			Channel:  tt.ch,
			Customer: crm.ExternalID{Kind: tt.kind, Value: "c-" + string(tt.ch)},
			Message: crm.Message{Direction: crm.FromCustomer, Text: text, ChannelMsgID: "m-" + string(tt.ch),
				Entities: []crm.Entity{{Kind: "email", Text: "jo@example.com", Value: "jo@example.com", Start: 5, End: 19}}},
			Replies: []crm.Message{{Direction: crm.FromBot, Text: "we will write to jo@example.com"}},
		}
		l, err := s.LogInteraction(ctx, in)
		if err != nil {
			t.Fatalf("LogInteraction on %s: %v", tt.ch, err)
		}
		if _, err := s.AddMessage(ctx, crm.Message{ConversationID: l.ConversationID, Direction: crm.Note, Text: "note: jo@example.com"}); err != nil {
			t.Fatalf("AddMessage on %s: %v", tt.ch, err)
		}
		msgs, err := s.Messages(ctx, l.ConversationID)
		if err != nil || len(msgs) != 3 {
			t.Fatalf("Messages on %s: %d, %v", tt.ch, len(msgs), err)
		}
		wantEntity := "jo@example.com"
		if tt.ch != crm.ChannelSlack {
			wantEntity = crm.MaskEmail
		}
		wantReply := "we will write to " + wantEntity
		if got := msgs[0].Text; got != tt.want {
			t.Errorf("%s message %q stored as %q, want %q", tt.ch, text, got, tt.want)
		}
		if got := msgs[0].Entities[0]; got.Text != wantEntity || got.Value != wantEntity {
			t.Errorf("%s entity stored as %+v, want text and value %q", tt.ch, got, wantEntity)
		}
		if got := msgs[1].Text; got != wantReply || l.Replies[0].Text != wantReply {
			t.Errorf("%s reply stored as %q (logged %q), want %q", tt.ch, got, l.Replies[0].Text, wantReply)
		}
		if got := msgs[2].Text; got != tt.wantNote {
			t.Errorf("%s note stored as %q, want %q", tt.ch, got, tt.wantNote)
		}
		// A label of the message takes its text as stored.
		lab, err := s.AddLabel(ctx, crm.Label{MessageID: l.MessageID, Intent: "contact"})
		if err != nil || lab.Text != tt.want {
			t.Errorf("label of the %s message = %+v, %v; want text %q", tt.ch, lab, err, tt.want)
		}
	}
	// Text written by hand gets the default.
	lab, err := s.AddLabel(ctx, crm.Label{Text: "call +44 20 7946 0958", Intent: "contact"})
	if err != nil || lab.Text != "call [phone]" {
		t.Errorf("hand-written label = %+v, %v; want the phone number masked", lab, err)
	}
}
