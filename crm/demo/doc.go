// Package demo fills a CRM with a synthetic, deterministic history for
// demos, tests and benchmarks: customers of several kinds (loyal big
// spenders, occasional buyers, new customers, lapsed ones, unhappy ones
// who complain and get escalated), their orders from a small catalogue
// over about a year, and their conversations with the bot, logged
// through the crm.Store contract exactly as the live bot logs them.
//
// Customer messages come from the caller (Config.Utterances: Parley's
// built-in training data gives a realistic demo) with a tiny built-in
// fallback. Intents, confidences, sentiment and escalations are drawn
// from each customer's kind and the intent of what they say, so that
// segmentation (crm/segment) and the conversion model (crm/conversion)
// have structure to find. Names are invented; emails use example.com.
package demo
