package auth

import (
	"sync"
	"time"
)

// Login throttling: after a few failures in a row, each further attempt
// for the same account from the same address must wait, twice as long
// each time. Nothing is locked: the same person from another address,
// and everyone else, sign in as usual. An address failing across many
// accounts (credential stuffing) is slowed on its own, later.
const (
	accountFreeFailures = 5
	addressFreeFailures = 50
	maxThrottle         = 5 * time.Minute
	// forgetAfter resets a key that has not failed for this long.
	forgetAfter = 15 * time.Minute
	maxKeys     = 100_000
)

type failures struct {
	n    int
	last time.Time
}

type throttle struct {
	mu   sync.Mutex
	now  func() time.Time
	keys map[string]*failures
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, keys: map[string]*failures{}}
}

func accountKey(email, ip string) string { return "a\x00" + email + "\x00" + ip }
func addressKey(ip string) string        { return "i\x00" + ip }

// delay is the wait after n failures when free of them are allowed.
func delay(n, free int) time.Duration {
	if n < free {
		return 0
	}
	return min(time.Second<<min(n-free, 20), maxThrottle)
}

// wait is how long until the next attempt for email from ip may be
// checked (0: now).
func (t *throttle) wait(email, ip string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var w time.Duration
	for key, free := range map[string]int{accountKey(email, ip): accountFreeFailures, addressKey(ip): addressFreeFailures} {
		f := t.keys[key]
		if f == nil {
			continue
		}
		if now.Sub(f.last) > forgetAfter {
			delete(t.keys, key)
			continue
		}
		w = max(w, f.last.Add(delay(f.n, free)).Sub(now))
	}
	return w
}

func (t *throttle) fail(email, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.keys) > maxKeys {
		for k, f := range t.keys {
			if now.Sub(f.last) > forgetAfter {
				delete(t.keys, k)
			}
		}
	}
	for _, key := range []string{accountKey(email, ip), addressKey(ip)} {
		f := t.keys[key]
		if f == nil || now.Sub(f.last) > forgetAfter {
			f = &failures{}
			t.keys[key] = f
		}
		f.n++
		f.last = now
	}
}

func (t *throttle) succeed(email, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.keys, accountKey(email, ip))
}
