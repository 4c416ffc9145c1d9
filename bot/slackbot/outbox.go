package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/parley-chat/parley/crm"
)

// post is an outbox item's payload: one message to post, or an update.
type post struct {
	// Update replaces the conversation's escalation summary in the
	// staff channel instead of posting.
	Update bool `json:"update,omitempty"`
	// Channel and ThreadTS say where; StaffThread posts in the
	// conversation's thread in the staff channel instead, looked up when
	// it is sent (the summary that starts it goes out just before).
	Channel     string `json:"channel,omitempty"`
	ThreadTS    string `json:"thread_ts,omitempty"`
	StaffThread bool   `json:"staff_thread,omitempty"`
	Text        string `json:"text"`
	// QuickReplies become buttons under the text.
	QuickReplies []string `json:"quick_replies,omitempty"`
	// Blocks, when set, is the message's Block Kit layout.
	Blocks json.RawMessage `json:"blocks,omitempty"`
	// LinkStaffThread links the conversation to the posted message: it
	// is the escalation summary, and replies in its thread are staff's.
	LinkStaffThread bool `json:"link_staff_thread,omitempty"`
}

// Outbox timing.
const (
	outboxBatch   = 32
	outboxWorkers = 4
	outboxPoll    = 500 * time.Millisecond
	retryBase     = 500 * time.Millisecond
	retryMax      = 2 * time.Minute
	metadataType  = "parley_outbox"
	// claimFor is how long a worker holds an item it is sending: longer
	// than one Slack call may take (slackCallLimit).
	claimFor       = 30 * time.Second
	slackCallLimit = 10 * time.Second
)

// queue puts a post in the outbox, due now; the same key again is a
// no-op, which is what makes redeliveries harmless.
func (a *App) queue(ctx context.Context, it crm.OutboxItem) error {
	it.Channel = crm.ChannelSlack
	it.NextAt = a.now()
	_, _, err := a.store.EnqueueOutbox(ctx, it)
	return err
}

// kick wakes the outbox worker.
func (a *App) kick() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// runOutbox sends due items until ctx ends. Items of one conversation
// go out in order: the store hands out only a conversation's oldest
// pending item.
func (a *App) runOutbox(ctx context.Context) {
	tick := time.NewTicker(outboxPoll)
	defer tick.Stop()
	for {
		a.DrainOutbox(ctx)
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
		case <-tick.C:
		}
	}
}

// DrainOutbox sends what is due now, until nothing is (or nothing more
// can go: the rest waits for its retry time).
func (a *App) DrainOutbox(ctx context.Context) {
	for ctx.Err() == nil {
		items, err := a.store.DueOutbox(ctx, crm.ChannelSlack, a.now(), outboxBatch)
		if err != nil {
			a.log.Error("slack outbox", "err", err)
			return
		}
		if len(items) == 0 {
			return
		}
		var wg sync.WaitGroup
		sem := make(chan struct{}, outboxWorkers)
		var mu sync.Mutex
		sent := 0
		for _, it := range items {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if a.send(ctx, it) {
					mu.Lock()
					sent++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if sent == 0 {
			return
		}
	}
}

// send tries one item and records the outcome; it reports whether the
// item is done (sent, or failed for good).
func (a *App) send(ctx context.Context, it crm.OutboxItem) bool {
	// Servers sharing the database each run a worker: the claim gives an
	// item to one of them (another's claim, or a crashed one's until it
	// expires, makes it skip).
	now := a.now()
	if ok, err := a.store.ClaimOutbox(ctx, it.ID, now, now.Add(claimFor)); err != nil || !ok {
		if err != nil {
			a.log.Error("slack outbox: claim", "key", it.Key, "err", err)
		}
		return false
	}
	result, err := a.deliver(ctx, it)
	// What happened is recorded even when shutting down: a post that went
	// out and stayed pending would be looked for again after a restart.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err == nil {
		if err := a.store.OutboxSent(ctx, it.ID, result, a.now()); err != nil {
			a.log.Error("slack outbox: mark sent", "key", it.Key, "err", err)
		}
		return true
	}
	wait, permanent := classify(err)
	if permanent {
		a.log.Error("slack post failed for good", "key", it.Key, "attempts", it.Attempts+1, "err", err)
		if ferr := a.store.OutboxFailed(ctx, it.ID, err.Error()); ferr != nil {
			a.log.Error("slack outbox: mark failed", "key", it.Key, "err", ferr)
		}
		return true
	}
	if wait == 0 {
		wait = backoff(it.Attempts)
	}
	a.log.Warn("slack post failed; will retry", "key", it.Key, "attempts", it.Attempts+1, "retry_in", wait.Round(time.Millisecond), "err", err)
	if rerr := a.store.OutboxRetry(ctx, it.ID, a.now().Add(wait), err.Error()); rerr != nil {
		a.log.Error("slack outbox: schedule retry", "key", it.Key, "err", rerr)
	}
	return false
}

// backoff is the wait before retry n+1: exponential with jitter, capped.
func backoff(attempts int) time.Duration {
	d := retryBase << min(attempts, 10)
	d = min(d, retryMax)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// classify says how to retry after err: after a wait Slack asked for,
// with backoff (wait 0), or never (permanent).
func classify(err error) (wait time.Duration, permanent bool) {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return max(rl.RetryAfter, time.Second), false
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		return 0, sc.Code < 500 && sc.Code != 429 && sc.Code != 408
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org":
			return 0, false
		}
		return 0, true // channel_not_found, not_in_channel, invalid_auth, …: retrying will not help
	}
	var bad errBadItem
	if errors.As(err, &bad) {
		return 0, true
	}
	return 0, false // the network, a timeout: maybe it got there (see deliver)
}

