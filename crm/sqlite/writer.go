package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync/atomic"
)

// request is one write for the writer goroutine: fn runs inside a
// savepoint of the batch's transaction and reports its outcome on done
// after the batch committed.
type request struct {
	fn    func(*dbtx) error
	claim atomic.Int32 // claimWaiting, then claimTaken by the writer or claimWithdrawn by the caller
	done  chan error   // buffered: the writer never waits for the caller
}

const (
	claimWaiting int32 = iota
	claimTaken
	claimWithdrawn
)

// write hands fn to the writer and waits for its batch to commit. fn
// must only touch the database through its dbtx, and may run more than
// once (a batch whose transaction broke is run again without the request
// that broke it), so it must set its results afresh each time.
func (s *Store) write(ctx context.Context, fn func(*dbtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{fn: fn, done: make(chan error, 1)}
	s.stats.queued.Add(1)
	select {
	case s.reqs <- r:
		s.stats.queued.Add(-1)
	case <-ctx.Done():
		s.stats.queued.Add(-1)
		return ctx.Err()
	case <-s.quit:
		s.stats.queued.Add(-1)
		return ErrClosed
	}
	select {
	case err := <-r.done:
		return unavailable(err)
	case <-ctx.Done():
		if r.claim.CompareAndSwap(claimWaiting, claimWithdrawn) {
			return ctx.Err() // the writer will skip it: nothing written
		}
		return unavailable(<-r.done) // too late to withdraw: report what happened
	}
}

// writer is the goroutine that owns the writer connection. It exits when
// Close closes quit, after the batch in progress.
func (s *Store) writer() {
	defer close(s.done)
	batch := make([]*request, 0, s.maxBatch)
	for {
		select {
		case r := <-s.reqs:
			batch = append(batch[:0], r)
		case <-s.quit:
			return
		}
		// Take every request already waiting: they were sent while the
		// previous batch committed, and share the next commit. Then yield
		// once and look again: the callers the last commit released need
		// a moment of CPU to send their next request, and on a small
		// machine the writer would otherwise start a batch without them.
		for yielded := false; ; yielded = true {
		collect:
			for len(batch) < s.maxBatch {
				select {
				case r := <-s.reqs:
					batch = append(batch, r)
				default:
					break collect
				}
			}
			if yielded || len(batch) >= s.maxBatch {
				break
			}
			runtime.Gosched()
		}
		live := batch[:0]
		for _, r := range batch {
			if r.claim.CompareAndSwap(claimWaiting, claimTaken) {
				live = append(live, r)
			}
		}
		s.commit(live)
		s.finishCheckpoint()
		clear(batch)
	}
}

// commit runs the requests in one transaction, each in a savepoint, and
// reports to each. When the transaction itself breaks (the savepoint
// rollback fails: SQLite rolled everything back, on a full disk, say),
// the request that broke it fails and the others run again in a new one.
func (s *Store) commit(reqs []*request) {
	for len(reqs) > 0 {
		s.stats.batches.Add(1)
		s.stats.writes.Add(int64(len(reqs)))
		errs, broken := s.tryCommit(reqs)
		if broken < 0 {
			for i, r := range reqs {
				if errs[i] != nil {
					s.stats.failed.Add(1)
				}
				r.done <- errs[i]
			}
			return
		}
		s.stats.failed.Add(1)
		reqs[broken].done <- errs[broken]
		reqs = append(reqs[:broken:broken], reqs[broken+1:]...)
		s.stats.retried.Add(int64(len(reqs)))
		s.stats.writes.Add(-int64(len(reqs))) // counted again with the next try
	}
}

// tryCommit runs reqs in one transaction. It returns each request's
// error, and the index of a request that broke the transaction (-1 for
// none), in which case nothing was committed.
//
// The writer runs BEGIN, COMMIT and ROLLBACK itself on the connection it
// holds rather than through sql.Tx: statements prepared on a sql.Conn
// are prepared once for good, while sql.Tx would prepare each again, and
// with one connection a statement prepared on the pool would wait
// forever for the connection the transaction holds.
func (s *Store) tryCommit(reqs []*request) (errs []error, broken int) {
	errs = make([]error, len(reqs))
	t := &dbtx{ctx: context.Background(), cache: &s.wstmts}
	fail := func(err error) ([]error, int) {
		t.exec(`ROLLBACK`) // the transaction may be gone already: nothing to report
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs, -1
	}
	// Statements run to completion whatever the callers' contexts do:
	// the batch is short and each caller waits for it.
	if _, err := t.exec(`BEGIN IMMEDIATE`); err != nil {
		return fail(fmt.Errorf("begin write: %w", err))
	}
	for i, r := range reqs {
		if _, err := t.exec(`SAVEPOINT w`); err != nil {
			return fail(fmt.Errorf("savepoint: %w", err))
		}
		if err := s.run(r, t); err != nil {
			errs[i] = err
			if _, rerr := t.exec(`ROLLBACK TO w`); rerr != nil {
				t.exec(`ROLLBACK`)
				if len(reqs) == 1 {
					return errs, -1
				}
				return errs, i
			}
		}
		if _, err := t.exec(`RELEASE w`); err != nil {
			return fail(fmt.Errorf("release savepoint: %w", err))
		}
	}
	if _, err := t.exec(`COMMIT`); err != nil {
		// Nothing of the batch was written: the requests that had
		// succeeded get the commit's error, the others keep their own.
		return fail(fmt.Errorf("commit: %w", err))
	}
	return errs, -1
}

// run calls r.fn, turning a panic into an error: a bug in one write must
// not stop the writer every other caller waits on.
func (s *Store) run(r *request, t *dbtx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("crm write panicked", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error in crm write: %v", p)
		}
	}()
	return r.fn(t)
}

// dbtx runs statements: the writer's, on statements prepared once on
// its connection (cache set), or a read's, in a read transaction (tx set).
type dbtx struct {
	ctx   context.Context
	tx    *sql.Tx
	cache *stmtCache
}

func (t *dbtx) exec(query string, args ...any) (sql.Result, error) {
	if t.cache == nil {
		return t.tx.ExecContext(t.ctx, query, args...)
	}
	st, err := t.cache.get(t.ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(t.ctx, args...)
}

func (t *dbtx) query(query string, args ...any) (*sql.Rows, error) {
	if t.cache == nil {
		return t.tx.QueryContext(t.ctx, query, args...)
	}
	st, err := t.cache.get(t.ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(t.ctx, args...)
}

// row runs a query returning at most one row.
func (t *dbtx) row(query string, args ...any) scanner {
	if t.cache == nil {
		return t.tx.QueryRowContext(t.ctx, query, args...)
	}
	st, err := t.cache.get(t.ctx, query)
	if err != nil {
		return errScanner{err}
	}
	return st.QueryRowContext(t.ctx, args...)
}

type errScanner struct{ err error }

func (e errScanner) Scan(...any) error { return e.err }

// queryRow scans the first row of a query into dest, returning
// sql.ErrNoRows when there is none.
func (t *dbtx) queryRow(query string, args []any, dest ...any) error {
	return t.row(query, args...).Scan(dest...)
}

// insert runs an INSERT and returns the new row's id.
func (t *dbtx) insert(query string, args ...any) (int64, error) {
	res, err := t.exec(query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// read runs fn in a read-only transaction on the reader pool, so that
// its queries see one snapshot.
func (s *Store) read(ctx context.Context, fn func(*dbtx) error) error {
	select {
	case <-s.quit:
		return ErrClosed
	default:
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(&dbtx{ctx: ctx, tx: tx}); err != nil {
		return err
	}
	return tx.Commit()
}
