package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/api"
	"github.com/parley-chat/parley/bot/console"
	"github.com/parley-chat/parley/bot/console/auth"
	"github.com/parley-chat/parley/bot/handoff"
	"github.com/parley-chat/parley/bot/metrics"
	"github.com/parley-chat/parley/bot/slackbot"
	"github.com/parley-chat/parley/bot/training"
	"github.com/parley-chat/parley/bot/webchat"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/sqlite"
	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/builtin"
	"github.com/parley-chat/parley/intents/ensemble"
	"github.com/parley-chat/parley/knowledge"
	"github.com/parley-chat/parley/nlp"
)

type serveCommand struct {
	stdout, stderr io.Writer
	// listening, when set, receives the server's address once it
	// accepts connections (tests listen on port 0); started, the server.
	listening func(addr string)
	started   func(*server)
	// getenv, when set, replaces os.Getenv (tests configure Slack with it).
	getenv func(string) string
}

// defaultMemoryLimit is the Go heap's soft limit unless GOMEMLIMIT is set.
const defaultMemoryLimit = 256 << 20

// Server limits.
const (
	maxRequestBytes = 64 << 10
	shutdownTimeout = 15 * time.Second
	// readyTimeout bounds /readyz's test write: a probe that waits longer
	// than a load balancer's would tell it nothing.
	readyTimeout = 2 * time.Second
)

// Kinds of models stored in the CRM.
const (
	intentKind    = "intent"
	sentimentKind = "sentiment"
)

// serveConfig is what serve is started with.
type serveConfig struct {
	addr, db                  string
	modelPath, sentimentPath  string
	policyPath, kbDir, redact string
	debugAddr                 string
	allowOrigins              string
	slackAPIURL, publicURL    string
	modelPoll                 time.Duration
	logFormat                 string
	tlsCert, tlsKey           string
	retrainMembers            string
	// Automatic certificates (autocert.go); on with autocertDomains.
	autocertDomains, autocertCache, autocertEmail string
	acmeDirectory, acmeCACert, autocertHTTPAddr   string
	// Rate limits (ratelimits.go).
	ipRate, visitorRate, handshakeRate    float64
	ipBurst, visitorBurst, handshakeBurst int
	trustedProxies                        string
	protect                               protectConfig
	// getenv reads the environment (Slack's settings); tests set it.
	getenv func(string) string
}

