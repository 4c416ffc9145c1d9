package crmtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
)

func testStats(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	at := func(d time.Duration) time.Time { return T0.Add(d) }
	msg := func(in crm.Interaction, when time.Time, intent string, score float64, replyAfter time.Duration) crm.Interaction {
		in.Message.CreatedAt, in.Message.Intent, in.Message.SentimentScore = when, intent, score
		if replyAfter > 0 {
			in.Replies = []crm.Message{{Direction: crm.FromBot, Text: "ok", CreatedAt: when.Add(replyAfter)}}
		}
		return in
	}
	// Customer A: three messages in one conversation, two answered, one
	// escalation; more after the cut-off.
	a1 := e.log(msg(web("a", "a1", "a-1", "where is it"), T0, "order_status", -0.5, 10*time.Second))
	a2 := web("a", "a1", "a-2", "still nothing")
	a2.Escalate = "angry"
	e.log(msg(a2, at(time.Hour), "order_status", 0.5, 0))
	e.log(msg(web("a", "a1", "a-3", "thanks"), at(time.Hour+30*time.Second), "thanks", 1, time.Minute))
	must(s.AddMessage(ctx, crm.Message{ConversationID: a1.ConversationID, Direction: crm.Note, Text: "note", CreatedAt: at(2 * time.Hour)}))(t)
	must(s.AddMessage(ctx, crm.Message{ConversationID: a1.ConversationID, Direction: crm.FromAgent, Text: "anything else?", CreatedAt: at(3 * time.Hour)}))(t)
	late := web("a", "a2", "a-4", "after the cut-off")
	late.Escalate = "again"
	e.log(msg(late, at(6*24*time.Hour), "order_status", -1, time.Second))
	for _, o := range []struct {
		when   time.Time
		amount float64
	}{{T0.AddDate(0, 0, -10), 10}, {at(2 * time.Hour), 20}, {T0.AddDate(0, 0, 10), 100}} {
		must(s.AddOrder(ctx, crm.Order{CustomerID: a1.CustomerID, Kind: crm.OrderPurchase, Amount: o.amount, CreatedAt: o.when}))(t)
	}

	// Customer B: twelve messages logged out of time order; every
	// second one is answered five seconds after the next.
	var bID int64
	for _, i := range []int{5, 0, 11, 3, 8, 1, 10, 6, 2, 9, 4, 7} {
		in := web("b", "b1", fmt.Sprintf("b-%d", i), "msg")
		in.Channel, in.Customer = crm.ChannelSlack, crm.ExternalID{Kind: crm.IDSlackUser, Value: "b"}
		intent := "greet"
		if i%2 == 1 {
			intent = "bye"
		}
		when := at(30*time.Minute + time.Duration(i)*time.Minute)
		var after time.Duration
		if i%2 == 1 {
			after = 5 * time.Second
		}
		bID = e.log(msg(in, when, intent, float64(i+1)/10, after)).CustomerID
	}
	// Customer D exists with no activity; C only after the cut-off.
	e.clock.Set(at(24 * time.Hour))
	d := e.customer("d")
	e.clock.Set(at(6 * 24 * time.Hour))
	e.customer("c")

	asOf := at(5 * 24 * time.Hour)
	// B was created by its first logged message (i=5).
	bCreated := at(35 * time.Minute)
	want := []crm.CustomerStats{
		{CustomerID: a1.CustomerID, CreatedAt: T0, Orders: 2, Monetary: 30, FirstOrder: T0.AddDate(0, 0, -10), LastOrder: at(2 * time.Hour),
			Conversations: 1, Escalations: 1, Messages: 3, SentimentSum: 1, LateSentimentSum: 1, LateMessages: 3,
			IntentCounts: map[string]int{"order_status": 2, "thanks": 1}, LastMessage: at(time.Hour + 30*time.Second),
			ReplySeconds: 10 + 90, Replies: 2},
		{CustomerID: bID, CreatedAt: bCreated, Conversations: 1, Messages: 12, SentimentSum: 7.8, LateSentimentSum: 7.5, LateMessages: 10,
			IntentCounts: map[string]int{"greet": 6, "bye": 6}, LastMessage: at(41 * time.Minute), ReplySeconds: 6 * 65, Replies: 6},
		{CustomerID: d.ID, CreatedAt: at(24 * time.Hour), IntentCounts: map[string]int{}},
	}
	// B's messages before its creation still count: the history is what
	// it is. Only the cut-off bounds what is read.
	got := must(s.Stats(ctx, asOf))(t)
	compareStats(t, fmt.Sprintf("Stats(%v)", asOf), got, want)
	if got := must(s.Stats(ctx, T0))(t); len(got) != 0 {
		t.Errorf("Stats(T0) = %+v, want none: nothing happened before it", got)
	}
	// Just after A's first message: one message, its reply ten seconds on.
	got = must(s.Stats(ctx, at(5*time.Second)))(t)
	compareStats(t, "Stats(T0+5s)", got, []crm.CustomerStats{{CustomerID: a1.CustomerID, CreatedAt: T0, Orders: 1, Monetary: 10,
		FirstOrder: T0.AddDate(0, 0, -10), LastOrder: T0.AddDate(0, 0, -10), Conversations: 1, Messages: 1, SentimentSum: -0.5,
		LateSentimentSum: -0.5, LateMessages: 1, IntentCounts: map[string]int{"order_status": 1}, LastMessage: T0}})
}

