package main

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
)

// TestSourceAddrs: on loopback, each load slot sends from its own
// address, and the server sees it.
func TestSourceAddrs(t *testing.T) {
	for _, tc := range []struct {
		slot int
		want string
	}{{0, "127.1.0.1"}, {1, "127.1.0.2"}, {253, "127.1.0.254"}, {254, "127.1.1.1"}, {254 * 256, "127.2.0.1"}, {-5, "127.1.0.1"}} {
		if got := sourceAddr(tc.slot); got != netip.MustParseAddr(tc.want) {
			t.Errorf("sourceAddr(%d) = %v, want %v", tc.slot, got, tc.want)
		}
	}
	seen := map[netip.Addr]int{}
	for i := range 200_000 {
		a := sourceAddr(i)
		if b := a.As4(); b[0] != 127 || b[3] == 0 || b[3] == 255 || a == netip.MustParseAddr("127.0.0.1") {
			t.Fatalf("sourceAddr(%d) = %v, want a host address of 127/8 other than 127.0.0.1", i, a)
		}
		if j, dup := seen[a]; dup {
			t.Fatalf("sourceAddr(%d) = sourceAddr(%d) = %v", i, j, a)
		}
		seen[a] = i
	}
	if !canBindLoopback() {
		t.Skip("this system has no 127/8 addresses besides 127.0.0.1: the load generator sends from one address")
	}
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"http://127.0.0.1:8080", true}, {"http://localhost:8080", true}, {"ws://127.0.0.1:9/ws", true}, {"http://127.9.9.9", true},
		{"http://[::1]:8080", false}, {"http://shop.example", false}, {"http://192.0.2.1:80", false}, {"::not a url", false},
	} {
		if got := spreadable(tc.url); got != tc.want {
			t.Errorf("spreadable(%q) = %v, want %v", tc.url, got, tc.want)
		}
	}
	// The server sees each slot's own address.
	var mu sync.Mutex
	var peers []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		peers = append(peers, r.RemoteAddr)
		mu.Unlock()
	}))
	defer ts.Close()
	for _, spread := range []bool{true, false} {
		peers = nil
		lc := newLoadClients(ts.URL, 4, spread)
		for slot := range 3 {
			resp, err := lc.client(slot).Get(ts.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		lc.close()
		for slot, p := range peers {
			want := "127.0.0.1"
			if spread {
				want = sourceAddr(slot).String()
			}
			if got := netip.MustParseAddrPort(p).Addr().String(); got != want {
				t.Errorf("spread %v, slot %d: the server saw %s, want %s", spread, slot, got, want)
			}
		}
	}
}
