package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
	"golang.org/x/net/idna"
)

// Automatic certificates (ACME): --autocert-domains turns them on.
const (
	// defaultACMEDirectory is Let's Encrypt's production directory; its
	// staging one (https://acme-staging-v02.api.letsencrypt.org/directory)
	// has far higher rate limits for trying a setup out.
	defaultACMEDirectory = autocert.DefaultACMEDirectory
	defaultAutocertHTTP  = ":80"
	// autocertCacheDir is the cache's directory next to the CRM file.
	autocertCacheDir = "parley-certs"
	// acmeHTTPShutdown bounds the HTTP-01 listener's graceful stop: its
	// requests are a token or a redirect, nothing long-running.
	acmeHTTPShutdown = 5 * time.Second
)

// autoTLS is the automatic-certificate side of a running server: the
// ACME manager behind the HTTPS listener's certificates and the plain
// HTTP listener for HTTP-01 challenges and redirects to HTTPS.
type autoTLS struct {
	manager *autocert.Manager
	domains []string
	// http is nil when --autocert-http-addr is empty (TLS-ALPN-01 only).
	http *http.Server
	log  *slog.Logger
	// listening, when set, receives the HTTP listener's address once it
	// accepts connections (tests listen on port 0).
	listening func(addr string)
}

// checkAutocert checks the automatic-certificate settings and fills in
// the defaults that depend on other settings (the cache next to --db,
// --addr :443, --public-url https://FIRST-DOMAIN), so that `config
// print` shows them. source says where each setting came from; a
// setting missing from it has its default.
func checkAutocert(fs *flag.FlagSet, source map[string]string) []error {
	get := func(name string) string { return fs.Lookup(name).Value.String() }
	from := func(name string) string {
		if src, ok := source[name]; ok {
			return src + ": "
		}
		return ""
	}
	_, setAddr := source["addr"]
	var errs []error
	if get("autocert-domains") == "" {
		for _, name := range []string{"autocert-cache", "autocert-email", "acme-directory", "acme-ca-cert", "autocert-http-addr"} {
			if _, ok := source[name]; ok {
				errs = append(errs, fmt.Errorf("%s%s needs autocert-domains (the names to get certificates for)", from(name), name))
			}
		}
		return errs
	}
	domains, derrs := parseDomains(get("autocert-domains"))
	for _, err := range derrs {
		errs = append(errs, fmt.Errorf("%sautocert-domains: %w", from("autocert-domains"), err))
	}
	if get("tls-cert") != "" || get("tls-key") != "" {
		errs = append(errs, errors.New("autocert-domains and tls-cert/tls-key exclude each other: certificates come either from ACME or from your files"))
	}
	if u, err := url.Parse(get("acme-directory")); err != nil || u.Scheme != "https" || u.Host == "" {
		errs = append(errs, fmt.Errorf("%sacme-directory %q: want an https URL (ACME runs over TLS)", from("acme-directory"), get("acme-directory")))
	}
	if p := get("acme-ca-cert"); p != "" {
		if _, err := loadRoots(p); err != nil {
			errs = append(errs, fmt.Errorf("%sacme-ca-cert: %w", from("acme-ca-cert"), err))
		}
	}
	if e := get("autocert-email"); e != "" {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
			errs = append(errs, fmt.Errorf("%sautocert-email %q: want a plain address such as ops@example.com", from("autocert-email"), e))
		}
	}
	addr := get("addr")
	if !setAddr {
		// The default localhost:8080 is unreachable for the CA and for
		// customers: automatic certificates mean a public HTTPS port.
		addr = ":443"
		fs.Set("addr", addr)
	}
	if h := get("autocert-http-addr"); h != "" {
		if _, _, err := net.SplitHostPort(h); err != nil {
			errs = append(errs, fmt.Errorf("%sautocert-http-addr %q: want HOST:PORT, e.g. :80", from("autocert-http-addr"), h))
		} else if h == addr {
			errs = append(errs, fmt.Errorf("%sautocert-http-addr %q is also addr: HTTP and HTTPS need ports of their own", from("autocert-http-addr"), h))
		}
	}
	if dir := get("autocert-cache"); dir != "" {
		if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
			errs = append(errs, fmt.Errorf("%sautocert-cache %s: not a directory", from("autocert-cache"), dir))
		}
	} else {
		fs.Set("autocert-cache", filepath.Join(filepath.Dir(get("db")), autocertCacheDir))
	}
	if _, ok := source["public-url"]; !ok && len(domains) > 0 {
		pub := "https://" + domains[0]
		if _, port, err := net.SplitHostPort(addr); err == nil && port != "443" && port != "0" && port != "" {
			pub += ":" + port
		}
		fs.Set("public-url", pub)
	}
	return errs
}