func compareStats(t *testing.T, what string, got, want []crm.CustomerStats) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d customers, want %d:\n got %+v\nwant %+v", what, len(got), len(want), got, want)
		return
	}
	for i := range want {
		g, w := got[i], want[i]
		floats := g.Monetary == w.Monetary || near(g.Monetary, w.Monetary)
		floats = floats && near(g.SentimentSum, w.SentimentSum) && near(g.LateSentimentSum, w.LateSentimentSum) && near(g.ReplySeconds, w.ReplySeconds)
		g.Monetary, g.SentimentSum, g.LateSentimentSum, g.ReplySeconds = w.Monetary, w.SentimentSum, w.LateSentimentSum, w.ReplySeconds
		if !floats || !equalStats(g, w) {
			t.Errorf("%s: customer %d:\n got %+v\nwant %+v", what, w.CustomerID, got[i], want[i])
		}
	}
}

func equalStats(a, b crm.CustomerStats) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func testOrdersBetween(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	c1, c2 := e.customer("c1"), e.customer("c2")
	e.customer("c3")
	for _, o := range []struct {
		c int64
		d time.Duration
	}{{c1.ID, 0}, {c1.ID, time.Hour}, {c1.ID, 2 * time.Hour}, {c2.ID, time.Hour}} {
		must(s.AddOrder(ctx, crm.Order{CustomerID: o.c, Kind: crm.OrderPurchase, Amount: 1, CreatedAt: T0.Add(o.d)}))(t)
	}
	for _, tt := range []struct {
		from, to time.Duration
		want     map[int64]int
	}{
		{0, 2 * time.Hour, map[int64]int{c1.ID: 2, c2.ID: 1}},
		{time.Hour, time.Hour, map[int64]int{}},
		{2 * time.Hour, 3 * time.Hour, map[int64]int{c1.ID: 1}},
		{-time.Hour, 0, map[int64]int{}},
	} {
		got := must(s.OrdersBetween(ctx, T0.Add(tt.from), T0.Add(tt.to)))(t)
		equal(t, fmt.Sprintf("OrdersBetween(T0%+v, T0%+v)", tt.from, tt.to), got, tt.want)
	}
}

// history gives a customer a bit of everything: two external ids, two
// conversations with replies and an escalation, an order, a label of
// one of their messages, a segment and a lead score.
func (e *env) history(visitor string) (crm.Logged, crm.Logged) {
	e.t.Helper()
	ctx, s, t := e.ctx, e.s, e.t
	in := web(visitor, "r1", visitor+"-1", "hello from "+visitor)
	in.Replies = []crm.Message{reply("hi " + visitor)}
	in.Escalate = "wants a person"
	l1 := e.log(in)
	e.clock.Advance(time.Minute)
	in2 := web(visitor, "r2", visitor+"-2", "order 48213 from "+visitor)
	in2.Channel = crm.ChannelAPI
	in2.State, in2.Slots = crm.StateBot, map[string]string{"order": "48213"}
	l2 := e.log(in2)
	noErr(t, "LinkExternalID", s.LinkExternalID(ctx, l1.CustomerID, crm.ExternalID{Kind: crm.IDEmail, Value: visitor + "@example.com"}))
	must(s.AddOrder(ctx, crm.Order{CustomerID: l1.CustomerID, Ref: "ref-" + visitor, Item: "kettle", Amount: 20, Currency: "EUR", Kind: crm.OrderPurchase}))(t)
	must(s.AddLabel(ctx, crm.Label{MessageID: l1.MessageID, Intent: "greet"}))(t)
	noErr(t, "SaveLeadScores", s.SaveLeadScores(ctx, []crm.LeadScore{{CustomerID: l1.CustomerID, Score: 0.5}}, time.Time{}))
	e.clock.Advance(time.Minute)
	return l1, l2
}

