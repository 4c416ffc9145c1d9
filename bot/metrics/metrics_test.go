package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/metrics"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/intents"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func turn(action bot.Action, label string, oos bool) bot.Turn {
	return bot.Turn{Action: action, Prediction: intents.Prediction{Label: label, OutOfScope: oos}, Escalated: action == bot.ActionEscalate}
}

// scrape returns what /metrics serves.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func TestObserveTurnLabels(t *testing.T) {
	m := metrics.New(quiet)
	m.SetIntents([]string{"order_status", "human_agent"})
	for _, ev := range []bot.TurnEvent{
		{Channel: crm.ChannelAPI, Turn: turn(bot.ActionAsk, "order_status", false), Took: 3 * time.Millisecond},
		{Channel: crm.ChannelAPI, Turn: turn(bot.ActionEscalate, "human_agent", false), Reason: bot.ReasonAskedForPerson, Took: 4 * time.Millisecond},
		{Channel: crm.ChannelWeb, Turn: turn(bot.ActionFallback, "order_status", true), Took: 2 * time.Millisecond},
		{Channel: crm.ChannelWeb, Turn: turn(bot.ActionFallback, "oos", false), Took: 2 * time.Millisecond},
		// Free text in a label, an unknown channel, action and reason: all bounded.
		{Channel: "carrier pigeon", Turn: turn("dance", "my card is 4111 1111", false), Reason: "the customer's words", Took: time.Millisecond},
		{Channel: crm.ChannelSlack, Turn: turn(bot.ActionEscalate, "", false), Reason: bot.ReasonRepeatedFallback, Took: time.Millisecond},
		{Channel: crm.ChannelSlack, Turn: turn(bot.ActionEscalate, "", false), Reason: bot.ReasonSentiment, Took: time.Millisecond},
	} {
		m.ObserveTurn(context.Background(), ev)
	}
	// A redelivery counts in the latency only.
	dup := turn(bot.ActionAsk, "order_status", false)
	dup.Duplicate = true
	m.ObserveTurn(context.Background(), bot.TurnEvent{Channel: crm.ChannelAPI, Turn: dup, Took: time.Millisecond})

	want := `
# HELP parley_messages_total Customer messages handled, by channel, intent the model predicted (oos: out of scope) and the bot's action.
# TYPE parley_messages_total counter
parley_messages_total{action="ask",channel="api",intent="order_status"} 1
parley_messages_total{action="escalate",channel="api",intent="human_agent"} 1
parley_messages_total{action="escalate",channel="slack",intent="oos"} 2
parley_messages_total{action="fallback",channel="webchat",intent="oos"} 2
parley_messages_total{action="other",channel="other",intent="other"} 1
# HELP parley_escalations_total Conversations the bot handed to a person, by channel and reason.
# TYPE parley_escalations_total counter
parley_escalations_total{channel="api",reason="asked_for_person"} 1
parley_escalations_total{channel="slack",reason="repeated_fallback"} 1
parley_escalations_total{channel="slack",reason="sentiment"} 1
# HELP parley_fallbacks_total Messages the bot did not understand and answered with its fallback.
# TYPE parley_fallbacks_total counter
parley_fallbacks_total{channel="webchat"} 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"parley_messages_total", "parley_escalations_total", "parley_fallbacks_total"); err != nil {
		t.Error(err)
	}
	out := scrape(t, m)
	for _, line := range []string{
		`parley_reply_seconds_count{channel="api"} 3`,
		`parley_reply_seconds_bucket{channel="api",le="0.0025"} 1`,
		`parley_reply_seconds_bucket{channel="api",le="0.005"} 3`,
		`parley_reply_seconds_count{channel="webchat"} 2`,
		`parley_reply_seconds_bucket{channel="webchat",le="0.001"} 0`,
		`parley_reply_seconds_bucket{channel="webchat",le="5"} 2`,
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	for _, leak := range []string{"4111", "pigeon", "customer's words", "dance"} {
		if strings.Contains(out, leak) {
			t.Errorf("/metrics contains %q, free text from a turn", leak)
		}
	}
	for _, std := range []string{"go_goroutines ", "process_cpu_seconds_total "} {
		if !strings.Contains(out, std) {
			t.Errorf("/metrics lacks %s: want the Go and process collectors", std)
		}
	}
}

func TestSetModelsReplaces(t *testing.T) {
	m := metrics.New(quiet)
	m.SetModels(map[string]string{"intent": "v1", "sentiment": "s1"})
	m.SetModels(map[string]string{"intent": "v2", "sentiment": "s1"})
	want := `
