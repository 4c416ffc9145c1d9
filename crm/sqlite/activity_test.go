package sqlite_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
	"github.com/parley-chat/parley/crm/demo"
	"github.com/parley-chat/parley/crm/sqlite"
)

func TestActivityContract(t *testing.T) {
	crmtest.RunActivity(t, func(t *testing.T, now func() time.Time) crmtest.ActivityStore {
		s, err := sqlite.Open(context.Background(), dbPath(t, "crm.db"), sqlite.WithClock(now), quiet)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

// demoEnd is where the seeded history ends; the stores' clocks read an
// hour later, so state changes and idleness are judged the same in both.
var demoEnd = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// seedDemo fills s with the demo history of cfg (one worker, so both
// stores see the records in one order) and gives every customer a
// segment by their position in id order, which is the same person in
// every store (demo creates customers in index order).
func seedDemo(tb testing.TB, s crmtest.ActivityStore, cfg demo.Config) {
	tb.Helper()
	ctx := context.Background()
	cfg.Seed, cfg.End, cfg.Workers, cfg.Logger = 11, demoEnd, 1, slog.New(slog.DiscardHandler)
	if _, err := demo.Generate(ctx, s, cfg); err != nil {
		tb.Fatalf("demo.Generate: %v", err)
	}
	cs, err := s.Customers(ctx, 0, crm.MaxLimit)
	if err != nil {
		tb.Fatal(err)
	}
	profiles := []string{"high value, loyal", "occasional", "<script>new</script>", "lapsed"}
	var as []crm.SegmentAssignment
	for i, c := range cs {
		if i%7 == 6 {
			continue // a few customers without a segment
		}
		k := i % len(profiles)
		as = append(as, crm.SegmentAssignment{CustomerID: c.ID, Segment: fmt.Sprintf("S%d", k+1), Profile: profiles[k],
			X: math.Sin(float64(i)), Y: float64(k) + math.Cos(float64(i))})
	}
	if err := s.SaveSegments(ctx, as); err != nil {
		tb.Fatalf("SaveSegments: %v", err)
	}
}

// The SQL and the in-memory implementations give the same answers on a
// realistic history: the demo data, with escalations in every state.
func TestActivityMatchesMemory(t *testing.T) {
	ctx := context.Background()
	clock := crmtest.NewClock(demoEnd.Add(time.Hour))
	cfg := demo.Config{Customers: 120, Days: 60}
	sq := MustOpen(t, dbPath(t, "crm.db"), sqlite.WithClock(clock.Now), quiet)
	mem := crmtest.NewMemory(crmtest.WithClock(clock.Now))
	seedDemo(t, sq, cfg)
	seedDemo(t, mem, cfg)

	periods := []struct{ from, to time.Time }{
		{demoEnd.AddDate(0, 0, -90), demoEnd.AddDate(0, 0, 1)}, // all of it
		{demoEnd.AddDate(0, 0, -7), demoEnd},                   // the last week
		{demoEnd.AddDate(0, 0, -1).Add(-time.Hour), demoEnd.Add(-30 * time.Minute)},
	}
	for _, p := range periods {
		want, err := mem.Activity(ctx, p.from, p.to)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sq.Activity(ctx, p.from, p.to)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 {
			t.Fatalf("Activity(%v, %v): the demo data has nothing there", p.from, p.to)
		}
		compareActivity(t, fmt.Sprintf("Activity(%v, %v)", p.from, p.to), got, want)
		for _, top := range []int{0, 1, 8} {
			want, err := mem.IntentsByDay(ctx, p.from, p.to, top)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sq.IntentsByDay(ctx, p.from, p.to, top)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("IntentsByDay(%v, %v, %d):\nsqlite %v\nmemory %v", p.from, p.to, top, got, want)
			}
		}
	}
	var total crm.DayActivity
	all, _ := sq.Activity(ctx, periods[0].from, periods[0].to)
	for _, a := range all {
		total = total.Plus(a)
	}
	if total.Escalations == 0 || total.ResolvedByBot == 0 || total.ResolvedByPerson == 0 {
		t.Errorf("demo totals %+v: want escalations and conversations resolved both ways", total)
	}

	wantConv, err := mem.SegmentConversion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gotConv, err := sq.SegmentConversion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(gotConv) != fmt.Sprint(wantConv) || len(gotConv) != 5 {
		t.Errorf("SegmentConversion:\nsqlite %+v\nmemory %+v\nwant 5 groups", gotConv, wantConv)
	}
	for _, limit := range []int{0, 7, 1000} {
		want, err := mem.SegmentMap(ctx, limit)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sq.SegmentMap(ctx, limit)
		if err != nil {
			t.Fatal(err)
		}
		// Customer ids differ between the stores (the memory store's
		// ids count every record); the points must not.
		if len(got) != len(want) {
			t.Fatalf("SegmentMap(%d): sqlite %d points, memory %d", limit, len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			g.CustomerID, w.CustomerID = 0, 0
			if g != w {
				t.Errorf("SegmentMap(%d) point %d: sqlite %+v, memory %+v", limit, i, g, w)
			}
		}
	}
}

func compareActivity(t *testing.T, what string, got, want []crm.DayActivity) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: sqlite %d rows, memory %d\nsqlite %+v\nmemory %+v", what, len(got), len(want), got, want)
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if math.Abs(g.SentimentSum-w.SentimentSum) > 1e-9 {
			t.Errorf("%s: row %d sentiment sum: sqlite %v, memory %v", what, i, g.SentimentSum, w.SentimentSum)
		}
		g.SentimentSum = w.SentimentSum
		if g != w {
			t.Errorf("%s: row %d:\nsqlite %+v\nmemory %+v", what, i, g, w)
		}
	}
}

// BenchmarkActivity reads what the 90-day analytics page reads, from a
// demo CRM of 1,000 customers over a year.
func BenchmarkActivity(b *testing.B) {
	ctx := context.Background()
	clock := crmtest.NewClock(demoEnd.Add(time.Hour))
	s := openBench(b, sqlite.WithClock(clock.Now))
	seedDemo(b, s, demo.Config{Customers: 1000, Days: 365})
	from, to := demoEnd.AddDate(0, 0, -90), demoEnd.AddDate(0, 0, 1)
	for _, bm := range []struct {
		name string
		run  func() error
	}{
		{"Activity", func() error { _, err := s.Activity(ctx, from, to); return err }},
		{"IntentsByDay", func() error { _, err := s.IntentsByDay(ctx, from, to, 8); return err }},
		{"SegmentConversion", func() error { _, err := s.SegmentConversion(ctx); return err }},
		{"SegmentMap", func() error { _, err := s.SegmentMap(ctx, 1500); return err }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bm.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
