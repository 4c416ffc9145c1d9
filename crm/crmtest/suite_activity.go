package crmtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
)

// ActivityStore is a crm.Store with the analytics capability.
type ActivityStore interface {
	crm.Store
	crm.ActivityStore
}

// ActivityOpener opens a new, empty store with the analytics capability
// that takes its timestamps from now. The suite closes it.
type ActivityOpener func(t *testing.T, now func() time.Time) ActivityStore

// RunActivity runs the crm.ActivityStore contract suite against the
// stores open returns: every implementation must give exactly these
// answers on the same records. Each subtest gets a fresh store on its
// own Clock starting at T0.
func RunActivity(t *testing.T, open ActivityOpener) {
	tests := []struct {
		name string
		run  func(*testing.T, *activityEnv)
	}{
		{"Activity", testActivity},
		{"IntentsByDay", testIntentsByDay},
		{"SegmentConversion", testSegmentConversion},
		{"SegmentMap", testSegmentMap},
		{"Empty", testActivityEmpty},
		{"BadInput", testActivityBadInput},
		{"CanceledContext", testActivityCanceled},
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
			tt.run(t, &activityEnv{env: env{t: t, s: s, clock: clock, ctx: context.Background()}, a: s})
		})
	}
}

type activityEnv struct {
	env
	a crm.ActivityStore
}

// The suite's days: D0 is T0's, Dm1 the day before.
var (
	dm1 = crm.Day(T0).AddDate(0, 0, -1)
	d0  = crm.Day(T0)
	d1  = d0.AddDate(0, 0, 1)
	d2  = d0.AddDate(0, 0, 2)
	d3  = d0.AddDate(0, 0, 3)
)

// activityFixture is the records every subtest but Empty starts from:
// conversations on three channels over three days, contained, escalated,
// resolved by a person, still open and idle, with messages on both
// sides of midnight. The comments give what each counts as.
type activityFixture struct {
	customers map[string]int64 // by visitor name
}

