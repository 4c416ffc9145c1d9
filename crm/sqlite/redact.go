package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"

	"github.com/parley-chat/parley/crm"
)

// WithChannelRedactor overrides WithRedactor for the messages of one
// channel's conversations: redact applies to them instead, and nil
// stores them as given. Channels without an override use WithRedactor's.
// Label texts given by hand (not taken from a message) use WithRedactor's.
func WithChannelRedactor(ch crm.Channel, redact func(string) string) Option {
	return func(o *options) {
		o.chanRedact = maps.Clone(o.chanRedact) // options may be reused
		if o.chanRedact == nil {
			o.chanRedact = map[crm.Channel]func(string) string{}
		}
		o.chanRedact[ch] = redact
	}
}

// redactorFor is the redactor of a channel's messages (nil: none).
func (s *Store) redactorFor(ch crm.Channel) func(string) string {
	if r, ok := s.chanRedact[ch]; ok {
		return r
	}
	return s.redact
}

// messageRedactor is the redactor of a message added to a conversation.
// With per-channel redactors it reads the conversation's channel first,
// on a reader, so that the redaction runs on the caller's goroutine and
// not the writer's; a conversation's channel never changes, so the
// write that follows cannot disagree.
func (s *Store) messageRedactor(ctx context.Context, conversationID int64) (func(string) string, error) {
	if len(s.chanRedact) == 0 {
		return s.redact, nil
	}
	var ch crm.Channel
	err := s.read(ctx, func(t *dbtx) error {
		return t.queryRow(`SELECT channel FROM conversations WHERE id = ?`, []any{conversationID}, &ch)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("conversation %d: %w", conversationID, crm.ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("conversation %d: %w", conversationID, err)
	}
	return s.redactorFor(ch), nil
}
