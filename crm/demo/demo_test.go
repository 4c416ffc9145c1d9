package demo_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
	"github.com/parley-chat/parley/crm/demo"
	"github.com/parley-chat/parley/crm/segment"
	"github.com/parley-chat/parley/intents/builtin"
)

var demoCustomers = flag.Int("demo-customers", 0, "run TestGenerateLarge with this many customers (e.g. 100000) and report the time")

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newStore returns an in-memory store whose clock stands at the end of
// the demo history.
func newStore() *crmtest.Memory {
	return crmtest.NewMemory(crmtest.WithClock(crmtest.NewClock(demo.DefaultEnd).Now))
}

func mustGenerate(t testing.TB, store demo.Store, cfg demo.Config) demo.Summary {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	sum, err := demo.Generate(t.Context(), store, cfg)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", cfg, err)
	}
	return sum
}

// world is a store's content, read back through crm.Store.
type world struct {
	customers []crm.Customer
	orders    map[int64][]crm.Order
	convs     map[int64][]crm.Conversation // by customer, ordered by ref
	messages  map[int64][]crm.Message      // by conversation
	escs      map[int64][]crm.Escalation   // by conversation
}

func readWorld(t *testing.T, s crm.Store) world {
	t.Helper()
	ctx := t.Context()
	w := world{orders: map[int64][]crm.Order{}, convs: map[int64][]crm.Conversation{},
		messages: map[int64][]crm.Message{}, escs: map[int64][]crm.Escalation{}}
	var after int64
	for {
		page, err := s.Customers(ctx, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		w.customers = append(w.customers, page...)
		after = page[len(page)-1].ID
	}
	for _, c := range w.customers {
		os, err := s.Orders(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		w.orders[c.ID] = os
		convs, err := s.Conversations(ctx, crm.ConversationFilter{CustomerID: c.ID, Limit: crm.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(convs, func(a, b crm.Conversation) int { return strings.Compare(a.Ref, b.Ref) })
		w.convs[c.ID] = convs
		for _, cv := range convs {
			if w.messages[cv.ID], err = s.Messages(ctx, cv.ID); err != nil {
				t.Fatal(err)
			}
			if w.escs[cv.ID], err = s.Escalations(ctx, cv.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	return w
}

// canonical renders a world without the ids that depend on scheduling
// (conversations, messages, orders, escalations), one line per record.
func (w world) canonical() []string {
	var out []string
	for _, c := range w.customers {
		out = append(out, fmt.Sprintf("customer %d %q %q %v %s", c.ID, c.Name, c.Email, c.ExternalIDs, c.CreatedAt.Format(time.RFC3339)))
		for _, o := range w.orders[c.ID] {
			out = append(out, fmt.Sprintf("  order %s %q %s %.2f %s %s %s", o.Ref, o.Item, o.Category, o.Amount, o.Currency, o.Kind, o.CreatedAt.Format(time.RFC3339)))
		}
		for _, cv := range w.convs[c.ID] {
			out = append(out, fmt.Sprintf("  conversation %s %s %s fallbacks %d", cv.Channel, cv.Ref, cv.State, cv.Fallbacks))
			for _, m := range w.messages[cv.ID] {
				out = append(out, fmt.Sprintf("    %s %s %q %s %.3f %v %s %.3f %s %v %s", m.Direction, m.ChannelMsgID, m.Text, m.Intent, m.Confidence,
					m.Alternatives, m.Sentiment, m.SentimentScore, m.Action, m.QuickReplies, m.CreatedAt.Format(time.RFC3339)))
			}
			for _, e := range w.escs[cv.ID] {
				out = append(out, fmt.Sprintf("    escalation %q %s %q", e.Reason, e.Status, e.Resolution))
			}
		}
	}
	return out
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("line %d:\n  %s\n  %s", i, a[i], b[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(a), len(b))
}

func TestGenerateDeterministic(t *testing.T) {
	cfg := demo.Config{Customers: 300, Seed: 7, Workers: 4}
	a, b := newStore(), newStore()
	sa, sb := mustGenerate(t, a, cfg), mustGenerate(t, b, cfg)
	if fmt.Sprint(sa) != fmt.Sprint(sb) {
		t.Errorf("summaries differ:\n %+v\n %+v", sa, sb)
	}
	wa, wb := readWorld(t, a).canonical(), readWorld(t, b).canonical()
	if !slices.Equal(wa, wb) {
		t.Fatalf("two runs with seed 7 differ at %s", firstDiff(wa, wb))
	}
	c := newStore()
	mustGenerate(t, c, demo.Config{Customers: 300, Seed: 8, Workers: 4})
	if slices.Equal(wa, readWorld(t, c).canonical()) {
		t.Error("seeds 7 and 8 made the same data")
	}
}

func TestGenerateCounts(t *testing.T) {
	const n = 400
	store := newStore()
	sum := mustGenerate(t, store, demo.Config{Customers: n, Seed: 1})
	w := readWorld(t, store)
	if len(w.customers) != n || sum.Customers != n {
		t.Fatalf("%d customers in the store, summary %d; want %d", len(w.customers), sum.Customers, n)
	}
	var orders, convs, in, bot, agent, escalated int
	states := map[crm.State]int{}
	for _, c := range w.customers {
		orders += len(w.orders[c.ID])
		for _, cv := range w.convs[c.ID] {
			convs++
			for _, m := range w.messages[cv.ID] {
				switch m.Direction {
				case crm.FromCustomer:
					in++
				case crm.FromBot:
					bot++
				case crm.FromAgent:
					agent++
				}
			}
			if len(w.escs[cv.ID]) > 0 {
				escalated++
				states[cv.State]++
			}
		}
	}
	for _, tc := range []struct {
		name      string
		got, want int
	}{
		{"orders", orders, sum.Orders},
		{"conversations", convs, sum.Conversations},
		{"customer messages", in, sum.Messages},
		{"bot replies", bot, sum.Replies},
		{"agent replies", agent, sum.Assigned + sum.Resolved},
		{"escalated conversations", escalated, sum.Escalations},
		{"open escalations", states[crm.StateEscalated], sum.Open},
		{"assigned", states[crm.StateAssigned], sum.Assigned},
		{"resolved", states[crm.StateResolved], sum.Resolved},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d in the store, summary says %d", tc.name, tc.got, tc.want)
		}
	}
	kinds := 0
	for _, k := range demo.Kinds {
		kinds += sum.Kinds[k.Name]
	}
	if kinds != n {
		t.Errorf("Summary.Kinds %v adds up to %d, want %d", sum.Kinds, kinds, n)
	}
	// Customer ids follow the index when customers are created one by one.
	for i, c := range w.customers[1:] {
		if c.ID <= w.customers[i].ID {
			t.Fatalf("customer ids not increasing: %d after %d", c.ID, w.customers[i].ID)
		}
	}
}

func TestGenerateDistributions(t *testing.T) {
	const n = 1500
	store := newStore()
	cfg := demo.Config{Customers: n, Seed: 3}
	sum := mustGenerate(t, store, cfg)
	w := readWorld(t, store)
	start := demo.DefaultEnd.AddDate(0, 0, -demo.DefaultDays)

	for _, k := range demo.Kinds {
		if got := float64(sum.Kinds[k.Name]) / n; got < k.Share-0.04 || got > k.Share+0.04 {
			t.Errorf("kind %s: share %.3f of customers, want %.2f ± 0.04", k.Name, got, k.Share)
		}
	}
	var msgs, negative, clarify, convs, escalated int
	outside := 0
	for _, c := range w.customers {
		for _, o := range w.orders[c.ID] {
			if o.CreatedAt.Before(start) || o.CreatedAt.After(demo.DefaultEnd) || o.Amount <= 0 {
				outside++
			}
		}
		for _, cv := range w.convs[c.ID] {
			convs++
			if len(w.escs[cv.ID]) > 0 {
				escalated++
			}
			for _, m := range w.messages[cv.ID] {
				if m.CreatedAt.Before(start) || m.CreatedAt.After(demo.DefaultEnd) {
					outside++
				}
				if m.Direction != crm.FromCustomer {
					continue
				}
				msgs++
				if m.Sentiment == "negative" {
					negative++
				}
				if m.Action == "clarify" {
					clarify++
				}
				if m.Confidence <= 0 || m.Confidence >= 1 || m.SentimentScore < -1 || m.SentimentScore > 1 {
					t.Errorf("message %q: confidence %v, sentiment score %v out of range", m.Text, m.Confidence, m.SentimentScore)
				}
			}
		}
	}
	if outside > 0 {
		t.Errorf("%d orders or messages outside [%s, %s] or with a non-positive amount", outside, start, demo.DefaultEnd)
	}
	for _, tc := range []struct {
		name   string
		got    float64
		lo, hi float64
	}{
		// Measured on this seed: escalated 0.16, negative 0.23, clarify 0.06,
		// conversations per customer 2.7; the bounds leave room for tuning.
		{"escalated conversations", float64(escalated) / float64(convs), 0.08, 0.24},
		{"negative customer messages", float64(negative) / float64(msgs), 0.12, 0.38},
		{"clarifications", float64(clarify) / float64(msgs), 0.03, 0.12},
		{"conversations per customer", float64(convs) / n, 1.8, 4},
	} {
		if tc.got < tc.lo || tc.got > tc.hi {
			t.Errorf("%s: %.3f, want in [%.2f, %.2f]", tc.name, tc.got, tc.lo, tc.hi)
		}
	}
	t.Logf("summary %+v; escalated %.3f, negative %.3f, clarify %.3f", sum,
		float64(escalated)/float64(convs), float64(negative)/float64(msgs), float64(clarify)/float64(msgs))
}

func TestGenerateFindsSegments(t *testing.T) {
	store := newStore()
	mustGenerate(t, store, demo.Config{Customers: 1500, Seed: 5})
	stats, err := store.Stats(t.Context(), demo.DefaultEnd)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 1500 {
		t.Fatalf("Stats(end) has %d customers, want 1500", len(stats))
	}
	r, err := segment.Run(t.Context(), stats, demo.DefaultEnd, segment.Config{Seed: 1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range r.Profiles {
		names = append(names, fmt.Sprintf("%s (%d)", p.Name, p.Size))
	}
	t.Logf("%s, k=%d, silhouette %.3f: %s", r.Method, r.K, r.Silhouette, strings.Join(names, "; "))
	if r.K < 2 {
		t.Errorf("segmentation of the demo found k=%d, want more than one segment", r.K)
	}
	joined := strings.Join(names, " ")
	if !strings.Contains(joined, "unhappy") && !strings.Contains(joined, "often escalated") {
		t.Errorf("no segment of unhappy or escalating customers among %q", names)
	}
}

func TestGenerateIdempotent(t *testing.T) {
	store := newStore()
	cfg := demo.Config{Customers: 120, Seed: 2}
	first := mustGenerate(t, store, cfg)
	before := readWorld(t, store).canonical()
	second := mustGenerate(t, store, cfg)
	if want := second.Messages + second.Orders + 4; second.Skipped != want {
		t.Errorf("second run skipped %d records, want every message and order and the 4 agents (%d)", second.Skipped, want)
	}
	if first.Skipped != 0 {
		t.Errorf("first run skipped %d records, want 0", first.Skipped)
	}
	if after := readWorld(t, store).canonical(); !slices.Equal(before, after) {
		t.Errorf("a second run changed the store at %s", firstDiff(before, after))
	}
}

func TestGenerateUtterances(t *testing.T) {
	u := map[string][]string{
		"order_status": {"Where is my parcel?", "Any news on order 12345?"},
		"complaint":    {"This is not good enough."},
		"thanks":       {"Cheers"},
		"store_hours":  {"When do you open on Sunday?"}, // not a built-in intent
	}
	texts := map[string]string{}
	for intent, ts := range u {
		for _, s := range ts {
			texts[s] = intent
		}
	}
	store := newStore()
	mustGenerate(t, store, demo.Config{Customers: 80, Seed: 4, Utterances: u})
	w := readWorld(t, store)
	seen := map[string]int{}
	for _, c := range w.customers {
		for _, cv := range w.convs[c.ID] {
			for _, m := range w.messages[cv.ID] {
				if m.Direction != crm.FromCustomer {
					continue
				}
				intent, ok := texts[m.Text]
				if !ok || intent != m.Intent {
					t.Fatalf("customer message %q with intent %s, want one of the given utterances with its intent", m.Text, m.Intent)
				}
				seen[intent]++
			}
		}
	}
	for intent := range u {
		if seen[intent] == 0 {
			t.Errorf("intent %s never used (%v)", intent, seen)
		}
	}
}

// failingStore fails LogInteraction from the failAt-th call on.
type failingStore struct {
	*crmtest.Memory
	calls, failAt int64
}

var errInjected = errors.New("injected failure")

func (f *failingStore) LogInteraction(ctx context.Context, in crm.Interaction) (crm.Logged, error) {
	if atomic.AddInt64(&f.calls, 1) >= f.failAt {
		return crm.Logged{}, errInjected
	}
	return f.Memory.LogInteraction(ctx, in)
}

func TestGenerateErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store demo.Store
		cfg   demo.Config
		want  error
	}{
		{"nil store", nil, demo.Config{}, crm.ErrInvalid},
		{"negative customers", newStore(), demo.Config{Customers: -1}, crm.ErrInvalid},
		{"too many customers", newStore(), demo.Config{Customers: demo.MaxCustomers + 1}, crm.ErrInvalid},
		{"negative days", newStore(), demo.Config{Days: -3}, crm.ErrInvalid},
		{"empty utterances", newStore(), demo.Config{Utterances: map[string][]string{}}, crm.ErrInvalid},
		{"bad utf-8", newStore(), demo.Config{Utterances: map[string][]string{"greeting": {"hi \xff"}}}, crm.ErrInvalid},
		{"empty intent", newStore(), demo.Config{Utterances: map[string][]string{"": {"hi"}}}, crm.ErrInvalid},
		{"store fails creating", &failingStore{Memory: newStore(), failAt: 10}, demo.Config{Customers: 50}, errInjected},
		{"store fails later", &failingStore{Memory: newStore(), failAt: 200}, demo.Config{Customers: 50, Workers: 3}, errInjected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Logger = quiet
			_, err := demo.Generate(t.Context(), tc.store, tc.cfg)
			if !errors.Is(err, tc.want) {
				t.Errorf("Generate(%s) error %v, want %v", tc.name, err, tc.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := demo.Generate(ctx, newStore(), demo.Config{Customers: 20, Logger: quiet}); !errors.Is(err, context.Canceled) {
		t.Errorf("Generate(canceled) error %v, want context.Canceled", err)
	}
}

func TestGenerateResumes(t *testing.T) {
	// A run that failed half-way, then a good run: the same data as one
	// good run (escalations aside, see Generate).
	cfg := demo.Config{Customers: 60, Seed: 6, Logger: quiet}
	broken := &failingStore{Memory: newStore(), failAt: 100}
	if _, err := demo.Generate(t.Context(), broken, cfg); !errors.Is(err, errInjected) {
		t.Fatalf("Generate on a failing store: %v, want the injected error", err)
	}
	broken.failAt = 1 << 62
	mustGenerate(t, broken, cfg)
	whole := newStore()
	mustGenerate(t, whole, cfg)
	got, want := readWorld(t, broken.Memory), readWorld(t, whole)
	count := func(w world) map[crm.Direction]int {
		n := map[crm.Direction]int{}
		for _, ms := range w.messages {
			for _, m := range ms {
				n[m.Direction]++
			}
		}
		return n
	}
	g, w := count(got), count(want)
	if len(got.customers) != len(want.customers) || g[crm.FromCustomer] != w[crm.FromCustomer] || g[crm.FromBot] != w[crm.FromBot] {
		t.Errorf("resumed run: %d customers, messages %v; one good run: %d, %v", len(got.customers), g, len(want.customers), w)
	}
}

func TestGenerateBuiltinUtterances(t *testing.T) {
	// The lead passes Parley's built-in training data: every example must
	// be acceptable as a customer message.
	d, err := builtin.Dataset(builtin.IntentTrain)
	if err != nil {
		t.Fatal(err)
	}
	u := map[string][]string{}
	for _, e := range d.Examples {
		u[e.Label] = append(u[e.Label], e.Text)
	}
	store := newStore()
	sum := mustGenerate(t, store, demo.Config{Customers: 200, Seed: 9, Utterances: u})
	var oos int
	w := readWorld(t, store)
	for _, c := range w.customers {
		for _, cv := range w.convs[c.ID] {
			for _, m := range w.messages[cv.ID] {
				if m.OutOfScope {
					oos++
				}
			}
		}
	}
	if oos == 0 {
		t.Errorf("no out-of-scope message among %d, though the data has oos examples", sum.Messages)
	}
}

// TestGenerateLarge measures Generate on many customers into the
// in-memory store, then segments them:
//
//	go test ./crm/demo -run TestGenerateLarge -demo-customers 10000 -v
//
// crmtest.Memory finds a conversation by scanning all of them, so its
// time grows with the square of the customers; BenchmarkGenerate100kNullStore
// measures Generate's own cost.
func TestGenerateLarge(t *testing.T) {
	if *demoCustomers == 0 {
		t.Skip("needs -demo-customers N")
	}
	store := newStore()
	start := time.Now()
	sum := mustGenerate(t, store, demo.Config{Customers: *demoCustomers, Seed: 1})
	gen := time.Since(start)
	stats, err := store.Stats(t.Context(), demo.DefaultEnd)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	r, err := segment.Run(t.Context(), stats, demo.DefaultEnd, segment.Config{Seed: 1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated %+v in %s; segmented %d customers in %s: k=%d", sum, gen.Round(time.Millisecond),
		len(stats), time.Since(start).Round(time.Millisecond), r.K)
	for _, p := range r.Profiles {
		t.Logf("  %s %s: %d (%.1f%%)", p.Segment, p.Name, p.Size, 100*p.Share)
	}
}

func BenchmarkGenerate1k(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		mustGenerate(b, newStore(), demo.Config{Customers: 1000, Seed: 1})
	}
}

// nullStore accepts everything and keeps nothing: it measures what
// Generate itself costs, without a store's.
type nullStore struct{ seq atomic.Int64 }

func (n *nullStore) LogInteraction(_ context.Context, in crm.Interaction) (crm.Logged, error) {
	if err := in.Validate(); err != nil {
		return crm.Logged{}, err
	}
	id := n.seq.Add(1)
	conv := in.ConversationID
	if conv == 0 {
		conv = id
	}
	return crm.Logged{CustomerID: id, ConversationID: conv, MessageID: id}, nil
}
func (n *nullStore) AddMessage(_ context.Context, m crm.Message) (crm.Message, error) { return m, nil }
func (n *nullStore) SetState(context.Context, int64, crm.State, int64, string) (crm.Conversation, error) {
	return crm.Conversation{}, nil
}
func (n *nullStore) AddOrder(_ context.Context, o crm.Order) (crm.Order, error) {
	return o, o.Validate()
}
func (n *nullStore) CreateStaff(_ context.Context, u crm.StaffUser) (crm.StaffUser, error) {
	u.ID = n.seq.Add(1)
	return u, nil
}
func (n *nullStore) StaffByEmail(context.Context, string) (crm.StaffUser, error) {
	return crm.StaffUser{}, crm.ErrNotFound
}

// BenchmarkGenerate100kNullStore is Generate's own cost for 100,000
// customers (planning, validating, driving the workers) into a store that
// keeps nothing.
func BenchmarkGenerate100kNullStore(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		mustGenerate(b, &nullStore{}, demo.Config{Customers: 100_000, Seed: 1})
	}
}
