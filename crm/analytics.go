package crm

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Analytics: the day-by-day aggregates the staff console plots. They are
// not part of Store: ActivityStore is a separate, optional capability
// that crm/sqlite and crm/crmtest implement and that consumers find by
// type assertion.
//
// Every aggregate is counted in UTC days: a record belongs to the day
// its CreatedAt falls on, in UTC. The rates the console shows are
// defined by the methods below (DayActivity.FallbackRate and the rest),
// so that every page and every store means the same thing by them.

// ActionFallback is the Message.Action the bot records when it did not
// understand a customer message (bot.ActionFallback).
const ActionFallback = "fallback"

// IdleAfter is how long a conversation with the bot must have been
// quiet to count as ended. Conversations with the bot are rarely closed
// explicitly: the customer got an answer and left. Thirty minutes is the
// usual session timeout of web analytics; a customer who comes back
// later starts, for these counts, what is the same conversation resumed.
const IdleAfter = 30 * time.Minute

// DayActivity is one UTC day's activity on one channel.
//
// Messages, Fallbacks and the sentiment sums count the customer
// messages (Direction FromCustomer) created that day; Conversations,
// Escalations and the Resolved counts count the conversations created
// that day, whatever happened in them later, so that each rate's
// numerator and denominator are the same conversations:
//
//   - Messages: customer messages.
//   - Fallbacks: customer messages with Action ActionFallback.
//   - SentimentSum, SentimentN: the sum of SentimentScore over the
//     customer messages with a Sentiment label, and how many those are
//     (a message no model scored is left out, not counted as neutral).
//   - Conversations: conversations started.
//   - Escalations: of those, the conversations with at least one
//     escalation (opened by the bot or by staff).
//   - ResolvedByBot: of those, the conversations that ended (see
//     Conversation.Ended) without a person: no escalation and no agent
//     reply. This is containment.
//   - ResolvedByPerson: the conversations that ended after a person was
//     involved (an escalation or an agent reply).
//
// The rest of a day's conversations (Conversations - ResolvedByBot -
// ResolvedByPerson) are still open: with a person, waiting for one, or
// with the bot and active in the last IdleAfter.
type DayActivity struct {
	// Day is the UTC midnight the day starts at.
	Day     time.Time
	Channel Channel

	Messages, Conversations, Fallbacks, Escalations, ResolvedByBot, ResolvedByPerson int

	SentimentSum float64
	SentimentN   int
}

// Plus returns a with b's counts added: a period's totals are the sum of
// its days (Day and Channel stay a's).
func (a DayActivity) Plus(b DayActivity) DayActivity {
	a.Messages += b.Messages
	a.Conversations += b.Conversations
	a.Fallbacks += b.Fallbacks
	a.Escalations += b.Escalations
	a.ResolvedByBot += b.ResolvedByBot
	a.ResolvedByPerson += b.ResolvedByPerson
	a.SentimentSum += b.SentimentSum
	a.SentimentN += b.SentimentN
	return a
}

// ratio is n/d, and false when d is 0: a rate of nothing is no rate,
// not 0%.
func ratio(n, d int) (float64, bool) {
	if d <= 0 {
		return 0, false
	}
	return float64(n) / float64(d), true
}

// FallbackRate is the share of customer messages the bot did not
// understand: Fallbacks / Messages. It is false when there were no
// customer messages.
func (a DayActivity) FallbackRate() (float64, bool) { return ratio(a.Fallbacks, a.Messages) }

// EscalationRate is the share of conversations handed to a person:
// Escalations / Conversations. It is false when there were none.
func (a DayActivity) EscalationRate() (float64, bool) { return ratio(a.Escalations, a.Conversations) }

// ContainmentRate is the share of conversations the bot resolved
// without a person: ResolvedByBot / Conversations. Conversations still
// open count in the denominator, so the latest day's rate rises as its
// conversations go quiet. It is false when there were none.
func (a DayActivity) ContainmentRate() (float64, bool) {
	return ratio(a.ResolvedByBot, a.Conversations)
}

// MeanSentiment is the mean sentiment score (-1 to 1) of the customer
// messages with a sentiment: SentimentSum / SentimentN. It is false when
// there were none.
func (a DayActivity) MeanSentiment() (float64, bool) {
	if a.SentimentN <= 0 {
		return 0, false
	}
	return a.SentimentSum / float64(a.SentimentN), true
}

// Ended reports whether the conversation has ended as of asOf: it is
// resolved, or it is with the bot (state bot: never handed over, or
// handed back) and nothing happened in it for IdleAfter. A conversation
// waiting for or assigned to a person has not ended.
func (c Conversation) Ended(asOf time.Time) bool {
	switch c.State {
	case StateResolved:
		return true
	case StateBot:
		return !c.UpdatedAt.After(asOf.Add(-IdleAfter))
	}
	return false
}

// IntentDay counts one UTC day's customer messages with one intent.
// Intent "" stands for every intent outside the top ones asked for
// (see ActivityStore.IntentsByDay); messages without an intent are not
// counted at all.
type IntentDay struct {
	Day    time.Time
	Intent string
	N      int
}

