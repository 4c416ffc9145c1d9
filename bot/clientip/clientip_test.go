package clientip_test

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/parley-chat/parley/bot/clientip"
)

func TestAddr(t *testing.T) {
	trusted, err := clientip.ParsePrefixes("10.0.0.0/8, 192.168.1.7, 2001:db8:ffff::/48")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		trusted bool // the resolver trusts the proxies above (else none)
		peer    string
		xff     []string // X-Forwarded-For headers, in order
		want    string   // "" for the zero Addr
	}{
		{"peer, no header", true, "203.0.113.9:5555", nil, "203.0.113.9"},
		{"forged header from an untrusted peer", true, "203.0.113.9:5555", []string{"1.2.3.4"}, "203.0.113.9"},
		{"forged header, no proxy trusted", false, "10.1.2.3:5555", []string{"1.2.3.4"}, "10.1.2.3"},
		{"trusted proxy", true, "10.1.2.3:5555", []string{"198.51.100.4"}, "198.51.100.4"},
		{"trusted single address", true, "192.168.1.7:80", []string{"198.51.100.4"}, "198.51.100.4"},
		{"neighbour of a trusted address", true, "192.168.1.8:80", []string{"198.51.100.4"}, "192.168.1.8"},
		{"client-forged left part is skipped", true, "10.1.2.3:5555", []string{"6.6.6.6, 198.51.100.4"}, "198.51.100.4"},
		{"two trusted proxies", true, "10.1.2.3:5555", []string{"6.6.6.6, 198.51.100.4, 10.9.9.9"}, "198.51.100.4"},
		{"several headers are one list", true, "10.1.2.3:5555", []string{"6.6.6.6, 198.51.100.4", "10.9.9.9"}, "198.51.100.4"},
		{"forged trusted address on the left", true, "10.1.2.3:5555", []string{"10.0.0.1, 198.51.100.4"}, "198.51.100.4"},
		{"all hops trusted: the farthest", true, "10.1.2.3:5555", []string{"10.5.5.5, 10.9.9.9"}, "10.5.5.5"},
		{"trusted proxy, no header", true, "10.1.2.3:5555", nil, "10.1.2.3"},
		{"garbage from the trusted proxy: the proxy", true, "10.1.2.3:5555", []string{"198.51.100.4, not-an-ip"}, "10.1.2.3"},
		{"garbage behind a trusted hop: that hop", true, "10.1.2.3:5555", []string{"evil, 10.9.9.9"}, "10.9.9.9"},
		{"empty entry", true, "10.1.2.3:5555", []string{"198.51.100.4, "}, "10.1.2.3"},
		{"hop with a port", true, "10.1.2.3:5555", []string{"198.51.100.4:4711"}, "198.51.100.4"},
		{"IPv6 hop in brackets", true, "10.1.2.3:5555", []string{"[2001:db8:1::5]"}, "2001:db8:1::5"},
		{"IPv6 hop with a port", true, "10.1.2.3:5555", []string{"[2001:db8:1::5]:443"}, "2001:db8:1::5"},
		{"IPv6 trusted proxy", true, "[2001:db8:ffff::1]:443", []string{"2001:db8:1::5"}, "2001:db8:1::5"},
		{"IPv6 peer", true, "[2001:db8:1::5]:443", []string{"1.2.3.4"}, "2001:db8:1::5"},
		{"IPv4-mapped peer", true, "[::ffff:10.1.2.3]:80", []string{"198.51.100.4"}, "198.51.100.4"},
		{"IPv4-mapped hop", true, "10.1.2.3:80", []string{"::ffff:198.51.100.4"}, "198.51.100.4"},
		{"peer with a zone", false, "[fe80::1%eth0]:80", nil, "fe80::1"},
		{"peer without a port", false, "203.0.113.9", nil, "203.0.113.9"},
		{"unreadable peer", true, "pipe", []string{"1.2.3.4"}, ""},
		{"empty peer", true, "", nil, ""},
		{"a very long forged header", true, "10.1.2.3:5555", []string{strings.Repeat("1.1.1.1,", 10000) + "198.51.100.4"}, "198.51.100.4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := clientip.New(nil)
			if tt.trusted {
				r = clientip.New(trusted)
			}
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			got := r.Addr(req)
			want := netip.Addr{}
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			if got != want {
				t.Errorf("peer %q, X-Forwarded-For %q (trusting %v): got %v, want %v", tt.peer, tt.xff, tt.trusted, got, want)
			}
		})
	}
	var none *clientip.Resolver
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "10.1.2.3:1"
	req.Header.Set("X-Forwarded-For", "1.2.3.4")
	if got := none.Addr(req); got != netip.MustParseAddr("10.1.2.3") {
		t.Errorf("nil resolver: got %v, want the peer 10.1.2.3", got)
	}
}

func TestKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"198.51.100.4", "198.51.100.4"},
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::"},
		{"2001:db8:1:2::1", "2001:db8:1:2::"},
		{"2001:db8:1:3::1", "2001:db8:1:3::"},
		{"::ffff:198.51.100.4", "198.51.100.4"},
		{"fe80::1%eth0", "fe80::"},
		{"::1", "::"},
	} {
		if got := clientip.Key(netip.MustParseAddr(tc.in)); got != netip.MustParseAddr(tc.want) {
			t.Errorf("Key(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if got := clientip.Key(netip.Addr{}); got.IsValid() {
		t.Errorf("Key(zero) = %v, want the zero Addr", got)
	}
	// Two addresses of one /64 are one client; of two /64s, two.
	r := clientip.New(nil)
	key := func(peer string) netip.Addr {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = peer
		return r.Key(req)
	}
	if a, b := key("[2001:db8:1:2::1]:1"), key("[2001:db8:1:2::ffff]:2"); a != b {
		t.Errorf("one /64: keys %v and %v, want equal", a, b)
	}
	if a, b := key("[2001:db8:1:2::1]:1"), key("[2001:db8:1:3::1]:2"); a == b {
		t.Errorf("two /64s: keys both %v, want different", a)
	}
}

func TestParsePrefixes(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string // the prefixes joined by spaces
		errPart string
	}{
		{"", "", ""},
		{" , ", "", ""},
		{"10.0.0.0/8", "10.0.0.0/8", ""},
		{"10.1.2.3/8, 192.168.1.7 ,::1, fd00::/8", "10.0.0.0/8 192.168.1.7/32 ::1/128 fd00::/8", ""},
		{"::ffff:10.0.0.1", "10.0.0.1/32", ""},
		{"10.0.0.0/33", "", `"10.0.0.0/33" is not a network`},
		{"10.0.0.0/8,proxy.internal", "", `"proxy.internal" is not an address`},
	} {
		ps, err := clientip.ParsePrefixes(tc.in)
		var got []string
		for _, p := range ps {
			got = append(got, p.String())
		}
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("ParsePrefixes(%q): %v, %v; want an error with %q", tc.in, got, err, tc.errPart)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("ParsePrefixes(%q) = %q, %v; want %q", tc.in, strings.Join(got, " "), err, tc.want)
		}
	}
}
