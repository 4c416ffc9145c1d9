package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parley-chat/parley/crm"
)

const messageCols = `id, conversation_id, direction, COALESCE(author_id, 0), text, COALESCE(channel_msg_id, ''),
	intent, confidence, out_of_scope, alternatives, sentiment, sentiment_score, entities, model_version,
	action, quick_replies, created_at, expiry, expired_at`

func scanMessage(sc scanner) (crm.Message, error) {
	var (
		m                 crm.Message
		oos, expiry       int
		alts, ents, quick sql.NullString
		created           int64
		expired           sql.NullInt64
	)
	if err := sc.Scan(&m.ID, &m.ConversationID, &m.Direction, &m.AuthorID, &m.Text, &m.ChannelMsgID,
		&m.Intent, &m.Confidence, &oos, &alts, &m.Sentiment, &m.SentimentScore, &ents, &m.ModelVersion,
		&m.Action, &quick, &created, &expiry, &expired); err != nil {
		return m, err
	}
	m.OutOfScope, m.CreatedAt = oos != 0, fromUnixNano(created)
	m.Expired, m.ExpiredAt = crm.ModeOfLevel(expiry), fromNullTime(expired)
	if err := decodeJSON("alternatives", alts, &m.Alternatives); err != nil {
		return m, err
	}
	if err := decodeJSON("entities", ents, &m.Entities); err != nil {
		return m, err
	}
	if err := decodeJSON("quick replies", quick, &m.QuickReplies); err != nil {
		return m, err
	}
	return m, nil
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](t *dbtx, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// newMessage is a message ready to insert: redacted, its lists encoded
// (by the caller's goroutine, not the writer's).
type newMessage struct {
	crm.Message
	alts, ents, quick any
}

// prepareMessage redacts m with redact (the redactor of its channel:
// see redactorFor) and encodes its JSON columns. Redaction must leave a
// valid message: a redactor that makes it invalid is an error.
func prepareMessage(m crm.Message, redact func(string) string) (newMessage, error) {
	m, err := m.Redacted(redact)
	if err != nil {
		return newMessage{}, err
	}
	m.Expired, m.ExpiredAt = "", time.Time{} // the store's to set
	if len(m.Alternatives) == 0 {
		m.Alternatives = nil
	}
	if len(m.Entities) == 0 {
		m.Entities = nil
	}
	if len(m.QuickReplies) == 0 {
		m.QuickReplies = nil
	}
	n := newMessage{Message: m}
	if n.alts, err = encodeJSON(m.Alternatives); err != nil {
		return n, fmt.Errorf("%w: alternatives: %v", crm.ErrInvalid, err)
	}
	if n.ents, err = encodeJSON(m.Entities); err != nil {
		return n, fmt.Errorf("%w: entities: %v", crm.ErrInvalid, err)
	}
	if n.quick, err = encodeJSON(m.QuickReplies); err != nil {
		return n, fmt.Errorf("%w: quick replies: %v", crm.ErrInvalid, err)
	}
	return n, nil
}

const insertMessage = `INSERT INTO messages (conversation_id, reply_to, direction, author_id, channel, channel_msg_id,
	text, intent, confidence, out_of_scope, alternatives, sentiment, sentiment_score, entities, model_version,
	action, quick_replies, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insert stores m (ConversationID and CreatedAt set) and returns it with its id.
func (m newMessage) insert(t *dbtx, ch crm.Channel, replyTo int64) (crm.Message, error) {
	id, err := t.insert(insertMessage, m.ConversationID, nullID(replyTo), string(m.Direction), nullID(m.AuthorID),
		string(ch), nullString(m.ChannelMsgID), m.Text, m.Intent, m.Confidence, boolInt(m.OutOfScope), m.alts,
		m.Sentiment, m.SentimentScore, m.ents, m.ModelVersion, m.Action, m.quick, unixNano(m.CreatedAt))
	if err != nil {
		if m.ChannelMsgID != "" {
			return crm.Message{}, fmt.Errorf("insert message %q: %w", m.ChannelMsgID, translate(err))
		}
		return crm.Message{}, fmt.Errorf("insert message: %w", translate(err))
	}
	out := m.Message
	out.ID = id
	return out, nil
}

// LogInteraction implements crm.Store.
func (s *Store) LogInteraction(ctx context.Context, in crm.Interaction) (crm.Logged, error) {
	if err := in.Validate(); err != nil {
		return crm.Logged{}, fmt.Errorf("log interaction: %w", err)
	}
	redact := s.redactorFor(in.Channel)
	msg, err := prepareMessage(in.Message, redact)
	if err != nil {
		return crm.Logged{}, fmt.Errorf("log interaction: %w", err)
	}
	replies := make([]newMessage, len(in.Replies))
	for i, r := range in.Replies {
		if replies[i], err = prepareMessage(r, redact); err != nil {
			return crm.Logged{}, fmt.Errorf("log interaction: reply %d: %w", i, err)
		}
	}
	slots, err := encodeMap(in.Slots)
	if err != nil {
		return crm.Logged{}, fmt.Errorf("log interaction: %w: slots: %v", crm.ErrInvalid, err)
	}
	ts := msg.CreatedAt
	if ts.IsZero() {
		ts = s.now()
	}
	msg.CreatedAt = ts.UTC()
	for i := range replies {
		replies[i].CreatedAt = cmp.Or(replies[i].CreatedAt, msg.CreatedAt).UTC()
	}
	var out crm.Logged
	err = s.write(ctx, func(t *dbtx) error {
		out = crm.Logged{}
		return s.logInteraction(t, in, msg, replies, slots, &out)
	})
	if err != nil {
		return crm.Logged{}, fmt.Errorf("log interaction: %w", err)
	}
	return out, nil
}

func (s *Store) logInteraction(t *dbtx, in crm.Interaction, msg newMessage, replies []newMessage, slots any, out *crm.Logged) error {
	ts := msg.CreatedAt
	lc, err := lookupInteraction(t, in, msg.ChannelMsgID)
	if err != nil {
		return err
	}
	if lc.dupID != 0 {
		return s.duplicate(t, lc.dupID, out)
	}
	custID, known := lc.customerID, lc.customerID != 0
	conv, open := lc.conv, lc.open
	switch {
	case in.ConversationID != 0:
		if conv.ID == 0 {
			return fmt.Errorf("conversation %d: %w", in.ConversationID, crm.ErrNotFound)
		}
		if !known || conv.CustomerID != custID {
			return fmt.Errorf("%w: conversation %d belongs to another customer", crm.ErrInvalid, conv.ID)
		}
		if conv.Channel != in.Channel {
			return fmt.Errorf("%w: conversation %d is on channel %s, not %s", crm.ErrInvalid, conv.ID, conv.Channel, in.Channel)
		}
	case conv.ID == 0:
		conv = crm.Conversation{Channel: in.Channel, Ref: in.ConversationRef, State: crm.StateBot, CreatedAt: ts, UpdatedAt: ts}
	}
	target := in.NextState(conv.State)
	if target == "" && in.Escalate != "" && open == nil {
		target = conv.State // escalated or assigned, but the escalation is missing
	}
	var esc *crm.Escalation
	if target != "" {
		assignee := int64(0)
		if target == crm.StateAssigned {
			assignee = conv.AssigneeID
		}
		if conv, esc, err = conv.Transition(open, target, assignee, cmp.Or(in.Escalate, crm.EscalationByBot), "", ts); err != nil {
			return err
		}
	}
	if !known {
		if custID, err = t.insert(`INSERT INTO customers (name, email, created_at) VALUES (?, ?, ?)`,
			in.CustomerName, in.CustomerEmail, unixNano(ts)); err != nil {
			return fmt.Errorf("create customer: %w", err)
		}
		if _, err := t.exec(`INSERT INTO external_ids (customer_id, kind, value) VALUES (?, ?, ?)`,
			custID, string(in.Customer.Kind), in.Customer.Value); err != nil {
			return fmt.Errorf("create customer: %w", translate(err))
		}
	}
	latest := ts
	for _, r := range replies {
		if r.CreatedAt.After(latest) {
			latest = r.CreatedAt
		}
	}
	if latest.After(conv.UpdatedAt) {
		conv.UpdatedAt = latest
	}
	convSlots, err := encodeMap(conv.Slots)
	if err != nil {
		return err
	}
	if in.State != "" {
		convSlots, conv.Fallbacks = slots, in.Fallbacks
	}
	if conv.ID == 0 {
		if conv.ID, err = t.insert(`INSERT INTO conversations (customer_id, channel, ref, state, assignee_id, slots,
			fallbacks, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			custID, string(conv.Channel), conv.Ref, string(conv.State), nullID(conv.AssigneeID), convSlots,
			conv.Fallbacks, unixNano(conv.CreatedAt), unixNano(conv.UpdatedAt)); err != nil {
			return fmt.Errorf("create conversation: %w", translate(err))
		}
	} else if _, err := t.exec(`UPDATE conversations SET state = ?, assignee_id = ?, slots = ?, fallbacks = ?,
		updated_at = ? WHERE id = ?`, string(conv.State), nullID(conv.AssigneeID), convSlots, conv.Fallbacks,
		unixNano(conv.UpdatedAt), conv.ID); err != nil {
		return fmt.Errorf("update conversation %d: %w", conv.ID, translate(err))
	}
	msg.ConversationID = conv.ID
	stored, err := msg.insert(t, in.Channel, 0)
	if err != nil {
		return err
	}
	*out = crm.Logged{CustomerID: custID, ConversationID: conv.ID, MessageID: stored.ID}
	for _, r := range replies {
		r.ConversationID = conv.ID
		rep, err := r.insert(t, in.Channel, stored.ID)
		if err != nil {
			return fmt.Errorf("reply: %w", err)
		}
		out.Replies = append(out.Replies, rep)
	}
	if esc != nil {
		esc.ConversationID = conv.ID
		id, err := saveEscalation(t, esc, stored.ID)
		if err != nil {
			return err
		}
		if esc.ID == 0 {
			out.EscalationID = id
		}
		esc.ID = id
	}
	if in.Escalate != "" && out.EscalationID == 0 {
		switch {
		case esc != nil && esc.Status != crm.EscalationResolved:
			out.EscalationID = esc.ID
		case esc == nil && open != nil:
			out.EscalationID = open.ID
		}
	}
	return nil
}

