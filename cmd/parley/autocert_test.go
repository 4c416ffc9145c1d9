package main

import (
	"context"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestAutocertConfig: the automatic-certificate settings' defaults, and
// every problem reported at once.
func TestAutocertConfig(t *testing.T) {
	caFile, _ := selfSigned(t)
	notPEM := writeFile(t, "roots.pem", "not a certificate\n")
	db := filepath.Join(t.TempDir(), "crm.db")
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want map[string]string // settings after the check
		errs []string          // each must be reported
	}{
		{name: "Defaults", args: []string{"--db", db, "--autocert-domains", "Chat.Example.com, www.chat.example.com,chat.example.com."},
			want: map[string]string{"addr": ":443", "autocert-cache": filepath.Join(filepath.Dir(db), "parley-certs"),
				"public-url": "https://chat.example.com", "acme-directory": "https://acme-v02.api.letsencrypt.org/directory", "autocert-http-addr": ":80"}},
		{name: "PortInPublicURL", args: []string{"--addr", "0.0.0.0:8443", "--autocert-domains", "chat.example.com"},
			want: map[string]string{"public-url": "https://chat.example.com:8443"}},
		{name: "FromEnvironment", env: map[string]string{"PARLEY_AUTOCERT_DOMAINS": "chat.example.com", "PARLEY_ACME_DIRECTORY": "https://acme-staging-v02.api.letsencrypt.org/directory", "PARLEY_ACME_CA_CERT": caFile, "PARLEY_PUBLIC_URL": "https://chat.example.com"},
			want: map[string]string{"acme-directory": "https://acme-staging-v02.api.letsencrypt.org/directory", "public-url": "https://chat.example.com", "acme-ca-cert": caFile}},
		{name: "IDN", args: []string{"--autocert-domains", "bücher.example"}, want: map[string]string{"public-url": "https://xn--bcher-kva.example"}},
		{name: "Problems", args: []string{"--autocert-domains", "*.example.com,localhost,10.0.0.1,bad_name.example,-x.example.com,chat.example.com:443",
			"--tls-cert", caFile, "--tls-key", caFile, "--acme-directory", "http://ca.example/dir", "--acme-ca-cert", notPEM,
			"--autocert-email", "Ops <ops@example.com>", "--addr", ":8443", "--autocert-http-addr", ":8443"},
			errs: []string{`"*.example.com": wildcards need the DNS-01 challenge`, `"localhost": a single label`, `"10.0.0.1": an IP address`,
				`"bad_name.example": `, `"-x.example.com": `, `"chat.example.com:443": `,
				"autocert-domains and tls-cert/tls-key exclude each other", `--acme-directory: acme-directory "http://ca.example/dir": want an https URL`,
				"--acme-ca-cert: acme-ca-cert: " + notPEM + ": no PEM certificate", `--autocert-email: autocert-email "Ops <ops@example.com>": want a plain address`,
				`--autocert-http-addr: autocert-http-addr ":8443" is also addr`}},
		{name: "Unreadable", args: []string{"--autocert-domains", "chat.example.com", "--acme-ca-cert", "/nonexistent/roots.pem", "--autocert-cache", caFile},
			errs: []string{"--acme-ca-cert: acme-ca-cert: open /nonexistent/roots.pem", "--autocert-cache: autocert-cache " + caFile + ": not a directory"}},
		{name: "NoDomains", args: []string{"--autocert-email", "ops@example.com"}, env: map[string]string{"PARLEY_ACME_DIRECTORY": "https://ca.example/dir"},
			errs: []string{"--autocert-email: autocert-email needs autocert-domains", "PARLEY_ACME_DIRECTORY: acme-directory needs autocert-domains"}},
		{name: "EmptyDomains", args: []string{"--autocert-domains", " , "}, errs: []string{"autocert-domains: no domain names"}},
		{name: "Off", args: []string{"--db", db}, want: map[string]string{"addr": "localhost:8080", "public-url": "", "autocert-cache": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg serveConfig
			fs := serveFlags(&cfg, io.Discard)
			if err := parseFlags(fs, tc.args); err != nil {
				t.Fatalf("flags %q: %v", tc.args, err)
			}
			err := applyConfig(fs, func(k string) string { return tc.env[k] })
			if len(tc.errs) == 0 && err != nil {
				t.Fatalf("args %q env %v: %v, want no error", tc.args, tc.env, err)
			}
			for _, want := range tc.errs {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("args %q: the error does not report %q:\n%v", tc.args, want, err)
				}
			}
			if n := len(tc.errs); n > 0 && err != nil && !strings.Contains(err.Error(), "has "+strconv.Itoa(n)+" problem(s)") {
				t.Errorf("args %q: got %v, want %d problems", tc.args, err, n)
			}
			for name, want := range tc.want {
				if got := fs.Lookup(name).Value.String(); got != want {
					t.Errorf("args %q env %v: %s = %q, want %q", tc.args, tc.env, name, got, want)
				}
			}
		})
	}
}

// TestAutocertRedirectAndPolicy: which names get certificates and where
// plain HTTP is sent.
func TestAutocertRedirectAndPolicy(t *testing.T) {
	a := &autoTLS{domains: []string{"chat.example.com", "www.chat.example.com"}}
	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"chat.example.com", true}, {"WWW.Chat.Example.com.", true}, {"chat.example.com:8080", true},
		{"example.com", false}, {"evil.chat.example.com", false}, {"", false}, {"127.0.0.1", false},
	} {
		if err := a.hostPolicy(context.Background(), tc.host); (err == nil) != tc.ok {
			t.Errorf("hostPolicy(%q): got %v, want allowed=%v", tc.host, err, tc.ok)
		}
	}
	for _, tc := range []struct {
		publicURL, method, host, uri string
		code                         int
		location                     string
	}{
		{"https://chat.example.com", "GET", "www.chat.example.com", "/console?a=1", 301, "https://www.chat.example.com/console?a=1"},
		{"https://chat.example.com", "GET", "203.0.113.9:80", "/", 301, "https://chat.example.com/"},
		{"https://chat.example.com:8443", "GET", "www.chat.example.com", "/x", 301, "https://www.chat.example.com:8443/x"},
		{"https://chat.example.com:443", "HEAD", "chat.example.com", "/x", 301, "https://chat.example.com/x"},
		{"http://chat.example.com:8080", "GET", "other", "/x", 301, "https://chat.example.com/x"}, // not https: the first domain, port 443
		{"https://chat.example.com", "POST", "chat.example.com", "/api/v1/messages", 400, ""},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(tc.method, tc.uri, nil)
		req.Host = tc.host
		a.redirect(tc.publicURL).ServeHTTP(rec, req)
		if rec.Code != tc.code || rec.Header().Get("Location") != tc.location {
			t.Errorf("public URL %s, %s http://%s%s: got %d %q, want %d %q", tc.publicURL, tc.method, tc.host, tc.uri, rec.Code, rec.Header().Get("Location"), tc.code, tc.location)
		}
	}
}
