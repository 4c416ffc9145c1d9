package sqlite

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/parley-chat/parley/crm"
)

var _ crm.ActivityStore = (*Store)(nil)

// nsPerDay is a UTC day in the stored unit, nanoseconds.
const nsPerDay = int64(24 * time.Hour)

// dayOf is the SQL for the UTC day number (days since 1970-01-01) of a
// column of Unix nanoseconds: floor(col / nsPerDay). Integer division
// truncates toward zero, so the remainder is made non-negative first:
// a time before 1970 (crm.MinTime is 1900) still falls on its own day.
// Plain integer arithmetic, unlike date(col/1e9, 'unixepoch'), needs no
// date parsing per row and reads the same in PostgreSQL.
func dayOf(col string) string {
	return fmt.Sprintf("((%[1]s - ((%[1]s %% %[2]d) + %[2]d) %% %[2]d) / %[2]d)", col, nsPerDay)
}

func fromDay(day int64) time.Time { return time.Unix(day*86400, 0).UTC() }

type dayChannel struct {
	day int64
	ch  crm.Channel
}

// Activity implements crm.ActivityStore with two GROUP BY queries on one
// snapshot: customer messages by day and channel (the messages_inbox
// index covers direction 'in' by time), and conversations by the day
// they started, each checked for an escalation and an agent reply.
func (s *Store) Activity(ctx context.Context, from, to time.Time) ([]crm.DayActivity, error) {
	if err := crm.CheckPeriod(from, to); err != nil {
		return nil, fmt.Errorf("activity: %w", err)
	}
	asOf := to
	if now := s.now(); now.Before(asOf) {
		asOf = now
	}
	days := map[dayChannel]*crm.DayActivity{}
	at := func(day int64, ch crm.Channel) *crm.DayActivity {
		k := dayChannel{day, ch}
		a, ok := days[k]
		if !ok {
			a = &crm.DayActivity{Day: fromDay(day), Channel: ch}
			days[k] = a
		}
		return a
	}
	err := s.read(ctx, func(t *dbtx) error {
		rows, err := t.query(`SELECT day, channel, COUNT(*),
				SUM(CASE WHEN action = ? THEN 1 ELSE 0 END),
				COALESCE(SUM(CASE WHEN sentiment <> '' THEN sentiment_score END), 0),
				SUM(CASE WHEN sentiment <> '' THEN 1 ELSE 0 END)
			FROM (SELECT `+dayOf("created_at")+` AS day, channel, action, sentiment, sentiment_score
				FROM messages WHERE direction = 'in' AND created_at >= ? AND created_at < ?)
			GROUP BY day, channel`, crm.ActionFallback, bound(from), bound(to))
		if err != nil {
			return fmt.Errorf("messages: %w", err)
		}
		if err := eachRow(rows, func() error {
			var day int64
			var ch crm.Channel
			var n, fallbacks, sentN int
			var sentSum float64
			if err := rows.Scan(&day, &ch, &n, &fallbacks, &sentSum, &sentN); err != nil {
				return err
			}
			a := at(day, ch)
			a.Messages, a.Fallbacks, a.SentimentSum, a.SentimentN = n, fallbacks, sentSum, sentN
			return nil
		}); err != nil {
			return fmt.Errorf("messages: %w", err)
		}
		// ended and person mirror crm.Conversation.Ended and
		// DayActivity's definitions; the contract suite holds both
		// stores to them.
		rows, err = t.query(`SELECT day, channel, COUNT(*),
				SUM(escalated),
				SUM(CASE WHEN ended = 1 AND escalated = 0 AND agent = 0 THEN 1 ELSE 0 END),
				SUM(CASE WHEN ended = 1 AND (escalated = 1 OR agent = 1) THEN 1 ELSE 0 END)
			FROM (SELECT `+dayOf("c.created_at")+` AS day, c.channel,
					CASE WHEN EXISTS (SELECT 1 FROM escalations e WHERE e.conversation_id = c.id) THEN 1 ELSE 0 END AS escalated,
					CASE WHEN EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'agent') THEN 1 ELSE 0 END AS agent,
					CASE WHEN c.state = 'resolved' OR (c.state = 'bot' AND c.updated_at <= ?) THEN 1 ELSE 0 END AS ended
				FROM conversations c WHERE c.created_at >= ? AND c.created_at < ?)
			GROUP BY day, channel`, bound(asOf.Add(-crm.IdleAfter)), bound(from), bound(to))
		if err != nil {
			return fmt.Errorf("conversations: %w", err)
		}
		return eachRow(rows, func() error {
			var day int64
			var ch crm.Channel
			var n, escalated, byBot, byPerson int
			if err := rows.Scan(&day, &ch, &n, &escalated, &byBot, &byPerson); err != nil {
				return fmt.Errorf("conversations: %w", err)
			}
			a := at(day, ch)
			a.Conversations, a.Escalations, a.ResolvedByBot, a.ResolvedByPerson = n, escalated, byBot, byPerson
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("activity from %v to %v: %w", from, to, err)
	}
	out := make([]crm.DayActivity, 0, len(days))
	for _, a := range days {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b crm.DayActivity) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Channel, b.Channel))
	})
	return out, nil
}