// serveFlags defines serve's settings on a new flag set; the YAML
// configuration file and the environment (PARLEY_<NAME>) set the same
// names (see applyConfig).
func serveFlags(cfg *serveConfig, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.String("config", "", "YAML file of settings (names as the flags'; the environment's PARLEY_<NAME> overrides it, flags override both)")
	fs.StringVar(&cfg.addr, "addr", "localhost:8080", "address to listen on")
	fs.StringVar(&cfg.db, "db", defaultDB, "CRM database file (created if missing)")
	fs.StringVar(&cfg.modelPath, "model", "", "intent model file (default: the CRM's active model; on first start the built-in one)")
	fs.StringVar(&cfg.sentimentPath, "sentiment-model", "", "sentiment model file (default: as --model)")
	fs.StringVar(&cfg.policyPath, "policy", "", "dialogue policy file (default: the built-in policy)")
	fs.StringVar(&cfg.kbDir, "kb", "", "knowledge base directory of Markdown articles (default: the built-in one)")
	fs.StringVar(&cfg.redact, "redact", "", "mask PII in stored text: comma-separated email, card, phone, or all")
	fs.StringVar(&cfg.allowOrigins, "allow-origin", "", "hosts whose pages may embed the chat widget, comma-separated (e.g. shop.example,*.shop.example; default: this server's own pages only)")
	fs.StringVar(&cfg.slackAPIURL, "slack-api-url", "", "Slack Web API base URL (default: Slack's; any compatible endpoint, e.g. a local fake)")
	fs.StringVar(&cfg.publicURL, "public-url", "", "this server's URL as staff reach it, for links in Slack (default: http://ADDR)")
	fs.StringVar(&cfg.retrainMembers, "retrain-members", "", "model families the console's Retrain button trains, comma-separated (default: the built-in model's, svm,rnn)")
	fs.StringVar(&cfg.logFormat, "log-format", "", "text or json (default: text on a terminal, JSON otherwise)")
	fs.StringVar(&cfg.tlsCert, "tls-cert", "", "serve HTTPS with this certificate file (PEM; with --tls-key)")
	fs.StringVar(&cfg.tlsKey, "tls-key", "", "the certificate's private key file (PEM)")
	fs.DurationVar(&cfg.modelPoll, "model-poll", defaultModelPoll, "how often to look for a promoted model in the CRM (0: never)")
	fs.StringVar(&cfg.autocertDomains, "autocert-domains", "", "get HTTPS certificates automatically (ACME) for these names, comma-separated; only these are served (then --addr defaults to :443, --public-url to https://FIRST-NAME)")
	fs.StringVar(&cfg.autocertCache, "autocert-cache", "", "directory for the ACME account and the certificates, created 0700 (default: "+autocertCacheDir+" next to --db)")
	fs.StringVar(&cfg.autocertEmail, "autocert-email", "", "contact address registered with the ACME account, for the CA's notices")
	fs.StringVar(&cfg.acmeDirectory, "acme-directory", defaultACMEDirectory, "ACME directory URL (e.g. Let's Encrypt staging, or a private CA such as step-ca)")
	fs.StringVar(&cfg.acmeCACert, "acme-ca-cert", "", "PEM roots that a private ACME directory's HTTPS certificate chains to (default: the system's)")
	fs.StringVar(&cfg.autocertHTTPAddr, "autocert-http-addr", defaultAutocertHTTP, "plain HTTP listener for ACME HTTP-01 challenges, redirecting the rest to HTTPS (empty: none, TLS-ALPN-01 only)")
	fs.StringVar(&cfg.debugAddr, "debug-addr", "", "serve Go's profiler (/debug/pprof/) on this address, e.g. localhost:6060 (off by default; never expose it)")
	limitFlags(fs, cfg)
	fs.StringVar(&cfg.protect.redactWeb, "redact-web", "", "PII to mask in web chat messages: kinds as --redact, or none (default: --redact's)")
	fs.StringVar(&cfg.protect.redactSlack, "redact-slack", "", "PII to mask in Slack messages: kinds as --redact, or none (default: --redact's)")
	fs.StringVar(&cfg.protect.redactAPI, "redact-api", "", "PII to mask in REST API messages: kinds as --redact, or none (default: --redact's)")
	fs.IntVar(&cfg.protect.retainDays, "retain-days", 0, "expire the words of messages older than N days (0: keep forever)")
	fs.StringVar(&cfg.protect.retainMode, "retain-mode", string(defaultRetainMode), "what expiring does: delete (blank the text, keep what the models understood) or redact (mask PII, keep the rest)")
	fs.DurationVar(&cfg.protect.retainEvery, "retain-every", defaultRetainEvery, "how often the retention job runs (first at start)")
	fs.StringVar(&cfg.protect.backupDir, "backup-dir", "", "directory for scheduled backups (created if missing)")
	fs.DurationVar(&cfg.protect.backupEvery, "backup-every", 0, "back up the CRM into --backup-dir this often, e.g. 6h (0: no scheduled backups)")
	fs.IntVar(&cfg.protect.backupKeep, "backup-keep", defaultBackupKeep, "how many scheduled backups to keep (older ones are deleted after a verified new one)")
	return fs
}

