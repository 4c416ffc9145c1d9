package webchat

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/parley-chat/parley/bot/clientip"
	"github.com/parley-chat/parley/bot/ratelimit"
)

// Limits bound what one client can ask of the server across its
// connections, on top of Config.Rate and Burst, which bound one
// connection's messages. Nil limiters limit nothing. The limiters may be
// shared with other channels (serve shares Address with the REST API).
type Limits struct {
	// Handshakes counts new connections by client address; over it a
	// handshake gets 429 with Retry-After, before the upgrade.
	Handshakes *ratelimit.Limiter[netip.Addr]
	// Visitor counts messages by visitor id over all its connections:
	// twenty tabs get the rate of one.
	Visitor *ratelimit.Limiter[string]
	// Address counts messages by client address: visitor ids are the
	// client's to choose, so a script could make a new one per connection.
	Address *ratelimit.Limiter[netip.Addr]
	// ClientKey is the address a request counts against; nil means the
	// TCP peer's (IPv6 by its /64).
	ClientKey func(*http.Request) netip.Addr
	// OnLimited, when set, is called for each refusal with the limit
	// that refused: LimitHandshake, LimitVisitor, LimitIP or
	// LimitConnection.
	OnLimited func(limit string)
}

// Limit names, as Limits.OnLimited reports them.
const (
	LimitHandshake  = "handshake"
	LimitVisitor    = "visitor"
	LimitIP         = "ip"
	LimitConnection = "connection"
)

// peerOnly is a resolver that trusts no proxy (a nil one does that).
var peerOnly *clientip.Resolver

func (l *Limits) clientKey(r *http.Request) netip.Addr {
	if l.ClientKey != nil {
		return l.ClientKey(r)
	}
	return peerOnly.Key(r)
}

func (l *Limits) limited(limit string) {
	if l.OnLimited != nil {
		l.OnLimited(limit)
	}
}

// allowHandshake checks the handshake limit, answering 429 when it is
// exceeded. The widget reconnects with a growing back-off, so a refused
// page tries again.
func (s *Server) allowHandshake(w http.ResponseWriter, addr netip.Addr) bool {
	ok, wait := s.cfg.Limits.Handshakes.Allow(addr)
	if ok {
		return true
	}
	s.cfg.Limits.limited(LimitHandshake)
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	http.Error(w, "too many new chats from your address: retry in "+strconv.Itoa(secs)+" s", http.StatusTooManyRequests)
	return false
}

// allowShared checks the visitor's and the address's message limits,
// most specific first: a visitor over its own limit does not use up
// what its address shares with others.
func (c *conn) allowShared(id string) bool {
	l := &c.s.cfg.Limits
	if ok, wait := l.Visitor.Allow(c.visitor); !ok {
		c.rateLimited(id, LimitVisitor, wait)
		return false
	}
	if ok, wait := l.Address.Allow(c.addr); !ok {
		c.rateLimited(id, LimitIP, wait)
		return false
	}
	return true
}

// rateLimited tells the widget to resend the message after the wait
// (the widget does, with the same id); nothing of it is stored.
func (c *conn) rateLimited(id, limit string, wait time.Duration) {
	c.s.cfg.Limits.limited(limit)
	c.queue(frameOut{Type: "error", Code: "rate_limited", Message: "too many messages: slow down", ID: id, RetryAfterMs: wait.Milliseconds() + 1})
}
