package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/knowledge"
	"github.com/parley-chat/parley/nlp"
)

// Store is what the engine needs of the CRM.
type Store interface {
	LogInteraction(ctx context.Context, in crm.Interaction) (crm.Logged, error)
	CustomerByExternalID(ctx context.Context, ref crm.ExternalID) (crm.Customer, error)
	Conversation(ctx context.Context, id int64) (crm.Conversation, error)
	Conversations(ctx context.Context, f crm.ConversationFilter) ([]crm.Conversation, error)
}

// Knowledge is what the engine needs of the knowledge base.
type Knowledge interface {
	// ForIntent returns the articles that answer intent.
	ForIntent(intent string) []knowledge.Article
	// Search ranks the articles for which keep is true (nil: all) for
	// the message, best first, at most k.
	Search(q nlp.Doc, k int, keep func(knowledge.Article) bool) []knowledge.Hit
}

// Slot names the engine uses for its own state.
const (
	slotPending = "_pending" // the intent waiting for a missing slot
	slotClarify = "_clarify" // the intents offered, comma-separated
	slotAngry   = "_angry"   // consecutive strongly negative messages
)

// Engine handles inbound messages: NLU, policy, reply, CRM. It is safe
// for concurrent use; it keeps no state of its own (the conversation's
// state is in the CRM).
type Engine struct {
	nlu    NLU
	kb     Knowledge
	store  Store
	policy *Policy
	log    *slog.Logger
	// Now is the clock (tests set it).
	Now func() time.Time
	// OnEscalate, when set, is called after a message escalated its
	// conversation (the staff notification hook).
	OnEscalate func(ctx context.Context, conversationID int64, reason string)
	// OnHandoff, when set, is called after a customer message arrived in
	// a conversation a person owns (the bot stayed silent), so the
	// person hears of it.
	OnHandoff func(ctx context.Context, conversationID int64, m crm.Message)
	// OnTurn, when set, is called after each message Handle handled
	// without error, duplicates included (the metrics hook). It runs on
	// the caller's goroutine, so it must be quick.
	OnTurn func(ctx context.Context, ev TurnEvent)
}

// TurnEvent is what OnTurn observes of one handled message.
type TurnEvent struct {
	Channel crm.Channel
	Turn    Turn
	// Reason is why the message escalated its conversation, one of the
	// Reason constants; "" when it did not.
	Reason string
	// Took is how long Handle took, CRM write included.
	Took time.Duration
}

// Why the engine escalates a conversation (crm.Escalation.Reason).
const (
	ReasonSentiment        = "strongly negative sentiment"
	ReasonAskedForPerson   = "customer asked for a person"
	ReasonRepeatedFallback = "repeated fallback"
)

// NewEngine returns an engine. policy nil means DefaultPolicy; log nil
// means slog.Default().
func NewEngine(nlu NLU, kb Knowledge, store Store, policy *Policy, log *slog.Logger) *Engine {
	if policy == nil {
		policy = DefaultPolicy()
	}
	if log == nil {
		log = slog.Default()
	}
	return &Engine{nlu: nlu, kb: kb, store: store, policy: policy, log: log, Now: time.Now}
}

// Policy returns the engine's policy.
func (e *Engine) Policy() *Policy { return e.policy }

// Handle handles one inbound message: it finds the conversation, and
// unless a person owns it, understands the message and decides the
// reply; then it records the message, the understanding, the replies and
// any escalation in one CRM transaction. A message whose ChannelMsgID
// was handled before stores nothing and returns the first replies.
//
// Errors wrap ErrBadMessage (empty, too long, invalid), ErrUnknownConversation,
// or the CRM's or the context's error; nothing is stored then.
func (e *Engine) Handle(ctx context.Context, m Message) (Turn, error) {
	if e.OnTurn == nil {
		t, _, err := e.handle(ctx, m)
		return t, err
	}
	// The wall clock, not e.Now: tests freeze Now, latency must be real.
	start := time.Now()
	t, reason, err := e.handle(ctx, m)
	if err == nil {
		e.OnTurn(ctx, TurnEvent{Channel: m.Channel, Turn: t, Reason: reason, Took: time.Since(start)})
	}
	return t, err
}

