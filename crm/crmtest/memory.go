package crmtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/parley-chat/parley/crm"
)

// Memory is a crm.Store held in maps behind one mutex. It passes the
// contract suite (Run), so tests elsewhere can use it instead of a
// database; it is safe for concurrent use. Records returned are copies:
// changing them changes nothing stored.
type Memory struct {
	now        func() time.Time
	redact     func(string) string
	chanRedact map[crm.Channel]func(string) string // see WithChannelRedactor

	mu     sync.Mutex
	closed bool
	seq    int64 // the last id handed out, for every kind of record

	customers  map[int64]*memCustomer
	extIDs     map[crm.ExternalID]int64
	convs      map[int64]*crm.Conversation
	convByRef  map[convKey]int64 // the latest conversation of a customer on a channel with a ref
	msgs       map[int64]*memMessage
	convMsgs   map[int64][]int64 // a conversation's message ids, as added
	replies    map[int64][]int64 // an interaction's reply ids, by customer message
	byChanID   map[chanMsgKey]int64
	escs       map[int64]*memEscalation
	convEscs   map[int64][]int64 // a conversation's escalation ids, in id order
	orders     map[int64]*crm.Order
	orderRefs  map[string]int64
	staff      map[int64]*crm.StaffUser
	staffEmail map[string]int64
	sessions   map[string]crm.Session
	labels     map[int64]*crm.Label
	models     map[int64]*crm.ModelVersion
	segments   map[int64]crm.SegmentAssignment
	outbox     map[int64]*crm.OutboxItem
	outboxKeys map[string]int64
	links      map[int64]map[string]string // a conversation's links: kind -> value
	linkOwners map[linkKey]int64           // the conversation of a (kind, value)
}

var _ crm.Store = (*Memory)(nil)

type memCustomer struct {
	crm.Customer // without ExternalIDs, Segment* (kept in maps)
	ext          []crm.ExternalID
}

type memMessage struct {
	crm.Message
	channel crm.Channel
	replyTo int64 // the customer message an interaction's reply answers
}

type memEscalation struct {
	crm.Escalation
	messageID int64 // the message whose interaction opened it
}

type convKey struct {
	customer int64
	channel  crm.Channel
	ref      string
}

type chanMsgKey struct {
	channel crm.Channel
	id      string
}

type linkKey struct{ kind, value string }

// MemoryOption configures a Memory.
type MemoryOption func(*Memory)

// WithClock makes the store take its timestamps from now (default time.Now).
func WithClock(now func() time.Time) MemoryOption { return func(m *Memory) { m.now = now } }

// WithRedactor applies redact to message and label texts before they
// are stored, as crm/sqlite's option of the same name does.
func WithRedactor(redact func(string) string) MemoryOption {
	return func(m *Memory) { m.redact = redact }
}

// NewMemory returns an empty in-memory store.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{
		now:        time.Now,
		customers:  map[int64]*memCustomer{},
		extIDs:     map[crm.ExternalID]int64{},
		convs:      map[int64]*crm.Conversation{},
		convByRef:  map[convKey]int64{},
		msgs:       map[int64]*memMessage{},
		convMsgs:   map[int64][]int64{},
		replies:    map[int64][]int64{},
		byChanID:   map[chanMsgKey]int64{},
		escs:       map[int64]*memEscalation{},
		convEscs:   map[int64][]int64{},
		orders:     map[int64]*crm.Order{},
		orderRefs:  map[string]int64{},
		staff:      map[int64]*crm.StaffUser{},
		staffEmail: map[string]int64{},
		sessions:   map[string]crm.Session{},
		labels:     map[int64]*crm.Label{},
		models:     map[int64]*crm.ModelVersion{},
		segments:   map[int64]crm.SegmentAssignment{},
		outbox:     map[int64]*crm.OutboxItem{},
		outboxKeys: map[string]int64{},
		links:      map[int64]map[string]string{},
		linkOwners: map[linkKey]int64{},
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

var errClosed = errors.New("memory store closed")

// lock takes the mutex, failing on a closed store or a done context.
func (m *Memory) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errClosed
	}
	return nil
}

func (m *Memory) stamp(t time.Time) time.Time {
	if t.IsZero() {
		return m.now().UTC()
	}
	return t.UTC()
}

func (m *Memory) nextID() int64 { m.seq++; return m.seq }

// Close marks the store closed; later calls fail.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// prepareMessage applies redact and copies a message for storage.
func prepareMessage(msg crm.Message, redact func(string) string) (crm.Message, error) {
	msg, err := copyMessage(msg).Redacted(redact)
	msg.Expired, msg.ExpiredAt = "", time.Time{} // the store's to set
	return msg, err
}

