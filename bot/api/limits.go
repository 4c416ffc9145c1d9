package api

import (
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/parley-chat/parley/bot/clientip"
	"github.com/parley-chat/parley/bot/ratelimit"
)

// Limits bound how fast message posts are taken. Nil limiters limit
// nothing; the zero value is no limits.
type Limits struct {
	// PerAddress counts every post by the client's address (ClientKey),
	// before the body is read: a flood costs the server little.
	PerAddress *ratelimit.Limiter[netip.Addr]
	// PerCustomer counts valid posts by customer_id: one customer cannot
	// use up its office's shared address.
	PerCustomer *ratelimit.Limiter[string]
	// ClientKey is the address a request counts against; nil means the
	// TCP peer's (IPv6 by its /64).
	ClientKey func(*http.Request) netip.Addr
	// OnLimited, when set, is called for each refused post with the
	// limit that refused it: "ip" or "visitor".
	OnLimited func(limit string)
}

// Option configures Handler.
type Option func(*Limits)

// WithLimits sets the rate limits.
func WithLimits(l Limits) Option { return func(dst *Limits) { *dst = l } }

// Limit names, as OnLimited reports them.
const (
	LimitIP      = "ip"
	LimitVisitor = "visitor"
)

func (l *Limits) clientKey(r *http.Request) netip.Addr {
	if l.ClientKey != nil {
		return l.ClientKey(r)
	}
	return peerOnly.Key(r)
}

// peerOnly is a resolver that trusts no proxy (a nil one does that).
var peerOnly *clientip.Resolver

// allowAddress checks the address limit, answering 429 when it is
// exceeded.
func (l *Limits) allowAddress(w http.ResponseWriter, r *http.Request) bool {
	if l.PerAddress == nil {
		return true
	}
	ok, wait := l.PerAddress.Allow(l.clientKey(r))
	if !ok {
		l.refuse(w, LimitIP, wait, "too many requests from your address")
	}
	return ok
}

// allowCustomer checks the customer limit, answering 429 when it is
// exceeded.
func (l *Limits) allowCustomer(w http.ResponseWriter, customer string) bool {
	if l.PerCustomer == nil {
		return true
	}
	ok, wait := l.PerCustomer.Allow(customer)
	if !ok {
		l.refuse(w, LimitVisitor, wait, "too many messages for this customer")
	}
	return ok
}

// refuse answers 429 with Retry-After in whole seconds, rounded up (a
// client waiting that long finds a token).
func (l *Limits) refuse(w http.ResponseWriter, limit string, wait time.Duration, why string) {
	if l.OnLimited != nil {
		l.OnLimited(limit)
	}
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	Error(w, http.StatusTooManyRequests, fmt.Sprintf("%s: retry in %d s; the message was not taken", why, secs))
}
