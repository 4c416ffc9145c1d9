// Package crm is Parley's customer-relationship store: who the
// customers are, every conversation and message with what the models
// understood of it, escalations to people, orders, staff accounts,
// analysts' labels, model versions, and the segments and lead scores
// learned from all of it; also the outbox of posts the channels deliver
// and the links from channel-side threads to conversations.
//
// Store is the contract. crm/sqlite implements it on an embedded SQLite
// file; crm/crmtest has the contract suite every implementation passes
// and an in-memory implementation for fast tests elsewhere. Segmentation
// (crm/segment) and the conversion model (crm/conversion) read from it.
package crm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Channel is where a conversation happens.
type Channel string

// Channels.
const (
	ChannelWeb   Channel = "webchat"
	ChannelSlack Channel = "slack"
	ChannelAPI   Channel = "api"
)

// IDKind says what an external id identifies a customer by.
type IDKind string

// External id kinds.
const (
	IDSlackUser  IDKind = "slack_user"
	IDWebVisitor IDKind = "web_visitor"
	IDEmail      IDKind = "email"
	IDAPI        IDKind = "api" // a customer id given by an API client
)

// ExternalID is one way a channel identifies a customer. (Kind, Value)
// is unique across customers.
type ExternalID struct {
	Kind  IDKind `json:"kind"`
	Value string `json:"value"`
}

// Customer is a person Parley talks to.
type Customer struct {
	ID          int64        `json:"id"`
	Name        string       `json:"name,omitempty"`
	Email       string       `json:"email,omitempty"`
	ExternalIDs []ExternalID `json:"external_ids,omitempty"`
	CreatedAt   time.Time    `json:"created_at"`
	// Segment is the customer's segment from the last segmentation run
	// ("" before any), with its readable profile.
	Segment        string `json:"segment,omitempty"`
	SegmentProfile string `json:"segment_profile,omitempty"`
	// LeadScore is the conversion model's probability that the customer
	// orders soon; ScoredAt is zero when never scored.
	LeadScore float64   `json:"lead_score,omitempty"`
	ScoredAt  time.Time `json:"scored_at,omitempty"`
}

// State is a conversation's state: who is answering.
type State string

// Conversation states. A conversation starts with the bot; escalation
// waits for a person; a person assigned to it answers (the bot does not);
// resolved hands it back to the bot for the customer's next message.
const (
	StateBot       State = "bot"
	StateEscalated State = "escalated"
	StateAssigned  State = "assigned"
	StateResolved  State = "resolved"
)

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	switch s {
	case StateBot, StateEscalated, StateAssigned, StateResolved:
		return true
	}
	return false
}