// LogInteraction implements crm.Store.
func (m *Memory) LogInteraction(ctx context.Context, in crm.Interaction) (crm.Logged, error) {
	if err := in.Validate(); err != nil {
		return crm.Logged{}, fmt.Errorf("log interaction: %w", err)
	}
	redact := m.redactorFor(in.Channel)
	msg, err := prepareMessage(in.Message, redact)
	if err != nil {
		return crm.Logged{}, fmt.Errorf("log interaction: %w", err)
	}
	replies := make([]crm.Message, len(in.Replies))
	for i, r := range in.Replies {
		if replies[i], err = prepareMessage(r, redact); err != nil {
			return crm.Logged{}, fmt.Errorf("log interaction: reply %d: %w", i, err)
		}
	}
	if err := m.lock(ctx); err != nil {
		return crm.Logged{}, fmt.Errorf("log interaction: %w", err)
	}
	defer m.mu.Unlock()

	if msg.ChannelMsgID != "" {
		if id, ok := m.byChanID[chanMsgKey{in.Channel, msg.ChannelMsgID}]; ok {
			return m.duplicate(id), nil
		}
	}
	// Plan: every check that can fail happens before anything changes.
	ts := m.stamp(msg.CreatedAt)
	custID, known := m.extIDs[in.Customer]
	var conv crm.Conversation
	switch {
	case in.ConversationID != 0:
		c, ok := m.convs[in.ConversationID]
		if !ok {
			return crm.Logged{}, fmt.Errorf("log interaction: conversation %d: %w", in.ConversationID, crm.ErrNotFound)
		}
		if !known || c.CustomerID != custID {
			return crm.Logged{}, fmt.Errorf("log interaction: %w: conversation %d belongs to another customer", crm.ErrInvalid, c.ID)
		}
		if c.Channel != in.Channel {
			return crm.Logged{}, fmt.Errorf("log interaction: %w: conversation %d is on channel %s, not %s", crm.ErrInvalid, c.ID, c.Channel, in.Channel)
		}
		conv = copyConversation(*c)
	case known:
		conv = m.latestConversation(custID, in.Channel, in.ConversationRef)
	}
	if conv.ID == 0 {
		conv = crm.Conversation{Channel: in.Channel, Ref: in.ConversationRef, State: crm.StateBot, CreatedAt: ts, UpdatedAt: ts}
	}
	for _, a := range append([]crm.Message{msg}, replies...) {
		if _, ok := m.staff[a.AuthorID]; a.AuthorID != 0 && !ok {
			return crm.Logged{}, fmt.Errorf("log interaction: author %d: %w", a.AuthorID, crm.ErrNotFound)
		}
	}
	seen := map[string]bool{msg.ChannelMsgID: msg.ChannelMsgID != ""}
	for i := range replies {
		replies[i].CreatedAt = stampOr(replies[i].CreatedAt, ts)
		if id := replies[i].ChannelMsgID; id != "" {
			if _, dup := m.byChanID[chanMsgKey{in.Channel, id}]; dup || seen[id] {
				return crm.Logged{}, fmt.Errorf("log interaction: %w: reply channel message id %q exists", crm.ErrConflict, id)
			}
			seen[id] = true
		}
	}
	var open *crm.Escalation
	if conv.ID != 0 {
		open = m.openEscalation(conv.ID)
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
		reason := cmp.Or(in.Escalate, crm.EscalationByBot)
		if conv, esc, err = conv.Transition(open, target, assignee, reason, "", ts); err != nil {
			return crm.Logged{}, fmt.Errorf("log interaction: %w", err)
		}
	}

	// Apply.
	if !known {
		custID = m.nextID()
		m.customers[custID] = &memCustomer{
			Customer: crm.Customer{ID: custID, Name: in.CustomerName, Email: in.CustomerEmail, CreatedAt: ts},
			ext:      []crm.ExternalID{in.Customer},
		}
		m.extIDs[in.Customer] = custID
	}
	if conv.ID == 0 {
		conv.ID = m.nextID()
		conv.CustomerID = custID
		if esc != nil {
			esc.ConversationID = conv.ID
		}
		m.convByRef[convKey{custID, conv.Channel, conv.Ref}] = conv.ID
	}
	if in.State != "" {
		conv.Slots = copySlots(in.Slots)
		conv.Fallbacks = in.Fallbacks
	}
	msg.ID, msg.ConversationID, msg.CreatedAt = m.nextID(), conv.ID, ts
	m.putMessage(in.Channel, msg, 0)
	out := crm.Logged{CustomerID: custID, ConversationID: conv.ID, MessageID: msg.ID}
	latest := ts
	for _, r := range replies {
		r.ID, r.ConversationID = m.nextID(), conv.ID
		m.putMessage(in.Channel, r, msg.ID)
		out.Replies = append(out.Replies, copyMessage(r))
		latest = maxTime(latest, r.CreatedAt)
	}
	conv.UpdatedAt = maxTime(conv.UpdatedAt, latest)
	m.convs[conv.ID] = &conv
	if esc != nil {
		if esc.ID == 0 {
			m.putEscalation(esc, msg.ID)
			out.EscalationID = esc.ID
		} else {
			m.escs[esc.ID].Escalation = *esc
		}
	}
	if in.Escalate != "" && out.EscalationID == 0 {
		if e := m.openEscalation(conv.ID); e != nil {
			out.EscalationID = e.ID
		}
	}
	return out, nil
}

