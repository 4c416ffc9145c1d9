package sqlite

import (
	"context"
	"errors"
	"fmt"
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
		return fmt.Errorf("crm database %s is not writable: %w", s.path, err)
	}
	return nil
}
