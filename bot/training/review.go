package training

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/crm"
)

// Bot actions (crm.Message.Action, the values bot.Action takes) that put
// a message in the inbox, and the one that keeps it out.
const (
	ActionClarify  = "clarify"  // the bot asked which of two intents was meant
	ActionFallback = "fallback" // the bot did not understand
	ActionEscalate = "escalate" // the bot handed over to a person
	actionHandoff  = "handoff"  // a person had the conversation: the bot did not act
)

// Reasons a message is in the inbox (Group.Reasons).
const (
	ReasonLowConfidence = "low_confidence"
	ReasonOutOfScope    = "out_of_scope"
	ReasonClarify       = ActionClarify
	ReasonFallback      = ActionFallback
	ReasonEscalate      = ActionEscalate
	// ReasonEscalated marks a message the bot handled in a conversation
	// that was later escalated to a person.
	ReasonEscalated = "escalated_conversation"
)

// Review defaults.
const (
	// DefaultMaxConfidence keeps messages whose intent confidence was
	// below it: a little above the policy's answer threshold (0.45), so
	// answers the bot barely dared to give are reviewed too.
	DefaultMaxConfidence = 0.5
	// DefaultReviewLimit is how many groups Review returns.
	DefaultReviewLimit = 50
	// DefaultScanMessages bounds the messages Review reads from the CRM.
	DefaultScanMessages = 5000
	// DefaultScanConversations bounds the escalated conversations whose
	// messages Review reads.
	DefaultScanConversations = 200
)

// ReviewOptions select the inbox. Zero values take the defaults above.
type ReviewOptions struct {
	// MaxConfidence keeps messages with a lower intent confidence
	// (0: DefaultMaxConfidence; negative: no confidence condition).
	MaxConfidence float64
	// Since keeps messages at or after it (zero: all).
	Since time.Time
	// Limit bounds the groups returned (0: DefaultReviewLimit).
	Limit int
	// ScanMessages and ScanConversations bound what is read (0: defaults).
	ScanMessages, ScanConversations int
}

// Group is a set of near-identical inbox messages (see Similarity).
type Group struct {
	// Text is the representative message: the group's most frequent
	// wording, the newest message of it.
	Text string `json:"text"`
	// Count is the number of messages; MessageIDs lists them, newest first.
	Count      int     `json:"count"`
	MessageIDs []int64 `json:"message_ids"`
	// Intent, Confidence, OutOfScope and Alternatives are what the model
	// predicted for the representative message.
	Intent       string            `json:"intent"`
	Confidence   float64           `json:"confidence"`
	OutOfScope   bool              `json:"out_of_scope"`
	Alternatives []crm.Alternative `json:"alternatives,omitempty"`
	// Intents counts the members' predicted intents, most frequent first.
	Intents []IntentCount `json:"intents"`
	// Reasons says why the members are in the inbox (Reason* constants).
	Reasons []string `json:"reasons"`
	// ModelVersions are the model versions that made the predictions.
	ModelVersions []string  `json:"model_versions,omitempty"`
	FirstSeen     time.Time `json:"first_seen"`
	LastSeen      time.Time `json:"last_seen"`
}

// IntentCount is how many of a group's messages got an intent.
type IntentCount struct {
	Intent string `json:"intent"`
	Count  int    `json:"count"`
}

// candidate is one inbox message and why it is there.
type candidate struct {
	msg     crm.Message
	reasons []string
}

