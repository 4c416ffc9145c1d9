package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/crm"
)

// Kind is a type of customer: each draws their orders, conversations and
// mood from its own ranges, so the CRM has segments to find.
type Kind struct {
	Name  string
	Share float64 // of the customers
	// Tenure is how many days before the end they joined (uniform).
	TenureLo, TenureHi float64
	// QuietLo, QuietHi: days before the end their activity stopped
	// (uniform; 0 for active customers).
	QuietLo, QuietHi   float64
	OrdersLo, OrdersHi int
	// Spend multiplies item quantities and prices; Signup is the chance
	// of a Plus membership.
	Spend, Signup float64
	// ConvLo, ConvHi bound the conversations (at least one: Parley's CRM
	// knows a customer from their first message, sent when they joined).
	ConvLo, ConvHi int
	// Mix weighs what conversations are about: purchase, support,
	// problem, account questions.
	Mix [4]float64
	// Mood shifts every message's sentiment; Escalate is the base chance
	// a conversation goes to a person.
	Mood, Escalate float64
}

// Kinds are the customer types Generate draws from, with their shares.
var Kinds = []Kind{
	{Name: "loyal", Share: 0.15, TenureLo: 240, TenureHi: 365, OrdersLo: 8, OrdersHi: 24, Spend: 1.6, Signup: 0.35,
		ConvLo: 2, ConvHi: 6, Mix: [4]float64{0.4, 0.35, 0.1, 0.15}, Mood: 0.35, Escalate: 0.03},
	{Name: "occasional", Share: 0.35, TenureLo: 60, TenureHi: 365, OrdersLo: 1, OrdersHi: 4, Spend: 1, Signup: 0.04,
		ConvLo: 1, ConvHi: 3, Mix: [4]float64{0.3, 0.4, 0.15, 0.15}, Mood: 0.1, Escalate: 0.06},
	{Name: "new", Share: 0.15, TenureLo: 1, TenureHi: 40, OrdersLo: 0, OrdersHi: 2, Spend: 0.9,
		ConvLo: 1, ConvHi: 4, Mix: [4]float64{0.7, 0.15, 0.05, 0.1}, Mood: 0.2, Escalate: 0.04},
	{Name: "lapsed", Share: 0.2, TenureLo: 250, TenureHi: 365, QuietLo: 130, QuietHi: 220, OrdersLo: 2, OrdersHi: 6, Spend: 0.9,
		ConvLo: 1, ConvHi: 2, Mix: [4]float64{0.25, 0.45, 0.15, 0.15}, Mood: 0, Escalate: 0.05},
	{Name: "unhappy", Share: 0.15, TenureLo: 90, TenureHi: 365, OrdersLo: 2, OrdersHi: 6, Spend: 1,
		ConvLo: 3, ConvHi: 8, Mix: [4]float64{0.05, 0.25, 0.6, 0.1}, Mood: -0.35, Escalate: 0.22},
}

// customerPlan is everything Generate writes for one customer, drawn
// from the seed alone so the content does not depend on scheduling.
type customerPlan struct {
	index   int
	kind    int
	name    string
	email   string
	ref     crm.ExternalID
	channel crm.Channel
	joined  time.Time
	orders  []crm.Order // without CustomerID
	convs   []convPlan
}

type convPlan struct {
	ref   string
	turns []crm.Interaction
	// escalated conversations end in final (escalated, assigned or
	// resolved) handled by agent (an index into agents).
	escalated  bool
	final      crm.State
	agent      int
	resolution string
	at         time.Time // when the escalation happened
}

// vocab is the utterances by intent, and the intent groups restricted to
// intents that have utterances.
type vocab struct {
	text   map[string][]string
	groups [4][]string // purchase, support, problem, account
	other  []string    // intents in no group, for callers with their own intent set
	all    []string    // every intent, sorted
}

