package sqlite_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
	"github.com/parley-chat/parley/crm/sqlite"
)

func TestChannelRedaction(t *testing.T) {
	path := dbPath(t, "crm.db")
	s := MustOpen(t, path, quiet, sqlite.WithRedactor(crm.Redact),
		sqlite.WithChannelRedactor(crm.ChannelWeb, crm.NewRedactor(crm.PIIEmail).Redact),
		sqlite.WithChannelRedactor(crm.ChannelSlack, nil))
	crmtest.ChannelRedaction(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// On disk: the Slack conversation holds the address as written (its
	// channel redacts nothing), and nothing else does.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("jo@example.com")); n == 0 {
		t.Errorf("the file does not hold the Slack message's address; want it kept as written")
	}
	db := rawDB(t, path)
	if n := queryInt(t, db, `SELECT COUNT(*) FROM messages WHERE text LIKE '%jo@example.com%' AND channel <> 'slack'`); n != 0 {
		t.Errorf("%d web or API messages hold the address, want 0", n)
	}
}

// oldHistory logs n interactions (a customer message with an email and a
// reply each) at the clock's time, every customer its own conversation
// with a slot, a label on every fifth message and a sent outbox item per
// interaction.
func oldHistory(t *testing.T, s *sqlite.Store, prefix string, n int) []crm.Logged {
	t.Helper()
	ctx := context.Background()
	var out []crm.Logged
	for i := range n {
		in := interaction(fmt.Sprintf("%s%d", prefix, i), fmt.Sprintf("%s-m%d", prefix, i), fmt.Sprintf("I am user%d@example.com", i))
		in.State, in.Slots = crm.StateBot, map[string]string{"email": fmt.Sprintf("user%d@example.com", i)}
		l, err := s.LogInteraction(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
		if i%5 == 0 {
			if _, err := s.AddLabel(ctx, crm.Label{MessageID: l.MessageID, Intent: "contact"}); err != nil {
				t.Fatal(err)
			}
		}
		it, _, err := s.EnqueueOutbox(ctx, crm.OutboxItem{Key: fmt.Sprintf("%s-out%d", prefix, i), Channel: crm.ChannelWeb,
			ConversationID: l.ConversationID, Payload: []byte(`{"text":"user@example.com"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.OutboxSent(ctx, it.ID, "ok", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// A purge larger than a batch takes several transactions and finishes.
func TestExpireInBatches(t *testing.T) {
	ctx := context.Background()
	clock := crmtest.NewClock(crmtest.T0)
	path := dbPath(t, "crm.db")
	s := MustOpen(t, path, quiet, sqlite.WithClock(clock.Now), sqlite.WithExpireBatch(7))
	oldHistory(t, s, "v", 40)
	clock.Advance(48 * time.Hour)
	fresh, err := s.LogInteraction(ctx, interaction("new", "new-1", "mail new@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	r := crm.Retention{Before: crmtest.T0.Add(24 * time.Hour), Mode: crm.ExpireDelete}
	dry, err := s.ExpireMessages(ctx, crm.Retention{Before: r.Before, Mode: r.Mode, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ExpireMessages(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	want := crm.Expired{Messages: 80, Labels: 8, Conversations: 40, Outbox: 40}
	if dry != want {
		t.Errorf("dry run = %+v, want %+v", dry, want)
	}
	// 80 messages in 12 batches, 40 conversations in 6, 40 items in 6;
	// more if a batch ran out of time (a busy machine).
	if got.Batches < 24 || got.LongestBatch <= 0 {
		t.Errorf("run took %d batches (longest %v), want at least 24", got.Batches, got.LongestBatch)
	}
	got.Batches, got.LongestBatch = 0, 0
	if got != want {
		t.Errorf("run = %+v, want %+v", got, want)
	}
	if again, err := s.ExpireMessages(ctx, r); err != nil || again != (crm.Expired{}) {
		t.Errorf("second run = %+v, %v; want nothing to do", again, err)
	}
	if msgs, _ := s.Messages(ctx, fresh.ConversationID); msgs[0].Text != "mail new@example.com" || msgs[0].Expired != "" {
		t.Errorf("a message after the cut-off = %+v, want it kept", msgs[0])
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The old words are gone from the file, free space included
	// (secure_delete), not only from what the store returns.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{"user0@example.com", "user39@example.com", "I am user"} {
		if bytes.Contains(b, []byte(old)) {
			t.Errorf("the database file still holds %q after the purge", old)
		}
	}
	if !bytes.Contains(b, []byte("new@example.com")) {
		t.Errorf("the database file lost the message after the cut-off")
	}
}

// Two runs at once (a `parley retain` beside the server's job) and live
// traffic: every old message is expired exactly once, nothing new is.
func TestExpireConcurrentRuns(t *testing.T) {
	ctx := context.Background()
	clock := crmtest.NewClock(crmtest.T0)
	s := MustOpen(t, dbPath(t, "crm.db"), quiet, sqlite.WithClock(clock.Now), sqlite.WithExpireBatch(5))
	oldHistory(t, s, "v", 30)
	clock.Advance(48 * time.Hour)
	r := crm.Retention{Before: crmtest.T0.Add(24 * time.Hour), Mode: crm.ExpireRedact}
	var wg sync.WaitGroup
	results := make([]crm.Expired, 2)
	errs := make([]error, 3)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = s.ExpireMessages(ctx, r) })
	}
	wg.Go(func() {
		for i := range 40 {
			if _, err := s.LogInteraction(ctx, interaction(fmt.Sprintf("live%d", i), fmt.Sprintf("live-%d", i), "I am live@example.com")); err != nil {
				errs[2] = err
				return
			}
		}
	})
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
	var total crm.Expired
	for _, x := range results {
		total.Add(x)
	}
	if total.Messages != 60 || total.Conversations != 30 || total.Outbox != 30 {
		t.Errorf("two concurrent runs expired %+v in all, want 60 messages, 30 conversations, 30 outbox items once each", total)
	}
	inbox, err := s.InboxMessages(ctx, crm.MessageFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var live, masked int
	for _, m := range inbox {
		switch {
		case m.Expired == "" && m.Text == "I am live@example.com":
			live++
		case m.Expired == crm.ExpireRedact && m.Text == "I am [email]":
			masked++
		default:
			t.Errorf("unexpected message after the runs: %+v", m)
		}
	}
	if live != 40 || masked != 30 {
		t.Errorf("after the runs: %d live and %d masked customer messages, want 40 and 30", live, masked)
	}
}

// A database at schema version 2 (before retention) migrates: its
// messages are kept, unexpired, and can be expired.
func TestMigrateFromVersion2(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t, "v2.db")
	db := rawDB(t, path)
	stmts := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`}
	for i, f := range []string{"0001_init.sql", "0002_outbox.sql"} {
		b, err := os.ReadFile("migrations/" + f)
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, string(b), fmt.Sprintf(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, '%s', 0)`, i+1, f))
	}
	stmts = append(stmts,
		`INSERT INTO customers (id, name, created_at) VALUES (1, 'Ann', 0)`,
		`INSERT INTO conversations (id, customer_id, channel, state, created_at, updated_at) VALUES (5, 1, 'webchat', 'bot', 0, 0)`,
		`INSERT INTO messages (id, conversation_id, direction, channel, text, intent, created_at) VALUES (9, 5, 'in', 'webchat', 'I am ann@example.com', 'contact', 0)`)
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("set up a version 2 database: %v", err)
		}
	}
	db.Close()

	s := MustOpen(t, path, quiet)
	msgs, err := s.Messages(ctx, 5)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "I am ann@example.com" || msgs[0].Expired != "" {
		t.Fatalf("message from version 2 = %+v, %v", msgs, err)
	}
	got, err := s.ExpireMessages(ctx, crm.Retention{Before: time.Unix(1, 0), Mode: crm.ExpireRedact})
	if err != nil || got.Messages != 1 {
		t.Fatalf("ExpireMessages on a migrated database = %+v, %v", got, err)
	}
	if msgs, _ := s.Messages(ctx, 5); msgs[0].Text != "I am [email]" || msgs[0].Intent != "contact" {
		t.Errorf("migrated message after retention = %+v", msgs[0])
	}
}
