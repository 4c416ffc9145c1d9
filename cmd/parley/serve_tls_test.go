package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "parley test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// TestTLSRequestIDsAndJSONLogs: --tls-cert/--tls-key serve HTTPS with
// HSTS; every response carries a request id (the client's, when sane);
// logs are JSON lines when not written to a terminal.
func TestTLSRequestIDsAndJSONLogs(t *testing.T) {
	cert, key := selfSigned(t)
	base, _, logs := startServeEnv(t, nil, "--db", filepath.Join(t.TempDir(), "crm.db"), "--tls-cert", cert, "--tls-key", key)
	base = strings.Replace(base, "http://", "https://", 1)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the test's own certificate
	for _, tc := range []struct {
		sent string
		keep bool
	}{{"abc-123", true}, {"", false}, {"bad id with spaces", false}, {strings.Repeat("x", 100), false}} {
		req, _ := http.NewRequest("GET", base+"/healthz", nil)
		if tc.sent != "" {
			req.Header.Set("X-Request-ID", tc.sent)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("HTTPS: %v", err)
		}
		resp.Body.Close()
		got := resp.Header.Get("X-Request-ID")
		if got == "" || (tc.keep && got != tc.sent) || (!tc.keep && got == tc.sent) {
			t.Errorf("X-Request-ID sent %q, got %q", tc.sent, got)
		}
		if resp.Header.Get("Strict-Transport-Security") == "" {
			t.Error("no HSTS over TLS")
		}
	}
	lines := bytes.Split(bytes.TrimSpace([]byte(logs.String())), []byte("\n"))
	for _, l := range lines[:min(3, len(lines))] {
		var v map[string]any
		if err := json.Unmarshal(l, &v); err != nil || v["msg"] == nil {
			t.Errorf("log line is not a JSON record: %s", l)
		}
	}
	if !strings.Contains(logs.String(), `"url":"https://`) {
		t.Errorf("the listening line does not say https:\n%s", logs.String())
	}
	for _, args := range [][]string{{"--tls-cert", cert}, {"--log-format", "xml"}} {
		if code, _, errOut := run(t, append([]string{"serve", "--db", filepath.Join(t.TempDir(), "x.db")}, args...)...); code == 0 || errOut == "" {
			t.Errorf("serve %v: exit %d, want a refusal with a message", args, code)
		}
	}
}