func testDeleteCustomer(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	a1, a2 := e.history("a")
	b1, _ := e.history("b")
	noErr(t, "SaveSegments", s.SaveSegments(ctx, []crm.SegmentAssignment{{CustomerID: a1.CustomerID, Segment: "x"}, {CustomerID: b1.CustomerID, Segment: "y"}}))
	hand := must(s.AddLabel(ctx, crm.Label{Text: "by hand", Intent: "oos"}))(t)
	agent := e.staff("sam@example.com", crm.RoleAgent)
	must(s.SetState(ctx, b1.ConversationID, crm.StateAssigned, agent.ID, ""))(t)
	noErr(t, "CreateSession", s.CreateSession(ctx, crm.Session{TokenHash: "tok", StaffID: agent.ID, ExpiresAt: T0.AddDate(0, 0, 1)}))
	bBefore := must(s.Export(ctx, b1.CustomerID))(t)
	bLabels := must(s.Labels(ctx))(t)[1:]

	noErr(t, "DeleteCustomer", s.DeleteCustomer(ctx, a1.CustomerID))
	for _, tt := range []struct {
		what string
		err  error
	}{
		{"Customer", second(s.Customer(ctx, a1.CustomerID))},
		{"CustomerByExternalID visitor", second(s.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDWebVisitor, Value: "a"}))},
		{"CustomerByExternalID email", second(s.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDEmail, Value: "a@example.com"}))},
		{"Conversation", second(s.Conversation(ctx, a1.ConversationID))},
		{"Conversation 2", second(s.Conversation(ctx, a2.ConversationID))},
		{"Messages", second(s.Messages(ctx, a1.ConversationID))},
		{"Escalations", second(s.Escalations(ctx, a1.ConversationID))},
		{"Orders", second(s.Orders(ctx, a1.CustomerID))},
		{"Export", second(s.Export(ctx, a1.CustomerID))},
		{"DeleteCustomer again", s.DeleteCustomer(ctx, a1.CustomerID)},
	} {
		wantErr(t, "after deletion: "+tt.what, tt.err, crm.ErrNotFound)
	}
	equal(t, "labels after deletion", must(s.Labels(ctx))(t), bLabels)
	if bLabels[len(bLabels)-1].ID != hand.ID {
		t.Errorf("hand-written label missing: %+v", bLabels)
	}
	equal(t, "the other customer's export", must(s.Export(ctx, b1.CustomerID))(t), bBefore)
	equal(t, "conversations left", convIDs(must(s.Conversations(ctx, crm.ConversationFilter{CustomerID: a1.CustomerID}))(t)), []int64{})
	for _, m := range must(s.InboxMessages(ctx, crm.MessageFilter{}))(t) {
		if strings.Contains(m.Text, "from a") {
			t.Errorf("inbox still holds the deleted customer's message %+v", m)
		}
	}
	if got := must(s.OrdersBetween(ctx, T0, T0.AddDate(1, 0, 0)))(t); got[a1.CustomerID] != 0 || got[b1.CustomerID] != 1 {
		t.Errorf("OrdersBetween after deletion = %v", got)
	}
	for _, st := range must(s.Stats(ctx, T0.AddDate(1, 0, 0)))(t) {
		if st.CustomerID == a1.CustomerID {
			t.Errorf("Stats still has the deleted customer")
		}
	}
	if _, err := s.Session(ctx, "tok", T0); err != nil {
		t.Errorf("staff session after deleting a customer: %v", err)
	}
	// What identified the customer is free again, under a new id.
	again := e.log(web("a", "r1", "a-1", "hello again"))
	if again.Duplicate || again.CustomerID == a1.CustomerID {
		t.Errorf("logging the deleted customer's message again = %+v, want a new customer and message", again)
	}
	must(s.AddOrder(ctx, crm.Order{CustomerID: again.CustomerID, Ref: "ref-a", Kind: crm.OrderPurchase}))(t)
	wantErr(t, "DeleteCustomer unknown", s.DeleteCustomer(ctx, 999999), crm.ErrNotFound)
}

func testExport(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	a1, a2 := e.history("a")
	b1, _ := e.history("b")
	noErr(t, "SaveSegments", s.SaveSegments(ctx, []crm.SegmentAssignment{{CustomerID: a1.CustomerID, Segment: "loyal", Profile: "p", X: 1, Y: 2}}))
	must(s.AddLabel(ctx, crm.Label{MessageID: b1.MessageID, Intent: "other"}))(t)

	got := must(s.Export(ctx, a1.CustomerID))(t)
	want := crm.CustomerExport{
		Customer: must(s.Customer(ctx, a1.CustomerID))(t),
		Orders:   must(s.Orders(ctx, a1.CustomerID))(t),
		Segment:  &crm.SegmentAssignment{CustomerID: a1.CustomerID, Segment: "loyal", Profile: "p", X: 1, Y: 2},
	}
	for _, id := range []int64{a1.ConversationID, a2.ConversationID} {
		want.Conversations = append(want.Conversations, crm.ConversationExport{
			Conversation: e.conversation(id),
			Messages:     e.messages(id),
			Escalations:  must(s.Escalations(ctx, id))(t),
		})
	}
	for _, l := range must(s.Labels(ctx))(t) {
		if l.MessageID == a1.MessageID {
			want.Labels = append(want.Labels, l)
		}
	}
	equal(t, "Export", got, want)
	if len(want.Labels) != 1 || len(want.Orders) != 1 || len(want.Customer.ExternalIDs) != 2 || len(want.Conversations[0].Escalations) != 1 {
		t.Errorf("export is missing records: %+v", want)
	}
	if _, err := json.Marshal(got); err != nil {
		t.Errorf("marshal export: %v", err)
	}
	// A customer with nothing else.
	c := e.customer("quiet")
	got = must(s.Export(ctx, c.ID))(t)
	if got.Customer.ID != c.ID || len(got.Conversations)+len(got.Orders)+len(got.Labels) != 0 || got.Segment != nil {
		t.Errorf("export of a quiet customer = %+v", got)
	}
	_, err := s.Export(ctx, 999999)
	wantErr(t, "Export unknown", err, crm.ErrNotFound)
}
