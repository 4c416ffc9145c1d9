package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/crm"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is a crm.Store on an SQLite file. It is safe for concurrent use.
type Store struct {
	path      string
	dsnCommon string // the pragmas every connection gets
	now       func() time.Time
	redact    func(string) string
	// chanRedact overrides redact for a channel's messages (a nil
	// value: none); see WithChannelRedactor.
	chanRedact map[crm.Channel]func(string) string
	log        *slog.Logger
	// expireBatch is how many messages a retention transaction changes.
	expireBatch int

	w, r   *sql.DB   // the writer (one connection) and the reader pool
	wconn  *sql.Conn // w's connection, held by the writer goroutine
	wstmts stmtCache // statements prepared on wconn

	reqs     chan *request
	quit     chan struct{} // closed by Close: the writer takes no new batch
	done     chan struct{} // closed by the writer goroutine when it exits
	maxBatch int

	ckpt         chan struct{} // the writer's "the WAL grew" to the checkpointer
	ckptDone     chan struct{} // closed by the checkpointer when it exits
	ckptInterval time.Duration
	ckptFinish   atomic.Bool // the checkpointer's "copied the bulk, finish it" to the writer

	stats struct{ batches, writes, failed, retried, queued atomic.Int64 }

	closeOnce sync.Once
	closeErr  error
}

var _ crm.Store = (*Store)(nil)

// Defaults for the options.
const (
	DefaultReadConns   = 4
	DefaultMaxBatch    = 256
	DefaultBusyTimeout = 10 * time.Second
	// DefaultCheckpointInterval is the least time between two WAL
	// checkpoints.
	DefaultCheckpointInterval = 100 * time.Millisecond
)

// ErrClosed is returned by calls on a closed Store.
var ErrClosed = errors.New("store closed")

// Option configures Open.
type Option func(*options)

type options struct {
	now         func() time.Time
	redact      func(string) string
	chanRedact  map[crm.Channel]func(string) string
	expireBatch int
	log         *slog.Logger
	readConns   int
	maxBatch    int
	busyTimeout time.Duration
	checkpoint  time.Duration
}

