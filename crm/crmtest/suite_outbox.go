package crmtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/crm"
)

// item builds an outbox item to enqueue.
func item(key string, ch crm.Channel, convID int64) crm.OutboxItem {
	return crm.OutboxItem{Key: key, Channel: ch, ConversationID: convID, Kind: "reply",
		Payload: []byte(`{"text":"` + key + `"}`)}
}

// enqueue queues it, failing the test on an error or when it was there already.
func (e *env) enqueue(it crm.OutboxItem) crm.OutboxItem {
	e.t.Helper()
	got, created, err := e.s.EnqueueOutbox(e.ctx, it)
	if err != nil {
		e.t.Fatalf("EnqueueOutbox(%q): %v", it.Key, err)
	}
	if !created {
		e.t.Fatalf("EnqueueOutbox(%q): created false, want a new item", it.Key)
	}
	return got
}

func keys(items []crm.OutboxItem) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.Key)
	}
	return out
}

// outboxState is what the outbox holds about some keys: each item as
// stored (or the error looking it up) and the channels' depths, to check
// that a failed call changed nothing.
func (e *env) outboxState(keys ...string) string {
	e.t.Helper()
	var b strings.Builder
	for _, k := range keys {
		it, err := e.s.OutboxItemByKey(e.ctx, k)
		fmt.Fprintf(&b, "%s: %+v %v\n", k, it, err)
	}
	for _, ch := range []crm.Channel{crm.ChannelSlack, crm.ChannelWeb, crm.ChannelAPI} {
		fmt.Fprintf(&b, "depth %s: %d\n", ch, must(e.s.OutboxDepth(e.ctx, ch))(e.t))
	}
	return b.String()
}

