// Package bot is Parley's dialogue core: the Engine takes one inbound
// customer message, understands it (NLU: intent, sentiment, entities),
// decides what to do with it by the Policy (answer from the knowledge
// base, ask which of two intents was meant, ask for a missing detail,
// fall back, or hand over to a person), and records the whole
// interaction in the CRM in one transaction.
//
// The package knows no channel: adapters (web chat, Slack, the REST
// API) turn their events into a Message and deliver the Turn's replies.
// Conversation state lives in the CRM (crm.Conversation: state, slots,
// consecutive fallbacks), so an engine keeps nothing between messages
// and a restart loses nothing.
//
// Slots hold what the conversation remembers: entity values by kind
// (order_id, email, ...) and two control entries, "_pending" (the intent
// waiting for a missing detail) and "_clarify" (the intents offered as
// quick replies).
package bot
