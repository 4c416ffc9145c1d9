package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parley-chat/parley/crm"
)

const outboxCols = `id, key, channel, COALESCE(conversation_id, 0), kind, payload, state, attempts, next_at,
	last_error, result, created_at, sent_at`

func scanOutbox(sc scanner) (crm.OutboxItem, error) {
	var (
		it            crm.OutboxItem
		next, created int64
		sent          sql.NullInt64
	)
	if err := sc.Scan(&it.ID, &it.Key, &it.Channel, &it.ConversationID, &it.Kind, &it.Payload, &it.State,
		&it.Attempts, &next, &it.LastError, &it.Result, &created, &sent); err != nil {
		return it, err
	}
	it.NextAt, it.CreatedAt, it.SentAt = fromUnixNano(next), fromUnixNano(created), fromNullTime(sent)
	return it, nil
}

// dueOutboxSQL lists a channel's due items. An item of a conversation
// qualifies only as the conversation's oldest pending item on the
// channel (the subquery, one probe of outbox_conversation), which keeps
// a later reply behind an earlier one waiting for its retry.
const dueOutboxSQL = `SELECT ` + outboxCols + ` FROM outbox
	WHERE channel = ? AND state = 'pending' AND next_at <= ?
	AND (conversation_id IS NULL OR id = (SELECT p.id FROM outbox p
		WHERE p.conversation_id = outbox.conversation_id AND p.channel = outbox.channel AND p.state = 'pending'
		ORDER BY p.id LIMIT 1))
	ORDER BY id LIMIT ?`

// EnqueueOutbox implements crm.Store.
func (s *Store) EnqueueOutbox(ctx context.Context, it crm.OutboxItem) (crm.OutboxItem, bool, error) {
	if err := it.Validate(); err != nil {
		return crm.OutboxItem{}, false, fmt.Errorf("enqueue outbox item: %w", err)
	}
	now := s.now().UTC()
	in := crm.OutboxItem{Key: it.Key, Channel: it.Channel, ConversationID: it.ConversationID, Kind: it.Kind,
		Payload: bytes.Clone(it.Payload), State: crm.OutboxPending, NextAt: now, CreatedAt: now} // the caller may reuse its buffer
	if !it.NextAt.IsZero() {
		in.NextAt = it.NextAt.UTC()
	}
	if !it.CreatedAt.IsZero() {
		in.CreatedAt = it.CreatedAt.UTC()
	}
	var (
		out     crm.OutboxItem
		created bool
	)
	err := s.write(ctx, func(t *dbtx) error {
		created = false
		var err error
		out, err = scanOutbox(t.row(`SELECT `+outboxCols+` FROM outbox WHERE key = ?`, in.Key))
		if err == nil {
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("look up key: %w", err)
		}
		if in.ConversationID != 0 {
			if err := exists(t, `SELECT 1 FROM conversations WHERE id = ?`, in.ConversationID); err != nil {
				return fmt.Errorf("conversation %d: %w", in.ConversationID, err)
			}
		}
		id, err := t.insert(`INSERT INTO outbox (key, channel, conversation_id, kind, payload, state, next_at, created_at)
			VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`, in.Key, string(in.Channel), nullID(in.ConversationID), in.Kind,
			in.Payload, unixNano(in.NextAt), unixNano(in.CreatedAt))
		if err != nil {
			return translate(err)
		}
		out, created = in, true
		out.ID = id
		return nil
	})
	if err != nil {
		return crm.OutboxItem{}, false, fmt.Errorf("enqueue outbox item %q: %w", it.Key, err)
	}
	return out, created, nil
}