func newVocab(u map[string][]string) (*vocab, error) {
	v := &vocab{text: map[string][]string{}}
	for intent, texts := range u {
		if err := crm.CheckText("intent", intent, crm.MaxShortBytes); err != nil || intent == "" {
			return nil, fmt.Errorf("demo utterances: intent %q: %w", intent, crm.ErrInvalid)
		}
		for i, t := range texts {
			if err := crm.CheckText("utterance", t, crm.MaxTextBytes); err != nil {
				return nil, fmt.Errorf("demo utterances: %s #%d: %w", intent, i+1, err)
			}
			if strings.TrimSpace(t) != "" {
				v.text[intent] = append(v.text[intent], t)
			}
		}
	}
	if len(v.text) == 0 {
		return nil, fmt.Errorf("demo utterances: no messages to draw from: %w", crm.ErrInvalid)
	}
	grouped := map[string]bool{intentGreeting: true, intentThanks: true, intentGoodbye: true,
		intentAffirm: true, intentDeny: true, intentOOS: true}
	for g, list := range [4][]string{purchaseIntents, supportIntents, problemIntents, accountIntents} {
		for _, intent := range list {
			grouped[intent] = true
			if len(v.text[intent]) > 0 {
				v.groups[g] = append(v.groups[g], intent)
			}
		}
	}
	for intent := range v.text {
		if !grouped[intent] {
			v.other = append(v.other, intent)
		}
	}
	slices.Sort(v.other) // map order must not leak into the content
	v.all = sortedKeys(v.text)
	return v, nil
}

// pick returns one of xs.
func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func uniform(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }

func between(rng *rand.Rand, lo, hi int) int { return lo + rng.IntN(hi-lo+1) }

// mix32 is a bijection on uint32 (an invertible hash), so distinct
// customer indexes give distinct, random-looking ids.
func mix32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

// customerRNG is customer i's generator: their whole history is drawn
// from it, first the identity, then the rest.
func customerRNG(cfg Config, i int) *rand.Rand {
	return rand.New(rand.NewPCG(cfg.Seed, uint64(i)+1))
}

// identity draws customer i's kind, name, email and channel id, the
// first draws of its generator.
func identity(cfg Config, rng *rand.Rand, i int) customerPlan {
	u, kind := rng.Float64(), len(Kinds)-1
	for k, kd := range Kinds {
		if u < kd.Share {
			kind = k
			break
		}
		u -= kd.Share
	}
	first, last := pick(rng, firstNames), pick(rng, lastNames)
	p := customerPlan{
		index: i, kind: kind,
		name:  first + " " + last,
		email: fmt.Sprintf("%s.%s.%d@example.com", strings.ToLower(first), strings.ToLower(last), i+1),
	}
	// mix32 is a bijection, so ids are distinct within a seed.
	id := mix32(uint32(i) ^ uint32(cfg.Seed*0x9e3779b9))
	if rng.Float64() < 0.3 {
		p.channel = crm.ChannelSlack
		p.ref = crm.ExternalID{Kind: crm.IDSlackUser, Value: fmt.Sprintf("U%02X%08X", uint8(cfg.Seed), id)}
	} else {
		p.channel = crm.ChannelWeb
		p.ref = crm.ExternalID{Kind: crm.IDWebVisitor, Value: fmt.Sprintf("wv_%08x%08x", uint32(cfg.Seed), id)}
	}
	return p
}

