// Package ratelimit is a keyed token-bucket limiter: one bucket per
// key (a client address, a visitor id), in bounded memory.
//
// A bucket holds up to Burst tokens and gains Rate tokens a second; each
// allowed event takes one. A key unused long enough for its bucket to
// refill is indistinguishable from a new key, so it is forgotten; and
// the number of keys has a hard cap, so a client rotating addresses
// cannot grow memory without bound: at the cap the key unused the
// longest is evicted. Both happen inside Allow, in constant time: there
// is no background goroutine to own.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Limit is a token bucket's parameters: Rate tokens a second, at most
// Burst at once. A Rate of zero or less means no limit.
type Limit struct {
	Rate  float64
	Burst int
}

// Unlimited reports whether l limits nothing.
func (l Limit) Unlimited() bool { return !(l.Rate > 0) || math.IsInf(l.Rate, 1) }

// DefaultMaxKeys bounds a limiter's keys unless WithMaxKeys says
// otherwise. Only keys active within one refill time (Burst/Rate, a few
// seconds for the server's limits) are kept, so 65,536 is that many
// distinct clients in those seconds; a full limiter holds ~9 MB.
const DefaultMaxKeys = 1 << 16

// Option configures a Limiter.
type Option func(*options)

type options struct {
	maxKeys int
	now     func() time.Time
}

// WithMaxKeys sets the cap on the number of keys (at least 1).
func WithMaxKeys(n int) Option { return func(o *options) { o.maxKeys = max(n, 1) } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Limiter limits events per key. It is safe for concurrent use. A nil
// *Limiter allows everything, so a disabled limit needs no special case.
type Limiter[K comparable] struct {
	limit   Limit
	burst   float64
	refill  time.Duration // from empty to full: an older bucket is full
	maxKeys int
	now     func() time.Time
	epoch   time.Time

	mu    sync.Mutex
	index map[K]int32
	// slots holds the buckets in a doubly linked list by last use, most
	// recent at head; indices instead of pointers keep the list out of
	// the collector's way and reuse freed slots.
	slots      []slot[K]
	head, tail int32 // -1 when empty
	free       int32 // a free slot, chained through next; -1 when none
}

type slot[K comparable] struct {
	key        K
	tokens     float64
	last       time.Duration // since epoch
	prev, next int32
}

// New returns a limiter of l.
func New[K comparable](l Limit, opts ...Option) *Limiter[K] {
	o := options{maxKeys: DefaultMaxKeys, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	burst := max(l.Burst, 1)
	lim := &Limiter[K]{
		limit: Limit{Rate: l.Rate, Burst: burst}, burst: float64(burst),
		maxKeys: o.maxKeys, now: o.now, epoch: o.now(),
		index: map[K]int32{}, head: -1, tail: -1, free: -1,
	}
	if !lim.limit.Unlimited() {
		lim.refill = time.Duration(math.Ceil(float64(burst) / l.Rate * float64(time.Second)))
	}
	return lim
}

// Limit returns the limiter's parameters.
func (l *Limiter[K]) Limit() Limit {
	if l == nil {
		return Limit{}
	}
	return l.limit
}

// Allow takes a token from key's bucket. When there is none it takes
// nothing and says how long until there will be one.
func (l *Limiter[K]) Allow(key K) (ok bool, retryAfter time.Duration) {
	if l == nil || l.limit.Unlimited() {
		return true, 0
	}
	now := l.now().Sub(l.epoch)
	l.mu.Lock()
	defer l.mu.Unlock()
	// Forget up to two buckets that have refilled: amortized, this keeps
	// only the active keys without ever scanning them all.
	for range 2 {
		if l.tail < 0 || now-l.slots[l.tail].last < l.refill {
			break
		}
		l.remove(l.tail)
	}
	i, found := l.index[key]
	if !found {
		if len(l.index) >= l.maxKeys {
			// At the cap, the least recently used key goes. Its bucket
			// may not be full yet: it gets a fresh start, which an
			// attacker cycling more keys than the cap could use, but it
			// bounds memory and never turns a newcomer away.
			l.remove(l.tail)
		}
		i = l.alloc(key, now)
	} else {
		s := &l.slots[i]
		if d := now - s.last; d > 0 { // a clock set back refills nothing
			s.tokens = min(l.burst, s.tokens+d.Seconds()*l.limit.Rate)
			s.last = now
		}
		l.moveToHead(i)
	}
	s := &l.slots[i]
	if s.tokens >= 1 {
		s.tokens--
		return true, 0
	}
	return false, time.Duration(math.Ceil((1 - s.tokens) / l.limit.Rate * float64(time.Second)))
}

// Len returns the number of keys the limiter holds.
func (l *Limiter[K]) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.index)
}

// alloc puts a new key with a full bucket at the head.
func (l *Limiter[K]) alloc(key K, now time.Duration) int32 {
	var i int32
	if l.free >= 0 {
		i = l.free
		l.free = l.slots[i].next
	} else {
		l.slots = append(l.slots, slot[K]{})
		i = int32(len(l.slots) - 1)
	}
	l.slots[i] = slot[K]{key: key, tokens: l.burst, last: now, prev: -1, next: l.head}
	if l.head >= 0 {
		l.slots[l.head].prev = i
	}
	l.head = i
	if l.tail < 0 {
		l.tail = i
	}
	l.index[key] = i
	return i
}

func (l *Limiter[K]) unlink(i int32) {
	s := &l.slots[i]
	if s.prev >= 0 {
		l.slots[s.prev].next = s.next
	} else {
		l.head = s.next
	}
	if s.next >= 0 {
		l.slots[s.next].prev = s.prev
	} else {
		l.tail = s.prev
	}
}

func (l *Limiter[K]) moveToHead(i int32) {
	if l.head == i {
		return
	}
	l.unlink(i)
	s := &l.slots[i]
	s.prev, s.next = -1, l.head
	l.slots[l.head].prev = i
	l.head = i
	if l.tail < 0 {
		l.tail = i
	}
}

func (l *Limiter[K]) remove(i int32) {
	l.unlink(i)
	delete(l.index, l.slots[i].key)
	var zero K
	l.slots[i] = slot[K]{key: zero, next: l.free} // drop the key: a string key would stay reachable
	l.free = i
}