// parseDomains reads --autocert-domains: comma-separated DNS names,
// returned in ASCII (punycode), lower case, without duplicates. Each
// problem is its own error.
func parseDomains(s string) ([]string, []error) {
	var names []string
	var errs []error
	for _, d := range strings.Split(s, ",") {
		d = strings.TrimSuffix(strings.TrimSpace(d), ".")
		if d == "" {
			continue
		}
		name, err := checkDomain(d)
		if err != nil {
			errs = append(errs, fmt.Errorf("%q: %w", d, err))
			continue
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no domain names"))
	}
	return names, errs
}

// checkDomain returns a host name as certificates carry it, or why it
// cannot get one from HTTP-01 or TLS-ALPN-01.
func checkDomain(d string) (string, error) {
	if strings.Contains(d, "*") {
		return "", errors.New("wildcards need the DNS-01 challenge, which automatic certificates do not do")
	}
	if net.ParseIP(d) != nil {
		return "", errors.New("an IP address, not a domain name")
	}
	name, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("not a domain name: %w", err)
	}
	if len(name) > 253 {
		return "", errors.New("longer than 253 characters")
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		// autocert refuses names without a dot, and so do public CAs.
		return "", errors.New("a single label: want a full name such as chat.example.com")
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' ||
			strings.ContainsFunc(l, func(c rune) bool { return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') }) {
			return "", fmt.Errorf("label %q: want 1 to 63 letters, digits and inner hyphens", l)
		}
	}
	return name, nil
}

// loadRoots reads the PEM certificates a private ACME directory's TLS
// certificate must chain to.
func loadRoots(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	n := 0
	for len(b) > 0 {
		var block *pem.Block
		if block, b = pem.Decode(b); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", path, n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return pool, nil
}

// setupAutocert makes the HTTPS listener take its certificates from the
// ACME directory (TLS-ALPN-01 answered on it) and prepares the HTTP
// listener for HTTP-01; the settings were checked by checkAutocert.
func (s *server) setupAutocert() error {
	if s.cfg.autocertDomains == "" {
		return nil
	}
	domains, errs := parseDomains(s.cfg.autocertDomains)
	if len(errs) > 0 {
		return fmt.Errorf("autocert-domains: %w", errors.Join(errs...))
	}
	// The cache holds the account key and the certificates' keys.
	if err := os.MkdirAll(s.cfg.autocertCache, 0o700); err != nil {
		return fmt.Errorf("autocert cache: %w", err)
	}
	if fi, err := os.Stat(s.cfg.autocertCache); err == nil && fi.Mode().Perm()&0o077 != 0 {
		s.log.Warn("the autocert cache holds private keys but others may read it: chmod 700 it", "dir", s.cfg.autocertCache, "mode", fi.Mode().Perm().String())
	}
	client := &acme.Client{DirectoryURL: s.cfg.acmeDirectory, UserAgent: "parley"}
	if s.cfg.acmeCACert != "" {
		pool, err := loadRoots(s.cfg.acmeCACert)
		if err != nil {
			return fmt.Errorf("acme-ca-cert: %w", err)
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		client.HTTPClient = &http.Client{Transport: t, Timeout: time.Minute}
	}
	a := &autoTLS{domains: domains, log: s.log}
	a.manager = &autocert.Manager{
		// Turning the flag on is accepting the CA's terms of service.
		Prompt:     autocert.AcceptTOS,
		Cache:      loggingCache{autocert.DirCache(s.cfg.autocertCache), s.log},
		HostPolicy: a.hostPolicy,
		Client:     client,
		Email:      s.cfg.autocertEmail,
	}
	s.http.TLSConfig = a.manager.TLSConfig()
	s.http.TLSConfig.MinVersion = tls.VersionTLS12
	if s.cfg.autocertHTTPAddr != "" {
		a.http = &http.Server{
			Addr:              s.cfg.autocertHTTPAddr,
			Handler:           a.manager.HTTPHandler(http.HandlerFunc(a.redirect(s.cfg.publicURL))),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      10 * time.Second,
			IdleTimeout:       30 * time.Second,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}
	}
	s.autoTLS = a
	s.log.Info("automatic certificates", "domains", strings.Join(domains, ","), "directory", s.cfg.acmeDirectory, "cache", s.cfg.autocertCache, "http", s.cfg.autocertHTTPAddr)
	return nil
}

// hostPolicy allows exactly the configured names. It is asked about TLS
// server names and about HTTP-01 requests' Host headers, which carry a
// port when the challenge port is not 80.
func (a *autoTLS) hostPolicy(_ context.Context, host string) error {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if slices.Contains(a.domains, host) {
		return nil
	}
	return fmt.Errorf("host %q is not in autocert-domains", host)
}

// redirect sends plain HTTP requests to HTTPS: the same name when it is
// one of the domains (else the public URL's), on the public URL's port.
// Only GET and HEAD are redirected: a form or API call sent in the clear
// has been exposed already, and a redirect would hide the mistake.
func (a *autoTLS) redirect(publicURL string) http.HandlerFunc {
	host, port := a.domains[0], ""
	if u, err := url.Parse(publicURL); err == nil && u.Scheme == "https" && u.Hostname() != "" {
		host, port = u.Hostname(), u.Port()
	}
	return func(w http.ResponseWriter, r *http.Request) {
		h := r.Host
		if hh, _, err := net.SplitHostPort(h); err == nil {
			h = hh
		}
		h = strings.TrimSuffix(strings.ToLower(h), ".")
		if !slices.Contains(a.domains, h) {
			h = host
		}
		if port != "" && port != "443" {
			h = net.JoinHostPort(h, port)
		}
		target := "https://" + h + r.URL.RequestURI()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "use HTTPS: "+target, http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
	}
}

// start starts the HTTP-01 listener when there is one and gets the
// certificates in the background; stop shuts the listener down
// gracefully. A listener that fails later is logged: HTTPS goes on, and
// TLS-ALPN-01 still gets certificates.
func (a *autoTLS) start() (stop func(), err error) {
	if a == nil {
		return func() {}, nil
	}
	if a.http == nil {
		a.warm()
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", a.http.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen for ACME HTTP-01 on %s: %w", a.http.Addr, err)
	}
	a.log.Info("listening for ACME HTTP-01 challenges and redirecting to HTTPS", "url", "http://"+ln.Addr().String())
	if a.listening != nil {
		a.listening(ln.Addr().String())
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("ACME HTTP-01 listener stopped", "err", err)
		}
	}()
	a.warm()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), acmeHTTPShutdown)
		defer cancel()
		if err := a.http.Shutdown(ctx); err != nil {
			a.log.Warn("ACME HTTP-01 listener shutdown", "err", err)
		}
		<-done
	}, nil
}

