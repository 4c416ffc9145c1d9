package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// pebble is Let's Encrypt's test ACME server, Pebble, running in the
// test process on loopback with its own TLS certificate. Its validation
// authority really connects to the server under test: names resolve
// through the test's DNS server, and the challenges go to the ports
// the server listens on.
type pebble struct {
	ln, mgmt net.Listener
	certFile string // PEM of Pebble's HTTPS certificate, for --acme-ca-cert
	keyFile  string
	dirURL   string
	logs     *syncWriter
	mu       sync.Mutex
	orders   map[string]int // new orders by identifier
	root     *x509.Certificate
	servers  []*http.Server
}

// newPebble listens for Pebble; serve starts it once the server under
// test has its ports (its validation authority needs them).
func newPebble(t *testing.T) *pebble {
	t.Helper()
	p := &pebble{logs: &syncWriter{}, orders: map[string]int{}}
	p.certFile, p.keyFile = selfSigned(t)
	var err error
	if p.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if p.mgmt, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	p.dirURL = "https://" + p.ln.Addr().String() + wfe.DirectoryPath
	t.Cleanup(func() {
		for _, s := range p.servers {
			s.Close()
		}
		p.ln.Close()
		p.mgmt.Close()
		if t.Failed() {
			t.Logf("pebble log:\n%s", p.logs.String())
		}
	})
	return p
}

// serve starts Pebble as its cmd/pebble does, with its validation
// authority sending HTTP-01 to httpPort and TLS-ALPN-01 to tlsPort on
// the addresses dnsAddr resolves names to, and fetches its root.
func (p *pebble) serve(t *testing.T, dnsAddr string, httpPort, tlsPort int) {
	t.Helper()
	logger := log.New(p.logs, "pebble ", log.Lmicroseconds)
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "the default profile"}})
	validator := va.New(logger, httpPort, tlsPort, false, dnsAddr, store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	acme := &http.Server{Handler: p.countOrders(front.Handler()), ErrorLog: logger}
	mgmt := &http.Server{Handler: front.ManagementHandler(), ErrorLog: logger}
	p.servers = append(p.servers, acme, mgmt)
	go acme.ServeTLS(p.ln, p.certFile, p.keyFile)
	go mgmt.ServeTLS(p.mgmt, p.certFile, p.keyFile)

	// The root, from the management interface, as an operator gets it.
	roots, err := loadRoots(p.certFile)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}, Timeout: 10 * time.Second}
	resp, err := hc.Get("https://" + p.mgmt.Addr().String() + wfe.RootCertPath + "0")
	if err != nil {
		t.Fatalf("pebble root: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	block, _ := pem.Decode(b)
	if resp.StatusCode != 200 || block == nil {
		t.Fatalf("pebble root: %d %q", resp.StatusCode, b)
	}
	if p.root, err = x509.ParseCertificate(block.Bytes); err != nil {
		t.Fatalf("pebble root: %v", err)
	}
}

// countOrders counts new-order requests by the names they are for (the
// JWS payload is plain base64 JSON).
func (p *pebble) countOrders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/order-plz" {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var jws struct{ Payload string }
			var order struct{ Identifiers []struct{ Value string } }
			json.Unmarshal(body, &jws)
			payload, _ := base64.RawURLEncoding.DecodeString(jws.Payload)
			json.Unmarshal(payload, &order)
			p.mu.Lock()
			for _, id := range order.Identifiers {
				p.orders[id.Value]++
			}
			p.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

func (p *pebble) ordersFor(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.orders[name]
}

// startDNS answers A queries for names (name -> IPv4) over TCP, as
// Pebble's validation authority asks with a custom resolver; anything
// else does not exist.
func startDNS(t *testing.T, names map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := dns.NewServeMux()
	mux.HandleFunc(".", func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		for _, q := range r.Question {
			ip, ok := names[strings.TrimSuffix(strings.ToLower(q.Name), ".")]
			switch {
			case !ok:
				m.Rcode = dns.RcodeNameError
			case q.Qtype == dns.TypeA:
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP(ip)})
			}
		}
		w.WriteMsg(m)
	})
	srv := &dns.Server{Listener: ln, Net: "tcp", Handler: mux}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

// autocertServe is `parley serve` with automatic certificates, started
// as the binary starts it.
type autocertServe struct {
	https, http string // the listeners' addresses
	stop        func()
	logs        *syncWriter
}