func testOutboxEnqueue(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	l := e.log(web("v", "r", "m1", "hi"))
	payload := []byte(`{"channel":"C1","text":"hello"}`)
	in := crm.OutboxItem{Key: "reply:m1", Channel: crm.ChannelSlack, ConversationID: l.ConversationID, Kind: "reply",
		Payload: payload,
		// Fields the store owns: ignored.
		ID: 77, State: crm.OutboxSent, Attempts: 5, LastError: "x", Result: "ts", SentAt: T0}
	got, created, err := s.EnqueueOutbox(ctx, in)
	noErr(t, "EnqueueOutbox", err)
	want := crm.OutboxItem{ID: got.ID, Key: "reply:m1", Channel: crm.ChannelSlack, ConversationID: l.ConversationID,
		Kind: "reply", Payload: []byte(`{"channel":"C1","text":"hello"}`), State: crm.OutboxPending, NextAt: T0, CreatedAt: T0}
	if !created || got.ID <= 0 || got.ID == 77 {
		t.Errorf("EnqueueOutbox(%q) = id %d, created %v; want a new id, created", in.Key, got.ID, created)
	}
	equal(t, "enqueued item", got, want)
	payload[2] = 'X' // the caller reuses its buffer
	equal(t, "OutboxItemByKey", must(s.OutboxItemByKey(ctx, "reply:m1"))(t), want)

	// The same key again, whatever else it says, is the item queued first.
	e.clock.Advance(time.Minute)
	again, created, err := s.EnqueueOutbox(ctx, item("reply:m1", crm.ChannelWeb, 0))
	noErr(t, "EnqueueOutbox again", err)
	if created {
		t.Errorf("EnqueueOutbox of an existing key: created true, want false")
	}
	equal(t, "EnqueueOutbox of an existing key", again, want)
	// ... also once it is no longer pending.
	noErr(t, "OutboxSent", s.OutboxSent(ctx, want.ID, "ts-1", time.Time{}))
	want.State, want.Result, want.SentAt = crm.OutboxSent, "ts-1", e.clock.Now()
	again, created, err = s.EnqueueOutbox(ctx, item("reply:m1", crm.ChannelSlack, l.ConversationID))
	if err != nil || created {
		t.Errorf("EnqueueOutbox of a sent key = created %v, %v; want the existing item", created, err)
	}
	equal(t, "EnqueueOutbox of a sent key", again, want)

	// Times given are kept; results are copies.
	later := T0.Add(time.Hour)
	past := T0.AddDate(0, 0, -1)
	it := item("later", crm.ChannelSlack, 0)
	it.NextAt, it.CreatedAt = later.In(time.FixedZone("x", 3600)), past
	got = e.enqueue(it)
	if !got.NextAt.Equal(later) || got.NextAt.Location() != time.UTC || !got.CreatedAt.Equal(past) {
		t.Errorf("enqueued with NextAt %v, CreatedAt %v: got %v, %v; want them kept, in UTC", it.NextAt, past, got.NextAt, got.CreatedAt)
	}
	got.Payload[0] = '!'
	if p := must(s.OutboxItemByKey(ctx, "later"))(t).Payload; p[0] != '{' {
		t.Errorf("stored payload %q changed through a result", p)
	}
	// The largest payload.
	big := item("big", crm.ChannelAPI, 0)
	big.Payload = []byte(strings.Repeat("x", crm.MaxPayloadBytes))
	if got := e.enqueue(big); len(got.Payload) != crm.MaxPayloadBytes {
		t.Errorf("payload of %d bytes stored as %d", crm.MaxPayloadBytes, len(got.Payload))
	}

	// Bad input writes nothing.
	before := e.outboxState("reply:m1", "later", "big", "bad")
	for _, tt := range []struct {
		name   string
		edit   func(*crm.OutboxItem)
		target error
	}{
		{"empty key", func(it *crm.OutboxItem) { it.Key = "" }, crm.ErrInvalid},
		{"oversized key", func(it *crm.OutboxItem) { it.Key = strings.Repeat("k", crm.MaxShortBytes+1) }, crm.ErrInvalid},
		{"invalid key", func(it *crm.OutboxItem) { it.Key = "k\xff" }, crm.ErrInvalid},
		{"unknown channel", func(it *crm.OutboxItem) { it.Channel = "fax" }, crm.ErrInvalid},
		{"no channel", func(it *crm.OutboxItem) { it.Channel = "" }, crm.ErrInvalid},
		{"empty payload", func(it *crm.OutboxItem) { it.Payload = nil }, crm.ErrInvalid},
		{"oversized payload", func(it *crm.OutboxItem) { it.Payload = make([]byte, crm.MaxPayloadBytes+1) }, crm.ErrInvalid},
		{"oversized kind", func(it *crm.OutboxItem) { it.Kind = strings.Repeat("k", crm.MaxShortBytes+1) }, crm.ErrInvalid},
		{"NUL in kind", func(it *crm.OutboxItem) { it.Kind = "a\x00" }, crm.ErrInvalid},
		{"negative conversation", func(it *crm.OutboxItem) { it.ConversationID = -1 }, crm.ErrInvalid},
		{"next time out of range", func(it *crm.OutboxItem) { it.NextAt = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }, crm.ErrInvalid},
		{"creation time out of range", func(it *crm.OutboxItem) { it.CreatedAt = time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC) }, crm.ErrInvalid},
		{"unknown conversation", func(it *crm.OutboxItem) { it.ConversationID = 999999 }, crm.ErrNotFound},
	} {
		it := item("bad", crm.ChannelSlack, l.ConversationID)
		tt.edit(&it)
		got, created, err := s.EnqueueOutbox(ctx, it)
		wantErr(t, "EnqueueOutbox "+tt.name, err, tt.target)
		if created || got.ID != 0 {
			t.Errorf("EnqueueOutbox %s = %+v, created %v; want nothing", tt.name, got, created)
		}
	}
	ctxDone, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = s.EnqueueOutbox(ctxDone, item("bad", crm.ChannelSlack, 0))
	wantErr(t, "EnqueueOutbox with a canceled context", err, context.Canceled)
	if after := e.outboxState("reply:m1", "later", "big", "bad"); after != before {
		t.Errorf("failed EnqueueOutbox calls wrote something:\nbefore %s\n after %s", before, after)
	}
	_, err = s.OutboxItemByKey(ctx, "none")
	wantErr(t, "OutboxItemByKey unknown", err, crm.ErrNotFound)
	_, err = s.OutboxItemByKey(ctx, "")
	wantErr(t, "OutboxItemByKey empty", err, crm.ErrInvalid)
}

