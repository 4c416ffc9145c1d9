package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/nlp"
)

func msg(customer, text, id string) bot.Message {
	return bot.Message{Channel: crm.ChannelAPI, Customer: crm.ExternalID{Kind: crm.IDAPI, Value: customer}, Text: text, ChannelMsgID: id}
}

func TestHandleErrors(t *testing.T) {
	e, store := newEngine(t, "")
	ctx := context.Background()
	first, err := e.Handle(ctx, msg("alice", "hi", "a1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Handle(ctx, msg("bob", "hello", "b1")); err != nil {
		t.Fatal(err)
	}
	other := msg("bob", "where is my order", "b2")
	other.ConversationID = first.ConversationID // alice's
	missing := msg("alice", "where is my order", "a2")
	missing.ConversationID = 9999
	stranger := msg("carol", "hi", "c1")
	stranger.ConversationID = first.ConversationID
	for _, tc := range []struct {
		name string
		m    bot.Message
		want error
	}{
		{"empty", msg("alice", "", "a3"), bot.ErrBadMessage},
		{"whitespace", msg("alice", " \n\t ", "a4"), nlp.ErrEmpty},
		{"too long", msg("alice", strings.Repeat("x", nlp.DefaultMaxBytes+1), "a5"), nlp.ErrTooLong},
		{"no customer", msg("", "hi", "a6"), bot.ErrBadMessage},
		{"unknown conversation", missing, bot.ErrUnknownConversation},
		{"someone else's conversation", other, bot.ErrUnknownConversation},
		{"a new customer naming a conversation", stranger, bot.ErrUnknownConversation},
	} {
		if _, err := e.Handle(ctx, tc.m); !errors.Is(err, tc.want) {
			t.Errorf("%s: Handle error %v, want %v", tc.name, err, tc.want)
		}
	}
	// Nothing of the failed messages was stored.
	msgs, err := store.Messages(ctx, first.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 { // alice's "hi" and the reply
		t.Errorf("alice's conversation has %d messages, want 2", len(msgs))
	}
	if _, err := store.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDAPI, Value: "carol"}); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("a rejected message created customer carol: %v", err)
	}
}

// The engine records everything in the CRM: the message with what the
// models understood and the decision, and the reply.
func TestHandleRecords(t *testing.T) {
	e, store := newEngine(t, "")
	ctx := context.Background()
	var escalations atomic.Int32
	e.OnEscalate = func(ctx context.Context, id int64, reason string) { escalations.Add(1) }
	turn, err := e.Handle(ctx, msg("dana", "has order 20459871 shipped yet?", "d1"))
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := store.Messages(ctx, turn.ConversationID)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("messages %v, %v; want the message and the reply", msgs, err)
	}
	in, out := msgs[0], msgs[1]
	if in.Direction != crm.FromCustomer || in.Intent != "order_status" || in.Action != "answer" || in.ModelVersion != "builtin" || in.Sentiment == "" || in.ChannelMsgID != "d1" {
		t.Errorf("stored message %+v lacks the understanding", in)
	}
	if len(in.Entities) != 1 || in.Entities[0].Value != "20459871" {
		t.Errorf("stored entities %+v, want the order number", in.Entities)
	}
	if out.Direction != crm.FromBot || out.Text != turn.Replies[0].Text {
		t.Errorf("stored reply %+v, want %q", out, turn.Replies[0].Text)
	}
	c, _ := store.Conversation(ctx, turn.ConversationID)
	if c.Slots["order_id"] != "20459871" {
		t.Errorf("conversation slots %v lack the order id", c.Slots)
	}
	if _, err := e.Handle(ctx, msg("dana", "let me talk to a person", "d2")); err != nil {
		t.Fatal(err)
	}
	es, err := store.Escalations(ctx, turn.ConversationID)
	if err != nil || len(es) != 1 || es[0].Reason != "customer asked for a person" || es[0].Status != crm.EscalationOpen {
		t.Errorf("escalations %+v, %v; want one open, for the request", es, err)
	}
	if n := escalations.Load(); n != 1 {
		t.Errorf("OnEscalate called %d times, want 1", n)
	}
}

// Many customers at once, while the models are swapped: every message
// is answered and stored once (run with -race).
func TestHandleConcurrent(t *testing.T) {
	e, store := newEngine(t, "")
	nlu, _ := builtinParts(t)
	ctx := context.Background()
	texts := []string{"where is my order 12345678", "how much is shipping", "hi", "I want to return my shoes", "thanks"}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, text := range texts {
				if _, err := e.Handle(ctx, msg(fmt.Sprintf("c%d", c), text, fmt.Sprintf("c%d-%d", c, i))); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			if err := nlu.Swap(nlu.Current()); err != nil {
				errs <- err
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for c := range 8 {
		cust, err := store.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDAPI, Value: fmt.Sprintf("c%d", c)})
		if err != nil {
			t.Fatal(err)
		}
		convs, _ := store.Conversations(ctx, crm.ConversationFilter{CustomerID: cust.ID})
		if len(convs) != 1 {
			t.Fatalf("customer c%d has %d conversations, want 1", c, len(convs))
		}
		msgs, _ := store.Messages(ctx, convs[0].ID)
		var in int
		for _, m := range msgs {
			if m.Direction == crm.FromCustomer {
				in++
			}
		}
		if in != len(texts) {
			t.Errorf("customer c%d: %d messages stored, want %d", c, in, len(texts))
		}
	}
}
