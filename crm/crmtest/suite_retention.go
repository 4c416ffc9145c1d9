package crmtest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
)

// counts is an Expired without the timings, which are the store's own.
func counts(x crm.Expired) crm.Expired {
	x.Batches, x.LongestBatch = 0, 0
	return x
}

// retentionWorld is what testRetention looks at: an old conversation
// full of personal data, a new one, and the records around them.
type retentionWorld struct {
	old, fresh crm.Logged
	note       crm.Message
	label      crm.Label // of the old customer message
	hand       crm.Label // written by hand
	keys       []string  // outbox items: old sent, old failed, old pending, new sent
}

const (
	oldText    = "mail me at jo@example.com or call +44 20 7946 0958"
	maskedText = "mail me at [email] or call [phone]"
	noteText   = "jo@example.com is a VIP"
	handText   = "write to sam@example.com"
)

func (e *env) retentionWorld() retentionWorld {
	e.t.Helper()
	ctx, s, t := e.ctx, e.s, e.t
	var w retentionWorld
	in := web("a", "r1", "a-1", oldText)
	in.Message.Entities = []crm.Entity{{Kind: "email", Text: "jo@example.com", Value: "jo@example.com", Start: 11, End: 25}}
	in.Message.Intent, in.Message.Confidence, in.Message.Sentiment, in.Message.SentimentScore = "contact", 0.9, "neutral", 0.1
	in.Message.Alternatives = []crm.Alternative{{Intent: "greet", Confidence: 0.05}}
	in.Message.ModelVersion, in.Message.Action = "v1", "answer"
	in.Replies = []crm.Message{reply("Sure, we will write to you.")}
	in.State, in.Slots = crm.StateBot, map[string]string{"email": "jo@example.com"}
	w.old = e.log(in)
	agent := e.staff("agent@example.com", crm.RoleAgent)
	w.note = must(s.AddMessage(ctx, crm.Message{ConversationID: w.old.ConversationID, Direction: crm.Note, AuthorID: agent.ID, Text: noteText}))(t)
	w.label = must(s.AddLabel(ctx, crm.Label{MessageID: w.old.MessageID, Intent: "contact", StaffID: agent.ID}))(t)
	w.hand = must(s.AddLabel(ctx, crm.Label{Text: handText, Intent: "contact"}))(t)
	sent, failed, pending := e.enqueue(item("old-sent", crm.ChannelWeb, w.old.ConversationID)),
		e.enqueue(item("old-failed", crm.ChannelSlack, w.old.ConversationID)),
		e.enqueue(item("old-pending", crm.ChannelSlack, 0))
	noErr(t, "OutboxSent", s.OutboxSent(ctx, sent.ID, "ts", time.Time{}))
	noErr(t, "OutboxFailed", s.OutboxFailed(ctx, failed.ID, "gone"))
	_ = pending

	e.clock.Advance(10 * 24 * time.Hour)
	in2 := web("b", "r1", "b-1", "hello again, card 4111 1111 1111 1111")
	in2.State, in2.Slots = crm.StateBot, map[string]string{"order": "48213"}
	w.fresh = e.log(in2)
	newSent := e.enqueue(item("new-sent", crm.ChannelWeb, w.fresh.ConversationID))
	noErr(t, "OutboxSent", s.OutboxSent(ctx, newSent.ID, "ts", time.Time{}))
	w.keys = []string{"old-sent", "old-failed", "old-pending", "new-sent"}
	e.clock.Advance(time.Hour)
	return w
}