func testOutboxDue(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	a := e.log(web("a", "r", "a-1", "hi")).ConversationID
	b := e.log(web("b", "r", "b-1", "hi")).ConversationID
	slack := crm.ChannelSlack
	at := func(it crm.OutboxItem, d time.Duration) crm.OutboxItem { it.NextAt = T0.Add(d); return it }
	ids := map[string]int64{}
	for _, it := range []crm.OutboxItem{
		item("a1", slack, a),
		item("n1", slack, 0),
		item("a2", slack, a),
		at(item("b1", slack, b), time.Minute), // not due yet: holds back b2
		item("b2", slack, b),
		at(item("n2", slack, 0), 2*time.Minute),
		item("w1", crm.ChannelWeb, a),        // another channel's worker: independent of slack's
		at(item("n3", slack, 0), -time.Hour), // due longest, but the newest: id order rules
	} {
		ids[it.Key] = e.enqueue(it).ID
	}
	e.clock.Advance(time.Second)

	steps := []struct {
		name  string
		do    func() error // nil: only look
		now   time.Duration
		limit int
		want  []string
	}{
		{"at T0", nil, 0, 0, []string{"a1", "n1", "n3"}},
		{"b1 due", nil, time.Minute, 0, []string{"a1", "n1", "b1", "n3"}},
		{"all due", nil, 2 * time.Minute, 0, []string{"a1", "n1", "b1", "n2", "n3"}},
		{"limit", nil, 2 * time.Minute, 2, []string{"a1", "n1"}},
		{"a1 retried later: a2 waits behind it", func() error {
			return s.OutboxRetry(ctx, ids["a1"], T0.Add(5*time.Minute), "ratelimited")
		}, 2 * time.Minute, 0, []string{"n1", "b1", "n2", "n3"}},
		{"b1 sent: b2 goes", func() error {
			return s.OutboxSent(ctx, ids["b1"], "1700000000.000100", time.Time{})
		}, 2 * time.Minute, 0, []string{"n1", "b2", "n2", "n3"}},
		{"a1 due again, before a2", nil, 5 * time.Minute, 0, []string{"a1", "n1", "b2", "n2", "n3"}},
		{"a1 failed: a2 goes", func() error {
			return s.OutboxFailed(ctx, ids["a1"], "channel_not_found")
		}, 2 * time.Minute, 0, []string{"n1", "a2", "b2", "n2", "n3"}},
		{"items without a conversation are independent", func() error {
			return s.OutboxRetry(ctx, ids["n1"], T0.Add(time.Hour), "timeout")
		}, 2 * time.Minute, 0, []string{"a2", "b2", "n2", "n3"}},
	}
	for _, st := range steps {
		if st.do != nil {
			noErr(t, st.name, st.do())
		}
		got := must(s.DueOutbox(ctx, slack, T0.Add(st.now), st.limit))(t)
		equal(t, fmt.Sprintf("%s: DueOutbox(slack, T0+%v, %d)", st.name, st.now, st.limit), keys(got), st.want)
	}
	equal(t, "DueOutbox(webchat)", keys(must(s.DueOutbox(ctx, crm.ChannelWeb, T0, 0))(t)), []string{"w1"})
	equal(t, "DueOutbox(api)", keys(must(s.DueOutbox(ctx, crm.ChannelAPI, T0, 0))(t)), []string{})
	// A zero time is the store's clock: T0+1s.
	equal(t, "DueOutbox at the store's time", keys(must(s.DueOutbox(ctx, slack, time.Time{}, 0))(t)), []string{"a2", "b2", "n3"})
	// Items come back whole.
	due := must(s.DueOutbox(ctx, slack, T0.Add(2*time.Minute), 1))(t)
	equal(t, "due item", due, []crm.OutboxItem{must(s.OutboxItemByKey(ctx, "a2"))(t)})

	_, err := s.DueOutbox(ctx, "fax", T0, 0)
	wantErr(t, "DueOutbox unknown channel", err, crm.ErrInvalid)
	_, err = s.DueOutbox(ctx, slack, T0, -1)
	wantErr(t, "DueOutbox negative limit", err, crm.ErrInvalid)
}

