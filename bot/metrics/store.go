package metrics

import (
	"context"
	"time"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/crm"
)

// Operation names of parley_db_seconds.
const (
	OpLogInteraction       = "log_interaction"
	OpCustomerByExternalID = "customer_by_external_id"
	OpConversation         = "conversation"
	OpConversations        = "conversations"
	OpOutboxDepth          = "outbox_depth"
	OpReadyCheck           = "ready_check"
)

// timedStore is the engine's store with each call timed.
type timedStore struct {
	s bot.Store
	m *Metrics
}

// Store wraps the engine's store so that each of its calls, every hot
// CRM call of a message, is timed in parley_db_seconds. Errors are timed
// too: a slow failure is what an operator looks for.
func (m *Metrics) Store(s bot.Store) bot.Store { return timedStore{s: s, m: m} }

func (t timedStore) LogInteraction(ctx context.Context, in crm.Interaction) (crm.Logged, error) {
	defer t.m.ObserveDB(OpLogInteraction, time.Now())
	return t.s.LogInteraction(ctx, in)
}

func (t timedStore) CustomerByExternalID(ctx context.Context, ref crm.ExternalID) (crm.Customer, error) {
	defer t.m.ObserveDB(OpCustomerByExternalID, time.Now())
	return t.s.CustomerByExternalID(ctx, ref)
}

func (t timedStore) Conversation(ctx context.Context, id int64) (crm.Conversation, error) {
	defer t.m.ObserveDB(OpConversation, time.Now())
	return t.s.Conversation(ctx, id)
}

func (t timedStore) Conversations(ctx context.Context, f crm.ConversationFilter) ([]crm.Conversation, error) {
	defer t.m.ObserveDB(OpConversations, time.Now())
	return t.s.Conversations(ctx, f)
}
