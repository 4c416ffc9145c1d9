package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/sqlite"
)

// Data protection: per-channel PII redaction at ingest, retention of
// message text, scheduled backups with rotation. serveFlags defines the
// settings; protectionProblems checks them with the rest of the
// configuration; the server runs the two jobs.

// protectConfig is serve's data-protection settings.
type protectConfig struct {
	// redactWeb, redactSlack, redactAPI override --redact for a channel:
	// kinds, "none", or "" for --redact's.
	redactWeb, redactSlack, redactAPI string
	retainDays                        int
	retainMode                        string
	retainEvery                       time.Duration
	backupDir                         string
	backupEvery                       time.Duration
	backupKeep                        int
}

// Defaults of the data-protection flags.
const (
	defaultRetainMode  = crm.ExpireDelete
	defaultRetainEvery = time.Hour
	defaultBackupKeep  = 7
	// backupRetry is how soon a failed scheduled backup is tried again
	// (or after --backup-every, when that is sooner).
	backupRetry = 5 * time.Minute
	// maxRetainDays keeps the cut-off a time the store can hold.
	maxRetainDays = 100 * 365
)

// redactChannels are the per-channel redaction flags.
var redactChannels = []struct {
	flag string
	ch   crm.Channel
}{
	{"redact-web", crm.ChannelWeb},
	{"redact-slack", crm.ChannelSlack},
	{"redact-api", crm.ChannelAPI},
}

// parseRedactKinds reads a redaction setting: comma-separated email,
// card, phone or all; with allowNone also "none", which is no kinds.
func parseRedactKinds(s string, allowNone bool) (crm.PII, error) {
	if allowNone && strings.TrimSpace(s) == "none" {
		return 0, nil
	}
	var kinds crm.PII
	for _, k := range strings.Split(s, ",") {
		switch strings.TrimSpace(k) {
		case "all":
			kinds |= crm.PIIAll
		case "email":
			kinds |= crm.PIIEmail
		case "card":
			kinds |= crm.PIICard
		case "phone":
			kinds |= crm.PIIPhone
		default:
			want := "email, card, phone or all"
			if allowNone {
				want = "email, card, phone, all, or none"
			}
			return 0, fmt.Errorf("unknown kind %q (want %s)", strings.TrimSpace(k), want)
		}
	}
	return kinds, nil
}

// channelRedactors are the store options of the per-channel flags.
func channelRedactors(cfg protectConfig) ([]sqlite.Option, error) {
	values := map[crm.Channel]string{crm.ChannelWeb: cfg.redactWeb, crm.ChannelSlack: cfg.redactSlack, crm.ChannelAPI: cfg.redactAPI}
	var opts []sqlite.Option
	for _, rc := range redactChannels {
		v := values[rc.ch]
		if v == "" {
			continue
		}
		kinds, err := parseRedactKinds(v, true)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: %w", rc.flag, v, err)
		}
		var redact func(string) string
		if kinds != 0 {
			redact = crm.NewRedactor(kinds).Redact
		}
		opts = append(opts, sqlite.WithChannelRedactor(rc.ch, redact))
	}
	return opts, nil
}

// protectionProblems checks the data-protection settings for
// applyConfig: get reads a setting, from says where it came from.
func protectionProblems(get, from func(string) string) []error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s%s %q: %s", from(name), name, get(name), fmt.Sprintf(format, args...)))
	}
	if v := get("redact"); v != "" {
		if _, err := parseRedactKinds(v, false); err != nil {
			bad("redact", "%v", err)
		}
	}
	for _, rc := range redactChannels {
		if v := get(rc.flag); v != "" {
			if _, err := parseRedactKinds(v, true); err != nil {
				bad(rc.flag, "%v", err)
			}
		}
	}
	// The flag set has parsed the numbers and durations already.
	days, _ := strconv.Atoi(get("retain-days"))
	if days < 0 || days > maxRetainDays {
		bad("retain-days", "want 0 (keep forever) to %d days", maxRetainDays)
	}
	if m := crm.ExpireMode(get("retain-mode")); !m.Valid() {
		bad("retain-mode", "want %s or %s", crm.ExpireDelete, crm.ExpireRedact)
	}
	if d, _ := time.ParseDuration(get("retain-every")); d <= 0 {
		bad("retain-every", "want a positive duration, e.g. 1h")
	}
	every, _ := time.ParseDuration(get("backup-every"))
	switch {
	case every < 0:
		bad("backup-every", "want a positive duration, e.g. 6h, or 0 for no scheduled backups")
	case every > 0 && every < time.Second:
		bad("backup-every", "want at least 1s: backups are named to the second")
	case every > 0 && get("backup-dir") == "":
		errs = append(errs, fmt.Errorf("%sbackup-every %q needs backup-dir, the directory to write the backups to", from("backup-every"), get("backup-every")))
	}
	if dir := get("backup-dir"); dir != "" {
		if info, err := os.Stat(dir); err == nil && !info.IsDir() {
			bad("backup-dir", "not a directory")
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			bad("backup-dir", "%v", err)
		}
	}
	if keep, _ := strconv.Atoi(get("backup-keep")); keep < 1 {
		bad("backup-keep", "want at least 1")
	}
	return errs
}

