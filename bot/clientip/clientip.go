// Package clientip finds the address of the client behind an HTTP
// request, for limits and logs: the TCP peer, or, when the peer is a
// proxy the operator trusts, the address that proxy saw, from
// X-Forwarded-For.
//
// X-Forwarded-For is a list each proxy appends its peer to, so only its
// right end is written by proxies we know; anything to the left may be
// the client's own invention. The client is therefore the right-most
// address that is not a trusted proxy. From a peer that is not trusted
// the header is ignored altogether: anyone can send it.
package clientip

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds client addresses. A nil *Resolver trusts no proxy.
// It is safe for concurrent use.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a resolver trusting the proxies in the given networks.
func New(trusted []netip.Prefix) *Resolver {
	r := &Resolver{}
	for _, p := range trusted {
		if p.IsValid() {
			r.trusted = append(r.trusted, p.Masked())
		}
	}
	return r
}

// ParsePrefixes reads a comma-separated list of networks (CIDR, e.g.
// 10.0.0.0/8) and single addresses; empty items are skipped.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("%q is not a network (want CIDR such as 10.0.0.0/8): %w", item, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or a network: %w", item, err)
		}
		a = a.Unmap().WithZone("")
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Addr returns the client's address; the zero Addr when the request's
// RemoteAddr cannot be read (then every such request is one client).
func (r *Resolver) Addr(req *http.Request) netip.Addr {
	peer := parsePeer(req.RemoteAddr)
	if !peer.IsValid() || !r.isTrusted(peer) {
		return peer
	}
	client := peer
	values := req.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for {
			j := strings.LastIndexByte(v, ',')
			a, ok := parseHop(v[j+1:])
			if !ok {
				// A trusted proxy passed on something unreadable: nothing
				// to its left can be vouched for, so the client is the
				// last hop known.
				return client
			}
			client = a
			if !r.isTrusted(a) {
				return a
			}
			if j < 0 {
				break
			}
			v = v[:j]
		}
	}
	// Every hop is a trusted proxy (a request from inside): the farthest.
	return client
}

// Key returns the client's address as limits count it: Key(Addr(req)).
func (r *Resolver) Key(req *http.Request) netip.Addr { return Key(r.Addr(req)) }

// Key is the unit a client is counted in: an IPv4 address, or an IPv6
// address's /64, since one customer (a home, a phone) is usually given
// a whole /64 and could otherwise take a new address per request.
func Key(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.WithZone("").Prefix(64)
		return p.Addr()
	}
	return a
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	if r == nil {
		return false
	}
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parsePeer reads RemoteAddr ("192.0.2.1:5678", "[2001:db8::1]:443").
func parsePeer(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}

// parseHop reads one X-Forwarded-For entry: an address, with a port or
// in brackets as some proxies write it.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}
