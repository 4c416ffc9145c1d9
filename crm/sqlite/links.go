package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parley-chat/parley/crm"
)

// SetConversationLink implements crm.Store.
func (s *Store) SetConversationLink(ctx context.Context, conversationID int64, kind, value string) error {
	if err := crm.CheckLink(kind, value); err != nil {
		return fmt.Errorf("link conversation %d: %w", conversationID, err)
	}
	err := s.write(ctx, func(t *dbtx) error {
		if err := exists(t, `SELECT 1 FROM conversations WHERE id = ?`, conversationID); err != nil {
			return err
		}
		var owner int64
		err := t.queryRow(`SELECT conversation_id FROM conversation_links WHERE kind = ? AND value = ?`,
			[]any{kind, value}, &owner)
		switch {
		case err == nil && owner == conversationID:
			return nil
		case err == nil:
			return fmt.Errorf("%w: %s %q is linked to another conversation", crm.ErrConflict, kind, value)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = t.exec(`INSERT INTO conversation_links (conversation_id, kind, value) VALUES (?, ?, ?)
			ON CONFLICT (conversation_id, kind) DO UPDATE SET value = excluded.value`, conversationID, kind, value)
		return translate(err)
	})
	if err != nil {
		return fmt.Errorf("link conversation %d: %w", conversationID, err)
	}
	return nil
}

// ConversationByLink implements crm.Store.
func (s *Store) ConversationByLink(ctx context.Context, kind, value string) (int64, error) {
	if err := crm.CheckLink(kind, value); err != nil {
		return 0, fmt.Errorf("conversation by link: %w", err)
	}
	var id int64
	err := s.read(ctx, func(t *dbtx) error {
		err := t.queryRow(`SELECT conversation_id FROM conversation_links WHERE kind = ? AND value = ?`,
			[]any{kind, value}, &id)
		if errors.Is(err, sql.ErrNoRows) {
			return crm.ErrNotFound
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("conversation by %s %q: %w", kind, value, err)
	}
	return id, nil
}

// ConversationLinks implements crm.Store.
func (s *Store) ConversationLinks(ctx context.Context, conversationID int64) (map[string]string, error) {
	out := map[string]string{}
	err := s.read(ctx, func(t *dbtx) error {
		if err := exists(t, `SELECT 1 FROM conversations WHERE id = ?`, conversationID); err != nil {
			return err
		}
		rows, err := t.query(`SELECT kind, value FROM conversation_links WHERE conversation_id = ?`, conversationID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var kind, value string
			if err := rows.Scan(&kind, &value); err != nil {
				return err
			}
			out[kind] = value
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("links of conversation %d: %w", conversationID, err)
	}
	return out, nil
}