// IntentsByDay implements crm.ActivityStore: one GROUP BY day and
// intent over the customer messages (the messages_inbox index), ranked
// by crm.TopIntents as every store ranks. A window over the period's
// intent counts could rank them in SQL too, but it reads the messages
// twice: 11 ms against 4 for a quarter of the demo CRM's 1,000
// customers.
func (s *Store) IntentsByDay(ctx context.Context, from, to time.Time, top int) ([]crm.IntentDay, error) {
	if err := crm.CheckPeriod(from, to); err != nil {
		return nil, fmt.Errorf("intents by day: %w", err)
	}
	if err := crm.CheckTop(top); err != nil {
		return nil, fmt.Errorf("intents by day: %w", err)
	}
	var counts []crm.IntentDay
	err := s.read(ctx, func(t *dbtx) error {
		rows, err := t.query(`SELECT `+dayOf("created_at")+` AS day, intent, COUNT(*) FROM messages
			WHERE direction = 'in' AND intent <> '' AND created_at >= ? AND created_at < ?
			GROUP BY day, intent`, bound(from), bound(to))
		if err != nil {
			return err
		}
		return eachRow(rows, func() error {
			var day int64
			var d crm.IntentDay
			if err := rows.Scan(&day, &d.Intent, &d.N); err != nil {
				return err
			}
			d.Day = fromDay(day)
			counts = append(counts, d)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("intents by day from %v to %v: %w", from, to, err)
	}
	return crm.TopIntents(counts, top), nil
}

// SegmentConversion implements crm.ActivityStore.
func (s *Store) SegmentConversion(ctx context.Context) ([]crm.SegmentConversion, error) {
	var out []crm.SegmentConversion
	err := s.read(ctx, func(t *dbtx) error {
		rows, err := t.query(`SELECT COALESCE(a.segment, '') AS seg, COALESCE(MAX(a.profile), ''), COUNT(*),
				SUM(CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id) THEN 1 ELSE 0 END)
			FROM customers c LEFT JOIN segment_assignments a ON a.customer_id = c.id
			GROUP BY seg ORDER BY seg`)
		if err != nil {
			return err
		}
		return eachRow(rows, func() error {
			var sc crm.SegmentConversion
			if err := rows.Scan(&sc.Segment, &sc.Profile, &sc.Customers, &sc.Converted); err != nil {
				return err
			}
			out = append(out, sc)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("segment conversion: %w", err)
	}
	return out, nil
}

// SegmentMap implements crm.ActivityStore: a count, then every k-th
// assignment by its row number, on one snapshot.
func (s *Store) SegmentMap(ctx context.Context, limit int) ([]crm.SegmentAssignment, error) {
	n, err := crm.Limit(limit)
	if err != nil {
		return nil, fmt.Errorf("segment map: %w", err)
	}
	var out []crm.SegmentAssignment
	err = s.read(ctx, func(t *dbtx) error {
		var total int
		if err := t.queryRow(`SELECT COUNT(*) FROM segment_assignments`, nil, &total); err != nil {
			return err
		}
		step := crm.SampleStep(total, n)
		rows, err := t.query(`SELECT customer_id, segment, profile, x, y FROM (
				SELECT customer_id, segment, profile, x, y, ROW_NUMBER() OVER (ORDER BY customer_id) - 1 AS rn
				FROM segment_assignments)
			WHERE rn % ? = 0 ORDER BY customer_id`, step)
		if err != nil {
			return err
		}
		return eachRow(rows, func() error {
			var a crm.SegmentAssignment
			if err := rows.Scan(&a.CustomerID, &a.Segment, &a.Profile, &a.X, &a.Y); err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("segment map: %w", err)
	}
	return out, nil
}