func (e *activityEnv) fixture() activityFixture {
	t, ctx, s := e.t, e.ctx, e.s
	f := activityFixture{customers: map[string]int64{}}
	agent := e.staff("agent@example.com", crm.RoleAgent)
	type turn struct {
		at                time.Duration // after the day
		intent, sentiment string
		score             float64
		action, escalate  string
	}
	say := func(ch crm.Channel, who string, day time.Time, tr turn) crm.Logged {
		t.Helper()
		ref := crm.ExternalID{Kind: crm.IDWebVisitor, Value: who}
		switch ch {
		case crm.ChannelSlack:
			ref.Kind = crm.IDSlackUser
		case crm.ChannelAPI:
			ref.Kind = crm.IDAPI
		}
		at := day.Add(tr.at)
		in := crm.Interaction{
			Channel: ch, Customer: ref, ConversationRef: who + "-conv",
			Message: crm.Message{Direction: crm.FromCustomer, Text: who + " says something", Intent: tr.intent,
				Sentiment: tr.sentiment, SentimentScore: tr.score, Action: tr.action, CreatedAt: at},
			Replies:  []crm.Message{{Direction: crm.FromBot, Text: "a reply", CreatedAt: at.Add(time.Second)}},
			Escalate: tr.escalate,
		}
		if tr.escalate != "" {
			in.State = crm.StateEscalated
		}
		l := e.log(in)
		f.customers[who] = l.CustomerID
		return l
	}
	setState := func(conv int64, at time.Time, st crm.State, assignee int64, resolution string) {
		t.Helper()
		e.clock.Set(at)
		noErr(t, fmt.Sprintf("SetState(%d, %s)", conv, st), func() error {
			_, err := s.SetState(ctx, conv, st, assignee, resolution)
			return err
		}())
	}
	h := time.Hour

	// z (web): started the day before (a conversation of Dm1), went on
	// at 08:00 on D0 (a message of D0); idle since: contained.
	say(crm.ChannelWeb, "z", dm1, turn{at: 18 * h, intent: "greeting", sentiment: "positive", score: 0.3, action: "smalltalk"})
	say(crm.ChannelWeb, "z", d0, turn{at: 8 * h, intent: "order_status", sentiment: "neutral", score: 0, action: "answer"})
	// a (web, D0): answered, thanked, left: contained.
	say(crm.ChannelWeb, "a", d0, turn{at: 9 * h, intent: "order_status", sentiment: "positive", score: 0.6, action: "answer"})
	say(crm.ChannelWeb, "a", d0, turn{at: 9*h + 5*time.Minute, intent: "thanks", sentiment: "positive", score: 0.8, action: "smalltalk"})
	// b (web, D0): a fallback, then asks for a person; assigned, an
	// agent replies, resolved: escalated, resolved by a person.
	say(crm.ChannelWeb, "b", d0, turn{at: 10 * h, sentiment: "negative", score: -0.4, action: crm.ActionFallback})
	lb := say(crm.ChannelWeb, "b", d0, turn{at: 10*h + time.Minute, intent: "talk_to_human", sentiment: "negative", score: -0.6,
		action: "escalate", escalate: "customer asked for a person"})
	setState(lb.ConversationID, d0.Add(10*h+5*time.Minute), crm.StateAssigned, agent.ID, "")
	must(s.AddMessage(ctx, crm.Message{ConversationID: lb.ConversationID, Direction: crm.FromAgent, AuthorID: agent.ID,
		Text: "hello, I am here", CreatedAt: d0.Add(10*h + 6*time.Minute)}))(t)
	setState(lb.ConversationID, d0.Add(10*h+30*time.Minute), crm.StateResolved, 0, "sorted")
	// e (slack, D0): escalated on a negative message, still waiting.
	say(crm.ChannelSlack, "e", d0, turn{at: 12 * h, intent: "refund_status", sentiment: "negative", score: -0.9,
		action: "escalate", escalate: "negative sentiment"})
	// c (web): the last nanosecond of D0, no sentiment; a note (no
	// person's reply) later. Ended when judged after D0 23:59:59 + IdleAfter.
	lc := say(crm.ChannelWeb, "c", d0, turn{at: 24*h - 1, intent: "order_status", action: "answer"})
	must(s.AddMessage(ctx, crm.Message{ConversationID: lc.ConversationID, Direction: crm.Note, AuthorID: agent.ID,
		Text: "internal", CreatedAt: d0.Add(24*h - 1)}))(t)
	// d (web): the first nanosecond of D1, a fallback; idle since: contained.
	say(crm.ChannelWeb, "d", d1, turn{at: 0, intent: "order_status", sentiment: "neutral", score: 0.1, action: crm.ActionFallback})
	// i (api, D1): answered, then resolved by staff without an
	// escalation: contained.
	li := say(crm.ChannelAPI, "i", d1, turn{at: 6 * h, intent: "order_status", action: "answer"})
	setState(li.ConversationID, d1.Add(6*h+10*time.Minute), crm.StateResolved, 0, "")
	// h (web, D1): an agent replied without an escalation: a person
	// resolved it once it went quiet.
	lh := say(crm.ChannelWeb, "h", d1, turn{at: 7 * h, intent: "delivery_time", sentiment: "neutral", score: 0, action: "answer"})
	must(s.AddMessage(ctx, crm.Message{ConversationID: lh.ConversationID, Direction: crm.FromAgent, AuthorID: agent.ID,
		Text: "it ships tomorrow", CreatedAt: d1.Add(7*h + 10*time.Minute)}))(t)
	// f (slack, D1): active 10 minutes before the clock: still open.
	say(crm.ChannelSlack, "f", d1, turn{at: 8*h + 50*time.Minute, intent: "refund_status", sentiment: "neutral", score: 0.2, action: "answer"})

	// Segments and orders.
	for _, o := range []struct {
		who string
		n   int
	}{{"a", 1}, {"c", 1}, {"z", 2}, {"d", 1}} {
		for i := range o.n {
			must(s.AddOrder(ctx, crm.Order{CustomerID: f.customers[o.who], Kind: crm.OrderPurchase, Amount: 10,
				Ref: fmt.Sprintf("ord-%s-%d", o.who, i), CreatedAt: d0}))(t)
		}
	}
	noErr(t, "SaveSegments", s.SaveSegments(ctx, []crm.SegmentAssignment{
		{CustomerID: f.customers["a"], Segment: "S1", Profile: "loyal", X: 1, Y: 2},
		{CustomerID: f.customers["b"], Segment: "S1", Profile: "loyal", X: 1.5, Y: -2},
		{CustomerID: f.customers["c"], Segment: "S2", Profile: "<script>alert(1)</script>", X: -3, Y: 0.25},
		{CustomerID: f.customers["e"], Segment: "S2", Profile: "<script>alert(1)</script>", X: -3.5, Y: 0},
		{CustomerID: f.customers["z"], Segment: "S10", Profile: "lapsed", X: 0, Y: 9},
	}))
	e.clock.Set(d1.Add(9 * h))
	return f
}

