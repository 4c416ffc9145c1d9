package webchat_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/parley-chat/parley/bot/webchat"
)

// widgetGzipBudget is the product target for the widget's script on the
// wire: one script tag must stay cheap to add to a shop's page.
const widgetGzipBudget = 30 << 10

// get fetches a path from the channel's handler with request headers.
func get(t *testing.T, h http.Handler, method, path string, header map[string]string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func readBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gzip body: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip body: %v", err)
	}
	return out
}

func TestAssets(t *testing.T) {
	srv := webchat.New(nil, nil, webchat.Config{})
	h := srv.Handler()
	tests := []struct {
		path, file, contentType string
		cors                    bool // loads from other origins
	}{
		{"/widget.js", "widget.js", "text/javascript; charset=utf-8", true},
		{"/widget.css", "widget.css", "text/css; charset=utf-8", true},
		{"/", "index.html", "text/html; charset=utf-8", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			want, err := os.ReadFile("static/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			body, _, ok := webchat.Asset(tt.file)
			if !ok || !bytes.Equal(body, want) {
				t.Fatalf("Asset(%q) = %d bytes, ok %v; want the %d bytes of static/%s", tt.file, len(body), ok, len(want), tt.file)
			}

			gz := get(t, h, http.MethodGet, tt.path, map[string]string{"Accept-Encoding": "gzip, deflate, br"})
			gzBody := readBody(t, gz)
			if gz.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: status %d, want 200", tt.path, gz.StatusCode)
			}
			if ce := gz.Header.Get("Content-Encoding"); ce != "gzip" {
				t.Errorf("GET %s with gzip: Content-Encoding %q, want gzip", tt.path, ce)
			}
			if got := gunzip(t, gzBody); !bytes.Equal(got, want) {
				t.Errorf("GET %s with gzip: body decompresses to %d bytes, want the embedded %d", tt.path, len(got), len(want))
			}
			for k, v := range map[string]string{"Content-Type": tt.contentType, "Vary": "Accept-Encoding", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"} {
				if got := gz.Header.Get(k); got != v {
					t.Errorf("GET %s: %s %q, want %q", tt.path, k, got, v)
				}
			}
			acao := gz.Header.Get("Access-Control-Allow-Origin")
			if tt.cors && acao != "*" || !tt.cors && acao != "" {
				t.Errorf("GET %s: Access-Control-Allow-Origin %q, want %q", tt.path, acao, map[bool]string{true: "*"}[tt.cors])
			}
			etag := gz.Header.Get("ETag")
			if len(etag) < 3 || etag[0] != '"' || etag[len(etag)-1] != '"' {
				t.Fatalf("GET %s: ETag %q, want a quoted tag", tt.path, etag)
			}

			plain := get(t, h, http.MethodGet, tt.path, nil)
			if got := readBody(t, plain); !bytes.Equal(got, want) || plain.Header.Get("Content-Encoding") != "" {
				t.Errorf("GET %s without gzip: %d bytes, Content-Encoding %q; want the embedded %d bytes as they are", tt.path, len(got), plain.Header.Get("Content-Encoding"), len(want))
			}
			if got := plain.Header.Get("ETag"); got != etag {
				t.Errorf("GET %s: ETag %q without gzip, %q with: want one tag per file", tt.path, got, etag)
			}

			for _, enc := range []string{"", "gzip"} {
				nm := get(t, h, http.MethodGet, tt.path, map[string]string{"If-None-Match": etag, "Accept-Encoding": enc})
				if b := readBody(t, nm); nm.StatusCode != http.StatusNotModified || len(b) != 0 {
					t.Errorf("GET %s If-None-Match %s (Accept-Encoding %q): status %d with %d bytes, want 304 and no body", tt.path, etag, enc, nm.StatusCode, len(b))
				}
				if nm.Header.Get("ETag") != etag {
					t.Errorf("GET %s 304: ETag %q, want %q", tt.path, nm.Header.Get("ETag"), etag)
				}
			}
			stale := get(t, h, http.MethodGet, tt.path, map[string]string{"If-None-Match": `"0000"`})
			if b := readBody(t, stale); stale.StatusCode != http.StatusOK || !bytes.Equal(b, want) {
				t.Errorf("GET %s with a stale ETag: status %d, %d bytes; want 200 and the file", tt.path, stale.StatusCode, len(b))
			}
		})
	}
}

