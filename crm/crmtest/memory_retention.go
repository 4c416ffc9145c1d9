package crmtest

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/parley-chat/parley/crm"
)

// WithChannelRedactor overrides WithRedactor for the messages of one
// channel's conversations (nil: none), as crm/sqlite's option of the
// same name does.
func WithChannelRedactor(ch crm.Channel, redact func(string) string) MemoryOption {
	return func(m *Memory) {
		m.chanRedact = maps.Clone(m.chanRedact)
		if m.chanRedact == nil {
			m.chanRedact = map[crm.Channel]func(string) string{}
		}
		m.chanRedact[ch] = redact
	}
}

// redactorFor is the redactor of a channel's messages.
func (m *Memory) redactorFor(ch crm.Channel) func(string) string {
	if r, ok := m.chanRedact[ch]; ok {
		return r
	}
	return m.redact
}

// ExpireMessages implements crm.Store, all in one batch under the lock.
func (m *Memory) ExpireMessages(ctx context.Context, r crm.Retention) (crm.Expired, error) {
	if err := r.Validate(); err != nil {
		return crm.Expired{}, fmt.Errorf("expire messages: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return crm.Expired{}, fmt.Errorf("expire messages: %w", err)
	}
	defer m.mu.Unlock()
	start := time.Now()
	at := m.now().UTC()
	labels := map[int64][]*crm.Label{}
	for _, l := range m.labels {
		if l.MessageID != 0 {
			labels[l.MessageID] = append(labels[l.MessageID], l)
		}
	}
	var out crm.Expired
	for _, msg := range m.msgs {
		if !msg.CreatedAt.Before(r.Before) || msg.Expired.Level() >= r.Mode.Level() {
			continue
		}
		out.Messages++
		out.Labels += len(labels[msg.ID])
		if r.DryRun {
			continue
		}
		msg.Message, _ = msg.Expire(r.Mode, at)
		for _, l := range labels[msg.ID] {
			l.Text = crm.ExpireLabelText(l.Text)
		}
	}
	for _, c := range m.convs {
		if c.UpdatedAt.Before(r.Before) && len(c.Slots) > 0 {
			out.Conversations++
			if !r.DryRun {
				c.Slots = nil
			}
		}
	}
	for id, it := range m.outbox {
		if it.State != crm.OutboxPending && it.CreatedAt.Before(r.Before) && it.NextAt.Before(r.Before) {
			out.Outbox++
			if !r.DryRun {
				delete(m.outboxKeys, it.Key)
				delete(m.outbox, id)
			}
		}
	}
	if !r.DryRun {
		out.Batches, out.LongestBatch = 1, time.Since(start)
	}
	return out, nil
}