// lookup is what an interaction needs to know before it writes.
type lookup struct {
	dupID      int64 // the message already logged with the channel message id
	customerID int64 // 0: a new customer
	conv       crm.Conversation
	open       *crm.Escalation
}

// lookupSQL finds, in one statement (each statement costs more than the
// B-tree work of these look-ups): a message logged with the channel
// message id; the customer with the external id; the conversation,
// by id when one is given (?5), else the customer's latest on the
// channel with the ref; and that conversation's open escalation, of
// which the escalations_open index allows at most one.
const lookupSQL = `SELECT
	(SELECT m.id FROM messages m WHERE m.channel = ?1 AND m.channel_msg_id = ?2),
	e.customer_id,
	c.id, c.customer_id, c.channel, c.ref, c.state, c.assignee_id, c.slots, c.fallbacks, c.created_at, c.updated_at,
	x.id, x.reason, x.status, x.assignee_id, x.resolution, x.created_at, x.assigned_at
FROM (SELECT 1) AS one
LEFT JOIN external_ids e ON e.kind = ?3 AND e.value = ?4
LEFT JOIN conversations c ON c.id = CASE WHEN ?5 <> 0 THEN ?5 ELSE
	(SELECT MAX(id) FROM conversations WHERE customer_id = e.customer_id AND channel = ?1 AND ref = ?6) END
LEFT JOIN escalations x ON x.conversation_id = c.id AND x.status <> 'resolved'`