// Review returns the NLU inbox: unlabelled customer messages with low
// confidence, flagged out of scope, or clarified, fallen back or
// escalated, and the bot-handled messages of escalated conversations;
// grouped by near-identical text and sorted by group size (largest
// first), then by the newest message.
func (w *Workbench) Review(ctx context.Context, opts ReviewOptions) ([]Group, error) {
	if opts.Limit < 0 || opts.ScanMessages < 0 || opts.ScanConversations < 0 {
		return nil, fmt.Errorf("review: %w: negative limit", crm.ErrInvalid)
	}
	maxConf := cmp.Or(opts.MaxConfidence, DefaultMaxConfidence)
	if maxConf < 0 {
		maxConf = 0 // the store's "no confidence condition"
	}
	limit := cmp.Or(opts.Limit, DefaultReviewLimit)
	labelled, err := w.labelledMessages(ctx)
	if err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	msgs, err := w.store.InboxMessages(ctx, crm.MessageFilter{
		MaxConfidence: maxConf,
		OutOfScope:    true,
		Actions:       []string{ActionClarify, ActionFallback, ActionEscalate},
		Since:         opts.Since,
		Limit:         cmp.Or(opts.ScanMessages, DefaultScanMessages),
	})
	if err != nil {
		return nil, fmt.Errorf("review: inbox messages: %w", err)
	}
	byID := map[int64]*candidate{}
	var cands []*candidate
	addCand := func(m crm.Message, reasons ...string) {
		// Messages a person had (handoff) were understood but not acted
		// on: the bot's mistakes are what the inbox is for.
		if labelled[m.ID] || m.Direction != crm.FromCustomer || m.Action == actionHandoff || len(reasons) == 0 {
			return
		}
		c := byID[m.ID]
		if c == nil {
			c = &candidate{msg: m}
			byID[m.ID] = c
			cands = append(cands, c)
		}
		for _, r := range reasons {
			if !slices.Contains(c.reasons, r) {
				c.reasons = append(c.reasons, r)
			}
		}
	}
	for _, m := range msgs {
		addCand(m, reasonsOf(m, maxConf)...)
	}
	escalated, err := w.escalatedMessages(ctx, opts.Since, cmp.Or(opts.ScanConversations, DefaultScanConversations))
	if err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	for _, m := range escalated {
		addCand(m, append(reasonsOf(m, maxConf), ReasonEscalated)...)
	}
	groups := groupCandidates(cands)
	return groups[:min(limit, len(groups))], nil
}

// reasonsOf says why a message qualifies for the inbox on its own.
func reasonsOf(m crm.Message, maxConf float64) []string {
	var rs []string
	if maxConf > 0 && m.Confidence < maxConf && m.Intent != "" {
		rs = append(rs, ReasonLowConfidence)
	}
	if m.OutOfScope {
		rs = append(rs, ReasonOutOfScope)
	}
	switch m.Action {
	case ActionClarify, ActionFallback, ActionEscalate:
		rs = append(rs, m.Action)
	}
	return rs
}

// labelledMessages returns the ids of messages that have a label.
func (w *Workbench) labelledMessages(ctx context.Context) (map[int64]bool, error) {
	labels, err := w.store.Labels(ctx)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	out := make(map[int64]bool, len(labels))
	for _, l := range labels {
		if l.MessageID != 0 {
			out[l.MessageID] = true
		}
	}
	return out, nil
}

