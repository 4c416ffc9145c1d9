package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/parley-chat/parley/crm"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Times are stored as Unix nanoseconds, UTC. crm.CheckTime keeps stored
// times within what an int64 of nanoseconds holds.

func unixNano(t time.Time) int64 { return t.UnixNano() }

// nullTime stores a zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// bound converts a query bound, clamping times no record can have.
func bound(t time.Time) int64 {
	switch {
	case t.Before(crm.MinTime):
		return math.MinInt64
	case t.After(crm.MaxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time { return time.Unix(0, n).UTC() }

func fromNullTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromUnixNano(n.Int64)
}

// nullID stores an unset reference (0) as NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// nullString stores an unset optional key ("") as NULL, which UNIQUE
// does not compare.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// encodeJSON encodes a list or map column: NULL when empty.
func encodeJSON[T any](v []T) (any, error) {
	if len(v) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func encodeMap[V any](m map[string]V) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// decodeJSON decodes a JSON column into dst; NULL leaves dst alone.
func decodeJSON(col string, s sql.NullString, dst any) error {
	if !s.Valid || s.String == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s.String), dst); err != nil {
		return fmt.Errorf("decode %s: %w", col, err)
	}
	return nil
}

// translate turns constraint violations into the crm errors callers
// test for: a duplicate into ErrConflict, a missing referenced row into
// ErrNotFound, a failed CHECK into ErrInvalid. Other errors pass as they
// are.
func translate(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%w: %v", crm.ErrConflict, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: %v", crm.ErrNotFound, err)
	case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
		return fmt.Errorf("%w: %v", crm.ErrInvalid, err)
	}
	return err
}

// unavailable marks the errors of a database that cannot take writes
// for now (full, read-only, failing I/O) as crm.ErrUnavailable, with
// what happened in words an operator understands.
func unavailable(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	var why string
	switch se.Code() & 0xff { // the primary code; extended codes add detail
	case sqlite3.SQLITE_FULL:
		why = "the disk is full"
	case sqlite3.SQLITE_READONLY:
		why = "the database is read-only"
	case sqlite3.SQLITE_IOERR:
		why = "I/O error"
	case sqlite3.SQLITE_CANTOPEN:
		why = "cannot open a database file"
	default:
		return err
	}
	return fmt.Errorf("%w: %s: %w", crm.ErrUnavailable, why, err)
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// affected returns crm.ErrNotFound when a statement changed no row.
func affected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return crm.ErrNotFound
	}
	return nil
}