// DueOutbox implements crm.Store.
func (s *Store) DueOutbox(ctx context.Context, ch crm.Channel, now time.Time, limit int) ([]crm.OutboxItem, error) {
	if !ch.Valid() {
		return nil, fmt.Errorf("due outbox: %w: channel %q", crm.ErrInvalid, ch)
	}
	n, err := crm.Limit(limit)
	if err != nil {
		return nil, fmt.Errorf("due outbox: %w", err)
	}
	if now.IsZero() {
		now = s.now()
	}
	var out []crm.OutboxItem
	err = s.read(ctx, func(t *dbtx) error {
		var err error
		out, err = queryAll(t, scanOutbox, dueOutboxSQL, string(ch), bound(now), n)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("due outbox of %s: %w", ch, err)
	}
	return out, nil
}

// updatePending runs an UPDATE of the outbox item id (set is its SET
// clause, args its arguments) when the item is pending; otherwise it
// reports crm.ErrNotFound or crm.ErrConflict.
func updatePending(t *dbtx, id int64, set string, args ...any) error {
	res, err := t.exec(`UPDATE outbox SET `+set+` WHERE id = ? AND state = 'pending'`, append(args, id)...)
	if err != nil {
		return translate(err)
	}
	if affected(res) == nil {
		return nil
	}
	var st crm.OutboxState
	err = t.queryRow(`SELECT state FROM outbox WHERE id = ?`, []any{id}, &st)
	if errors.Is(err, sql.ErrNoRows) {
		return crm.ErrNotFound
	} else if err != nil {
		return err
	}
	return fmt.Errorf("%w: the item is %s, not pending", crm.ErrConflict, st)
}

// OutboxSent implements crm.Store.
func (s *Store) OutboxSent(ctx context.Context, id int64, result string, at time.Time) error {
	if err := crm.CheckText("outbox result", result, crm.MaxShortBytes); err != nil {
		return fmt.Errorf("outbox item %d sent: %w", id, err)
	}
	if err := crm.CheckTime("outbox sent time", at); err != nil {
		return fmt.Errorf("outbox item %d sent: %w", id, err)
	}
	if at.IsZero() {
		at = s.now()
	}
	err := s.write(ctx, func(t *dbtx) error {
		return updatePending(t, id, `state = 'sent', result = ?, sent_at = ?`, result, unixNano(at))
	})
	if err != nil {
		return fmt.Errorf("outbox item %d sent: %w", id, err)
	}
	return nil
}

// OutboxRetry implements crm.Store.
func (s *Store) OutboxRetry(ctx context.Context, id int64, nextAt time.Time, errText string) error {
	if err := crm.CheckTime("outbox next time", nextAt); err != nil {
		return fmt.Errorf("retry outbox item %d: %w", id, err)
	}
	if nextAt.IsZero() {
		nextAt = s.now()
	}
	errText = crm.OutboxErrorText(errText)
	err := s.write(ctx, func(t *dbtx) error {
		return updatePending(t, id, `attempts = attempts + 1, last_error = ?, next_at = ?`, errText, unixNano(nextAt))
	})
	if err != nil {
		return fmt.Errorf("retry outbox item %d: %w", id, err)
	}
	return nil
}

// OutboxFailed implements crm.Store.
func (s *Store) OutboxFailed(ctx context.Context, id int64, errText string) error {
	errText = crm.OutboxErrorText(errText)
	err := s.write(ctx, func(t *dbtx) error {
		return updatePending(t, id, `state = 'failed', attempts = attempts + 1, last_error = ?`, errText)
	})
	if err != nil {
		return fmt.Errorf("fail outbox item %d: %w", id, err)
	}
	return nil
}

// OutboxItemByKey implements crm.Store.
func (s *Store) OutboxItemByKey(ctx context.Context, key string) (crm.OutboxItem, error) {
	if key == "" {
		return crm.OutboxItem{}, fmt.Errorf("outbox item by key: %w: empty key", crm.ErrInvalid)
	}
	var it crm.OutboxItem
	err := s.read(ctx, func(t *dbtx) error {
		var err error
		it, err = scanOutbox(t.row(`SELECT `+outboxCols+` FROM outbox WHERE key = ?`, key))
		if errors.Is(err, sql.ErrNoRows) {
			return crm.ErrNotFound
		}
		return err
	})
	if err != nil {
		return crm.OutboxItem{}, fmt.Errorf("outbox item %q: %w", key, err)
	}
	return it, nil
}

// OutboxDepth implements crm.Store.
func (s *Store) OutboxDepth(ctx context.Context, ch crm.Channel) (int, error) {
	if !ch.Valid() {
		return 0, fmt.Errorf("outbox depth: %w: channel %q", crm.ErrInvalid, ch)
	}
	var n int
	err := s.read(ctx, func(t *dbtx) error {
		return t.queryRow(`SELECT COUNT(*) FROM outbox WHERE channel = ? AND state = 'pending'`, []any{string(ch)}, &n)
	})
	if err != nil {
		return 0, fmt.Errorf("outbox depth of %s: %w", ch, err)
	}
	return n, nil
}

// ClaimOutbox implements crm.Store: one conditional UPDATE, so of two
// workers racing for an item exactly one changes its row.
func (s *Store) ClaimOutbox(ctx context.Context, id int64, now, until time.Time) (bool, error) {
	for _, t := range []time.Time{now, until} {
		if err := crm.CheckTime("outbox claim time", t); err != nil {
			return false, fmt.Errorf("claim outbox item %d: %w", id, err)
		}
	}
	if until.IsZero() {
		return false, fmt.Errorf("claim outbox item %d: %w: no claim end", id, crm.ErrInvalid)
	}
	if now.IsZero() {
		now = s.now()
	}
	var claimed bool
	err := s.write(ctx, func(t *dbtx) error {
		res, err := t.exec(`UPDATE outbox SET next_at = ? WHERE id = ? AND state = 'pending' AND next_at <= ?`,
			unixNano(until), id, unixNano(now))
		if err != nil {
			return translate(err)
		}
		n, err := res.RowsAffected()
		claimed = err == nil && n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim outbox item %d: %w", id, err)
	}
	return claimed, nil
}
