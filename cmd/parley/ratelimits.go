package main

import (
	"flag"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/parley-chat/parley/bot/api"
	"github.com/parley-chat/parley/bot/clientip"
	"github.com/parley-chat/parley/bot/metrics"
	"github.com/parley-chat/parley/bot/ratelimit"
	"github.com/parley-chat/parley/bot/webchat"
)

// Default rate limits: generous for people, tight for scripts.
//
//   - Messages per client address (REST and web chat together): 20/s,
//     bursts of 40. A person sends a message every 5 to 20 s, so this is
//     100 to 400 customers chatting at once behind one office or mobile
//     carrier NAT; a script posting in a loop does hundreds a second.
//   - Messages per customer (REST customer_id, web chat visitor over all
//     its tabs): 2/s, bursts of 10, as the widget's own per-connection
//     bucket: nobody types two messages a second for long, and the burst
//     covers the widget resending everything typed while it was offline
//     at once when it reconnects, and quick replies clicked in a row.
//   - New web chat connections per address: 5/s, bursts of 20. A page
//     view or a reconnect opens one; 20 covers an office's widgets all
//     reconnecting after a restart of the server, 5/s is 300 page views
//     a minute from one address.
const (
	defaultIPRate, defaultIPBurst               = 20, 40
	defaultVisitorRate, defaultVisitorBurst     = 2, 10
	defaultHandshakeRate, defaultHandshakeBurst = 5, 20
)

// limitFlags adds the rate-limit settings to serve's flags.
func limitFlags(fs *flag.FlagSet, cfg *serveConfig) {
	fs.Float64Var(&cfg.ipRate, "ip-rate", defaultIPRate, "messages per second one client address may send, REST API and web chat together (0: no limit)")
	fs.IntVar(&cfg.ipBurst, "ip-burst", defaultIPBurst, "messages one client address may send at once")
	fs.Float64Var(&cfg.visitorRate, "visitor-rate", defaultVisitorRate, "messages per second one customer may send: a REST customer_id, a web chat visitor over all its tabs (0: no limit)")
	fs.IntVar(&cfg.visitorBurst, "visitor-burst", defaultVisitorBurst, "messages one customer may send at once")
	fs.Float64Var(&cfg.handshakeRate, "handshake-rate", defaultHandshakeRate, "new web chat connections per second from one client address (0: no limit)")
	fs.IntVar(&cfg.handshakeBurst, "handshake-burst", defaultHandshakeBurst, "new web chat connections one client address may open at once")
	fs.StringVar(&cfg.trustedProxies, "trusted-proxies", "", "networks of the reverse proxies in front of the server, comma-separated CIDRs (e.g. 10.0.0.0/8): from them the client's address is read from X-Forwarded-For (default: none, the TCP peer is the client)")
}

// checkLimits reports the rate-limit settings' problems, each with
// where it came from, for applyConfig.
func checkLimits(get func(string) string, from func(string) string) []error {
	var errs []error
	for _, l := range []struct{ rate, burst string }{{"ip-rate", "ip-burst"}, {"visitor-rate", "visitor-burst"}, {"handshake-rate", "handshake-burst"}} {
		rate, err := strconv.ParseFloat(get(l.rate), 64)
		if err != nil || rate < 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
			errs = append(errs, fmt.Errorf("%s%s %q: want a number of events per second, 0 or more (0: no limit)", from(l.rate), l.rate, get(l.rate)))
			continue
		}
		if burst, err := strconv.Atoi(get(l.burst)); err == nil && rate > 0 && burst < 1 {
			errs = append(errs, fmt.Errorf("%s%s %d: want at least 1 while %s is on (set %s 0 to turn the limit off)", from(l.burst), l.burst, burst, l.rate, l.rate))
		}
	}
	if _, err := clientip.ParsePrefixes(get("trusted-proxies")); err != nil {
		errs = append(errs, fmt.Errorf("%strusted-proxies: %w", from("trusted-proxies"), err))
	}
	return errs
}

// limits are the server's rate limiters, shared by the channels: one
// address's messages count the same over REST and web chat.
type limits struct {
	clients     *clientip.Resolver
	address     *ratelimit.Limiter[netip.Addr]
	apiCustomer *ratelimit.Limiter[string]
	webVisitor  *ratelimit.Limiter[string]
	handshakes  *ratelimit.Limiter[netip.Addr]
	m           *metrics.Metrics
}

func newLimits(cfg serveConfig, m *metrics.Metrics) (*limits, error) {
	trusted, err := clientip.ParsePrefixes(cfg.trustedProxies)
	if err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	l := &limits{clients: clientip.New(trusted), m: m}
	if cfg.ipRate > 0 {
		l.address = ratelimit.New[netip.Addr](ratelimit.Limit{Rate: cfg.ipRate, Burst: cfg.ipBurst})
	}
	if cfg.visitorRate > 0 {
		// Two limiters: an API customer_id and a web visitor id are
		// different names, even when they are spelled the same.
		l.apiCustomer = ratelimit.New[string](ratelimit.Limit{Rate: cfg.visitorRate, Burst: cfg.visitorBurst})
		l.webVisitor = ratelimit.New[string](ratelimit.Limit{Rate: cfg.visitorRate, Burst: cfg.visitorBurst})
	}
	if cfg.handshakeRate > 0 {
		l.handshakes = ratelimit.New[netip.Addr](ratelimit.Limit{Rate: cfg.handshakeRate, Burst: cfg.handshakeBurst})
	}
	return l, nil
}

func (l *limits) clientKey(r *http.Request) netip.Addr { return l.clients.Key(r) }

func (l *limits) api() api.Limits {
	return api.Limits{
		PerAddress: l.address, PerCustomer: l.apiCustomer, ClientKey: l.clientKey,
		OnLimited: func(limit string) { l.m.RateLimited(metrics.SurfaceAPI, limit) },
	}
}

func (l *limits) webchat() webchat.Limits {
	return webchat.Limits{
		Handshakes: l.handshakes, Visitor: l.webVisitor, Address: l.address, ClientKey: l.clientKey,
		OnLimited: func(limit string) { l.m.RateLimited(metrics.SurfaceWebChat, limit) },
	}
}
