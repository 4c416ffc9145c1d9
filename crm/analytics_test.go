package crm_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
)

func TestConversationEnded(t *testing.T) {
	asOf := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	quiet := asOf.Add(-crm.IdleAfter)
	tests := []struct {
		state   crm.State
		updated time.Time
		want    bool
	}{
		{crm.StateResolved, asOf, true},
		{crm.StateBot, quiet, true}, // exactly IdleAfter: ended
		{crm.StateBot, quiet.Add(time.Nanosecond), false},
		{crm.StateBot, asOf.Add(time.Hour), false}, // updated after asOf
		{crm.StateEscalated, quiet.AddDate(0, 0, -30), false},
		{crm.StateAssigned, quiet.AddDate(0, 0, -30), false},
	}
	for _, tt := range tests {
		c := crm.Conversation{State: tt.state, UpdatedAt: tt.updated}
		if got := c.Ended(asOf); got != tt.want {
			t.Errorf("conversation %s updated %v: Ended(%v) = %v, want %v", tt.state, tt.updated, asOf, got, tt.want)
		}
	}
}

func TestActivityRates(t *testing.T) {
	a := crm.DayActivity{Messages: 8, Fallbacks: 2, Conversations: 4, Escalations: 1, ResolvedByBot: 3, SentimentSum: -1, SentimentN: 4}
	b := crm.DayActivity{Messages: 2, Conversations: 1, ResolvedByPerson: 1, SentimentSum: 2, SentimentN: 1}
	sum := a.Plus(b)
	for _, tt := range []struct {
		name string
		f    func() (float64, bool)
		want float64
		ok   bool
	}{
		{"fallback", sum.FallbackRate, 0.2, true},
		{"escalation", sum.EscalationRate, 0.2, true},
		{"containment", sum.ContainmentRate, 0.6, true},
		{"sentiment", sum.MeanSentiment, 0.2, true},
		{"fallback of nothing", crm.DayActivity{}.FallbackRate, 0, false},
		{"sentiment of nothing", crm.DayActivity{Messages: 3}.MeanSentiment, 0, false},
		{"conversion", crm.SegmentConversion{Customers: 4, Converted: 3}.Rate, 0.75, true},
		{"conversion of none", crm.SegmentConversion{}.Rate, 0, false},
	} {
		got, ok := tt.f()
		if ok != tt.ok || got != tt.want {
			t.Errorf("%s rate of %+v: got %v, %v; want %v, %v", tt.name, sum, got, ok, tt.want, tt.ok)
		}
	}
}

func TestTopIntents(t *testing.T) {
	d0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	d1 := d0.AddDate(0, 0, 1)
	in := []crm.IntentDay{
		{Day: d1, Intent: "b", N: 1}, {Day: d0, Intent: "a", N: 2}, {Day: d0, Intent: "c", N: 1},
		{Day: d1, Intent: "a", N: 1}, {Day: d0, Intent: "b", N: 2}, {Day: d1, Intent: "d", N: 4},
	}
	// Totals: d 4, a 3, b 3, c 1: a before b by name.
	for _, tt := range []struct {
		top  int
		want string
	}{
		{0, "[{d0 a 2} {d0 b 2} {d0 c 1} {d1 d 4} {d1 a 1} {d1 b 1}]"},
		{1, "[{d0  5} {d1 d 4} {d1  2}]"},
		{2, "[{d0 a 2} {d0  3} {d1 d 4} {d1 a 1} {d1  1}]"},
		{4, "[{d0 a 2} {d0 b 2} {d0 c 1} {d1 d 4} {d1 a 1} {d1 b 1}]"},
	} {
		got := crm.TopIntents(in, tt.top)
		s := "["
		for i, r := range got {
			if i > 0 {
				s += " "
			}
			day := "d0"
			if r.Day.Equal(d1) {
				day = "d1"
			}
			s += fmt.Sprintf("{%s %s %d}", day, r.Intent, r.N)
		}
		s += "]"
		if s != tt.want {
			t.Errorf("TopIntents(%v, %d) = %s, want %s", in, tt.top, s, tt.want)
		}
	}
	if got := crm.TopIntents(nil, 3); len(got) != 0 {
		t.Errorf("TopIntents(nil, 3) = %v, want none", got)
	}
}

func TestSampleStep(t *testing.T) {
	for _, tt := range []struct{ n, limit, want int }{
		{0, 10, 1}, {10, 10, 1}, {11, 10, 2}, {10, 4, 3}, {10, 3, 4}, {10, 1, 10}, {5, 0, 1}, {1_000_000, 1500, 667},
	} {
		got := crm.SampleStep(tt.n, tt.limit)
		if got != tt.want {
			t.Errorf("SampleStep(%d, %d) = %d, want %d", tt.n, tt.limit, got, tt.want)
		}
		if tt.limit > 0 && (tt.n+got-1)/got > tt.limit {
			t.Errorf("SampleStep(%d, %d) = %d keeps %d records, more than the limit", tt.n, tt.limit, got, (tt.n+got-1)/got)
		}
	}
}

func TestPeriodChecks(t *testing.T) {
	d0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		from, to time.Time
		ok       bool
	}{
		{d0, d0, true}, {d0, d0.Add(time.Nanosecond), true}, {d0.Add(time.Nanosecond), d0, false},
		{time.Time{}, d0, false}, {d0, time.Time{}, false},
	} {
		err := crm.CheckPeriod(tt.from, tt.to)
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("CheckPeriod(%v, %v) = %v, want ok %v (else ErrInvalid)", tt.from, tt.to, err, tt.ok)
		}
	}
	if err := crm.CheckTop(-1); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("CheckTop(-1) = %v, want ErrInvalid", err)
	}
	if err := crm.CheckTop(0); err != nil {
		t.Errorf("CheckTop(0) = %v, want nil", err)
	}
	tokyo := time.FixedZone("JST", 9*3600)
	if got, want := crm.Day(time.Date(2026, 3, 2, 5, 0, 0, 0, tokyo)), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("Day(2 Mar 05:00 JST) = %v, want the UTC day %v", got, want)
	}
}