# HELP parley_model_info 1 for each model version being served, by kind (intent, sentiment).
# TYPE parley_model_info gauge
parley_model_info{kind="intent",version="v2"} 1
parley_model_info{kind="sentiment",version="s1"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "parley_model_info"); err != nil {
		t.Errorf("after a swap from v1 to v2: %v", err)
	}
}

// intentsAfterSwap: a label the new model lacks is no longer a value.
func TestSetIntentsReplaces(t *testing.T) {
	m := metrics.New(quiet)
	m.SetIntents([]string{"refund"})
	m.SetIntents([]string{"order_status"})
	m.ObserveTurn(context.Background(), bot.TurnEvent{Channel: crm.ChannelAPI, Turn: turn(bot.ActionAnswer, "refund", false)})
	out := scrape(t, m)
	if want := `parley_messages_total{action="answer",channel="api",intent="other"} 1`; !strings.Contains(out, want) {
		t.Errorf("a label of the old model: /metrics lacks %q", want)
	}
}

// fakeOutbox counts its calls; err, when set, fails them.
type fakeOutbox struct {
	depth map[crm.Channel]int
	calls int
	err   error
}

func (f *fakeOutbox) OutboxDepth(_ context.Context, ch crm.Channel) (int, error) {
	f.calls++
	if f.err != nil {
		return 0, f.err
	}
	return f.depth[ch], nil
}

func TestOutboxCached(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := &fakeOutbox{depth: map[crm.Channel]int{crm.ChannelSlack: 7, crm.ChannelWeb: 0}}
	m := metrics.New(quiet)
	if err := m.WatchOutbox(f, []crm.Channel{crm.ChannelSlack, crm.ChannelWeb}, 5*time.Second, func() time.Time { return now }); err != nil {
		t.Fatal(err)
	}
	check := func(step string, wantSlack string, wantCalls int) {
		t.Helper()
		out := scrape(t, m)
		if want := `parley_outbox_depth{channel="slack"} ` + wantSlack + "\n"; !strings.Contains(out, want) {
			t.Errorf("%s: /metrics lacks %q", step, want)
		}
		if f.calls != wantCalls {
			t.Errorf("%s: %d OutboxDepth calls, want %d", step, f.calls, wantCalls)
		}
	}
	check("first scrape", "7", 2)
	f.depth[crm.ChannelSlack] = 9
	now = now.Add(4 * time.Second)
	check("scrape within the TTL", "7", 2)
	now = now.Add(time.Second)
	check("scrape after the TTL", "9", 4)
	// A failing count keeps the last good value, and says so in the log.
	f.err = errors.New("database is locked")
	now = now.Add(5 * time.Second)
	check("scrape while counting fails", "9", 6)
	if got := testutil.ToFloat64(dbCount(t, m, metrics.OpOutboxDepth)); got != 6 {
		t.Errorf("parley_db_seconds_count{op=outbox_depth} = %v, want 6", got)
	}
}

func TestOutboxFirstCountFails(t *testing.T) {
	f := &fakeOutbox{err: errors.New("no such table")}
	m := metrics.New(quiet)
	if err := m.WatchOutbox(f, []crm.Channel{crm.ChannelSlack}, 0, nil); err != nil {
		t.Fatal(err)
	}
	// No value yet: the gauge is absent, not a made-up 0; the scrape works.
	if out := scrape(t, m); strings.Contains(out, "parley_outbox_depth{") {
		t.Errorf("/metrics has an outbox depth though no count succeeded:\n%s", out)
	}
}

func TestGaugeFuncDuplicate(t *testing.T) {
	m := metrics.New(quiet)
	n := 3
	if err := m.GaugeFunc("parley_webchat_connections", "Open connections.", func() float64 { return float64(n) }); err != nil {
		t.Fatal(err)
	}
	if err := m.GaugeFunc("parley_webchat_connections", "Open connections.", func() float64 { return 0 }); err == nil {
		t.Error("registering parley_webchat_connections twice: nil error, want one")
	}
	if out := scrape(t, m); !strings.Contains(out, "parley_webchat_connections 3\n") {
		t.Errorf("/metrics lacks parley_webchat_connections 3:\n%s", out)
	}
}