// WithClock makes the store take its timestamps from now (default
// time.Now); tests use a settable clock.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithRedactor applies redact (crm.Redact, say) to the texts of messages
// and their entities and to label texts before they are stored, so
// personal data never reaches the file. Slots and customer profiles are
// kept as given: the dialogue needs them. WithChannelRedactor overrides
// it for one channel.
func WithRedactor(redact func(string) string) Option {
	return func(o *options) { o.redact = redact }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithReadConns sets the size of the reader pool (default DefaultReadConns).
func WithReadConns(n int) Option { return func(o *options) { o.readConns = n } }

// WithMaxBatch bounds how many writes one transaction commits (default
// DefaultMaxBatch); 1 turns group commit off.
func WithMaxBatch(n int) Option { return func(o *options) { o.maxBatch = n } }

// WithBusyTimeout sets how long a connection waits for a lock (default
// DefaultBusyTimeout). With one writer only a checkpoint or another
// process can hold one.
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// WithCheckpointInterval sets the least time between two WAL checkpoints
// (default DefaultCheckpointInterval).
func WithCheckpointInterval(d time.Duration) Option { return func(o *options) { o.checkpoint = d } }

//go:embed migrations/*.sql
var migrationFS embed.FS

// Open opens (creating if needed) the database file at path, migrates it
// and starts the writer. A database migrated by a newer build is refused
// with an error wrapping crm.ErrSchema.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{now: time.Now, log: slog.Default(), readConns: DefaultReadConns,
		maxBatch: DefaultMaxBatch, busyTimeout: DefaultBusyTimeout, checkpoint: DefaultCheckpointInterval,
		expireBatch: DefaultExpireBatch}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" || strings.ContainsAny(path, "?#") || path == ":memory:" || strings.HasPrefix(path, "file:") {
		// ":memory:" would give each pooled connection its own database;
		// "?" would cut the DSN's parameters.
		return nil, fmt.Errorf("open crm database %q: %w: want a plain file path", path, crm.ErrInvalid)
	}
	if o.readConns < 1 || o.maxBatch < 1 || o.busyTimeout < 0 || o.checkpoint <= 0 || o.expireBatch < 1 {
		return nil, fmt.Errorf("open crm database %s: %w: bad options", path, crm.ErrInvalid)
	}
	s := &Store{path: path, now: o.now, redact: o.redact, chanRedact: o.chanRedact, expireBatch: o.expireBatch, log: o.log, maxBatch: o.maxBatch,
		reqs: make(chan *request), quit: make(chan struct{}), done: make(chan struct{}),
		ckpt: make(chan struct{}, 1), ckptDone: make(chan struct{}), ckptInterval: o.checkpoint}

	busy := strconv.FormatInt(o.busyTimeout.Milliseconds(), 10)
	common := "_pragma=busy_timeout(" + busy + ")&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	s.dsnCommon = common
	// The writer begins IMMEDIATE: a deferred transaction that reads
	// first and writes later could fail to upgrade its lock. It does not
	// checkpoint: SQLite's automatic checkpoint would run inside a
	// commit, and every caller waiting on the writer would wait for its
	// copying and fsyncs too; the checkpointer goroutine does it instead.
	// Its statement journal, which the savepoints of a batch write
	// to, stays in memory (temp_store): it only ever holds the pages of
	// one request. After a checkpoint lets the WAL restart, a WAL file
	// that grew past journal_size_limit is cut back. secure_delete(FAST)
	// zeroes deleted content within pages, at no extra I/O: without it
	// the stale copies of rows that page splits and updates leave behind
	// would keep words retention deleted (see ExpireMessages).
	w, err := sql.Open("sqlite", path+"?"+common+"&_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(0)"+
		"&_pragma=temp_store(MEMORY)&_pragma=journal_size_limit(67108864)&_pragma=secure_delete(FAST)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open crm database %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s.w = w
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, whyNotWritable(path, err)
	}
	// Readers are query_only: a read path that tried to write would fail
	// loudly instead of competing with the writer for the lock.
	r, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open crm database %s: %w", path, err)
	}
	r.SetMaxOpenConns(o.readConns)
	r.SetMaxIdleConns(o.readConns)
	s.r = r
	if s.wconn, err = w.Conn(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open crm database %s: %w", path, err)
	}
	s.wstmts = stmtCache{conn: s.wconn}
	go s.writer()
	go s.checkpointer()
	return s, nil
}

