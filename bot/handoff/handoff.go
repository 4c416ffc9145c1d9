// Package handoff is the support desk between the bot's customers and
// the people who take over from it: claiming an escalated conversation,
// replying to the customer, internal notes, resolving it back to the
// bot. It is channel-agnostic: a person's reply is stored in the CRM and
// handed to the Deliverer of the customer's own channel (the web chat
// widget, a Slack thread), and every change is announced to observers
// (the staff channel in Slack, the console's live inbox), so a change
// made in one place shows up in the others.
package handoff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/parley-chat/parley/crm"
)

// Store is what the desk needs of the CRM.
type Store interface {
	Conversation(ctx context.Context, id int64) (crm.Conversation, error)
	SetState(ctx context.Context, conversationID int64, s crm.State, assigneeID int64, resolution string) (crm.Conversation, error)
	AddMessage(ctx context.Context, m crm.Message) (crm.Message, error)
}

// Deliverer sends what a person wrote to the customer on the customer's
// own channel. It must not block for long: channels that talk to a slow
// service queue the work durably and return.
type Deliverer interface {
	// Deliver sends a person's reply, already stored.
	Deliver(ctx context.Context, conv crm.Conversation, m crm.Message, author crm.StaffUser) error
	// StateChanged tells the customer's side the conversation's state
	// changed (a person joined; it went back to the bot).
	StateChanged(ctx context.Context, conv crm.Conversation)
}

// Kind is what happened to a conversation.
type Kind string

// Kinds of events.
const (
	Escalated Kind = "escalated" // the bot handed it over
	Claimed   Kind = "claimed"   // a person took it (or was assigned it)
	Replied   Kind = "replied"   // a person answered the customer
	Noted     Kind = "noted"     // an internal note
	Resolved  Kind = "resolved"  // back to the bot
	// CustomerWrote: the customer wrote while a person owns the
	// conversation (the bot stayed silent).
	CustomerWrote Kind = "customer"
)

// Source says where a person acted, so a channel does not echo its own
// actions back (a reply typed in a Slack thread is already there).
type Source string

// Sources.
const (
	SourceConsole Source = "console"
	SourceSlack   Source = "slack"
	SourceBot     Source = "bot"
)

// Event is one change to a conversation, after it is stored.
type Event struct {
	Kind         Kind
	Source       Source
	Conversation crm.Conversation // its state after the change
	Staff        crm.StaffUser    // who acted (zero for the bot); for Claimed, the new owner
	// By is who assigned the conversation to Staff, when someone else did.
	By      crm.StaffUser
	Message crm.Message // the reply or note
	// Reason is the escalation's reason, or the resolution.
	Reason string
}

// Observer is told of every event. It runs on the acting goroutine and
// must return quickly.
type Observer func(ctx context.Context, e Event)

// Errors.
var (
	// ErrNotEscalated is returned for claiming a conversation that is
	// not waiting for a person.
	ErrNotEscalated = errors.New("the conversation is not waiting for a person")
	// ErrNoChannel is returned when no deliverer serves the customer's channel.
	ErrNoChannel = errors.New("no channel delivers to this customer")
)

// Desk is the support desk. It is safe for concurrent use.
type Desk struct {
	store Store
	log   *slog.Logger

	mu        sync.RWMutex
	channels  map[crm.Channel]Deliverer
	observers []Observer
}

// New returns a desk on the CRM; log nil means slog.Default().
func New(store Store, log *slog.Logger) *Desk {
	if log == nil {
		log = slog.Default()
	}
	return &Desk{store: store, log: log, channels: map[crm.Channel]Deliverer{}}
}

// Route makes d deliver people's replies to customers on ch.
func (d *Desk) Route(ch crm.Channel, dl Deliverer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.channels[ch] = dl
}

// Observe adds an observer of every event.
func (d *Desk) Observe(o Observer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.observers = append(d.observers, o)
}

func (d *Desk) announce(ctx context.Context, e Event) {
	d.mu.RLock()
	obs := d.observers
	d.mu.RUnlock()
	for _, o := range obs {
		o(ctx, e)
	}
}