// handle is Handle; it also returns why the message escalated, if it did.
func (e *Engine) handle(ctx context.Context, m Message) (Turn, string, error) {
	if m.At.IsZero() {
		m.At = e.Now().UTC()
	}
	if err := m.Customer.Validate(); err != nil {
		return Turn{}, "", fmt.Errorf("%w: customer: %v", ErrBadMessage, err)
	}
	conv, err := e.conversation(ctx, m)
	if err != nil {
		return Turn{}, "", err
	}
	u, err := e.nlu.Understand(ctx, m.Text)
	switch {
	case errors.Is(err, nlp.ErrEmpty), errors.Is(err, nlp.ErrTooLong):
		return Turn{}, "", fmt.Errorf("%w: %w", ErrBadMessage, err)
	case err != nil:
		return Turn{}, "", err
	}
	var d decision
	if conv.State == crm.StateEscalated || conv.State == crm.StateAssigned {
		// A person owns the conversation: record the message (with what
		// the models make of it, for the person) and stay silent.
		// The state is left unset: the person may resolve it meanwhile,
		// and this message must not undo that.
		d = decision{action: ActionHandoff}
	} else {
		d = e.decide(conv, u)
	}
	in := crm.Interaction{
		Channel:         m.Channel,
		Customer:        m.Customer,
		CustomerName:    m.CustomerName,
		CustomerEmail:   m.CustomerEmail,
		ConversationID:  conv.ID,
		ConversationRef: m.ConversationRef,
		Message:         customerMessage(m, u, d),
		State:           d.state,
		Slots:           d.slots,
		Fallbacks:       d.fallbacks,
		Escalate:        d.escalate,
	}
	for _, r := range d.replies {
		in.Replies = append(in.Replies, crm.Message{Direction: crm.FromBot, Text: r.Text, QuickReplies: r.QuickReplies, CreatedAt: m.At})
	}
	logged, err := e.store.LogInteraction(ctx, in)
	if errors.Is(err, crm.ErrInvalid) {
		return Turn{}, "", fmt.Errorf("%w: %w", ErrBadMessage, err)
	} else if err != nil {
		return Turn{}, "", fmt.Errorf("log interaction: %w", err)
	}
	t := Turn{
		CustomerID:     logged.CustomerID,
		ConversationID: logged.ConversationID,
		MessageID:      logged.MessageID,
		Replies:        d.replies,
		Action:         d.action,
		Intent:         d.intent,
		Prediction:     u.Intent,
		Sentiment:      u.Sentiment,
		Article:        d.article,
		State:          cmp.Or(d.state, conv.State),
		Escalated:      d.escalate != "",
		Duplicate:      logged.Duplicate,
	}
	if logged.Duplicate {
		// The first delivery decided; repeat what it sent.
		t.Replies, t.Escalated = nil, false
		for _, r := range logged.Replies {
			t.Replies = append(t.Replies, Reply{Text: r.Text, QuickReplies: r.QuickReplies, ID: r.ID})
		}
		return t, "", nil
	}
	for i := range t.Replies {
		if i < len(logged.Replies) {
			t.Replies[i].ID = logged.Replies[i].ID
		}
	}
	if t.Escalated && e.OnEscalate != nil {
		e.OnEscalate(ctx, t.ConversationID, d.escalate)
	}
	if d.action == ActionHandoff && e.OnHandoff != nil {
		cm := in.Message
		cm.ID, cm.ConversationID = logged.MessageID, logged.ConversationID
		e.OnHandoff(ctx, t.ConversationID, cm)
	}
	e.log.Debug("turn", "conversation", t.ConversationID, "action", t.Action, "intent", t.Intent, "confidence", u.Intent.Confidence)
	return t, d.escalate, nil
}

