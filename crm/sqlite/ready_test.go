package sqlite_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm/sqlite"
)

func TestCheckWritable(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t, "ready.db")
	s := MustOpen(t, path, sqlite.WithBusyTimeout(50*time.Millisecond))
	raw := rawDB(t, path)
	const schema = `SELECT COUNT(*) || ':' || COALESCE(SUM(version + applied_at), 0) FROM schema_migrations`
	var before string
	if err := raw.QueryRow(schema).Scan(&before); err != nil {
		t.Fatal(err)
	}
	w0 := s.WriteStats().Writes

	if err := s.CheckWritable(ctx); err != nil {
		t.Fatalf("CheckWritable on a fresh store: %v, want nil", err)
	}
	if got := s.WriteStats().Writes; got != w0+1 {
		t.Errorf("writes after CheckWritable = %d, want %d: it must go through the writer", got, w0+1)
	}
	var after string
	if err := raw.QueryRow(schema).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("schema_migrations after CheckWritable = %s, want %s unchanged", after, before)
	}

	// Another process holding the write lock: not writable, then
	// writable again once it lets go.
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	err = s.CheckWritable(lctx)
	cancel()
	if err == nil {
		t.Error("CheckWritable while another connection holds the write lock = nil, want an error")
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckWritable(ctx); err != nil {
		t.Errorf("CheckWritable after the lock was released: %v, want nil", err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckWritable(ctx); !errors.Is(err, sqlite.ErrClosed) {
		t.Errorf("CheckWritable on a closed store = %v, want ErrClosed", err)
	}
}
