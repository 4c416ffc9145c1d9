package crmtest

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
)

// Opener opens a new, empty store that takes its timestamps from now.
// The suite closes it (Close must be safe to call once).
type Opener func(t *testing.T, now func() time.Time) crm.Store

// T0 is the time every suite test's clock starts at.
var T0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Run runs the contract suite against the stores open returns. Each
// subtest gets a fresh store on its own Clock, starting at T0.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		run  func(*testing.T, *env)
	}{
		{"Customers", testCustomers},
		{"LogInteraction", testLogInteraction},
		{"ConversationLookup", testConversationLookup},
		{"Idempotency", testIdempotency},
		{"AddMessage", testAddMessage},
		{"Conversations", testConversations},
		{"SetState", testSetState},
		{"InteractionState", testInteractionState},
		{"InboxMessages", testInbox},
		{"Orders", testOrders},
		{"Staff", testStaff},
		{"Sessions", testSessions},
		{"Labels", testLabels},
		{"ModelVersions", testModels},
		{"Segments", testSegments},
		{"LeadScores", testLeadScores},
		{"Stats", testStats},
		{"OrdersBetween", testOrdersBetween},
		{"DeleteCustomer", testDeleteCustomer},
		{"Export", testExport},
		{"OutboxEnqueue", testOutboxEnqueue},
		{"OutboxDue", testOutboxDue},
		{"OutboxTransitions", testOutboxTransitions},
		{"OutboxConcurrent", testOutboxConcurrent},
		{"OutboxClaim", testOutboxClaim},
		{"OutboxErasure", testOutboxErasure},
		{"ConversationLinks", testConversationLinks},
		{"Retention", testRetention},
		{"RetentionEdges", testRetentionEdges},
		{"BadInput", testBadInput},
		{"NotFound", testNotFound},
		{"CanceledContext", testCanceled},
		{"Concurrent", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewClock(T0)
			s := open(t, clock.Now)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.run(t, &env{t: t, s: s, clock: clock, ctx: context.Background()})
		})
	}
}

// env is one subtest's store and clock, with helpers that fail the test
// on unexpected errors.
type env struct {
	t     *testing.T
	s     crm.Store
	clock *Clock
	ctx   context.Context
}

// must returns v, failing the test when err is not nil:
// must(s.Customer(ctx, id))(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// wantErr checks that err wraps target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want one wrapping %v", what, err, target)
	}
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// web builds a web chat interaction of a visitor's message.
func web(visitor, ref, msgID, text string) crm.Interaction {
	return crm.Interaction{
		Channel:         crm.ChannelWeb,
		Customer:        crm.ExternalID{Kind: crm.IDWebVisitor, Value: visitor},
		ConversationRef: ref,
		Message:         crm.Message{Direction: crm.FromCustomer, Text: text, ChannelMsgID: msgID},
	}
}

func reply(text string) crm.Message { return crm.Message{Direction: crm.FromBot, Text: text} }

func (e *env) log(in crm.Interaction) crm.Logged {
	e.t.Helper()
	l, err := e.s.LogInteraction(e.ctx, in)
	if err != nil {
		e.t.Fatalf("LogInteraction(%q): %v", in.Message.Text, err)
	}
	return l
}

func (e *env) staff(email string, role crm.Role) crm.StaffUser {
	e.t.Helper()
	return must(e.s.CreateStaff(e.ctx, crm.StaffUser{Email: email, Name: email, Role: role, PasswordHash: "hash:" + email}))(e.t)
}

func (e *env) customer(value string) crm.Customer {
	e.t.Helper()
	return must(e.s.FindOrCreateCustomer(e.ctx, crm.ExternalID{Kind: crm.IDAPI, Value: value}, value, ""))(e.t)
}

func (e *env) messages(convID int64) []crm.Message {
	e.t.Helper()
	return must(e.s.Messages(e.ctx, convID))(e.t)
}

func (e *env) conversation(id int64) crm.Conversation {
	e.t.Helper()
	return must(e.s.Conversation(e.ctx, id))(e.t)
}

func ids[T any](xs []T, id func(T) int64) []int64 {
	out := []int64{}
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func convIDs(cs []crm.Conversation) []int64 {
	return ids(cs, func(c crm.Conversation) int64 { return c.ID })
}

func msgIDs(ms []crm.Message) []int64 { return ids(ms, func(m crm.Message) int64 { return m.ID }) }

// snapshot renders everything the Store interface can list, to check
// that a failed call wrote nothing.
func (e *env) snapshot() string {
	e.t.Helper()
	ctx := e.ctx
	var snap struct {
		Customers     []crm.Customer
		Conversations []crm.Conversation
		Messages      map[int64][]crm.Message
		Escalations   map[int64][]crm.Escalation
		Orders        map[int64][]crm.Order
		Staff         []crm.StaffUser
		Labels        []crm.Label
		Models        []crm.ModelVersion
		Stats         []crm.CustomerStats
	}
	snap.Customers = must(e.s.Customers(ctx, 0, crm.MaxLimit))(e.t)
	snap.Conversations = must(e.s.Conversations(ctx, crm.ConversationFilter{Limit: crm.MaxLimit}))(e.t)
	snap.Messages = map[int64][]crm.Message{}
	snap.Escalations = map[int64][]crm.Escalation{}
	for _, c := range snap.Conversations {
		snap.Messages[c.ID] = must(e.s.Messages(ctx, c.ID))(e.t)
		snap.Escalations[c.ID] = must(e.s.Escalations(ctx, c.ID))(e.t)
	}
	snap.Orders = map[int64][]crm.Order{}
	for _, c := range snap.Customers {
		snap.Orders[c.ID] = must(e.s.Orders(ctx, c.ID))(e.t)
	}
	snap.Staff = must(e.s.ListStaff(ctx))(e.t)
	snap.Labels = must(e.s.Labels(ctx))(e.t)
	for _, kind := range []string{"intent", "sentiment"} {
		snap.Models = append(snap.Models, must(e.s.ModelVersions(ctx, kind))(e.t)...)
	}
	snap.Stats = must(e.s.Stats(ctx, T0.AddDate(100, 0, 0)))(e.t)
	b, err := json.Marshal(snap)
	if err != nil {
		e.t.Fatalf("snapshot: %v", err)
	}
	return string(b)
}

func (e *env) unchanged(what, before string) {
	e.t.Helper()
	if after := e.snapshot(); after != before {
		e.t.Errorf("%s wrote something:\nbefore %s\n after %s", what, before, after)
	}
}