// conversation finds the message's conversation; a zero Conversation
// (ID 0, state bot) stands for one the CRM will create.
func (e *Engine) conversation(ctx context.Context, m Message) (crm.Conversation, error) {
	fresh := crm.Conversation{State: crm.StateBot}
	cust, err := e.store.CustomerByExternalID(ctx, m.Customer)
	if errors.Is(err, crm.ErrNotFound) {
		if m.ConversationID != 0 {
			return fresh, fmt.Errorf("%w: %d", ErrUnknownConversation, m.ConversationID)
		}
		return fresh, nil
	} else if err != nil {
		return fresh, fmt.Errorf("find customer: %w", err)
	}
	if m.ConversationID != 0 {
		c, err := e.store.Conversation(ctx, m.ConversationID)
		if errors.Is(err, crm.ErrNotFound) || (err == nil && c.CustomerID != cust.ID) {
			// Another customer's conversation is as unknown as a missing one.
			return fresh, fmt.Errorf("%w: %d", ErrUnknownConversation, m.ConversationID)
		} else if err != nil {
			return fresh, fmt.Errorf("find conversation: %w", err)
		}
		return c, nil
	}
	cs, err := e.store.Conversations(ctx, crm.ConversationFilter{CustomerID: cust.ID, Channel: m.Channel, Limit: crm.MaxLimit})
	if err != nil {
		return fresh, fmt.Errorf("find conversation: %w", err)
	}
	for _, c := range cs { // newest first
		if c.Ref == m.ConversationRef {
			return c, nil
		}
	}
	return fresh, nil
}

func customerMessage(m Message, u Understanding, d decision) crm.Message {
	cm := crm.Message{
		Direction:      crm.FromCustomer,
		Text:           u.Doc.Text,
		ChannelMsgID:   m.ChannelMsgID,
		Intent:         u.Intent.Label,
		Confidence:     u.Intent.Confidence,
		OutOfScope:     u.Intent.OutOfScope,
		Sentiment:      u.Sentiment.Label,
		SentimentScore: u.Sentiment.Score,
		ModelVersion:   u.ModelVersion,
		Action:         string(d.action),
		CreatedAt:      m.At,
	}
	for _, a := range u.Intent.Alternatives {
		cm.Alternatives = append(cm.Alternatives, crm.Alternative{Intent: a.Label, Confidence: a.Confidence})
	}
	for _, en := range u.Entities {
		cm.Entities = append(cm.Entities, crm.Entity{Kind: en.Kind, Text: en.Text, Value: en.Value, Start: en.Start, End: en.End})
	}
	return cm
}

// decision is what the policy decided for one message.
type decision struct {
	action    Action
	intent    string
	article   string
	replies   []Reply
	state     crm.State
	slots     map[string]string
	fallbacks int
	escalate  string
}

// decide applies the policy to one understood message of a conversation
// the bot owns. It is a pure function of the policy, the knowledge
// base, the conversation and the understanding.
func (e *Engine) decide(conv crm.Conversation, u Understanding) decision {
	p := e.policy
	d := decision{state: crm.StateBot, slots: maps.Clone(conv.Slots), fallbacks: conv.Fallbacks}
	if d.slots == nil {
		d.slots = map[string]string{}
	}
	// What the customer told us stays for the conversation.
	for _, en := range u.Entities {
		d.slots[en.Kind] = en.Value
	}
	pred := u.Intent
	angry := 0
	if u.Sentiment.Score <= p.Thresholds.NegativeSentiment {
		angry, _ = strconv.Atoi(d.slots[slotAngry])
		angry++
		d.slots[slotAngry] = strconv.Itoa(angry)
	} else {
		delete(d.slots, slotAngry)
	}
	if angry >= p.Thresholds.AngryMessages {
		return e.escalate(d, pred.Label, ReasonSentiment)
	}
	d = e.decideUnderstood(d, u)
	if angry > 0 && d.action == ActionFallback {
		// Angry and not understood: a person, now.
		return e.escalate(d, pred.Label, ReasonSentiment)
	}
	return d
}

