package clientip_test

import (
	"net/http"
	"testing"

	"github.com/parley-chat/parley/bot/clientip"
)

// FuzzAddr: whatever a client puts in X-Forwarded-For and whatever the
// peer address looks like, Addr never panics; from an untrusted peer the
// header changes nothing; from a trusted one the answer is the peer or
// an address the header named.
func FuzzAddr(f *testing.F) {
	for _, s := range [][2]string{
		{"10.0.0.5:1234", "203.0.113.7"},
		{"10.0.0.5:1234", "203.0.113.7, 10.0.0.9"},
		{"198.51.100.1:80", "1.2.3.4"},
		{"[2001:db8::1]:443", "2001:db8:1::5, , garbage"},
		{"10.0.0.5:1234", "[2001:db8::1]:99,unknown,10.1.2.3"},
		{"not an address", "1.1.1.1"},
		{"10.0.0.5:1234", "\x00\xff,%,::ffff:1.2.3.4"},
	} {
		f.Add(s[0], s[1])
	}
	trusted, err := clientip.ParsePrefixes("10.0.0.0/8, 2001:db8::/32")
	if err != nil {
		f.Fatal(err)
	}
	r := clientip.New(trusted)
	f.Fuzz(func(t *testing.T, remote, xff string) {
		with := &http.Request{RemoteAddr: remote, Header: http.Header{"X-Forwarded-For": {xff}}}
		without := &http.Request{RemoteAddr: remote, Header: http.Header{}}
		got, peer := r.Addr(with), r.Addr(without)
		trustedPeer := false
		for _, p := range trusted {
			trustedPeer = trustedPeer || (peer.IsValid() && p.Contains(peer))
		}
		if !trustedPeer {
			if got != peer {
				t.Fatalf("untrusted peer %q: X-Forwarded-For %q changed the client from %v to %v", remote, xff, peer, got)
			}
		}
		_ = clientip.Key(got)
	})
}
