package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/handoff"
	"github.com/parley-chat/parley/crm"
)

// eventDeadline bounds handling one event: Slack waits 3 s for an
// answer before it delivers the event again.
const eventDeadline = 2500 * time.Millisecond

// Action ids of Parley's buttons.
const (
	actionQuick   = "parley_quick"   // a customer's quick reply (parley_quick_N); value: its text
	actionClaim   = "parley_claim"   // staff: take the conversation; value: its id
	actionResolve = "parley_resolve" // staff: resolve it; value: its id
)

// linkThread maps a conversation to the customer's thread ("C…:ts"),
// so that later messages in a channel thread without a mention are
// known to be Parley's.
const linkThread = "slack_thread"

// handleEvent handles one Events API event (from HTTP or Socket Mode).
// It returns an error only when Slack should deliver it again (the CRM
// could not take it); bad or uninteresting events are logged and
// dropped.
func (a *App) handleEvent(ctx context.Context, ev slackevents.EventsAPIEvent) error {
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.MessageEvent:
		// Edits, deletions, joins, bot posts ... come with a subtype:
		// none of them is a customer talking to the bot.
		if e.SubType != "" || e.BotID != "" {
			return nil
		}
		return a.onMessage(ctx, inbound{
			user: e.User, channel: e.Channel, channelType: e.ChannelType, text: e.Text,
			ts: e.TimeStamp, threadTS: e.ThreadTimeStamp,
		})
	case *slackevents.AppMentionEvent:
		if e.BotID != "" {
			return nil
		}
		return a.onMessage(ctx, inbound{
			user: e.User, channel: e.Channel, channelType: "channel", text: e.Text,
			ts: e.TimeStamp, threadTS: e.ThreadTimeStamp, mention: true,
		})
	default:
		a.log.Debug("slack event ignored", "type", ev.InnerEvent.Type)
		return nil
	}
}

// inbound is a message from Slack, whatever delivered it.
type inbound struct {
	user, channel, channelType string
	text, ts, threadTS         string
	mention                    bool
	// msgID overrides the channel message id (button clicks have no ts
	// of their own).
	msgID string
}

var mentionRE = regexp.MustCompile(`<@[A-Z0-9]+>`)

func (a *App) onMessage(ctx context.Context, in inbound) error {
	if in.user == "" || in.user == a.botUserID {
		return nil
	}
	if in.channel == a.cfg.StaffChannel {
		return a.onStaffMessage(ctx, in)
	}
	root := in.threadTS
	if root == "" {
		root = in.ts
	}
	if in.channelType == "im" && in.threadTS == "" {
		// Few people reply in threads in a direct message: a new line
		// continues the conversation that is still going.
		if r, ok := a.ongoingDM(ctx, in.user, in.channel); ok {
			root = r
		}
	}
	ref := in.channel + ":" + root
	if !in.mention && in.channelType != "im" {
		// In a channel, the bot answers mentions, and messages in the
		// threads it is already part of.
		if in.threadTS == "" {
			return nil
		}
		if _, err := a.store.ConversationByLink(ctx, linkThread, ref); errors.Is(err, crm.ErrNotFound) {
			return nil
		} else if err != nil {
			return fmt.Errorf("look up thread %s: %w", ref, err)
		}
	}
	text := strings.TrimSpace(mentionRE.ReplaceAllString(in.text, ""))
	if text == "" {
		return nil
	}
	prof, err := a.userProfile(ctx, in.user)
	if err != nil {
		// The profile only fills in a new customer's name and email.
		a.log.Warn("slack user profile", "user", in.user, "err", err)
	}
	if prof.isBot {
		return nil
	}
	if prof.email != "" && !prof.linked {
		a.joinByEmail(ctx, in.user, prof.email)
	}
	msgID := in.msgID
	if msgID == "" {
		msgID = in.channel + ":" + in.ts
	}
	turn, err := a.engine.Handle(ctx, bot.Message{
		Channel:         crm.ChannelSlack,
		Customer:        crm.ExternalID{Kind: crm.IDSlackUser, Value: in.user},
		CustomerName:    prof.name,
		CustomerEmail:   prof.email,
		ConversationRef: ref,
		Text:            text,
		ChannelMsgID:    msgID,
	})
	if errors.Is(err, bot.ErrBadMessage) {
		// Too long, or nothing to understand: say so, once.
		qerr := a.queue(ctx, crm.OutboxItem{
			Key: "reject:" + msgID, Channel: crm.ChannelSlack, Kind: "reply",
			Payload: mustJSON(post{Channel: in.channel, ThreadTS: root, Text: "Sorry, I can't read that message: " + err.Error()}),
		})
		a.kick()
		return qerr
	} else if err != nil {
		return fmt.Errorf("handle slack message %s: %w", msgID, err)
	}
	if err := a.store.SetConversationLink(ctx, turn.ConversationID, linkThread, ref); err != nil && !errors.Is(err, crm.ErrConflict) {
		return fmt.Errorf("link thread %s: %w", ref, err)
	}
	if prof.email != "" {
		a.linkEmail(ctx, in.user, turn.CustomerID, prof.email)
	}
	for _, r := range turn.Replies {
		if err := a.queue(ctx, crm.OutboxItem{
			Key: "reply:" + strconv.FormatInt(r.ID, 10), Channel: crm.ChannelSlack, ConversationID: turn.ConversationID, Kind: "reply",
			Payload: mustJSON(post{Channel: in.channel, ThreadTS: root, Text: r.Text, QuickReplies: r.QuickReplies}),
		}); err != nil {
			return fmt.Errorf("queue the reply to %s: %w", msgID, err)
		}
	}
	a.kick()
	return nil
}