func stampOr(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t.UTC()
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (m *Memory) putMessage(ch crm.Channel, msg crm.Message, replyTo int64) {
	m.msgs[msg.ID] = &memMessage{Message: msg, channel: ch, replyTo: replyTo}
	m.convMsgs[msg.ConversationID] = append(m.convMsgs[msg.ConversationID], msg.ID)
	if replyTo != 0 {
		m.replies[replyTo] = append(m.replies[replyTo], msg.ID)
	}
	if msg.ChannelMsgID != "" {
		m.byChanID[chanMsgKey{ch, msg.ChannelMsgID}] = msg.ID
	}
}

// putEscalation stores a new escalation, opened by the interaction of
// message messageID (0 for none), giving it an id.
func (m *Memory) putEscalation(e *crm.Escalation, messageID int64) {
	e.ID = m.nextID()
	m.escs[e.ID] = &memEscalation{Escalation: *e, messageID: messageID}
	m.convEscs[e.ConversationID] = append(m.convEscs[e.ConversationID], e.ID)
}

// duplicate answers a redelivered message with what was logged for it.
func (m *Memory) duplicate(id int64) crm.Logged {
	msg := m.msgs[id]
	out := crm.Logged{
		CustomerID:     m.convs[msg.ConversationID].CustomerID,
		ConversationID: msg.ConversationID,
		MessageID:      id,
		Duplicate:      true,
	}
	out.Replies = m.messagesOf(m.replies[id])
	for _, eid := range m.convEscs[msg.ConversationID] {
		if m.escs[eid].messageID == id {
			out.EscalationID = eid
		}
	}
	return out
}

// latestConversation returns the customer's newest conversation on ch
// with ref (zero when none).
func (m *Memory) latestConversation(custID int64, ch crm.Channel, ref string) crm.Conversation {
	id, ok := m.convByRef[convKey{custID, ch, ref}]
	if !ok {
		return crm.Conversation{}
	}
	return copyConversation(*m.convs[id])
}

func (m *Memory) openEscalation(convID int64) *crm.Escalation {
	for _, id := range m.convEscs[convID] {
		if e := m.escs[id]; e.Status != crm.EscalationResolved {
			c := e.Escalation
			return &c
		}
	}
	return nil
}

// messagesOf returns copies of the messages with ids, in conversation
// order: by time, then id.
func (m *Memory) messagesOf(ids []int64) []crm.Message {
	var out []crm.Message
	for _, id := range ids {
		out = append(out, copyMessage(m.msgs[id].Message))
	}
	sortMessages(out)
	return out
}

func sortMessages(ms []crm.Message) {
	slices.SortFunc(ms, func(a, b crm.Message) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
}

// sortedMessages returns copies of the messages keep selects, in
// conversation order: by time, then id.
func (m *Memory) sortedMessages(keep func(*memMessage) bool) []crm.Message {
	var out []crm.Message
	for _, msg := range m.msgs {
		if keep(msg) {
			out = append(out, copyMessage(msg.Message))
		}
	}
	sortMessages(out)
	return out
}

// AddMessage implements crm.Store.
func (m *Memory) AddMessage(ctx context.Context, msg crm.Message) (crm.Message, error) {
	if err := msg.Validate(); err != nil {
		return crm.Message{}, fmt.Errorf("add message: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return crm.Message{}, fmt.Errorf("add message: %w", err)
	}
	defer m.mu.Unlock()
	conv, ok := m.convs[msg.ConversationID]
	if !ok {
		return crm.Message{}, fmt.Errorf("add message: conversation %d: %w", msg.ConversationID, crm.ErrNotFound)
	}
	msg, err := prepareMessage(msg, m.redactorFor(conv.Channel))
	if err != nil {
		return crm.Message{}, fmt.Errorf("add message: %w", err)
	}
	if msg.ChannelMsgID != "" {
		if id, ok := m.byChanID[chanMsgKey{conv.Channel, msg.ChannelMsgID}]; ok {
			return copyMessage(m.msgs[id].Message), nil
		}
	}
	if msg.AuthorID != 0 {
		if _, ok := m.staff[msg.AuthorID]; !ok {
			return crm.Message{}, fmt.Errorf("add message: author %d: %w", msg.AuthorID, crm.ErrNotFound)
		}
	}
	msg.ID = m.nextID()
	msg.CreatedAt = m.stamp(msg.CreatedAt)
	m.putMessage(conv.Channel, msg, 0)
	conv.UpdatedAt = maxTime(conv.UpdatedAt, msg.CreatedAt)
	return copyMessage(msg), nil
}

func (m *Memory) customer(id int64) crm.Customer {
	c := m.customers[id]
	out := c.Customer
	out.ExternalIDs = slices.Clone(c.ext)
	if a, ok := m.segments[id]; ok {
		out.Segment, out.SegmentProfile = a.Segment, a.Profile
	}
	return out
}

// Customer implements crm.Store.
func (m *Memory) Customer(ctx context.Context, id int64) (crm.Customer, error) {
	if err := m.lock(ctx); err != nil {
		return crm.Customer{}, fmt.Errorf("customer %d: %w", id, err)
	}
	defer m.mu.Unlock()
	if _, ok := m.customers[id]; !ok {
		return crm.Customer{}, fmt.Errorf("customer %d: %w", id, crm.ErrNotFound)
	}
	return m.customer(id), nil
}

// CustomerByExternalID implements crm.Store.
func (m *Memory) CustomerByExternalID(ctx context.Context, ref crm.ExternalID) (crm.Customer, error) {
	if err := ref.Validate(); err != nil {
		return crm.Customer{}, fmt.Errorf("customer by external id: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return crm.Customer{}, fmt.Errorf("customer by external id: %w", err)
	}
	defer m.mu.Unlock()
	id, ok := m.extIDs[ref]
	if !ok {
		return crm.Customer{}, fmt.Errorf("customer %s %q: %w", ref.Kind, ref.Value, crm.ErrNotFound)
	}
	return m.customer(id), nil
}

// FindOrCreateCustomer implements crm.Store.
func (m *Memory) FindOrCreateCustomer(ctx context.Context, ref crm.ExternalID, name, email string) (crm.Customer, error) {
	if err := ref.Validate(); err != nil {
		return crm.Customer{}, fmt.Errorf("find or create customer: %w", err)
	}
	if err := checkShort("customer name", name, "customer email", email); err != nil {
		return crm.Customer{}, fmt.Errorf("find or create customer: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return crm.Customer{}, fmt.Errorf("find or create customer: %w", err)
	}
	defer m.mu.Unlock()
	if id, ok := m.extIDs[ref]; ok {
		return m.customer(id), nil
	}
	id := m.nextID()
	m.customers[id] = &memCustomer{
		Customer: crm.Customer{ID: id, Name: name, Email: email, CreatedAt: m.stamp(time.Time{})},
		ext:      []crm.ExternalID{ref},
	}
	m.extIDs[ref] = id
	return m.customer(id), nil
}

func checkShort(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if err := crm.CheckText(fields[i], fields[i+1], crm.MaxShortBytes); err != nil {
			return err
		}
	}
	return nil
}

// LinkExternalID implements crm.Store.
func (m *Memory) LinkExternalID(ctx context.Context, customerID int64, ref crm.ExternalID) error {
	if err := ref.Validate(); err != nil {
		return fmt.Errorf("link external id: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return fmt.Errorf("link external id: %w", err)
	}
	defer m.mu.Unlock()
	c, ok := m.customers[customerID]
	if !ok {
		return fmt.Errorf("link external id: customer %d: %w", customerID, crm.ErrNotFound)
	}
	if other, ok := m.extIDs[ref]; ok {
		if other == customerID {
			return nil
		}
		return fmt.Errorf("link external id: %w: %s %q belongs to another customer", crm.ErrConflict, ref.Kind, ref.Value)
	}
	m.extIDs[ref] = customerID
	c.ext = append(c.ext, ref)
	return nil
}

// Customers implements crm.Store.
func (m *Memory) Customers(ctx context.Context, afterID int64, limit int) ([]crm.Customer, error) {
	n, err := crm.Limit(limit)
	if err != nil {
		return nil, fmt.Errorf("customers: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("customers: %w", err)
	}
	defer m.mu.Unlock()
	ids := slices.Sorted(maps.Keys(m.customers))
	var out []crm.Customer
	for _, id := range ids {
		if id > afterID && len(out) < n {
			out = append(out, m.customer(id))
		}
	}
	return out, nil
}

// DeleteCustomer implements crm.Store.
func (m *Memory) DeleteCustomer(ctx context.Context, id int64) error {
	if err := m.lock(ctx); err != nil {
		return fmt.Errorf("delete customer %d: %w", id, err)
	}
	defer m.mu.Unlock()
	c, ok := m.customers[id]
	if !ok {
		return fmt.Errorf("delete customer %d: %w", id, crm.ErrNotFound)
	}
	for _, ref := range c.ext {
		delete(m.extIDs, ref)
	}
	gone := map[int64]bool{} // the customer's messages
	for cid, conv := range m.convs {
		if conv.CustomerID != id {
			continue
		}
		for _, mid := range m.convMsgs[cid] {
			msg := m.msgs[mid]
			gone[mid] = true
			if msg.ChannelMsgID != "" {
				delete(m.byChanID, chanMsgKey{msg.channel, msg.ChannelMsgID})
			}
			delete(m.replies, mid)
			delete(m.msgs, mid)
		}
		for _, eid := range m.convEscs[cid] {
			delete(m.escs, eid)
		}
		delete(m.convMsgs, cid)
		delete(m.convEscs, cid)
		m.deleteOutboxOf(cid)
		delete(m.convByRef, convKey{id, conv.Channel, conv.Ref})
		delete(m.convs, cid)
	}
	for lid, l := range m.labels {
		if gone[l.MessageID] {
			delete(m.labels, lid)
		}
	}
	for oid, o := range m.orders {
		if o.CustomerID == id {
			delete(m.orderRefs, o.Ref)
			delete(m.orders, oid)
		}
	}
	delete(m.segments, id)
	delete(m.customers, id)
	return nil
}

// Conversation implements crm.Store.
func (m *Memory) Conversation(ctx context.Context, id int64) (crm.Conversation, error) {
	if err := m.lock(ctx); err != nil {
		return crm.Conversation{}, fmt.Errorf("conversation %d: %w", id, err)
	}
	defer m.mu.Unlock()
	c, ok := m.convs[id]
	if !ok {
		return crm.Conversation{}, fmt.Errorf("conversation %d: %w", id, crm.ErrNotFound)
	}
	return copyConversation(*c), nil
}

// Conversations implements crm.Store.
func (m *Memory) Conversations(ctx context.Context, f crm.ConversationFilter) ([]crm.Conversation, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("conversations: %w", err)
	}
	n, _ := crm.Limit(f.Limit)
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("conversations: %w", err)
	}
	defer m.mu.Unlock()
	var out []crm.Conversation
	for _, c := range m.convs {
		if (len(f.States) == 0 || slices.Contains(f.States, c.State)) &&
			(f.AssigneeID == 0 || c.AssigneeID == f.AssigneeID) &&
			(f.CustomerID == 0 || c.CustomerID == f.CustomerID) &&
			(f.Channel == "" || c.Channel == f.Channel) {
			out = append(out, copyConversation(*c))
		}
	}
	slices.SortFunc(out, func(a, b crm.Conversation) int {
		return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), cmp.Compare(b.ID, a.ID))
	})
	return out[:min(n, len(out))], nil
}

// Messages implements crm.Store.
func (m *Memory) Messages(ctx context.Context, conversationID int64) ([]crm.Message, error) {
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("messages of conversation %d: %w", conversationID, err)
	}
	defer m.mu.Unlock()
	if _, ok := m.convs[conversationID]; !ok {
		return nil, fmt.Errorf("messages of conversation %d: %w", conversationID, crm.ErrNotFound)
	}
	return m.messagesOf(m.convMsgs[conversationID]), nil
}

// SetState implements crm.Store.
func (m *Memory) SetState(ctx context.Context, conversationID int64, s crm.State, assigneeID int64, resolution string) (crm.Conversation, error) {
	// The arguments first, as crm/sqlite checks them: Transition on an
	// empty conversation fails on exactly what the real one would.
	if _, _, err := (crm.Conversation{}).Transition(nil, s, assigneeID, crm.EscalationByStaff, resolution, time.Time{}); err != nil {
		return crm.Conversation{}, fmt.Errorf("set state of conversation %d: %w", conversationID, err)
	}
	if err := m.lock(ctx); err != nil {
		return crm.Conversation{}, fmt.Errorf("set state of conversation %d: %w", conversationID, err)
	}
	defer m.mu.Unlock()
	c, ok := m.convs[conversationID]
	if !ok {
		return crm.Conversation{}, fmt.Errorf("set state of conversation %d: %w", conversationID, crm.ErrNotFound)
	}
	next, esc, err := c.Transition(m.openEscalation(c.ID), s, assigneeID, crm.EscalationByStaff, resolution, m.stamp(time.Time{}))
	if err != nil {
		return crm.Conversation{}, fmt.Errorf("set state of conversation %d: %w", conversationID, err)
	}
	if assigneeID != 0 {
		if _, ok := m.staff[assigneeID]; !ok {
			return crm.Conversation{}, fmt.Errorf("set state of conversation %d: assignee %d: %w", conversationID, assigneeID, crm.ErrNotFound)
		}
	}
	*c = next
	if esc != nil {
		if esc.ID == 0 {
			m.putEscalation(esc, 0)
		} else {
			m.escs[esc.ID].Escalation = *esc
		}
	}
	return copyConversation(*c), nil
}

// Escalations implements crm.Store.
func (m *Memory) Escalations(ctx context.Context, conversationID int64) ([]crm.Escalation, error) {
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("escalations of conversation %d: %w", conversationID, err)
	}
	defer m.mu.Unlock()
	if _, ok := m.convs[conversationID]; !ok {
		return nil, fmt.Errorf("escalations of conversation %d: %w", conversationID, crm.ErrNotFound)
	}
	return m.escalations(conversationID), nil
}