// Conversation is one thread of messages with a customer on a channel.
type Conversation struct {
	ID         int64   `json:"id"`
	CustomerID int64   `json:"customer_id"`
	Channel    Channel `json:"channel"`
	// Ref is the channel's id for the thread (a Slack thread ts, a web
	// chat session); "" when the channel has none.
	Ref   string `json:"ref,omitempty"`
	State State  `json:"state"`
	// AssigneeID is the staff user answering, when State is assigned.
	AssigneeID int64 `json:"assignee_id,omitempty"`
	// Slots are what the dialogue remembers across turns (an order
	// number asked for, say). Fallbacks counts consecutive fallbacks.
	Slots     map[string]string `json:"slots,omitempty"`
	Fallbacks int               `json:"fallbacks"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Direction says who wrote a message.
type Direction string

// Message directions.
const (
	FromCustomer Direction = "in"    // the customer
	FromBot      Direction = "bot"   // a bot reply
	FromAgent    Direction = "agent" // a person's reply to the customer
	Note         Direction = "note"  // an internal note staff see, never the customer
)

// Entity is an entity found in a message (see nlp.Entity).
type Entity struct {
	Kind  string `json:"kind"`
	Text  string `json:"text"`
	Value string `json:"value"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// Alternative is a runner-up intent with its confidence.
type Alternative struct {
	Intent     string  `json:"intent"`
	Confidence float64 `json:"confidence"`
}

// Message is one message of a conversation. Customer messages carry
// what the models understood; replies carry quick replies.
type Message struct {
	ID             int64     `json:"id"`
	ConversationID int64     `json:"conversation_id"`
	Direction      Direction `json:"direction"`
	// AuthorID is the staff user who wrote an agent reply or a note.
	AuthorID int64  `json:"author_id,omitempty"`
	Text     string `json:"text"`
	// ChannelMsgID is the channel's id for the message (Slack ts, the
	// web widget's client message id); unique per channel when set,
	// which makes logging idempotent.
	ChannelMsgID string `json:"channel_msg_id,omitempty"`
	// Understanding of a customer message.
	Intent         string        `json:"intent,omitempty"`
	Confidence     float64       `json:"confidence,omitempty"`
	OutOfScope     bool          `json:"out_of_scope,omitempty"`
	Alternatives   []Alternative `json:"alternatives,omitempty"`
	Sentiment      string        `json:"sentiment,omitempty"`
	SentimentScore float64       `json:"sentiment_score,omitempty"`
	Entities       []Entity      `json:"entities,omitempty"`
	ModelVersion   string        `json:"model_version,omitempty"`
	// Action is what the bot decided for a customer message (answer,
	// clarify, ask, fallback, escalate, ...).
	Action string `json:"action,omitempty"`
	// QuickReplies offered with a reply.
	QuickReplies []string  `json:"quick_replies,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	// Expired says what retention did to the message's words ("":
	// nothing) and ExpiredAt when (see Store.ExpireMessages). The store
	// sets both; values given with a new message are ignored.
	Expired   ExpireMode `json:"expired,omitempty"`
	ExpiredAt time.Time  `json:"expired_at,omitzero"`
}

// EscalationStatus is where an escalation stands.
type EscalationStatus string

// Escalation statuses.
const (
	EscalationOpen     EscalationStatus = "open"
	EscalationAssigned EscalationStatus = "assigned"
	EscalationResolved EscalationStatus = "resolved"
)

// Escalation is a hand-over of a conversation to a person.
type Escalation struct {
	ID             int64            `json:"id"`
	ConversationID int64            `json:"conversation_id"`
	Reason         string           `json:"reason"`
	Status         EscalationStatus `json:"status"`
	AssigneeID     int64            `json:"assignee_id,omitempty"`
	Resolution     string           `json:"resolution,omitempty"`
	CreatedAt      time.Time        `json:"created_at"`
	AssignedAt     time.Time        `json:"assigned_at,omitempty"`
	ResolvedAt     time.Time        `json:"resolved_at,omitempty"`
}

// Order is a conversion event: something a customer bought or signed up for.
type Order struct {
	ID         int64 `json:"id"`
	CustomerID int64 `json:"customer_id"`
	// Ref is the shop's order number, unique when set.
	Ref      string  `json:"ref,omitempty"`
	Item     string  `json:"item"`
	Category string  `json:"category,omitempty"`
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
	// Kind is "purchase" or "signup".
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
}

// Role is a staff user's role.
type Role string

// Staff roles: agents work the inbox, analysts the models, admins users
// and settings.
const (
	RoleAgent   Role = "agent"
	RoleAnalyst Role = "analyst"
	RoleAdmin   Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAgent || r == RoleAnalyst || r == RoleAdmin }

// StaffUser is a support person's account.
type StaffUser struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
	Role  Role   `json:"role"`
	// PasswordHash is the encoded password hash (never the password).
	PasswordHash string    `json:"-"`
	Disabled     bool      `json:"disabled,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// Session is a staff user's signed-in browser session.
type Session struct {
	// TokenHash is the hash of the cookie's token (the token itself is
	// never stored).
	TokenHash string    `json:"-"`
	StaffID   int64     `json:"staff_id"`
	CSRF      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Label is an analyst's verdict on a message's intent ("oos" for out of scope).
type Label struct {
	ID int64 `json:"id"`
	// MessageID is the labelled message (0 for an utterance added by hand).
	MessageID int64     `json:"message_id,omitempty"`
	Text      string    `json:"text"`
	Intent    string    `json:"intent"`
	StaffID   int64     `json:"staff_id"`
	CreatedAt time.Time `json:"created_at"`
}

// ModelVersion is a trained model stored in the CRM, so that several
// servers sharing one database serve the same promoted model.
type ModelVersion struct {
	ID int64 `json:"id"`
	// Kind is "intent" or "sentiment".
	Kind string `json:"kind"`
	// Version is a readable name, unique per kind ("2026-12-01T10:00:00Z-a1b2").
	Version  string             `json:"version"`
	DataHash string             `json:"data_hash"`
	Metrics  map[string]float64 `json:"metrics,omitempty"`
	// Artifact is the model file (see intents.WriteArtifact); empty in
	// listings, filled by ModelVersion.
	Artifact   []byte    `json:"-"`
	Notes      string    `json:"notes,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	PromotedAt time.Time `json:"promoted_at,omitempty"`
	// Active marks the version servers use for its kind.
	Active bool `json:"active"`
}

// SegmentAssignment is one customer's segment from a segmentation run.
type SegmentAssignment struct {
	CustomerID int64  `json:"customer_id"`
	Segment    string `json:"segment"`
	Profile    string `json:"profile"`
	// X, Y are the customer's position on the run's 2-D projection.
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// LeadScore is one customer's conversion score.
type LeadScore struct {
	CustomerID int64   `json:"customer_id"`
	Score      float64 `json:"score"`
}

// CustomerStats are one customer's aggregates before a point in time,
// the raw material of segmentation and conversion features.
type CustomerStats struct {
	CustomerID int64
	CreatedAt  time.Time
	// Orders before the cut-off.
	Orders        int
	Monetary      float64
	FirstOrder    time.Time // zero when no orders
	LastOrder     time.Time
	Conversations int
	Escalations   int
	// Customer messages and what they were about.
	Messages     int
	SentimentSum float64 // sum of sentiment scores of customer messages
	// LateSentimentSum and LateMessages cover the customer's last 10
	// messages, for a sentiment trend.
	LateSentimentSum float64
	LateMessages     int
	// IntentCounts counts customer messages per intent.
	IntentCounts map[string]int
	// LastMessage is the customer's latest message time (zero if none).
	LastMessage time.Time
	// ReplySeconds sums the delays from a customer message to the next
	// reply (bot or agent) in its conversation; Replies counts them. A
	// run of customer messages answered by one reply counts once, from
	// the run's first message: it is how long the customer waited.
	// Notes are not replies.
	ReplySeconds float64
	Replies      int
}

// Interaction is everything that happens for one inbound customer
// message, logged in one transaction: the customer (found or created by
// an external id), the conversation (found or created), the message and
// what the models understood, the replies, and an escalation.
type Interaction struct {
	Channel  Channel
	Customer ExternalID
	// CustomerName and CustomerEmail fill in a new customer's profile.
	CustomerName, CustomerEmail string
	// ConversationID names the conversation; 0 finds the customer's
	// latest conversation on Channel with ConversationRef, creating one
	// when there is none.
	ConversationID  int64
	ConversationRef string
	// Message is the customer's message (Direction FromCustomer).
	Message Message
	// Replies go out in order after it.
	Replies []Message
	// State, Slots and Fallbacks update the conversation when State is
	// set (Slots replaces the remembered slots). The conversation's open
	// escalation follows the state as in Conversation.Transition;
	// StateAssigned keeps the current assignee and is invalid when the
	// conversation has none.
	State     State
	Slots     map[string]string
	Fallbacks int
	// Escalate opens an escalation with this reason when not empty, and
	// moves the conversation to StateEscalated when State is empty and
	// no person has it already. A conversation has at most one open
	// escalation: when one is open, it stays as it is. Escalate with
	// State bot or resolved is invalid.
	Escalate string
}

// NextState returns the state the interaction moves a conversation in
// state current to, or "" for no change (see Interaction.State and
// Interaction.Escalate).
func (in Interaction) NextState(current State) State {
	if in.State != "" {
		return in.State
	}
	if in.Escalate != "" && current != StateEscalated && current != StateAssigned {
		return StateEscalated
	}
	return ""
}

// Logged is the outcome of LogInteraction.
type Logged struct {
	CustomerID     int64
	ConversationID int64
	MessageID      int64
	// Duplicate is set when the channel message id was logged before:
	// nothing was written, and Replies are the replies logged then, so a
	// redelivered message gets the same answer.
	Duplicate bool
	Replies   []Message
	// EscalationID is the escalation opened, if any, or the open one
	// that Interaction.Escalate found.
	EscalationID int64
}

// OutboxState is where an outbox item stands.
type OutboxState string

// Outbox states. An item is pending until its worker delivered it
// (sent) or gave up on it (failed); only pending items are tried.
const (
	OutboxPending OutboxState = "pending"
	OutboxSent    OutboxState = "sent"
	OutboxFailed  OutboxState = "failed"
)

// Valid reports whether s is a known outbox state.
func (s OutboxState) Valid() bool {
	return s == OutboxPending || s == OutboxSent || s == OutboxFailed
}

// OutboxItem is one outbound post a channel worker must deliver (a bot
// reply, a person's reply, a summary in the staff channel). Items are
// queued in the CRM, so that a post survives a restart and a failed one
// is retried with backoff instead of lost (see Store.EnqueueOutbox).
type OutboxItem struct {
	ID int64 `json:"id"`
	// Key is unique: enqueueing an item with the key of one already
	// queued (in any state) is a no-op that returns the existing item,
	// so a redelivered inbound message never queues its reply twice.
	Key string `json:"key"`
	// Channel is whose worker sends it.
	Channel Channel `json:"channel"`
	// ConversationID ties the item to a conversation (0: none). A
	// conversation's items on a channel go out in id order, and erasing
	// the customer deletes them: an item that carries a customer's words
	// should name its conversation.
	ConversationID int64 `json:"conversation_id,omitempty"`
	// Kind says what the post is, for the worker and its metrics
	// ("reply", "staff_summary", "staff_update"; free text, short).
	Kind string `json:"kind,omitempty"`
	// Payload is what to send, in the channel's own format (its JSON);
	// the store keeps it as given: the redactor does not apply, it is
	// what the customer or staff will read. 1 to MaxPayloadBytes bytes.
	Payload []byte      `json:"payload"`
	State   OutboxState `json:"state"`
	// Attempts counts the deliveries tried and failed (OutboxRetry,
	// OutboxFailed).
	Attempts int `json:"attempts"`
	// NextAt is when the item may be tried (again).
	NextAt time.Time `json:"next_at"`
	// LastError is the last failed attempt's error (see OutboxErrorText).
	LastError string `json:"last_error,omitempty"`
	// Result is the channel's id for what was posted (a Slack ts), once sent.
	Result    string    `json:"result,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// SentAt is when it was sent; zero unless State is sent.
	SentAt time.Time `json:"sent_at,omitempty"`
}

// MaxPayloadBytes bounds an outbox item's payload. A post's text is a
// stored message's (at most MaxTextBytes); 64 KiB holds it with the
// channel's JSON and blocks around it, and keeps one bad item from
// bloating every poll of the outbox.
const MaxPayloadBytes = 64 << 10

// Validate checks an item to enqueue: a key, a known channel, a payload
// of 1 to MaxPayloadBytes bytes, short texts and storable times. The
// fields the store sets (ID, State, Attempts, LastError, Result, SentAt)
// are not checked: EnqueueOutbox ignores them.
func (it OutboxItem) Validate() error {
	if it.Key == "" {
		return fmt.Errorf("%w: outbox item without a key", ErrInvalid)
	}
	if !it.Channel.Valid() {
		return fmt.Errorf("%w: outbox channel %q", ErrInvalid, it.Channel)
	}
	if it.ConversationID < 0 {
		return fmt.Errorf("%w: negative conversation id %d in outbox item", ErrInvalid, it.ConversationID)
	}
	if len(it.Payload) == 0 {
		return fmt.Errorf("%w: outbox item %q has an empty payload", ErrInvalid, it.Key)
	}
	if len(it.Payload) > MaxPayloadBytes {
		return fmt.Errorf("%w: outbox payload is %d bytes, limit %d", ErrInvalid, len(it.Payload), MaxPayloadBytes)
	}
	if err := checkShort("outbox key", it.Key, "outbox kind", it.Kind); err != nil {
		return err
	}
	if err := CheckTime("outbox next time", it.NextAt); err != nil {
		return err
	}
	return CheckTime("outbox creation time", it.CreatedAt)
}

// OutboxErrorText is the form of a delivery error an outbox item keeps:
// valid UTF-8 (invalid bytes replaced), no NUL bytes, cut to at most
// MaxShortBytes at a character boundary. Both stores apply it instead of
// refusing the text: a retry refused for the wording of its error would
// not record its backoff, and the item would be tried again at once.
func OutboxErrorText(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= MaxShortBytes {
		return s
	}
	i := MaxShortBytes
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// CheckLink validates a conversation link's kind and value: both set,
// short, valid UTF-8.
func CheckLink(kind, value string) error {
	if kind == "" || value == "" {
		return fmt.Errorf("%w: conversation link needs a kind and a value (got %q, %q)", ErrInvalid, kind, value)
	}
	return checkShort("link kind", kind, "link value", value)
}

// CustomerExport is everything the CRM holds about one customer, for a
// data-subject access request (see Store.Export). It leaves out the
// outbox and the conversation links on purpose: they are delivery
// plumbing (channel ids and posts in transit, whose words are the
// messages exported here), and erasure deletes them with the
// conversations.
type CustomerExport struct {
	// Customer is the profile with its external ids, segment and score.
	Customer      Customer             `json:"customer"`
	Conversations []ConversationExport `json:"conversations"`
	Orders        []Order              `json:"orders"`
	// Labels are analysts' labels of the customer's messages.
	Labels []Label `json:"labels"`
	// Segment is the last segmentation run's assignment, nil when none.
	Segment *SegmentAssignment `json:"segment,omitempty"`
}

// ConversationExport is one conversation of a CustomerExport.
type ConversationExport struct {
	Conversation Conversation `json:"conversation"`
	Messages     []Message    `json:"messages"`
	Escalations  []Escalation `json:"escalations"`
}

// ConversationFilter selects conversations to list.
type ConversationFilter struct {
	States     []State // empty: any
	AssigneeID int64   // 0: any
	CustomerID int64   // 0: any
	Channel    Channel // "": any
	// Limit bounds the result (0: DefaultLimit); newest updates first.
	Limit int
}

// MessageFilter selects messages for the analysts' inbox.
type MessageFilter struct {
	// MaxConfidence keeps customer messages whose confidence is below it
	// (0: no bound); OutOfScope keeps out-of-scope ones; Actions keeps
	// those with these bot actions. The conditions are alternatives (OR);
	// with none set, every customer message qualifies.
	MaxConfidence float64
	OutOfScope    bool
	Actions       []string
	Since         time.Time
	Limit         int
}

// DefaultLimit bounds listings that give no limit.
const DefaultLimit = 100

// MaxLimit bounds every listing.
const MaxLimit = 100_000

// Store is the CRM's storage contract. Implementations are safe for
// concurrent use. Methods return an error wrapping ErrNotFound for
// missing records, ErrInvalid for bad input (nothing written), ErrConflict
// for uniqueness violations and for state changes that no longer apply
// (an outbox item that is not pending), and ErrSchema when the data store
// is newer than this build. A method that returns an error has written
// nothing.
//
// Records whose CreatedAt is zero are stamped with the store's clock;
// a set CreatedAt is kept (imports and demo data have a history). Times
// come back in UTC. Listings take a limit of 0 as DefaultLimit and cap
// it at MaxLimit; a negative limit is ErrInvalid.
type Store interface {
	// LogInteraction records an interaction atomically. It is idempotent
	// on (Channel, Message.ChannelMsgID) when ChannelMsgID is set.
	LogInteraction(ctx context.Context, in Interaction) (Logged, error)
	// AddMessage appends a message (an agent reply, a note, a bot message
	// sent outside an interaction) to a conversation. A message whose
	// (channel, ChannelMsgID) exists already is not added again; the
	// existing one is returned.
	AddMessage(ctx context.Context, m Message) (Message, error)

	Customer(ctx context.Context, id int64) (Customer, error)
	CustomerByExternalID(ctx context.Context, ref ExternalID) (Customer, error)
	// FindOrCreateCustomer returns the customer with ref, creating one
	// with name and email when there is none.
	FindOrCreateCustomer(ctx context.Context, ref ExternalID, name, email string) (Customer, error)
	// LinkExternalID adds ref to a customer (ErrConflict if another has it).
	LinkExternalID(ctx context.Context, customerID int64, ref ExternalID) error
	// Customers lists customers in id order after afterID, at most limit.
	Customers(ctx context.Context, afterID int64, limit int) ([]Customer, error)
	// DeleteCustomer erases a customer and everything about them
	// (conversations, messages, escalations, orders, labels of their
	// messages, segment assignments, their conversations' outbox items
	// and links) in one transaction.
	DeleteCustomer(ctx context.Context, id int64) error

	Conversation(ctx context.Context, id int64) (Conversation, error)
	Conversations(ctx context.Context, f ConversationFilter) ([]Conversation, error)
	// Messages returns a conversation's messages in order.
	Messages(ctx context.Context, conversationID int64) ([]Message, error)
	// SetState moves a conversation to a state (and assignee, for
	// StateAssigned), updating its open escalation to match.
	SetState(ctx context.Context, conversationID int64, s State, assigneeID int64, resolution string) (Conversation, error)
	Escalations(ctx context.Context, conversationID int64) ([]Escalation, error)
	// InboxMessages lists customer messages for review, newest first;
	// messages whose text retention deleted are left out.
	InboxMessages(ctx context.Context, f MessageFilter) ([]Message, error)

	AddOrder(ctx context.Context, o Order) (Order, error)
	Orders(ctx context.Context, customerID int64) ([]Order, error)

	CreateStaff(ctx context.Context, u StaffUser) (StaffUser, error)
	Staff(ctx context.Context, id int64) (StaffUser, error)
	StaffByEmail(ctx context.Context, email string) (StaffUser, error)
	ListStaff(ctx context.Context) ([]StaffUser, error)
	// UpdateStaff replaces a staff user's email, name, role, password
	// hash and disabled flag; an empty PasswordHash keeps the stored one.
	UpdateStaff(ctx context.Context, u StaffUser) error
	CreateSession(ctx context.Context, s Session) error
	// Session returns the unexpired session with the token hash.
	Session(ctx context.Context, tokenHash string, now time.Time) (Session, error)
	// DeleteSession removes a session (ErrNotFound if there is none).
	DeleteSession(ctx context.Context, tokenHash string) error

	// AddLabel stores a label. A label of a message (MessageID set) with
	// no Text takes the message's text (ErrTextDeleted when retention
	// deleted it); StaffID 0 is a label with no author (an import).
	AddLabel(ctx context.Context, l Label) (Label, error)
	// Labels lists analysts' labels, oldest first.
	Labels(ctx context.Context) ([]Label, error)

	// SaveModelVersion stores a model version (not active).
	SaveModelVersion(ctx context.Context, v ModelVersion) (ModelVersion, error)
	// ModelVersions lists a kind's versions without their artifacts, newest first.
	ModelVersions(ctx context.Context, kind string) ([]ModelVersion, error)
	// ModelVersion returns one version with its artifact.
	ModelVersion(ctx context.Context, id int64) (ModelVersion, error)
	// ActiveModel returns the active version of a kind, with its artifact.
	ActiveModel(ctx context.Context, kind string) (ModelVersion, error)
	// PromoteModel makes a version the active one of its kind.
	PromoteModel(ctx context.Context, id int64) error

	// SaveSegments replaces every customer's segment assignment.
	SaveSegments(ctx context.Context, as []SegmentAssignment) error
	// SaveLeadScores sets customers' lead scores.
	SaveLeadScores(ctx context.Context, scores []LeadScore, at time.Time) error
	// Stats returns the aggregates over what happened before asOf of
	// every customer created before asOf, in customer id order.
	Stats(ctx context.Context, asOf time.Time) ([]CustomerStats, error)
	// OrdersBetween returns, per customer, how many orders were placed in
	// [from, to); customers with none are left out.
	OrdersBetween(ctx context.Context, from, to time.Time) (map[int64]int, error)

	// Export returns everything stored about a customer (not the outbox
	// or links: see CustomerExport).
	Export(ctx context.Context, customerID int64) (CustomerExport, error)

	// ExpireMessages applies retention to what was written before
	// r.Before (see ExpireMode): the messages created before it whose
	// words were not expired with r.Mode or a stronger mode get
	// Message.Expire; the labels of those messages get ExpireLabelText;
	// conversations not updated since before it lose their slots (the
	// dialogue's memory of values the customer gave); outbox items sent
	// or failed whose CreatedAt and NextAt are both before it are
	// deleted (pending ones are kept: they are still to be delivered).
	// Customers' profiles, escalations, orders, hand-written labels and
	// links are not touched: erasing a customer is DeleteCustomer.
	//
	// It is idempotent: a second run with the same request changes
	// nothing and returns zero counts. Unlike other writes it commits in
	// batches, so that a large purge never holds the store's writer for
	// long; an error (a canceled context, say) keeps the batches already
	// committed, which the returned counts include, and running it again
	// finishes the work. With r.DryRun it writes nothing and returns
	// what a run would change.
	ExpireMessages(ctx context.Context, r Retention) (Expired, error)

	// The outbox. A channel's worker polls DueOutbox, posts each item,
	// and records the outcome with OutboxSent, OutboxRetry (try again
	// later) or OutboxFailed (give up); items stay pending until then, so
	// a worker that stops resumes where it was after a restart. Delivery
	// is at least once: a worker that posted but died before OutboxSent
	// posts the item again. There is no lease: one worker per channel
	// polls a store.

	// EnqueueOutbox queues it (see OutboxItem.Validate) as pending with
	// no attempts; a zero NextAt is now, a zero CreatedAt the store's
	// clock, and the store's fields are ignored. When an item with its
	// Key exists, nothing is written and the existing item is returned,
	// as stored, with created false. A ConversationID that does not
	// exist is ErrNotFound.
	EnqueueOutbox(ctx context.Context, it OutboxItem) (item OutboxItem, created bool, err error)
	// DueOutbox lists a channel's items to try at now (zero: the store's
	// clock), oldest id first, at most limit: pending items with NextAt
	// at or before now, except that of a conversation's pending items on
	// the channel only the oldest may go, and only when it is due, so a
	// later reply never overtakes an earlier one waiting for a retry.
	// Items of no conversation are each independent. Sent and failed
	// items block nothing.
	DueOutbox(ctx context.Context, ch Channel, now time.Time, limit int) ([]OutboxItem, error)
	// OutboxSent marks a pending item sent at at (zero: the store's
	// clock) with the channel's id for the post. An unknown id is
	// ErrNotFound; an item that is not pending is ErrConflict.
	OutboxSent(ctx context.Context, id int64, result string, at time.Time) error
	// OutboxRetry records a failed attempt of a pending item: one more
	// attempt, its error (kept as OutboxErrorText makes it), and when to
	// try again (zero: at once). It stays pending. Errors as OutboxSent.
	OutboxRetry(ctx context.Context, id int64, nextAt time.Time, errText string) error
	// ClaimOutbox takes a due pending item for one worker: it moves the
	// item's NextAt to until, so no other worker (another server on the
	// same database) sees it as due meanwhile, and reports whether this
	// caller got it — false when the item is not pending or not due at
	// now (someone else claimed it first). A claim that is never
	// followed by OutboxSent/Retry/Failed expires at until.
	ClaimOutbox(ctx context.Context, id int64, now, until time.Time) (bool, error)
	// OutboxFailed gives up on a pending item: one more attempt, its
	// error, state failed. It is never tried again and no longer holds
	// back its conversation's later items. Errors as OutboxSent.
	OutboxFailed(ctx context.Context, id int64, errText string) error
	// OutboxItemByKey returns the item with a key, in any state.
	OutboxItemByKey(ctx context.Context, key string) (OutboxItem, error)
	// OutboxDepth counts a channel's pending items, due or not.
	OutboxDepth(ctx context.Context, ch Channel) (int, error)

	// Links map channel-side ids to conversations, e.g. kind
	// "slack_staff_thread" -> "C0STAFF:1700000000.000100". A conversation
	// has at most one value per kind, and a (kind, value) names at most
	// one conversation. Kinds are free text; see CheckLink.

	// SetConversationLink sets the conversation's link of a kind,
	// replacing its value; setting the value it has is a no-op. A value
	// linked to another conversation is ErrConflict; an unknown
	// conversation ErrNotFound.
	SetConversationLink(ctx context.Context, conversationID int64, kind, value string) error
	// ConversationByLink returns the id of the conversation linked to
	// (kind, value), ErrNotFound when none is.
	ConversationByLink(ctx context.Context, kind, value string) (int64, error)
	// ConversationLinks returns a conversation's links by kind (an empty
	// map when it has none; ErrNotFound for an unknown conversation).
	ConversationLinks(ctx context.Context, conversationID int64) (map[string]string, error)

	Close() error
}

// Errors. Callers use errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid input")
	ErrConflict = errors.New("conflict")
	ErrSchema   = errors.New("unsupported schema version")
	// ErrUnavailable: the store cannot take writes for now (its disk is
	// full, it became read-only, an I/O error). Nothing was stored; the
	// same write may succeed later, so callers answer "try again", not
	// "internal error".
	ErrUnavailable = errors.New("storage unavailable")
)

// Limits on stored fields: longer input is ErrInvalid.
const (
	MaxTextBytes  = 16 << 10 // message text (normalized messages are <= 8 KiB; replies are longer)
	MaxShortBytes = 512      // names, emails, ids, labels, reasons
)

// CheckText validates a text field: valid UTF-8, at most max bytes.
func CheckText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, field)
	}
	if len(s) > max {
		return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrInvalid, field, len(s), max)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s contains a NUL byte", ErrInvalid, field)
	}
	return nil
}

