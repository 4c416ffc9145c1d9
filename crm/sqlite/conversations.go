package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/parley-chat/parley/crm"
)

const conversationCols = `id, customer_id, channel, ref, state, COALESCE(assignee_id, 0), slots, fallbacks, created_at, updated_at`

func scanConversation(sc scanner) (crm.Conversation, error) {
	var (
		c                crm.Conversation
		slots            sql.NullString
		created, updated int64
	)
	if err := sc.Scan(&c.ID, &c.CustomerID, &c.Channel, &c.Ref, &c.State, &c.AssigneeID, &slots, &c.Fallbacks, &created, &updated); err != nil {
		return c, err
	}
	c.CreatedAt, c.UpdatedAt = fromUnixNano(created), fromUnixNano(updated)
	if err := decodeJSON("slots", slots, &c.Slots); err != nil {
		return c, err
	}
	return c, nil
}

const escalationCols = `id, conversation_id, reason, status, COALESCE(assignee_id, 0), resolution, created_at, assigned_at, resolved_at`

func scanEscalation(sc scanner) (crm.Escalation, error) {
	var (
		e                  crm.Escalation
		created            int64
		assigned, resolved sql.NullInt64
	)
	if err := sc.Scan(&e.ID, &e.ConversationID, &e.Reason, &e.Status, &e.AssigneeID, &e.Resolution, &created, &assigned, &resolved); err != nil {
		return e, err
	}
	e.CreatedAt, e.AssignedAt, e.ResolvedAt = fromUnixNano(created), fromNullTime(assigned), fromNullTime(resolved)
	return e, nil
}

// openEscalation returns the conversation's open escalation, nil when none.
func openEscalation(t *dbtx, convID int64) (*crm.Escalation, error) {
	e, err := scanEscalation(t.row(`SELECT `+escalationCols+` FROM escalations
		WHERE conversation_id = ? AND status <> 'resolved'`, convID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("open escalation of conversation %d: %w", convID, err)
	}
	return &e, nil
}

// saveEscalation inserts e (ID 0, opened by the interaction of message
// messageID, 0 for none) or updates it, and returns its id.
func saveEscalation(t *dbtx, e *crm.Escalation, messageID int64) (int64, error) {
	if e.ID == 0 {
		id, err := t.insert(`INSERT INTO escalations (conversation_id, message_id, reason, status, assignee_id,
			resolution, created_at, assigned_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ConversationID, nullID(messageID), e.Reason, string(e.Status), nullID(e.AssigneeID), e.Resolution,
			unixNano(e.CreatedAt), nullTime(e.AssignedAt), nullTime(e.ResolvedAt))
		if err != nil {
			return 0, fmt.Errorf("open escalation: %w", translate(err))
		}
		return id, nil
	}
	if _, err := t.exec(`UPDATE escalations SET status = ?, assignee_id = ?, resolution = ?, assigned_at = ?,
		resolved_at = ? WHERE id = ?`, string(e.Status), nullID(e.AssigneeID), e.Resolution,
		nullTime(e.AssignedAt), nullTime(e.ResolvedAt), e.ID); err != nil {
		return 0, fmt.Errorf("update escalation %d: %w", e.ID, translate(err))
	}
	return e.ID, nil
}

// Conversation implements crm.Store.
func (s *Store) Conversation(ctx context.Context, id int64) (crm.Conversation, error) {
	var c crm.Conversation
	err := s.read(ctx, func(t *dbtx) error {
		var err error
		c, err = scanConversation(t.row(`SELECT `+conversationCols+` FROM conversations WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return crm.ErrNotFound
		}
		return err
	})
	if err != nil {
		return crm.Conversation{}, fmt.Errorf("conversation %d: %w", id, err)
	}
	return c, nil
}