func (m *Memory) escalations(conversationID int64) []crm.Escalation {
	var out []crm.Escalation
	for _, id := range m.convEscs[conversationID] {
		out = append(out, m.escs[id].Escalation)
	}
	return out
}

// InboxMessages implements crm.Store.
func (m *Memory) InboxMessages(ctx context.Context, f crm.MessageFilter) ([]crm.Message, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("inbox messages: %w", err)
	}
	n, _ := crm.Limit(f.Limit)
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("inbox messages: %w", err)
	}
	defer m.mu.Unlock()
	anyCond := f.MaxConfidence > 0 || f.OutOfScope || len(f.Actions) > 0
	out := m.sortedMessages(func(msg *memMessage) bool {
		if msg.Direction != crm.FromCustomer || (!f.Since.IsZero() && msg.CreatedAt.Before(f.Since)) || msg.Expired == crm.ExpireDelete {
			return false
		}
		return !anyCond ||
			(f.MaxConfidence > 0 && msg.Confidence < f.MaxConfidence) ||
			(f.OutOfScope && msg.OutOfScope) ||
			slices.Contains(f.Actions, msg.Action)
	})
	slices.Reverse(out)
	return out[:min(n, len(out))], nil
}

// AddOrder implements crm.Store.
func (m *Memory) AddOrder(ctx context.Context, o crm.Order) (crm.Order, error) {
	if err := o.Validate(); err != nil {
		return crm.Order{}, fmt.Errorf("add order: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return crm.Order{}, fmt.Errorf("add order: %w", err)
	}
	defer m.mu.Unlock()
	if _, ok := m.customers[o.CustomerID]; !ok {
		return crm.Order{}, fmt.Errorf("add order: customer %d: %w", o.CustomerID, crm.ErrNotFound)
	}
	if o.Ref != "" {
		if _, dup := m.orderRefs[o.Ref]; dup {
			return crm.Order{}, fmt.Errorf("add order: %w: order ref %q exists", crm.ErrConflict, o.Ref)
		}
	}
	o.ID = m.nextID()
	o.CreatedAt = m.stamp(o.CreatedAt)
	m.orders[o.ID] = &o
	if o.Ref != "" {
		m.orderRefs[o.Ref] = o.ID
	}
	return o, nil
}

// Orders implements crm.Store.
func (m *Memory) Orders(ctx context.Context, customerID int64) ([]crm.Order, error) {
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("orders of customer %d: %w", customerID, err)
	}
	defer m.mu.Unlock()
	if _, ok := m.customers[customerID]; !ok {
		return nil, fmt.Errorf("orders of customer %d: %w", customerID, crm.ErrNotFound)
	}
	return m.customerOrders(customerID), nil
}