// planCustomer draws customer i's history from (seed, i).
func planCustomer(cfg Config, v *vocab, i int) customerPlan {
	rng := customerRNG(cfg, i)
	p := identity(cfg, rng, i)
	kd := Kinds[p.kind]
	day := 24 * time.Hour
	start := cfg.End.Add(-time.Duration(cfg.Days) * day)
	at := func(daysBeforeEnd float64) time.Time {
		t := cfg.End.Add(-time.Duration(daysBeforeEnd * float64(day))).Truncate(time.Second)
		if t.Before(start) {
			t = start
		}
		return t
	}
	scale := float64(cfg.Days) / 365 // kinds are written for a year of history
	tenure := uniform(rng, kd.TenureLo, kd.TenureHi) * scale
	quiet := 0.0
	if kd.QuietHi > 0 {
		quiet = math.Min(uniform(rng, kd.QuietLo, kd.QuietHi)*scale, tenure*0.8)
	}
	p.joined = at(tenure)
	active := func() time.Time { return at(uniform(rng, quiet, tenure)) }

	// Orders, spread over the active period, oldest first.
	nOrders := between(rng, kd.OrdersLo, kd.OrdersHi)
	for o := 0; o < nOrders; o++ {
		it := pick(rng, catalogue)
		if alt := pick(rng, catalogue); kd.Spend > 1 && alt.hi > it.hi {
			it = alt // big spenders lean to the dearer items
		}
		qty := 1
		if it.hi < 40 && rng.Float64() < 0.3 {
			qty = between(rng, 2, 3)
		}
		price := uniform(rng, it.lo, it.hi) * math.Max(1, kd.Spend*0.8)
		p.orders = append(p.orders, order(cfg, i, o, it, math.Round(price*float64(qty)*100)/100, active()))
	}
	if rng.Float64() < kd.Signup {
		p.orders = append(p.orders, order(cfg, i, nOrders, membership, membership.lo, active()))
		p.orders[len(p.orders)-1].Kind = crm.OrderSignup
	}
	slices.SortStableFunc(p.orders, func(a, b crm.Order) int { return a.CreatedAt.Compare(b.CreatedAt) })

	// Conversations, the first when they joined.
	nConv := max(1, between(rng, kd.ConvLo, kd.ConvHi))
	for c := 0; c < nConv; c++ {
		p.convs = append(p.convs, planConversation(rng, cfg, v, &p, kd, c, active))
	}
	slices.SortStableFunc(p.convs, func(a, b convPlan) int { return a.turns[0].Message.CreatedAt.Compare(b.turns[0].Message.CreatedAt) })
	return p
}

func order(cfg Config, i, o int, it item, amount float64, at time.Time) crm.Order {
	// Order numbers look like the shop's (ORD- and 8 digits), distinct
	// per customer and order for one seed.
	n := (uint64(cfg.Seed)*7919 + uint64(i)*64 + uint64(o)) % 100_000_000
	return crm.Order{
		Ref: fmt.Sprintf("ORD-%08d", n), Item: it.name, Category: it.category,
		Amount: amount, Currency: currency, Kind: crm.OrderPurchase, CreatedAt: at,
	}
}

