package crmtest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/parley-chat/parley/crm"
)

// EnqueueOutbox implements crm.Store.
func (m *Memory) EnqueueOutbox(ctx context.Context, it crm.OutboxItem) (crm.OutboxItem, bool, error) {
	if err := it.Validate(); err != nil {
		return crm.OutboxItem{}, false, fmt.Errorf("enqueue outbox item: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return crm.OutboxItem{}, false, fmt.Errorf("enqueue outbox item %q: %w", it.Key, err)
	}
	defer m.mu.Unlock()
	if id, ok := m.outboxKeys[it.Key]; ok {
		return copyOutbox(*m.outbox[id]), false, nil
	}
	if it.ConversationID != 0 {
		if _, ok := m.convs[it.ConversationID]; !ok {
			return crm.OutboxItem{}, false, fmt.Errorf("enqueue outbox item %q: conversation %d: %w", it.Key, it.ConversationID, crm.ErrNotFound)
		}
	}
	now := m.now().UTC()
	stored := crm.OutboxItem{
		ID: m.nextID(), Key: it.Key, Channel: it.Channel, ConversationID: it.ConversationID, Kind: it.Kind,
		Payload: copyBytes(it.Payload), State: crm.OutboxPending, NextAt: stampOr(it.NextAt, now),
		CreatedAt: stampOr(it.CreatedAt, now),
	}
	m.outbox[stored.ID] = &stored
	m.outboxKeys[stored.Key] = stored.ID
	return copyOutbox(stored), true, nil
}

// DueOutbox implements crm.Store.
func (m *Memory) DueOutbox(ctx context.Context, ch crm.Channel, now time.Time, limit int) ([]crm.OutboxItem, error) {
	if !ch.Valid() {
		return nil, fmt.Errorf("due outbox: %w: channel %q", crm.ErrInvalid, ch)
	}
	n, err := crm.Limit(limit)
	if err != nil {
		return nil, fmt.Errorf("due outbox: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("due outbox: %w", err)
	}
	defer m.mu.Unlock()
	if now.IsZero() {
		now = m.now()
	}
	var out []crm.OutboxItem
	// In id order the first pending item of a conversation is its oldest:
	// it goes if due, and holds back the conversation's later ones either way.
	seen := map[int64]bool{}
	for _, id := range slices.Sorted(maps.Keys(m.outbox)) {
		it := m.outbox[id]
		if it.Channel != ch || it.State != crm.OutboxPending {
			continue
		}
		if it.ConversationID != 0 {
			if seen[it.ConversationID] {
				continue
			}
			seen[it.ConversationID] = true
		}
		if it.NextAt.After(now) {
			continue
		}
		out = append(out, copyOutbox(*it))
		if len(out) == n {
			break
		}
	}
	return out, nil
}

// pendingOutbox returns the item with id when it is pending, or the
// error to report.
func (m *Memory) pendingOutbox(id int64) (*crm.OutboxItem, error) {
	it, ok := m.outbox[id]
	if !ok {
		return nil, crm.ErrNotFound
	}
	if it.State != crm.OutboxPending {
		return nil, fmt.Errorf("%w: the item is %s, not pending", crm.ErrConflict, it.State)
	}
	return it, nil
}

// OutboxSent implements crm.Store.
func (m *Memory) OutboxSent(ctx context.Context, id int64, result string, at time.Time) error {
	if err := crm.CheckText("outbox result", result, crm.MaxShortBytes); err != nil {
		return fmt.Errorf("outbox item %d sent: %w", id, err)
	}
	if err := crm.CheckTime("outbox sent time", at); err != nil {
		return fmt.Errorf("outbox item %d sent: %w", id, err)
	}
	if err := m.lock(ctx); err != nil {
		return fmt.Errorf("outbox item %d sent: %w", id, err)
	}
	defer m.mu.Unlock()
	it, err := m.pendingOutbox(id)
	if err != nil {
		return fmt.Errorf("outbox item %d sent: %w", id, err)
	}
	it.State, it.Result, it.SentAt = crm.OutboxSent, result, m.stamp(at)
	return nil
}

// OutboxRetry implements crm.Store.
func (m *Memory) OutboxRetry(ctx context.Context, id int64, nextAt time.Time, errText string) error {
	if err := crm.CheckTime("outbox next time", nextAt); err != nil {
		return fmt.Errorf("retry outbox item %d: %w", id, err)
	}
	if err := m.lock(ctx); err != nil {
		return fmt.Errorf("retry outbox item %d: %w", id, err)
	}
	defer m.mu.Unlock()
	it, err := m.pendingOutbox(id)
	if err != nil {
		return fmt.Errorf("retry outbox item %d: %w", id, err)
	}
	it.Attempts++
	it.LastError, it.NextAt = crm.OutboxErrorText(errText), m.stamp(nextAt)
	return nil
}

// OutboxFailed implements crm.Store.
func (m *Memory) OutboxFailed(ctx context.Context, id int64, errText string) error {
	if err := m.lock(ctx); err != nil {
		return fmt.Errorf("fail outbox item %d: %w", id, err)
	}
	defer m.mu.Unlock()
	it, err := m.pendingOutbox(id)
	if err != nil {
		return fmt.Errorf("fail outbox item %d: %w", id, err)
	}
	it.Attempts++
	it.State, it.LastError = crm.OutboxFailed, crm.OutboxErrorText(errText)
	return nil
}

// OutboxItemByKey implements crm.Store.
func (m *Memory) OutboxItemByKey(ctx context.Context, key string) (crm.OutboxItem, error) {
	if key == "" {
		return crm.OutboxItem{}, fmt.Errorf("outbox item by key: %w: empty key", crm.ErrInvalid)
	}
	if err := m.lock(ctx); err != nil {
		return crm.OutboxItem{}, fmt.Errorf("outbox item %q: %w", key, err)
	}
	defer m.mu.Unlock()
	id, ok := m.outboxKeys[key]
	if !ok {
		return crm.OutboxItem{}, fmt.Errorf("outbox item %q: %w", key, crm.ErrNotFound)
	}
	return copyOutbox(*m.outbox[id]), nil
}

// OutboxDepth implements crm.Store.
func (m *Memory) OutboxDepth(ctx context.Context, ch crm.Channel) (int, error) {
	if !ch.Valid() {
		return 0, fmt.Errorf("outbox depth: %w: channel %q", crm.ErrInvalid, ch)
	}
	if err := m.lock(ctx); err != nil {
		return 0, fmt.Errorf("outbox depth: %w", err)
	}
	defer m.mu.Unlock()
	n := 0
	for _, it := range m.outbox {
		if it.Channel == ch && it.State == crm.OutboxPending {
			n++
		}
	}
	return n, nil
}

// SetConversationLink implements crm.Store.
func (m *Memory) SetConversationLink(ctx context.Context, conversationID int64, kind, value string) error {
	if err := crm.CheckLink(kind, value); err != nil {
		return fmt.Errorf("link conversation %d: %w", conversationID, err)
	}
	if err := m.lock(ctx); err != nil {
		return fmt.Errorf("link conversation %d: %w", conversationID, err)
	}
	defer m.mu.Unlock()
	if _, ok := m.convs[conversationID]; !ok {
		return fmt.Errorf("link conversation %d: %w", conversationID, crm.ErrNotFound)
	}
	if owner, ok := m.linkOwners[linkKey{kind, value}]; ok {
		if owner == conversationID {
			return nil
		}
		return fmt.Errorf("link conversation %d: %w: %s %q is linked to another conversation", conversationID, crm.ErrConflict, kind, value)
	}
	links := m.links[conversationID]
	if links == nil {
		links = map[string]string{}
		m.links[conversationID] = links
	}
	if old, ok := links[kind]; ok {
		delete(m.linkOwners, linkKey{kind, old})
	}
	links[kind] = value
	m.linkOwners[linkKey{kind, value}] = conversationID
	return nil
}

// ConversationByLink implements crm.Store.
func (m *Memory) ConversationByLink(ctx context.Context, kind, value string) (int64, error) {
	if err := crm.CheckLink(kind, value); err != nil {
		return 0, fmt.Errorf("conversation by link: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return 0, fmt.Errorf("conversation by %s %q: %w", kind, value, err)
	}
	defer m.mu.Unlock()
	id, ok := m.linkOwners[linkKey{kind, value}]
	if !ok {
		return 0, fmt.Errorf("conversation by %s %q: %w", kind, value, crm.ErrNotFound)
	}
	return id, nil
}

// ConversationLinks implements crm.Store.
func (m *Memory) ConversationLinks(ctx context.Context, conversationID int64) (map[string]string, error) {
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("links of conversation %d: %w", conversationID, err)
	}
	defer m.mu.Unlock()
	if _, ok := m.convs[conversationID]; !ok {
		return nil, fmt.Errorf("links of conversation %d: %w", conversationID, crm.ErrNotFound)
	}
	out := map[string]string{}
	maps.Copy(out, m.links[conversationID])
	return out, nil
}

// deleteOutboxOf drops a conversation's outbox items and links, for
// DeleteCustomer.
func (m *Memory) deleteOutboxOf(convID int64) {
	for id, it := range m.outbox {
		if it.ConversationID == convID {
			delete(m.outboxKeys, it.Key)
			delete(m.outbox, id)
		}
	}
	for kind, value := range m.links[convID] {
		delete(m.linkOwners, linkKey{kind, value})
	}
	delete(m.links, convID)
}

func copyOutbox(it crm.OutboxItem) crm.OutboxItem {
	it.Payload = copyBytes(it.Payload)
	return it
}

// ClaimOutbox implements crm.Store.
func (m *Memory) ClaimOutbox(ctx context.Context, id int64, now, until time.Time) (bool, error) {
	for _, t := range []time.Time{now, until} {
		if err := crm.CheckTime("outbox claim time", t); err != nil {
			return false, fmt.Errorf("claim outbox item %d: %w", id, err)
		}
	}
	if until.IsZero() {
		return false, fmt.Errorf("claim outbox item %d: %w: no claim end", id, crm.ErrInvalid)
	}
	if err := m.lock(ctx); err != nil {
		return false, fmt.Errorf("claim outbox item %d: %w", id, err)
	}
	defer m.mu.Unlock()
	it, err := m.pendingOutbox(id)
	if err != nil || it.NextAt.After(m.stamp(now)) {
		return false, nil
	}
	it.NextAt = m.stamp(until)
	return true, nil
}