type errBadItem struct{ error }

// deliver posts one item and returns the ts of what was posted.
func (a *App) deliver(ctx context.Context, it crm.OutboxItem) (string, error) {
	var p post
	if err := json.Unmarshal(it.Payload, &p); err != nil {
		return "", errBadItem{fmt.Errorf("outbox item %s: %w", it.Key, err)}
	}
	channel, thread := p.Channel, p.ThreadTS
	if p.StaffThread || p.Update {
		links, err := a.store.ConversationLinks(ctx, it.ConversationID)
		if err != nil {
			return "", fmt.Errorf("outbox item %s: %w", it.Key, err)
		}
		v, ok := links[linkStaffThread]
		if !ok {
			// Escalated before Slack was set up: there is no thread to
			// keep in step.
			return "no staff thread", nil
		}
		channel, thread, _ = strings.Cut(v, ":")
	}
	opts := []slack.MsgOption{slack.MsgOptionText(p.Text, false)}
	switch {
	case len(p.Blocks) > 0:
		var blocks slack.Blocks
		if err := json.Unmarshal(p.Blocks, &blocks); err != nil {
			return "", errBadItem{fmt.Errorf("outbox item %s blocks: %w", it.Key, err)}
		}
		opts = append(opts, slack.MsgOptionBlocks(blocks.BlockSet...))
	case len(p.QuickReplies) > 0:
		opts = append(opts, slack.MsgOptionBlocks(quickReplyBlocks(p.Text, p.QuickReplies)...))
	}
	cctx, cancel := context.WithTimeout(ctx, slackCallLimit)
	defer cancel()
	if p.Update {
		_, ts, _, err := a.api.UpdateMessageContext(cctx, channel, thread, opts...)
		return ts, err
	}
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	// The key rides along as metadata: after a failure whose outcome is
	// unknown (a timeout, a dropped connection), the retry first looks
	// for a message carrying it.
	opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{EventType: metadataType,
		EventPayload: map[string]any{"key": it.Key, "conversation_id": it.ConversationID}}))
	// The item may have been posted before: a failed try whose outcome
	// is unknown, or a crash between posting and recording it (an item
	// queued before this process started).
	// (NextAt past its creation means a worker claimed it before: one
	// that may have crashed after posting.)
	if it.Attempts > 0 || it.CreatedAt.Before(a.started) || it.NextAt.After(it.CreatedAt.Add(time.Second)) {
		if ts, ok := a.findPosted(cctx, channel, thread, it); ok {
			return ts, a.afterPost(ctx, it, p, channel, ts)
		}
	}
	_, ts, err := a.api.PostMessageContext(cctx, channel, opts...)
	if err != nil {
		return "", err
	}
	return ts, a.afterPost(ctx, it, p, channel, ts)
}

func (a *App) afterPost(ctx context.Context, it crm.OutboxItem, p post, channel, ts string) error {
	if !p.LinkStaffThread {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := a.store.SetConversationLink(ctx, it.ConversationID, linkStaffThread, channel+":"+ts); err != nil {
		// Posted, not linked: retrying finds the post by its key and
		// links it then.
		return fmt.Errorf("link the staff thread: %w", err)
	}
	return nil
}

// findPosted looks for a message posted with the item's key: in the
// thread, or among the channel's messages since the item was queued.
func (a *App) findPosted(ctx context.Context, channel, thread string, it crm.OutboxItem) (string, bool) {
	var msgs []slack.Message
	var err error
	if thread != "" {
		msgs, _, _, err = a.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
			ChannelID: channel, Timestamp: thread, IncludeAllMetadata: true, Limit: 200,
		})
	} else {
		var h *slack.GetConversationHistoryResponse
		h, err = a.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
			ChannelID: channel, IncludeAllMetadata: true, Limit: 200,
		})
		if h != nil {
			msgs = h.Messages
		}
	}
	if err != nil {
		a.log.Warn("slack outbox: could not check for an earlier post; posting", "key", it.Key, "err", err)
		return "", false
	}
	for _, m := range msgs {
		if m.Metadata.EventType == metadataType && m.Metadata.EventPayload["key"] == it.Key {
			return m.Timestamp, true
		}
	}
	return "", false
}

// quickReplyBlocks lays out a reply with its quick replies as buttons.
func quickReplyBlocks(text string, replies []string) []slack.Block {
	var buttons []slack.BlockElement
	for i, q := range replies {
		// Action ids must be unique within a block.
		b := slack.NewButtonBlockElement(fmt.Sprintf("%s_%d", actionQuick, i), q, slack.NewTextBlockObject(slack.PlainTextType, truncate(q, 75), false, false))
		buttons = append(buttons, b)
	}
	return []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil),
		slack.NewActionBlock("parley_quick_replies", buttons...),
	}
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// OutboxDepth is the number of posts waiting to go out.
func (a *App) OutboxDepth(ctx context.Context) (int, error) {
	return a.store.OutboxDepth(ctx, crm.ChannelSlack)
}