// planConversation draws one conversation: an optional greeting, the
// customer's question, maybe a follow-up, a closing or an escalation.
func planConversation(rng *rand.Rand, cfg Config, v *vocab, p *customerPlan, kd Kind, c int, active func() time.Time) convPlan {
	// What it is about.
	w := kd.Mix
	var total float64
	for g := range w {
		if len(v.groups[g]) == 0 {
			w[g] = 0
		}
		total += w[g]
	}
	var main string
	if total == 0 || (len(v.other) > 0 && rng.Float64() < 0.1) {
		pool := v.other
		if len(pool) == 0 {
			pool = v.all
		}
		main = pick(rng, pool)
	} else {
		u := rng.Float64() * total
		g := 0
		for g < 3 && u >= w[g] {
			u -= w[g]
			g++
		}
		main = pick(rng, v.groups[g])
	}

	// When: support and problems follow an order, purchase questions
	// often come just before one (what a conversion model learns from).
	start := active()
	if c == 0 {
		start = p.joined.Add(time.Duration(uniform(rng, 0, 36) * float64(time.Hour)))
	} else if len(p.orders) > 0 && rng.Float64() < 0.6 {
		o := pick(rng, p.orders).CreatedAt
		if slices.Contains(purchaseIntents, main) {
			start = o.Add(-time.Duration(uniform(rng, 0.1, 72) * float64(time.Hour)))
		} else if !slices.Contains(accountIntents, main) {
			start = o.Add(time.Duration(uniform(rng, 24, 240) * float64(time.Hour)))
		}
	}
	if start.Before(p.joined) {
		start = p.joined.Add(time.Duration(uniform(rng, 0, 12) * float64(time.Hour)))
	}
	if latest := cfg.End.Add(-2 * time.Hour); start.After(latest) {
		// Room for the whole conversation and an agent's reply before End.
		start = latest.Add(-time.Duration(uniform(rng, 0, 24) * float64(time.Hour)))
	}
	if first := cfg.End.AddDate(0, 0, -cfg.Days); start.Before(first) {
		start = first
	}
	start = start.Truncate(time.Second)

	cp := convPlan{}
	if p.channel == crm.ChannelSlack {
		cp.ref = fmt.Sprintf("%d.%06d", start.Unix(), (p.index*16+c)%1_000_000)
	} else {
		cp.ref = fmt.Sprintf("sess_%08x%04x", mix32(uint32(p.index)^uint32(cfg.Seed)), c)
	}
	now := start
	fallbacks := 0
	addTurn := func(intent string, m crm.Message, reply crm.Message) {
		t := len(cp.turns)
		m.Direction = crm.FromCustomer
		m.Intent = intent
		m.CreatedAt = now
		m.ModelVersion = "demo"
		m.ChannelMsgID = fmt.Sprintf("demo-%x-%d-%d-%d", cfg.Seed, p.index, c, t)
		reply.Direction = crm.FromBot
		reply.CreatedAt = now.Add(time.Duration(1+rng.IntN(3)) * time.Second)
		in := crm.Interaction{
			Channel: p.channel, Customer: p.ref, CustomerName: p.name, CustomerEmail: p.email,
			ConversationRef: cp.ref, Message: m, Replies: []crm.Message{reply},
			Fallbacks: fallbacks,
		}
		in.State = crm.StateBot // the bot answers; Fallbacks go with a state
		cp.turns = append(cp.turns, in)
		now = now.Add(time.Duration(15+rng.IntN(150)) * time.Second)
	}
	say := func(intent string) {
		m := crm.Message{Text: pick(rng, v.text[intent])}
		m.Sentiment, m.SentimentScore = sentiment(rng, intent, kd.Mood)
		m.Confidence, m.Alternatives = confidence(rng, v, intent)
		reply := crm.Message{Text: replyFor(intent)}
		m.Action = "answer"
		switch {
		case intent == intentGreeting || intent == intentThanks || intent == intentGoodbye:
			m.Action = "smalltalk"
		case m.Confidence < 0.5:
			m.Action = "clarify"
			reply.Text = replyClarify
			for _, a := range m.Alternatives {
				reply.QuickReplies = append(reply.QuickReplies, strings.ReplaceAll(a.Intent, "_", " "))
			}
		}
		addTurn(intent, m, reply)
	}

	if len(v.text[intentGreeting]) > 0 && rng.Float64() < 0.25 {
		say(intentGreeting)
	}
	if len(v.text[intentOOS]) > 0 && rng.Float64() < 0.04 {
		// Something the shop does not do: the bot falls back.
		m := crm.Message{Text: pick(rng, v.text[intentOOS]), OutOfScope: true, Action: "fallback"}
		m.Sentiment, m.SentimentScore = sentiment(rng, intentOOS, kd.Mood)
		m.Confidence = math.Round(uniform(rng, 0.1, 0.4)*1000) / 1000
		fallbacks++
		addTurn(intentOOS, m, crm.Message{Text: replyFallback})
	}
	say(main)
	mainTurn := len(cp.turns) - 1
	if cp.turns[mainTurn].Message.Action == "clarify" {
		// The customer picks an option or says it again.
		if rng.Float64() < 0.5 && len(v.text[intentAffirm]) > 0 {
			say(intentAffirm)
		} else {
			say(main)
		}
	} else if rng.Float64() < 0.2 && len(v.text[intentDeny]) > 0 {
		say(intentDeny)
	}

	// Escalation: asked for, or likelier when the conversation went badly.
	mainMsg := cp.turns[mainTurn].Message
	pEsc := kd.Escalate
	if mainMsg.Sentiment == "negative" {
		pEsc += 0.08
	}
	if mainMsg.Action == "clarify" || fallbacks > 0 {
		pEsc += 0.05
	}
	reason := ""
	switch {
	case main == intentHuman:
		reason = "customer asked for a person"
	case rng.Float64() < pEsc:
		reason = "negative sentiment"
		if mainMsg.Sentiment != "negative" {
			reason = "bot could not help"
		}
	}
	if reason != "" {
		last := &cp.turns[len(cp.turns)-1]
		last.Escalate = reason
		last.State = crm.StateEscalated
		last.Message.Action = "escalate"
		last.Replies[0].Text = replyEscalate
		last.Replies[0].QuickReplies = nil
		cp.escalated = true
		cp.at = last.Message.CreatedAt
		cp.agent = rng.IntN(len(agents))
		cp.resolution = pick(rng, resolutions)
		// Older escalations have mostly been dealt with.
		u := rng.Float64()
		recent := cfg.End.Sub(cp.at) < 3*24*time.Hour
		switch {
		case recent && u < 0.4, !recent && u < 0.04:
			cp.final = crm.StateEscalated
		case recent && u < 0.7, !recent && u < 0.14:
			cp.final = crm.StateAssigned
		default:
			cp.final = crm.StateResolved
		}
		return cp
	}
	if len(v.text[intentThanks]) > 0 && mainMsg.Sentiment != "negative" && rng.Float64() < 0.45 {
		say(intentThanks)
	}
	if len(v.text[intentGoodbye]) > 0 && rng.Float64() < 0.2 {
		say(intentGoodbye)
	}
	return cp
}

