package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/crm"
)

// Label values for what falls outside the bounded sets.
const (
	// OOS is the intent label of out-of-scope messages.
	OOS = "oos"
	// Other stands for a channel, intent or reason not in the known set.
	Other = "other"
)

// ReplyBuckets are parley_reply_seconds' buckets: 1 ms to 5 s, about
// ×2.5 apart, dense where a healthy reply lands (a few ms to 100 ms).
var ReplyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// DBBuckets are parley_db_seconds' buckets: 100 µs to 5 s (a group
// commit is sub-millisecond; a busy lock waits seconds).
var DBBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// Metrics is Parley's set of metrics on its own registry. It is safe
// for concurrent use.
type Metrics struct {
	reg         *prometheus.Registry
	log         *slog.Logger
	messages    *prometheus.CounterVec
	reply       *prometheus.HistogramVec
	escalations *prometheus.CounterVec
	fallbacks   *prometheus.CounterVec
	modelInfo   *prometheus.GaugeVec
	db          *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec

	intents atomic.Pointer[map[string]bool] // the serving model's labels
	modelMu sync.Mutex                      // serializes SetModels' reset and set
}

// New returns the metrics, registered with the Go runtime and process
// collectors on a fresh registry. log nil means slog.Default().
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.Default()
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: log,
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_messages_total",
			Help: "Customer messages handled, by channel, intent the model predicted (oos: out of scope) and the bot's action.",
		}, []string{"channel", "intent", "action"}),
		reply: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parley_reply_seconds",
			Help:    "Time to handle a customer message and decide the reply, CRM write included.",
			Buckets: ReplyBuckets,
		}, []string{"channel"}),
		escalations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_escalations_total",
			Help: "Conversations the bot handed to a person, by channel and reason.",
		}, []string{"channel", "reason"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_fallbacks_total",
			Help: "Messages the bot did not understand and answered with its fallback.",
		}, []string{"channel"}),
		modelInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "parley_model_info",
			Help: "1 for each model version being served, by kind (intent, sentiment).",
		}, []string{"kind", "version"}),
		db: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parley_db_seconds",
			Help:    "CRM call latency by operation.",
			Buckets: DBBuckets,
		}, []string{"op"}),
	}
	m.reg.MustRegister(m.messages, m.reply, m.escalations, m.fallbacks, m.modelInfo, m.db,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.rateLimited = newRateLimited()
	m.reg.MustRegister(m.rateLimited)
	empty := map[string]bool{}
	m.intents.Store(&empty)
	return m
}

// Registry is the registry the metrics are on, for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError, // one failing collector must not hide the rest
	})
}

// SetModels records the serving model versions: versions maps a kind
// ("intent", "sentiment") to its version. Versions no longer served
// disappear, so the gauge is 1 for exactly the current ones.
func (m *Metrics) SetModels(versions map[string]string) {
	m.modelMu.Lock()
	defer m.modelMu.Unlock()
	m.modelInfo.Reset()
	for kind, v := range versions {
		m.modelInfo.WithLabelValues(kind, v).Set(1)
	}
}

// SetIntents sets the intent labels that may appear as label values
// (the serving intent model's); predictions outside them count as
// Other.
func (m *Metrics) SetIntents(labels []string) {
	set := make(map[string]bool, len(labels))
	for _, l := range labels {
		set[l] = true
	}
	m.intents.Store(&set)
}

// ObserveTurn records one handled message; it is bot.Engine.OnTurn.
// A redelivered message (a duplicate) counts in the latency only: it
// was counted when first handled.
func (m *Metrics) ObserveTurn(_ context.Context, ev bot.TurnEvent) {
	ch := channel(ev.Channel)
	m.reply.WithLabelValues(ch).Observe(ev.Took.Seconds())
	if ev.Turn.Duplicate {
		return
	}
	m.messages.WithLabelValues(ch, m.intent(ev.Turn), action(ev.Turn.Action)).Inc()
	if ev.Turn.Escalated {
		m.escalations.WithLabelValues(ch, reason(ev.Reason)).Inc()
	}
	if ev.Turn.Action == bot.ActionFallback {
		m.fallbacks.WithLabelValues(ch).Inc()
	}
}

// ObserveDB records one CRM call of op that started at start.
func (m *Metrics) ObserveDB(op string, start time.Time) {
	m.db.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

// GaugeFunc registers a gauge read from f at each scrape
// (parley_webchat_connections from webchat.Server.Connections, say).
func (m *Metrics) GaugeFunc(name, help string, f func() float64) error {
	return m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

func (m *Metrics) intent(t bot.Turn) string {
	p := t.Prediction
	if p.OutOfScope || p.Label == "" || p.Label == OOS { // intents.OOS
		return OOS
	}
	if (*m.intents.Load())[p.Label] {
		return p.Label
	}
	return Other
}

var channels = []crm.Channel{crm.ChannelWeb, crm.ChannelSlack, crm.ChannelAPI}

func channel(c crm.Channel) string {
	if slices.Contains(channels, c) {
		return string(c)
	}
	return Other
}

var actions = []bot.Action{bot.ActionAnswer, bot.ActionSearch, bot.ActionClarify, bot.ActionAsk,
	bot.ActionSmallTalk, bot.ActionFallback, bot.ActionEscalate, bot.ActionHandoff}

func action(a bot.Action) string {
	if slices.Contains(actions, a) {
		return string(a)
	}
	return Other
}

// reason turns the engine's escalation reasons, sentences, into short
// label values.
func reason(r string) string {
	switch r {
	case bot.ReasonSentiment:
		return "sentiment"
	case bot.ReasonAskedForPerson:
		return "asked_for_person"
	case bot.ReasonRepeatedFallback:
		return "repeated_fallback"
	}
	return Other
}