func testOutboxTransitions(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	conv := e.log(web("v", "r", "m", "hi")).ConversationID
	x := e.enqueue(item("x", crm.ChannelSlack, conv))
	y := e.enqueue(item("y", crm.ChannelSlack, 0))
	z := e.enqueue(item("z", crm.ChannelWeb, 0))
	depth := func(what string, ch crm.Channel, want int) {
		t.Helper()
		if got := must(s.OutboxDepth(ctx, ch))(t); got != want {
			t.Errorf("%s: OutboxDepth(%s) = %d, want %d", what, ch, got, want)
		}
	}
	depth("after enqueueing", crm.ChannelSlack, 2)
	depth("after enqueueing", crm.ChannelWeb, 1)
	depth("after enqueueing", crm.ChannelAPI, 0)

	// Retries count attempts and move NextAt; the item stays pending.
	e.clock.Advance(time.Minute)
	noErr(t, "OutboxRetry", s.OutboxRetry(ctx, x.ID, T0.Add(10*time.Minute), "ratelimited"))
	noErr(t, "OutboxRetry at once", s.OutboxRetry(ctx, x.ID, time.Time{}, "timeout"))
	want := x
	want.Attempts, want.LastError, want.NextAt = 2, "timeout", T0.Add(time.Minute)
	equal(t, "after two retries", must(s.OutboxItemByKey(ctx, "x"))(t), want)
	depth("after retries", crm.ChannelSlack, 2)

	// A long, broken error text is kept in the form OutboxErrorText gives it.
	messy := strings.Repeat("é", crm.MaxShortBytes) + "\xff\x00"
	noErr(t, "OutboxRetry with a messy error", s.OutboxRetry(ctx, y.ID, T0.Add(time.Hour), messy))
	got := must(s.OutboxItemByKey(ctx, "y"))(t)
	if got.LastError != crm.OutboxErrorText(messy) || !utf8.ValidString(got.LastError) || len(got.LastError) > crm.MaxShortBytes {
		t.Errorf("last error of %d bytes stored as %d bytes (valid %v), want OutboxErrorText's %d",
			len(messy), len(got.LastError), utf8.ValidString(got.LastError), len(crm.OutboxErrorText(messy)))
	}

	// Sent.
	sentAt := T0.Add(2 * time.Minute)
	noErr(t, "OutboxSent", s.OutboxSent(ctx, x.ID, "C1:1700000000.000100", sentAt))
	want.State, want.Result, want.SentAt = crm.OutboxSent, "C1:1700000000.000100", sentAt
	equal(t, "sent item", must(s.OutboxItemByKey(ctx, "x"))(t), want)
	depth("after sending", crm.ChannelSlack, 1)
	// Failed.
	noErr(t, "OutboxFailed", s.OutboxFailed(ctx, z.ID, "invalid_auth"))
	wantZ := z
	wantZ.State, wantZ.Attempts, wantZ.LastError = crm.OutboxFailed, 1, "invalid_auth"
	equal(t, "failed item", must(s.OutboxItemByKey(ctx, "z"))(t), wantZ)
	depth("after failing", crm.ChannelWeb, 0)
	equal(t, "failed items are not due", keys(must(s.DueOutbox(ctx, crm.ChannelWeb, T0.AddDate(1, 0, 0), 0))(t)), []string{})

	// Items no longer pending, unknown ids, bad input: errors that change nothing.
	before := e.outboxState("x", "y", "z")
	for _, tt := range []struct {
		name   string
		err    error
		target error
	}{
		{"OutboxSent of a sent item", s.OutboxSent(ctx, x.ID, "again", time.Time{}), crm.ErrConflict},
		{"OutboxRetry of a sent item", s.OutboxRetry(ctx, x.ID, time.Time{}, "e"), crm.ErrConflict},
		{"OutboxFailed of a sent item", s.OutboxFailed(ctx, x.ID, "e"), crm.ErrConflict},
		{"OutboxSent of a failed item", s.OutboxSent(ctx, z.ID, "ts", time.Time{}), crm.ErrConflict},
		{"OutboxRetry of a failed item", s.OutboxRetry(ctx, z.ID, time.Time{}, "e"), crm.ErrConflict},
		{"OutboxFailed of a failed item", s.OutboxFailed(ctx, z.ID, "e"), crm.ErrConflict},
		{"OutboxSent of an unknown item", s.OutboxSent(ctx, 999999, "ts", time.Time{}), crm.ErrNotFound},
		{"OutboxRetry of an unknown item", s.OutboxRetry(ctx, 999999, time.Time{}, "e"), crm.ErrNotFound},
		{"OutboxFailed of an unknown item", s.OutboxFailed(ctx, 999999, "e"), crm.ErrNotFound},
		{"OutboxSent with an invalid result", s.OutboxSent(ctx, y.ID, "ts\xff", time.Time{}), crm.ErrInvalid},
		{"OutboxSent with an oversized result", s.OutboxSent(ctx, y.ID, strings.Repeat("t", crm.MaxShortBytes+1), time.Time{}), crm.ErrInvalid},
		{"OutboxSent at a time out of range", s.OutboxSent(ctx, y.ID, "ts", time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)), crm.ErrInvalid},
		{"OutboxRetry to a time out of range", s.OutboxRetry(ctx, y.ID, time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC), "e"), crm.ErrInvalid},
		{"OutboxDepth of an unknown channel", second(s.OutboxDepth(ctx, "fax")), crm.ErrInvalid},
	} {
		wantErr(t, tt.name, tt.err, tt.target)
	}
	if after := e.outboxState("x", "y", "z"); after != before {
		t.Errorf("failed outbox calls wrote something:\nbefore %s\n after %s", before, after)
	}
}