// Narrow views of the CRM for the jobs (tests inject failures).
type (
	retentionStore interface {
		ExpireMessages(ctx context.Context, r crm.Retention) (crm.Expired, error)
	}
	backupStore interface {
		BackupTo(ctx context.Context, dir string, keep int, now time.Time) (sqlite.BackupResult, error)
	}
)

// protection runs the retention and backup jobs and counts what they do.
type protection struct {
	cfg    protectConfig
	retain retentionStore
	backup backupStore
	log    *slog.Logger
	now    func() time.Time

	expired        *prometheus.CounterVec
	retainFailures prometheus.Counter
	backupLast     prometheus.Gauge
	backupFailures prometheus.Counter
}

// newProtection builds the jobs and registers their metrics on reg.
func newProtection(cfg protectConfig, retain retentionStore, backup backupStore, reg prometheus.Registerer, log *slog.Logger) (*protection, error) {
	p := &protection{cfg: cfg, retain: retain, backup: backup, log: log, now: time.Now,
		expired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_retention_expired_total",
			Help: "What the retention job expired, by record: messages (text masked or deleted), labels (texts masked), conversations (slots dropped), outbox (delivered items deleted).",
		}, []string{"record"}),
		retainFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_retention_failures_total",
			Help: "Retention runs that stopped on an error (the next run finishes their work).",
		}),
		backupLast: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parley_backup_last_success_timestamp_seconds",
			Help: "When the newest verified scheduled backup was taken (Unix time; 0: none yet).",
		}),
		backupFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_backup_failures_total",
			Help: "Scheduled backups that failed (nothing was rotated away).",
		}),
	}
	for _, r := range []string{"messages", "labels", "conversations", "outbox"} {
		p.expired.WithLabelValues(r) // present at 0 from the start
	}
	for _, c := range []prometheus.Collector{p.expired, p.retainFailures, p.backupLast, p.backupFailures} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	if cfg.backupEvery > 0 {
		if err := os.MkdirAll(cfg.backupDir, 0o750); err != nil {
			return nil, fmt.Errorf("backup directory: %w", err)
		}
		if files, err := sqlite.Backups(cfg.backupDir); err == nil && len(files) > 0 {
			// After a restart the gauge tells the truth at once.
			p.backupLast.Set(float64(files[len(files)-1].Time.Unix()))
		}
	}
	return p, nil
}

// start runs the jobs that are configured until ctx is done.
func (p *protection) start(ctx context.Context, wg *sync.WaitGroup) {
	if p.cfg.retainDays > 0 {
		p.log.Info("retention on", "days", p.cfg.retainDays, "mode", p.cfg.retainMode, "every", p.cfg.retainEvery)
		wg.Go(func() { p.retainLoop(ctx) })
	}
	if p.cfg.backupEvery > 0 {
		p.log.Info("scheduled backups on", "dir", p.cfg.backupDir, "every", p.cfg.backupEvery, "keep", p.cfg.backupKeep)
		wg.Go(func() { p.backupLoop(ctx) })
	} else if p.cfg.backupDir != "" {
		p.log.Warn("backup-dir is set but backup-every is 0: no scheduled backups", "dir", p.cfg.backupDir)
	}
}

