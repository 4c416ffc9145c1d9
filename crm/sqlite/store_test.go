package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/sqlite"
)

var quiet = sqlite.WithLogger(slog.New(slog.DiscardHandler))

// rawDB opens the file with the bare driver, to look behind the Store.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func queryInt(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func interaction(visitor, msgID, text string) crm.Interaction {
	return crm.Interaction{
		Channel:         crm.ChannelWeb,
		Customer:        crm.ExternalID{Kind: crm.IDWebVisitor, Value: visitor},
		ConversationRef: "r-" + visitor,
		Message:         crm.Message{Direction: crm.FromCustomer, Text: text, ChannelMsgID: msgID},
		Replies:         []crm.Message{{Direction: crm.FromBot, Text: "reply to " + msgID}},
	}
}

func TestMigrateFreshAndReopen(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t, "crm.db")
	s := MustOpen(t, path, quiet)
	l, err := s.LogInteraction(ctx, interaction("v1", "m1", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db := rawDB(t, path)
	if got := queryInt(t, db, `SELECT COUNT(*) FROM schema_migrations`); got != sqlite.SchemaVersion() {
		t.Errorf("schema_migrations has %d rows, want %d", got, sqlite.SchemaVersion())
	}
	var name string
	if err := db.QueryRow(`SELECT name FROM schema_migrations WHERE version = 1`).Scan(&name); err != nil || name != "0001_init.sql" {
		t.Errorf("migration 1 recorded as %q (%v), want 0001_init.sql", name, err)
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
	for _, table := range []string{"customers", "external_ids", "conversations", "messages", "escalations", "orders",
		"staff", "sessions", "labels", "model_versions", "segment_assignments", "lead_scores",
		"outbox", "conversation_links"} {
		if n := queryInt(t, db, `SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, table); n != 1 {
			t.Errorf("table %s missing", table)
		}
	}
	db.Close()

	// Reopening migrates nothing and keeps the data.
	s = MustOpen(t, path, quiet)
	msgs, err := s.Messages(ctx, l.ConversationID)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("after reopening: messages %+v, %v; want 2", msgs, err)
	}
	again, err := s.LogInteraction(ctx, interaction("v1", "m1", "hello"))
	if err != nil || !again.Duplicate {
		t.Errorf("redelivery after reopening = %+v, %v; want a duplicate", again, err)
	}
	s.Close()
	if got := queryInt(t, rawDB(t, path), `SELECT COUNT(*) FROM schema_migrations`); got != sqlite.SchemaVersion() {
		t.Errorf("after reopening schema_migrations has %d rows, want %d", got, sqlite.SchemaVersion())
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := dbPath(t, "crm.db")
	s := MustOpen(t, path, quiet)
	s.Close()
	db := rawDB(t, path)
	future := sqlite.SchemaVersion() + 1
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)`,
		future, fmt.Sprintf("%04d_future.sql", future)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := sqlite.Open(context.Background(), path, quiet)
	if !errors.Is(err, crm.ErrSchema) {
		t.Fatalf("Open of a database at version %d = %v, want an error wrapping crm.ErrSchema", future, err)
	}
	for _, want := range []string{fmt.Sprint(future), "_future.sql", "upgrade"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestOpenBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		path string
		opts []sqlite.Option
	}{
		{"memory", ":memory:", nil},
		{"empty", "", nil},
		{"query in path", filepath.Join(dir, "a?b.db"), nil},
		{"uri", "file:" + filepath.Join(dir, "a.db"), nil},
		{"no readers", filepath.Join(dir, "a.db"), []sqlite.Option{sqlite.WithReadConns(0)}},
		{"no batch", filepath.Join(dir, "a.db"), []sqlite.Option{sqlite.WithMaxBatch(0)}},
	} {
		s, err := sqlite.Open(context.Background(), tt.path, tt.opts...)
		if !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("Open %s (%q) = %v, want an error wrapping crm.ErrInvalid", tt.name, tt.path, err)
		}
		if s != nil {
			s.Close()
		}
	}
	// A directory where the file should be.
	if _, err := sqlite.Open(context.Background(), dir, quiet); err == nil {
		t.Errorf("Open(%s), a directory: no error", dir)
	}
}

func TestIntegrityCheck(t *testing.T) {
	s := MustOpen(t, dbPath(t, "crm.db"), quiet)
	if _, err := s.LogInteraction(context.Background(), interaction("v", "m", "hi")); err != nil {
		t.Fatal(err)
	}
	if err := s.IntegrityCheck(context.Background()); err != nil {
		t.Errorf("IntegrityCheck of a fresh database: %v", err)
	}
}

func TestBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := MustOpen(t, filepath.Join(dir, "crm.db"), quiet)
	for i := range 50 {
		if _, err := s.LogInteraction(ctx, interaction(fmt.Sprintf("v%d", i%5), fmt.Sprintf("m%d", i), "hello")); err != nil {
			t.Fatal(err)
		}
	}
	// Writes go on while the backup runs; it is a consistent snapshot.
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 200 {
			if _, err := s.LogInteraction(ctx, interaction("busy", fmt.Sprintf("b%d", i), "during the backup")); err != nil {
				t.Error(err)
				return
			}
		}
	})
	backup := filepath.Join(dir, "backup.db")
	if err := s.Backup(ctx, backup); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	wg.Wait()

	b := MustOpen(t, backup, quiet)
	if err := b.IntegrityCheck(ctx); err != nil {
		t.Errorf("backup integrity: %v", err)
	}
	custs, err := b.Customers(ctx, 0, 0)
	if err != nil || len(custs) < 5 {
		t.Fatalf("backup customers = %d, %v; want at least 5", len(custs), err)
	}
	for _, c := range custs[:5] {
		convs, err := b.Conversations(ctx, crm.ConversationFilter{CustomerID: c.ID})
		if err != nil || len(convs) != 1 {
			t.Fatalf("backup conversations of %d = %+v, %v", c.ID, convs, err)
		}
		if msgs, err := b.Messages(ctx, convs[0].ID); err != nil || len(msgs) != 20 {
			t.Errorf("backup messages of customer %d = %d, %v; want 20", c.ID, len(msgs), err)
		}
	}
	// Every "busy" message in the backup has its reply: no half interaction.
	if len(custs) == 6 {
		convs, _ := b.Conversations(ctx, crm.ConversationFilter{CustomerID: custs[5].ID})
		msgs, _ := b.Messages(ctx, convs[0].ID)
		if len(msgs)%2 != 0 {
			t.Errorf("backup holds %d messages of the busy conversation, want whole interactions", len(msgs))
		}
	}

	err = s.Backup(ctx, backup)
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("Backup over an existing file = %v, want an error wrapping fs.ErrExist", err)
	}
	if err == nil || !strings.Contains(err.Error(), backup) {
		t.Errorf("Backup error %v does not name the file", err)
	}
}