func (d *Desk) deliverer(ch crm.Channel) Deliverer {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.channels[ch]
}

// Escalated announces that the bot handed a conversation over; the
// engine calls it (bot.Engine.OnEscalate).
func (d *Desk) Escalated(ctx context.Context, conversationID int64, reason string) {
	conv, err := d.store.Conversation(ctx, conversationID)
	if err != nil {
		d.log.Error("escalation: read the conversation", "conversation", conversationID, "err", err)
		return
	}
	d.announce(ctx, Event{Kind: Escalated, Source: SourceBot, Conversation: conv, Reason: reason})
}

// CustomerWrote announces a customer's message in a conversation a
// person owns; the engine calls it (bot.Engine.OnHandoff).
func (d *Desk) CustomerWrote(ctx context.Context, conversationID int64, m crm.Message) {
	conv, err := d.store.Conversation(ctx, conversationID)
	if err != nil {
		d.log.Error("customer message: read the conversation", "conversation", conversationID, "err", err)
		return
	}
	d.announce(ctx, Event{Kind: CustomerWrote, Source: SourceBot, Conversation: conv, Message: m})
}

// Claim assigns a conversation to staff, who takes it over. Claiming a
// conversation assigned to someone else moves it to staff.
func (d *Desk) Claim(ctx context.Context, conversationID int64, staff crm.StaffUser, src Source) (crm.Conversation, error) {
	conv, err := d.store.Conversation(ctx, conversationID)
	if err != nil {
		return conv, fmt.Errorf("claim conversation %d: %w", conversationID, err)
	}
	switch {
	case conv.State == crm.StateAssigned && conv.AssigneeID == staff.ID:
		return conv, nil
	case conv.State != crm.StateEscalated && conv.State != crm.StateAssigned:
		return conv, fmt.Errorf("claim conversation %d: %w (it is %s)", conversationID, ErrNotEscalated, conv.State)
	}
	return d.assign(ctx, conv, staff, src)
}

// Assign gives a conversation waiting for a person (or assigned to
// someone) to another staff member; by is who did it.
func (d *Desk) Assign(ctx context.Context, conversationID int64, to, by crm.StaffUser, src Source) (crm.Conversation, error) {
	conv, err := d.store.Conversation(ctx, conversationID)
	if err != nil {
		return conv, fmt.Errorf("assign conversation %d: %w", conversationID, err)
	}
	if to.Disabled || to.ID == 0 {
		return conv, fmt.Errorf("assign conversation %d: %w: no such active staff member", conversationID, crm.ErrInvalid)
	}
	switch {
	case conv.State == crm.StateAssigned && conv.AssigneeID == to.ID:
		return conv, nil
	case conv.State != crm.StateEscalated && conv.State != crm.StateAssigned:
		return conv, fmt.Errorf("assign conversation %d: %w (it is %s)", conversationID, ErrNotEscalated, conv.State)
	}
	conv, err = d.store.SetState(ctx, conv.ID, crm.StateAssigned, to.ID, "")
	if err != nil {
		return conv, fmt.Errorf("assign conversation %d to %s: %w", conv.ID, to.Email, err)
	}
	if dl := d.deliverer(conv.Channel); dl != nil {
		dl.StateChanged(ctx, conv)
	}
	d.announce(ctx, Event{Kind: Claimed, Source: src, Conversation: conv, Staff: to, By: by})
	return conv, nil
}

func (d *Desk) assign(ctx context.Context, conv crm.Conversation, staff crm.StaffUser, src Source) (crm.Conversation, error) {
	conv, err := d.store.SetState(ctx, conv.ID, crm.StateAssigned, staff.ID, "")
	if err != nil {
		return conv, fmt.Errorf("assign conversation %d to %s: %w", conv.ID, staff.Email, err)
	}
	if dl := d.deliverer(conv.Channel); dl != nil {
		dl.StateChanged(ctx, conv)
	}
	d.announce(ctx, Event{Kind: Claimed, Source: src, Conversation: conv, Staff: staff, By: staff})
	return conv, nil
}

