package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser end-to-end tests drive Debian's Chromium with chromedp. They
// skip when no Chromium is installed, except under CI (CI set), where
// .ci/run installs it and a skip would hide a broken build.

// chromiumPath finds the browser, or skips the test.
func chromiumPath(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{os.Getenv("PARLEY_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		tb.Fatal("CI is set but no Chromium was found: .ci/run installs Debian's chromium package")
	}
	tb.Skip("browser test skipped: no Chromium found (install Debian's chromium package, or set PARLEY_CHROMIUM)")
	return ""
}

// newBrowser starts a headless Chromium and returns a context for one
// tab in it. Each call is a separate browser (its own profile, cookies
// and localStorage), so two calls are two people.
func newBrowser(tb testing.TB) context.Context {
	tb.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(tb)),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.WindowSize(1280, 860),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(tb.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// Start the browser now, so its start-up is not charged to the first step.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		tb.Fatalf("start Chromium: %v", err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			screenshot(tb, ctx, "failure")
		}
		cancel()
		cancelAlloc()
	})
	return ctx
}

// screenshot saves the page as a PNG under $PARLEY_SCREENSHOTS (default:
// a parley-e2e directory in the system's temp dir) and logs the path.
func screenshot(tb testing.TB, ctx context.Context, name string) {
	dir := os.Getenv("PARLEY_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "parley-e2e")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Logf("screenshot: %v", err)
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.Logf("screenshot: %v", err)
		return
	}
	path := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(tb.Name())+"-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.Logf("screenshot: %v", err)
		return
	}
	tb.Logf("screenshot: %s", path)
}

// browse runs browser steps with a deadline, failing the test with what
// was being done.
func browse(tb testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	get(tb, ctx, what, chromedp.Steps(steps...))
}

// get runs one browser action that returns a value.
func get[T any](tb testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	tb.Helper()
	rctx, cancel := context.WithTimeout(ctx, 25*time.Second)
	defer cancel()
	v, err := chromedp.Run(rctx, a)
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](tb testing.TB, ctx context.Context, what, expr string) T {
	tb.Helper()
	return get(tb, ctx, what, chromedp.Evaluate[T](expr))
}

// waitFor polls a JavaScript expression until it is true.
func waitFor(tb testing.TB, ctx context.Context, what, expr string) {
	tb.Helper()
	get(tb, ctx, "waiting for "+what, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(25*time.Millisecond)))
}

// startServe runs `parley serve` in-process and returns its base URL and
// the running server (tests reach into its CRM and channels). The server
// sees an empty environment (so no Slack).
func startServe(tb testing.TB, args ...string) (string, *server) {
	tb.Helper()
	base, s, _ := startServeEnv(tb, nil, args...)
	return base, s
}

// startServeEnv is startServe with the environment the server sees
// (nothing of the real environment leaks in) and its log.
func startServeEnv(tb testing.TB, env map[string]string, args ...string) (string, *server, *syncWriter) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	srvc := make(chan *server, 1)
	done := make(chan error, 1)
	logs := &syncWriter{}
	cmd := &serveCommand{stdout: io.Discard, stderr: logs,
		listening: func(a string) { addrc <- a },
		started:   func(s *server) { srvc <- s },
		getenv:    func(k string) string { return env[k] },
	}
	go func() { done <- cmd.Run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...)) }()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a
	case err := <-done:
		cancel()
		tb.Fatalf("serve exited: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		cancel()
		tb.Fatal("server did not start")
	}
	s := <-srvc
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("serve: %v", err)
		}
		if tb.Failed() {
			tb.Logf("server log:\n%s", logs.String())
		}
	})
	return base, s, logs
}

// syncWriter is a log buffer the server writes from many goroutines.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitNav is waitFor across a page load: the step before it (a form
// post, a click on a link) navigates, and the expression is polled on
// whatever page is there, until it holds on the new one.
func waitNav(tb testing.TB, ctx context.Context, what, expr string) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Until(deadline))
		_, err := chromedp.Run(rctx, chromedp.Poll[bool](`window.__leaving === undefined && document.readyState === 'complete' && (`+expr+`)`,
			chromedp.WithPollingInterval(25*time.Millisecond)))
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(25 * time.Millisecond) // the page was replaced mid-poll: poll the new one
	}
}

// leaving marks the current page, so waitNav waits for the next one.
func leaving(tb testing.TB, ctx context.Context) {
	tb.Helper()
	eval[bool](tb, ctx, "marking the page", `window.__leaving = true`)
}