func testRetention(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	w := e.retentionWorld()
	cut := T0.Add(5 * 24 * time.Hour)
	statsBefore := must(s.Stats(ctx, T0.AddDate(1, 0, 0)))(t)
	oldBefore := e.messages(w.old.ConversationID)
	freshBefore := e.messages(w.fresh.ConversationID)

	// A dry run counts and writes nothing.
	before, outboxBefore := e.snapshot(), e.outboxState(w.keys...)
	want := crm.Expired{Messages: 3, Labels: 1, Conversations: 1, Outbox: 2}
	dry := must(s.ExpireMessages(ctx, crm.Retention{Before: cut, Mode: crm.ExpireRedact, DryRun: true}))(t)
	equal(t, "dry run (redact)", counts(dry), want)
	e.unchanged("a dry run", before)
	if after := e.outboxState(w.keys...); after != outboxBefore {
		t.Errorf("a dry run changed the outbox:\nbefore %s\n after %s", outboxBefore, after)
	}

	// Redact: personal data masked, everything else kept.
	redactedAt := e.clock.Now()
	got := must(s.ExpireMessages(ctx, crm.Retention{Before: cut, Mode: crm.ExpireRedact}))(t)
	equal(t, "redact run", counts(got), want)
	if got.Batches < 1 {
		t.Errorf("redact run reports %d batches, want at least 1", got.Batches)
	}
	msgs := e.messages(w.old.ConversationID)
	if len(msgs) != 3 {
		t.Fatalf("old conversation has %d messages after retention, want 3 (rows are kept)", len(msgs))
	}
	wantMsgs := make([]crm.Message, len(oldBefore))
	copy(wantMsgs, oldBefore)
	for i := range wantMsgs {
		wantMsgs[i].Expired, wantMsgs[i].ExpiredAt = crm.ExpireRedact, redactedAt
	}
	wantMsgs[0].Text = maskedText
	wantMsgs[0].Entities = []crm.Entity{{Kind: "email", Text: crm.MaskEmail, Value: crm.MaskEmail, Start: 11, End: 25}}
	wantMsgs[2].Text = "[email] is a VIP"
	equal(t, "old messages after redaction", msgs, wantMsgs)
	equal(t, "new messages after redaction", e.messages(w.fresh.ConversationID), freshBefore)
	labels := must(s.Labels(ctx))(t)
	equal(t, "labels after redaction", []string{labels[0].Text, labels[1].Text}, []string{maskedText, handText})
	if c := e.conversation(w.old.ConversationID); c.Slots != nil {
		t.Errorf("idle conversation's slots after retention = %v, want none", c.Slots)
	}
	if c := e.conversation(w.fresh.ConversationID); c.Slots["order"] != "48213" {
		t.Errorf("active conversation's slots after retention = %v, want them kept", c.Slots)
	}
	for key, gone := range map[string]bool{"old-sent": true, "old-failed": true, "old-pending": false, "new-sent": false} {
		_, err := s.OutboxItemByKey(ctx, key)
		if gone && !errors.Is(err, crm.ErrNotFound) || !gone && err != nil {
			t.Errorf("outbox item %s after retention: err %v, want deleted %v", key, err, gone)
		}
	}
	equal(t, "stats after redaction", must(s.Stats(ctx, T0.AddDate(1, 0, 0)))(t), statsBefore)

	// Idempotent.
	again := must(s.ExpireMessages(ctx, crm.Retention{Before: cut, Mode: crm.ExpireRedact}))(t)
	equal(t, "second redact run", counts(again), crm.Expired{})

	// Delete goes further on what was redacted.
	e.clock.Advance(time.Hour)
	deletedAt := e.clock.Now()
	want = crm.Expired{Messages: 3, Labels: 1}
	equal(t, "dry run (delete)", counts(must(s.ExpireMessages(ctx, crm.Retention{Before: cut, Mode: crm.ExpireDelete, DryRun: true}))(t)), want)
	equal(t, "delete run", counts(must(s.ExpireMessages(ctx, crm.Retention{Before: cut, Mode: crm.ExpireDelete}))(t)), want)
	for i := range wantMsgs {
		wantMsgs[i].Text, wantMsgs[i].Expired, wantMsgs[i].ExpiredAt = "", crm.ExpireDelete, deletedAt
	}
	wantMsgs[0].Entities = []crm.Entity{{Kind: "email"}}
	equal(t, "old messages after deletion", e.messages(w.old.ConversationID), wantMsgs)
	equal(t, "new messages after deletion", e.messages(w.fresh.ConversationID), freshBefore)
	equal(t, "stats after deletion", must(s.Stats(ctx, T0.AddDate(1, 0, 0)))(t), statsBefore)
	for _, mode := range []crm.ExpireMode{crm.ExpireDelete, crm.ExpireRedact} {
		equal(t, "a run after deletion ("+string(mode)+")", counts(must(s.ExpireMessages(ctx, crm.Retention{Before: cut, Mode: mode}))(t)), crm.Expired{})
	}
	x := must(s.Export(ctx, w.old.CustomerID))(t)
	equal(t, "export after deletion", x.Conversations[0].Messages, wantMsgs)

	// Deleted words are out of the analysts' inbox and cannot be labelled
	// by their text; a label bringing its own text still can.
	inbox := msgIDs(must(s.InboxMessages(ctx, crm.MessageFilter{}))(t))
	equal(t, "inbox after deletion", inbox, []int64{w.fresh.MessageID})
	_, err := s.AddLabel(ctx, crm.Label{MessageID: w.old.MessageID, Intent: "contact"})
	wantErr(t, "AddLabel of a deleted message", err, crm.ErrTextDeleted)
	wantErr(t, "AddLabel of a deleted message", err, crm.ErrInvalid)
	l := must(s.AddLabel(ctx, crm.Label{MessageID: w.old.MessageID, Text: "contact me", Intent: "contact"}))(t)
	if l.Text != "contact me" {
		t.Errorf("label with its own text of a deleted message = %+v", l)
	}

	// New messages carry no expiry, whatever the caller says.
	in := web("c", "r1", "c-1", "hi")
	in.Message.Expired, in.Message.ExpiredAt = crm.ExpireDelete, T0
	c := e.log(in)
	if m := e.messages(c.ConversationID)[0]; m.Expired != "" || !m.ExpiredAt.IsZero() || m.Text != "hi" {
		t.Errorf("a new message given an expiry is stored as %+v, want it kept", m)
	}
}