func (m *Memory) customerOrders(customerID int64) []crm.Order {
	var out []crm.Order
	for _, o := range m.orders {
		if o.CustomerID == customerID {
			out = append(out, *o)
		}
	}
	slices.SortFunc(out, func(a, b crm.Order) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// CreateStaff implements crm.Store.
func (m *Memory) CreateStaff(ctx context.Context, u crm.StaffUser) (crm.StaffUser, error) {
	if err := u.Validate(); err != nil {
		return crm.StaffUser{}, fmt.Errorf("create staff: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return crm.StaffUser{}, fmt.Errorf("create staff: %w", err)
	}
	defer m.mu.Unlock()
	key := crm.FoldEmail(u.Email)
	if _, dup := m.staffEmail[key]; dup {
		return crm.StaffUser{}, fmt.Errorf("create staff: %w: email %q is taken", crm.ErrConflict, u.Email)
	}
	u.ID = m.nextID()
	u.CreatedAt = m.stamp(u.CreatedAt)
	m.staff[u.ID] = &u
	m.staffEmail[key] = u.ID
	return u, nil
}

// Staff implements crm.Store.
func (m *Memory) Staff(ctx context.Context, id int64) (crm.StaffUser, error) {
	if err := m.lock(ctx); err != nil {
		return crm.StaffUser{}, fmt.Errorf("staff %d: %w", id, err)
	}
	defer m.mu.Unlock()
	u, ok := m.staff[id]
	if !ok {
		return crm.StaffUser{}, fmt.Errorf("staff %d: %w", id, crm.ErrNotFound)
	}
	return *u, nil
}

// StaffByEmail implements crm.Store.
func (m *Memory) StaffByEmail(ctx context.Context, email string) (crm.StaffUser, error) {
	if err := m.lock(ctx); err != nil {
		return crm.StaffUser{}, fmt.Errorf("staff by email: %w", err)
	}
	defer m.mu.Unlock()
	id, ok := m.staffEmail[crm.FoldEmail(email)]
	if !ok {
		return crm.StaffUser{}, fmt.Errorf("staff by email: %w", crm.ErrNotFound)
	}
	return *m.staff[id], nil
}

// ListStaff implements crm.Store.
func (m *Memory) ListStaff(ctx context.Context) ([]crm.StaffUser, error) {
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	defer m.mu.Unlock()
	var out []crm.StaffUser
	for _, id := range slices.Sorted(maps.Keys(m.staff)) {
		out = append(out, *m.staff[id])
	}
	return out, nil
}

// UpdateStaff implements crm.Store.
func (m *Memory) UpdateStaff(ctx context.Context, u crm.StaffUser) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("update staff %d: %w", u.ID, err)
	}
	if err := m.lock(ctx); err != nil {
		return fmt.Errorf("update staff %d: %w", u.ID, err)
	}
	defer m.mu.Unlock()
	old, ok := m.staff[u.ID]
	if !ok {
		return fmt.Errorf("update staff %d: %w", u.ID, crm.ErrNotFound)
	}
	key := crm.FoldEmail(u.Email)
	if other, ok := m.staffEmail[key]; ok && other != u.ID {
		return fmt.Errorf("update staff %d: %w: email %q is taken", u.ID, crm.ErrConflict, u.Email)
	}
	delete(m.staffEmail, crm.FoldEmail(old.Email))
	m.staffEmail[key] = u.ID
	old.Email, old.Name, old.Role, old.Disabled = u.Email, u.Name, u.Role, u.Disabled
	if u.PasswordHash != "" {
		old.PasswordHash = u.PasswordHash
	}
	return nil
}

// CreateSession implements crm.Store.
func (m *Memory) CreateSession(ctx context.Context, s crm.Session) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	defer m.mu.Unlock()
	if _, ok := m.staff[s.StaffID]; !ok {
		return fmt.Errorf("create session: staff %d: %w", s.StaffID, crm.ErrNotFound)
	}
	if _, dup := m.sessions[s.TokenHash]; dup {
		return fmt.Errorf("create session: %w: token hash exists", crm.ErrConflict)
	}
	s.CreatedAt = m.stamp(s.CreatedAt)
	s.ExpiresAt = s.ExpiresAt.UTC()
	m.sessions[s.TokenHash] = s
	return nil
}

