package training_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/training"
	"github.com/parley-chat/parley/crm"
)

// The inbox reads the actions the bot writes: the names must agree.
func TestActionsMatchBot(t *testing.T) {
	for _, tc := range []struct{ ours, bots string }{
		{training.ActionClarify, string(bot.ActionClarify)},
		{training.ActionFallback, string(bot.ActionFallback)},
		{training.ActionEscalate, string(bot.ActionEscalate)},
		{"handoff", string(bot.ActionHandoff)},
	} {
		if tc.ours != tc.bots {
			t.Errorf("action %q here, %q in bot", tc.ours, tc.bots)
		}
	}
}

func TestReview(t *testing.T) {
	b := newBench(t)
	ctx := context.Background()
	min := time.Minute
	// Three wordings of one question (order numbers differ, case and
	// punctuation too), each low-confidence.
	w1, _ := b.log(t, msg{text: "where is my order 123", intent: "order_status", conf: 0.3, action: "search", at: 1 * min})
	w2, _ := b.log(t, msg{text: "Where is my order #456?", intent: "order_status", conf: 0.35, action: "search", at: 2 * min})
	w3, _ := b.log(t, msg{text: "where is my order 789", intent: "cancel_order", conf: 0.2, action: "fallback", at: 3 * min})
	// A negation must not join its opposite.
	c1, _ := b.log(t, msg{text: "cancel my order", intent: "cancel_order", conf: 0.6, action: "clarify", at: 4 * min})
	c2, _ := b.log(t, msg{text: "don't cancel my order", intent: "cancel_order", conf: 0.7, action: "fallback", at: 5 * min})
	// Out of scope.
	o1, _ := b.log(t, msg{text: "what's the weather like", intent: "opening_hours", conf: 0.4, oos: true, action: "fallback", at: 6 * min})
	// Answered confidently: not in the inbox.
	b.log(t, msg{text: "reset my password", intent: "reset_password", conf: 0.95, action: "answer", at: 7 * min})
	// Already labelled: not in the inbox.
	lab, _ := b.log(t, msg{text: "hiya hello", intent: "greeting", conf: 0.2, action: "fallback", at: 8 * min})
	if _, err := b.store.AddLabel(ctx, crm.Label{MessageID: lab, Intent: "greeting", StaffID: b.staff.ID}); err != nil {
		t.Fatal(err)
	}
	// An escalated conversation: its confident answer is reviewed, the
	// message a person handled is not.
	e1, conv := b.log(t, msg{text: "are you open on sunday", intent: "opening_hours", conf: 0.9, action: "answer", at: 9 * min})
	e2, _ := b.log(t, msg{text: "I want a person", intent: "greeting", conf: 0.8, action: "escalate", escalate: true, conv: conv, at: 10 * min})
	b.log(t, msg{text: "hello? anyone?", intent: "greeting", conf: 0.2, action: "handoff", conv: conv, at: 11 * min})
	// A resolved conversation that was never escalated: not reviewed.
	_, quiet := b.log(t, msg{text: "what time do you close", intent: "opening_hours", conf: 0.9, action: "answer", at: 12 * min})
	if _, err := b.store.SetState(ctx, quiet, crm.StateResolved, 0, "done"); err != nil {
		t.Fatal(err)
	}

	groups, err := b.wb.Review(ctx, training.ReviewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		text    string
		ids     []int64
		intent  string
		reasons []string
	}
	wants := []want{
		// Largest first; its representative is the newest of the most
		// frequent wording (all three wordings are one word set).
		{"where is my order 789", []int64{w3, w2, w1}, "cancel_order", []string{training.ReasonFallback, training.ReasonLowConfidence}},
		// Then newest first.
		{"I want a person", []int64{e2}, "greeting", []string{training.ReasonEscalate, training.ReasonEscalated}},
		{"are you open on sunday", []int64{e1}, "opening_hours", []string{training.ReasonEscalated}},
		{"what's the weather like", []int64{o1}, "opening_hours", []string{training.ReasonFallback, training.ReasonLowConfidence, training.ReasonOutOfScope}},
		{"don't cancel my order", []int64{c2}, "cancel_order", []string{training.ReasonFallback}},
		{"cancel my order", []int64{c1}, "cancel_order", []string{training.ReasonClarify}},
	}
	if len(groups) != len(wants) {
		for _, g := range groups {
			t.Logf("group %q %v %v", g.Text, g.MessageIDs, g.Reasons)
		}
		t.Fatalf("Review: %d groups, want %d", len(groups), len(wants))
	}
	for i, w := range wants {
		g := groups[i]
		if g.Text != w.text || !slices.Equal(g.MessageIDs, w.ids) || g.Count != len(w.ids) || g.Intent != w.intent || !slices.Equal(g.Reasons, w.reasons) {
			t.Errorf("group %d: got %q ids %v intent %s reasons %v, want %q ids %v intent %s reasons %v",
				i, g.Text, g.MessageIDs, g.Intent, g.Reasons, w.text, w.ids, w.intent, w.reasons)
		}
	}
	top := groups[0]
	if want := []training.IntentCount{{Intent: "order_status", Count: 2}, {Intent: "cancel_order", Count: 1}}; !slices.Equal(top.Intents, want) {
		t.Errorf("top group intents %v, want %v", top.Intents, want)
	}
	if !top.FirstSeen.Equal(t0.Add(min)) || !top.LastSeen.Equal(t0.Add(3*min)) {
		t.Errorf("top group seen %v..%v, want %v..%v", top.FirstSeen, top.LastSeen, t0.Add(min), t0.Add(3*min))
	}
	if len(top.Alternatives) == 0 {
		t.Errorf("top group has no alternatives")
	}

	// Labelling a group takes it out of the inbox.
	if _, err := b.wb.Label(ctx, training.LabelRequest{MessageIDs: top.MessageIDs, Intent: "order_status", StaffID: b.staff.ID}); err != nil {
		t.Fatal(err)
	}
	after, err := b.wb.Review(ctx, training.ReviewOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 2 || after[0].Text != "I want a person" {
		t.Errorf("after labelling, Review(limit 2) = %v, want the escalation first", texts(after))
	}

	// Since drops older messages; a negative confidence bound keeps only
	// the other conditions.
	since, err := b.wb.Review(ctx, training.ReviewOptions{Since: t0.Add(5 * min), MaxConfidence: -1})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := texts(since), []string{"I want a person", "are you open on sunday", "what's the weather like", "don't cancel my order"}; !slices.Equal(got, want) {
		t.Errorf("Review(since +5m) = %q, want %q", got, want)
	}
	if _, err := b.wb.Review(ctx, training.ReviewOptions{Limit: -1}); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("Review(limit -1) = %v, want ErrInvalid", err)
	}
}

