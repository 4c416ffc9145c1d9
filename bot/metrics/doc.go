// Package metrics exports Parley's Prometheus metrics: messages by
// channel, intent and action, reply latency, escalations, fallbacks,
// the serving model versions, web chat connections, outbox depth,
// rate-limit refusals and CRM latency. It owns its registry (never the
// global default), so tests and several servers in one process do not
// collide.
//
// Label values are bounded on purpose: channels, actions and reasons
// come from fixed sets, intents from the serving model's labels. No
// message text, customer id or conversation id ever becomes a label:
// /metrics carries no customer data.
package metrics
