package sqlite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
)

func openTest(t *testing.T, opts ...Option) *Store {
	t.Helper()
	opts = append([]Option{WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "crm.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Every pooled connection has its pragmas: they come from the DSN.
func TestPragmasOnEveryConnection(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, WithReadConns(3))
	// Hold all three reader connections at once, so each is a different one.
	for i := range 3 {
		c, err := s.r.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for name, want := range map[string]string{"foreign_keys": "1", "query_only": "1", "busy_timeout": "10000",
			"synchronous": "1", "journal_mode": "wal"} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+name).Scan(&got); err != nil {
				t.Fatalf("reader %d PRAGMA %s: %v", i, name, err)
			}
			if got != want {
				t.Errorf("reader %d: PRAGMA %s = %s, want %s", i, name, got, want)
			}
		}
	}
	// The writer's, asked through the writer goroutine.
	err := s.write(ctx, func(t2 *dbtx) error {
		for name, want := range map[string]string{"foreign_keys": "1", "query_only": "0", "synchronous": "1",
			"wal_autocheckpoint": "0", "temp_store": "2", "secure_delete": "2"} {
			var got string
			if err := t2.queryRow("PRAGMA "+name, nil, &got); err != nil {
				return err
			}
			if got != want {
				t.Errorf("writer: PRAGMA %s = %s, want %s", name, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The queries the Store makes use indexes: none scans a whole table
// that grows with the traffic.
func TestQueryPlans(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	// small names queries that sort what one customer or message has,
	// a handful of rows: a temporary b-tree is fine there.
	// The due outbox sorts the channel's due items by id: outbox_due finds
	// them by next_at, which keeps a backlog of items backing off out of
	// the scan.
	small := map[string]bool{"replies": true, "customer's conversations": true, "labels of a customer": true,
		"due outbox": true}
	queries := []struct {
		name  string
		query string
		args  []any
	}{
		{"lookup", lookupSQL, []any{"webchat", "m1", "web_visitor", "v1", 0, "r"}},
		{"lookup by id", lookupSQL, []any{"webchat", "m1", "web_visitor", "v1", 7, "r"}},
		{"replies", `SELECT ` + messageCols + ` FROM messages WHERE reply_to = ? ORDER BY created_at, id`, []any{1}},
		{"escalation of message", `SELECT id FROM escalations WHERE message_id = ?`, []any{1}},
		{"messages", `SELECT ` + messageCols + ` FROM messages WHERE conversation_id = ? ORDER BY created_at, id`, []any{1}},
		{"message by channel id", `SELECT ` + messageCols + ` FROM messages WHERE channel = ? AND channel_msg_id = ?`, []any{"webchat", "x"}},
		{"inbox", `SELECT ` + messageCols + ` FROM messages WHERE direction = 'in' AND created_at >= ? ORDER BY created_at DESC, id DESC LIMIT ?`, []any{0, 100}},
		{"conversations", `SELECT ` + conversationCols + ` FROM conversations ORDER BY updated_at DESC, id DESC LIMIT ?`, []any{100}},
		{"waiting conversations", `SELECT ` + conversationCols + ` FROM conversations WHERE state IN (?,?) AND state IN ('escalated', 'assigned') ORDER BY updated_at DESC, id DESC LIMIT ?`, []any{"escalated", "assigned", 100}},
		{"assignee's conversations", `SELECT ` + conversationCols + ` FROM conversations WHERE assignee_id = ? ORDER BY updated_at DESC, id DESC LIMIT ?`, []any{1, 100}},
		{"customer's conversations", `SELECT ` + conversationCols + ` FROM conversations WHERE customer_id = ? ORDER BY id`, []any{1}},
		{"escalations", `SELECT ` + escalationCols + ` FROM escalations WHERE conversation_id = ? ORDER BY id`, []any{1}},
		{"open escalation", `SELECT ` + escalationCols + ` FROM escalations WHERE conversation_id = ? AND status <> 'resolved'`, []any{1}},
		{"customer", `SELECT ` + customerCols + customerFrom + ` WHERE c.id = ?`, []any{1}},
		{"customers", `SELECT ` + customerCols + customerFrom + ` WHERE c.id > ? ORDER BY c.id LIMIT ?`, []any{0, 100}},
		{"external ids", `SELECT customer_id, kind, value FROM external_ids WHERE customer_id BETWEEN ? AND ? ORDER BY customer_id, id`, []any{1, 100}},
		{"orders", `SELECT ` + orderCols + ` FROM orders WHERE customer_id = ? ORDER BY created_at, id`, []any{1}},
		{"orders between", `SELECT customer_id, COUNT(*) FROM orders WHERE created_at >= ? AND created_at < ? GROUP BY customer_id`, []any{0, 1}},
		{"staff by email", `SELECT ` + staffCols + ` FROM staff WHERE email_key = ?`, []any{"a@b.c"}},
		{"session", `SELECT token_hash FROM sessions WHERE token_hash = ? AND expires_at > ?`, []any{"t", 0}},
		{"labels", `SELECT ` + labelCols + ` FROM labels l ORDER BY l.created_at, l.id`, nil},
		{"labels of a customer", `SELECT ` + labelCols + ` FROM labels l JOIN messages m ON m.id = l.message_id JOIN conversations c ON c.id = m.conversation_id WHERE c.customer_id = ? ORDER BY l.created_at, l.id`, []any{1}},
		{"model versions", `SELECT ` + modelCols + ` FROM model_versions WHERE kind = ? ORDER BY created_at DESC, id DESC`, []any{"intent"}},
		{"active model", `SELECT ` + modelCols + `, artifact FROM model_versions WHERE kind = ? AND active = 1`, []any{"intent"}},
		{"cascade: replies", `DELETE FROM messages WHERE reply_to = ?`, []any{1}},
		{"cascade: labels", `DELETE FROM labels WHERE message_id = ?`, []any{1}},
		{"cascade: escalation message", `UPDATE escalations SET message_id = NULL WHERE message_id = ?`, []any{1}},
		{"cascade: conversations", `DELETE FROM conversations WHERE customer_id = ?`, []any{1}},
		{"cascade: external ids", `DELETE FROM external_ids WHERE customer_id = ?`, []any{1}},
		{"cascade: orders", `DELETE FROM orders WHERE customer_id = ?`, []any{1}},
		{"cascade: sessions", `DELETE FROM sessions WHERE staff_id = ?`, []any{1}},
		{"due outbox", dueOutboxSQL, []any{"slack", 0, 100}},
		{"outbox by key", `SELECT ` + outboxCols + ` FROM outbox WHERE key = ?`, []any{"k"}},
		{"outbox depth", `SELECT COUNT(*) FROM outbox WHERE channel = ? AND state = 'pending'`, []any{"slack"}},
		{"outbox item state", `SELECT state FROM outbox WHERE id = ?`, []any{1}},
		{"outbox update", `UPDATE outbox SET state = 'sent' WHERE id = ? AND state = 'pending'`, []any{1}},
		{"conversation by link", `SELECT conversation_id FROM conversation_links WHERE kind = ? AND value = ?`, []any{"k", "v"}},
		{"conversation links", `SELECT kind, value FROM conversation_links WHERE conversation_id = ?`, []any{1}},
		{"cascade: outbox", `DELETE FROM outbox WHERE conversation_id = ?`, []any{1}},
		{"cascade: links", `DELETE FROM conversation_links WHERE conversation_id = ?`, []any{1}},
		{"retention: messages", expireBatchSQL, []any{0, 1, 0, 0, 500}},
		{"retention: update message", `UPDATE messages SET text = '', expiry = 2 WHERE id = ? AND expiry = ?`, []any{1, 0}},
		{"retention: labels of messages", labelsOfMessagesSQL, []any{"[1,2]"}},
		{"retention: count messages", `SELECT COUNT(*) FROM messages WHERE expiry = ? AND created_at < ?`, []any{0, 1}},
		{"retention: count labels", `SELECT COUNT(*) FROM messages m JOIN labels l ON l.message_id = m.id WHERE m.expiry = ? AND m.created_at < ?`, []any{0, 1}},
		{"retention: idle slots", idleSlotsSQL, []any{1, 0, 0, 500}},
		{"retention: count slots", `SELECT COUNT(*) FROM conversations WHERE updated_at < ? AND slots IS NOT NULL`, []any{1}},
		{"retention: outbox channels", outboxChannelsSQL, nil},
		{"retention: old outbox", oldOutboxSQL, []any{"slack", 1, 500}},
	}
	err := s.read(ctx, func(t2 *dbtx) error {
		for _, q := range queries {
			rows, err := t2.tx.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.query, q.args...)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					return err
				}
				plan = append(plan, detail)
			}
			rows.Close()
			for _, step := range plan {
				// lookupSQL's one-row table "one" is the only scan allowed,
				// with the outbox channels' recursive CTE "ch" (a row per
				// channel) and json_each over a statement's list argument.
				scan := strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, "USING")
				if scan && step != "SCAN one" && step != "SCAN CONSTANT ROW" && step != "SCAN ch" &&
					!strings.HasPrefix(step, "SCAN json_each VIRTUAL TABLE") {
					t.Errorf("%s scans a table: %s", q.name, strings.Join(plan, "; "))
				}
				// GROUP BY customer sorts the orders of the period.
				if strings.Contains(step, "TEMP B-TREE") && !small[q.name] && !strings.Contains(q.name, "between") {
					t.Errorf("%s sorts in a temporary b-tree: %s", q.name, strings.Join(plan, "; "))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A call canceled while the writer is busy returns ctx.Err() and
// writes nothing.
func TestCanceledWhileWaiting(t *testing.T) {
	s := openTest(t)
	gate, entered := make(chan struct{}), make(chan struct{})
	go s.write(context.Background(), func(*dbtx) error {
		close(entered)
		<-gate // hold the writer
		return nil
	})
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := s.LogInteraction(ctx, crm.Interaction{Channel: crm.ChannelWeb,
			Customer: crm.ExternalID{Kind: crm.IDWebVisitor, Value: "v"},
			Message:  crm.Message{Direction: crm.FromCustomer, Text: "hi"}})
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("LogInteraction canceled while waiting = %v, want context.Canceled", err)
	}
	close(gate)
	if got, err := s.Customers(context.Background(), 0, 0); err != nil || len(got) != 0 {
		t.Errorf("customers after the canceled call = %+v, %v; want none", got, err)
	}
}

// A request that breaks the batch's transaction fails alone; the others
// of its batch run again and commit.
func TestBrokenTransactionRetried(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	gate, entered := make(chan struct{}), make(chan struct{})
	go s.write(ctx, func(*dbtx) error {
		close(entered)
		<-gate
		return nil
	})
	<-entered
	var wg sync.WaitGroup
	results := make([]error, 9)
	for i := range results {
		wg.Go(func() {
			if i == 4 {
				// Ends the transaction under the writer's feet, so its
				// ROLLBACK TO fails.
				results[i] = s.write(ctx, func(t *dbtx) error {
					if _, err := t.exec(`ROLLBACK`); err != nil {
						return err
					}
					return errors.New("broke it")
				})
				return
			}
			_, results[i] = s.FindOrCreateCustomer(ctx, crm.ExternalID{Kind: crm.IDAPI, Value: fmt.Sprint(i)}, "", "")
		})
	}
	// Let the nine queue up behind the gate, then release them together:
	// the writer takes them all into one batch.
	for s.WriteStats().Queued < int64(len(results)) {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	for i, err := range results {
		if i == 4 {
			if err == nil || !strings.Contains(err.Error(), "broke it") {
				t.Errorf("the breaking request returned %v, want its own error", err)
			}
		} else if err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
	got, err := s.Customers(ctx, 0, 0)
	if err != nil || len(got) != 8 {
		t.Errorf("customers = %d, %v; want 8", len(got), err)
	}
	if st := s.WriteStats(); st.Retried < 1 || st.Failed != 1 {
		t.Errorf("write stats %+v: want the batch retried once without the failed request", st)
	}
}

func TestEmbeddedMigrations(t *testing.T) {
	if embeddedErr != nil {
		t.Fatalf("embedded migrations: %v", embeddedErr)
	}
	for i, m := range embedded {
		if m.version != i+1 || !strings.HasSuffix(m.name, ".sql") || strings.TrimSpace(m.sql) == "" {
			t.Errorf("migration %d = %d %q (%d bytes), want version %d", i, m.version, m.name, len(m.sql), i+1)
		}
	}
}