func day(t time.Time, ch crm.Channel, messages, fallbacks int, sentSum float64, sentN, convs, escs, byBot, byPerson int) crm.DayActivity {
	return crm.DayActivity{Day: t, Channel: ch, Messages: messages, Fallbacks: fallbacks, SentimentSum: sentSum, SentimentN: sentN,
		Conversations: convs, Escalations: escs, ResolvedByBot: byBot, ResolvedByPerson: byPerson}
}

func testActivity(t *testing.T, e *activityEnv) {
	e.fixture()
	web, slack, api := crm.ChannelWeb, crm.ChannelSlack, crm.ChannelAPI
	dm1Web := day(dm1, web, 1, 0, 0.3, 1, 1, 0, 0, 0) // z's conversation is counted on Dm1, ended on D0
	dm1Web.ResolvedByBot = 1
	d0Slack := day(d0, slack, 1, 0, -0.9, 1, 1, 1, 0, 0)
	// z, a×2, b×2, c; a, b, c started; b escalated; a and c contained, b by a person.
	d0Web := day(d0, web, 6, 1, 0.6+0.8-0.4-0.6+0, 5, 3, 1, 2, 1)
	d1API := day(d1, api, 1, 0, 0, 0, 1, 0, 1, 0)
	d1Slack := day(d1, slack, 1, 0, 0.2, 1, 1, 0, 0, 0)
	d1Web := day(d1, web, 2, 1, 0.1, 2, 2, 0, 1, 1)
	// Judged at D1 00:00 (to, before the clock), c had been quiet for
	// one nanosecond: not ended yet.
	d0WebAtMidnight := d0Web
	d0WebAtMidnight.ResolvedByBot = 1
	// Without c: a and b started, a contained (judged at 23:59:59.999999999).
	d0WebButC := day(d0, web, 5, 1, 0.4, 5, 2, 1, 1, 1)

	tests := []struct {
		name     string
		from, to time.Time
		want     []crm.DayActivity
	}{
		{"all", dm1, d3, []crm.DayActivity{dm1Web, d0Slack, d0Web, d1API, d1Slack, d1Web}},
		{"from D0", d0, d2, []crm.DayActivity{d0Slack, d0Web, d1API, d1Slack, d1Web}},
		{"D0 alone", d0, d1, []crm.DayActivity{d0Slack, d0WebAtMidnight}},
		{"D1 alone", d1, d2, []crm.DayActivity{d1API, d1Slack, d1Web}},
		{"nothing after", d2, d3, nil},
		{"empty period", d0, d0, nil},
		{"D0 but its last nanosecond", d0, d0.Add(24*time.Hour - 1), []crm.DayActivity{d0Slack, d0WebButC}},
		{"D0's last nanosecond", d0.Add(24*time.Hour - 1), d1, []crm.DayActivity{day(d0, web, 1, 0, 0, 0, 1, 0, 0, 0)}},
	}
	for _, tt := range tests {
		got, err := e.a.Activity(e.ctx, tt.from, tt.to)
		if err != nil {
			t.Errorf("%s: Activity(%v, %v): %v", tt.name, tt.from, tt.to, err)
			continue
		}
		sameActivity(t, fmt.Sprintf("%s: Activity(%v, %v)", tt.name, tt.from, tt.to), got, tt.want)
	}

	// The same counts through the rate methods.
	got, err := e.a.Activity(e.ctx, dm1, d3)
	noErr(t, "Activity", err)
	var total crm.DayActivity
	for _, a := range got {
		total = total.Plus(a)
	}
	for _, r := range []struct {
		name      string
		rate      func() (float64, bool)
		want      float64
		wantValid bool
	}{
		{"fallback rate", total.FallbackRate, 2.0 / 12, true},
		{"escalation rate", total.EscalationRate, 2.0 / 9, true},
		{"containment rate", total.ContainmentRate, 5.0 / 9, true},
		{"mean sentiment", total.MeanSentiment, (0.3 - 0.9 + 0.4 + 0.2 + 0.1) / 10, true},
		{"rate of nothing", crm.DayActivity{}.ContainmentRate, 0, false},
	} {
		v, ok := r.rate()
		if ok != r.wantValid || !near(v, r.want) {
			t.Errorf("%s of %+v: got %v, %v; want %v, %v", r.name, total, v, ok, r.want, r.wantValid)
		}
	}
}