func startAutocertServe(t *testing.T, args ...string) *autocertServe {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	httpsc, httpc := make(chan string, 1), make(chan string, 1)
	done := make(chan error, 1)
	a := &autocertServe{logs: &syncWriter{}}
	cmd := &serveCommand{stdout: io.Discard, stderr: a.logs,
		listening: func(addr string) { httpsc <- addr },
		started: func(s *server) {
			if s.autoTLS == nil {
				t.Error("automatic certificates are off")
				return
			}
			s.autoTLS.listening = func(addr string) { httpc <- addr }
		},
		getenv: func(string) string { return "" },
	}
	go func() { done <- cmd.Run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...)) }()
	for a.https == "" || a.http == "" {
		select {
		case a.https = <-httpsc:
		case a.http = <-httpc:
		case err := <-done:
			cancel()
			t.Fatalf("serve exited: %v\n%s", err, a.logs.String())
		case <-time.After(30 * time.Second):
			cancel()
			t.Fatalf("server did not start\n%s", a.logs.String())
		}
	}
	stopped := false
	a.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", a.logs.String())
		}
	}
	t.Cleanup(a.stop)
	return a
}

// via is an HTTPS client for which every name is the server at addr (as
// DNS pointing the domains at it would make it) and only roots are
// trusted; it does not follow redirects.
func via(addr string, roots *x509.CertPool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
			TLSClientConfig: &tls.Config{RootCAs: roots},
		},
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	n, err2 := strconv.Atoi(p)
	if err != nil || err2 != nil {
		t.Fatalf("port of %q: %v %v", addr, err, err2)
	}
	return n
}