func testConversationLinks(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	a := e.log(web("a", "r", "a-1", "hi")).ConversationID
	b := e.log(web("b", "r", "b-1", "hi")).ConversationID
	const thread, staff = "slack_thread", "slack_staff_thread"
	byLink := func(what, kind, value string, want int64) {
		t.Helper()
		got, err := s.ConversationByLink(ctx, kind, value)
		if want == 0 {
			wantErr(t, what+": ConversationByLink("+kind+", "+value+")", err, crm.ErrNotFound)
			return
		}
		if err != nil || got != want {
			t.Errorf("%s: ConversationByLink(%s, %s) = %d, %v; want %d", what, kind, value, got, err, want)
		}
	}

	equal(t, "links of a new conversation", must(s.ConversationLinks(ctx, a))(t), map[string]string{})
	noErr(t, "SetConversationLink", s.SetConversationLink(ctx, a, thread, "C1:1.0001"))
	noErr(t, "SetConversationLink staff", s.SetConversationLink(ctx, a, staff, "C0STAFF:1.0002"))
	noErr(t, "SetConversationLink same value", s.SetConversationLink(ctx, a, thread, "C1:1.0001"))
	equal(t, "links", must(s.ConversationLinks(ctx, a))(t), map[string]string{thread: "C1:1.0001", staff: "C0STAFF:1.0002"})
	byLink("set", thread, "C1:1.0001", a)
	byLink("set", staff, "C0STAFF:1.0002", a)
	// The same value under another kind is another link.
	noErr(t, "SetConversationLink other kind", s.SetConversationLink(ctx, b, staff, "C1:1.0001"))
	byLink("other kind", staff, "C1:1.0001", b)

	// Re-setting replaces, and frees the old value.
	noErr(t, "SetConversationLink replace", s.SetConversationLink(ctx, a, staff, "C0STAFF:1.0003"))
	byLink("replaced", staff, "C0STAFF:1.0003", a)
	byLink("replaced", staff, "C0STAFF:1.0002", 0)
	noErr(t, "SetConversationLink of a freed value", s.SetConversationLink(ctx, b, thread, "C0STAFF:1.0002"))

	before := fmt.Sprint(must(s.ConversationLinks(ctx, a))(t), must(s.ConversationLinks(ctx, b))(t))
	for _, tt := range []struct {
		name   string
		err    error
		target error
	}{
		{"SetConversationLink value linked to another conversation", s.SetConversationLink(ctx, b, staff, "C0STAFF:1.0003"), crm.ErrConflict},
		{"SetConversationLink unknown conversation", s.SetConversationLink(ctx, 999999, thread, "C9:9"), crm.ErrNotFound},
		{"SetConversationLink empty kind", s.SetConversationLink(ctx, a, "", "v"), crm.ErrInvalid},
		{"SetConversationLink empty value", s.SetConversationLink(ctx, a, thread, ""), crm.ErrInvalid},
		{"SetConversationLink oversized value", s.SetConversationLink(ctx, a, thread, strings.Repeat("v", crm.MaxShortBytes+1)), crm.ErrInvalid},
		{"SetConversationLink invalid kind", s.SetConversationLink(ctx, a, "k\xff", "v"), crm.ErrInvalid},
		{"ConversationByLink empty value", second(s.ConversationByLink(ctx, thread, "")), crm.ErrInvalid},
		{"ConversationLinks unknown conversation", second(s.ConversationLinks(ctx, 999999)), crm.ErrNotFound},
	} {
		wantErr(t, tt.name, tt.err, tt.target)
	}
	if after := fmt.Sprint(must(s.ConversationLinks(ctx, a))(t), must(s.ConversationLinks(ctx, b))(t)); after != before {
		t.Errorf("failed link calls changed links: before %s, after %s", before, after)
	}
	byLink("unknown", thread, "C9:9", 0)
	byLink("conflict kept", staff, "C0STAFF:1.0003", a)
}