// decideUnderstood is decide after the conversation-wide checks.
func (e *Engine) decideUnderstood(d decision, u Understanding) decision {
	p := e.policy
	pred := u.Intent

	// An answer to our question: a quick reply, or one of the offered intents.
	if offered := d.slots[slotClarify]; offered != "" {
		delete(d.slots, slotClarify)
		options := strings.Split(offered, ",")
		text := strings.ToLower(strings.TrimSpace(u.Doc.Text))
		if text == strings.ToLower(p.Replies.SomethingElse) {
			d.action = ActionSmallTalk
			d.replies = []Reply{{Text: p.Replies.Rephrase}}
			return d
		}
		for _, in := range options {
			if text == strings.ToLower(p.Label(in)) {
				return e.act(d, in, u)
			}
		}
		if !pred.OutOfScope && slices.Contains(options, pred.Label) {
			return e.act(d, pred.Label, u)
		}
	}
	// The detail we asked for has arrived.
	if pending := d.slots[slotPending]; pending != "" {
		if len(e.missingSlots(pending, d.slots)) == 0 && (pred.OutOfScope || pred.Confidence < p.Thresholds.Answer || pred.Label == pending) {
			return e.act(d, pending, u)
		}
	}
	delete(d.slots, slotPending)

	// Escalation rules.
	if !pred.OutOfScope && pred.Confidence >= p.Thresholds.Answer && p.escalates(pred.Label) {
		return e.escalate(d, pred.Label, ReasonAskedForPerson)
	}
	if pred.OutOfScope {
		return e.fallback(d)
	}
	// Two intents close: ask which.
	if alt := pred.Alternatives; len(alt) > 0 && pred.Confidence < p.Thresholds.ClarifyBelow &&
		pred.Confidence-alt[0].Confidence <= p.Thresholds.ClarifyMargin && alt[0].Label != intents.OOS {
		return e.clarify(d, pred.Label, alt[0].Label)
	}
	if pred.Confidence >= p.Thresholds.Answer {
		return e.act(d, pred.Label, u)
	}
	// Unsure of the intent: the knowledge base may still know.
	if hits := e.kb.Search(u.Doc, 1, nil); len(hits) > 0 && e.confident(hits[0]) {
		return e.answer(d, "", hits[0].Article, u, ActionSearch)
	}
	return e.fallback(d)
}

// act handles a message whose intent is settled.
func (e *Engine) act(d decision, intent string, u Understanding) decision {
	p := e.policy
	d.intent = intent
	if p.escalates(intent) {
		return e.escalate(d, intent, ReasonAskedForPerson)
	}
	if reply, ok := p.SmallTalk[intent]; ok {
		d.action, d.fallbacks = ActionSmallTalk, 0
		d.replies = []Reply{{Text: reply}}
		return d
	}
	if missing := e.missingSlots(intent, d.slots); len(missing) > 0 {
		return e.ask(d, intent, missing[0])
	}
	arts := e.preferSlotArticles(intent, e.kb.ForIntent(intent))
	var art knowledge.Article
	switch len(arts) {
	case 0:
		// No article names the intent: search them all.
		hits := e.kb.Search(u.Doc, 1, nil)
		if len(hits) == 0 || !e.confident(hits[0]) {
			return e.fallback(d)
		}
		art = hits[0].Article
	case 1:
		art = arts[0]
	default:
		ids := make(map[string]bool, len(arts))
		for _, a := range arts {
			ids[a.ID] = true
		}
		art = arts[0]
		if hits := e.kb.Search(u.Doc, 1, func(a knowledge.Article) bool { return ids[a.ID] }); len(hits) > 0 {
			art = hits[0].Article
		}
	}
	return e.answer(d, intent, art, u, ActionAnswer)
}