// SegmentConversion is how many customers of a segment converted.
// Segment and Profile are "" for customers no segmentation run assigned.
type SegmentConversion struct {
	Segment, Profile string
	// Customers in the segment; Converted counts those with at least one
	// order (a purchase or a signup, at any time).
	Customers, Converted int
}

// Rate is the segment's conversion rate, Converted / Customers; false
// for an empty segment.
func (s SegmentConversion) Rate() (float64, bool) { return ratio(s.Converted, s.Customers) }

// ActivityStore reads the aggregates the analytics pages plot. It is an
// optional capability of a Store (crm/sqlite's and crm/crmtest's have
// it): callers find it by type assertion. Implementations are safe for
// concurrent use; bad arguments are ErrInvalid.
type ActivityStore interface {
	// Activity returns the activity per UTC day and channel of the
	// records created in [from, to) (see DayActivity), in day then
	// channel order. Days and channels without any record are left out.
	// Whether a conversation has ended is judged at the earlier of to
	// and the store's clock, with the conversation's current state: a
	// past period is seen as the conversations stand now. to before
	// from is ErrInvalid.
	Activity(ctx context.Context, from, to time.Time) ([]DayActivity, error)
	// IntentsByDay counts the customer messages created in [from, to)
	// per UTC day and intent. With top > 0 only the top intents of the
	// period (most messages first, ties by name) are named; every other
	// intent is counted together under Intent "". Top 0 names every
	// intent; a negative top is ErrInvalid. Rows come in day order, and
	// within a day in the period's rank order, "" last; days and intents
	// without messages are left out.
	IntentsByDay(ctx context.Context, from, to time.Time, top int) ([]IntentDay, error)
	// SegmentConversion returns, per segment of the last segmentation
	// run, its customers and how many have ordered, over all time, in
	// Segment order (byte order, so "" — the customers no run assigned —
	// comes first). Segments with no customers are left out.
	SegmentConversion(ctx context.Context) ([]SegmentConversion, error)
	// SegmentMap returns the last segmentation run's assignments with
	// each customer's position on the run's 2-D projection, in customer
	// id order: all of them when there are at most limit, otherwise an
	// even sample of at most limit (every k-th in customer id order, the
	// first included, k the least step that fits). The limit is read as
	// by Limit.
	SegmentMap(ctx context.Context, limit int) ([]SegmentAssignment, error)
}

// CheckPeriod validates a [from, to) period for an ActivityStore: both
// set and to not before from.
func CheckPeriod(from, to time.Time) error {
	if from.IsZero() || to.IsZero() {
		return fmt.Errorf("%w: period %v to %v: both ends are needed", ErrInvalid, from, to)
	}
	if to.Before(from) {
		return fmt.Errorf("%w: period ends (%v) before it starts (%v)", ErrInvalid, to, from)
	}
	return nil
}

// CheckTop validates IntentsByDay's top.
func CheckTop(top int) error {
	if top < 0 {
		return fmt.Errorf("%w: negative top %d", ErrInvalid, top)
	}
	return nil
}

// Day returns the UTC midnight starting t's UTC day.
func Day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// SampleStep is SegmentMap's sampling step: the least k such that every
// k-th of n records, the first included, is at most limit records.
func SampleStep(n, limit int) int {
	if limit <= 0 || n <= limit {
		return 1
	}
	return (n + limit - 1) / limit
}

// TopIntents turns per-day intent counts into IntentsByDay's answer, so
// that every store ranks alike: counts holds each (UTC day, intent)
// once, with its count, for intents that are not empty. The intents are
// ranked by their total (most first, ties by name); with top > 0 those
// past the top are merged per day under Intent "". The result comes in
// day order, then rank order, "" last.
func TopIntents(counts []IntentDay, top int) []IntentDay {
	totals := map[string]int{}
	for _, c := range counts {
		totals[c.Intent] += c.N
	}
	ranked := slices.SortedFunc(maps.Keys(totals), func(a, b string) int {
		return cmp.Or(cmp.Compare(totals[b], totals[a]), cmp.Compare(a, b))
	})
	rank := make(map[string]int, len(ranked))
	for i, intent := range ranked {
		rank[intent] = i
	}
	type key struct {
		day    time.Time
		intent string
	}
	merged := map[key]int{}
	for _, c := range counts {
		k := key{c.Day, c.Intent}
		if top > 0 && rank[c.Intent] >= top {
			k.intent = ""
		}
		merged[k] += c.N
	}
	pos := func(intent string) int {
		if intent == "" {
			return len(ranked) // after every named intent
		}
		return rank[intent]
	}
	out := make([]IntentDay, 0, len(merged))
	for k, n := range merged {
		out = append(out, IntentDay{Day: k.day, Intent: k.intent, N: n})
	}
	slices.SortFunc(out, func(a, b IntentDay) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(pos(a.Intent), pos(b.Intent)))
	})
	return out
}
