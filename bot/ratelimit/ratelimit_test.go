package ratelimit_test

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/ratelimit"
)

// clock is a fake time source the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestAllow plays a script of events on one limiter: each step advances
// the fake clock, then asks for a key.
func TestAllow(t *testing.T) {
	type step struct {
		advance time.Duration
		key     string
		ok      bool
		retry   time.Duration // when refused
	}
	tests := []struct {
		name  string
		limit ratelimit.Limit
		steps []step
	}{
		{"burst, then one per interval", ratelimit.Limit{Rate: 2, Burst: 3}, []step{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0},
			{0, "a", false, 500 * time.Millisecond},
			{100 * time.Millisecond, "a", false, 400 * time.Millisecond}, // 0.2 tokens
			{400 * time.Millisecond, "a", true, 0},                       // 1 token
			{0, "a", false, 500 * time.Millisecond},
		}},
		{"keys are independent", ratelimit.Limit{Rate: 1, Burst: 1}, []step{
			{0, "a", true, 0}, {0, "a", false, time.Second},
			{0, "b", true, 0}, {0, "b", false, time.Second},
			{time.Second, "a", true, 0},
		}},
		{"refill stops at the burst", ratelimit.Limit{Rate: 10, Burst: 2}, []step{
			{0, "a", true, 0},
			{time.Hour, "a", true, 0}, {0, "a", true, 0}, {0, "a", false, 100 * time.Millisecond},
		}},
		{"a refused event takes nothing", ratelimit.Limit{Rate: 1, Burst: 1}, []step{
			{0, "a", true, 0},
			{0, "a", false, time.Second}, {0, "a", false, time.Second}, {0, "a", false, time.Second},
			{time.Second, "a", true, 0},
		}},
		{"slow rate", ratelimit.Limit{Rate: 0.1, Burst: 1}, []step{
			{0, "a", true, 0}, {0, "a", false, 10 * time.Second},
			{9 * time.Second, "a", false, time.Second}, {time.Second, "a", true, 0},
		}},
		{"a clock set back refills nothing", ratelimit.Limit{Rate: 1, Burst: 1}, []step{
			{0, "a", true, 0}, {-10 * time.Second, "a", false, time.Second}, {11 * time.Second, "a", true, 0},
		}},
		{"burst below one counts as one", ratelimit.Limit{Rate: 1, Burst: 0}, []step{
			{0, "a", true, 0}, {0, "a", false, time.Second},
		}},
		{"no rate, no limit", ratelimit.Limit{Rate: 0, Burst: 1}, []step{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			l := ratelimit.New[string](tt.limit, ratelimit.WithClock(c.Now))
			var at time.Duration
			for i, s := range tt.steps {
				c.Advance(s.advance)
				at += s.advance
				ok, retry := l.Allow(s.key)
				if ok != s.ok || retry != s.retry {
					t.Errorf("step %d (%q at %v, limit %+v): got (%v, %v), want (%v, %v)", i, s.key, at, tt.limit, ok, retry, s.ok, s.retry)
				}
			}
		})
	}
}

func TestNilAllowsEverything(t *testing.T) {
	var l *ratelimit.Limiter[string]
	for i := range 100 {
		if ok, retry := l.Allow("a"); !ok || retry != 0 {
			t.Fatalf("nil limiter, event %d: got (%v, %v), want (true, 0)", i, ok, retry)
		}
	}
	if n := l.Len(); n != 0 {
		t.Errorf("nil limiter Len = %d, want 0", n)
	}
	u := ratelimit.New[string](ratelimit.Limit{})
	u.Allow("a")
	if n := u.Len(); n != 0 {
		t.Errorf("an unlimited limiter keeps %d keys, want 0", n)
	}
}