// preferSlotArticles keeps, of an intent's articles, those that use the
// slots the intent asks for, when there are any: after asking for an
// order number, the answer is the article about that order, not the
// general one next to it.
func (e *Engine) preferSlotArticles(intent string, arts []knowledge.Article) []knowledge.Article {
	need := e.policy.Intents[intent].Slots
	if len(need) == 0 || len(arts) < 2 {
		return arts
	}
	var using []knowledge.Article
	for _, a := range arts {
		if slices.ContainsFunc(a.Placeholders(), func(ph string) bool { return slices.Contains(need, ph) }) {
			using = append(using, a)
		}
	}
	if len(using) == 0 {
		return arts
	}
	return using
}

// answer replies with an article, its placeholders filled from the
// conversation's slots; a placeholder without a value is asked for.
func (e *Engine) answer(d decision, intent string, art knowledge.Article, u Understanding, action Action) decision {
	vars := map[string]string{}
	for k, v := range d.slots {
		if !strings.HasPrefix(k, "_") {
			vars[k] = v
		}
	}
	for _, ph := range art.Placeholders() {
		if _, ok := vars[ph]; !ok {
			if _, askable := e.policy.Slots[ph]; askable {
				return e.ask(d, intent, ph)
			}
		}
	}
	text, err := art.Render(vars)
	if err != nil {
		// A placeholder nobody can fill: the article is unusable here.
		e.log.Warn("article does not render", "article", art.ID, "err", err)
		return e.fallback(d)
	}
	d.action, d.intent, d.article, d.fallbacks = action, intent, art.ID, 0
	delete(d.slots, slotPending)
	d.replies = []Reply{{Text: text}}
	return d
}

// confident reports whether a search hit is good enough to answer
// with: the hybrid score ranks articles against each other only, so the
// policy gates on the absolute word and meaning matches.
func (e *Engine) confident(h knowledge.Hit) bool {
	t := e.policy.Thresholds
	return h.BM25 >= t.SearchBM25 && (h.Embedding == 0 || h.Embedding >= t.SearchSimilarity)
}

// missingSlots lists the slots intent needs that are not known.
func (e *Engine) missingSlots(intent string, slots map[string]string) []string {
	var missing []string
	for _, s := range e.policy.Intents[intent].Slots {
		if slots[s] == "" {
			missing = append(missing, s)
		}
	}
	return missing
}

func (e *Engine) ask(d decision, intent, slot string) decision {
	d.action, d.intent, d.fallbacks = ActionAsk, intent, 0
	if intent != "" {
		d.slots[slotPending] = intent
	}
	d.replies = []Reply{{Text: e.policy.Slots[slot]}}
	return d
}

func (e *Engine) clarify(d decision, a, b string) decision {
	p := e.policy
	d.action, d.fallbacks = ActionClarify, 0
	d.slots[slotClarify] = a + "," + b
	options := lowerFirst(p.Label(a)) + " or " + lowerFirst(p.Label(b))
	d.replies = []Reply{{
		Text:         strings.ReplaceAll(p.Replies.Clarify, "{options}", options),
		QuickReplies: []string{p.Label(a), p.Label(b), p.Replies.SomethingElse},
	}}
	return d
}

func (e *Engine) fallback(d decision) decision {
	d.fallbacks++
	if d.fallbacks >= e.policy.MaxFallbacks {
		return e.escalate(d, "", ReasonRepeatedFallback)
	}
	d.action = ActionFallback
	d.replies = []Reply{{Text: e.policy.Replies.Fallback}}
	return d
}

func (e *Engine) escalate(d decision, intent, reason string) decision {
	d.action, d.intent, d.escalate, d.state, d.fallbacks = ActionEscalate, intent, reason, crm.StateEscalated, 0
	delete(d.slots, slotPending)
	delete(d.slots, slotClarify)
	delete(d.slots, slotAngry)
	d.replies = []Reply{{Text: e.policy.Replies.Escalate}}
	return d
}

// lowerFirst lower-cases a label's first letter for use inside a sentence.
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}
