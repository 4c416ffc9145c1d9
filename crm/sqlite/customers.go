package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parley-chat/parley/crm"
)

const customerCols = `c.id, c.name, c.email, c.created_at, COALESCE(sa.segment, ''), COALESCE(sa.profile, ''),
	COALESCE(ls.score, 0), ls.scored_at`

const customerFrom = ` FROM customers c
	LEFT JOIN segment_assignments sa ON sa.customer_id = c.id
	LEFT JOIN lead_scores ls ON ls.customer_id = c.id`

func scanCustomer(sc scanner) (crm.Customer, error) {
	var (
		c       crm.Customer
		created int64
		scored  sql.NullInt64
	)
	if err := sc.Scan(&c.ID, &c.Name, &c.Email, &created, &c.Segment, &c.SegmentProfile, &c.LeadScore, &scored); err != nil {
		return c, err
	}
	c.CreatedAt, c.ScoredAt = fromUnixNano(created), fromNullTime(scored)
	return c, nil
}

// customer reads one customer with its external ids.
func customer(t *dbtx, id int64) (crm.Customer, error) {
	c, err := scanCustomer(t.row(`SELECT `+customerCols+customerFrom+` WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("customer %d: %w", id, crm.ErrNotFound)
	} else if err != nil {
		return c, fmt.Errorf("customer %d: %w", id, err)
	}
	cs := []crm.Customer{c}
	if err := externalIDs(t, cs); err != nil {
		return c, err
	}
	return cs[0], nil
}

// externalIDs fills the external ids of customers, which are in id order.
func externalIDs(t *dbtx, cs []crm.Customer) error {
	if len(cs) == 0 {
		return nil
	}
	rows, err := t.query(`SELECT customer_id, kind, value FROM external_ids
		WHERE customer_id BETWEEN ? AND ? ORDER BY customer_id, id`, cs[0].ID, cs[len(cs)-1].ID)
	if err != nil {
		return fmt.Errorf("external ids: %w", err)
	}
	defer rows.Close()
	idx := make(map[int64]int, len(cs))
	for i, c := range cs {
		idx[c.ID] = i
	}
	for rows.Next() {
		var id int64
		var ref crm.ExternalID
		if err := rows.Scan(&id, &ref.Kind, &ref.Value); err != nil {
			return fmt.Errorf("external ids: %w", err)
		}
		if i, ok := idx[id]; ok {
			cs[i].ExternalIDs = append(cs[i].ExternalIDs, ref)
		}
	}
	return rows.Err()
}

// Customer implements crm.Store.
func (s *Store) Customer(ctx context.Context, id int64) (crm.Customer, error) {
	var c crm.Customer
	err := s.read(ctx, func(t *dbtx) error {
		var err error
		c, err = customer(t, id)
		return err
	})
	return c, err
}

// CustomerByExternalID implements crm.Store.
func (s *Store) CustomerByExternalID(ctx context.Context, ref crm.ExternalID) (crm.Customer, error) {
	if err := ref.Validate(); err != nil {
		return crm.Customer{}, fmt.Errorf("customer by external id: %w", err)
	}
	var c crm.Customer
	err := s.read(ctx, func(t *dbtx) error {
		id, err := customerID(t, ref)
		if err != nil {
			return err
		}
		c, err = customer(t, id)
		return err
	})
	return c, err
}

func customerID(t *dbtx, ref crm.ExternalID) (int64, error) {
	var id int64
	err := t.queryRow(`SELECT customer_id FROM external_ids WHERE kind = ? AND value = ?`,
		[]any{string(ref.Kind), ref.Value}, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("customer %s %q: %w", ref.Kind, ref.Value, crm.ErrNotFound)
	} else if err != nil {
		return 0, fmt.Errorf("customer %s %q: %w", ref.Kind, ref.Value, err)
	}
	return id, nil
}

// FindOrCreateCustomer implements crm.Store.
func (s *Store) FindOrCreateCustomer(ctx context.Context, ref crm.ExternalID, name, email string) (crm.Customer, error) {
	if err := ref.Validate(); err != nil {
		return crm.Customer{}, fmt.Errorf("find or create customer: %w", err)
	}
	for _, f := range [][2]string{{"customer name", name}, {"customer email", email}} {
		if err := crm.CheckText(f[0], f[1], crm.MaxShortBytes); err != nil {
			return crm.Customer{}, fmt.Errorf("find or create customer: %w", err)
		}
	}
	now := s.now().UTC()
	var c crm.Customer
	err := s.write(ctx, func(t *dbtx) error {
		id, err := customerID(t, ref)
		if errors.Is(err, crm.ErrNotFound) {
			if id, err = t.insert(`INSERT INTO customers (name, email, created_at) VALUES (?, ?, ?)`, name, email, unixNano(now)); err != nil {
				return err
			}
			if _, err = t.exec(`INSERT INTO external_ids (customer_id, kind, value) VALUES (?, ?, ?)`, id, string(ref.Kind), ref.Value); err != nil {
				return translate(err)
			}
		} else if err != nil {
			return err
		}
		c, err = customer(t, id)
		return err
	})
	if err != nil {
		return crm.Customer{}, fmt.Errorf("find or create customer: %w", err)
	}
	return c, nil
}

// LinkExternalID implements crm.Store.
func (s *Store) LinkExternalID(ctx context.Context, customerID int64, ref crm.ExternalID) error {
	if err := ref.Validate(); err != nil {
		return fmt.Errorf("link external id: %w", err)
	}
	err := s.write(ctx, func(t *dbtx) error {
		if err := exists(t, `SELECT 1 FROM customers WHERE id = ?`, customerID); err != nil {
			return fmt.Errorf("customer %d: %w", customerID, err)
		}
		var owner int64
		err := t.queryRow(`SELECT customer_id FROM external_ids WHERE kind = ? AND value = ?`,
			[]any{string(ref.Kind), ref.Value}, &owner)
		switch {
		case err == nil && owner == customerID:
			return nil
		case err == nil:
			return fmt.Errorf("%w: %s %q belongs to another customer", crm.ErrConflict, ref.Kind, ref.Value)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = t.exec(`INSERT INTO external_ids (customer_id, kind, value) VALUES (?, ?, ?)`, customerID, string(ref.Kind), ref.Value)
		return translate(err)
	})
	if err != nil {
		return fmt.Errorf("link external id: %w", err)
	}
	return nil
}

// Customers implements crm.Store.
func (s *Store) Customers(ctx context.Context, afterID int64, limit int) ([]crm.Customer, error) {
	n, err := crm.Limit(limit)
	if err != nil {
		return nil, fmt.Errorf("customers: %w", err)
	}
	var out []crm.Customer
	err = s.read(ctx, func(t *dbtx) error {
		rows, err := t.query(`SELECT `+customerCols+customerFrom+` WHERE c.id > ? ORDER BY c.id LIMIT ?`, afterID, n)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanCustomer(rows)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		return externalIDs(t, out)
	})
	if err != nil {
		return nil, fmt.Errorf("customers: %w", err)
	}
	return out, nil
}

// DeleteCustomer implements crm.Store. The schema's ON DELETE CASCADE
// chains take everything that hangs off the customer with the one row.
func (s *Store) DeleteCustomer(ctx context.Context, id int64) error {
	err := s.write(ctx, func(t *dbtx) error {
		res, err := t.exec(`DELETE FROM customers WHERE id = ?`, id)
		if err != nil {
			return err
		}
		return affected(res)
	})
	if err != nil {
		return fmt.Errorf("delete customer %d: %w", id, err)
	}
	return nil
}

// Export implements crm.Store.
func (s *Store) Export(ctx context.Context, customerID int64) (crm.CustomerExport, error) {
	var out crm.CustomerExport
	err := s.read(ctx, func(t *dbtx) error {
		var err error
		if out.Customer, err = customer(t, customerID); err != nil {
			return err
		}
		convs, err := queryAll(t, scanConversation, `SELECT `+conversationCols+` FROM conversations
			WHERE customer_id = ? ORDER BY id`, customerID)
		if err != nil {
			return fmt.Errorf("conversations: %w", err)
		}
		for _, c := range convs {
			ce := crm.ConversationExport{Conversation: c}
			if ce.Messages, err = queryAll(t, scanMessage, `SELECT `+messageCols+` FROM messages
				WHERE conversation_id = ? ORDER BY created_at, id`, c.ID); err != nil {
				return fmt.Errorf("messages: %w", err)
			}
			if ce.Escalations, err = queryAll(t, scanEscalation, `SELECT `+escalationCols+` FROM escalations
				WHERE conversation_id = ? ORDER BY id`, c.ID); err != nil {
				return fmt.Errorf("escalations: %w", err)
			}
			out.Conversations = append(out.Conversations, ce)
		}
		if out.Orders, err = queryAll(t, scanOrder, `SELECT `+orderCols+` FROM orders
			WHERE customer_id = ? ORDER BY created_at, id`, customerID); err != nil {
			return fmt.Errorf("orders: %w", err)
		}
		if out.Labels, err = queryAll(t, scanLabel, `SELECT `+labelCols+` FROM labels l
			JOIN messages m ON m.id = l.message_id JOIN conversations c ON c.id = m.conversation_id
			WHERE c.customer_id = ? ORDER BY l.created_at, l.id`, customerID); err != nil {
			return fmt.Errorf("labels: %w", err)
		}
		var a crm.SegmentAssignment
		err = t.queryRow(`SELECT customer_id, segment, profile, x, y FROM segment_assignments WHERE customer_id = ?`,
			[]any{customerID}, &a.CustomerID, &a.Segment, &a.Profile, &a.X, &a.Y)
		if err == nil {
			out.Segment = &a
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("segment: %w", err)
		}
		return nil
	})
	if err != nil {
		return crm.CustomerExport{}, fmt.Errorf("export customer %d: %w", customerID, err)
	}
	return out, nil
}