// Stored times lie between MinTime and MaxTime; others are ErrInvalid
// (a store keeps them as Unix nanoseconds, which end in 2262).
var (
	MinTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// CheckTime validates a time to store: zero (the store stamps it) or
// between MinTime and MaxTime.
func CheckTime(field string, t time.Time) error {
	if !t.IsZero() && (t.Before(MinTime) || t.After(MaxTime)) {
		return fmt.Errorf("%w: %s %v is out of range", ErrInvalid, field, t)
	}
	return nil
}

// Validate checks a message's fields before it is stored.
func (m Message) Validate() error {
	switch m.Direction {
	case FromCustomer, FromBot, FromAgent, Note:
	default:
		return fmt.Errorf("%w: message direction %q", ErrInvalid, m.Direction)
	}
	if err := CheckText("message text", m.Text, MaxTextBytes); err != nil {
		return err
	}
	if err := CheckTime("message time", m.CreatedAt); err != nil {
		return err
	}
	if m.AuthorID < 0 || m.ConversationID < 0 {
		return fmt.Errorf("%w: negative id in message", ErrInvalid)
	}
	if err := checkFinite("confidence", m.Confidence); err != nil {
		return err
	}
	if err := checkFinite("sentiment score", m.SentimentScore); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{
		{"channel message id", m.ChannelMsgID}, {"intent", m.Intent}, {"sentiment", m.Sentiment},
		{"model version", m.ModelVersion}, {"action", m.Action},
	} {
		if err := CheckText(f.name, f.v, MaxShortBytes); err != nil {
			return err
		}
	}
	for _, q := range m.QuickReplies {
		if err := CheckText("quick reply", q, MaxShortBytes); err != nil {
			return err
		}
	}
	for _, e := range m.Entities {
		if err := CheckText("entity", e.Text+e.Value+e.Kind, MaxTextBytes); err != nil {
			return err
		}
	}
	for _, a := range m.Alternatives {
		if err := CheckText("alternative", a.Intent, MaxShortBytes); err != nil {
			return err
		}
		if err := checkFinite("alternative confidence", a.Confidence); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks an interaction before it is logged.
func (in Interaction) Validate() error {
	switch in.Channel {
	case ChannelWeb, ChannelSlack, ChannelAPI:
	default:
		return fmt.Errorf("%w: channel %q", ErrInvalid, in.Channel)
	}
	if err := in.Customer.Validate(); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{
		{"customer name", in.CustomerName}, {"customer email", in.CustomerEmail},
		{"conversation ref", in.ConversationRef}, {"escalation reason", in.Escalate},
	} {
		if err := CheckText(f.name, f.v, MaxShortBytes); err != nil {
			return err
		}
	}
	if in.Message.Direction != FromCustomer {
		return fmt.Errorf("%w: an interaction's message must come from the customer", ErrInvalid)
	}
	if err := in.Message.Validate(); err != nil {
		return err
	}
	for _, r := range in.Replies {
		if r.Direction != FromBot && r.Direction != FromAgent {
			return fmt.Errorf("%w: reply direction %q", ErrInvalid, r.Direction)
		}
		if err := r.Validate(); err != nil {
			return err
		}
	}
	if in.State != "" && !in.State.Valid() {
		return fmt.Errorf("%w: state %q", ErrInvalid, in.State)
	}
	if in.Escalate != "" && (in.State == StateBot || in.State == StateResolved) {
		return fmt.Errorf("%w: an escalation with state %q", ErrInvalid, in.State)
	}
	if in.Fallbacks < 0 {
		return fmt.Errorf("%w: negative fallback count %d", ErrInvalid, in.Fallbacks)
	}
	for k, v := range in.Slots {
		if err := CheckText("slot", k+v, MaxShortBytes); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks an external id.
func (r ExternalID) Validate() error {
	switch r.Kind {
	case IDSlackUser, IDWebVisitor, IDEmail, IDAPI:
	default:
		return fmt.Errorf("%w: external id kind %q", ErrInvalid, r.Kind)
	}
	if r.Value == "" {
		return fmt.Errorf("%w: empty external id", ErrInvalid)
	}
	return CheckText("external id", r.Value, MaxShortBytes)
}

// Reasons for escalations that no rule of the bot opened.
const (
	// EscalationByStaff is the reason of an escalation opened because
	// staff moved the conversation (see Store.SetState).
	EscalationByStaff = "staff"
	// EscalationByBot is the reason of an escalation opened by an
	// interaction that set StateEscalated without Escalate.
	EscalationByBot = "bot"
)

// Transition moves c to state to and keeps its escalation in step; both
// Store implementations apply it, so they agree. open is c's open
// escalation (status open or assigned), nil when there is none. It
// returns the updated conversation and the escalation to write: nil for
// none, one with ID 0 to insert, otherwise open updated.
//
//   - escalated: the conversation waits for a person; the open
//     escalation goes back to open and unassigned, or one is opened with
//     reason.
//   - assigned: assigneeID (required) answers; the open escalation is
//     assigned to them at now, or one is opened already assigned.
//   - bot, resolved: the open escalation, if any, is resolved at now
//     with resolution.
//
// AssigneeID is cleared in every state but assigned. Transition checks
// its arguments (ErrInvalid) but not that the assignee exists.
func (c Conversation) Transition(open *Escalation, to State, assigneeID int64, reason, resolution string, now time.Time) (Conversation, *Escalation, error) {
	if !to.Valid() {
		return c, nil, fmt.Errorf("%w: state %q", ErrInvalid, to)
	}
	if err := CheckText("resolution", resolution, MaxShortBytes); err != nil {
		return c, nil, err
	}
	if err := CheckText("escalation reason", reason, MaxShortBytes); err != nil {
		return c, nil, err
	}
	if to == StateAssigned && assigneeID <= 0 {
		return c, nil, fmt.Errorf("%w: state assigned needs an assignee", ErrInvalid)
	}
	if to != StateAssigned && assigneeID != 0 {
		return c, nil, fmt.Errorf("%w: an assignee with state %q", ErrInvalid, to)
	}
	c.State = to
	c.AssigneeID = assigneeID
	if now.After(c.UpdatedAt) {
		c.UpdatedAt = now
	}
	var e Escalation
	if open != nil {
		e = *open
	} else {
		e = Escalation{ConversationID: c.ID, Reason: reason, CreatedAt: now}
	}
	switch to {
	case StateEscalated:
		e.Status, e.AssigneeID, e.AssignedAt = EscalationOpen, 0, time.Time{}
	case StateAssigned:
		e.Status, e.AssigneeID, e.AssignedAt = EscalationAssigned, assigneeID, now
	default:
		if open == nil {
			return c, nil, nil
		}
		e.Status, e.Resolution, e.ResolvedAt = EscalationResolved, resolution, now
	}
	return c, &e, nil
}

// The validations below are shared by the Store implementations, so
// that they refuse the same input with the same error.

// Limit returns the number of records a listing with limit returns:
// DefaultLimit for 0, at most MaxLimit, ErrInvalid when negative.
func Limit(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, fmt.Errorf("%w: negative limit %d", ErrInvalid, limit)
	case limit == 0:
		return DefaultLimit, nil
	case limit > MaxLimit:
		return MaxLimit, nil
	}
	return limit, nil
}

// FoldEmail is the form of a staff email that uniqueness and look-ups
// compare: staff emails are case-insensitive.
func FoldEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func checkFinite(field string, f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("%w: %s is %v", ErrInvalid, field, f)
	}
	return nil
}

func checkShort(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if err := CheckText(fields[i], fields[i+1], MaxShortBytes); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks a conversation filter.
func (f ConversationFilter) Validate() error {
	for _, s := range f.States {
		if !s.Valid() {
			return fmt.Errorf("%w: state %q", ErrInvalid, s)
		}
	}
	if f.Channel != "" && !f.Channel.Valid() {
		return fmt.Errorf("%w: channel %q", ErrInvalid, f.Channel)
	}
	_, err := Limit(f.Limit)
	return err
}

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return c == ChannelWeb || c == ChannelSlack || c == ChannelAPI }

// Validate checks a message filter.
func (f MessageFilter) Validate() error {
	if err := checkFinite("max confidence", f.MaxConfidence); err != nil {
		return err
	}
	for _, a := range f.Actions {
		if err := CheckText("action", a, MaxShortBytes); err != nil {
			return err
		}
	}
	_, err := Limit(f.Limit)
	return err
}

// Order kinds.
const (
	OrderPurchase = "purchase"
	OrderSignup   = "signup"
)

// Validate checks an order before it is stored.
func (o Order) Validate() error {
	if o.Kind != OrderPurchase && o.Kind != OrderSignup {
		return fmt.Errorf("%w: order kind %q", ErrInvalid, o.Kind)
	}
	if err := checkFinite("order amount", o.Amount); err != nil {
		return err
	}
	if err := CheckTime("order time", o.CreatedAt); err != nil {
		return err
	}
	return checkShort("order ref", o.Ref, "item", o.Item, "category", o.Category, "currency", o.Currency)
}

// Validate checks a staff user before it is stored.
func (u StaffUser) Validate() error {
	if FoldEmail(u.Email) == "" {
		return fmt.Errorf("%w: empty staff email", ErrInvalid)
	}
	if !u.Role.Valid() {
		return fmt.Errorf("%w: role %q", ErrInvalid, u.Role)
	}
	if err := CheckTime("staff creation time", u.CreatedAt); err != nil {
		return err
	}
	return checkShort("staff email", u.Email, "staff name", u.Name, "password hash", u.PasswordHash)
}

// Validate checks a session before it is stored.
func (s Session) Validate() error {
	if s.TokenHash == "" {
		return fmt.Errorf("%w: empty session token hash", ErrInvalid)
	}
	if s.ExpiresAt.IsZero() {
		return fmt.Errorf("%w: session without expiry", ErrInvalid)
	}
	if err := CheckTime("session expiry", s.ExpiresAt); err != nil {
		return err
	}
	if err := CheckTime("session creation time", s.CreatedAt); err != nil {
		return err
	}
	return checkShort("session token hash", s.TokenHash, "csrf token", s.CSRF)
}

// Validate checks a label before it is stored (Text may be empty when
// MessageID is set: the store fills it).
func (l Label) Validate() error {
	if l.Intent == "" {
		return fmt.Errorf("%w: label without intent", ErrInvalid)
	}
	if l.Text == "" && l.MessageID == 0 {
		return fmt.Errorf("%w: label without text or message", ErrInvalid)
	}
	if l.MessageID < 0 || l.StaffID < 0 {
		return fmt.Errorf("%w: negative id in label", ErrInvalid)
	}
	if err := CheckText("label text", l.Text, MaxTextBytes); err != nil {
		return err
	}
	if err := CheckTime("label time", l.CreatedAt); err != nil {
		return err
	}
	return checkShort("label intent", l.Intent)
}

// Validate checks a model version before it is stored.
func (v ModelVersion) Validate() error {
	if v.Kind == "" || v.Version == "" {
		return fmt.Errorf("%w: model version needs a kind and a version", ErrInvalid)
	}
	if err := checkShort("model kind", v.Kind, "model version", v.Version, "data hash", v.DataHash); err != nil {
		return err
	}
	if err := CheckText("model notes", v.Notes, MaxTextBytes); err != nil {
		return err
	}
	if err := CheckTime("model creation time", v.CreatedAt); err != nil {
		return err
	}
	for k, m := range v.Metrics {
		if err := CheckText("metric name", k, MaxShortBytes); err != nil {
			return err
		}
		if err := checkFinite("metric "+k, m); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks a segment assignment before it is stored.
func (a SegmentAssignment) Validate() error {
	if a.Segment == "" {
		return fmt.Errorf("%w: customer %d has an empty segment", ErrInvalid, a.CustomerID)
	}
	if err := checkShort("segment", a.Segment); err != nil {
		return err
	}
	if err := CheckText("segment profile", a.Profile, MaxTextBytes); err != nil {
		return err
	}
	if err := checkFinite("segment x", a.X); err != nil {
		return err
	}
	return checkFinite("segment y", a.Y)
}

// Validate checks a lead score: a probability.
func (s LeadScore) Validate() error {
	if math.IsNaN(s.Score) || s.Score < 0 || s.Score > 1 {
		return fmt.Errorf("%w: lead score %v of customer %d is not a probability", ErrInvalid, s.Score, s.CustomerID)
	}
	return nil
}

// StatsBuilder computes CustomerStats from a store's records, so that
// every Store implementation aggregates the same way: feed it the
// customers and their orders, conversations, escalations and messages,
// then call Stats. Records at or after the cut-off, and records of
// customers not fed or created at or after it, are ignored.
type StatsBuilder struct {
	asOf    time.Time
	idx     map[int64]int
	out     []CustomerStats
	late    [][]lateMessage     // per customer, its latest messages, oldest first
	pending map[int64]time.Time // per conversation, the first unanswered customer message
}

// lateMessages is how many of a customer's last messages the late
// sentiment covers.
const lateMessages = 10

type lateMessage struct {
	at    time.Time
	id    int64
	score float64
}

// NewStatsBuilder returns a builder of the aggregates before asOf.
func NewStatsBuilder(asOf time.Time) *StatsBuilder {
	return &StatsBuilder{asOf: asOf, idx: map[int64]int{}, pending: map[int64]time.Time{}}
}

func (b *StatsBuilder) stats(customerID int64, at time.Time) *CustomerStats {
	i, ok := b.idx[customerID]
	if !ok || !at.Before(b.asOf) {
		return nil
	}
	return &b.out[i]
}

// Customer adds a customer.
func (b *StatsBuilder) Customer(id int64, createdAt time.Time) {
	if _, ok := b.idx[id]; ok || !createdAt.Before(b.asOf) {
		return
	}
	b.idx[id] = len(b.out)
	b.out = append(b.out, CustomerStats{CustomerID: id, CreatedAt: createdAt.UTC(), IntentCounts: map[string]int{}})
	b.late = append(b.late, nil)
}

// Order adds an order.
func (b *StatsBuilder) Order(customerID int64, amount float64, at time.Time) {
	s := b.stats(customerID, at)
	if s == nil {
		return
	}
	s.Orders++
	s.Monetary += amount
	if s.FirstOrder.IsZero() || at.Before(s.FirstOrder) {
		s.FirstOrder = at.UTC()
	}
	if at.After(s.LastOrder) {
		s.LastOrder = at.UTC()
	}
}

// Conversation adds a conversation started at at.
func (b *StatsBuilder) Conversation(customerID int64, at time.Time) {
	if s := b.stats(customerID, at); s != nil {
		s.Conversations++
	}
}

// Escalation adds an escalation opened at at.
func (b *StatsBuilder) Escalation(customerID int64, at time.Time) {
	if s := b.stats(customerID, at); s != nil {
		s.Escalations++
	}
}

// Message adds a message of one of the customer's conversations. Each
// conversation's messages must come in order (by CreatedAt, then ID);
// conversations may interleave. Only Direction, ConversationID, ID,
// CreatedAt, Intent and SentimentScore are read.
func (b *StatsBuilder) Message(customerID int64, m Message) {
	s := b.stats(customerID, m.CreatedAt)
	if s == nil {
		return
	}
	switch m.Direction {
	case FromCustomer:
		s.Messages++
		s.SentimentSum += m.SentimentScore
		if m.Intent != "" {
			s.IntentCounts[m.Intent]++
		}
		if m.CreatedAt.After(s.LastMessage) {
			s.LastMessage = m.CreatedAt.UTC()
		}
		if _, waiting := b.pending[m.ConversationID]; !waiting {
			b.pending[m.ConversationID] = m.CreatedAt
		}
		b.addLate(b.idx[customerID], lateMessage{m.CreatedAt, m.ID, m.SentimentScore})
	case FromBot, FromAgent:
		if since, waiting := b.pending[m.ConversationID]; waiting {
			s.ReplySeconds += m.CreatedAt.Sub(since).Seconds()
			s.Replies++
			delete(b.pending, m.ConversationID)
		}
	}
}

// addLate keeps a customer's lateMessages latest messages in order.
func (b *StatsBuilder) addLate(i int, m lateMessage) {
	l := b.late[i]
	before := func(x, y lateMessage) bool { return x.at.Before(y.at) || x.at.Equal(y.at) && x.id < y.id }
	if len(l) == lateMessages {
		if !before(l[0], m) {
			return
		}
		l = l[1:]
	}
	j := len(l)
	for j > 0 && before(m, l[j-1]) {
		j--
	}
	l = append(l[:j:j], append([]lateMessage{m}, l[j:]...)...)
	b.late[i] = l
}

// Stats returns the aggregates in customer id order.
func (b *StatsBuilder) Stats() []CustomerStats {
	for i := range b.out {
		for _, m := range b.late[i] {
			b.out[i].LateSentimentSum += m.score
		}
		b.out[i].LateMessages = len(b.late[i])
	}
	out := make([]CustomerStats, len(b.out))
	copy(out, b.out)
	slices.SortFunc(out, func(x, y CustomerStats) int { return cmp.Compare(x.CustomerID, y.CustomerID) })
	return out
}

// ValidateSegments checks a segmentation run's assignments: each valid,
// no customer twice.
func ValidateSegments(as []SegmentAssignment) error {
	seen := make(map[int64]bool, len(as))
	for _, a := range as {
		if err := a.Validate(); err != nil {
			return err
		}
		if seen[a.CustomerID] {
			return fmt.Errorf("%w: customer %d assigned twice", ErrInvalid, a.CustomerID)
		}
		seen[a.CustomerID] = true
	}
	return nil
}

// ValidateLeadScores checks lead scores and their time: each a
// probability, no customer twice.
func ValidateLeadScores(scores []LeadScore, at time.Time) error {
	if err := CheckTime("score time", at); err != nil {
		return err
	}
	seen := make(map[int64]bool, len(scores))
	for _, s := range scores {
		if err := s.Validate(); err != nil {
			return err
		}
		if seen[s.CustomerID] {
			return fmt.Errorf("%w: customer %d scored twice", ErrInvalid, s.CustomerID)
		}
		seen[s.CustomerID] = true
	}
	return nil
}

// Redacted returns m with redact applied to its text and its entities'
// texts and values, and checked again: a redactor whose output is not a
// valid message is an error (ErrInvalid). Entity offsets still refer to
// the text as written. A nil redact returns m as it is.
func (m Message) Redacted(redact func(string) string) (Message, error) {
	if redact == nil {
		return m, nil
	}
	m.Text = redact(m.Text)
	if len(m.Entities) > 0 {
		ents := make([]Entity, len(m.Entities))
		for i, e := range m.Entities {
			e.Text, e.Value = redact(e.Text), redact(e.Value)
			ents[i] = e
		}
		m.Entities = ents
	}
	if err := m.Validate(); err != nil {
		return m, fmt.Errorf("after redaction: %w", err)
	}
	return m, nil
}
