package crmtest

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/parley-chat/parley/crm"
)

var _ crm.ActivityStore = (*Memory)(nil)

// inPeriod reports whether t lies in [from, to).
func inPeriod(t, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }

type dayChannel struct {
	day time.Time
	ch  crm.Channel
}

// Activity implements crm.ActivityStore.
func (m *Memory) Activity(ctx context.Context, from, to time.Time) ([]crm.DayActivity, error) {
	if err := crm.CheckPeriod(from, to); err != nil {
		return nil, fmt.Errorf("activity: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("activity: %w", err)
	}
	defer m.mu.Unlock()
	asOf := to
	if now := m.now(); now.Before(asOf) {
		asOf = now
	}
	days := map[dayChannel]*crm.DayActivity{}
	at := func(t time.Time, ch crm.Channel) *crm.DayActivity {
		k := dayChannel{crm.Day(t), ch}
		a, ok := days[k]
		if !ok {
			a = &crm.DayActivity{Day: k.day, Channel: ch}
			days[k] = a
		}
		return a
	}
	// Messages in id order, so that the sentiment sums add up in the
	// same order on every run.
	for _, id := range slices.Sorted(maps.Keys(m.msgs)) {
		msg := m.msgs[id]
		if msg.Direction != crm.FromCustomer || !inPeriod(msg.CreatedAt, from, to) {
			continue
		}
		a := at(msg.CreatedAt, msg.channel)
		a.Messages++
		if msg.Action == crm.ActionFallback {
			a.Fallbacks++
		}
		if msg.Sentiment != "" {
			a.SentimentSum += msg.SentimentScore
			a.SentimentN++
		}
	}
	for _, c := range m.convs {
		if !inPeriod(c.CreatedAt, from, to) {
			continue
		}
		a := at(c.CreatedAt, c.Channel)
		a.Conversations++
		escalated := len(m.convEscs[c.ID]) > 0
		person := escalated || slices.ContainsFunc(m.convMsgs[c.ID], func(id int64) bool {
			return m.msgs[id].Direction == crm.FromAgent
		})
		if escalated {
			a.Escalations++
		}
		if c.Ended(asOf) {
			if person {
				a.ResolvedByPerson++
			} else {
				a.ResolvedByBot++
			}
		}
	}
	out := make([]crm.DayActivity, 0, len(days))
	for _, a := range days {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b crm.DayActivity) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Channel, b.Channel))
	})
	return out, nil
}

// IntentsByDay implements crm.ActivityStore.
func (m *Memory) IntentsByDay(ctx context.Context, from, to time.Time, top int) ([]crm.IntentDay, error) {
	if err := crm.CheckPeriod(from, to); err != nil {
		return nil, fmt.Errorf("intents by day: %w", err)
	}
	if err := crm.CheckTop(top); err != nil {
		return nil, fmt.Errorf("intents by day: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("intents by day: %w", err)
	}
	defer m.mu.Unlock()
	type key struct {
		day    time.Time
		intent string
	}
	counts := map[key]int{}
	for _, msg := range m.msgs {
		if msg.Direction != crm.FromCustomer || msg.Intent == "" || !inPeriod(msg.CreatedAt, from, to) {
			continue
		}
		counts[key{crm.Day(msg.CreatedAt), msg.Intent}]++
	}
	rows := make([]crm.IntentDay, 0, len(counts))
	for k, n := range counts {
		rows = append(rows, crm.IntentDay{Day: k.day, Intent: k.intent, N: n})
	}
	return crm.TopIntents(rows, top), nil
}

// SegmentConversion implements crm.ActivityStore.
func (m *Memory) SegmentConversion(ctx context.Context) ([]crm.SegmentConversion, error) {
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("segment conversion: %w", err)
	}
	defer m.mu.Unlock()
	ordered := map[int64]bool{}
	for _, o := range m.orders {
		ordered[o.CustomerID] = true
	}
	bySeg := map[string]*crm.SegmentConversion{}
	for id := range m.customers {
		a := m.segments[id] // zero for a customer no run assigned
		sc, ok := bySeg[a.Segment]
		if !ok {
			sc = &crm.SegmentConversion{Segment: a.Segment}
			bySeg[a.Segment] = sc
		}
		// The greatest profile, as SQL's MAX picks: one run gives a
		// segment one profile, so this only matters for hand-made data.
		sc.Profile = max(sc.Profile, a.Profile)
		sc.Customers++
		if ordered[id] {
			sc.Converted++
		}
	}
	out := make([]crm.SegmentConversion, 0, len(bySeg))
	for _, seg := range slices.Sorted(maps.Keys(bySeg)) {
		out = append(out, *bySeg[seg])
	}
	return out, nil
}

// SegmentMap implements crm.ActivityStore.
func (m *Memory) SegmentMap(ctx context.Context, limit int) ([]crm.SegmentAssignment, error) {
	n, err := crm.Limit(limit)
	if err != nil {
		return nil, fmt.Errorf("segment map: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("segment map: %w", err)
	}
	defer m.mu.Unlock()
	ids := slices.Sorted(maps.Keys(m.segments))
	step := crm.SampleStep(len(ids), n)
	var out []crm.SegmentAssignment
	for i := 0; i < len(ids); i += step {
		out = append(out, m.segments[ids[i]])
	}
	return out, nil
}