func TestRedactor(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t, "crm.db")
	s := MustOpen(t, path, quiet, sqlite.WithRedactor(crm.Redact))
	const email, card, phone = "jo.secret@example.com", "4111 1111 1111 1111", "+44 20 7946 0958"
	in := interaction("v1", "m1", "I'm "+email+", card "+card+", call "+phone+" about order 48213")
	in.Message.Entities = []crm.Entity{{Kind: "email", Text: email, Value: email}, {Kind: "order_id", Text: "48213", Value: "48213"}}
	in.Replies = []crm.Message{{Direction: crm.FromBot, Text: "We'll email " + email}}
	l, err := s.LogInteraction(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Messages(ctx, l.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	want := "I'm [email], card [card], call [phone] about order 48213"
	if msgs[0].Text != want {
		t.Errorf("stored text %q, want %q", msgs[0].Text, want)
	}
	if e := msgs[0].Entities; e[0].Text != "[email]" || e[0].Value != "[email]" || e[1].Value != "48213" {
		t.Errorf("stored entities %+v, want the email masked and the order kept", e)
	}
	if msgs[1].Text != "We'll email [email]" || l.Replies[0].Text != msgs[1].Text {
		t.Errorf("stored reply %q, logged reply %q, want the email masked", msgs[1].Text, l.Replies[0].Text)
	}
	lab, err := s.AddLabel(ctx, crm.Label{Text: "mail " + email, Intent: "contact"})
	if err != nil || lab.Text != "mail [email]" {
		t.Errorf("label = %+v, %v; want the email masked", lab, err)
	}
	if _, err := s.AddMessage(ctx, crm.Message{ConversationID: l.ConversationID, Direction: crm.Note, Text: "card " + card}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Nothing of it reached the disk.
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{email, card, "7946 0958"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds %q", filepath.Base(f), secret)
			}
		}
	}
}