// Keys whose buckets have refilled are forgotten as other keys come.
func TestIdleKeysForgotten(t *testing.T) {
	c := newClock()
	l := ratelimit.New[int](ratelimit.Limit{Rate: 2, Burst: 4}, ratelimit.WithClock(c.Now)) // refills in 2 s
	for k := range 100 {
		l.Allow(k)
	}
	if n := l.Len(); n != 100 {
		t.Fatalf("after 100 keys: Len = %d, want 100", n)
	}
	c.Advance(1999 * time.Millisecond)
	l.Allow(1000)
	if n := l.Len(); n != 101 {
		t.Fatalf("before the refill time: Len = %d, want 101 (nothing idle yet)", n)
	}
	c.Advance(time.Millisecond)
	for k := range 60 {
		l.Allow(2000 + k) // each forgets up to two idle keys
	}
	// 101 + 60 keys, of which the first 100 have refilled and go; key
	// 1000, used 1 ms later, has not and stays.
	if n := l.Len(); n != 61 {
		t.Errorf("after the refill time and 60 new keys: Len = %d, want 61", n)
	}
	// A forgotten key starts with a full bucket, as it would have had.
	for i := range 4 {
		if ok, _ := l.Allow(5); !ok {
			t.Errorf("forgotten key 5, event %d: refused, want a full bucket", i)
		}
	}
}

// At the cap the least recently used key is evicted; the others keep
// their state.
func TestMaxKeys(t *testing.T) {
	c := newClock()
	l := ratelimit.New[string](ratelimit.Limit{Rate: 1, Burst: 1}, ratelimit.WithClock(c.Now), ratelimit.WithMaxKeys(3))
	for _, k := range []string{"a", "b", "c"} {
		l.Allow(k)
	}
	l.Allow("a") // refused, but used: "b" is now the oldest
	if ok, _ := l.Allow("d"); !ok {
		t.Fatal("a new key at the cap was refused, want allowed")
	}
	if n := l.Len(); n != 3 {
		t.Errorf("Len = %d, want the cap 3", n)
	}
	for _, tc := range []struct {
		key string
		ok  bool
	}{{"a", false}, {"c", false}, {"d", false}, {"b", true}} { // b was evicted: a fresh bucket
		if ok, _ := l.Allow(tc.key); ok != tc.ok {
			t.Errorf("after the eviction, %q: allowed %v, want %v", tc.key, ok, tc.ok)
		}
	}
	// A cap of one and many keys: no panic, one key.
	one := ratelimit.New[int](ratelimit.Limit{Rate: 1, Burst: 1}, ratelimit.WithClock(c.Now), ratelimit.WithMaxKeys(0))
	for k := range 1000 {
		one.Allow(k % 7)
	}
	if n := one.Len(); n != 1 {
		t.Errorf("cap 1: Len = %d, want 1", n)
	}
}

// Many goroutines on shared keys with the clock stopped: exactly the
// burst of each key is allowed.
func TestConcurrent(t *testing.T) {
	c := newClock()
	const keys, burst = 8, 50
	l := ratelimit.New[int](ratelimit.Limit{Rate: 1, Burst: burst}, ratelimit.WithClock(c.Now))
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				if ok, _ := l.Allow((g + i) % keys); ok {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != keys*burst {
		t.Errorf("16 goroutines × 200 events on %d keys of burst %d: %d allowed, want %d", keys, burst, got, keys*burst)
	}
}

func BenchmarkAllow(b *testing.B) {
	lim := ratelimit.Limit{Rate: 1e12, Burst: 1 << 30} // never refuses: measure the bookkeeping
	b.Run("hot-key", func(b *testing.B) {
		l := ratelimit.New[netip.Addr](lim)
		a := netip.MustParseAddr("192.0.2.1")
		b.ReportAllocs()
		for b.Loop() {
			l.Allow(a)
		}
	})
	b.Run("hot-key-parallel", func(b *testing.B) {
		l := ratelimit.New[netip.Addr](lim)
		a := netip.MustParseAddr("192.0.2.1")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Allow(a)
			}
		})
	})
	// Many keys: a million addresses through a limiter capped at the
	// default, so most calls evict.
	b.Run("many-keys", func(b *testing.B) {
		l := ratelimit.New[netip.Addr](lim)
		addrs := make([]netip.Addr, 1<<20)
		for i := range addrs {
			addrs[i] = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			l.Allow(addrs[i&(len(addrs)-1)])
			i++
		}
	})
	b.Run("visitor-ids", func(b *testing.B) {
		l := ratelimit.New[string](lim)
		ids := make([]string, 1<<12)
		for i := range ids {
			ids[i] = fmt.Sprintf("v_%024x", i)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			l.Allow(ids[i&(len(ids)-1)])
			i++
		}
	})
}