// Close stops the writer after the writes already handed to it commit,
// and closes the database. Calls after Close fail with ErrClosed (writes)
// or the database/sql error for a closed database (reads).
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.quit)
		<-s.done
		<-s.ckptDone
		s.wstmts.close()
		// Fold the WAL into the database, so the file is whole on its own.
		var ckErr error
		if _, err := s.wconn.ExecContext(context.Background(), `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			ckErr = fmt.Errorf("checkpoint: %w", err)
		}
		s.closeErr = errors.Join(ckErr, s.wconn.Close(), s.w.Close(), s.r.Close())
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("close crm database %s: %w", s.path, s.closeErr)
		}
	})
	return s.closeErr
}

// checkpointer is the goroutine that copies the WAL back into the
// database file, at most once per ckptInterval, after the writer says it
// committed. It exits when Close closes quit.
//
// Checkpoints are split in two because of how SQLite reuses the WAL: it
// starts writing it from the beginning again only when a write
// transaction begins with every frame copied. Under steady load a
// checkpoint running beside the writer never sees that moment, and the
// WAL grows without end; one run by the writer inside a commit (SQLite's
// automatic checkpoint) stalls every caller waiting on it for the whole
// copy. So the checkpointer copies the bulk with a PASSIVE checkpoint on
// a reader connection, which neither waits for nor blocks anyone, and
// then asks the writer to copy the few frames committed meanwhile
// between two batches (see finishCheckpoint); the writer's next
// transaction restarts the WAL.
func (s *Store) checkpointer() {
	defer close(s.ckptDone)
	pause := time.NewTimer(0)
	defer pause.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-s.ckpt:
		}
		// The second pass copies what was committed during the first,
		// leaving the writer little to do.
		var err error
		for pass := 0; pass < 2 && err == nil; pass++ {
			_, err = s.r.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
		}
		if err != nil {
			s.log.Warn("crm database checkpoint failed", "path", s.path, "err", err)
		} else {
			s.ckptFinish.Store(true)
		}
		pause.Reset(s.ckptInterval)
		select {
		case <-s.quit:
			return
		case <-pause.C:
		}
	}
}

// finishCheckpoint is the writer's part of a checkpoint, run between
// batches: copying what was committed since the checkpointer's copy, or
// telling the checkpointer that the WAL grew.
func (s *Store) finishCheckpoint() {
	if s.ckptFinish.CompareAndSwap(true, false) {
		if _, err := s.wconn.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
			s.log.Warn("crm database checkpoint failed", "path", s.path, "err", err)
		}
		return
	}
	select {
	case s.ckpt <- struct{}{}:
	default: // the checkpointer is busy or pausing; it will look again
	}
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// WriteStats counts the writer's work since Open, for metrics.
type WriteStats struct {
	// Batches is how many transactions the writer committed (or tried
	// to); Writes how many write calls they carried, so Writes/Batches
	// is the mean batch size.
	Batches, Writes int64
	// Failed counts write calls that returned an error; Retried, calls
	// run again because another call in their batch broke its
	// transaction.
	Failed, Retried int64
	// Queued is how many write calls wait for the writer right now.
	Queued int64
}

// WriteStats returns the writer's counters.
func (s *Store) WriteStats() WriteStats {
	return WriteStats{Batches: s.stats.batches.Load(), Writes: s.stats.writes.Load(),
		Failed: s.stats.failed.Load(), Retried: s.stats.retried.Load(), Queued: s.stats.queued.Load()}
}

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// embedded are the migrations this build knows, in version order;
// embeddedErr says what is wrong with their names, which Open reports.
var embedded, embeddedErr = migrations()

// migrations reads the embedded migrations. Names are NNNN_what.sql,
// numbered from 1 without gaps.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and _", base)
		}
		b, err := migrationFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := range out {
		if out[i].version != i+1 {
			return nil, fmt.Errorf("migration %s: versions must run 1, 2, 3, ... without gaps", out[i].name)
		}
	}
	return out, nil
}

// SchemaVersion is the schema version this build migrates to.
func SchemaVersion() int { return len(embedded) }

// migrate applies the migrations the database lacks, each in its own
// transaction together with its schema_migrations row.
func (s *Store) migrate(ctx context.Context) error {
	if embeddedErr != nil {
		return fmt.Errorf("migrate %s: %w", s.path, embeddedErr)
	}
	ms := embedded
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate %s: %w", s.path, err)
	}
	var current int
	var name sql.NullString
	if err := s.w.QueryRowContext(ctx,
		`SELECT version, name FROM schema_migrations ORDER BY version DESC LIMIT 1`).Scan(&current, &name); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("migrate %s: read schema version: %w", s.path, err)
	}
	if current > len(ms) {
		return fmt.Errorf("open %s: %w: the database is at schema version %d (%s), this build knows up to %d: upgrade parley",
			s.path, crm.ErrSchema, current, name.String, len(ms))
	}
	for _, m := range ms[current:] {
		if err := s.apply(ctx, m); err != nil {
			return err
		}
		s.log.Info("crm database migrated", "path", s.path, "migration", m.name)
	}
	return nil
}

func (s *Store) apply(ctx context.Context, m migration) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, s.now().UnixNano()); err != nil {
		return fmt.Errorf("migration %s: record it: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: commit: %w", m.name, err)
	}
	return nil
}

// IntegrityCheck runs PRAGMA integrity_check and returns an error listing
// what it found unless the database is ok.
func (s *Store) IntegrityCheck(ctx context.Context) error { return integrityCheck(ctx, s.r, s.path) }

// integrityCheck runs PRAGMA integrity_check on db, the file at path.
func integrityCheck(ctx context.Context, db *sql.DB, path string) error {
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("integrity check of %s: %w", path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("integrity check of %s: %w", path, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check of %s: %w", path, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check of %s failed: %s", path, strings.Join(problems, "; "))
	}
	return nil
}

// stmtCache keeps the writer's prepared statements, one per query
// text, on the connection the writer holds. Only the writer goroutine
// uses it.
type stmtCache struct {
	conn *sql.Conn
	m    map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	st, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}