// Conversations implements crm.Store.
func (s *Store) Conversations(ctx context.Context, f crm.ConversationFilter) ([]crm.Conversation, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("conversations: %w", err)
	}
	n, _ := crm.Limit(f.Limit)
	var conds []string
	var args []any
	if len(f.States) > 0 {
		conds = append(conds, `state IN (`+placeholders(len(f.States))+`)`)
		waiting := true
		for _, st := range f.States {
			args = append(args, string(st))
			waiting = waiting && (st == crm.StateEscalated || st == crm.StateAssigned)
		}
		if waiting {
			// The partial index's own condition, spelled as in the
			// schema: SQLite uses a partial index only for a query whose
			// WHERE contains it literally.
			conds = append(conds, `state IN ('escalated', 'assigned')`)
		}
	}
	if f.AssigneeID != 0 {
		conds = append(conds, `assignee_id = ?`)
		args = append(args, f.AssigneeID)
	}
	if f.CustomerID != 0 {
		conds = append(conds, `customer_id = ?`)
		args = append(args, f.CustomerID)
	}
	if f.Channel != "" {
		conds = append(conds, `channel = ?`)
		args = append(args, string(f.Channel))
	}
	q := `SELECT ` + conversationCols + ` FROM conversations`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	q += ` ORDER BY updated_at DESC, id DESC LIMIT ?`
	args = append(args, n)
	var out []crm.Conversation
	err := s.read(ctx, func(t *dbtx) error {
		var err error
		out, err = queryAll(t, scanConversation, q, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("conversations: %w", err)
	}
	return out, nil
}

// SetState implements crm.Store.
func (s *Store) SetState(ctx context.Context, conversationID int64, st crm.State, assigneeID int64, resolution string) (crm.Conversation, error) {
	now := s.now().UTC()
	// Check the arguments before queueing: Transition on an empty
	// conversation fails on exactly what the real one would.
	if _, _, err := (crm.Conversation{}).Transition(nil, st, assigneeID, crm.EscalationByStaff, resolution, now); err != nil {
		return crm.Conversation{}, fmt.Errorf("set state of conversation %d: %w", conversationID, err)
	}
	var out crm.Conversation
	err := s.write(ctx, func(t *dbtx) error {
		c, err := scanConversation(t.row(`SELECT `+conversationCols+` FROM conversations WHERE id = ?`, conversationID))
		if errors.Is(err, sql.ErrNoRows) {
			return crm.ErrNotFound
		} else if err != nil {
			return err
		}
		if assigneeID != 0 {
			if err := exists(t, `SELECT 1 FROM staff WHERE id = ?`, assigneeID); err != nil {
				return fmt.Errorf("assignee %d: %w", assigneeID, err)
			}
		}
		open, err := openEscalation(t, c.ID)
		if err != nil {
			return err
		}
		c, esc, err := c.Transition(open, st, assigneeID, crm.EscalationByStaff, resolution, now)
		if err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE conversations SET state = ?, assignee_id = ?, updated_at = ? WHERE id = ?`,
			string(c.State), nullID(c.AssigneeID), unixNano(c.UpdatedAt), c.ID); err != nil {
			return fmt.Errorf("update: %w", translate(err))
		}
		if esc != nil {
			if _, err := saveEscalation(t, esc, 0); err != nil {
				return err
			}
		}
		out = c
		return nil
	})
	if err != nil {
		return crm.Conversation{}, fmt.Errorf("set state of conversation %d: %w", conversationID, err)
	}
	return out, nil
}

// Escalations implements crm.Store.
func (s *Store) Escalations(ctx context.Context, conversationID int64) ([]crm.Escalation, error) {
	var out []crm.Escalation
	err := s.read(ctx, func(t *dbtx) error {
		if err := exists(t, `SELECT 1 FROM conversations WHERE id = ?`, conversationID); err != nil {
			return err
		}
		var err error
		out, err = queryAll(t, scanEscalation, `SELECT `+escalationCols+` FROM escalations
			WHERE conversation_id = ? ORDER BY id`, conversationID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("escalations of conversation %d: %w", conversationID, err)
	}
	return out, nil
}
