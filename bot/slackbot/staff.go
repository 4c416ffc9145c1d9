package slackbot

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/parley-chat/parley/bot/handoff"
	"github.com/parley-chat/parley/crm"
)

// summaryMessages is how many of the last messages a summary shows.
const summaryMessages = 6

// Observe keeps the staff channel in step with the desk: a summary for
// each escalation, then, in its thread, who took it, what they wrote
// elsewhere (the console), what the customer added, and the resolution.
// Register it with handoff.Desk.Observe.
func (a *App) Observe(ctx context.Context, e handoff.Event) {
	conv := e.Conversation
	var it crm.OutboxItem
	switch e.Kind {
	case handoff.Escalated:
		p, err := a.summary(ctx, conv, e.Reason)
		if err != nil {
			a.log.Error("slack escalation summary", "conversation", conv.ID, "err", err)
			return
		}
		it = crm.OutboxItem{Key: fmt.Sprintf("summary:%d:%d", conv.ID, conv.UpdatedAt.UnixNano()), Kind: "staff_summary", Payload: mustJSON(p)}
	case handoff.Claimed:
		it = a.threadNote(e, fmt.Sprintf("claimed:%d:%d", conv.AssigneeID, conv.UpdatedAt.UnixNano()),
			fmt.Sprintf(":raising_hand: *%s* took this conversation.", esc(staffName(e.Staff))))
	case handoff.Replied:
		if e.Source == handoff.SourceSlack {
			return // typed in this very thread
		}
		it = a.threadNote(e, fmt.Sprintf("replied:%d", e.Message.ID),
			fmt.Sprintf("*%s* replied to the customer:\n%s", esc(staffName(e.Staff)), quote(e.Message.Text)))
	case handoff.Noted:
		if e.Source == handoff.SourceSlack {
			return
		}
		it = a.threadNote(e, fmt.Sprintf("noted:%d", e.Message.ID),
			fmt.Sprintf(":memo: Note from *%s*: %s", esc(staffName(e.Staff)), esc(e.Message.Text)))
	case handoff.CustomerWrote:
		it = a.threadNote(e, fmt.Sprintf("customer:%d", e.Message.ID),
			fmt.Sprintf("*Customer:*\n%s", quote(e.Message.Text)))
	case handoff.Resolved:
		it = a.threadNote(e, fmt.Sprintf("resolved:%d", conv.UpdatedAt.UnixNano()),
			fmt.Sprintf(":white_check_mark: Resolved by *%s*: %s. The bot answers again.", esc(staffName(e.Staff)), esc(e.Reason)))
		// The summary loses its buttons.
		done := fmt.Sprintf(":white_check_mark: Resolved by %s", staffName(e.Staff))
		blocks := slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, fmt.Sprintf("*Conversation %d* — %s", conv.ID, esc(done)), false, false), nil, nil),
		}}
		a.enqueue(ctx, crm.OutboxItem{Key: "summary-done:" + strconv.FormatInt(conv.ID, 10) + ":" + strconv.FormatInt(conv.UpdatedAt.UnixNano(), 10),
			ConversationID: conv.ID, Kind: "staff_update", Payload: mustJSON(post{Update: true, Text: done, Blocks: mustJSON(blocks)})})
	default:
		return
	}
	it.ConversationID = conv.ID
	a.enqueue(ctx, it)
}

func (a *App) threadNote(e handoff.Event, key, text string) crm.OutboxItem {
	return crm.OutboxItem{Key: key + ":" + strconv.FormatInt(e.Conversation.ID, 10), Kind: "staff_update",
		Payload: mustJSON(post{StaffThread: true, Text: text})}
}

func (a *App) enqueue(ctx context.Context, it crm.OutboxItem) {
	if err := a.queue(ctx, it); err != nil {
		a.log.Error("slack outbox: queue", "key", it.Key, "err", err)
		return
	}
	a.kick()
}