// sentiment draws a message's sentiment from its intent and the
// customer's mood: a score in [-1, 1] and its label (below -0.3
// negative, above 0.3 positive).
func sentiment(rng *rand.Rand, intent string, mood float64) (string, float64) {
	s := sentimentBase(intent) + 0.5*mood + 0.25*rng.NormFloat64()
	s = math.Round(math.Max(-1, math.Min(1, s))*1000) / 1000
	switch {
	case s < -0.3:
		return "negative", s
	case s > 0.3:
		return "positive", s
	}
	return "neutral", s
}

// confidence draws the classifier's confidence in intent and two
// runner-ups: mostly confident, now and then unsure (below 0.5, when the
// bot asks to clarify).
func confidence(rng *rand.Rand, v *vocab, intent string) (float64, []crm.Alternative) {
	c := 0.6 + 0.39*math.Sqrt(rng.Float64())
	if rng.Float64() < 0.1 {
		c = uniform(rng, 0.25, 0.5)
	}
	c = math.Round(c*1000) / 1000
	rest := 1 - c
	var alts []crm.Alternative
	pool := v.groups[rng.IntN(4)]
	if len(pool) == 0 {
		pool = v.all
	}
	for range 2 {
		alt := pick(rng, pool)
		if alt == intent || slices.ContainsFunc(alts, func(a crm.Alternative) bool { return a.Intent == alt }) {
			continue
		}
		share := math.Round(rest*uniform(rng, 0.3, 0.7)*1000) / 1000
		rest -= share
		alts = append(alts, crm.Alternative{Intent: alt, Confidence: share})
	}
	return c, alts
}

func replyFor(intent string) string {
	if r, ok := replies[intent]; ok {
		return r
	}
	return replyDefault
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
