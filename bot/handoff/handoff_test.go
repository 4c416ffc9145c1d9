package handoff_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/parley-chat/parley/bot/handoff"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
)

// recorder is a Deliverer and an observer that writes down what it was
// told.
type recorder struct {
	mu        sync.Mutex
	delivered []crm.Message
	states    []crm.State
	events    []handoff.Kind
}

func (r *recorder) Deliver(_ context.Context, _ crm.Conversation, m crm.Message, _ crm.StaffUser) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delivered = append(r.delivered, m)
	return nil
}

func (r *recorder) StateChanged(_ context.Context, c crm.Conversation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states = append(r.states, c.State)
}

func (r *recorder) observe(_ context.Context, e handoff.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e.Kind)
}

type fixture struct {
	store *crmtest.Memory
	desk  *handoff.Desk
	rec   *recorder
	alice crm.StaffUser
	bob   crm.StaffUser
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	store := crmtest.NewMemory()
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	alice, err := store.CreateStaff(ctx, crm.StaffUser{Email: "alice@shop.example", Name: "Alice", Role: crm.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := store.CreateStaff(ctx, crm.StaffUser{Email: "bob@shop.example", Name: "Bob", Role: crm.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	desk := handoff.New(store, nil)
	desk.Route(crm.ChannelWeb, rec)
	desk.Observe(rec.observe)
	return fixture{store: store, desk: desk, rec: rec, alice: alice, bob: bob}
}

// conversation logs a customer message, escalated or not.
func (f fixture) conversation(t *testing.T, ch crm.Channel, visitor string, escalate bool) int64 {
	t.Helper()
	in := crm.Interaction{Channel: ch, Customer: crm.ExternalID{Kind: crm.IDWebVisitor, Value: visitor},
		Message: crm.Message{Direction: crm.FromCustomer, Text: "I want a person", ChannelMsgID: visitor + ":1"}}
	if escalate {
		in.Escalate = "customer asked for a person"
	}
	l, err := f.store.LogInteraction(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return l.ConversationID
}

func TestClaim(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		escalated bool
		first     func(f fixture, id int64) // what happened before the claim
		wantErr   error
		wantState crm.State
	}{
		{name: "escalated", escalated: true, wantState: crm.StateAssigned},
		{name: "bot's own", escalated: false, wantErr: handoff.ErrNotEscalated, wantState: crm.StateBot},
		{name: "taken from Bob", escalated: true, first: func(f fixture, id int64) { f.desk.Claim(ctx, id, f.bob, handoff.SourceConsole) }, wantState: crm.StateAssigned},
		{name: "resolved", escalated: true, first: func(f fixture, id int64) { f.desk.Resolve(ctx, id, f.bob, "done", handoff.SourceConsole) }, wantErr: handoff.ErrNotEscalated, wantState: crm.StateResolved},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			id := f.conversation(t, crm.ChannelWeb, "v_claim_"+tc.name, tc.escalated)
			if tc.first != nil {
				tc.first(f, id)
			}
			conv, err := f.desk.Claim(ctx, id, f.alice, handoff.SourceConsole)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Claim: %v, want %v", err, tc.wantErr)
			}
			stored, _ := f.store.Conversation(ctx, id)
			if stored.State != tc.wantState || conv.State != tc.wantState {
				t.Errorf("state = %s (returned %s), want %s", stored.State, conv.State, tc.wantState)
			}
			if tc.wantErr == nil && stored.AssigneeID != f.alice.ID {
				t.Errorf("assignee = %d, want Alice (%d)", stored.AssigneeID, f.alice.ID)
			}
		})
	}
}

func TestReplyAssignsDeliversAndAnnounces(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	id := f.conversation(t, crm.ChannelWeb, "v_reply_1", true)
	m, err := f.desk.Reply(ctx, id, f.alice, "  Hi, Alice here.  ", handoff.SourceConsole)
	if err != nil {
		t.Fatal(err)
	}
	if m.Direction != crm.FromAgent || m.AuthorID != f.alice.ID || m.Text != "Hi, Alice here." {
		t.Errorf("stored reply = %+v, want Alice's trimmed text from an agent", m)
	}
	conv, _ := f.store.Conversation(ctx, id)
	if conv.State != crm.StateAssigned || conv.AssigneeID != f.alice.ID {
		t.Errorf("after a reply: %s/%d, want assigned to Alice", conv.State, conv.AssigneeID)
	}
	if len(f.rec.delivered) != 1 || f.rec.delivered[0].ID != m.ID {
		t.Errorf("delivered %+v, want the reply once", f.rec.delivered)
	}
	if want := []handoff.Kind{handoff.Claimed, handoff.Replied}; !slices.Equal(f.rec.events, want) {
		t.Errorf("events %v, want %v", f.rec.events, want)
	}
	// A second reply by the owner does not claim again.
	if _, err := f.desk.Reply(ctx, id, f.alice, "Anything else?", handoff.SourceConsole); err != nil {
		t.Fatal(err)
	}
	if want := []handoff.Kind{handoff.Claimed, handoff.Replied, handoff.Replied}; !slices.Equal(f.rec.events, want) {
		t.Errorf("events %v, want %v", f.rec.events, want)
	}
}

func TestReplyOnceDedupes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	id := f.conversation(t, crm.ChannelWeb, "v_once_1", true)
	a, err := f.desk.ReplyOnce(ctx, id, f.alice, "On it.", handoff.SourceSlack, "slack:C1:1700000000.000100")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.desk.ReplyOnce(ctx, id, f.alice, "On it.", handoff.SourceSlack, "slack:C1:1700000000.000100")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID {
		t.Errorf("a redelivered reply got a new message %d (first %d)", b.ID, a.ID)
	}
	msgs, _ := f.store.Messages(ctx, id)
	n := 0
	for _, m := range msgs {
		if m.Direction == crm.FromAgent {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d agent messages stored, want 1", n)
	}
}

func TestBadReplies(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	web := f.conversation(t, crm.ChannelWeb, "v_bad_1", true)
	slackConv := f.conversation(t, crm.ChannelSlack, "v_bad_2", true) // no Slack deliverer routed
	for _, tc := range []struct {
		name string
		conv int64
		text string
		want error
	}{
		{"empty", web, "   ", crm.ErrInvalid},
		{"unknown conversation", 999, "hello", crm.ErrNotFound},
		{"channel without a deliverer", slackConv, "hello", handoff.ErrNoChannel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.desk.Reply(ctx, tc.conv, f.alice, tc.text, handoff.SourceConsole); !errors.Is(err, tc.want) {
				t.Errorf("Reply: %v, want %v", err, tc.want)
			}
		})
	}
	if len(f.rec.delivered) != 0 {
		t.Errorf("bad replies delivered %+v", f.rec.delivered)
	}
}