func texts(gs []training.Group) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Text)
	}
	return out
}

func TestLabel(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		req     func(b *bench, id int64) training.LabelRequest
		wantErr error  // nil: stored
		errHas  string // in the error
		stored  int
		intent  string
	}{
		{"known intent", func(b *bench, id int64) training.LabelRequest {
			return training.LabelRequest{MessageIDs: []int64{id}, Intent: "order_status", StaffID: b.staff.ID}
		}, nil, "", 1, "order_status"},
		{"oos is known", func(b *bench, id int64) training.LabelRequest {
			return training.LabelRequest{MessageIDs: []int64{id, id}, Intent: "oos", StaffID: b.staff.ID}
		}, nil, "", 1, "oos"},
		{"utterance by hand", func(b *bench, id int64) training.LabelRequest {
			return training.LabelRequest{Text: "  where's my parcel  ", Intent: "order_status", StaffID: b.staff.ID}
		}, nil, "", 1, "order_status"},
		{"unknown intent refused", func(b *bench, id int64) training.LabelRequest {
			return training.LabelRequest{MessageIDs: []int64{id}, Intent: "order_stat", StaffID: b.staff.ID}
		}, training.ErrUnknownIntent, "closest known: order_status", 0, ""},
		{"unknown intent shares a word", func(b *bench, id int64) training.LabelRequest {
			return training.LabelRequest{MessageIDs: []int64{id}, Intent: "password_help", StaffID: b.staff.ID}
		}, training.ErrUnknownIntent, "reset_password", 0, ""},
		{"new intent accepted", func(b *bench, id int64) training.LabelRequest {
			return training.LabelRequest{MessageIDs: []int64{id}, Intent: "shipping_cost", StaffID: b.staff.ID, NewIntent: true}
		}, nil, "", 1, "shipping_cost"},
		{"new intent needs a clean name", func(b *bench, id int64) training.LabelRequest {
			return training.LabelRequest{MessageIDs: []int64{id}, Intent: "Shipping Cost", StaffID: b.staff.ID, NewIntent: true}
		}, crm.ErrInvalid, "lower-case", 0, ""},
		{"no staff", func(b *bench, id int64) training.LabelRequest {
			return training.LabelRequest{MessageIDs: []int64{id}, Intent: "order_status"}
		}, crm.ErrInvalid, "staff", 0, ""},
		{"unknown staff", func(b *bench, id int64) training.LabelRequest {
			return training.LabelRequest{MessageIDs: []int64{id}, Intent: "order_status", StaffID: 999}
		}, crm.ErrNotFound, "staff 999", 0, ""},
		{"nothing to label", func(b *bench, id int64) training.LabelRequest {
			return training.LabelRequest{Intent: "order_status", StaffID: b.staff.ID}
		}, crm.ErrInvalid, "no messages", 0, ""},
		{"bad message id", func(b *bench, id int64) training.LabelRequest {
			return training.LabelRequest{MessageIDs: []int64{-4}, Intent: "order_status", StaffID: b.staff.ID}
		}, crm.ErrInvalid, "message id -4", 0, ""},
		{"missing message", func(b *bench, id int64) training.LabelRequest {
			return training.LabelRequest{MessageIDs: []int64{id + 1000}, Intent: "order_status", StaffID: b.staff.ID}
		}, crm.ErrNotFound, "message", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t)
			id, _ := b.log(t, msg{text: "how much is delivery", intent: "order_status", conf: 0.2, action: "fallback"})
			req := tc.req(b, id)
			got, err := b.wb.Label(ctx, req)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("Label(%+v) error = %v, want %v containing %q", req, err, tc.wantErr, tc.errHas)
				}
			} else if err != nil {
				t.Fatalf("Label(%+v): %v", req, err)
			}
			stored := mustLabels(t, b.store)
			if len(stored) != tc.stored || len(got) != tc.stored {
				t.Fatalf("Label(%+v) stored %d labels (returned %d), want %d", req, len(stored), len(got), tc.stored)
			}
			for _, l := range stored {
				if l.Intent != tc.intent || l.StaffID != b.staff.ID || l.CreatedAt.IsZero() || l.Text == "" {
					t.Errorf("stored label %+v: want intent %s by staff %d, with a time and a text", l, tc.intent, b.staff.ID)
				}
			}
		})
	}
}

