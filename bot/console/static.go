package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var staticFS embed.FS

// asset is an embedded file with its gzip form and version, made once.
type asset struct {
	body, gz    []byte
	contentType string
	// version is a hash of the body: pages link to name?v=version, so a
	// browser may cache that URL for good and a new build changes it.
	version string
}

var assets = loadAssets()

func loadAssets() map[string]*asset {
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
	out := map[string]*asset{}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic("console: embedded static files: " + err.Error()) // part of the package
	}
	for _, e := range entries {
		ct, ok := types[path.Ext(e.Name())]
		if !ok || e.IsDir() {
			continue
		}
		body, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic("console: embedded " + e.Name() + ": " + err.Error())
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		sum := sha256.Sum256(body)
		out[e.Name()] = &asset{body: body, gz: gz.Bytes(), contentType: ct, version: hex.EncodeToString(sum[:6])}
	}
	return out
}

// assetURL is the versioned URL of a static file, for templates.
func assetURL(name string) string {
	a, ok := assets[name]
	if !ok {
		return "/console/static/" + name
	}
	return "/console/static/" + name + "?v=" + a.version
}

// serveStatic serves an embedded file: for a year when the URL names
// its current version, otherwise revalidated by ETag. Static files are
// public (the login page needs them) and hold no data.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	etag := `"` + a.version + `"`
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", etag)
	h.Set("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if r.Header.Get("If-None-Match") == etag {
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