// escalatedMessages returns the customer messages the bot handled (not
// those a person had already) of conversations that were escalated:
// those waiting for or assigned to a person, and resolved ones that
// had an escalation, newest conversations first, at most scan of them.
func (w *Workbench) escalatedMessages(ctx context.Context, since time.Time, scan int) ([]crm.Message, error) {
	convs, err := w.store.Conversations(ctx, crm.ConversationFilter{
		States: []crm.State{crm.StateEscalated, crm.StateAssigned, crm.StateResolved},
		Limit:  scan,
	})
	if err != nil {
		return nil, fmt.Errorf("escalated conversations: %w", err)
	}
	var out []crm.Message
	for _, c := range convs {
		if !since.IsZero() && c.UpdatedAt.Before(since) {
			continue
		}
		if c.State == crm.StateResolved {
			// Resolved conversations may never have been escalated
			// (staff can resolve any); only escalated ones count.
			es, err := w.store.Escalations(ctx, c.ID)
			if err != nil {
				return nil, fmt.Errorf("escalations of conversation %d: %w", c.ID, err)
			}
			if len(es) == 0 {
				continue
			}
		}
		ms, err := w.store.Messages(ctx, c.ID)
		if err != nil {
			return nil, fmt.Errorf("messages of conversation %d: %w", c.ID, err)
		}
		for _, m := range ms {
			if m.Direction != crm.FromCustomer || m.Action == actionHandoff || m.Intent == "" {
				continue
			}
			if !since.IsZero() && m.CreatedAt.Before(since) {
				continue
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// groupCandidates groups near-identical messages and sorts the groups.
// Messages with the same word set form a unit; units are clustered
// largest first, each joining the first cluster whose leader (its
// largest unit) is similar enough, so a cluster's representative is its
// most frequent wording and results do not depend on arrival order.
func groupCandidates(cands []*candidate) []Group {
	// Newest first, so each unit's first message is its newest.
	slices.SortStableFunc(cands, func(a, b *candidate) int {
		return cmp.Or(b.msg.CreatedAt.Compare(a.msg.CreatedAt), cmp.Compare(b.msg.ID, a.msg.ID))
	})
	type unit struct {
		set     []string
		members []*candidate
	}
	var units []*unit
	byKey := map[string]*unit{}
	for _, c := range cands {
		set := wordSet(c.msg.Text)
		key := strings.Join(set, "\x00")
		u := byKey[key]
		if u == nil {
			u = &unit{set: set}
			byKey[key] = u
			units = append(units, u)
		}
		u.members = append(u.members, c)
	}
	// Largest first; ties keep newest-first order (stable).
	slices.SortStableFunc(units, func(a, b *unit) int { return cmp.Compare(len(b.members), len(a.members)) })
	sets := make([][]string, len(units))
	for i, u := range units {
		sets[i] = u.set
	}
	idx := newSetIndex(sets, Similarity)
	var clusters [][]*unit // clusters[i][0] is the leader, indexed as id i
	for _, u := range units {
		if ids, _ := idx.similar(u.set); len(ids) > 0 {
			clusters[ids[0]] = append(clusters[ids[0]], u)
			continue
		}
		idx.add(u.set)
		clusters = append(clusters, []*unit{u})
	}
	groups := make([]Group, 0, len(clusters))
	for _, cl := range clusters {
		var members []*candidate
		for _, u := range cl {
			members = append(members, u.members...)
		}
		rep := cl[0].members[0].msg
		g := Group{
			Text: rep.Text, Intent: rep.Intent, Confidence: rep.Confidence,
			OutOfScope: rep.OutOfScope, Alternatives: rep.Alternatives,
		}
		slices.SortStableFunc(members, func(a, b *candidate) int {
			return cmp.Or(b.msg.CreatedAt.Compare(a.msg.CreatedAt), cmp.Compare(b.msg.ID, a.msg.ID))
		})
		counts := map[string]int{}
		for _, c := range members {
			m := c.msg
			g.MessageIDs = append(g.MessageIDs, m.ID)
			counts[m.Intent]++
			for _, r := range c.reasons {
				if !slices.Contains(g.Reasons, r) {
					g.Reasons = append(g.Reasons, r)
				}
			}
			if m.ModelVersion != "" && !slices.Contains(g.ModelVersions, m.ModelVersion) {
				g.ModelVersions = append(g.ModelVersions, m.ModelVersion)
			}
			if g.FirstSeen.IsZero() || m.CreatedAt.Before(g.FirstSeen) {
				g.FirstSeen = m.CreatedAt
			}
			if m.CreatedAt.After(g.LastSeen) {
				g.LastSeen = m.CreatedAt
			}
		}
		g.Count = len(g.MessageIDs)
		for in, n := range counts {
			g.Intents = append(g.Intents, IntentCount{Intent: in, Count: n})
		}
		slices.SortFunc(g.Intents, func(a, b IntentCount) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Intent, b.Intent))
		})
		slices.Sort(g.Reasons)
		slices.Sort(g.ModelVersions)
		groups = append(groups, g)
	}
	slices.SortStableFunc(groups, func(a, b Group) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), b.LastSeen.Compare(a.LastSeen), strings.Compare(a.Text, b.Text))
	})
	return groups
}