// sameActivity compares day activities, the sentiment sums to rounding:
// stores may add them in different orders.
func sameActivity(t *testing.T, what string, got, want []crm.DayActivity) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d rows, want %d\n got %+v\nwant %+v", what, len(got), len(want), got, want)
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		gs, ws := g.SentimentSum, w.SentimentSum
		g.SentimentSum, w.SentimentSum = 0, 0
		if !g.Day.Equal(w.Day) || g.Day.Location() != time.UTC {
			t.Errorf("%s: row %d: day %v, want %v in UTC", what, i, g.Day, w.Day)
		}
		g.Day = w.Day
		if g != w || !near(gs, ws) {
			g.SentimentSum, w.SentimentSum = gs, ws
			t.Errorf("%s: row %d:\n got %+v\nwant %+v", what, i, g, w)
		}
	}
}

func testIntentsByDay(t *testing.T, e *activityEnv) {
	e.fixture()
	r := func(day time.Time, intent string, n int) crm.IntentDay {
		return crm.IntentDay{Day: day, Intent: intent, N: n}
	}
	// Period totals: order_status 5, refund_status 2, then one each of
	// delivery_time, greeting, talk_to_human, thanks (ranked by name).
	// b's fallback has no intent and counts nowhere.
	all := []crm.IntentDay{
		r(dm1, "greeting", 1),
		r(d0, "order_status", 3), r(d0, "refund_status", 1), r(d0, "talk_to_human", 1), r(d0, "thanks", 1),
		r(d1, "order_status", 2), r(d1, "refund_status", 1), r(d1, "delivery_time", 1),
	}
	tests := []struct {
		name     string
		from, to time.Time
		top      int
		want     []crm.IntentDay
	}{
		{"every intent", dm1, d3, 0, all},
		{"top beyond the intents", dm1, d3, 10, all},
		{"top 2", dm1, d3, 2, []crm.IntentDay{
			r(dm1, "", 1),
			r(d0, "order_status", 3), r(d0, "refund_status", 1), r(d0, "", 2),
			r(d1, "order_status", 2), r(d1, "refund_status", 1), r(d1, "", 1),
		}},
		{"top 3: a tie broken by name", dm1, d3, 3, []crm.IntentDay{
			r(dm1, "", 1),
			r(d0, "order_status", 3), r(d0, "refund_status", 1), r(d0, "", 2),
			r(d1, "order_status", 2), r(d1, "refund_status", 1), r(d1, "delivery_time", 1),
		}},
		{"ranked within the period", d1, d2, 1, []crm.IntentDay{r(d1, "order_status", 2), r(d1, "", 2)}},
		{"tie within the period", d1, d2, 2, []crm.IntentDay{r(d1, "order_status", 2), r(d1, "delivery_time", 1), r(d1, "", 1)}},
		{"nothing", d2, d3, 3, nil},
	}
	for _, tt := range tests {
		got, err := e.a.IntentsByDay(e.ctx, tt.from, tt.to, tt.top)
		if err != nil {
			t.Errorf("%s: IntentsByDay(%v, %v, %d): %v", tt.name, tt.from, tt.to, tt.top, err)
			continue
		}
		if len(got) == 0 && len(tt.want) == 0 {
			continue
		}
		equal(t, fmt.Sprintf("%s: IntentsByDay(%v, %v, %d)", tt.name, tt.from, tt.to, tt.top), got, tt.want)
	}
}

func testSegmentConversion(t *testing.T, e *activityEnv) {
	f := e.fixture()
	got := must(e.a.SegmentConversion(e.ctx))(t)
	// d, f, h, i have no segment (d ordered); "S10" sorts before "S2".
	want := []crm.SegmentConversion{
		{Segment: "", Profile: "", Customers: 4, Converted: 1},
		{Segment: "S1", Profile: "loyal", Customers: 2, Converted: 1},
		{Segment: "S10", Profile: "lapsed", Customers: 1, Converted: 1},
		{Segment: "S2", Profile: "<script>alert(1)</script>", Customers: 2, Converted: 1},
	}
	equal(t, "SegmentConversion", got, want)

	// Erasing a customer takes them out of their segment's counts.
	noErr(t, "DeleteCustomer", e.s.DeleteCustomer(e.ctx, f.customers["z"]))
	got = must(e.a.SegmentConversion(e.ctx))(t)
	equal(t, "SegmentConversion after erasing z", got, []crm.SegmentConversion{want[0], want[1], want[3]})
}