// Erasing a customer deletes their conversations' outbox items and
// links, and nothing of anyone else's.
func testOutboxErasure(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	a := e.log(web("a", "r", "a-1", "hi"))
	b := e.log(web("b", "r", "b-1", "hi"))
	e.enqueue(item("a-reply", crm.ChannelSlack, a.ConversationID))
	e.enqueue(item("a-summary", crm.ChannelSlack, a.ConversationID))
	bItem := e.enqueue(item("b-reply", crm.ChannelSlack, b.ConversationID))
	loose := e.enqueue(item("digest", crm.ChannelSlack, 0))
	noErr(t, "SetConversationLink a", s.SetConversationLink(ctx, a.ConversationID, "slack_thread", "C1:1"))
	noErr(t, "SetConversationLink b", s.SetConversationLink(ctx, b.ConversationID, "slack_thread", "C1:2"))

	noErr(t, "DeleteCustomer", s.DeleteCustomer(ctx, a.CustomerID))
	for _, k := range []string{"a-reply", "a-summary"} {
		_, err := s.OutboxItemByKey(ctx, k)
		wantErr(t, "after erasure: OutboxItemByKey "+k, err, crm.ErrNotFound)
	}
	_, err := s.ConversationByLink(ctx, "slack_thread", "C1:1")
	wantErr(t, "after erasure: ConversationByLink", err, crm.ErrNotFound)
	_, err = s.ConversationLinks(ctx, a.ConversationID)
	wantErr(t, "after erasure: ConversationLinks", err, crm.ErrNotFound)
	if got := must(s.OutboxDepth(ctx, crm.ChannelSlack))(t); got != 2 {
		t.Errorf("after erasure: OutboxDepth = %d, want 2", got)
	}
	equal(t, "after erasure: due", keys(must(s.DueOutbox(ctx, crm.ChannelSlack, T0, 0))(t)), []string{"b-reply", "digest"})
	equal(t, "after erasure: the other customer's item", must(s.OutboxItemByKey(ctx, "b-reply"))(t), bItem)
	equal(t, "after erasure: an item of no conversation", must(s.OutboxItemByKey(ctx, "digest"))(t), loose)
	equal(t, "after erasure: the other customer's links", must(s.ConversationLinks(ctx, b.ConversationID))(t), map[string]string{"slack_thread": "C1:2"})
	// The erased keys and values are free again.
	e.enqueue(item("a-reply", crm.ChannelSlack, b.ConversationID))
	noErr(t, "SetConversationLink of an erased value", s.SetConversationLink(ctx, b.ConversationID, "slack_staff_thread", "C1:1"))
}