func TestNoteAndResolve(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	id := f.conversation(t, crm.ChannelWeb, "v_note_1", true)
	if _, err := f.desk.Note(ctx, id, f.alice, "VIP: be quick", handoff.SourceConsole); err != nil {
		t.Fatal(err)
	}
	if len(f.rec.delivered) != 0 {
		t.Errorf("a note was delivered to the customer: %+v", f.rec.delivered)
	}
	conv, err := f.desk.Resolve(ctx, id, f.alice, "refund issued", handoff.SourceConsole)
	if err != nil || conv.State != crm.StateResolved {
		t.Fatalf("Resolve: %+v, %v; want resolved", conv, err)
	}
	escs, _ := f.store.Escalations(ctx, id)
	if len(escs) != 1 || escs[0].Status != crm.EscalationResolved || escs[0].Resolution != "refund issued" {
		t.Errorf("escalation after resolving: %+v, want resolved with the resolution", escs)
	}
	// Resolving again changes nothing and says nothing.
	if _, err := f.desk.Resolve(ctx, id, f.alice, "again", handoff.SourceConsole); err != nil {
		t.Fatal(err)
	}
	if want := []handoff.Kind{handoff.Noted, handoff.Resolved}; !slices.Equal(f.rec.events, want) {
		t.Errorf("events %v, want %v", f.rec.events, want)
	}
	if want := []crm.State{crm.StateResolved}; !slices.Equal(f.rec.states, want) {
		t.Errorf("state changes told to the channel %v, want %v", f.rec.states, want)
	}
}