// A new intent, once labelled, is known: later labels need no flag, and
// nothing else becomes known by being refused.
func TestNewIntentBecomesKnown(t *testing.T) {
	b := newBench(t)
	ctx := context.Background()
	if _, err := b.wb.Label(ctx, training.LabelRequest{Text: "how much is shipping", Intent: "shipping_cost", StaffID: b.staff.ID}); !errors.Is(err, training.ErrUnknownIntent) {
		t.Fatalf("first label of a new intent without NewIntent: %v, want ErrUnknownIntent", err)
	}
	known, _ := b.wb.KnownIntents(ctx)
	if slices.Contains(known, "shipping_cost") {
		t.Fatalf("a refused label made its intent known: %v", known)
	}
	if _, err := b.wb.Label(ctx, training.LabelRequest{Text: "how much is shipping", Intent: "shipping_cost", StaffID: b.staff.ID, NewIntent: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.wb.Label(ctx, training.LabelRequest{Text: "shipping price", Intent: "shipping_cost", StaffID: b.staff.ID}); err != nil {
		t.Errorf("second label of the new intent: %v", err)
	}
	known, _ = b.wb.KnownIntents(ctx)
	want := []string{"cancel_order", "greeting", "oos", "opening_hours", "order_status", "reset_password", "shipping_cost"}
	if !slices.Equal(known, want) {
		t.Errorf("KnownIntents = %v, want %v", known, want)
	}
}
