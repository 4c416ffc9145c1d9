package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/parley-chat/parley/crm"
)

// CheckWritable proves the database takes writes, for a readiness
// probe: it sends a write through the writer like any other (its lock,
// a WAL append, a commit), rewriting the newest schema_migrations row
// with its own values, so nothing changes. It fails when the store is
// closed, the file or its directory became read-only, the disk is full,
// or another process holds the write lock past ctx's deadline.
//
// A real write, not a SELECT: a database that opened and still reads
// can have stopped taking writes, and a server that cannot store a
// message must not receive one.
func (s *Store) CheckWritable(ctx context.Context) error {
	err := s.write(ctx, func(t *dbtx) error {
		res, err := t.exec(`UPDATE schema_migrations SET applied_at = applied_at
			WHERE version = (SELECT MAX(version) FROM schema_migrations)`)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errors.New("no schema version row to rewrite")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("crm database %s is not writable: %w", s.path, unavailable(err))
	}
	// A small rewrite fits in the WAL's reused space even on a full
	// disk, where a customer's turn no longer does: ask the filesystem.
	if free, ok := freeBytes(filepath.Dir(s.path)); ok && free < minFreeBytes {
		return fmt.Errorf("crm database %s is not writable: %w: the disk is full (%d KiB free)", s.path, crm.ErrUnavailable, free>>10)
	}
	return nil
}

// minFreeBytes is the free space below which the store reports itself
// not writable: room for a few of the largest turns (a message and its
// replies with their normalized texts and entities are at most ~64 KiB),
// so the probe fails when turns start failing, not long before.
const minFreeBytes = 1 << 20

// whyNotWritable explains an Open that failed because the database
// cannot be written: SQLite's "unable to open database file" does not
// say that the disk or the directory is read-only, or full.
func whyNotWritable(path string, err error) error {
	err = unavailable(err)
	if !errors.Is(err, crm.ErrUnavailable) {
		return err
	}
	dir := filepath.Dir(path)
	f, cerr := os.CreateTemp(dir, ".parley-write-test-*")
	if cerr != nil {
		return fmt.Errorf("%w (the directory %s is read-only or not writable: %v)", err, dir, cerr)
	}
	f.Close()
	os.Remove(f.Name())
	if free, ok := freeBytes(dir); ok && free < minFreeBytes {
		return fmt.Errorf("%w (the disk is full: %d KiB free)", err, free>>10)
	}
	return err
}
