package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/conversion"
	"github.com/parley-chat/parley/crm/demo"
	"github.com/parley-chat/parley/crm/segment"
	"github.com/parley-chat/parley/crm/sqlite"
	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/builtin"
)

// defaultDB is the CRM file commands use without --db: in the working
// directory, so `parley serve` and `parley demo-data` find each other.
const defaultDB = "parley.db"

// openStore opens the CRM at path, migrating it.
func openStore(ctx context.Context, path string, log *slog.Logger, opts ...sqlite.Option) (*sqlite.Store, error) {
	opts = append([]sqlite.Option{sqlite.WithLogger(log)}, opts...)
	s, err := sqlite.Open(ctx, path, opts...)
	if err != nil {
		return nil, fmt.Errorf("open CRM %s: %w", path, err)
	}
	return s, nil
}

// quietLogger logs warnings and errors only, for command-line tools.
func quietLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// parseAsOf reads a time flag: "" is now, else RFC 3339 or a date.
func parseAsOf(s string) (time.Time, error) {
	if s == "" || s == "now" {
		return time.Now().UTC(), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2026-01-02T15:04:05Z) or a date (2026-01-02)", s)
}

// parseDays reads a duration in days ("30d" or "30") or Go syntax ("720h").
func parseDays(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil && n > 0 {
		return time.Duration(n) * 24 * time.Hour, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("duration %q: want days (30d) or a Go duration (720h)", s)
}

// --- demo-data ---

type demoCommand struct{ stdout, stderr io.Writer }

func (c *demoCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo-data", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var (
		db        = fs.String("db", defaultDB, "CRM database file")
		customers = fs.Int("customers", demo.DefaultCustomers, "number of customers")
		seed      = fs.Uint64("seed", 1, "random seed: the same seed and --end give the same data")
		end       = fs.String("end", "", "when the synthetic history ends (RFC 3339 or a date; default: today, midnight UTC)")
		days      = fs.Int("days", demo.DefaultDays, "days of history")
	)
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: parley demo-data [--customers N] [--seed S] [--end DATE] [--db FILE]\n\nFills the CRM with a deterministic synthetic history: customers, orders, conversations.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	endT := time.Now().UTC().Truncate(24 * time.Hour)
	if *end != "" {
		var err error
		if endT, err = parseAsOf(*end); err != nil {
			return err
		}
	}
	utter, err := builtinUtterances()
	if err != nil {
		return err
	}
	log := quietLogger(c.stderr)
	store, err := openStore(ctx, *db, log)
	if err != nil {
		return err
	}
	defer store.Close()
	start := time.Now()
	sum, err := demo.Generate(ctx, store, demo.Config{Customers: *customers, Seed: *seed, End: endT, Days: *days, Utterances: utter, Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s: %d customers, %d conversations, %d messages, %d replies, %d orders, %d escalations (%d open, %d assigned, %d resolved); %d already there; %s to %s; %.1f s\n",
		*db, sum.Customers, sum.Conversations, sum.Messages, sum.Replies, sum.Orders, sum.Escalations, sum.Open, sum.Assigned, sum.Resolved,
		sum.Skipped, sum.Start.Format("2006-01-02"), sum.End.Format("2006-01-02"), time.Since(start).Seconds())
	return nil
}

// builtinUtterances returns the built-in training messages by intent:
// realistic customer messages for the synthetic CRM.
func builtinUtterances() (map[string][]string, error) {
	d, err := builtin.Dataset(builtin.IntentTrain)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, e := range d.Examples {
		if e.Label != intents.OOS {
			out[e.Label] = append(out[e.Label], e.Text)
		}
	}
	return out, nil
}

// --- segment ---

type segmentCommand struct{ stdout, stderr io.Writer }

func (c *segmentCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("segment", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var (
		db     = fs.String("db", defaultDB, "CRM database file")
		k      = fs.Int("k", 0, "number of segments (0: chosen by silhouette over 2..8)")
		method = fs.String("method", "auto", "auto (Ward up to 2,000 customers, k-means above), kmeans or ward")
		seed   = fs.Uint64("seed", 1, "random seed")
		asOf   = fs.String("as-of", "", "segment on what happened before this time (default now)")
		svg    = fs.String("svg", "", "write the scatter plot (SVG) to this file")
		table  = fs.String("table", "", "write the profile table (Markdown) to this file (default: stdout)")
		dryRun = fs.Bool("dry-run", false, "do not store the segments on the customers")
	)
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: parley segment [--k K] [--method auto|kmeans|ward] [--svg FILE] [--table FILE] [--db FILE]\n\nSegments the CRM's customers (RFM and engagement), stores each customer's segment and profile.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	t, err := parseAsOf(*asOf)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, *db, quietLogger(c.stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	start := time.Now()
	stats, err := store.Stats(ctx, t)
	if err != nil {
		return err
	}
	res, err := segment.Run(ctx, stats, t, segment.Config{K: *k, Seed: *seed, Method: segment.Method(*method), Logger: quietLogger(c.stderr)})
	if err != nil {
		return err
	}
	if !*dryRun {
		if err := store.SaveSegments(ctx, res.Assignments()); err != nil {
			return err
		}
	}
	if *svg != "" {
		if err := writeFileAtomic(*svg, res.WriteSVG); err != nil {
			return err
		}
	}
	if *table != "" {
		if err := writeFileAtomic(*table, res.WriteTable); err != nil {
			return err
		}
	} else if err := res.WriteTable(c.stdout); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "%d customers in %d segments (%s, silhouette %.3f) in %.1f s\n", len(res.Labels), res.K, res.Method, res.Silhouette, time.Since(start).Seconds())
	return nil
}

// writeFileAtomic writes a file through write, replacing it only once
// the whole content is written.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// --- score ---

// conversionKind is the kind under which the lead-scoring model is
// stored in the CRM, so --explain uses the model that made the scores.
const conversionKind = "conversion"

type scoreCommand struct{ stdout, stderr io.Writer }

func (c *scoreCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var (
		db      = fs.String("db", defaultDB, "CRM database file")
		model   = fs.String("model", conversion.KindGBT, "gbt (gradient-boosted trees) or logistic")
		horizon = fs.String("horizon", "30d", "a customer converts when they order within this many days")
		asOf    = fs.String("as-of", "", "score as of this time (default now); the model learns from the window before it")
		seed    = fs.Uint64("seed", 1, "random seed")
		explain = fs.Int64("explain", 0, "show the features that drove this customer's score (with the stored model) instead of scoring")
		top     = fs.Int("top", 10, "with --explain: how many features to show")
	)
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: parley score [--model gbt|logistic] [--horizon 30d] [--db FILE]\n       parley score --explain CUSTOMER_ID [--db FILE]\n\nTrains the conversion model on the CRM (customers who ordered within --horizon of a cut-off),\nreports held-out ROC AUC, log loss and calibration, and stores every customer's lead score.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	now, err := parseAsOf(*asOf)
	if err != nil {
		return err
	}
	h, err := parseDays(*horizon)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, *db, quietLogger(c.stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	if *explain != 0 {
		return c.explain(ctx, store, *explain, now, *top)
	}
	var tr conversion.Trainer
	switch *model {
	case conversion.KindGBT:
		tr = conversion.DefaultGBT()
	case conversion.KindLogistic:
		tr = conversion.DefaultLogistic()
	default:
		return fmt.Errorf("unknown model %q (want gbt or logistic)", *model)
	}
	start := time.Now()
	// Learn from the last complete window: features as of now-horizon,
	// labelled by orders in [now-horizon, now).
	d, _, err := conversion.Snapshot(ctx, store, now.Add(-h), h, conversion.DefaultIntents)
	if err != nil {
		return err
	}
	snapshotDone := time.Now()
	train, test, err := conversion.StratifiedSplit(d, 0.2, *seed)
	if err != nil {
		return fmt.Errorf("split the %d customers: %w", d.Len(), err)
	}
	m, err := tr.Train(ctx, train, *seed)
	if err != nil {
		return err
	}
	ev, err := conversion.Evaluate(m, test)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s model, window %s to %s: %d customers (%d converted); held-out %d: ROC AUC %.4f, log loss %.4f, Brier %.4f\n",
		*model, now.Add(-h).Format("2006-01-02"), now.Format("2006-01-02"), d.Len(), d.Positives(), test.Len(), ev.AUC, ev.LogLoss, ev.Brier)
	writeCalibration(c.stdout, ev.Calibration)
	// Refit on everyone before scoring.
	if m, err = tr.Train(ctx, d, *seed); err != nil {
		return err
	}
	trainDone := time.Now()
	scores, err := conversion.ScoreCustomers(ctx, store, m, now)
	if err != nil {
		return err
	}
	if err := store.SaveLeadScores(ctx, scores, now); err != nil {
		return err
	}
	scoreDone := time.Now()
	var art bytes.Buffer
	if _, err := m.WriteTo(&art); err != nil {
		return err
	}
	// The version names the model, the window it learned from and when
	// it was made, so scoring the same window again stores a new version.
	version := fmt.Sprintf("%s-%s-%s", *model, now.Format("20060102"), time.Now().UTC().Format("20060102T150405.000000Z"))
	v, err := store.SaveModelVersion(ctx, crm.ModelVersion{
		Kind: conversionKind, Version: version, DataHash: m.Info().DataHash, Artifact: art.Bytes(),
		Metrics: map[string]float64{"auc": ev.AUC, "log_loss": ev.LogLoss, "brier": ev.Brier, "horizon_days": h.Hours() / 24},
	})
	if err == nil {
		err = store.PromoteModel(ctx, v.ID)
	}
	if err != nil {
		return fmt.Errorf("store the conversion model: %w", err)
	}
	fmt.Fprintf(c.stdout, "scored %d customers; model stored as %s\n", len(scores), v.Version)
	fmt.Fprintf(c.stderr, "training data %.1f s, training %.1f s, scoring and storing %d customers %.1f s, total %.1f s\n",
		snapshotDone.Sub(start).Seconds(), trainDone.Sub(snapshotDone).Seconds(), len(scores), scoreDone.Sub(trainDone).Seconds(), time.Since(start).Seconds())
	return nil
}

func (c *scoreCommand) explain(ctx context.Context, store *sqlite.Store, id int64, now time.Time, top int) error {
	cust, err := store.Customer(ctx, id)
	if err != nil {
		return err
	}
	v, err := store.ActiveModel(ctx, conversionKind)
	if errors.Is(err, crm.ErrNotFound) {
		return errors.New("no conversion model yet: run parley score first")
	} else if err != nil {
		return err
	}
	m, err := conversion.Decode(bytes.NewReader(v.Artifact))
	if err != nil {
		return fmt.Errorf("stored conversion model %s: %w", v.Version, err)
	}
	intentsList, err := conversion.ModelIntents(m)
	if err != nil {
		return err
	}
	d, ids, err := conversion.Features(ctx, store, now, intentsList)
	if err != nil {
		return err
	}
	row := -1
	for i, cid := range ids {
		if cid == id {
			row = i
		}
	}
	if row < 0 {
		return fmt.Errorf("customer %d joined after %s: nothing to score", id, now.Format(time.RFC3339))
	}
	x := d.X[row]
	fmt.Fprintf(c.stdout, "customer %d (%s): lead score %.3f (model %s, %s)\n", id, cust.Name, m.Prob(x), v.Version, m.Info().Kind)
	fmt.Fprintf(c.stdout, "base log-odds %+.3f; features that moved it:\n", m.Base())
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  feature\tvalue\teffect (log-odds)")
	for i, ct := range m.Explain(x) {
		if i == top {
			break
		}
		fmt.Fprintf(tw, "  %s\t%.3f\t%+.3f\n", ct.Feature, ct.Value, ct.Effect)
	}
	return tw.Flush()
}

// --- customer export / delete ---

type customerCommand struct{ stdout, stderr io.Writer }

func (c *customerCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("customer", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	db := fs.String("db", defaultDB, "CRM database file")
	yes := fs.Bool("yes", false, "delete without asking")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: parley customer export ID [--db FILE]\n       parley customer delete ID [--yes] [--db FILE]\n\nexport prints all data of one customer as JSON; delete erases it (in one transaction).")
		fs.PrintDefaults()
	}
	if len(args) < 2 {
		fs.Usage()
		return errUsage
	}
	verb, idArg := args[0], args[1]
	if err := parseFlags(fs, args[2:]); err != nil {
		return err
	}
	id, err := strconv.ParseInt(idArg, 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("customer id %q: want a positive number", idArg)
	}
	store, err := openStore(ctx, *db, quietLogger(c.stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	switch verb {
	case "export":
		x, err := store.Export(ctx, id)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(x)
	case "delete":
		cust, err := store.Customer(ctx, id)
		if err != nil {
			return err
		}
		if !*yes {
			fmt.Fprintf(c.stderr, "Erase customer %d (%s, %s) and all their conversations, messages and orders? Type yes: ", cust.ID, cust.Name, cust.Email)
			line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
			if strings.TrimSpace(line) != "yes" {
				return errors.New("not deleted")
			}
		}
		if err := store.DeleteCustomer(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "customer %d erased\n", id)
		return nil
	}
	fs.Usage()
	return errUsage
}

// --- backup ---

type backupCommand struct{ stdout, stderr io.Writer }

func (c *backupCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	db := fs.String("db", defaultDB, "CRM database file")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: parley backup FILE [--db FILE]\n\nWrites a consistent copy of the CRM while it is in use (VACUUM INTO); refuses to overwrite FILE.")
		fs.PrintDefaults()
	}
	if len(args) < 1 || strings.HasPrefix(args[0], "-") {
		fs.Usage()
		return errUsage
	}
	out := args[0]
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	store, err := openStore(ctx, *db, quietLogger(c.stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	start := time.Now()
	if err := store.Backup(ctx, out); err != nil {
		return err
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "backed up %s to %s (%.1f MB) in %.1f s\n", *db, out, float64(st.Size())/(1<<20), time.Since(start).Seconds())
	return nil
}

// writeCalibration prints a calibration table: per bin of predicted
// probability, how many customers and how many of them converted.
func writeCalibration(w io.Writer, bins []conversion.CalibrationBin) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "predicted\tcustomers\tmean predicted\tconverted\t")
	for _, b := range bins {
		if b.Count == 0 {
			continue
		}
		fmt.Fprintf(tw, "%.1f-%.1f\t%d\t%.3f\t%.3f\t\n", b.Lo, b.Hi, b.Count, b.MeanPredicted, b.Observed)
	}
	tw.Flush()
}