// A redactor that makes a message invalid is refused, not stored.
func TestRedactorInvalidOutput(t *testing.T) {
	s := MustOpen(t, dbPath(t, "crm.db"), quiet, sqlite.WithRedactor(func(string) string { return "\xff" }))
	_, err := s.LogInteraction(context.Background(), interaction("v", "m", "hi"))
	if !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("LogInteraction with a redactor returning invalid UTF-8 = %v, want ErrInvalid", err)
	}
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t, "crm.db")
	s, err := sqlite.Open(ctx, path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	// Writers racing Close: each call either wrote (and it is there
	// after reopening) or failed with ErrClosed.
	var wg sync.WaitGroup
	var mu sync.Mutex
	written := map[string]bool{}
	start := make(chan struct{})
	for g := range 16 {
		wg.Go(func() {
			<-start
			for i := 0; ; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				_, err := s.LogInteraction(ctx, interaction(fmt.Sprintf("v%d", g), id, "hi"))
				if errors.Is(err, sqlite.ErrClosed) {
					return
				} else if err != nil {
					t.Errorf("LogInteraction %s: %v", id, err)
					return
				}
				mu.Lock()
				written[id] = true
				mu.Unlock()
			}
		})
	}
	close(start)
	for s.WriteStats().Writes < 200 {
		// Let the writers get going; each round trip takes a commit.
		if _, err := s.Customers(ctx, 0, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.LogInteraction(ctx, interaction("v", "late", "hi")); !errors.Is(err, sqlite.ErrClosed) {
		t.Errorf("LogInteraction after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Customers(ctx, 0, 0); !errors.Is(err, sqlite.ErrClosed) {
		t.Errorf("Customers after Close = %v, want ErrClosed", err)
	}
	// Close folded the WAL into the file.
	if st, err := os.Stat(path + "-wal"); err == nil && st.Size() > 0 {
		t.Errorf("WAL after Close is %d bytes, want it checkpointed away", st.Size())
	}
	db := rawDB(t, path)
	if got := queryInt(t, db, `SELECT COUNT(*) FROM messages WHERE direction = 'in'`); got != len(written) {
		t.Errorf("%d customer messages after Close, want the %d calls that returned", got, len(written))
	}
}

// Many goroutines, each its own conversation, some of whose calls fail:
// a failure is its caller's alone.
func TestConcurrentFailuresIsolated(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, dbPath(t, "crm.db"), quiet)
	if _, err := s.LogInteraction(ctx, interaction("seed", "taken", "hi")); err != nil {
		t.Fatal(err)
	}
	const workers, per = 64, 30
	var wg sync.WaitGroup
	errs := make(chan error, workers*per)
	for g := range workers {
		wg.Go(func() {
			for i := range per {
				in := interaction(fmt.Sprintf("v%d", g), fmt.Sprintf("g%d-%d", g, i), "hello")
				bad := i%10 == 3
				if bad {
					// A reply with a channel id that exists: ErrConflict.
					in.Replies = []crm.Message{{Direction: crm.FromBot, Text: "x", ChannelMsgID: "taken"}}
				}
				_, err := s.LogInteraction(ctx, in)
				switch {
				case bad && !errors.Is(err, crm.ErrConflict):
					errs <- fmt.Errorf("worker %d call %d: got %v, want ErrConflict", g, i, err)
				case !bad && err != nil:
					errs <- fmt.Errorf("worker %d call %d: %w", g, i, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := s.WriteStats()
	t.Logf("write stats: %+v (mean batch %.1f)", st, float64(st.Writes)/float64(st.Batches))
	if st.Failed != workers*per/10 {
		t.Errorf("%d failed writes, want %d", st.Failed, workers*per/10)
	}
	for g := range workers {
		c, err := s.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDWebVisitor, Value: fmt.Sprintf("v%d", g)})
		if err != nil {
			t.Fatal(err)
		}
		convs, err := s.Conversations(ctx, crm.ConversationFilter{CustomerID: c.ID})
		if err != nil || len(convs) != 1 {
			t.Fatalf("worker %d conversations %+v, %v", g, convs, err)
		}
		msgs, err := s.Messages(ctx, convs[0].ID)
		if want := 2 * (per - per/10); err != nil || len(msgs) != want {
			t.Errorf("worker %d: %d messages, %v; want %d", g, len(msgs), err, want)
		}
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
}

// 64 goroutines log at once, each its own conversation, while others
// read: no call may fail (no SQLITE_BUSY, no lost write).
func TestConcurrent64(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, dbPath(t, "crm.db"), quiet, sqlite.WithCheckpointInterval(10*time.Millisecond))
	const workers, per = 64, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers+4)
	stop := make(chan struct{})
	for g := range workers {
		wg.Go(func() {
			for i := range per {
				if _, err := s.LogInteraction(ctx, interaction(fmt.Sprintf("v%d", g), fmt.Sprintf("g%d-%d", g, i), "hello")); err != nil {
					errs <- fmt.Errorf("writer %d call %d: %w", g, i, err)
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	for r := range 4 {
		readers.Go(func() {
			tick := time.NewTicker(10 * time.Millisecond) // a console's pace, not a busy loop
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				var err error
				switch r {
				case 0:
					_, err = s.Conversations(ctx, crm.ConversationFilter{})
				case 1:
					_, err = s.InboxMessages(ctx, crm.MessageFilter{Limit: 50})
				case 2:
					_, err = s.ListStaff(ctx)
				case 3:
					_, err = s.Customers(ctx, 0, 0)
				}
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	db := rawDB(t, s.Path())
	if got := queryInt(t, db, `SELECT COUNT(*) FROM messages`); got != 2*workers*per {
		t.Errorf("%d messages, want %d", got, 2*workers*per)
	}
	if got := queryInt(t, db, `SELECT COUNT(*) FROM conversations`); got != workers {
		t.Errorf("%d conversations, want %d", got, workers)
	}
}

// Under steady writes the WAL is checkpointed and restarted, so it does
// not grow with everything ever written.
func TestWALBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("short: writes some 90 MB of WAL")
	}
	ctx := context.Background()
	path := dbPath(t, "crm.db")
	s := MustOpen(t, path, quiet, sqlite.WithCheckpointInterval(5*time.Millisecond))
	const n = 2000 // one commit each: about 45 KiB of WAL apiece, 90 MB in all
	for i := range n {
		if _, err := s.LogInteraction(ctx, interaction(fmt.Sprintf("v%d", i%64), fmt.Sprintf("m%d", i), "hello")); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 48<<20 {
		t.Errorf("WAL is %d MiB after %d single commits: checkpoints do not let it restart", st.Size()>>20, n)
	}
	t.Logf("WAL after %d commits: %d KiB", n, st.Size()>>10)
}