func (c *serveCommand) Run(ctx context.Context, args []string) error {
	var cfg serveConfig
	fs := serveFlags(&cfg, c.stderr)
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: parley serve [--addr HOST:PORT] [--db FILE] [--model FILE] [--policy FILE] [--kb DIR] [--redact KINDS]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg.getenv = c.getenv
	if cfg.getenv == nil {
		cfg.getenv = os.Getenv
	}
	if err := applyConfig(fs, cfg.getenv); err != nil {
		return err
	}
	log, err := newLogger(c.stderr, cfg.logFormat)
	if err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" {
		// The models are a large, long-lived heap; with Go's default the
		// collector runs twice as often for the same short-lived garbage
		// of each message. 200 cut the 99th-percentile reply latency at
		// 1,100 messages/s from 24.7 to 20.8 ms (BENCHMARKS.md) for a
		// larger heap.
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit keeps that larger heap in bounds under load: the
		// collector works harder near it instead of growing the heap
		// (1,000 web chats: 402 MB RSS without it, BENCHMARKS.md).
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	start := time.Now()
	s, err := newServer(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.close()
	log.Info("ready", "startup", time.Since(start).Round(time.Millisecond))
	if c.started != nil {
		c.started(s)
	}
	return s.run(ctx, c.listening)
}

// server is a running Parley: the CRM, the models, the knowledge base,
// the engine and the HTTP routes.
type server struct {
	cfg     serveConfig
	log     *slog.Logger
	store   *sqlite.Store
	models  *bot.Models
	engine  *bot.Engine
	desk    *handoff.Desk
	webchat *webchat.Server
	slack   *slackbot.App // nil without Slack
	runner  *training.Runner
	console *console.Server
	metrics *metrics.Metrics
	limits  *limits
	protect *protection // retention and scheduled backups
	http    *http.Server
	autoTLS *autoTLS // nil without --autocert-domains
	// lastWritable is when /readyz last saw the CRM take a write.
	lastWritable atomic.Pointer[time.Time]
}

func newServer(ctx context.Context, cfg serveConfig, log *slog.Logger) (*server, error) {
	s := &server{cfg: cfg, log: log}
	opts := []sqlite.Option{}
	if cfg.redact != "" {
		r, err := parseRedact(cfg.redact)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sqlite.WithRedactor(r))
	}
	chanOpts, err := channelRedactors(cfg.protect)
	if err != nil {
		return nil, err
	}
	opts = append(opts, chanOpts...)
	store, err := openStore(ctx, cfg.db, log, opts...)
	if err != nil {
		return nil, err
	}
	s.store = store
	ok := false
	defer func() {
		if !ok {
			store.Close()
		}
	}()
	set, err := loadServingModels(ctx, store, cfg.modelPath, cfg.sentimentPath, log)
	if err != nil {
		return nil, err
	}
	if s.models, err = bot.NewModels(set); err != nil {
		return nil, err
	}
	policy := bot.DefaultPolicy()
	labels := set.Intent.Header().Labels
	if cfg.policyPath != "" {
		f, err := os.Open(cfg.policyPath)
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		policy, err = bot.ParsePolicy(f, cfg.policyPath, labels)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
	}
	kb, err := loadKnowledge(cfg.kbDir, set.Intent)
	if err != nil {
		return nil, err
	}
	s.metrics = metrics.New(log)
	if s.protect, err = newProtection(cfg.protect, store, store, s.metrics.Registry(), log); err != nil {
		return nil, err
	}
	s.modelsChanged(set)
	// The engine's CRM calls are timed: they are the hot ones.
	s.engine = bot.NewEngine(s.models, kb, s.metrics.Store(store), policy, log)
	s.engine.OnTurn = s.metrics.ObserveTurn
	var origins []string
	for _, o := range strings.Split(cfg.allowOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	if s.limits, err = newLimits(cfg, s.metrics); err != nil {
		return nil, err
	}
	s.webchat = webchat.New(s.engine, store, webchat.Config{AllowedOrigins: origins, Logger: log, Limits: s.limits.webchat()})
	s.desk = handoff.New(store, log)
	s.engine.OnEscalate = s.desk.Escalated
	s.engine.OnHandoff = s.desk.CustomerWrote
	s.desk.Route(crm.ChannelWeb, webDeliverer{s.webchat})
	if err := s.metrics.GaugeFunc("parley_webchat_connections", "Open web chat WebSocket connections.",
		func() float64 { return float64(s.webchat.Connections()) }); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if err := s.metrics.WatchOutbox(store, []crm.Channel{crm.ChannelWeb, crm.ChannelSlack, crm.ChannelAPI}, 0, nil); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if err := s.setupSlack(); err != nil {
		return nil, err
	}
	if err := s.setupConsole(kb); err != nil {
		return nil, err
	}
	s.http = &http.Server{
		Handler:           requestIDs(s.log, s.cfg.tlsCert != "" || s.cfg.autocertDomains != "", s.routes()),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      20 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// The console's live streams never go idle: end them when shutdown
	// starts, or it would wait for them until its timeout.
	s.http.RegisterOnShutdown(s.console.Close)
	if err := s.setupAutocert(); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// run serves until ctx is cancelled, then shuts down gracefully: it
// stops accepting, lets in-flight requests finish (their messages are
// stored), and returns.
func (s *server) run(ctx context.Context, listening func(string)) error {
	ln, err := net.Listen("tcp", s.cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	stopACMEHTTP, err := s.autoTLS.start()
	if err != nil {
		ln.Close()
		return err
	}
	defer stopACMEHTTP()
	scheme := "http://"
	if s.cfg.tlsCert != "" || s.autoTLS != nil {
		scheme = "https://"
	}
	s.log.Info("listening", "url", scheme+ln.Addr().String(), "db", s.cfg.db)
	if listening != nil {
		listening(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() {
		if s.cfg.tlsCert != "" || s.autoTLS != nil {
			errc <- s.http.ServeTLS(ln, s.cfg.tlsCert, s.cfg.tlsKey)
			return
		}
		errc <- s.http.Serve(ln)
	}()
	var background sync.WaitGroup
	bctx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer func() { stopBackground(); background.Wait() }()
	if s.cfg.modelPoll > 0 {
		background.Go(func() { s.watchModels(bctx, s.cfg.modelPoll) })
	}
	s.protect.start(bctx, &background)
	if s.slack != nil {
		background.Go(func() {
			if err := s.slack.Run(bctx); err != nil {
				s.log.Error("slack stopped", "err", err)
			}
		})
	}
	if s.cfg.debugAddr != "" {
		// Its write timeout leaves room for a 60-second CPU profile.
		dbg := &http.Server{Addr: s.cfg.debugAddr, Handler: debugMux(), ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout: 15 * time.Second, WriteTimeout: 90 * time.Second, IdleTimeout: 60 * time.Second}
		go func() {
			if err := dbg.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("debug server", "err", err)
			}
		}()
		defer dbg.Close()
		s.log.Info("profiler", "url", "http://"+s.cfg.debugAddr+"/debug/pprof/")
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := s.http.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// Shutdown does not wait for hijacked connections: close the chats.
	s.webchat.Close()
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

func (s *server) close() error {
	if s.runner != nil {
		s.runner.Close() // a retraining in progress is cancelled and stores nothing
	}
	return s.store.Close()
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/messages", api.Handler(s.engine, s.log, api.WithLimits(s.limits.api())))
	chat := s.webchat.Handler()
	for _, p := range []string{"/ws", "/widget.js", "/widget.css", "/{$}"} {
		mux.Handle(p, chat)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		api.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.handleReady)
	// The metrics carry no customer data (labels are bounded: channels,
	// intents, actions, model versions), but they do describe the
	// traffic: operators may firewall /metrics from the public side.
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.HandleFunc("POST /api/v1/nlu", s.handleNLU)
	if s.slack != nil {
		mux.Handle("/slack/", s.slack.Handler())
	}
	consoleRoutes := s.console.Handler()
	mux.Handle("/console/", consoleRoutes)
	mux.Handle("/console", consoleRoutes)
	return mux
}

// handleReady is /readyz: 200 when the models are loaded and the CRM
// takes a test write, else 503 with the reason. Unlike /healthz (the
// process is alive) it says whether messages sent here would be
// answered and stored.
func (s *server) handleReady(w http.ResponseWriter, r *http.Request) {
	set := s.models.Current()
	if err := set.Validate(); err != nil {
		api.JSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "reason": "model not loaded: " + err.Error()})
		return
	}
	// A write a second is enough to know: probes (and tests polling for
	// a promotion) must not turn into write load.
	var err error
	if last := s.lastWritable.Load(); last == nil || time.Since(*last) > time.Second {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		start := time.Now()
		err = s.store.CheckWritable(ctx)
		s.metrics.ObserveDB(metrics.OpReadyCheck, start)
		if err == nil {
			now := time.Now()
			s.lastWritable.Store(&now)
		}
	}
	if err != nil {
		// The detail (the file's path, SQLite's words) goes to the log,
		// not to whoever can reach the probe.
		s.log.Warn("not ready", "err", err)
		api.JSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "reason": "database not writable", "intent_model": set.Version})
		return
	}
	api.JSON(w, http.StatusOK, map[string]any{"status": "ready", "intent_model": set.Version})
}

// modelsChanged tells the metrics which models serve now: at start and
// after each swap.
func (s *server) modelsChanged(set bot.ModelSet) {
	versions := map[string]string{}
	// The serving version is "intent+sentiment" (loadServingModels).
	if names := strings.SplitN(set.Version, "+", 2); len(names) == 2 {
		versions[intentKind], versions[sentimentKind] = names[0], names[1]
	} else {
		versions[intentKind] = set.Version
	}
	s.metrics.SetModels(versions)
	if set.Intent != nil {
		s.metrics.SetIntents(set.Intent.Header().Labels)
	}
}

// setupConsole adds the staff console at /console: its sign-in on the
// CRM's staff accounts, the desk's actions, live updates from the desk's
// events, and canned responses from the knowledge base.
func (s *server) setupConsole(kb bot.Knowledge) error {
	// Behind a TLS-terminating proxy (an https public URL) the session
	// cookie is marked Secure.
	a := auth.New(s.store, auth.Config{Logger: s.log, SecureCookies: strings.HasPrefix(s.cfg.publicURL, "https://"),
		ClientAddr: func(r *http.Request) string { return s.limits.clients.Addr(r).String() }})
	d := console.Deps{Store: s.store, Desk: s.desk, Auth: a, KB: cannedSearcher{kb}, Logger: s.log}
	wb, err := training.New(s.store, training.WithLogger(s.log))
	if err != nil {
		return fmt.Errorf("the analysts' workbench: %w", err)
	}
	s.runner = training.NewRunner(wb)
	d.Training, d.Runner = wb, s.runner
	if s.cfg.retrainMembers != "" {
		d.Retrain.Members = strings.Split(s.cfg.retrainMembers, ",")
	}
	s.console = console.New(d)
	s.desk.Observe(s.console.Observe)
	return nil
}

// cannedSearcher is the knowledge base as the console's canned responses
// search it: free text, tokenized as the bot tokenizes messages.
type cannedSearcher struct{ kb bot.Knowledge }

func (c cannedSearcher) Search(q string, n int) []knowledge.Hit {
	doc, err := nlp.Parse(q)
	if err != nil {
		return nil // empty or too long: no suggestions
	}
	return c.kb.Search(doc, n, nil)
}

// setupSlack adds the Slack app when the environment configures it; a
// partial configuration stops the start, naming what is missing.
func (s *server) setupSlack() error {
	cfg, enabled, err := slackbot.ConfigFromEnv(s.cfg.getenv)
	if err != nil {
		return err
	}
	if !enabled {
		s.log.Info("slack is off: set " + slackbot.EnvBotToken + ", " + slackbot.EnvAppToken + " (or " + slackbot.EnvSigningSecret + ") and " + slackbot.EnvStaffChannel + " to connect it")
		return nil
	}
	cfg.APIURL, cfg.Logger = s.cfg.slackAPIURL, s.log
	cfg.ConsoleURL = s.cfg.publicURL
	if cfg.ConsoleURL == "" {
		cfg.ConsoleURL = "http://" + s.cfg.addr
	}
	app, err := slackbot.New(cfg, s.engine, s.desk, s.store)
	if err != nil {
		return err
	}
	s.slack = app
	s.desk.Route(crm.ChannelSlack, app)
	s.desk.Observe(app.Observe)
	return nil
}

// webDeliverer brings a person's replies to web chat customers: they are
// in the CRM already, the widget's connections get them pushed.
type webDeliverer struct{ chat *webchat.Server }

func (d webDeliverer) Deliver(ctx context.Context, conv crm.Conversation, _ crm.Message, _ crm.StaffUser) error {
	d.chat.Publish(ctx, conv.ID)
	return nil
}

func (d webDeliverer) StateChanged(_ context.Context, conv crm.Conversation) {
	d.chat.SetState(conv.ID, conv.State)
}

// debugMux serves the profiler on its own listener, away from the
// public routes.
func debugMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// handleNLU understands a message without a conversation: for trying
// the models and for integrations that only want the NLU.
func (s *server) handleNLU(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Text     string `json:"text"`
		Entities bool   `json:"named_entities"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		status := http.StatusBadRequest
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status = http.StatusRequestEntityTooLarge
		}
		api.Error(w, status, "invalid request body: "+err.Error())
		return
	}
	stages := nlp.Stages(0)
	if req.Entities {
		stages = nlp.NamedEntities
	}
	set := s.models.Current()
	a, err := analyze(set, req.Text, stages)
	switch {
	case errors.Is(err, nlp.ErrTooLong):
		api.Error(w, http.StatusRequestEntityTooLarge, err.Error())
	case err != nil:
		api.Error(w, http.StatusUnprocessableEntity, err.Error())
	default:
		api.JSON(w, http.StatusOK, a)
	}
}

// parseRedact reads the --redact flag.
func parseRedact(s string) (func(string) string, error) {
	kinds, err := parseRedactKinds(s, false)
	if err != nil {
		return nil, fmt.Errorf("--redact: %w", err)
	}
	return crm.NewRedactor(kinds).Redact, nil
}

// loadServingModels picks the models to serve: files when given, else
// the CRM's active versions. A CRM without one (the first start) gets
// the built-in models, stored as its first versions: later starts and
// other servers sharing the database load them from there, and a
// promoted retrained model replaces them.
func loadServingModels(ctx context.Context, store crm.Store, intentPath, sentimentPath string, log *slog.Logger) (bot.ModelSet, error) {
	var set bot.ModelSet
	var versions []string
	for _, k := range []struct {
		kind, path, builtinName string
		dst                     *intents.Model
	}{
		{intentKind, intentPath, builtin.IntentModel, &set.Intent},
		{sentimentKind, sentimentPath, builtin.SentimentModel, &set.Sentiment},
	} {
		var m intents.Model
		var version string
		var err error
		if k.path != "" {
			m, err = loadModel(k.path, "")
			version = "file:" + k.path
		} else {
			m, version, err = activeModel(ctx, store, k.kind, k.builtinName, log)
		}
		if err != nil {
			return set, err
		}
		*k.dst = m
		versions = append(versions, version)
	}
	set.Version = strings.Join(versions, "+")
	return set, nil
}

// activeModel loads the CRM's active model of kind, storing the built-in
// one first when there is none.
func activeModel(ctx context.Context, store crm.Store, kind, builtinName string, log *slog.Logger) (intents.Model, string, error) {
	v, err := store.ActiveModel(ctx, kind)
	if errors.Is(err, crm.ErrNotFound) {
		data, err := fs.ReadFile(builtin.Models(), builtinName)
		if err != nil {
			return nil, "", fmt.Errorf("built-in %s model: %w", kind, err)
		}
		m, err := ensemble.DecodeModel(bytes.NewReader(data))
		if err != nil {
			return nil, "", fmt.Errorf("built-in %s model: %w", kind, err)
		}
		h := m.Header()
		v, err = store.SaveModelVersion(ctx, crm.ModelVersion{
			Kind: kind, Version: "builtin-" + h.DataHash[:12], DataHash: h.DataHash, Artifact: data,
			Metrics: h.Metrics, Notes: "the built-in model, stored on first start",
		})
		if errors.Is(err, crm.ErrConflict) {
			// Another server stored it first: use theirs.
			return activeModel(ctx, store, kind, builtinName, log)
		} else if err != nil {
			return nil, "", fmt.Errorf("store the built-in %s model: %w", kind, err)
		}
		if err := store.PromoteModel(ctx, v.ID); err != nil {
			return nil, "", fmt.Errorf("promote the built-in %s model: %w", kind, err)
		}
		log.Info("first start: stored the built-in model in the CRM", "kind", kind, "version", v.Version)
		return m, v.Version, nil
	} else if err != nil {
		return nil, "", fmt.Errorf("active %s model: %w", kind, err)
	}
	m, err := ensemble.DecodeModel(bytes.NewReader(v.Artifact))
	if err != nil {
		return nil, "", fmt.Errorf("%s model %s in the CRM: %w", kind, v.Version, err)
	}
	return m, v.Version, nil
}

// loadKnowledge loads the knowledge base (the built-in one, or dir),
// indexed with the intent model's RNN embeddings when it has them.
func loadKnowledge(dir string, intentModel intents.Model) (bot.Knowledge, error) {
	var base *knowledge.Base
	var err error
	if dir == "" {
		base, err = knowledge.Builtin()
	} else {
		base, err = knowledge.Load(os.DirFS(dir), ".")
	}
	if err != nil {
		return nil, fmt.Errorf("knowledge base: %w", err)
	}
	return bot.NewKnowledge(base, embedderOf(intentModel))
}

// embedderOf finds a sentence embedder in a model or its members.
func embedderOf(m intents.Model) knowledge.Embedder {
	if e, ok := m.(knowledge.Embedder); ok {
		return e
	}
	if ens, ok := m.(*ensemble.Model); ok {
		members, _ := ens.Members()
		for _, mm := range members {
			if e, ok := mm.(knowledge.Embedder); ok {
				return e
			}
		}
	}
	return nil
}

// newLogger is the server's log: text for a person at a terminal, JSON
// lines for a log collector. Message text and secrets are logged only
// at debug level.
func newLogger(w io.Writer, format string) (*slog.Logger, error) {
	if format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

type requestIDKey struct{}

// requestIDs gives every request an id (the client's X-Request-ID when
// it sends a sane one), echoes it in the response and logs failures
// with it; over TLS it also sets HSTS.
func requestIDs(log *slog.Logger, tls bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if len(id) == 0 || len(id) > 64 || strings.ContainsFunc(id, func(c rune) bool { return c < '!' || c > '~' }) {
			var b [8]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-ID", id)
		if tls {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
		if rec.status >= 500 {
			log.Warn("request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "status", rec.status)
		}
	})
}

// statusRecorder notes the status a handler wrote; it passes hijacking
// (WebSockets) and flushing (server-sent events) through.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int)        { r.status = code; r.ResponseWriter.WriteHeader(code) }
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("the response cannot be hijacked")
	}
	return h.Hijack()
}
