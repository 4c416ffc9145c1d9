package demo

import (
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
)

// TestKindsDiffer checks that each kind of customer looks like its name
// in the plans: what the segmentation is meant to find.
func TestKindsDiffer(t *testing.T) {
	cfg, err := Config{Seed: 11}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	v, err := newVocab(FallbackUtterances)
	if err != nil {
		t.Fatal(err)
	}
	type agg struct {
		customers, orders, convs, escalated, msgs, purchase int
		spend, sentiment                                    float64
		lastOrderDays, tenureDays                           float64 // sums over customers with orders / all
		withOrders                                          int
	}
	by := map[string]*agg{}
	for _, k := range Kinds {
		by[k.Name] = &agg{}
	}
	day := 24 * time.Hour
	for i := 0; i < 4000; i++ {
		p := planCustomer(cfg, v, i)
		a := by[Kinds[p.kind].Name]
		a.customers++
		a.orders += len(p.orders)
		for _, o := range p.orders {
			a.spend += o.Amount
		}
		if len(p.orders) > 0 {
			a.withOrders++
			a.lastOrderDays += cfg.End.Sub(p.orders[len(p.orders)-1].CreatedAt).Hours() / 24
		}
		a.tenureDays += float64(cfg.End.Sub(p.joined) / day)
		for _, c := range p.convs {
			a.convs++
			if c.escalated {
				a.escalated++
			}
			for _, in := range c.turns {
				a.msgs++
				a.sentiment += in.Message.SentimentScore
				if slices.Contains(purchaseIntents, in.Message.Intent) {
					a.purchase++
				}
			}
		}
	}
	mean := func(name string, f func(*agg) float64) float64 { return f(by[name]) }
	perCustomer := func(x func(*agg) int) func(*agg) float64 {
		return func(a *agg) float64 { return float64(x(a)) / float64(a.customers) }
	}
	spend := func(a *agg) float64 { return a.spend / float64(a.customers) }
	mood := func(a *agg) float64 { return a.sentiment / float64(a.msgs) }
	escRate := func(a *agg) float64 { return float64(a.escalated) / float64(a.convs) }
	buying := func(a *agg) float64 { return float64(a.purchase) / float64(a.msgs) }
	recency := func(a *agg) float64 { return a.lastOrderDays / float64(a.withOrders) }
	tenure := func(a *agg) float64 { return a.tenureDays / float64(a.customers) }
	for _, tc := range []struct {
		what        string
		f           func(*agg) float64
		high, lower string
	}{
		{"spend per customer", spend, "loyal", "occasional"},
		{"orders per customer", perCustomer(func(a *agg) int { return a.orders }), "loyal", "lapsed"},
		{"days since last order", recency, "lapsed", "loyal"},
		{"days since last order", recency, "lapsed", "occasional"},
		{"tenure", tenure, "occasional", "new"},
		{"mean sentiment", mood, "loyal", "unhappy"},
		{"mean sentiment", mood, "occasional", "unhappy"},
		{"escalation rate", escRate, "unhappy", "loyal"},
		{"escalation rate", escRate, "unhappy", "occasional"},
		{"purchase-question share", buying, "new", "unhappy"},
		{"conversations per customer", perCustomer(func(a *agg) int { return a.convs }), "unhappy", "lapsed"},
	} {
		h, l := mean(tc.high, tc.f), mean(tc.lower, tc.f)
		if h <= l {
			t.Errorf("%s: %s %.3f, %s %.3f; want %s higher", tc.what, tc.high, h, tc.lower, l, tc.high)
		}
	}
	if r := recency(by["lapsed"]); r < 120 {
		t.Errorf("lapsed customers ordered last %.0f days ago on average, want over 120", r)
	}
	if d := tenure(by["new"]); d > 45 {
		t.Errorf("new customers joined %.0f days ago on average, want under 45", d)
	}
}

func TestPlanCustomerValid(t *testing.T) {
	cfg, _ := Config{Seed: 3, Days: 90}.withDefaults()
	v, _ := newVocab(FallbackUtterances)
	start := cfg.End.AddDate(0, 0, -90)
	refs := map[string]bool{}
	for i := 0; i < 500; i++ {
		p := planCustomer(cfg, v, i)
		if refs[p.ref.Value] {
			t.Fatalf("customer %d: external id %s used twice", i, p.ref.Value)
		}
		refs[p.ref.Value] = true
		if len(p.convs) == 0 {
			t.Fatalf("customer %d has no conversation: nothing would create them", i)
		}
		if first := p.convs[0].turns[0].Message.CreatedAt; first.After(p.convs[len(p.convs)-1].turns[0].Message.CreatedAt) {
			t.Errorf("customer %d: conversations not in time order", i)
		}
		for _, o := range p.orders {
			if refs[o.Ref] {
				t.Fatalf("order ref %s used twice", o.Ref)
			}
			refs[o.Ref] = true
			if o.CreatedAt.Before(start) || o.CreatedAt.After(cfg.End) {
				t.Errorf("customer %d: order at %s outside the 90 days before %s", i, o.CreatedAt, cfg.End)
			}
		}
		for _, c := range p.convs {
			for ti, in := range c.turns {
				if err := in.Validate(); err != nil {
					t.Fatalf("customer %d: turn %d invalid: %v", i, ti, err)
				}
				if m := in.Message; m.CreatedAt.Before(start) || m.CreatedAt.After(cfg.End) {
					t.Errorf("customer %d: message at %s outside the 90 days before %s", i, m.CreatedAt, cfg.End)
				}
				if refs["msg "+in.Message.ChannelMsgID] {
					t.Fatalf("channel message id %s used twice", in.Message.ChannelMsgID)
				}
				refs["msg "+in.Message.ChannelMsgID] = true
				if (in.Escalate != "") != (c.escalated && ti == len(c.turns)-1) {
					t.Errorf("customer %d: escalation %q on turn %d of %d (escalated %v)", i, in.Escalate, ti, len(c.turns), c.escalated)
				}
			}
			if c.escalated && c.final != crm.StateEscalated && c.final != crm.StateAssigned && c.final != crm.StateResolved {
				t.Errorf("customer %d: escalated conversation ends in %q", i, c.final)
			}
		}
	}
}

func TestMix32Bijective(t *testing.T) {
	seen := make(map[uint32]bool, 1<<16)
	for i := uint32(0); i < 1<<16; i++ {
		h := mix32(i)
		if seen[h] {
			t.Fatalf("mix32 collides at %d", i)
		}
		seen[h] = true
	}
}
