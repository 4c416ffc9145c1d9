package main

import (
	"context"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// BenchmarkDemoPageFirstPaint loads the demo page in Chromium with the
// cache disabled (a first visit) and reports, from the page's own
// performance timeline, the first contentful paint and when the chat
// bubble was on the page (widget.js fetched and run), in ms after the
// navigation started.
//
//	go test ./cmd/parley -run '^$' -bench DemoPageFirstPaint -benchtime 20x
func BenchmarkDemoPageFirstPaint(b *testing.B) {
	ctx := newBrowser(b)
	base, _ := startServe(b, "--db", b.TempDir()+"/crm.db")
	browse(b, ctx, "disabling the cache", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
		return err
	}))
	const timing = `(() => {
		const fcp = performance.getEntriesByName('first-contentful-paint')[0];
		const w = performance.getEntriesByType('resource').find(e => e.name.endsWith('/widget.js'));
		return [fcp ? fcp.startTime : -1, w ? w.responseEnd : -1];
	})()`
	var fcp, widget []float64
	for b.Loop() {
		browse(b, ctx, "loading the demo page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(wBubble))
		// The paint entry is recorded just after the frame: poll for it.
		waitFor(b, ctx, "the paint timing", `performance.getEntriesByName('first-contentful-paint').length > 0`)
		v := eval[[]float64](b, ctx, "reading the timing", timing)
		fcp, widget = append(fcp, v[0]), append(widget, v[1])
	}
	p50 := func(v []float64) float64 { m, _, _, _ := quantiles(v); return m }
	b.ReportMetric(p50(fcp), "ms-first-paint-p50")
	b.ReportMetric(p50(widget), "ms-widget-loaded-p50")
	_, _, _, worst := quantiles(fcp)
	b.ReportMetric(worst, "ms-first-paint-max")
}
