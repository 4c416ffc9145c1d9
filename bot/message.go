package bot

import (
	"errors"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/intents"
)

// Message is one inbound customer message, from any channel.
type Message struct {
	Channel crm.Channel
	// Customer identifies the customer on the channel; Name and Email
	// fill in a new customer's profile.
	Customer      crm.ExternalID
	CustomerName  string
	CustomerEmail string
	// ConversationID continues a known conversation; 0 continues the
	// customer's latest conversation on the channel with ConversationRef
	// (a Slack thread, a web session), or starts one.
	ConversationID  int64
	ConversationRef string
	Text            string
	// ChannelMsgID is the channel's id for the message; handling is
	// idempotent on it (a redelivery gets the original replies).
	ChannelMsgID string
	// At is when the message was received (zero: now).
	At time.Time
}

// Reply is one message the bot sends back.
type Reply struct {
	Text         string   `json:"text"`
	QuickReplies []string `json:"quick_replies,omitempty"`
	// ID is the reply's CRM message id (channels that sync history use it).
	ID int64 `json:"-"`
}

// Action is what the engine decided for a message.
type Action string

// Actions.
const (
	ActionAnswer    Action = "answer"    // answered from an article for the intent
	ActionSearch    Action = "search"    // answered from an article the search found
	ActionClarify   Action = "clarify"   // asked which of two intents was meant
	ActionAsk       Action = "ask"       // asked for a missing detail (a slot)
	ActionSmallTalk Action = "smalltalk" // greeting, thanks, goodbye ...
	ActionFallback  Action = "fallback"  // did not understand
	ActionEscalate  Action = "escalate"  // handed over to a person
	ActionHandoff   Action = "handoff"   // a person owns the conversation: the bot stays silent
)

// Turn is the outcome of handling one message.
type Turn struct {
	CustomerID     int64
	ConversationID int64
	MessageID      int64
	Replies        []Reply
	Action         Action
	// Intent is the intent acted on ("" for fallbacks and hand-offs),
	// Prediction what the model said, Sentiment its tone.
	Intent     string
	Prediction intents.Prediction
	Sentiment  intents.Sentiment
	// Article is the id of the article answered from, if any.
	Article string
	// State is the conversation's state after the message; Escalated
	// reports that this message handed it to a person.
	State     crm.State
	Escalated bool
	// Duplicate reports a redelivered message: nothing was stored and
	// Replies are the ones sent the first time.
	Duplicate bool
}

// Errors from Handle. Callers use errors.Is; all of them mean nothing
// was stored.
var (
	// ErrUnknownConversation: the conversation does not exist, or
	// belongs to another customer.
	ErrUnknownConversation = errors.New("unknown conversation")
	// ErrBadMessage: the message is empty, too long or malformed.
	ErrBadMessage = errors.New("bad message")
)