// dmContinues is how long after its last message a direct-message
// conversation takes a new top-level message as its own.
const dmContinues = 30 * time.Minute

// ongoingDM finds the thread of the customer's conversation in a direct
// message channel that a new top-level message continues: one a person
// owns, or one active in the last half hour.
func (a *App) ongoingDM(ctx context.Context, user, channel string) (root string, ok bool) {
	cust, err := a.store.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDSlackUser, Value: user})
	if err != nil {
		return "", false
	}
	convs, err := a.store.Conversations(ctx, crm.ConversationFilter{CustomerID: cust.ID, Channel: crm.ChannelSlack, Limit: 20})
	if err != nil {
		return "", false
	}
	for _, c := range convs { // newest first
		ch, r, found := strings.Cut(c.Ref, ":")
		if !found || ch != channel {
			continue
		}
		owned := c.State == crm.StateEscalated || c.State == crm.StateAssigned
		if owned || a.now().Sub(c.UpdatedAt) < dmContinues {
			return r, true
		}
		return "", false // the latest one here is over: start afresh
	}
	return "", false
}

// joinByEmail makes a Slack user who is new to the CRM the customer who
// already has their email (from an order, or a web chat that gave it),
// so their history follows them.
func (a *App) joinByEmail(ctx context.Context, user, email string) {
	ref := crm.ExternalID{Kind: crm.IDSlackUser, Value: user}
	if _, err := a.store.CustomerByExternalID(ctx, ref); !errors.Is(err, crm.ErrNotFound) {
		return
	}
	cust, err := a.store.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDEmail, Value: strings.ToLower(email)})
	if err != nil {
		return
	}
	if err := a.store.LinkExternalID(ctx, cust.ID, ref); err != nil && !errors.Is(err, crm.ErrConflict) {
		a.log.Warn("link a Slack user to a customer", "customer", cust.ID, "err", err)
	}
}

// linkEmail records the customer's Slack email as an external id, once
// per user and process. Someone else holding the email is left alone.
func (a *App) linkEmail(ctx context.Context, user string, customerID int64, email string) {
	a.usersMu.Lock()
	u := a.users[user]
	done := u.linked
	u.linked = true
	a.users[user] = u
	a.usersMu.Unlock()
	if done {
		return
	}
	err := a.store.LinkExternalID(ctx, customerID, crm.ExternalID{Kind: crm.IDEmail, Value: strings.ToLower(email)})
	if err != nil && !errors.Is(err, crm.ErrConflict) {
		a.log.Warn("link customer email", "customer", customerID, "err", err)
	}
}

