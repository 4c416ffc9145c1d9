package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/parley-chat/parley/crm"
)

const orderCols = `id, customer_id, COALESCE(ref, ''), item, category, amount, currency, kind, created_at`

func scanOrder(sc scanner) (crm.Order, error) {
	var o crm.Order
	var created int64
	err := sc.Scan(&o.ID, &o.CustomerID, &o.Ref, &o.Item, &o.Category, &o.Amount, &o.Currency, &o.Kind, &created)
	o.CreatedAt = fromUnixNano(created)
	return o, err
}

// AddOrder implements crm.Store.
func (s *Store) AddOrder(ctx context.Context, o crm.Order) (crm.Order, error) {
	if err := o.Validate(); err != nil {
		return crm.Order{}, fmt.Errorf("add order: %w", err)
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = s.now()
	}
	o.CreatedAt = o.CreatedAt.UTC()
	err := s.write(ctx, func(t *dbtx) error {
		if err := exists(t, `SELECT 1 FROM customers WHERE id = ?`, o.CustomerID); err != nil {
			return fmt.Errorf("customer %d: %w", o.CustomerID, err)
		}
		id, err := t.insert(`INSERT INTO orders (customer_id, ref, item, category, amount, currency, kind, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, o.CustomerID, nullString(o.Ref), o.Item, o.Category, o.Amount,
			o.Currency, o.Kind, unixNano(o.CreatedAt))
		if err != nil {
			return fmt.Errorf("order %q: %w", o.Ref, translate(err))
		}
		o.ID = id
		return nil
	})
	if err != nil {
		return crm.Order{}, fmt.Errorf("add order: %w", err)
	}
	return o, nil
}

// Orders implements crm.Store.
func (s *Store) Orders(ctx context.Context, customerID int64) ([]crm.Order, error) {
	var out []crm.Order
	err := s.read(ctx, func(t *dbtx) error {
		if err := exists(t, `SELECT 1 FROM customers WHERE id = ?`, customerID); err != nil {
			return err
		}
		var err error
		out, err = queryAll(t, scanOrder, `SELECT `+orderCols+` FROM orders WHERE customer_id = ? ORDER BY created_at, id`, customerID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("orders of customer %d: %w", customerID, err)
	}
	return out, nil
}

// SaveSegments implements crm.Store.
func (s *Store) SaveSegments(ctx context.Context, as []crm.SegmentAssignment) error {
	if err := crm.ValidateSegments(as); err != nil {
		return fmt.Errorf("save segments: %w", err)
	}
	err := s.write(ctx, func(t *dbtx) error {
		if _, err := t.exec(`DELETE FROM segment_assignments`); err != nil {
			return err
		}
		for _, a := range as {
			if _, err := t.exec(`INSERT INTO segment_assignments (customer_id, segment, profile, x, y) VALUES (?, ?, ?, ?, ?)`,
				a.CustomerID, a.Segment, a.Profile, a.X, a.Y); err != nil {
				return fmt.Errorf("customer %d: %w", a.CustomerID, translate(err))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save segments: %w", err)
	}
	return nil
}

// SaveLeadScores implements crm.Store.
func (s *Store) SaveLeadScores(ctx context.Context, scores []crm.LeadScore, at time.Time) error {
	if err := crm.ValidateLeadScores(scores, at); err != nil {
		return fmt.Errorf("save lead scores: %w", err)
	}
	if at.IsZero() {
		at = s.now()
	}
	err := s.write(ctx, func(t *dbtx) error {
		for _, sc := range scores {
			if _, err := t.exec(`INSERT INTO lead_scores (customer_id, score, scored_at) VALUES (?, ?, ?)
				ON CONFLICT (customer_id) DO UPDATE SET score = excluded.score, scored_at = excluded.scored_at`,
				sc.CustomerID, sc.Score, unixNano(at)); err != nil {
				return fmt.Errorf("customer %d: %w", sc.CustomerID, translate(err))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save lead scores: %w", err)
	}
	return nil
}

// Stats implements crm.Store. It reads one snapshot: the customers, the
// per-customer sums SQL does well, and one ordered pass over the
// messages for what needs their order (late sentiment, reply delays).
func (s *Store) Stats(ctx context.Context, asOf time.Time) ([]crm.CustomerStats, error) {
	cut := bound(asOf)
	var out []crm.CustomerStats
	err := s.read(ctx, func(t *dbtx) error {
		b := crm.NewStatsBuilder(asOf)
		rows, err := t.query(`SELECT id, created_at FROM customers WHERE created_at < ? ORDER BY id`, cut)
		if err != nil {
			return fmt.Errorf("customers: %w", err)
		}
		if err := eachRow(rows, func() error {
			var id, created int64
			if err := rows.Scan(&id, &created); err != nil {
				return err
			}
			b.Customer(id, fromUnixNano(created))
			return nil
		}); err != nil {
			return fmt.Errorf("customers: %w", err)
		}
		// Orders one by one rather than summed in SQL: the builder owns
		// the arithmetic, so every store's totals agree.
		rows, err = t.query(`SELECT customer_id, amount, created_at FROM orders WHERE created_at < ?`, cut)
		if err != nil {
			return fmt.Errorf("orders: %w", err)
		}
		if err := eachRow(rows, func() error {
			var id, at int64
			var amount float64
			if err := rows.Scan(&id, &amount, &at); err != nil {
				return err
			}
			b.Order(id, amount, fromUnixNano(at))
			return nil
		}); err != nil {
			return fmt.Errorf("orders: %w", err)
		}
		rows, err = t.query(`SELECT customer_id, created_at FROM conversations WHERE created_at < ?`, cut)
		if err != nil {
			return fmt.Errorf("conversations: %w", err)
		}
		if err := eachRow(rows, func() error {
			var id, at int64
			if err := rows.Scan(&id, &at); err != nil {
				return err
			}
			b.Conversation(id, fromUnixNano(at))
			return nil
		}); err != nil {
			return fmt.Errorf("conversations: %w", err)
		}
		rows, err = t.query(`SELECT c.customer_id, e.created_at FROM escalations e
			JOIN conversations c ON c.id = e.conversation_id WHERE e.created_at < ?`, cut)
		if err != nil {
			return fmt.Errorf("escalations: %w", err)
		}
		if err := eachRow(rows, func() error {
			var id, at int64
			if err := rows.Scan(&id, &at); err != nil {
				return err
			}
			b.Escalation(id, fromUnixNano(at))
			return nil
		}); err != nil {
			return fmt.Errorf("escalations: %w", err)
		}
		rows, err = t.query(`SELECT c.customer_id, m.conversation_id, m.id, m.direction, m.intent, m.sentiment_score, m.created_at
			FROM messages m JOIN conversations c ON c.id = m.conversation_id
			WHERE m.created_at < ? ORDER BY m.conversation_id, m.created_at, m.id`, cut)
		if err != nil {
			return fmt.Errorf("messages: %w", err)
		}
		if err := eachRow(rows, func() error {
			var custID, at int64
			var m crm.Message
			if err := rows.Scan(&custID, &m.ConversationID, &m.ID, &m.Direction, &m.Intent, &m.SentimentScore, &at); err != nil {
				return err
			}
			m.CreatedAt = fromUnixNano(at)
			b.Message(custID, m)
			return nil
		}); err != nil {
			return fmt.Errorf("messages: %w", err)
		}
		out = b.Stats()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return out, nil
}

// eachRow calls fn for each row and closes rows.
func eachRow(rows *sql.Rows, fn func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// OrdersBetween implements crm.Store.
func (s *Store) OrdersBetween(ctx context.Context, from, to time.Time) (map[int64]int, error) {
	out := map[int64]int{}
	err := s.read(ctx, func(t *dbtx) error {
		rows, err := t.query(`SELECT customer_id, COUNT(*) FROM orders WHERE created_at >= ? AND created_at < ?
			GROUP BY customer_id`, bound(from), bound(to))
		if err != nil {
			return err
		}
		return eachRow(rows, func() error {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			out[id] = n
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("orders between %v and %v: %w", from, to, err)
	}
	return out, nil
}
