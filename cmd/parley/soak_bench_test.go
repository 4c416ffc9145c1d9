package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/slackbot/slackfake"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/sqlite"
	"github.com/parley-chat/parley/intents/builtin"
)

var soakDuration = flag.Duration("soak", 0, "run BenchmarkSoak for this long (e.g. 30m); 0 skips it")

// soakSample is one reading of the server's /metrics.
type soakSample struct {
	at                             time.Duration
	rssMB, heapMB                  float64
	goroutines, fds                float64
	web, rest, slack               float64 // messages handled, by channel
	promotions, backups, slackErrs int64
}

// BenchmarkSoak runs the real server (a separate process) for -soak with
// mixed traffic — web chat over WebSockets, the REST API, and Slack
// events signed as Slack signs them, answered through the Slack fake —
// while the test promotes a model version every two minutes and the
// server takes a backup every three. It samples the server's memory,
// goroutines and open files from /metrics every 15 s and fails if they
// grow from the early part of the run to its end (issue 9: they stay
// flat), and checks every acknowledged web chat message is in the CRM.
//
//	go test ./cmd/parley -run '^$' -bench Soak -benchtime 1x -soak 30m -timeout 40m
func BenchmarkSoak(b *testing.B) {
	if *soakDuration <= 0 {
		b.Skip("set -soak DURATION (e.g. -soak 30m) to run the soak benchmark")
	}
	dur := *soakDuration
	dir := b.TempDir()
	db := filepath.Join(dir, "crm.db")
	backups := filepath.Join(dir, "backups")
	fake := newFakeSlack(b)
	const slackUsers = 50
	for i := range slackUsers {
		fake.AddUser(slackfake.User{ID: fmt.Sprintf("USOAK%02d", i), Name: fmt.Sprintf("soak%d", i), RealName: fmt.Sprintf("Soak Customer %d", i),
			Email: fmt.Sprintf("soak%d@customer.example", i)})
	}
	env := map[string]string{}
	for k, v := range slackEnv(false) {
		env[k] = v
	}
	_, base := serveProcessWith(b, env, "--db", db, "--slack-api-url", fake.APIURL(),
		"--backup-dir", backups, "--backup-every", "3m", "--backup-keep", "3", "--model-poll", "2s")
	texts := soakTexts(b)

	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var slackSent, slackErrs, slackRetries, promotions atomic.Int64
	var wg sync.WaitGroup

	// Web chat: 200 widgets, a message every 4 s each (~50/s).
	var wsRes wsLoadResult
	var acked []ackedMsg
	wg.Go(func() {
		var err error
		// The loads end by their own duration; ctx ending first would
		// count the turns in flight as errors.
		wsRes, acked, err = runWSLoad(context.Background(), wsLoadConfig{
			url: strings.Replace(base, "http", "ws", 1) + "/ws", texts: texts, clients: 200,
			ramp: 10 * time.Second, warmup: 0, duration: dur, think: 4 * time.Second, seed: 11, turnTimeout: 10 * time.Second,
		})
		if err != nil {
			b.Errorf("web chat load: %v", err)
		}
	})
	// REST: 5 clients, a message every 500 ms each (~10/s).
	var restRes loadResult
	wg.Go(func() {
		hc := newLoadClients(base, 5, true)
		defer hc.close()
		restRes, _ = runLoad(context.Background(), hc, base+"/api/v1/messages", texts, 5, defaultLoadCustomers, 0, dur, 500*time.Millisecond, 12)
	})
	// Slack: a DM event every 200 ms from one of 50 customers (5/s).
	var slackErrSamples []string // read after wg.Wait
	slackErrSample := func(e string) {
		if len(slackErrSamples) < 5 {
			slackErrSamples = append(slackErrSamples, e)
		}
	}
	wg.Go(func() {
		hc := &http.Client{Timeout: 30 * time.Second}
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			user := fmt.Sprintf("USOAK%02d", i%slackUsers)
			ts := fmt.Sprintf("%d.%06d", time.Now().Unix(), i%1000000)
			ev := slackfake.MessageEvent(user, "D"+user[1:], "im", texts[i%len(texts)], ts, "")
			body := slackfake.EventCallback(fmt.Sprintf("Ev%08d", i), ev)
			// As Slack does: a delivery not answered 200 in time is sent
			// again, marked as a retry (the app dedupes it).
			var failure string
			for try := 0; try < 3; try++ {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/slack/events", bytes.NewReader(body))
				req.Header = slackfake.Sign(e2eSecret, body, time.Now())
				if try > 0 {
					slackRetries.Add(1)
					req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(try))
					req.Header.Set("X-Slack-Retry-Reason", "http_timeout")
				}
				sent := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					failure = fmt.Sprintf("after %v: %v", time.Since(sent).Round(time.Millisecond), err)
					continue
				}
				answer, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					failure = ""
					break
				}
				failure = fmt.Sprintf("after %v: HTTP %d %q", time.Since(sent).Round(time.Millisecond), resp.StatusCode, answer)
			}
			if failure != "" {
				if ctx.Err() == nil {
					slackErrs.Add(1)
					slackErrSample(failure)
				}
				continue
			}
			slackSent.Add(1)
		}
	})
	// Promotions: every 2 minutes the other of two intent versions.
	wg.Go(func() {
		store, err := sqlite.Open(context.Background(), db)
		if err != nil {
			b.Errorf("open the CRM for promotions: %v", err)
			return
		}
		defer store.Close()
		v1, err := store.ActiveModel(context.Background(), intentKind)
		if err != nil {
			b.Errorf("active model: %v", err)
			return
		}
		v2, err := store.SaveModelVersion(context.Background(), crm.ModelVersion{Kind: intentKind, Version: "v2-soak", DataHash: v1.DataHash, Artifact: v1.Artifact})
		if err != nil {
			b.Errorf("save a second version: %v", err)
			return
		}
		v1.Artifact, v2.Artifact = nil, nil // the server has them; keep the test's own memory small
		ids := []int64{v2.ID, v1.ID}
		tick := time.NewTicker(2 * time.Minute)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := store.PromoteModel(context.Background(), ids[i%2]); err != nil {
				b.Errorf("promote: %v", err)
				return
			}
			promotions.Add(1)
		}
	})

	var samples []soakSample
	start := time.Now()
	sample := func() {
		m, err := readMetrics(base)
		if err != nil {
			b.Logf("scrape /metrics: %v", err)
			return
		}
		files, _ := filepath.Glob(filepath.Join(backups, "*.db"))
		s := soakSample{at: time.Since(start).Round(time.Second),
			rssMB: m["process_resident_memory_bytes"] / 1e6, heapMB: m["go_memstats_heap_inuse_bytes"] / 1e6,
			goroutines: m["go_goroutines"], fds: m["process_open_fds"],
			web: m[`parley_messages_total/webchat`], rest: m[`parley_messages_total/api`], slack: m[`parley_messages_total/slack`],
			promotions: promotions.Load(), backups: int64(len(files)), slackErrs: slackErrs.Load()}
		samples = append(samples, s)
		b.Logf("%7s rss %6.1f MB  heap %6.1f MB  goroutines %5.0f  fds %4.0f | messages web %6.0f  rest %6.0f  slack %5.0f  promotions %2d  backups kept %d  slack errors %d",
			s.at, s.rssMB, s.heapMB, s.goroutines, s.fds, s.web, s.rest, s.slack, s.promotions, s.backups, s.slackErrs)
	}
	for b.Loop() {
		tick := time.NewTicker(15 * time.Second)
		sample()
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case <-tick.C:
				sample()
			}
		}
		tick.Stop()
		wg.Wait()
	}
	// After the load: what the server holds when idle again (leaked
	// goroutines and connections would show here).
	time.Sleep(5 * time.Second)
	n := len(samples)
	sample()
	if len(samples) == n {
		b.Fatal("no reading of /metrics after the load")
	}
	after := samples[n]
	samples = samples[:n]
	if len(samples) < 8 {
		b.Fatalf("%d samples: run the soak for a few minutes at least", len(samples))
	}
	// Early: the second fifth of the run (after the ramp and the first
	// caches filled); late: the last fifth.
	early, late := samples[n/5:2*n/5], samples[4*n/5:]
	med := func(ss []soakSample, f func(soakSample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	type measure struct {
		name  string
		f     func(soakSample) float64
		limit func(early float64) float64
	}
	for _, m := range []measure{
		{"rss-MB", func(s soakSample) float64 { return s.rssMB }, func(e float64) float64 { return e * 1.15 }},
		{"heap-MB", func(s soakSample) float64 { return s.heapMB }, func(e float64) float64 { return e * 1.25 }},
		{"goroutines", func(s soakSample) float64 { return s.goroutines }, func(e float64) float64 { return e*1.1 + 10 }},
		{"fds", func(s soakSample) float64 { return s.fds }, func(e float64) float64 { return e + 10 }},
	} {
		e, l := med(early, m.f), med(late, m.f)
		b.ReportMetric(e, m.name+"-early")
		b.ReportMetric(l, m.name+"-late")
		if l > m.limit(e) {
			b.Errorf("%s grew from %.1f (median, second fifth of the run) to %.1f (last fifth): limit %.1f", m.name, e, l, m.limit(e))
		}
	}
	last := after
	b.ReportMetric(samples[0].goroutines, "goroutines-start")
	b.ReportMetric(after.goroutines, "goroutines-after")
	b.ReportMetric(samples[0].fds, "fds-start")
	b.ReportMetric(after.fds, "fds-after")
	b.ReportMetric(last.web, "web-msgs")
	b.ReportMetric(last.rest, "rest-msgs")
	b.ReportMetric(last.slack, "slack-msgs")
	b.ReportMetric(float64(slackRetries.Load()), "slack-retries")
	b.ReportMetric(float64(last.promotions), "promotions")
	b.ReportMetric(wsRes.P99ms, "web-p99-ms")
	b.ReportMetric(restRes.P99ms, "rest-p99-ms")
	if wsRes.Errors > 0 || restRes.Errors > 0 || last.slackErrs > 0 {
		b.Errorf("errors: web chat %d %v, REST %d %v, Slack %d %v", wsRes.Errors, wsRes.ErrorSamples, restRes.Errors, restRes.ErrorSamples, last.slackErrs, slackErrSamples)
	}
	if last.promotions < int64(dur/(2*time.Minute))-1 || (dur >= 3*time.Minute && last.backups == 0) {
		b.Errorf("%d promotions and %d backups kept: the soak did not exercise them", last.promotions, last.backups)
	}
	lost, err := checkStored(context.Background(), db, acked)
	if err != nil || lost != 0 {
		b.Errorf("%d of %d acknowledged web chat messages missing from the CRM (%v)", lost, len(acked), err)
	}
	b.Logf("%v: %.0f web chat, %.0f REST, %.0f Slack messages (%d events sent, %d redelivered); %d promotions; %d backups kept; web p99 %.1f ms, REST p99 %.1f ms; %d acknowledged web chat messages, %d missing",
		dur, last.web, last.rest, last.slack, slackSent.Load(), slackRetries.Load(), last.promotions, last.backups, wsRes.P99ms, restRes.P99ms, len(acked), lost)
}

// readMetrics GETs /metrics and parses it (parseMetrics).
func readMetrics(base string) (map[string]float64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the Prometheus text exposition into name{labels} →
// value, and also name → the sum over its labels and name/CHANNEL → the
// sum over the other labels of the series with that channel label.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	m := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("metrics line %q: no value", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		key := line[:i]
		m[key] = v
		if j := strings.IndexByte(key, '{'); j > 0 {
			name := key[:j]
			m[name] += v
			if k := strings.Index(key, `channel="`); k > 0 {
				ch := key[k+len(`channel="`):]
				if e := strings.IndexByte(ch, '"'); e >= 0 {
					m[name+"/"+ch[:e]] += v
				}
			}
		}
	}
	return m, sc.Err()
}

// soakTexts are the built-in test set's messages.
func soakTexts(tb testing.TB) []string {
	tb.Helper()
	test, err := builtin.Dataset(builtin.IntentTest)
	if err != nil {
		tb.Fatal(err)
	}
	var texts []string
	for _, e := range test.Examples {
		texts = append(texts, e.Text)
	}
	return texts
}