// onStaffMessage relays a staff member's reply in an escalation thread
// to the customer.
func (a *App) onStaffMessage(ctx context.Context, in inbound) error {
	if in.threadTS == "" {
		return nil // the team talking among themselves
	}
	convID, err := a.store.ConversationByLink(ctx, linkStaffThread, in.channel+":"+in.threadTS)
	if errors.Is(err, crm.ErrNotFound) {
		// The summary may be posted but not yet linked (its answer lost,
		// or still on its way): its metadata names the conversation.
		if convID, err = a.linkFromSummary(ctx, in.channel, in.threadTS); err != nil || convID == 0 {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("look up staff thread: %w", err)
	}
	staff, ok := a.staffFor(ctx, in.user, in.channel)
	if !ok {
		return nil
	}
	text := strings.TrimSpace(in.text)
	if text == "" {
		return nil
	}
	if _, err := a.desk.ReplyOnce(ctx, convID, staff, text, handoff.SourceSlack, "slack:"+in.channel+":"+in.ts); err != nil {
		if errors.Is(err, crm.ErrInvalid) || errors.Is(err, handoff.ErrNoChannel) {
			a.ephemeral(ctx, in.channel, in.user, "Parley could not send that to the customer: "+err.Error())
			return nil
		}
		return err
	}
	return nil
}

// linkFromSummary reads a staff thread's first message, and when it is
// Parley's escalation summary links its conversation to the thread. It
// returns 0 for threads that are not Parley's.
func (a *App) linkFromSummary(ctx context.Context, channel, thread string) (int64, error) {
	msgs, _, _, err := a.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
		ChannelID: channel, Timestamp: thread, IncludeAllMetadata: true, Limit: 1,
	})
	if err != nil {
		// Slack will deliver the reply again: not losing it matters more.
		return 0, fmt.Errorf("read staff thread %s: %w", thread, err)
	}
	if len(msgs) == 0 || msgs[0].Metadata.EventType != metadataType {
		return 0, nil
	}
	key, _ := msgs[0].Metadata.EventPayload["key"].(string)
	id, _ := msgs[0].Metadata.EventPayload["conversation_id"].(float64)
	if !strings.HasPrefix(key, "summary:") || id <= 0 {
		return 0, nil
	}
	if err := a.store.SetConversationLink(ctx, int64(id), linkStaffThread, channel+":"+thread); err != nil && !errors.Is(err, crm.ErrConflict) {
		return 0, fmt.Errorf("link staff thread %s: %w", thread, err)
	}
	return int64(id), nil
}

// staffFor finds the Parley staff account of a Slack user by their
// email, telling them when there is none.
func (a *App) staffFor(ctx context.Context, user, channel string) (crm.StaffUser, bool) {
	prof, err := a.userProfile(ctx, user)
	if err != nil || prof.email == "" {
		a.log.Warn("slack staff without an email", "user", user, "err", err)
		a.ephemeral(ctx, channel, user, "Parley could not read your Slack email, so it cannot tell which staff account is yours.")
		return crm.StaffUser{}, false
	}
	staff, err := a.store.StaffByEmail(ctx, strings.ToLower(prof.email))
	if err != nil || staff.Disabled {
		a.log.Info("slack user is not Parley staff", "user", user)
		a.ephemeral(ctx, channel, user, fmt.Sprintf("There is no Parley staff account for %s. An admin can add one: parley users add --email %s --role agent", prof.email, prof.email))
		return crm.StaffUser{}, false
	}
	return staff, true
}

// ephemeral tells one user something right away (not through the
// outbox: it is an answer to what they just did, useless later).
func (a *App) ephemeral(ctx context.Context, channel, user, text string) {
	if _, err := a.api.PostEphemeralContext(ctx, channel, user, slack.MsgOptionText(text, false)); err != nil {
		a.log.Warn("slack ephemeral message", "err", err)
	}
}

