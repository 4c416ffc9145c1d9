package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/sqlite"
	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/builtin"
)

// trainingCRM is a CRM file with an admin, an analyst and a few logged
// customer messages; it returns the file and the messages' ids.
func trainingCRM(t *testing.T) (db string, ids []int64) {
	t.Helper()
	ctx := context.Background()
	db = filepath.Join(t.TempDir(), "crm.db")
	store, err := sqlite.Open(ctx, db, sqlite.WithLogger(quietLogger(os.Stderr)))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, u := range []crm.StaffUser{{Email: "admin@example.com", Role: crm.RoleAdmin}, {Email: "ana@example.com", Role: crm.RoleAnalyst}} {
		if _, err := store.CreateStaff(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i, m := range []struct {
		text, intent, action string
		conf                 float64
	}{
		{"where is my order 123", "cancel_order", "fallback", 0.3},
		{"Where is my order #456?", "order_status", "search", 0.4},
		{"do you ship to the moon", "shipping_cost", "fallback", 0.2},
		{"reset my password", "reset_password", "answer", 0.97},
	} {
		lg, err := store.LogInteraction(ctx, crm.Interaction{
			Channel:  crm.ChannelWeb,
			Customer: crm.ExternalID{Kind: crm.IDWebVisitor, Value: fmt.Sprintf("v%d", i)},
			Message: crm.Message{Direction: crm.FromCustomer, Text: m.text, Intent: m.intent, Confidence: m.conf,
				Action: m.action, CreatedAt: at.Add(time.Duration(i) * time.Minute), ModelVersion: "builtin"},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, lg.MessageID)
	}
	return db, ids
}

// storeBuiltin stores and promotes the built-in models, as `parley
// serve` does on its first start.
func storeBuiltin(t *testing.T, db string) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, db, sqlite.WithLogger(quietLogger(os.Stderr)))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, _, err := activeModel(ctx, store, intentKind, builtin.IntentModel, quietLogger(os.Stderr)); err != nil {
		t.Fatal(err)
	}
}

func labelCount(t *testing.T, db string) int {
	t.Helper()
	store, err := sqlite.Open(context.Background(), db, sqlite.WithLogger(quietLogger(os.Stderr)))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ls, err := store.Labels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(ls)
}

func TestInboxAndLabels(t *testing.T) {
	db, ids := trainingCRM(t)
	mustRun := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, args...)
		if code != 0 {
			t.Fatalf("parley %v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	var inbox struct {
		Groups []struct {
			Text       string  `json:"text"`
			Count      int     `json:"count"`
			MessageIDs []int64 `json:"message_ids"`
			Intent     string  `json:"intent"`
		} `json:"groups"`
	}
	out := mustRun("inbox", "--db", db, "--json")
	if err := json.Unmarshal([]byte(out), &inbox); err != nil {
		t.Fatalf("inbox --json is not JSON: %v\n%s", err, out)
	}
	if len(inbox.Groups) != 2 || inbox.Groups[0].Count != 2 || inbox.Groups[1].Text != "do you ship to the moon" {
		t.Fatalf("inbox groups %+v, want the two order questions, then the moon", inbox.Groups)
	}
	if text := mustRun("inbox", "--db", db); !strings.Contains(text, `2      order_status   0.40  fallback,low_confidence  "Where is my order #456?"  2,1`) || !strings.Contains(text, "parley inbox label --message") {
		t.Errorf("inbox text:\n%s", text)
	}
	group := idList(inbox.Groups[0].MessageIDs, 0)

	// An unknown intent is refused with suggestions; nothing is stored.
	code, _, errOut := run(t, "inbox", "label", "--db", db, "--message", group, "--intent", "order_stat")
	if code != 1 || !strings.Contains(errOut, "closest known: order_status") || !strings.Contains(errOut, "--new-intent") {
		t.Errorf("label with an unknown intent: exit %d, %q; want a refusal suggesting order_status and --new-intent", code, errOut)
	}
	if n := labelCount(t, db); n != 0 {
		t.Fatalf("a refused label stored %d labels", n)
	}
	for _, args := range [][]string{
		{"inbox", "label", "--db", db, "--intent", "order_status"},                            // nothing to label
		{"inbox", "label", "--db", db, "--message", "1,x", "--intent", "order_status"},        // bad id
		{"inbox", "label", "--db", db, "--message", group, "--intent", "a", "--as", "nobody"}, // no such staff
	} {
		if code, _, _ := run(t, args...); code == 0 {
			t.Errorf("parley %v succeeded, want an error", args)
		}
	}
	if out := mustRun("inbox", "label", "--db", db, "--message", group, "--intent", "order_status", "--as", "ana@example.com"); !strings.Contains(out, "labelled 2 as order_status by ana@example.com") {
		t.Errorf("label: %q", out)
	}
	// A new intent only on purpose, by the first admin by default.
	moon := strconv.FormatInt(ids[2], 10)
	if code, _, _ := run(t, "inbox", "label", "--db", db, "--message", moon, "--intent", "space_shipping"); code != 1 {
		t.Errorf("label with a new intent without --new-intent: exit %d, want 1", code)
	}
	if out := mustRun("inbox", "label", "--db", db, "--message", moon, "--intent", "space_shipping", "--new-intent"); !strings.Contains(out, "by admin@example.com") {
		t.Errorf("label --new-intent: %q", out)
	}
	if out := mustRun("inbox", "--db", db); !strings.Contains(out, "the inbox is empty") {
		t.Errorf("inbox after labelling everything:\n%s", out)
	}

	// The CRM's training set: checked, exported in both formats,
	// imported back (all or nothing).
	if out := mustRun("data", "check", "--db", db); !strings.Contains(out, "2423 base examples, 3 labels") || !strings.Contains(out, "0 conflicts") {
		t.Errorf("data check:\n%s", out)
	}
	dir := t.TempDir()
	for _, f := range []struct{ format, file string }{{"csv", "set.csv"}, {"nlu.yml", "set.yml"}} {
		path := filepath.Join(dir, f.file)
		mustRun("data", "export", "--db", db, "--format", f.format, "--out", path)
		d, err := intents.LoadFile(path)
		if err != nil {
			t.Fatalf("exported %s: %v", f.format, err)
		}
		if len(d.Examples) != 2423+3 { // three labelled messages, none a built-in text
			t.Errorf("exported %s: %d examples, want %d", f.format, len(d.Examples), 2426)
		}
		// Importing the export changes nothing.
		if out := mustRun("data", "import", path, "--db", db); !strings.Contains(out, "0 labels stored") {
			t.Errorf("re-import of the %s export: %q", f.format, out)
		}
	}
	if out := mustRun("data", "export", "--db", db, "--format", "nlu.yml"); !strings.Contains(out, "- intent: space_shipping\n  examples: |\n    - do you ship to the moon\n") {
		t.Errorf("nlu.yml export lacks the new intent:\n%.300s", out)
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("text,label\nwhere is my parcel,order_status\ncan I pay later,payment_later\n"), 0o644)
	code, _, errOut = run(t, "data", "import", bad, "--db", db)
	if code != 1 || !strings.Contains(errOut, "bad.csv:3") || !strings.Contains(errOut, "nothing imported") || !strings.Contains(errOut, "--new-intents") {
		t.Errorf("import with an unknown intent: exit %d, %q", code, errOut)
	}
	if n := labelCount(t, db); n != 3 {
		t.Errorf("after a failed import: %d labels, want 3", n)
	}
	if out := mustRun("data", "import", bad, "--db", db, "--new-intents"); !strings.Contains(out, "2 labels stored") || !strings.Contains(out, "new intents: payment_later") {
		t.Errorf("import --new-intents: %q", out)
	}
	// `parley data FILE` still checks files.
	if out := mustRun("data", bad); !strings.Contains(out, "2 examples") {
		t.Errorf("data FILE: %q", out)
	}
}

func TestRetrainCompareModels(t *testing.T) {
	db, ids := trainingCRM(t)
	storeBuiltin(t, db)
	mustRun := func(args ...string) (string, string) {
		t.Helper()
		code, out, errOut := run(t, args...)
		if code != 0 {
			t.Fatalf("parley %v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out, errOut
	}
	mustRun("inbox", "label", "--db", db, "--message", idList(ids[:2], 0), "--intent", "order_status")

	// A run cancelled while training (Ctrl-C) stores nothing and says so.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	errw := &cancelOn{trigger: "training 0/1", cancel: cancel}
	if code := Main(ctx, []string{"train", "--from-db", "--db", db, "--members", "svm"}, &out, errw); code != 1 || !strings.Contains(errw.String(), "context canceled") || !strings.Contains(errw.String(), "nothing was stored") {
		t.Errorf("cancelled train --from-db: exit %d, %q", code, errw.String())
	}
	if list, _ := mustRun("models", "list", "--db", db); strings.Count(list, "\n") != 2 {
		t.Errorf("after the cancelled run, models list:\n%s\nwant the built-in version only", list)
	}

	// Retrain (the SVM member alone: the full ensemble takes a minute).
	stdout, stderr := mustRun("train", "--from-db", "--db", db, "--members", "svm", "--folds", "2")
	for _, want := range []string{"loading", "training 1/1 svm", "evaluating", "cross-validating 2/2", "saving", "done"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("train --from-db progress lacks %q:\n%s", want, stderr)
		}
	}
	var id int64
	if _, err := fmt.Sscanf(stdout, "stored model version %d:", &id); err != nil || !strings.Contains(stdout, "test_accuracy") || !strings.Contains(stdout, "not promoted") {
		t.Fatalf("train --from-db output:\n%s", stdout)
	}
	newID := strconv.FormatInt(id, 10)

	list, _ := mustRun("models", "list", "--db", db)
	if !strings.Contains(list, newID) || !strings.Contains(list, "builtin-") {
		t.Errorf("models list:\n%s", list)
	}
	var active struct {
		Versions []struct {
			ID     int64 `json:"id"`
			Active bool  `json:"active"`
		} `json:"versions"`
	}
	activeID := func() int64 {
		out, _ := mustRun("models", "list", "--db", db, "--json")
		if err := json.Unmarshal([]byte(out), &active); err != nil {
			t.Fatal(err)
		}
		for _, v := range active.Versions {
			if v.Active {
				return v.ID
			}
		}
		return 0
	}
	builtinID := activeID()
	if builtinID == id || builtinID == 0 {
		t.Fatalf("after retraining the active version is %d, want the built-in one", builtinID)
	}

	svgs := t.TempDir()
	cmpOut, _ := mustRun("compare", "active", newID, "--db", db, "--json", "--svg-dir", svgs)
	var c struct {
		N         int `json:"n"`
		PerIntent []struct {
			Intent string `json:"intent"`
		} `json:"per_intent"`
		A struct {
			Summary struct{ Accuracy float64 } `json:"summary"`
		} `json:"a"`
		Changed []json.RawMessage `json:"changed"`
	}
	if err := json.Unmarshal([]byte(cmpOut), &c); err != nil {
		t.Fatalf("compare --json: %v\n%.300s", err, cmpOut)
	}
	if c.N != 692 || len(c.PerIntent) != 39 || c.A.Summary.Accuracy < 0.85 || len(c.Changed) == 0 {
		t.Errorf("compare: n %d, %d intents, A accuracy %v, %d changed; want 692, 39, >= 0.85, some", c.N, len(c.PerIntent), c.A.Summary.Accuracy, len(c.Changed))
	}
	for _, f := range []string{"confusion-a.svg", "confusion-b.svg", "confusion-diff.svg", "reliability.svg"} {
		if b, err := os.ReadFile(filepath.Join(svgs, f)); err != nil || !bytes.HasPrefix(b, []byte("<svg")) {
			t.Errorf("%s: %v", f, err)
		}
	}
	if text, _ := mustRun("compare", strconv.FormatInt(builtinID, 10), newID, "--db", db, "--changed", "2"); !strings.Contains(text, "in-scope accuracy") || !strings.Contains(text, "more (--json lists all)") {
		t.Errorf("compare text:\n%s", text)
	}

	mustRun("models", "promote", newID, "--db", db)
	if got := activeID(); got != id {
		t.Errorf("after promote: active %d, want %d", got, id)
	}
	if out, _ := mustRun("models", "rollback", "--db", db); !strings.Contains(out, "builtin-") || activeID() != builtinID {
		t.Errorf("rollback: %q, active %d; want the built-in %d", out, activeID(), builtinID)
	}
	mustRun("models", "rollback", newID, "--db", db)
	if got := activeID(); got != id {
		t.Errorf("rollback ID: active %d, want %d", got, id)
	}
	for _, args := range [][]string{
		{"models", "promote", "999", "--db", db},
		{"models", "promote", "x", "--db", db},
		{"models", "frobnicate", "--db", db},
		{"compare", "1", "--db", db},
		{"compare", "1", "999", "--db", db},
		{"train", "--from-db", "--db", db, "--folds", "1"},
	} {
		if code, _, _ := run(t, args...); code == 0 {
			t.Errorf("parley %v succeeded, want an error", args)
		}
	}
}

// cancelOn is an output stream that cancels a context once trigger is
// written to it: an interrupt at a known point of a command.
type cancelOn struct {
	bytes.Buffer
	trigger string
	cancel  context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	n, err := w.Buffer.Write(p)
	if strings.Contains(w.Buffer.String(), w.trigger) {
		w.cancel()
	}
	return n, err
}
