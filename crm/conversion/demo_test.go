package conversion_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm/conversion"
	"github.com/parley-chat/parley/crm/crmtest"
	"github.com/parley-chat/parley/crm/demo"
)

// TestDemoCRM runs the whole job on a CRM filled by crm/demo through the
// crm.Store contract (the in-memory store): a snapshot two months before
// the end of the history, labelled by the month after it, both models
// fitted on a stratified 75% and judged on the rest.
func TestDemoCRM(t *testing.T) {
	ctx := context.Background()
	store := crmtest.NewMemory()
	start := time.Now()
	sum, err := demo.Generate(ctx, store, demo.Config{Customers: 4000, Seed: 1, Workers: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("demo.Generate: %v", err)
	}
	gen := time.Since(start)
	cut := sum.End.AddDate(0, -2, 0)
	d, ids, err := conversion.Snapshot(ctx, store, cut, 30*day, conversion.DefaultIntents)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	t.Logf("demo CRM: %d customers, %d orders (generated in %v); snapshot as of %s: %d customers, %d convert within 30 days",
		sum.Customers, sum.Orders, gen.Round(time.Millisecond), cut.Format(time.DateOnly), len(ids), d.Positives())
	train, test, err := conversion.StratifiedSplit(d, 0.25, 1)
	if err != nil {
		t.Fatal(err)
	}
	for name, tr := range trainers() {
		m := mustFit(t, tr, train, 1)
		r, err := conversion.Evaluate(m, test)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: held-out AUC %.4f, log loss %.4f, Brier %.4f", name, r.AUC, r.LogLoss, r.Brier)
		// Measured with crm/demo as of this writing: logistic 0.8015,
		// boosted trees 0.8062. The floor leaves room for changes to
		// the demo's kinds; far below it, the features lost the signal.
		if r.AUC < 0.78 {
			t.Errorf("%s: held-out AUC on the demo CRM %.4f, want >= 0.78", name, r.AUC)
		}
	}
}