func lookupInteraction(t *dbtx, in crm.Interaction, channelMsgID string) (lookup, error) {
	var (
		l                                        lookup
		dup, cust, convID, convCust, assignee    sql.NullInt64
		ch, ref, state                           sql.NullString
		slots                                    sql.NullString
		fallbacks, created, updated              sql.NullInt64
		escID, escAssignee, escCreated, assigned sql.NullInt64
		reason, status, resolution               sql.NullString
	)
	err := t.queryRow(lookupSQL, []any{string(in.Channel), nullString(channelMsgID), string(in.Customer.Kind),
		in.Customer.Value, in.ConversationID, in.ConversationRef},
		&dup, &cust, &convID, &convCust, &ch, &ref, &state, &assignee, &slots, &fallbacks, &created, &updated,
		&escID, &reason, &status, &escAssignee, &resolution, &escCreated, &assigned)
	if err != nil {
		return l, fmt.Errorf("look up customer and conversation: %w", err)
	}
	l.dupID, l.customerID = dup.Int64, cust.Int64
	if convID.Valid {
		l.conv = crm.Conversation{ID: convID.Int64, CustomerID: convCust.Int64, Channel: crm.Channel(ch.String),
			Ref: ref.String, State: crm.State(state.String), AssigneeID: assignee.Int64, Fallbacks: int(fallbacks.Int64),
			CreatedAt: fromUnixNano(created.Int64), UpdatedAt: fromUnixNano(updated.Int64)}
		if err := decodeJSON("slots", slots, &l.conv.Slots); err != nil {
			return l, err
		}
	}
	if escID.Valid {
		l.open = &crm.Escalation{ID: escID.Int64, ConversationID: convID.Int64, Reason: reason.String,
			Status: crm.EscalationStatus(status.String), AssigneeID: escAssignee.Int64, Resolution: resolution.String,
			CreatedAt: fromUnixNano(escCreated.Int64), AssignedAt: fromNullTime(assigned)}
	}
	return l, nil
}