func TestDemoPage(t *testing.T) {
	h := webchat.New(nil, nil, webchat.Config{}).Handler()
	resp := get(t, h, http.MethodGet, "/", nil)
	page := string(readBody(t, resp))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `<script src="/widget.js"`) {
		t.Fatalf("GET /: status %d, want 200 and a page with the widget's script tag; got %.200q", resp.StatusCode, page)
	}
}

func TestRoutes(t *testing.T) {
	h := webchat.New(nil, nil, webchat.Config{}).Handler()
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/nope", http.StatusNotFound},
		{http.MethodGet, "/static/widget.js", http.StatusNotFound},
		{http.MethodGet, "/index.html", http.StatusNotFound},
		{http.MethodPost, "/widget.js", http.StatusMethodNotAllowed},
		{http.MethodHead, "/widget.js", http.StatusOK},
		{http.MethodGet, "/ws", http.StatusUpgradeRequired}, // a plain GET is not a WebSocket
	}
	for _, tt := range tests {
		if resp := get(t, h, tt.method, tt.path, nil); resp.StatusCode != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
		}
	}
}

func TestWidgetSize(t *testing.T) {
	for _, name := range []string{"widget.js", "widget.css", "index.html"} {
		body, gz, ok := webchat.Asset(name)
		if !ok {
			t.Fatalf("Asset(%q): not found", name)
		}
		t.Logf("%s: %d bytes, %d gzipped", name, len(body), gz)
	}
	_, gz, _ := webchat.Asset("widget.js")
	if gz > widgetGzipBudget {
		t.Errorf("widget.js is %d bytes gzipped, budget %d", gz, widgetGzipBudget)
	}
	if _, _, ok := webchat.Asset("secret.txt"); ok {
		t.Error(`Asset("secret.txt") found a file that is not embedded`)
	}
}

// The demo page may be framed by the origins allowed to open chats
// (--allow-origin) and by its own server, nowhere else.
func TestDemoPageFraming(t *testing.T) {
	tests := []struct {
		name    string
		allowed []string
		csp     string
		xfo     string
	}{
		{"same origin only", nil, "frame-ancestors 'self'", "SAMEORIGIN"},
		{"allowed hosts", []string{"shop.example", "*.shop.example"}, "frame-ancestors 'self' shop.example *.shop.example", ""},
		{"scheme, port, case", []string{"https://Shop.Example:8443", "localhost:*"}, "frame-ancestors 'self' https://shop.example:8443 localhost:*", ""},
		{"any origin", []string{"*"}, "frame-ancestors 'self' *", ""},
		{"patterns CSP cannot say are left out", []string{"shop-?.example", "shop.*", "[ab].example", "*.shop.example"}, "frame-ancestors 'self' *.shop.example", ""},
		{"nothing sayable: same origin", []string{"shop-?.example", "a b", "*.shop.example;script-src *"}, "frame-ancestors 'self'", "SAMEORIGIN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := webchat.New(nil, nil, webchat.Config{AllowedOrigins: tt.allowed, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
			resp := get(t, h, http.MethodGet, "/", nil)
			readBody(t, resp)
			if got := resp.Header.Get("Content-Security-Policy"); got != tt.csp {
				t.Errorf("allowed %q: Content-Security-Policy %q, want %q", tt.allowed, got, tt.csp)
			}
			if got := resp.Header.Get("X-Frame-Options"); got != tt.xfo {
				t.Errorf("allowed %q: X-Frame-Options %q, want %q", tt.allowed, got, tt.xfo)
			}
		})
	}
}
