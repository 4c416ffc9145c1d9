package webchat

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
)

//go:embed static
var staticFS embed.FS

// asset is an embedded file, with its gzip form made once.
type asset struct {
	body, gz    []byte
	contentType string
	etag        string
}

var (
	assetsOnce sync.Once
	assets     map[string]*asset
)

func loadAssets() {
	assets = map[string]*asset{}
	for name, ct := range map[string]string{
		"index.html": "text/html; charset=utf-8",
		"widget.js":  "text/javascript; charset=utf-8",
		"widget.css": "text/css; charset=utf-8",
	} {
		body, err := staticFS.ReadFile("static/" + name)
		if err != nil {
			panic("webchat: embedded " + name + ": " + err.Error()) // the files are part of the package
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		sum := sha256.Sum256(body)
		assets[name] = &asset{body: body, gz: gz.Bytes(), contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
}

// Asset returns an embedded file's bytes and their gzip size (for the
// payload benchmark).
func Asset(name string) (body []byte, gzipped int, ok bool) {
	assetsOnce.Do(loadAssets)
	a, ok := assets[name]
	if !ok {
		return nil, 0, false
	}
	return a.body, len(a.gz), true
}

// serveAsset writes an embedded file, gzipped when the client takes it,
// revalidated by ETag.
func serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	assetsOnce.Do(loadAssets)
	a := assets[name]
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache") // revalidate: a new build's widget is picked up at once
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	w.Write(body)
}

// Handler returns the channel's routes: the WebSocket at /ws, the
// widget's script and style, and the demo page at /.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /ws", s)
	mux.HandleFunc("GET /widget.js", func(w http.ResponseWriter, r *http.Request) {
		// Pages on other origins embed the script: it must load from them.
		w.Header().Set("Access-Control-Allow-Origin", "*")
		serveAsset(w, r, "widget.js")
	})
	mux.HandleFunc("GET /widget.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		serveAsset(w, r, "widget.css")
	})
	frame, skipped := frameAncestors(s.cfg.AllowedOrigins)
	if len(skipped) > 0 {
		s.log.Warn("web chat: these allowed origins cannot be said in a CSP frame-ancestors list; pages there cannot frame the demo page", "patterns", skipped)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		// The demo page may be framed where chats may be opened, and
		// nowhere else (clickjacking). X-Frame-Options cannot name other
		// origins; browsers that know frame-ancestors ignore it.
		w.Header().Set("Content-Security-Policy", frame)
		if len(skipped) == len(s.cfg.AllowedOrigins) {
			w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		}
		serveAsset(w, r, "index.html")
	})
	return mux
}
