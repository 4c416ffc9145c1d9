package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/parley-chat/parley/crm"
)

// DefaultExpireBatch is how many rows one retention transaction changes
// at most. A batch of 500 messages is about 10 ms of CPU to delete, 17 ms
// to redact (BENCHMARKS.md).
const DefaultExpireBatch = 500

// Retention shares the writer with live traffic. A batch stops early
// once it has held the writer for expireBudget (on a busy machine 500
// rows can take far longer than their CPU time). Before each batch
// retention waits, up to expireYield, while other writes are queued, so
// that they commit on their own instead of behind a batch; and after a
// batch during which others wrote, it leaves the writer to them for as
// long as the batch held it (up to expireYield), so that a purge takes
// at most about half the writer's time from live traffic and all of it
// from none.
const (
	expireBudget = 20 * time.Millisecond
	expireYield  = 100 * time.Millisecond
)

// WithExpireBatch sets how many rows one retention transaction changes
// (default DefaultExpireBatch).
func WithExpireBatch(n int) Option { return func(o *options) { o.expireBatch = n } }

// ExpireMessages implements crm.Store.
//
// Each batch is read on a reader, its new texts computed on the caller's
// goroutine, and only the UPDATEs go to the writer, as one request: the
// writer runs other callers' writes between two batches. The updates are
// guarded by the level read, so a message another run expired meanwhile
// (a `parley retain` beside the server) is left alone and not counted
// twice. Labels are read inside the write: AddLabel copies a message's
// text in its own write, and one that came between the read and the
// write must be masked too.
func (s *Store) ExpireMessages(ctx context.Context, r crm.Retention) (crm.Expired, error) {
	if err := r.Validate(); err != nil {
		return crm.Expired{}, fmt.Errorf("expire messages: %w", err)
	}
	if r.DryRun {
		out, err := s.countExpirable(ctx, r)
		if err != nil {
			return crm.Expired{}, fmt.Errorf("expire messages (dry run): %w", err)
		}
		return out, nil
	}
	var out crm.Expired
	at := s.now().UTC()
	for level := 0; level < r.Mode.Level(); level++ {
		if err := s.expireLevel(ctx, r, level, at, &out); err != nil {
			return out, fmt.Errorf("expire messages: %w", err)
		}
	}
	if err := s.dropIdleSlots(ctx, r.Before, &out); err != nil {
		return out, fmt.Errorf("expire messages: conversation slots: %w", err)
	}
	if err := s.deleteOldOutbox(ctx, r.Before, &out); err != nil {
		return out, fmt.Errorf("expire messages: outbox: %w", err)
	}
	return out, nil
}

// timedWrite is s.write counted as one retention batch. The batch runs
// with secure_delete fully on: the writer's usual FAST mode zeroes what
// is deleted within b-tree pages but not the overflow pages a long text
// frees, whose old words would otherwise stay in the file's free list.
func (s *Store) timedWrite(ctx context.Context, out *crm.Expired, fn func(*dbtx) error) error {
	for waited := time.Duration(0); s.stats.queued.Load() > 0 && waited < expireYield; waited += time.Millisecond {
		time.Sleep(time.Millisecond)
	}
	start, writes := time.Now(), s.stats.writes.Load()
	err := s.write(ctx, func(t *dbtx) (err error) {
		if _, err := t.exec(`PRAGMA secure_delete = 1`); err != nil {
			return fmt.Errorf("secure_delete: %w", err)
		}
		defer func() {
			if _, rerr := t.exec(`PRAGMA secure_delete = FAST`); rerr != nil && err == nil {
				err = fmt.Errorf("secure_delete: %w", rerr)
			}
		}()
		return fn(t)
	})
	held := time.Since(start)
	out.Batches++
	out.LongestBatch = max(out.LongestBatch, held)
	if err == nil && s.stats.writes.Load()-writes > 1 {
		pause := time.NewTimer(min(held, expireYield))
		defer pause.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-pause.C:
		}
	}
	return err
}

// expiring is one message of a batch with what retention makes of it.
type expiring struct {
	id         int64
	created    int64
	level      int // after: a redaction can end up deleting (crm.Message.Expire)
	text, ents any
}

const expireBatchSQL = `SELECT id, direction, text, entities, created_at FROM messages
	WHERE expiry = ?1 AND created_at < ?2 AND (created_at, id) > (?3, ?4)
	ORDER BY created_at, id LIMIT ?5`