// Racing enqueues of one key queue it once, and all get the same item.
func testOutboxConcurrent(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	conv := e.log(web("v", "r", "m", "hi")).ConversationID
	const racers, keysN = 8, 20
	type result struct {
		it      crm.OutboxItem
		created bool
	}
	results := make([][]result, racers)
	var wg sync.WaitGroup
	errs := make(chan error, racers*keysN)
	for g := range racers {
		wg.Go(func() {
			for k := range keysN {
				it, created, err := s.EnqueueOutbox(ctx, item(fmt.Sprintf("k%d", k), crm.ChannelSlack, conv))
				if err != nil {
					errs <- fmt.Errorf("racer %d key %d: %w", g, k, err)
					continue
				}
				results[g] = append(results[g], result{it, created})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for k := range keysN {
		created, id := 0, int64(0)
		for g := range racers {
			if k >= len(results[g]) {
				continue
			}
			r := results[g][k]
			if r.created {
				created++
			}
			if id != 0 && r.it.ID != id {
				t.Errorf("key k%d: racers got items %d and %d", k, id, r.it.ID)
			}
			id = r.it.ID
		}
		if created != 1 {
			t.Errorf("key k%d: %d of %d racing enqueues created it, want 1", k, created, racers)
		}
	}
	if got := must(s.OutboxDepth(ctx, crm.ChannelSlack))(t); got != keysN {
		t.Errorf("OutboxDepth = %d, want %d", got, keysN)
	}
	// One conversation: only its oldest item is due.
	equal(t, "due of one conversation", keys(must(s.DueOutbox(ctx, crm.ChannelSlack, T0, 0))(t)), []string{"k0"})
}

// testOutboxClaim: a due item is claimed by one worker; it is not due
// for anyone else until the claim expires; racing claims give it to one.
func testOutboxClaim(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	conv := e.log(web("v", "r", "m", "hi")).ConversationID
	now := e.clock.Now()
	it := e.enqueue(item("claim-1", crm.ChannelSlack, conv))
	until := now.Add(30 * time.Second)
	for _, tc := range []struct {
		name string
		id   int64
		at   time.Time
		want bool
	}{
		{"due", it.ID, now, true},
		{"claimed already", it.ID, now.Add(time.Second), false},
		{"claim expired", it.ID, until.Add(time.Second), true},
		{"unknown item", it.ID + 999, now, false},
	} {
		until = tc.at.Add(30 * time.Second)
		got, err := s.ClaimOutbox(ctx, tc.id, tc.at, until)
		if err != nil || got != tc.want {
			t.Errorf("%s: ClaimOutbox = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if due := must(s.DueOutbox(ctx, crm.ChannelSlack, now.Add(40*time.Second), 10))(t); len(due) != 0 {
		t.Errorf("a claimed item is due: %v", keys(due))
	}
	noErr(t, "OutboxSent", s.OutboxSent(ctx, it.ID, "ts", now))
	if got, err := s.ClaimOutbox(ctx, it.ID, now.Add(time.Hour), now.Add(2*time.Hour)); got || err != nil {
		t.Errorf("claiming a sent item: %v, %v; want false", got, err)
	}
	if _, err := s.ClaimOutbox(ctx, it.ID, now, time.Time{}); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("a claim without an end: %v, want ErrInvalid", err)
	}
	// Two servers race for each of 10 items: each goes to exactly one.
	var ids []int64
	for k := range 10 {
		ids = append(ids, e.enqueue(item(fmt.Sprintf("race-%d", k), crm.ChannelSlack, 0)).ID)
	}
	at := e.clock.Now()
	wins := make([]int, len(ids))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for i, id := range ids {
				ok, err := s.ClaimOutbox(ctx, id, at, at.Add(time.Minute))
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					wins[i]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for i, w := range wins {
		if w != 1 {
			t.Errorf("item %d was claimed %d times by two racing workers, want once", i, w)
		}
	}
}