// Retention of a message that is already at the size limit: masks can
// be longer than what they replace, and the message is deleted instead
// of being stored too long.
func testRetentionEdges(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	// "a@b.cd" (6 bytes) becomes "[email]" (7): a text near the limit
	// outgrows it.
	l := e.log(web("v", "r", "m1", strings.Repeat("a@b.cd ", crm.MaxTextBytes/7)))
	e.clock.Advance(time.Hour)
	got := must(s.ExpireMessages(ctx, crm.Retention{Before: e.clock.Now(), Mode: crm.ExpireRedact}))(t)
	if got.Messages != 1 {
		t.Errorf("expire a message at the size limit: %+v, want 1 message", got)
	}
	m := e.messages(l.ConversationID)[0]
	if m.Expired != crm.ExpireDelete || m.Text != "" {
		t.Errorf("a message that redaction would make too long: expired %q, %d bytes of text; want it deleted", m.Expired, len(m.Text))
	}

	// Bad requests write nothing.
	before := e.snapshot()
	for _, r := range []crm.Retention{
		{Before: e.clock.Now(), Mode: "shred"},
		{Before: e.clock.Now()},
		{Mode: crm.ExpireDelete},
		{Before: crm.MaxTime.Add(time.Hour), Mode: crm.ExpireDelete},
	} {
		_, err := s.ExpireMessages(ctx, r)
		wantErr(t, "ExpireMessages "+r.Before.String()+" "+string(r.Mode), err, crm.ErrInvalid)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err := s.ExpireMessages(canceled, crm.Retention{Before: e.clock.Now(), Mode: crm.ExpireDelete})
	wantErr(t, "ExpireMessages with a canceled context", err, context.Canceled)
	e.unchanged("bad retention requests", before)
}