// retainLoop runs retention at once, then every retainEvery.
func (p *protection) retainLoop(ctx context.Context) {
	tick := time.NewTicker(p.cfg.retainEvery)
	defer tick.Stop()
	for {
		p.retainOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// retainOnce expires what is older than the retention period and
// reports it; partial work of a failed run counts too.
func (p *protection) retainOnce(ctx context.Context) (crm.Expired, error) {
	before := p.now().Add(-time.Duration(p.cfg.retainDays) * 24 * time.Hour)
	start := time.Now()
	x, err := p.retain.ExpireMessages(ctx, crm.Retention{Before: before, Mode: crm.ExpireMode(p.cfg.retainMode)})
	p.expired.WithLabelValues("messages").Add(float64(x.Messages))
	p.expired.WithLabelValues("labels").Add(float64(x.Labels))
	p.expired.WithLabelValues("conversations").Add(float64(x.Conversations))
	p.expired.WithLabelValues("outbox").Add(float64(x.Outbox))
	attrs := []any{"mode", p.cfg.retainMode, "before", before.UTC().Format(time.RFC3339), "messages", x.Messages,
		"labels", x.Labels, "conversations", x.Conversations, "outbox", x.Outbox, "batches", x.Batches,
		"longest_batch", x.LongestBatch.Round(time.Microsecond), "took", time.Since(start).Round(time.Millisecond)}
	switch {
	case err != nil && ctx.Err() != nil:
		p.log.Info("retention interrupted by shutdown; the next run finishes it", attrs...)
	case err != nil:
		p.retainFailures.Inc()
		p.log.Error("retention failed; the next run finishes it", append(attrs, "err", err)...)
	case x.Messages+x.Labels+x.Conversations+x.Outbox > 0:
		p.log.Info("retention expired old data", attrs...)
	default:
		p.log.Debug("retention: nothing to expire", attrs...)
	}
	return x, err
}

// backupLoop takes a backup whenever the newest one in the directory is
// backupEvery old, so that restarts neither skip nor repeat backups.
func (p *protection) backupLoop(ctx context.Context) {
	next := p.now()
	if files, err := sqlite.Backups(p.cfg.backupDir); err == nil && len(files) > 0 {
		next = files[len(files)-1].Time.Add(p.cfg.backupEvery)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		timer.Reset(max(0, next.Sub(p.now())))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if _, err := p.backupOnce(ctx); err != nil {
			next = p.now().Add(min(p.cfg.backupEvery, backupRetry))
		} else {
			next = p.now().Add(p.cfg.backupEvery)
		}
	}
}

// backupOnce takes one scheduled backup and rotates the old ones.
func (p *protection) backupOnce(ctx context.Context) (sqlite.BackupResult, error) {
	res, err := p.backup.BackupTo(ctx, p.cfg.backupDir, p.cfg.backupKeep, p.now())
	switch {
	case err != nil && ctx.Err() != nil:
		p.log.Info("backup interrupted by shutdown", "dir", p.cfg.backupDir)
		return res, err
	case err != nil && res.Path != "":
		// Written and verified, but an old one could not be removed.
		p.log.Warn("backup written; rotation failed", "path", res.Path, "removed", len(res.Removed), "err", err)
	case err != nil:
		p.backupFailures.Inc()
		p.log.Error("backup failed; older backups kept", "dir", p.cfg.backupDir, "err", err)
		return res, err
	default:
		p.log.Info("backup written", "path", res.Path, "mb", float64(res.Size)/(1<<20), "took", res.Took.Round(time.Millisecond), "removed", len(res.Removed))
	}
	p.backupLast.Set(float64(p.now().Unix()))
	return res, nil
}

// --- retain ---

// retainCommand is `parley retain`: the retention job once, by hand.
type retainCommand struct{ stdout, stderr io.Writer }

func (c *retainCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("retain", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var (
		db     = fs.String("db", defaultDB, "CRM database file")
		days   = fs.Int("days", 0, "expire message text older than this many days (required)")
		mode   = fs.String("mode", string(defaultRetainMode), "delete (blank the text, keep what the models understood) or redact (mask personal data, keep the rest)")
		dryRun = fs.Bool("dry-run", false, "count what would be expired; change nothing")
	)
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: parley retain --days N [--mode delete|redact] [--dry-run] [--db FILE]\n\nExpires the words of messages older than N days, as serve's --retain-days job does (safe while the server runs).")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *days < 1 || *days > maxRetainDays || !crm.ExpireMode(*mode).Valid() {
		fmt.Fprintf(c.stderr, "parley retain: want --days 1 to %d and --mode delete or redact (got --days %d --mode %q)\n", maxRetainDays, *days, *mode)
		fs.Usage()
		return errUsage
	}
	store, err := openStore(ctx, *db, quietLogger(c.stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	r := crm.Retention{Before: time.Now().Add(-time.Duration(*days) * 24 * time.Hour), Mode: crm.ExpireMode(*mode), DryRun: *dryRun}
	start := time.Now()
	x, err := store.ExpireMessages(ctx, r)
	verb := "expired"
	if *dryRun {
		verb = "would expire"
	}
	fmt.Fprintf(c.stdout, "%s %d messages created before %s (%s); %d labels masked, %d conversations' slots dropped, %d delivered outbox items deleted",
		verb, x.Messages, r.Before.UTC().Format(time.RFC3339), r.Mode, x.Labels, x.Conversations, x.Outbox)
	if !*dryRun {
		fmt.Fprintf(c.stdout, "; %.1f s, %d batches, longest %v", time.Since(start).Seconds(), x.Batches, x.LongestBatch.Round(time.Microsecond))
	}
	fmt.Fprintln(c.stdout)
	return err
}