// summary builds the escalation's message for the staff channel.
func (a *App) summary(ctx context.Context, conv crm.Conversation, reason string) (post, error) {
	cust, err := a.store.Customer(ctx, conv.CustomerID)
	if err != nil {
		return post{}, err
	}
	msgs, err := a.store.Messages(ctx, conv.ID)
	if err != nil {
		return post{}, err
	}
	who := cust.Name
	if who == "" {
		who = fmt.Sprintf("Customer %d", cust.ID)
	}
	if cust.Email != "" {
		who += " (" + cust.Email + ")"
	}
	if cust.Segment != "" {
		who += " · " + cust.Segment
	}
	intent, sentiment := "—", "—"
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i]; m.Direction == crm.FromCustomer {
			if m.Intent != "" {
				intent = fmt.Sprintf("%s (%.0f%%)", m.Intent, 100*m.Confidence)
			}
			if m.Sentiment != "" {
				sentiment = fmt.Sprintf("%s (%.2f)", m.Sentiment, m.SentimentScore)
			}
			break
		}
	}
	var lines []string
	for _, m := range msgs[max(0, len(msgs)-summaryMessages):] {
		var from string
		switch m.Direction {
		case crm.FromCustomer:
			from = "Customer"
		case crm.FromBot:
			from = "Bot"
		case crm.FromAgent:
			from = "Staff"
		default:
			continue
		}
		lines = append(lines, fmt.Sprintf("*%s:* %s", from, esc(truncate(oneLine(m.Text), 280))))
	}
	fields := []*slack.TextBlockObject{
		md("*Customer*\n" + esc(who)),
		md("*Channel*\n" + string(conv.Channel)),
		md("*Intent*\n" + esc(intent)),
		md("*Sentiment*\n" + esc(sentiment)),
		md("*Reason*\n" + esc(reason)),
		md("*Waiting since*\n" + fmt.Sprintf("<!date^%d^{time}|%s>", conv.UpdatedAt.Unix(), conv.UpdatedAt.UTC().Format(time.Kitchen))),
	}
	id := strconv.FormatInt(conv.ID, 10)
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, truncate("Escalated: "+who, 150), false, false)),
		slack.NewSectionBlock(nil, fields, nil),
	}
	if len(lines) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(md(truncate(strings.Join(lines, "\n"), 2900)), nil, nil))
	}
	link := fmt.Sprintf("Conversation %d · reply in this thread to answer the customer", conv.ID)
	if a.cfg.ConsoleURL != "" {
		link = fmt.Sprintf("<%s/console/conversations/%d|Open conversation %d in the console> · reply in this thread to answer the customer",
			strings.TrimSuffix(a.cfg.ConsoleURL, "/"), conv.ID, conv.ID)
	}
	claim := slack.NewButtonBlockElement(actionClaim, id, slack.NewTextBlockObject(slack.PlainTextType, "Claim", false, false))
	claim.Style = slack.StylePrimary
	resolve := slack.NewButtonBlockElement(actionResolve, id, slack.NewTextBlockObject(slack.PlainTextType, "Resolve", false, false))
	blocks = append(blocks,
		slack.NewContextBlock("", md(link)),
		slack.NewActionBlock("parley_staff_"+id, claim, resolve),
	)
	b, err := json.Marshal(slack.Blocks{BlockSet: blocks})
	if err != nil {
		return post{}, err
	}
	return post{Channel: a.cfg.StaffChannel, Text: fmt.Sprintf("Escalated: %s — %s", who, reason), Blocks: b, LinkStaffThread: true}, nil
}

func md(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// esc escapes text for Slack's mrkdwn: a customer's "<!channel>" or
// "<@U123>" must not become a mention, nor "<http://x|y>" a link.
func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// quote renders text as a Slack block quote, escaped.
func quote(s string) string {
	lines := strings.Split(esc(s), "\n")
	for i, l := range lines {
		lines[i] = "> " + l
	}
	return strings.Join(lines, "\n")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func staffName(u crm.StaffUser) string {
	if u.Name != "" {
		return u.Name
	}
	if u.Email != "" {
		return u.Email
	}
	return "Someone"
}

// Deliver sends a person's reply to a Slack customer, in their thread
// (handoff.Deliverer).
func (a *App) Deliver(ctx context.Context, conv crm.Conversation, m crm.Message, author crm.StaffUser) error {
	channel, thread, ok := strings.Cut(conv.Ref, ":")
	if !ok {
		return fmt.Errorf("slack conversation %d has no thread (ref %q)", conv.ID, conv.Ref)
	}
	err := a.queue(ctx, crm.OutboxItem{
		Key: "agent:" + strconv.FormatInt(m.ID, 10), Channel: crm.ChannelSlack, ConversationID: conv.ID, Kind: "reply",
		Payload: mustJSON(post{Channel: channel, ThreadTS: thread, Text: fmt.Sprintf("*%s* (support team): %s", staffName(author), m.Text)}),
	})
	a.kick()
	return err
}

// StateChanged tells a Slack customer a person joined, or that the bot
// is back (handoff.Deliverer).
func (a *App) StateChanged(ctx context.Context, conv crm.Conversation) {
	channel, thread, ok := strings.Cut(conv.Ref, ":")
	if !ok {
		return
	}
	var text string
	switch conv.State {
	case crm.StateAssigned:
		name := "A member of our support team"
		if u, err := a.store.Staff(ctx, conv.AssigneeID); err == nil {
			name = staffName(u) + " from our support team"
		}
		text = name + " is looking at your conversation now."
	case crm.StateResolved:
		text = "This conversation is marked as resolved. If you need anything else, just write here."
	default:
		return
	}
	a.enqueue(ctx, crm.OutboxItem{
		Key: fmt.Sprintf("state:%d:%s:%d", conv.ID, conv.State, conv.UpdatedAt.UnixNano()), ConversationID: conv.ID, Kind: "reply",
		Payload: mustJSON(post{Channel: channel, ThreadTS: thread, Text: text}),
	})
}
