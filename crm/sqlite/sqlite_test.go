package sqlite_test

import (
	"context"
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
	"github.com/parley-chat/parley/crm/sqlite"
)

var dump = flag.Bool("dump", false, "keep the test databases and log their paths")

// dbPath returns a database path under a temporary directory (kept, and
// logged, with -dump).
func dbPath(t testing.TB, name string) string {
	t.Helper()
	dir := t.TempDir()
	if *dump {
		var err error
		if dir, err = filepathAbs(t); err != nil {
			t.Fatal(err)
		}
		t.Logf("database kept at %s", filepath.Join(dir, name))
	}
	return filepath.Join(dir, name)
}

// MustOpen opens a store on path, closed when the test ends.
func MustOpen(t testing.TB, path string, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	crmtest.Run(t, func(t *testing.T, now func() time.Time) crm.Store {
		s, err := sqlite.Open(context.Background(), dbPath(t, "crm.db"), sqlite.WithClock(now), quiet)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

// The same suite with group commit off: every write its own transaction.
func TestContractUnbatched(t *testing.T) {
	if testing.Short() {
		t.Skip("short: the batched run covers the contract")
	}
	crmtest.Run(t, func(t *testing.T, now func() time.Time) crm.Store {
		s, err := sqlite.Open(context.Background(), dbPath(t, "crm.db"), sqlite.WithClock(now), sqlite.WithMaxBatch(1), quiet)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}