// expireLevel expires, batch by batch, the messages at level created
// before the cut-off. The batches walk messages_expiry in order; the
// (created_at, id) cursor guarantees progress even if a row failed to
// change.
func (s *Store) expireLevel(ctx context.Context, r crm.Retention, level int, at time.Time, out *crm.Expired) error {
	cursorAt, cursorID := int64(math.MinInt64), int64(0)
	for {
		var batch []expiring
		err := s.read(ctx, func(t *dbtx) error {
			rows, err := t.query(expireBatchSQL, level, unixNano(r.Before), cursorAt, cursorID, s.expireBatch)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var m crm.Message
				var ents sql.NullString
				var created int64
				if err := rows.Scan(&m.ID, &m.Direction, &m.Text, &ents, &created); err != nil {
					return err
				}
				if err := decodeJSON("entities", ents, &m.Entities); err != nil {
					return fmt.Errorf("message %d: %w", m.ID, err)
				}
				m.Expired = crm.ModeOfLevel(level)
				x, _ := m.Expire(r.Mode, at)
				e := expiring{id: m.ID, created: created, level: x.Expired.Level(), text: x.Text}
				if e.ents, err = encodeJSON(x.Entities); err != nil {
					return fmt.Errorf("message %d: entities: %w", m.ID, err)
				}
				batch = append(batch, e)
			}
			return rows.Err()
		})
		if err != nil {
			return fmt.Errorf("read messages to expire: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		var msgs, labels, taken int
		err = s.timedWrite(ctx, out, func(t *dbtx) error {
			var done []int64
			start := time.Now()
			for taken = 0; taken < len(batch) && (taken == 0 || time.Since(start) < expireBudget); taken++ {
				e := batch[taken]
				res, err := t.exec(`UPDATE messages SET text = ?, entities = ?, expiry = ?, expired_at = ? WHERE id = ? AND expiry = ?`,
					e.text, e.ents, e.level, unixNano(at), e.id, level)
				if err != nil {
					return fmt.Errorf("expire message %d: %w", e.id, err)
				}
				if n, err := res.RowsAffected(); err != nil || n == 0 {
					continue // expired by someone else meanwhile
				}
				done = append(done, e.id)
			}
			n, err := maskLabels(t, done)
			msgs, labels = len(done), n
			return err
		})
		if err != nil {
			return err
		}
		out.Messages += msgs
		out.Labels += labels
		last := batch[taken-1]
		cursorAt, cursorID = last.created, last.id
		if taken == len(batch) && len(batch) < s.expireBatch {
			return nil
		}
	}
}

// maskLabels masks the texts of the messages' labels
// (crm.ExpireLabelText) and returns how many they have. The ids go in
// as one JSON array, so that one statement (prepared once) finds the
// labels of a whole batch.
func maskLabels(t *dbtx, messageIDs []int64) (int, error) {
	if len(messageIDs) == 0 {
		return 0, nil
	}
	ids, err := encodeJSON(messageIDs)
	if err != nil {
		return 0, err
	}
	type label struct {
		id   int64
		text string
	}
	labels, err := queryAll(t, func(sc scanner) (label, error) {
		var l label
		return l, sc.Scan(&l.id, &l.text)
	}, labelsOfMessagesSQL, ids)
	if err != nil {
		return 0, fmt.Errorf("labels of expired messages: %w", err)
	}
	for _, l := range labels {
		if masked := crm.ExpireLabelText(l.text); masked != l.text {
			if _, err := t.exec(`UPDATE labels SET text = ? WHERE id = ?`, masked, l.id); err != nil {
				return 0, fmt.Errorf("mask label %d: %w", l.id, err)
			}
		}
	}
	return len(labels), nil
}

const labelsOfMessagesSQL = `SELECT id, text FROM labels WHERE message_id IN (SELECT value FROM json_each(?))`

const idleSlotsSQL = `SELECT id, updated_at FROM conversations
	WHERE updated_at < ?1 AND slots IS NOT NULL AND (updated_at, id) > (?2, ?3)
	ORDER BY updated_at, id LIMIT ?4`

// dropIdleSlots clears the slots of conversations not updated since
// before the cut-off. It walks conversations_updated over every such
// conversation, slots or not, on a reader: conversations are far fewer
// than messages, and the writer sees only the ones that change.
func (s *Store) dropIdleSlots(ctx context.Context, before time.Time, out *crm.Expired) error {
	cursorAt, cursorID := int64(math.MinInt64), int64(0)
	for {
		type conv struct{ id, updated int64 }
		var batch []conv
		err := s.read(ctx, func(t *dbtx) error {
			var err error
			batch, err = queryAll(t, func(sc scanner) (conv, error) {
				var c conv
				return c, sc.Scan(&c.id, &c.updated)
			}, idleSlotsSQL, unixNano(before), cursorAt, cursorID, s.expireBatch)
			return err
		})
		if err != nil || len(batch) == 0 {
			return err
		}
		var n, taken int
		err = s.timedWrite(ctx, out, func(t *dbtx) error {
			n = 0
			start := time.Now()
			for taken = 0; taken < len(batch) && (taken == 0 || time.Since(start) < expireBudget); taken++ {
				c := batch[taken]
				// The conversation may have come back to life since the read.
				res, err := t.exec(`UPDATE conversations SET slots = NULL WHERE id = ? AND updated_at < ? AND slots IS NOT NULL`,
					c.id, unixNano(before))
				if err != nil {
					return fmt.Errorf("conversation %d: %w", c.id, err)
				}
				if k, err := res.RowsAffected(); err == nil {
					n += int(k)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		out.Conversations += n
		last := batch[taken-1]
		cursorAt, cursorID = last.updated, last.id
		if taken == len(batch) && len(batch) < s.expireBatch {
			return nil
		}
	}
}

// outboxChannelsSQL lists the outbox's channels with one index seek
// each (a loose index scan of outbox_due), so that the old items can be
// found through the index without a list of channels kept here.
const outboxChannelsSQL = `WITH RECURSIVE ch(c) AS (
		SELECT (SELECT MIN(channel) FROM outbox)
		UNION ALL
		SELECT (SELECT MIN(channel) FROM outbox WHERE channel > ch.c) FROM ch WHERE ch.c IS NOT NULL)
	SELECT c FROM ch WHERE c IS NOT NULL`

// oldOutboxSQL finds a channel's done items whose NextAt (the last
// attempt, or the claim that led to it) and CreatedAt are before the
// cut-off, through outbox_due.
const oldOutboxSQL = `SELECT id FROM outbox
	WHERE channel = ?1 AND state IN ('sent', 'failed') AND next_at < ?2 AND created_at < ?2 LIMIT ?3`

// deleteOldOutbox deletes delivered and failed outbox items from before
// the cut-off: their payloads are copies of messages (and of staff
// summaries quoting them) in transit, and once delivered they are
// plumbing, not a record. Pending items stay: they are still owed.
func (s *Store) deleteOldOutbox(ctx context.Context, before time.Time, out *crm.Expired) error {
	var channels []string
	err := s.read(ctx, func(t *dbtx) error {
		var err error
		channels, err = queryAll(t, func(sc scanner) (string, error) {
			var c string
			return c, sc.Scan(&c)
		}, outboxChannelsSQL)
		return err
	})
	if err != nil {
		return err
	}
	for _, ch := range channels {
		for {
			var ids []int64
			err := s.read(ctx, func(t *dbtx) error {
				var err error
				ids, err = queryAll(t, func(sc scanner) (int64, error) {
					var id int64
					return id, sc.Scan(&id)
				}, oldOutboxSQL, ch, unixNano(before), s.expireBatch)
				return err
			})
			if err != nil || len(ids) == 0 {
				if err != nil {
					return err
				}
				break
			}
			var n, taken int
			err = s.timedWrite(ctx, out, func(t *dbtx) error {
				n = 0
				start := time.Now()
				for taken = 0; taken < len(ids) && (taken == 0 || time.Since(start) < expireBudget); taken++ {
					id := ids[taken]
					// Done items never change state again; the guard is for a
					// future that lets them.
					res, err := t.exec(`DELETE FROM outbox WHERE id = ? AND state IN ('sent', 'failed')`, id)
					if err != nil {
						return fmt.Errorf("delete outbox item %d: %w", id, err)
					}
					if k, err := res.RowsAffected(); err == nil {
						n += int(k)
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			out.Outbox += n
			if n == 0 || taken == len(ids) && len(ids) < s.expireBatch {
				break
			}
		}
	}
	return nil
}

// countExpirable counts, in one snapshot, what ExpireMessages would
// change.
func (s *Store) countExpirable(ctx context.Context, r crm.Retention) (crm.Expired, error) {
	var out crm.Expired
	before := unixNano(r.Before)
	err := s.read(ctx, func(t *dbtx) error {
		for level := 0; level < r.Mode.Level(); level++ {
			var msgs, labels int
			if err := t.queryRow(`SELECT COUNT(*) FROM messages WHERE expiry = ? AND created_at < ?`,
				[]any{level, before}, &msgs); err != nil {
				return fmt.Errorf("count messages: %w", err)
			}
			if err := t.queryRow(`SELECT COUNT(*) FROM messages m JOIN labels l ON l.message_id = m.id
				WHERE m.expiry = ? AND m.created_at < ?`, []any{level, before}, &labels); err != nil {
				return fmt.Errorf("count labels: %w", err)
			}
			out.Messages += msgs
			out.Labels += labels
		}
		if err := t.queryRow(`SELECT COUNT(*) FROM conversations WHERE updated_at < ? AND slots IS NOT NULL`,
			[]any{before}, &out.Conversations); err != nil {
			return fmt.Errorf("count conversations: %w", err)
		}
		channels, err := queryAll(t, func(sc scanner) (string, error) {
			var c string
			return c, sc.Scan(&c)
		}, outboxChannelsSQL)
		if err != nil {
			return fmt.Errorf("outbox channels: %w", err)
		}
		for _, ch := range channels {
			var n int
			if err := t.queryRow(`SELECT COUNT(*) FROM outbox WHERE channel = ?1 AND state IN ('sent', 'failed')
				AND next_at < ?2 AND created_at < ?2`, []any{ch, before}, &n); err != nil {
				return fmt.Errorf("count outbox items: %w", err)
			}
			out.Outbox += n
		}
		return nil
	})
	return out, err
}