// duplicate fills out with what was logged for message msgID.
func (s *Store) duplicate(t *dbtx, msgID int64, out *crm.Logged) error {
	var convID, custID int64
	if err := t.queryRow(`SELECT m.conversation_id, c.customer_id FROM messages m
		JOIN conversations c ON c.id = m.conversation_id WHERE m.id = ?`, []any{msgID}, &convID, &custID); err != nil {
		return fmt.Errorf("logged message %d: %w", msgID, err)
	}
	replies, err := queryAll(t, scanMessage, `SELECT `+messageCols+` FROM messages WHERE reply_to = ? ORDER BY created_at, id`, msgID)
	if err != nil {
		return fmt.Errorf("replies to message %d: %w", msgID, err)
	}
	var escID int64
	if err := t.queryRow(`SELECT id FROM escalations WHERE message_id = ?`, []any{msgID}, &escID); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("escalation of message %d: %w", msgID, err)
	}
	*out = crm.Logged{CustomerID: custID, ConversationID: convID, MessageID: msgID, Duplicate: true, Replies: replies, EscalationID: escID}
	return nil
}

// AddMessage implements crm.Store.
func (s *Store) AddMessage(ctx context.Context, m crm.Message) (crm.Message, error) {
	if err := m.Validate(); err != nil {
		return crm.Message{}, fmt.Errorf("add message: %w", err)
	}
	redact, err := s.messageRedactor(ctx, m.ConversationID)
	if err != nil {
		return crm.Message{}, fmt.Errorf("add message: %w", err)
	}
	nm, err := prepareMessage(m, redact)
	if err != nil {
		return crm.Message{}, fmt.Errorf("add message: %w", err)
	}
	if nm.CreatedAt.IsZero() {
		nm.CreatedAt = s.now()
	}
	nm.CreatedAt = nm.CreatedAt.UTC()
	var out crm.Message
	err = s.write(ctx, func(t *dbtx) error {
		var ch crm.Channel
		err := t.queryRow(`SELECT channel FROM conversations WHERE id = ?`, []any{nm.ConversationID}, &ch)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("conversation %d: %w", nm.ConversationID, crm.ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("conversation %d: %w", nm.ConversationID, err)
		}
		if nm.ChannelMsgID != "" {
			out, err = scanMessage(t.row(`SELECT `+messageCols+` FROM messages WHERE channel = ? AND channel_msg_id = ?`,
				string(ch), nm.ChannelMsgID))
			if err == nil {
				return nil
			} else if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("look up message %q: %w", nm.ChannelMsgID, err)
			}
		}
		if nm.AuthorID != 0 {
			if err := exists(t, `SELECT 1 FROM staff WHERE id = ?`, nm.AuthorID); err != nil {
				return fmt.Errorf("author %d: %w", nm.AuthorID, err)
			}
		}
		if out, err = nm.insert(t, ch, 0); err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE conversations SET updated_at = MAX(updated_at, ?) WHERE id = ?`,
			unixNano(nm.CreatedAt), nm.ConversationID); err != nil {
			return fmt.Errorf("update conversation %d: %w", nm.ConversationID, err)
		}
		return nil
	})
	if err != nil {
		return crm.Message{}, fmt.Errorf("add message: %w", err)
	}
	return out, nil
}

// Messages implements crm.Store.
func (s *Store) Messages(ctx context.Context, conversationID int64) ([]crm.Message, error) {
	var out []crm.Message
	err := s.read(ctx, func(t *dbtx) error {
		if err := exists(t, `SELECT 1 FROM conversations WHERE id = ?`, conversationID); err != nil {
			return err
		}
		var err error
		out, err = queryAll(t, scanMessage, `SELECT `+messageCols+` FROM messages WHERE conversation_id = ?
			ORDER BY created_at, id`, conversationID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("messages of conversation %d: %w", conversationID, err)
	}
	return out, nil
}

// InboxMessages implements crm.Store.
func (s *Store) InboxMessages(ctx context.Context, f crm.MessageFilter) ([]crm.Message, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("inbox messages: %w", err)
	}
	n, _ := crm.Limit(f.Limit)
	// Messages whose words retention deleted have nothing to review.
	q := `SELECT ` + messageCols + ` FROM messages WHERE direction = 'in' AND created_at >= ? AND expiry < 2`
	args := []any{bound(f.Since)}
	var conds []string
	if f.MaxConfidence > 0 {
		conds = append(conds, `confidence < ?`)
		args = append(args, f.MaxConfidence)
	}
	if f.OutOfScope {
		conds = append(conds, `out_of_scope = 1`)
	}
	if len(f.Actions) > 0 {
		conds = append(conds, `action IN (`+placeholders(len(f.Actions))+`)`)
		for _, a := range f.Actions {
			args = append(args, a)
		}
	}
	if len(conds) > 0 {
		q += ` AND (` + strings.Join(conds, " OR ") + `)`
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, n)
	var out []crm.Message
	err := s.read(ctx, func(t *dbtx) error {
		var err error
		out, err = queryAll(t, scanMessage, q, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("inbox messages: %w", err)
	}
	return out, nil
}

// exists returns crm.ErrNotFound unless the query finds a row.
func exists(t *dbtx, query string, args ...any) error {
	var one int
	err := t.queryRow(query, args, &one)
	if errors.Is(err, sql.ErrNoRows) {
		return crm.ErrNotFound
	}
	return err
}

func placeholders(n int) string {
	b := make([]byte, 0, 2*n)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '?')
	}
	return string(b)
}