// TestAutocertPebble gets real certificates from Pebble as the server
// starts: TLS-ALPN-01 on the HTTPS port for one name, HTTP-01 on the
// HTTP listener for another (its TLS-ALPN-01 fails: the name resolves to
// 127.0.0.2, where only the HTTP listener is). Then it checks the chain
// against Pebble's root, the cache, the refusal of other names, the
// redirect, the web chat over TLS, and that a restart serves the cached
// certificates without an order.
func TestAutocertPebble(t *testing.T) {
	// Pebble's validation authority otherwise sleeps up to 5 s before
	// each validation, and its front end rejects 5% of nonces and reuses
	// half the authorizations at random: the test wants neither delay
	// nor chance. Validation itself stays real.
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	t.Setenv("PEBBLE_AUTHZREUSE", "0")
	if ln, err := net.Listen("tcp", "127.0.0.2:0"); err != nil {
		t.Skipf("the loopback address 127.0.0.2 is not available here (%v): the HTTP-01 name needs it", err)
	} else {
		ln.Close()
	}
	const alpnName, httpName, otherName = "chat.parley.test", "http.parley.test", "other.parley.test"
	dnsAddr := startDNS(t, map[string]string{alpnName: "127.0.0.1", httpName: "127.0.0.2", otherName: "127.0.0.1"})
	ca := newPebble(t)
	cache := filepath.Join(t.TempDir(), "certs")
	args := []string{"--db", filepath.Join(t.TempDir(), "crm.db"),
		"--autocert-domains", alpnName + "," + httpName, "--autocert-cache", cache,
		"--autocert-http-addr", "127.0.0.2:0", "--autocert-email", "ops@parley.test",
		"--acme-directory", ca.dirURL, "--acme-ca-cert", ca.certFile}
	srv := startAutocertServe(t, args...)
	ca.serve(t, dnsAddr, portOf(t, srv.http), portOf(t, srv.https))
	roots := x509.NewCertPool()
	roots.AddCert(ca.root)
	hc := via(srv.https, roots)

	// The server gets the certificates as it starts, before any visitor.
	deadline := time.Now().Add(30 * time.Second)
	for _, name := range []string{alpnName, httpName} {
		for !strings.Contains(srv.logs.String(), `"msg":"certificate obtained","name":"`+name+`"`) {
			if time.Now().After(deadline) {
				t.Fatalf("no certificate for %s 30 s after the start", name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The first requests to each name, both at once, get them.
	leaves := map[string]*x509.Certificate{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range []string{alpnName, httpName} {
		wg.Go(func() {
			resp, err := hc.Get("https://" + name + "/readyz")
			if err != nil {
				t.Errorf("GET https://%s/readyz: %v", name, err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") == "" {
				t.Errorf("GET https://%s/readyz: %d, HSTS %q; want 200 with HSTS", name, resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
			}
			leaf := resp.TLS.PeerCertificates[0]
			inter := x509.NewCertPool()
			for _, c := range resp.TLS.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter}); err != nil {
				t.Errorf("%s: the certificate does not chain to Pebble's root: %v", name, err)
			}
			if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != name {
				t.Errorf("%s: certificate names %v, want [%s]", name, leaf.DNSNames, name)
			}
			mu.Lock()
			leaves[name] = leaf
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// One order for the TLS-ALPN-01 name; two for the other: the failed
	// TLS-ALPN-01 and the HTTP-01 that passed.
	for name, want := range map[string]int{alpnName: 1, httpName: 2} {
		if got := ca.ordersFor(name); got != want {
			t.Errorf("orders for %s: got %d, want %d", name, got, want)
		}
	}
	for _, name := range []string{alpnName, httpName, "acme_account+key"} {
		if _, err := os.Stat(filepath.Join(cache, name)); err != nil {
			t.Errorf("cache: %v", err)
		}
	}
	if fi, err := os.Stat(cache); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache directory: %v, mode %v; want 0700", err, fi.Mode().Perm())
	}

	// A name not listed gets no certificate (and no order); neither does
	// a client without a name.
	for _, sni := range []string{otherName, ""} {
		conn, err := tls.Dial("tcp", srv.https, &tls.Config{ServerName: sni, RootCAs: roots, InsecureSkipVerify: sni == ""})
		if err == nil {
			conn.Close()
			t.Errorf("TLS with server name %q: handshake succeeded, want a refusal", sni)
		}
	}
	if got := ca.ordersFor(otherName); got != 0 {
		t.Errorf("orders for %s: got %d, want 0", otherName, got)
	}

	// Plain HTTP redirects to HTTPS (GET; a POST is refused), and the
	// redirect leads to the page.
	plain := via(srv.http, nil)
	for _, tc := range []struct {
		method, host string
		code         int
		location     string
	}{
		{"GET", alpnName, http.StatusMovedPermanently, "https://" + alpnName + "/healthz?probe=1"},
		{"HEAD", httpName + ":80", http.StatusMovedPermanently, "https://" + httpName + "/healthz?probe=1"},
		{"GET", "unknown.example", http.StatusMovedPermanently, "https://" + alpnName + "/healthz?probe=1"},
		{"POST", alpnName, http.StatusBadRequest, ""},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+srv.http+"/healthz?probe=1", nil)
		req.Host = tc.host
		resp, err := plain.Do(req)
		if err != nil {
			t.Fatalf("%s http://%s/healthz: %v", tc.method, tc.host, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code || resp.Header.Get("Location") != tc.location {
			t.Errorf("%s http://%s/healthz?probe=1: got %d %q, want %d %q", tc.method, tc.host, resp.StatusCode, resp.Header.Get("Location"), tc.code, tc.location)
		}
	}
	if resp, err := hc.Get("https://" + alpnName + "/healthz?probe=1"); err != nil || resp.StatusCode != 200 {
		t.Errorf("following the redirect: %v %v, want 200", err, resp)
	} else {
		resp.Body.Close()
	}

	// The web chat works over it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "wss://"+alpnName+"/ws", &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatalf("wss://%s/ws: %v", alpnName, err)
	}
	for _, msg := range []map[string]any{{"type": "hello", "visitor": "v_autocert"}, {"type": "message", "id": "a1", "text": "where is my order 12345"}} {
		b, _ := json.Marshal(msg)
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatalf("web chat send %s: %v", b, err)
		}
	}
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("web chat over TLS: no bot reply: %v", err)
		}
		var f wsFrame
		if json.Unmarshal(b, &f) == nil && f.Type == "message" && f.From == "bot" {
			break
		}
	}
	ws.Close(websocket.StatusNormalClosure, "")
	srv.stop()

	// A restart serves the cached certificates: no new order.
	srv = startAutocertServe(t, args...)
	hc = via(srv.https, roots)
	for _, name := range []string{alpnName, httpName} {
		resp, err := hc.Get("https://" + name + "/healthz")
		if err != nil {
			t.Fatalf("after a restart, GET https://%s/healthz: %v", name, err)
		}
		resp.Body.Close()
		if got, want := resp.TLS.PeerCertificates[0].SerialNumber, leaves[name].SerialNumber; got.Cmp(want) != 0 {
			t.Errorf("after a restart, %s: certificate serial %v, want the cached %v", name, got, want)
		}
	}
	for name, want := range map[string]int{alpnName: 1, httpName: 2} {
		if got := ca.ordersFor(name); got != want {
			t.Errorf("after a restart, orders for %s: got %d, want still %d", name, got, want)
		}
	}
}