// Reply stores a person's reply and delivers it to the customer on
// their channel. A conversation not yet assigned to staff is assigned
// to them first: whoever answers owns it.
func (d *Desk) Reply(ctx context.Context, conversationID int64, staff crm.StaffUser, text string, src Source) (crm.Message, error) {
	return d.ReplyOnce(ctx, conversationID, staff, text, src, "")
}

// ReplyOnce is Reply for a reply with the channel's own id (a Slack
// message ts): a redelivery of it stores nothing and delivers nothing
// new (channels dedupe what they send by the message's CRM id).
func (d *Desk) ReplyOnce(ctx context.Context, conversationID int64, staff crm.StaffUser, text string, src Source, channelMsgID string) (crm.Message, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return crm.Message{}, fmt.Errorf("reply: %w: empty text", crm.ErrInvalid)
	}
	conv, err := d.store.Conversation(ctx, conversationID)
	if err != nil {
		return crm.Message{}, fmt.Errorf("reply to conversation %d: %w", conversationID, err)
	}
	dl := d.deliverer(conv.Channel)
	if dl == nil {
		return crm.Message{}, fmt.Errorf("reply to conversation %d on %s: %w", conversationID, conv.Channel, ErrNoChannel)
	}
	m, err := d.store.AddMessage(ctx, crm.Message{ConversationID: conv.ID, Direction: crm.FromAgent, AuthorID: staff.ID, Text: text, ChannelMsgID: channelMsgID})
	if err != nil {
		return m, fmt.Errorf("reply to conversation %d: %w", conversationID, err)
	}
	if conv.State != crm.StateAssigned || conv.AssigneeID != staff.ID {
		if conv, err = d.assign(ctx, conv, staff, src); err != nil {
			return m, err
		}
	}
	if err := dl.Deliver(ctx, conv, m, staff); err != nil {
		// The reply is stored; the channel's own retry (or the widget's
		// next reconnect) brings it to the customer.
		d.log.Error("deliver a reply", "conversation", conv.ID, "channel", conv.Channel, "err", err)
	}
	d.announce(ctx, Event{Kind: Replied, Source: src, Conversation: conv, Staff: staff, Message: m})
	return m, nil
}

// Note stores an internal note: staff see it, the customer never does.
func (d *Desk) Note(ctx context.Context, conversationID int64, staff crm.StaffUser, text string, src Source) (crm.Message, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return crm.Message{}, fmt.Errorf("note: %w: empty text", crm.ErrInvalid)
	}
	conv, err := d.store.Conversation(ctx, conversationID)
	if err != nil {
		return crm.Message{}, fmt.Errorf("note on conversation %d: %w", conversationID, err)
	}
	m, err := d.store.AddMessage(ctx, crm.Message{ConversationID: conv.ID, Direction: crm.Note, AuthorID: staff.ID, Text: text})
	if err != nil {
		return m, fmt.Errorf("note on conversation %d: %w", conversationID, err)
	}
	d.announce(ctx, Event{Kind: Noted, Source: src, Conversation: conv, Staff: staff, Message: m})
	return m, nil
}

// Resolve closes the person's part of a conversation with a resolution
// and hands it back to the bot: the customer's next message is the bot's
// again.
func (d *Desk) Resolve(ctx context.Context, conversationID int64, staff crm.StaffUser, resolution string, src Source) (crm.Conversation, error) {
	resolution = strings.TrimSpace(resolution)
	if resolution == "" {
		resolution = "resolved"
	}
	conv, err := d.store.Conversation(ctx, conversationID)
	if err != nil {
		return conv, fmt.Errorf("resolve conversation %d: %w", conversationID, err)
	}
	if conv.State == crm.StateResolved {
		return conv, nil
	}
	if conv, err = d.store.SetState(ctx, conversationID, crm.StateResolved, 0, resolution); err != nil {
		return conv, fmt.Errorf("resolve conversation %d: %w", conversationID, err)
	}
	if dl := d.deliverer(conv.Channel); dl != nil {
		dl.StateChanged(ctx, conv)
	}
	d.announce(ctx, Event{Kind: Resolved, Source: src, Conversation: conv, Staff: staff, Reason: resolution})
	return conv, nil
}
