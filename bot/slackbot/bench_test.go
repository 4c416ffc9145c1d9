package slackbot_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/bottest"
	"github.com/parley-chat/parley/bot/handoff"
	"github.com/parley-chat/parley/bot/slackbot"
	"github.com/parley-chat/parley/bot/slackbot/slackfake"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/sqlite"
)

// Load of BenchmarkEventToReply.
const (
	benchRate      = 200 // events per second
	benchCustomers = 400 // distinct Slack users writing
	benchSecret    = "bench-signing-secret"
	benchStaff     = "CSTAFF"
	// benchDrain bounds the wait for the last replies after the last
	// event was sent.
	benchDrain = 30 * time.Second
)

// benchTexts are what the customers write: questions the bot answers
// (none asks for a person, so every event gets exactly the bot's reply).
var benchTexts = []string{
	"where is my order 12345",
	"how much is shipping",
	"My account is locked",
	"can I return a jacket I bought last week",
	"do you ship to Austria",
	"I forgot my password",
	"when will my refund arrive",
	"is the blue jacket in stock",
}

// BenchmarkEventToReply measures Slack's latency target, "event received
// → reply posted to the Web API: p99 ≤ 30 ms at 200 events/s", on the
// real parts: a SQLite CRM file, the built-in models and knowledge base,
// the Events API handler on a loopback HTTP server, and the outbox
// worker (Run) posting to slackfake.
//
// Each of the b.N events is a signed direct message from one of
// benchCustomers users, a new top-level message (its own event id and
// ts, so its own thread). They go out at a fixed rate of benchRate per
// second, each POSTed from its own goroutine, whatever the previous ones
// are doing. An event's latency runs from just before its POST to the
// moment the fake received the chat.postMessage of its reply (same DM
// channel, thread_ts = the event's ts; slackfake's Call.At), so it
// includes the acknowledgement, the engine's turn, the CRM transaction,
// the outbox hand-off and the Web API call.
//
// Run it for a fixed number of events (2000x = 10 s of load):
//
//	go test ./bot/slackbot -run '^$' -bench EventToReply -benchtime 2000x
//
// It reports p50-ms, p95-ms, p99-ms and max-ms of that latency,
// ack-p99-ms (the HTTP answer to the event alone), events/s (the rate
// achieved) and unanswered (events without a reply; any is an error).
// ns/op is suppressed: with a paced load it is only the pacing.
func BenchmarkEventToReply(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	fake := slackfake.New()
	defer fake.Close()
	fake.SetLogger(quiet)
	for i := range benchCustomers {
		fake.AddUser(slackfake.User{ID: benchUser(i), Name: fmt.Sprintf("customer%d", i),
			RealName: fmt.Sprintf("Customer %d", i), Email: fmt.Sprintf("customer%d@example.com", i)})
	}
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "crm.db"), sqlite.WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	nlu, kb := bottest.Builtin(b)
	engine := bot.NewEngine(nlu, kb, store, nil, quiet)
	desk := handoff.New(store, quiet)
	engine.OnEscalate, engine.OnHandoff = desk.Escalated, desk.CustomerWrote
	app, err := slackbot.New(slackbot.Config{
		BotToken: slackfake.BotToken, SigningSecret: benchSecret, StaffChannel: benchStaff,
		APIURL: fake.APIURL(), Logger: quiet,
	}, engine, desk, store)
	if err != nil {
		b.Fatal(err)
	}
	desk.Route(crm.ChannelSlack, app)
	desk.Observe(app.Observe)
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	runDone := make(chan error, 1)
	go func() { runDone <- app.Run(ctx) }()
	defer func() { cancel(); <-runDone }()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if _, err := fake.WaitCalls(wctx, "auth.test", 1); err != nil {
		b.Fatalf("the outbox worker did not start: %v", err)
	}

	// Slack keeps its connections to an app open; so does this client.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
	}}
	defer client.CloseIdleConnections()

	type sent struct {
		channel, ts string
		start       time.Time
		ack         time.Duration
		status      int
		err         error
	}
	events := make([]sent, b.N)
	for i := range events {
		// Distinct seconds per event, so the ts never collides with the
		// fake's own (1700000000 + n*100 µs).
		// Each event is a new conversation in a direct message of its own
		// (a customer's new top-level line in the same DM would continue
		// their conversation, and be answered in its thread).
		events[i] = sent{channel: benchDM(i), ts: fmt.Sprintf("%d.000100", 1710000000+i)}
	}
	bodies := make([][]byte, b.N)
	for i := range bodies {
		ev := slackfake.MessageEvent(benchUser(i%benchCustomers), events[i].channel, "im", benchTexts[i%len(benchTexts)], events[i].ts, "")
		bodies[i] = slackfake.EventCallback(fmt.Sprintf("Ev%07d", i), ev)
	}

	b.ReportAllocs()
	b.ResetTimer()
	interval := time.Second / benchRate
	tick := time.NewTicker(interval)
	begin := time.Now()
	var wg sync.WaitGroup
	next := 0
	for next < b.N {
		<-tick.C
		// A ticker drops ticks when the receiver is late: send what is
		// due by the clock, so the offered rate stays benchRate.
		due := min(int(time.Since(begin)/interval)+1, b.N)
		for ; next < due; next++ {
			i := next
			wg.Go(func() {
				e := &events[i]
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/slack/events", bytes.NewReader(bodies[i]))
				if err != nil {
					e.err = err
					return
				}
				e.start = time.Now()
				req.Header = slackfake.Sign(benchSecret, bodies[i], e.start)
				resp, err := client.Do(req)
				e.ack = time.Since(e.start)
				if err != nil {
					e.err = err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				e.status = resp.StatusCode
			})
		}
	}
	tick.Stop()
	sendTime := time.Since(begin)
	wg.Wait()
	// Every event was answered: wait for the outbox to empty.
	// (A poll after the load: every event was sent and acknowledged.)
	dctx, dcancel := context.WithTimeout(ctx, benchDrain)
	defer dcancel()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
drain:
	for {
		n, err := app.OutboxDepth(dctx)
		if err == nil && n == 0 {
			break
		}
		select {
		case <-dctx.Done():
			b.Errorf("after %v the outbox still holds %d posts (%v)", benchDrain, n, err)
			break drain
		case <-poll.C:
		}
	}
	b.StopTimer()

	// The first reply in each event's thread.
	type key struct{ channel, ts string }
	replied := map[key]time.Time{}
	for _, c := range fake.Calls("chat.postMessage") {
		if c.Status != http.StatusOK || c.Error != "" {
			continue
		}
		k := key{c.Params.Get("channel"), c.Params.Get("thread_ts")}
		if at, ok := replied[k]; !ok || c.At.Before(at) {
			replied[k] = c.At
		}
	}
	var lat, acks []float64
	unanswered, failed := 0, 0
	for _, e := range events {
		if e.err != nil || e.status != http.StatusOK {
			failed++
			if failed <= 3 {
				b.Errorf("event %s in %s: HTTP %d, %v", e.ts, e.channel, e.status, e.err)
			}
		}
		at, ok := replied[key{e.channel, e.ts}]
		if !ok {
			unanswered++
			continue
		}
		lat = append(lat, ms(at.Sub(e.start)))
		acks = append(acks, ms(e.ack))
	}
	if unanswered > 0 {
		b.Errorf("%d of %d events got no reply", unanswered, b.N)
	}
	p := percentiles(lat)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.95), "p95-ms")
	b.ReportMetric(p(0.99), "p99-ms")
	b.ReportMetric(p(1), "max-ms")
	b.ReportMetric(percentiles(acks)(0.99), "ack-p99-ms")
	b.ReportMetric(float64(b.N)/sendTime.Seconds(), "events/s")
	b.ReportMetric(float64(unanswered), "unanswered")
}

func benchUser(i int) string { return fmt.Sprintf("UC%05d", i) }
func benchDM(i int) string   { return fmt.Sprintf("DC%07d", i) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentiles returns the nearest-rank quantile function of v (0 for
// no values).
func percentiles(v []float64) func(q float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return func(q float64) float64 {
		if len(s) == 0 {
			return 0
		}
		i := int(q*float64(len(s))+0.5) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
}
