package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/console"
	"github.com/parley-chat/parley/bot/training"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
	"github.com/parley-chat/parley/intents"
)

// trainingFixture is the console with the analysts' pages on a small
// data set, retraining an SVM only (fast).
func trainingFixture(t *testing.T) (*fixture, *training.Runner) {
	t.Helper()
	var runner *training.Runner
	f := newFixtureOn(t, func(clock *crmtest.Clock) crm.Store { return crmtest.NewMemory(crmtest.WithClock(clock.Now)) }, func(d *console.Deps) {
		load := func(name string) intents.Dataset {
			ds, err := intents.LoadFile(filepath.Join("..", "training", "testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			return ds
		}
		wb, err := training.New(d.Store.(crm.Store), training.WithData(training.Data{Train: load("train.csv"), Val: load("val.csv"), Test: load("test.csv")}))
		if err != nil {
			t.Fatal(err)
		}
		runner = training.NewRunner(wb)
		t.Cleanup(runner.Close)
		d.Training, d.Runner = wb, runner
		d.Retrain = training.RetrainOptions{Members: []string{"svm"}, Folds: -1}
	})
	return f, runner
}

func (f *fixture) lowConfidence(visitor, text string) int64 {
	f.t.Helper()
	l, err := f.store.LogInteraction(context.Background(), crm.Interaction{
		Channel: crm.ChannelWeb, Customer: crm.ExternalID{Kind: crm.IDWebVisitor, Value: visitor},
		Message: crm.Message{Direction: crm.FromCustomer, Text: text, Intent: "oos", OutOfScope: true, Confidence: 0.2, Action: "fallback", ChannelMsgID: visitor + ":1"},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return l.MessageID
}

// waitRun waits for the background retraining and returns its status.
func waitRun(t *testing.T, c *client) training.RunStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res := c.do("GET", "/console/training/status", "json", nil, nil)
		var st training.RunStatus
		if err := json.Unmarshal([]byte(res.body), &st); err != nil {
			t.Fatalf("status: %v\n%s", err, res.body)
		}
		if !st.Running {
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the retraining did not finish")
	return training.RunStatus{}
}

func TestTrainingPages(t *testing.T) {
	f, _ := trainingFixture(t)
	ctx := context.Background()
	m1 := f.lowConfidence("v_train_1", "can i pay with bitcoin")
	m2 := f.lowConfidence("v_train_2", "Can I pay with Bitcoin?")

	// Agents may not; analysts may.
	if res := f.signedIn(f.alice).get("/console/training"); res.StatusCode != http.StatusForbidden {
		t.Errorf("agent on the NLU inbox: %d, want 403", res.StatusCode)
	}
	ana := f.signedIn(f.ana)
	page := ana.get("/console/training")
	if page.StatusCode != 200 || !strings.Contains(strings.ToLower(page.body), "can i pay with bitcoin") || !strings.Contains(page.body, fmt.Sprintf("%d,%d", m2, m1)) {
		t.Fatalf("NLU inbox: %d, want the two messages as one group:\n%s", page.StatusCode, page.body)
	}
	// Without the CSRF token nothing happens.
	if res := ana.do("POST", "/console/training/label", "html", url.Values{"message_ids": {fmt.Sprint(m1)}, "intent": {"oos"}}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("label without CSRF: %d, want 403", res.StatusCode)
	}
	// An intent that does not exist is refused, with the offer to create it.
	res := ana.post("/console/training/label", url.Values{"message_ids": {fmt.Sprintf("%d,%d", m1, m2)}, "new_intent": {"crypto_payment"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.body, "create this intent") {
		t.Errorf("unknown intent: %d, want 422 offering to create it", res.StatusCode)
	}
	if ls, _ := f.store.Labels(ctx); len(ls) != 0 {
		t.Fatalf("a refused label was stored: %+v", ls)
	}
	res = ana.post("/console/training/label", url.Values{"message_ids": {fmt.Sprintf("%d,%d", m1, m2)}, "new_intent": {"crypto_payment"}, "create": {"yes"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("label with a new intent: %d\n%s", res.StatusCode, res.body)
	}
	ls, _ := f.store.Labels(ctx)
	if len(ls) != 2 || ls[0].Intent != "crypto_payment" || ls[0].StaffID != f.ana.ID {
		t.Errorf("labels %+v, want two crypto_payment labels by Ana", ls)
	}
	if page := ana.get("/console/training"); strings.Contains(strings.ToLower(page.body), "pay with bitcoin") {
		t.Error("labelled messages are still in the NLU inbox")
	}

	// Retrain twice (the button), promote the first, compare, roll back.
	var versions []int64
	for i := range 2 {
		if res := ana.post("/console/training/retrain", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("retrain: %d\n%s", res.StatusCode, res.body)
		}
		st := waitRun(t, ana)
		if st.Err != "" || st.Result == nil {
			t.Fatalf("retraining %d: %+v", i, st)
		}
		versions = append(versions, st.Result.Version.ID)
		if i == 0 {
			if res := ana.post(fmt.Sprintf("/console/models/%d/promote", versions[0]), nil); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("promote: %d\n%s", res.StatusCode, res.body)
			}
		}
	}
	if v, err := f.store.ActiveModel(ctx, training.Kind); err != nil || v.ID != versions[0] {
		t.Errorf("active model %d (%v), want the promoted %d", v.ID, err, versions[0])
	}
	models := ana.get("/console/models")
	if models.StatusCode != 200 || !strings.Contains(models.body, "Serving") || !strings.Contains(models.body, fmt.Sprintf("/console/models/%d/promote", versions[1])) {
		t.Errorf("models page: %d\n%s", models.StatusCode, models.body)
	}
	cmp := ana.get(fmt.Sprintf("/console/models/compare?a=%d&b=%d", versions[0], versions[1]))
	if cmp.StatusCode != 200 || strings.Count(cmp.body, "<svg") != 4 || !strings.Contains(cmp.body, "Per intent") {
		t.Errorf("compare page: %d, %d SVGs\n%.2000s", cmp.StatusCode, strings.Count(cmp.body, "<svg"), cmp.body)
	}
	if res := ana.post(fmt.Sprintf("/console/models/%d/promote", versions[1]), nil); res.StatusCode != http.StatusSeeOther {
		t.Fatal(res.body)
	}
	if res := ana.post("/console/models/rollback", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("rollback: %d\n%s", res.StatusCode, res.body)
	}
	if v, _ := f.store.ActiveModel(ctx, training.Kind); v.ID != versions[0] {
		t.Errorf("after rollback the active model is %d, want %d", v.ID, versions[0])
	}
}