func testSegmentMap(t *testing.T, e *activityEnv) {
	f := e.fixture()
	id := f.customers
	// In customer id order: z, a, b, e, c (z and a spoke first on
	// Dm1 and D0 08:00/09:00; c and e in the order they were logged).
	byID := []crm.SegmentAssignment{
		{CustomerID: id["z"], Segment: "S10", Profile: "lapsed", X: 0, Y: 9},
		{CustomerID: id["a"], Segment: "S1", Profile: "loyal", X: 1, Y: 2},
		{CustomerID: id["b"], Segment: "S1", Profile: "loyal", X: 1.5, Y: -2},
		{CustomerID: id["e"], Segment: "S2", Profile: "<script>alert(1)</script>", X: -3.5, Y: 0},
		{CustomerID: id["c"], Segment: "S2", Profile: "<script>alert(1)</script>", X: -3, Y: 0.25},
	}
	if !(id["z"] < id["a"] && id["a"] < id["b"] && id["b"] < id["e"] && id["e"] < id["c"]) {
		t.Fatalf("customer ids %v are not in logging order", id)
	}
	tests := []struct {
		limit int
		want  []crm.SegmentAssignment
	}{
		{0, byID}, // DefaultLimit
		{5, byID},
		{100, byID},
		{4, []crm.SegmentAssignment{byID[0], byID[2], byID[4]}}, // every 2nd
		{2, []crm.SegmentAssignment{byID[0], byID[3]}},          // every 3rd
		{1, []crm.SegmentAssignment{byID[0]}},
	}
	for _, tt := range tests {
		got, err := e.a.SegmentMap(e.ctx, tt.limit)
		if err != nil {
			t.Errorf("SegmentMap(%d): %v", tt.limit, err)
			continue
		}
		equal(t, fmt.Sprintf("SegmentMap(%d)", tt.limit), got, tt.want)
	}
}

func testActivityEmpty(t *testing.T, e *activityEnv) {
	if got := must(e.a.Activity(e.ctx, dm1, d3))(t); len(got) != 0 {
		t.Errorf("Activity on an empty store: got %+v, want none", got)
	}
	if got := must(e.a.IntentsByDay(e.ctx, dm1, d3, 8))(t); len(got) != 0 {
		t.Errorf("IntentsByDay on an empty store: got %+v, want none", got)
	}
	if got := must(e.a.SegmentConversion(e.ctx))(t); len(got) != 0 {
		t.Errorf("SegmentConversion on an empty store: got %+v, want none", got)
	}
	if got := must(e.a.SegmentMap(e.ctx, 10))(t); len(got) != 0 {
		t.Errorf("SegmentMap on an empty store: got %+v, want none", got)
	}
	// Customers without any segmentation run are one unsegmented group.
	e.customer("x")
	e.customer("y")
	equal(t, "SegmentConversion before any run", must(e.a.SegmentConversion(e.ctx))(t),
		[]crm.SegmentConversion{{Customers: 2}})
}

func testActivityBadInput(t *testing.T, e *activityEnv) {
	e.fixture()
	before := e.snapshot()
	for _, c := range []struct {
		what string
		call func() error
	}{
		{"Activity ending before it starts", func() error { _, err := e.a.Activity(e.ctx, d1, d0); return err }},
		{"Activity without a start", func() error { _, err := e.a.Activity(e.ctx, time.Time{}, d0); return err }},
		{"IntentsByDay ending before it starts", func() error { _, err := e.a.IntentsByDay(e.ctx, d1, d0, 3); return err }},
		{"IntentsByDay with a negative top", func() error { _, err := e.a.IntentsByDay(e.ctx, d0, d1, -1); return err }},
		{"SegmentMap with a negative limit", func() error { _, err := e.a.SegmentMap(e.ctx, -1); return err }},
	} {
		wantErr(t, c.what, c.call(), crm.ErrInvalid)
	}
	e.unchanged("bad analytics calls", before)
	// Periods beyond what a store can hold are fine: they hold nothing more.
	got := must(e.a.Activity(e.ctx, crm.MinTime.AddDate(-10, 0, 0), crm.MaxTime.AddDate(10, 0, 0)))(t)
	if len(got) != 6 {
		t.Errorf("Activity over all time: got %d rows, want 6: %+v", len(got), got)
	}
}

func testActivityCanceled(t *testing.T, e *activityEnv) {
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	for _, c := range []struct {
		what string
		call func() error
	}{
		{"Activity", func() error { _, err := e.a.Activity(ctx, d0, d1); return err }},
		{"IntentsByDay", func() error { _, err := e.a.IntentsByDay(ctx, d0, d1, 3); return err }},
		{"SegmentConversion", func() error { _, err := e.a.SegmentConversion(ctx); return err }},
		{"SegmentMap", func() error { _, err := e.a.SegmentMap(ctx, 3); return err }},
	} {
		wantErr(t, c.what+" with a canceled context", c.call(), context.Canceled)
	}
}
