package crm

import (
	"fmt"
	"time"
)

// ExpireMode is what retention does to the words of a message older
// than the retention period (see Store.ExpireMessages).
//
// Both modes keep the message row and everything the models understood
// of it (intent, confidence, alternatives, sentiment, action, model
// version, entity kinds), its direction, channel id and times, so
// analytics, segmentation, lead scores and idempotent logging work on
// as before. They differ in the words:
//
//   - ExpireDelete blanks the text and the entities' texts and values.
//     This is the default: a retention period is a promise about all
//     of a customer's words, and pattern-based masking cannot keep it
//     (it misses names, addresses, anything said in free text).
//   - ExpireRedact masks personal data with Redact (emails, card and
//     phone numbers, whatever --redact masks at ingest) and keeps the
//     rest of the text, for those who need old utterances for quality
//     review and accept what the masks miss.
//
// A message expired with ExpireRedact can later be expired with
// ExpireDelete; a deleted one stays deleted.
type ExpireMode string

// Retention modes.
const (
	ExpireRedact ExpireMode = "redact"
	ExpireDelete ExpireMode = "delete"
)

// Valid reports whether m is a known mode.
func (m ExpireMode) Valid() bool { return m == ExpireRedact || m == ExpireDelete }

// Level orders the modes: 0 for a message not expired (""), 1 for
// ExpireRedact, 2 for ExpireDelete, -1 for an unknown mode. A message
// needs expiring with a mode when its level is below the mode's.
func (m ExpireMode) Level() int {
	switch m {
	case "":
		return 0
	case ExpireRedact:
		return 1
	case ExpireDelete:
		return 2
	}
	return -1
}

// ModeOfLevel is the mode of a level (see Level); "" for any other.
func ModeOfLevel(level int) ExpireMode {
	switch level {
	case 1:
		return ExpireRedact
	case 2:
		return ExpireDelete
	}
	return ""
}

// Retention asks a store to expire old message text (see
// Store.ExpireMessages).
type Retention struct {
	// Before is the cut-off: messages created before it expire.
	Before time.Time
	Mode   ExpireMode
	// DryRun counts what would change and writes nothing.
	DryRun bool
}

// Validate checks a retention request: a known mode and a storable,
// set cut-off.
func (r Retention) Validate() error {
	if !r.Mode.Valid() {
		return fmt.Errorf("%w: retention mode %q (want %s or %s)", ErrInvalid, r.Mode, ExpireRedact, ExpireDelete)
	}
	if r.Before.IsZero() {
		return fmt.Errorf("%w: retention without a cut-off time", ErrInvalid)
	}
	return CheckTime("retention cut-off", r.Before)
}

// Expired counts what Store.ExpireMessages changed (or, in a dry run,
// would change).
type Expired struct {
	// Messages whose text was masked or deleted.
	Messages int `json:"messages"`
	// Labels of those messages, whose texts were masked with Redact.
	Labels int `json:"labels"`
	// Conversations idle since before the cut-off whose slots were
	// dropped.
	Conversations int `json:"conversations"`
	// Outbox items delivered or given up on before the cut-off, deleted.
	Outbox int `json:"outbox"`
	// Batches is how many write transactions the work took, and
	// LongestBatch the longest any of them took from being handed to
	// the writer to its commit: the most that other writes waited for
	// retention. Zero in a dry run.
	Batches      int           `json:"batches"`
	LongestBatch time.Duration `json:"longest_batch_ns"`
}

// Add adds o's counts to e (and keeps the longer batch).
func (e *Expired) Add(o Expired) {
	e.Messages += o.Messages
	e.Labels += o.Labels
	e.Conversations += o.Conversations
	e.Outbox += o.Outbox
	e.Batches += o.Batches
	e.LongestBatch = max(e.LongestBatch, o.LongestBatch)
}

// Expire returns m as retention with mode leaves it at time at, and
// whether that changes anything: false when m was expired with mode or
// a stronger one already (or mode is not valid). Both Store
// implementations apply it, so they agree.
//
// ExpireRedact masks the text and the entities' texts and values with
// Redact; should the result not be a valid message (masks can be longer
// than what they replace, and a text at MaxTextBytes could outgrow it),
// the message is deleted instead: retention never keeps more than asked.
// ExpireDelete blanks the text and the entities' texts and values, and
// zeroes their offsets (they pointed into the deleted text), keeping
// their kinds.
func (m Message) Expire(mode ExpireMode, at time.Time) (Message, bool) {
	if !mode.Valid() || m.Expired.Level() >= mode.Level() {
		return m, false
	}
	if mode == ExpireRedact {
		r, err := m.Redacted(Redact)
		if err == nil {
			r.Expired, r.ExpiredAt = ExpireRedact, at.UTC()
			return r, true
		}
	}
	m.Text = ""
	if len(m.Entities) > 0 {
		ents := make([]Entity, len(m.Entities))
		for i, e := range m.Entities {
			ents[i] = Entity{Kind: e.Kind}
		}
		m.Entities = ents
	}
	m.Expired, m.ExpiredAt = ExpireDelete, at.UTC()
	return m, true
}

// ExpireLabelText is the text retention leaves to a label of an expired
// message: masked with Redact, whatever the mode. Labels are training
// data an analyst chose to keep, not a conversation's record: the
// utterance stays, its personal data goes (delete the label to drop it).
func ExpireLabelText(text string) string { return Redact(text) }

// ErrTextDeleted is wrapped (with ErrInvalid) by AddLabel for a label of
// a message whose text retention deleted, when the label brings no text
// of its own: there is nothing left to learn from.
var ErrTextDeleted = fmt.Errorf("%w: the message's text was deleted by retention", ErrInvalid)