// onInteraction handles a button click.
func (a *App) onInteraction(ctx context.Context, cb slack.InteractionCallback) error {
	if cb.Type != slack.InteractionTypeBlockActions {
		return nil
	}
	for _, act := range cb.ActionCallback.BlockActions {
		id := act.ActionID
		if strings.HasPrefix(id, actionQuick+"_") {
			id = actionQuick
		}
		switch id {
		case actionQuick:
			thread := cb.Message.ThreadTimestamp
			if thread == "" {
				thread = cb.Message.Timestamp
			}
			// A quick reply is the customer saying that text, in the thread.
			if err := a.onMessage(ctx, inbound{
				user: cb.User.ID, channel: cb.Channel.ID, channelType: "im", text: act.Value,
				ts: act.ActionTs, threadTS: thread, mention: true,
				msgID: cb.Channel.ID + ":action:" + act.ActionTs,
			}); err != nil {
				return err
			}
		case actionClaim, actionResolve:
			id, err := strconv.ParseInt(act.Value, 10, 64)
			if err != nil {
				a.log.Warn("slack button with a bad conversation id", "value", act.Value)
				continue
			}
			staff, ok := a.staffFor(ctx, cb.User.ID, cb.Channel.ID)
			if !ok {
				continue
			}
			if act.ActionID == actionClaim {
				_, err = a.desk.Claim(ctx, id, staff, handoff.SourceSlack)
			} else {
				_, err = a.desk.Resolve(ctx, id, staff, "resolved in Slack", handoff.SourceSlack)
			}
			if err != nil {
				a.ephemeral(ctx, cb.Channel.ID, cb.User.ID, "Parley: "+err.Error())
			}
		}
	}
	return nil
}

// onCommand handles /parley and returns the answer for the user.
func (a *App) onCommand(ctx context.Context, cmd slack.SlashCommand) string {
	fields := strings.Fields(cmd.Text)
	usage := "Usage: /parley claim ID, /parley resolve ID [resolution]"
	if len(fields) < 2 {
		return usage
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(fields[1], "#"), 10, 64)
	if err != nil {
		return "Parley: " + fields[1] + " is not a conversation id. " + usage
	}
	staff, ok := a.staffFor(ctx, cmd.UserID, cmd.ChannelID)
	if !ok {
		return "Parley: you have no staff account."
	}
	switch fields[0] {
	case "claim":
		if _, err := a.desk.Claim(ctx, id, staff, handoff.SourceSlack); err != nil {
			return "Parley: " + err.Error()
		}
		return fmt.Sprintf("Conversation %d is yours.", id)
	case "resolve":
		resolution := strings.Join(fields[2:], " ")
		if _, err := a.desk.Resolve(ctx, id, staff, resolution, handoff.SourceSlack); err != nil {
			return "Parley: " + err.Error()
		}
		return fmt.Sprintf("Conversation %d is resolved and back with the bot.", id)
	}
	return usage
}

// socketEvent handles one Socket Mode event. An event is acknowledged
// only once handled (its replies queued), so one that fails is
// delivered again.
func (a *App) socketEvent(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) {
	// Answer before Slack's 3 s deadline; a failure then is redelivered.
	ctx, cancel := context.WithTimeout(ctx, eventDeadline)
	defer cancel()
	switch evt.Type {
	case socketmode.EventTypeEventsAPI:
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !ok || evt.Request == nil {
			return
		}
		id := ""
		if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
			id = cb.EventID
		}
		if id != "" && a.seen.has(id) {
			a.ack(sm, evt.Request, nil)
			return
		}
		if err := a.handleEvent(ctx, ev); err != nil {
			a.log.Error("slack event", "event_id", id, "err", err)
			return
		}
		if id != "" {
			a.seen.add(id)
		}
		a.ack(sm, evt.Request, nil)
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok || evt.Request == nil {
			return
		}
		if err := a.onInteraction(ctx, cb); err != nil {
			a.log.Error("slack interaction", "err", err)
			return
		}
		a.ack(sm, evt.Request, nil)
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		a.ack(sm, evt.Request, map[string]any{"response_type": "ephemeral", "text": a.onCommand(ctx, cmd)})
	case socketmode.EventTypeConnected:
		a.log.Info("slack socket mode connected")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
		a.log.Warn("slack socket mode", "event", evt.Type, "data", fmt.Sprint(evt.Data))
	}
}

func (a *App) ack(sm *socketmode.Client, req *socketmode.Request, payload any) {
	var err error
	if payload != nil {
		err = sm.Ack(*req, payload)
	} else {
		err = sm.Ack(*req)
	}
	if err != nil {
		a.log.Warn("slack socket mode ack", "err", err)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("slackbot: encode " + err.Error()) // only our own plain structs are encoded
	}
	return b
}