// warm gets each name's certificate (from the cache, else from the CA)
// as the server starts rather than at the first visitor's handshake,
// which waits at most the server's shortest timeout (5 s): issuance can
// take longer. It also puts a misconfiguration (DNS, ports) in the log
// at once. Each goroutine ends when autocert is done with the name,
// within autocert's own 5-minute limit; shutdown does not wait for it
// (GetCertificate takes no context) and the process exit ends it.
func (a *autoTLS) warm() {
	for _, name := range a.domains {
		go func() {
			// An ECDSA-capable client: autocert then gets the ECDSA
			// certificate that current clients are served.
			hello := &tls.ClientHelloInfo{ServerName: name, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}
			if _, err := a.manager.GetCertificate(hello); err != nil {
				a.log.Warn("no certificate yet: the next handshake for the name tries again", "name", name, "err", err)
			}
		}()
	}
}

// loggingCache tells the log when a certificate was obtained or renewed
// (autocert stores it then) and when the cache fails.
type loggingCache struct {
	autocert.Cache
	log *slog.Logger
}

func (c loggingCache) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := c.Cache.Get(ctx, key)
	if err != nil && !errors.Is(err, autocert.ErrCacheMiss) {
		c.log.Warn("autocert cache read", "key", key, "err", err)
	}
	return b, err
}

func (c loggingCache) Put(ctx context.Context, key string, data []byte) error {
	err := c.Cache.Put(ctx, key, data)
	switch {
	case err != nil:
		c.log.Error("autocert cache write", "key", key, "err", err)
	case !strings.Contains(key, "+token") && key != "acme_account+key":
		c.log.Info("certificate obtained", "name", key)
	}
	return err
}
