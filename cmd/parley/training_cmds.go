package main

// The analysts' loop on the command line: the NLU inbox and labels,
// training data export, import and checks, retraining from the CRM,
// comparing versions, and promoting or rolling back. The work is done
// by bot/training; these commands parse flags, open the CRM and print.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parley-chat/parley/bot/training"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/sqlite"
)

// parseArgs parses flags wherever they stand among the positional
// arguments ("compare 3 4 --json" and "compare --json 3 4" alike) and
// returns the positional ones.
// parseNoArgs parses flags for a command that takes no positional
// arguments: any is a usage error.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fs.Usage()
		return errUsage
	}
	return nil
}

func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// openWorkbench opens the CRM at db and a training workbench on it.
func openWorkbench(ctx context.Context, db string, stderr io.Writer) (*sqlite.Store, *training.Workbench, error) {
	store, err := openStore(ctx, db, quietLogger(stderr))
	if err != nil {
		return nil, nil, err
	}
	wb, err := training.New(store, training.WithLogger(quietLogger(stderr)))
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, wb, nil
}

// staffFor finds who acts: the staff user with email, or without one
// the first enabled admin.
func staffFor(ctx context.Context, store crm.Store, email string) (crm.StaffUser, error) {
	if email != "" {
		u, err := store.StaffByEmail(ctx, email)
		if err != nil {
			return u, fmt.Errorf("staff user %s: %w", email, err)
		}
		if u.Disabled {
			return u, fmt.Errorf("staff user %s is disabled", email)
		}
		return u, nil
	}
	users, err := store.ListStaff(ctx)
	if err != nil {
		return crm.StaffUser{}, err
	}
	slices.SortFunc(users, func(a, b crm.StaffUser) int { return cmp.Compare(a.ID, b.ID) })
	for _, u := range users {
		if u.Role == crm.RoleAdmin && !u.Disabled {
			return u, nil
		}
	}
	return crm.StaffUser{}, errors.New("no --as EMAIL and no admin to act as: add one with `parley users add --role admin --email E`")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// --- inbox ---

type inboxCommand struct{ stdout, stderr io.Writer }

func (c *inboxCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "label" {
		return c.label(ctx, args[1:])
	}
	fs := flag.NewFlagSet("inbox", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	db := fs.String("db", defaultDB, "CRM database file")
	limit := fs.Int("limit", training.DefaultReviewLimit, "most groups to show")
	since := fs.String("since", "", "only messages from this time on (RFC 3339 or a date)")
	maxConf := fs.Float64("max-confidence", training.DefaultMaxConfidence, "review messages whose intent confidence was below this (negative: none for low confidence alone)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	fs.Usage = func() {
		fmt.Fprint(c.stderr, `Usage: parley inbox [--db FILE] [--limit N] [--since TIME] [--max-confidence X] [--json]
       parley inbox label (--message ID[,ID...] | --text TEXT) --intent X [--new-intent] [--as EMAIL] [--db FILE]

inbox lists the unlabelled customer messages the bot understood badly (low confidence,
out of scope, clarified, fallen back or escalated, and those of escalated conversations),
near-identical ones grouped, largest groups first. label records the right intent.
`)
		fs.PrintDefaults()
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	opts := training.ReviewOptions{Limit: *limit, MaxConfidence: *maxConf}
	if *maxConf == 0 {
		opts.MaxConfidence = -1 // "0" asks for no confidence bound, not the default
	}
	if *since != "" {
		t, err := parseAsOf(*since)
		if err != nil {
			return err
		}
		opts.Since = t
	}
	store, wb, err := openWorkbench(ctx, *db, c.stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	groups, err := wb.Review(ctx, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		if groups == nil {
			groups = []training.Group{}
		}
		return writeJSON(c.stdout, struct {
			Groups []training.Group `json:"groups"`
		}{groups})
	}
	if len(groups) == 0 {
		fmt.Fprintln(c.stdout, "the inbox is empty")
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tcount\tpredicted\tconf\treasons\ttext\tmessages")
	for i, g := range groups {
		pred := g.Intent
		if g.OutOfScope {
			pred += " (oos)"
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%.2f\t%s\t%q\t%s\n", i+1, g.Count, pred, g.Confidence, strings.Join(g.Reasons, ","), clip(g.Text, 60), idList(g.MessageIDs, 6))
		var alts []string
		for _, a := range g.Alternatives {
			alts = append(alts, fmt.Sprintf("%s %.2f", a.Intent, a.Confidence))
		}
		if len(alts) > 0 {
			fmt.Fprintf(tw, "\t\t  or %s\t\t\t\t\n", strings.Join(alts, ", "))
		}
	}
	tw.Flush()
	fmt.Fprintf(c.stdout, "\nlabel a group: parley inbox label --message %s --intent INTENT\n", idList(groups[0].MessageIDs, 0))
	return nil
}

func (c *inboxCommand) label(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("inbox label", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	db := fs.String("db", defaultDB, "CRM database file")
	ids := fs.String("message", "", "message ids to label, comma-separated")
	text := fs.String("text", "", "an utterance to add (instead of messages)")
	intent := fs.String("intent", "", "the right intent (oos: out of scope)")
	newIntent := fs.Bool("new-intent", false, "create the intent if it does not exist yet")
	as := fs.String("as", "", "the labelling staff user's email (default: the first admin)")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: parley inbox label (--message ID[,ID...] | --text TEXT) --intent X [--new-intent] [--as EMAIL] [--db FILE]")
		fs.PrintDefaults()
	}
	if pos, err := parseArgs(fs, args); err != nil {
		return err
	} else if len(pos) > 0 || *intent == "" || (*ids == "") == (*text == "") {
		fs.Usage()
		return errUsage
	}
	var msgIDs []int64
	if *ids != "" {
		for _, s := range strings.Split(*ids, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil || id <= 0 {
				return fmt.Errorf("--message %q: want positive message ids separated by commas", *ids)
			}
			msgIDs = append(msgIDs, id)
		}
	}
	store, wb, err := openWorkbench(ctx, *db, c.stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	staff, err := staffFor(ctx, store, *as)
	if err != nil {
		return err
	}
	labels, err := wb.Label(ctx, training.LabelRequest{MessageIDs: msgIDs, Text: *text, Intent: *intent, StaffID: staff.ID, NewIntent: *newIntent})
	var unknown *training.UnknownIntentError
	if errors.As(err, &unknown) {
		return fmt.Errorf("%w; if %q is a new intent, pass --new-intent to create it", err, unknown.Intent)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "labelled %d as %s by %s\n", len(labels), *intent, staff.Email)
	return nil
}

// idList joins ids, the first max of them (0: all).
func idList(ids []int64, max int) string {
	var b strings.Builder
	for i, id := range ids {
		if max > 0 && i == max {
			fmt.Fprintf(&b, ",… (%d)", len(ids))
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

// clip shortens s to n runes.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// --- data export, import, check ---

// dataSubcommand returns the handler of `parley data VERB`, nil when
// args[0] is not a verb (then `parley data FILE...` checks files).
func dataSubcommand(verb string) func(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	switch verb {
	case "export":
		return dataExport
	case "import":
		return dataImport
	case "check":
		return dataCheck
	}
	return nil
}

func dataExport(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("data export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", defaultDB, "CRM database file")
	format := fs.String("format", training.FormatCSV, "csv or nlu.yml")
	out := fs.String("out", "", "file to write (default: stdout)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: parley data export [--format csv|nlu.yml] [--db FILE] [--out FILE]\n\nWrites the training set: the built-in data with the analysts' labels applied.")
		fs.PrintDefaults()
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	store, wb, err := openWorkbench(ctx, *db, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	set, err := wb.TrainingSet(ctx)
	if err != nil {
		return err
	}
	write := func(w io.Writer) error { return training.Export(w, set.Dataset, *format) }
	if *out == "" {
		return write(stdout)
	}
	if err := writeFileAtomic(*out, write); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %d examples to %s\n", len(set.Dataset.Examples), *out)
	return nil
}

func dataImport(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("data import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", defaultDB, "CRM database file")
	as := fs.String("as", "", "the importing staff user's email (default: the first admin)")
	newIntents := fs.Bool("new-intents", false, "create intents the file names that do not exist yet")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: parley data import FILE [--as EMAIL] [--new-intents] [--db FILE]\n\nStores a .csv, .jsonl or .yml file's examples as labels: all or nothing (errors name file:line).")
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errUsage
	}
	store, wb, err := openWorkbench(ctx, *db, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	staff, err := staffFor(ctx, store, *as)
	if err != nil {
		return err
	}
	res, err := wb.ImportFile(ctx, pos[0], staff.ID, training.ImportOptions{NewIntents: *newIntents})
	if err != nil {
		if errors.Is(err, training.ErrUnknownIntent) {
			return fmt.Errorf("%w\n(pass --new-intents if these are new intents)", err)
		}
		return err
	}
	fmt.Fprintf(stdout, "%s: %d examples: %d labels stored, %d unchanged, %d repeated in the file\n", pos[0], res.Read, res.Stored, res.Unchanged, res.Repeats)
	if len(res.NewIntents) > 0 {
		fmt.Fprintf(stdout, "new intents: %s\n", strings.Join(res.NewIntents, ", "))
	}
	return nil
}

func dataCheck(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("data check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", defaultDB, "CRM database file")
	all := fs.Bool("all", false, "also list duplicates and near-duplicates with the same label")
	asJSON := fs.Bool("json", false, "print one JSON object")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: parley data check [--db FILE] [--all] [--json]\n\nChecks the CRM's training set (built-in data + labels): how labels changed it,\nconflicting labels and near-duplicate utterances. Exits 1 when there are conflicts.")
		fs.PrintDefaults()
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	store, wb, err := openWorkbench(ctx, *db, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	set, err := wb.TrainingSet(ctx)
	if err != nil {
		return err
	}
	rep := training.Check(set)
	if *asJSON {
		if err := writeJSON(stdout, struct {
			Labels training.SetReport   `json:"labels"`
			Check  training.CheckReport `json:"check"`
		}{set.Report, rep}); err != nil {
			return err
		}
	} else {
		set.Report.WriteText(stdout)
		rep.WriteText(stdout, *all)
	}
	if rep.Problems() {
		return fmt.Errorf("%d conflicts and %d near-conflicts to resolve", len(rep.Conflicts), len(rep.NearConflicts))
	}
	return nil
}

// --- train --from-db ---

// fromDB reports whether train's arguments ask for the CRM mode.
func fromDB(args []string) bool {
	for _, a := range args {
		switch a {
		case "-from-db", "--from-db", "-from-db=true", "--from-db=true":
			return true
		}
	}
	return false
}

type trainDBCommand struct{ stdout, stderr io.Writer }

func (c *trainDBCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("train --from-db", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Bool("from-db", true, "train on the CRM's training set (built-in data + analysts' labels)")
	db := fs.String("db", defaultDB, "CRM database file")
	seed := fs.Uint64("seed", training.DefaultSeed, "random seed (same seed, same labels: same model)")
	folds := fs.Int("folds", training.DefaultFolds, "cross-validation folds (0: none)")
	fullCV := fs.Bool("full-cv", false, "cross-validate the whole ensemble, not its SVM (one more full training per fold)")
	members := fs.String("members", "", "ensemble members, comma-separated (default: the built-in model's, svm,rnn)")
	epochs := fs.Int("epochs", 0, "rnn: maximum epochs (0: as the built-in model)")
	notes := fs.String("notes", "", "notes stored with the version")
	quiet := fs.Bool("q", false, "no progress on stderr")
	asJSON := fs.Bool("json", false, "print one JSON object")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: parley train --from-db [--db FILE] [--seed S] [--folds K] [--full-cv] [--members svm,rnn] [--json]\n\nRetrains the intent model on the CRM's training set, like the built-in one (ensemble of\nSVM and RNN, weighed on the built-in validation file), measures it on the built-in test\nfile and by cross-validation, and stores it as a new version, not promoted.")
		fs.PrintDefaults()
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *folds == 0 {
		*folds = -1
	}
	store, wb, err := openWorkbench(ctx, *db, c.stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	opts := training.RetrainOptions{Seed: *seed, Folds: *folds, FullCV: *fullCV, MaxEpochs: *epochs, Notes: *notes}
	if *members != "" {
		opts.Members = strings.Split(*members, ",")
	}
	if !*quiet {
		last := ""
		opts.Progress = func(s training.Stage) {
			// One line per stage and step; epochs overwrite each other.
			line := s.String()
			if s.Name == training.StageEpoch {
				fmt.Fprintf(c.stderr, "\r%s   ", line)
				last = s.Name
				return
			}
			if last == training.StageEpoch {
				fmt.Fprintln(c.stderr)
			}
			last = s.Name
			fmt.Fprintln(c.stderr, line)
		}
	}
	res, err := wb.Retrain(ctx, opts)
	if err != nil {
		return fmt.Errorf("%w\nnothing was stored; the serving model is unchanged", err)
	}
	if *asJSON {
		res.Test.PerLabel = nil // the version's metrics have the summary; compare has the rest
		return writeJSON(c.stdout, res)
	}
	v := res.Version
	fmt.Fprintf(c.stdout, "stored model version %d: %s (not promoted) in %.1f s\n", v.ID, v.Version, res.Elapsed.Seconds())
	res.Set.WriteText(c.stdout)
	printMetrics(c.stdout, v.Metrics)
	fmt.Fprintf(c.stdout, "compare with the active one: parley compare active %d\npromote it: parley models promote %d\n", v.ID, v.ID)
	return nil
}

// --- compare ---

type compareCommand struct{ stdout, stderr io.Writer }

func (c *compareCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	db := fs.String("db", defaultDB, "CRM database file")
	asJSON := fs.Bool("json", false, "print one JSON object")
	svgDir := fs.String("svg-dir", "", "write the confusion matrices and the reliability diagram as SVG files here")
	changed := fs.Int("changed", 20, "changed predictions to list (0: all)")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: parley compare A B [--db FILE] [--json] [--svg-dir DIR] [--changed N]\n\nCompares intent model versions A and B (ids from `parley models list`, or \"active\") on\nthe built-in held-out test set: metrics with deltas (B - A), per-intent P/R/F1,\nthe messages whose prediction changed, and calibration.")
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fs.Usage()
		return errUsage
	}
	store, wb, err := openWorkbench(ctx, *db, c.stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	var ids [2]int64
	for i, p := range pos {
		if ids[i], err = versionID(ctx, store, p); err != nil {
			return err
		}
	}
	comparison, err := wb.Compare(ctx, ids[0], ids[1])
	if err != nil {
		return err
	}
	if *svgDir != "" {
		if err := os.MkdirAll(*svgDir, 0o755); err != nil {
			return err
		}
		for _, f := range []struct {
			name  string
			write func(io.Writer) error
		}{
			{"confusion-a.svg", func(w io.Writer) error { return training.ConfusionSVG(w, comparison, training.MatrixA) }},
			{"confusion-b.svg", func(w io.Writer) error { return training.ConfusionSVG(w, comparison, training.MatrixB) }},
			{"confusion-diff.svg", func(w io.Writer) error { return training.ConfusionSVG(w, comparison, training.MatrixDiff) }},
			{"reliability.svg", func(w io.Writer) error { return training.ReliabilitySVG(w, comparison) }},
		} {
			path := filepath.Join(*svgDir, f.name)
			if err := writeFileAtomic(path, f.write); err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "wrote %s\n", path)
		}
	}
	if *asJSON {
		return writeJSON(c.stdout, comparison)
	}
	comparison.WriteText(c.stdout, *changed)
	return nil
}

// versionID reads a version argument: an id, or "active" for the active
// intent version.
func versionID(ctx context.Context, store crm.Store, s string) (int64, error) {
	if s == "active" {
		v, err := store.ActiveModel(ctx, training.Kind)
		if err != nil {
			return 0, fmt.Errorf("active intent model: %w (start `parley serve` once, or promote a version)", err)
		}
		return v.ID, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("model version %q: want an id from `parley models list`, or active", s)
	}
	return id, nil
}

// --- models ---

type modelsCommand struct{ stdout, stderr io.Writer }

func (c *modelsCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("models", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	db := fs.String("db", defaultDB, "CRM database file")
	kind := fs.String("kind", training.Kind, "model kind: intent or sentiment")
	asJSON := fs.Bool("json", false, "list: print one JSON object")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: parley models list [--kind intent|sentiment] [--json] [--db FILE]\n       parley models promote ID [--db FILE]\n       parley models rollback [ID] [--kind intent|sentiment] [--db FILE]\n\npromote makes a version the one servers use; rollback returns to the version active\nbefore the current one (or to version ID).")
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return errUsage
	}
	verb := args[0]
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	var id int64
	switch {
	case verb == "list" && len(pos) == 0, verb == "rollback" && len(pos) == 0:
	case verb == "promote" && len(pos) == 1, verb == "rollback" && len(pos) == 1:
		if id, err = strconv.ParseInt(pos[0], 10, 64); err != nil || id <= 0 {
			return fmt.Errorf("model version %q: want an id from `parley models list`", pos[0])
		}
	default:
		fs.Usage()
		return errUsage
	}
	store, wb, err := openWorkbench(ctx, *db, c.stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	switch verb {
	case "list":
		vs, err := wb.Versions(ctx, *kind)
		if err != nil {
			return err
		}
		if *asJSON {
			if vs == nil {
				vs = []crm.ModelVersion{}
			}
			return writeJSON(c.stdout, struct {
				Versions []crm.ModelVersion `json:"versions"`
			}{vs})
		}
		if len(vs) == 0 {
			fmt.Fprintf(c.stdout, "no %s model versions (parley serve stores the built-in ones on its first start)\n", *kind)
			return nil
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "id\tversion\tcreated\tactive\ttest acc\tin-scope\toos recall\tval acc\tpromoted")
		for _, v := range vs {
			act := ""
			if v.Active {
				act = "*"
			}
			promoted := ""
			if !v.PromotedAt.IsZero() {
				promoted = v.PromotedAt.Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Version, v.CreatedAt.Format(time.DateTime), act,
				metric(v.Metrics, "test_accuracy"), metric(v.Metrics, "test_in_scope_accuracy"), metric(v.Metrics, "test_oos_recall"),
				metric(v.Metrics, "heldout_accuracy"), promoted)
		}
		return tw.Flush()
	case "promote":
		v, err := wb.Promote(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "promoted %s model version %d (%s): servers switch to it\n", v.Kind, v.ID, v.Version)
	case "rollback":
		var v crm.ModelVersion
		if id != 0 {
			v, err = wb.Promote(ctx, id)
		} else {
			v, err = wb.Rollback(ctx, *kind)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "rolled back: %s model version %d (%s) is active\n", v.Kind, v.ID, v.Version)
	}
	return nil
}

// metric formats a version's metric, "-" when it has none (the built-in
// model's version has validation metrics only).
func metric(m map[string]float64, k string) string {
	v, ok := m[k]
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.4f", v)
}