// Session implements crm.Store.
func (m *Memory) Session(ctx context.Context, tokenHash string, now time.Time) (crm.Session, error) {
	if err := m.lock(ctx); err != nil {
		return crm.Session{}, fmt.Errorf("session: %w", err)
	}
	defer m.mu.Unlock()
	s, ok := m.sessions[tokenHash]
	if !ok || !s.ExpiresAt.After(now) {
		return crm.Session{}, fmt.Errorf("session: %w", crm.ErrNotFound)
	}
	return s, nil
}

// DeleteSession implements crm.Store.
func (m *Memory) DeleteSession(ctx context.Context, tokenHash string) error {
	if err := m.lock(ctx); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	defer m.mu.Unlock()
	if _, ok := m.sessions[tokenHash]; !ok {
		return fmt.Errorf("delete session: %w", crm.ErrNotFound)
	}
	delete(m.sessions, tokenHash)
	return nil
}

// AddLabel implements crm.Store.
func (m *Memory) AddLabel(ctx context.Context, l crm.Label) (crm.Label, error) {
	if err := l.Validate(); err != nil {
		return crm.Label{}, fmt.Errorf("add label: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return crm.Label{}, fmt.Errorf("add label: %w", err)
	}
	defer m.mu.Unlock()
	if _, ok := m.msgs[l.MessageID]; l.MessageID != 0 && !ok {
		return crm.Label{}, fmt.Errorf("add label: message %d: %w", l.MessageID, crm.ErrNotFound)
	}
	if l.StaffID != 0 {
		if _, ok := m.staff[l.StaffID]; !ok {
			return crm.Label{}, fmt.Errorf("add label: staff %d: %w", l.StaffID, crm.ErrNotFound)
		}
	}
	if l.Text != "" && m.redact != nil {
		l.Text = m.redact(l.Text)
		if err := l.Validate(); err != nil {
			return crm.Label{}, fmt.Errorf("add label: after redaction: %w", err)
		}
	}
	if l.MessageID != 0 && l.Text == "" {
		msg := m.msgs[l.MessageID]
		if msg.Expired == crm.ExpireDelete {
			return crm.Label{}, fmt.Errorf("add label: message %d: %w", l.MessageID, crm.ErrTextDeleted)
		}
		l.Text = msg.Text // stored redacted already
	}
	l.ID = m.nextID()
	l.CreatedAt = m.stamp(l.CreatedAt)
	m.labels[l.ID] = &l
	return l, nil
}

// Labels implements crm.Store.
func (m *Memory) Labels(ctx context.Context) ([]crm.Label, error) {
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	defer m.mu.Unlock()
	return m.sortedLabels(func(*crm.Label) bool { return true }), nil
}

func (m *Memory) sortedLabels(keep func(*crm.Label) bool) []crm.Label {
	var out []crm.Label
	for _, l := range m.labels {
		if keep(l) {
			out = append(out, *l)
		}
	}
	slices.SortFunc(out, func(a, b crm.Label) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// SaveModelVersion implements crm.Store.
func (m *Memory) SaveModelVersion(ctx context.Context, v crm.ModelVersion) (crm.ModelVersion, error) {
	if err := v.Validate(); err != nil {
		return crm.ModelVersion{}, fmt.Errorf("save model version: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return crm.ModelVersion{}, fmt.Errorf("save model version: %w", err)
	}
	defer m.mu.Unlock()
	for _, o := range m.models {
		if o.Kind == v.Kind && o.Version == v.Version {
			return crm.ModelVersion{}, fmt.Errorf("save model version: %w: %s model %q exists", crm.ErrConflict, v.Kind, v.Version)
		}
	}
	v.ID = m.nextID()
	v.CreatedAt = m.stamp(v.CreatedAt)
	v.Active, v.PromotedAt = false, time.Time{}
	v.Metrics = copyMetrics(v.Metrics)
	v.Artifact = copyBytes(v.Artifact)
	m.models[v.ID] = &v
	return copyModel(v, true), nil
}

// ModelVersions implements crm.Store.
func (m *Memory) ModelVersions(ctx context.Context, kind string) ([]crm.ModelVersion, error) {
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("model versions: %w", err)
	}
	defer m.mu.Unlock()
	var out []crm.ModelVersion
	for _, v := range m.models {
		if v.Kind == kind {
			out = append(out, copyModel(*v, false))
		}
	}
	slices.SortFunc(out, func(a, b crm.ModelVersion) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	return out, nil
}

// ModelVersion implements crm.Store.
func (m *Memory) ModelVersion(ctx context.Context, id int64) (crm.ModelVersion, error) {
	if err := m.lock(ctx); err != nil {
		return crm.ModelVersion{}, fmt.Errorf("model version %d: %w", id, err)
	}
	defer m.mu.Unlock()
	v, ok := m.models[id]
	if !ok {
		return crm.ModelVersion{}, fmt.Errorf("model version %d: %w", id, crm.ErrNotFound)
	}
	return copyModel(*v, true), nil
}

// ActiveModel implements crm.Store.
func (m *Memory) ActiveModel(ctx context.Context, kind string) (crm.ModelVersion, error) {
	if err := m.lock(ctx); err != nil {
		return crm.ModelVersion{}, fmt.Errorf("active %s model: %w", kind, err)
	}
	defer m.mu.Unlock()
	for _, v := range m.models {
		if v.Kind == kind && v.Active {
			return copyModel(*v, true), nil
		}
	}
	return crm.ModelVersion{}, fmt.Errorf("active %s model: %w", kind, crm.ErrNotFound)
}

// PromoteModel implements crm.Store.
func (m *Memory) PromoteModel(ctx context.Context, id int64) error {
	if err := m.lock(ctx); err != nil {
		return fmt.Errorf("promote model %d: %w", id, err)
	}
	defer m.mu.Unlock()
	v, ok := m.models[id]
	if !ok {
		return fmt.Errorf("promote model %d: %w", id, crm.ErrNotFound)
	}
	for _, o := range m.models {
		if o.Kind == v.Kind {
			o.Active = false
		}
	}
	v.Active, v.PromotedAt = true, m.stamp(time.Time{})
	return nil
}

// SaveSegments implements crm.Store.
func (m *Memory) SaveSegments(ctx context.Context, as []crm.SegmentAssignment) error {
	if err := crm.ValidateSegments(as); err != nil {
		return fmt.Errorf("save segments: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return fmt.Errorf("save segments: %w", err)
	}
	defer m.mu.Unlock()
	for _, a := range as {
		if _, ok := m.customers[a.CustomerID]; !ok {
			return fmt.Errorf("save segments: customer %d: %w", a.CustomerID, crm.ErrNotFound)
		}
	}
	clear(m.segments)
	for _, a := range as {
		m.segments[a.CustomerID] = a
	}
	return nil
}

// SaveLeadScores implements crm.Store.
func (m *Memory) SaveLeadScores(ctx context.Context, scores []crm.LeadScore, at time.Time) error {
	if err := crm.ValidateLeadScores(scores, at); err != nil {
		return fmt.Errorf("save lead scores: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return fmt.Errorf("save lead scores: %w", err)
	}
	defer m.mu.Unlock()
	for _, s := range scores {
		if _, ok := m.customers[s.CustomerID]; !ok {
			return fmt.Errorf("save lead scores: customer %d: %w", s.CustomerID, crm.ErrNotFound)
		}
	}
	at = m.stamp(at)
	for _, s := range scores {
		c := m.customers[s.CustomerID]
		c.LeadScore, c.ScoredAt = s.Score, at
	}
	return nil
}

// Stats implements crm.Store.
func (m *Memory) Stats(ctx context.Context, asOf time.Time) ([]crm.CustomerStats, error) {
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	defer m.mu.Unlock()
	acc := crm.NewStatsBuilder(asOf)
	for _, id := range slices.Sorted(maps.Keys(m.customers)) {
		acc.Customer(id, m.customers[id].CreatedAt)
	}
	for _, o := range m.orders {
		acc.Order(o.CustomerID, o.Amount, o.CreatedAt)
	}
	for _, c := range m.convs {
		acc.Conversation(c.CustomerID, c.CreatedAt)
	}
	for _, e := range m.escs {
		acc.Escalation(m.convs[e.ConversationID].CustomerID, e.CreatedAt)
	}
	for _, cid := range slices.Sorted(maps.Keys(m.convs)) {
		for _, msg := range m.messagesOf(m.convMsgs[cid]) {
			acc.Message(m.convs[cid].CustomerID, msg)
		}
	}
	return acc.Stats(), nil
}

// OrdersBetween implements crm.Store.
func (m *Memory) OrdersBetween(ctx context.Context, from, to time.Time) (map[int64]int, error) {
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("orders between: %w", err)
	}
	defer m.mu.Unlock()
	out := map[int64]int{}
	for _, o := range m.orders {
		if !o.CreatedAt.Before(from) && o.CreatedAt.Before(to) {
			out[o.CustomerID]++
		}
	}
	return out, nil
}

// Export implements crm.Store.
func (m *Memory) Export(ctx context.Context, customerID int64) (crm.CustomerExport, error) {
	if err := m.lock(ctx); err != nil {
		return crm.CustomerExport{}, fmt.Errorf("export customer %d: %w", customerID, err)
	}
	defer m.mu.Unlock()
	if _, ok := m.customers[customerID]; !ok {
		return crm.CustomerExport{}, fmt.Errorf("export customer %d: %w", customerID, crm.ErrNotFound)
	}
	out := crm.CustomerExport{Customer: m.customer(customerID), Orders: m.customerOrders(customerID)}
	msgIDs := map[int64]bool{}
	for _, cid := range slices.Sorted(maps.Keys(m.convs)) {
		c := m.convs[cid]
		if c.CustomerID != customerID {
			continue
		}
		msgs := m.messagesOf(m.convMsgs[cid])
		for _, msg := range msgs {
			msgIDs[msg.ID] = true
		}
		out.Conversations = append(out.Conversations, crm.ConversationExport{
			Conversation: copyConversation(*c), Messages: msgs, Escalations: m.escalations(cid),
		})
	}
	out.Labels = m.sortedLabels(func(l *crm.Label) bool { return msgIDs[l.MessageID] })
	if a, ok := m.segments[customerID]; ok {
		out.Segment = &a
	}
	return out, nil
}

// Copies, so that callers never share a map or slice with the store.
// Empty maps and slices become nil, as a database returns them.

func copyMessage(m crm.Message) crm.Message {
	m.Alternatives = copySlice(m.Alternatives)
	m.Entities = copySlice(m.Entities)
	m.QuickReplies = copySlice(m.QuickReplies)
	return m
}

func copySlice[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

func copyBytes(b []byte) []byte { return copySlice(b) }

func copySlots(s map[string]string) map[string]string {
	if len(s) == 0 {
		return nil
	}
	return maps.Clone(s)
}

func copyMetrics(s map[string]float64) map[string]float64 {
	if len(s) == 0 {
		return nil
	}
	return maps.Clone(s)
}

func copyConversation(c crm.Conversation) crm.Conversation {
	c.Slots = copySlots(c.Slots)
	return c
}

func copyModel(v crm.ModelVersion, artifact bool) crm.ModelVersion {
	v.Metrics = copyMetrics(v.Metrics)
	if artifact {
		v.Artifact = copyBytes(v.Artifact)
	} else {
		v.Artifact = nil
	}
	return v
}
