package main

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"time"
)

// The load generators run on one machine, but the server limits what
// one client address may send (ratelimits.go): from one address, 1,000
// widgets or 50 busy REST clients would look like one abusive script.
// On a loopback target each simulated customer therefore sends from its
// own source address in 127.0.0.0/8, all of which Linux answers on lo,
// and the server sees many customers, as it would in production.

// spreadable reports whether target (a URL) is on IPv4 loopback, where
// source addresses can be chosen (IPv6 has one loopback address only),
// and this system lets us use them.
func spreadable(target string) bool {
	u, err := url.Parse(target)
	if err != nil {
		return false
	}
	host := u.Hostname()
	a, err := netip.ParseAddr(host)
	// localhost is dialled over IPv4 when the source address is one.
	loopback := host == "localhost" || err == nil && a.Unmap().Is4() && a.IsLoopback()
	return loopback && canBindLoopback()
}

// canBindLoopback reports whether addresses of 127.0.0.0/8 other than
// 127.0.0.1 are usable (Linux: all of them are on lo; macOS has only
// 127.0.0.1 unless aliases are added).
var canBindLoopback = sync.OnceValue(func() bool {
	ln, err := net.Listen("tcp", netip.AddrPortFrom(sourceAddr(0), 0).String())
	if err != nil {
		return false
	}
	ln.Close()
	return true
})

// sourceAddr is slot i's source address: 127.1.0.1, 127.1.0.2, ...,
// skipping .0 and .255 in the last octet; never 127.0.0.1.
func sourceAddr(i int) netip.Addr {
	n := max(i, 0)
	d := 1 + n%254
	n /= 254
	c := n % 256
	n /= 256
	b := 1 + n%255
	return netip.AddrFrom4([4]byte{127, byte(b), byte(c), byte(d)})
}

// dialerFrom dials from a fixed source address (any port).
func dialerFrom(src netip.Addr) *net.Dialer {
	return &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
}

// loadClients hands out HTTP clients: one per slot, each from its own
// source address, when spreading; else one shared client.
type loadClients struct {
	spread bool
	shared *http.Client

	mu      sync.Mutex
	clients map[int]*http.Client
}

// newLoadClients returns the clients for a run against target with
// conns concurrent connections in all; spread asks for a source address
// per slot, which only a loopback target allows.
func newLoadClients(target string, conns int, spread bool) *loadClients {
	return &loadClients{
		spread:  spread && spreadable(target),
		shared:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}, Timeout: 30 * time.Second},
		clients: map[int]*http.Client{},
	}
}

// client returns slot's HTTP client. One slot sends one request at a
// time, so its own transport keeps one connection.
func (l *loadClients) client(slot int) *http.Client {
	if !l.spread {
		return l.shared
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.clients[slot]
	if !ok {
		d := dialerFrom(sourceAddr(slot))
		c = &http.Client{Transport: &http.Transport{
			DialContext:         d.DialContext,
			MaxIdleConnsPerHost: 1,
			IdleConnTimeout:     90 * time.Second,
		}, Timeout: 30 * time.Second}
		l.clients[slot] = c
	}
	return c
}

// wsClient returns slot's HTTP client for WebSocket handshakes (nil:
// the default), without a timeout: the dial's context bounds it.
func (l *loadClients) wsClient(slot int) *http.Client {
	if !l.spread {
		return nil
	}
	return &http.Client{Transport: &http.Transport{DialContext: dialerFrom(sourceAddr(slot)).DialContext}}
}

// close releases the idle connections.
func (l *loadClients) close() {
	l.shared.CloseIdleConnections()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.clients {
		c.CloseIdleConnections()
	}
}
