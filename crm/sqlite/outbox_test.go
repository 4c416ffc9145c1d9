package sqlite_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
	"github.com/parley-chat/parley/crm/sqlite"
)

func outboxItem(key string, convID int64) crm.OutboxItem {
	return crm.OutboxItem{Key: key, Channel: crm.ChannelSlack, ConversationID: convID, Kind: "reply",
		Payload: []byte(`{"channel":"C1","text":"` + key + `"}`)}
}

func dueKeys(t *testing.T, s crm.Store, now time.Time) []string {
	t.Helper()
	items, err := s.DueOutbox(context.Background(), crm.ChannelSlack, now, 0)
	if err != nil {
		t.Fatalf("DueOutbox(%v): %v", now, err)
	}
	out := []string{}
	for _, it := range items {
		out = append(out, it.Key)
	}
	return out
}

func equalKeys(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: due %q, want %q", what, got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s: due %q, want %q", what, got, want)
			return
		}
	}
}

// The outbox resumes after a restart: what was pending is still due,
// with its attempts and backoff, and its keys still deduplicate.
func TestOutboxSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t, "crm.db")
	clock := crmtest.NewClock(crmtest.T0)
	s := MustOpen(t, path, quiet, sqlite.WithClock(clock.Now))
	l, err := s.LogInteraction(ctx, interaction("v1", "m1", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	var r1 crm.OutboxItem
	for _, it := range []crm.OutboxItem{outboxItem("r1", l.ConversationID), outboxItem("r2", l.ConversationID), outboxItem("d1", 0)} {
		got, created, err := s.EnqueueOutbox(ctx, it)
		if err != nil || !created {
			t.Fatalf("EnqueueOutbox(%q) = created %v, %v", it.Key, created, err)
		}
		if it.Key == "r1" {
			r1 = got
		}
	}
	retryAt := crmtest.T0.Add(30 * time.Second)
	if err := s.OutboxRetry(ctx, r1.ID, retryAt, "ratelimited"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetConversationLink(ctx, l.ConversationID, "slack_thread", "C1:1700000000.000100"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = MustOpen(t, path, quiet, sqlite.WithClock(clock.Now))
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	// r1 waits for its retry and holds r2 back.
	equalKeys(t, "after reopening", dueKeys(t, s, crmtest.T0), []string{"d1"})
	got, err := s.OutboxItemByKey(ctx, "r1")
	want := r1
	want.Attempts, want.LastError, want.NextAt = 1, "ratelimited", retryAt
	if err != nil || got.ID != want.ID || got.Attempts != 1 || got.LastError != "ratelimited" || !got.NextAt.Equal(retryAt) ||
		got.State != crm.OutboxPending || string(got.Payload) != string(r1.Payload) {
		t.Errorf("r1 after reopening = %+v, %v; want %+v", got, err, want)
	}
	equalKeys(t, "at the retry time", dueKeys(t, s, retryAt), []string{"r1", "d1"})
	if _, created, err := s.EnqueueOutbox(ctx, outboxItem("r1", l.ConversationID)); err != nil || created {
		t.Errorf("EnqueueOutbox(r1) after reopening = created %v, %v; want the existing item", created, err)
	}
	if err := s.OutboxSent(ctx, r1.ID, "1700000000.000200", time.Time{}); err != nil {
		t.Fatal(err)
	}
	equalKeys(t, "after r1 was sent", dueKeys(t, s, retryAt), []string{"r2", "d1"})
	if n, err := s.OutboxDepth(ctx, crm.ChannelSlack); err != nil || n != 2 {
		t.Errorf("OutboxDepth after reopening = %d, %v; want 2", n, err)
	}
	if id, err := s.ConversationByLink(ctx, "slack_thread", "C1:1700000000.000100"); err != nil || id != l.ConversationID {
		t.Errorf("ConversationByLink after reopening = %d, %v; want %d", id, err, l.ConversationID)
	}
}

// A database at schema version 1 (before the outbox) migrates to the
// current one and keeps its data.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	initSQL, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	path := dbPath(t, "v1.db")
	db := rawDB(t, path)
	for _, q := range []string{
		// As migrate creates it.
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
		string(initSQL),
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, '0001_init.sql', 0)`,
		`INSERT INTO customers (id, name, created_at) VALUES (1, 'Ann', 0)`,
		`INSERT INTO conversations (id, customer_id, channel, state, created_at, updated_at) VALUES (5, 1, 'slack', 'bot', 0, 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("set up a version 1 database: %v", err)
		}
	}
	db.Close()

	s := MustOpen(t, path, quiet)
	var name string
	if err := rawDB(t, path).QueryRow(`SELECT name FROM schema_migrations WHERE version = 2`).Scan(&name); err != nil || name != "0002_outbox.sql" {
		t.Errorf("migration 2 recorded as %q (%v), want 0002_outbox.sql", name, err)
	}
	if c, err := s.Conversation(ctx, 5); err != nil || c.CustomerID != 1 {
		t.Fatalf("conversation from version 1 = %+v, %v", c, err)
	}
	if _, _, err := s.EnqueueOutbox(ctx, outboxItem("r", 5)); err != nil {
		t.Errorf("EnqueueOutbox on a migrated database: %v", err)
	}
	if err := s.SetConversationLink(ctx, 5, "slack_thread", "C1:1"); err != nil {
		t.Errorf("SetConversationLink on a migrated database: %v", err)
	}
	// Erasure cascades into the new tables.
	if err := s.DeleteCustomer(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OutboxItemByKey(ctx, "r"); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("OutboxItemByKey after erasure = %v, want ErrNotFound", err)
	}
	db = rawDB(t, path)
	for _, table := range []string{"outbox", "conversation_links"} {
		if n := queryInt(t, db, `SELECT COUNT(*) FROM `+table); n != 0 {
			t.Errorf("%s holds %d rows after erasure, want 0", table, n)
		}
	}
	if n := queryInt(t, db, `SELECT COUNT(*) FROM pragma_foreign_key_check`); n != 0 {
		t.Errorf("foreign key check found %d violations, want none", n)
	}
}
