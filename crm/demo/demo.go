package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/parley-chat/parley/crm"
)

// Store is what Generate needs of a crm.Store.
type Store interface {
	LogInteraction(ctx context.Context, in crm.Interaction) (crm.Logged, error)
	AddMessage(ctx context.Context, m crm.Message) (crm.Message, error)
	SetState(ctx context.Context, conversationID int64, s crm.State, assigneeID int64, resolution string) (crm.Conversation, error)
	AddOrder(ctx context.Context, o crm.Order) (crm.Order, error)
	CreateStaff(ctx context.Context, u crm.StaffUser) (crm.StaffUser, error)
	StaffByEmail(ctx context.Context, email string) (crm.StaffUser, error)
}

var _ Store = crm.Store(nil)

// Defaults and bounds.
const (
	DefaultCustomers = 500
	DefaultDays      = 365
	DefaultWorkers   = 4
	// MaxCustomers bounds Config.Customers: order numbers have 8 digits,
	// 64 per customer.
	MaxCustomers = 1_000_000
	// MaxDays bounds Config.Days (a century of history).
	MaxDays = 36_500
)

// DefaultEnd is where the synthetic history ends when Config.End is zero:
// a fixed time, so that the same seed gives the same data on any day.
// Pass time.Now() for a demo whose customers are active "today".
var DefaultEnd = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Config configures Generate. The zero value makes DefaultCustomers
// customers with seed 0 and the fallback utterances.
type Config struct {
	Customers int
	Seed      uint64
	// End and Days place the history: every order and message falls in
	// the Days days before End.
	End  time.Time
	Days int
	// Utterances are customer messages by intent (Parley's built-in
	// training data makes a realistic demo); nil uses FallbackUtterances.
	Utterances map[string][]string
	// Workers is how many customers are written concurrently.
	Workers int
	Logger  *slog.Logger
}

// Summary describes the data Generate made: the counts depend only on
// the Config. Skipped counts the records (messages, orders, agents) the
// store already had, which a second run with the same Config finds all
// of.
type Summary struct {
	Customers, Conversations, Messages, Replies, Orders int
	// Escalations are the conversations handed to a person; Open,
	// Assigned and Resolved their states at the end.
	Escalations, Open, Assigned, Resolved int
	// Kinds counts customers per Kind name.
	Kinds   map[string]int
	Skipped int
	// Start and End bound the history.
	Start, End time.Time
}

func (c Config) withDefaults() (Config, error) {
	if c.Customers < 0 || c.Customers > MaxCustomers || c.Days < 0 || c.Days > MaxDays || c.Workers < 0 {
		return c, fmt.Errorf("demo config: customers %d (at most %d), days %d (at most %d), workers %d: %w",
			c.Customers, MaxCustomers, c.Days, MaxDays, c.Workers, crm.ErrInvalid)
	}
	if c.Customers == 0 {
		c.Customers = DefaultCustomers
	}
	if c.Days == 0 {
		c.Days = DefaultDays
	}
	if c.End.IsZero() {
		c.End = DefaultEnd
	}
	c.End = c.End.UTC().Truncate(time.Second)
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.Utterances == nil {
		c.Utterances = FallbackUtterances
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// Generate writes a synthetic CRM into store: cfg.Customers customers
// of the Kinds (loyal big spenders, occasional, new, lapsed, unhappy),
// each with a name, an email and a web-chat or Slack id, their orders
// over the period, and their conversations: customer messages drawn from
// cfg.Utterances with intents, confidences and sentiment, the bot's
// replies, escalations to the demo agents and where those stand.
//
// The content is a function of the Config alone: each customer's
// history is drawn from a generator seeded with (Seed, customer index).
// Customers are created first, one by one in index order, by their
// first message (so their ids follow the index and their CreatedAt is
// when they joined); then cfg.Workers goroutines write the rest, so the
// ids of later conversations, messages and orders depend on scheduling
// (Workers 1 makes them deterministic too). Every record carries its
// time: the Store keeps a CreatedAt it is given, as crm.Store promises.
// State changes (assignment, resolution) take the store's clock.
//
// Generate is idempotent: messages carry channel message ids, orders
// shop refs and agents fixed emails, so running it again with the same
// Config adds nothing (Summary.Skipped counts what was already there)
// and completes a run that stopped half-way, except for the state
// changes of escalations whose messages were all logged before. On
// error it returns the Summary so far with the first error.
func Generate(ctx context.Context, store Store, cfg Config) (Summary, error) {
	if store == nil {
		return Summary{}, fmt.Errorf("demo: nil store: %w", crm.ErrInvalid)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	v, err := newVocab(cfg.Utterances)
	if err != nil {
		return Summary{}, err
	}
	begin := time.Now()
	sum := Summary{Kinds: map[string]int{}, End: cfg.End, Start: cfg.End.AddDate(0, 0, -cfg.Days)}

	staff := make([]int64, len(agents))
	for a, ag := range agents {
		u, err := store.CreateStaff(ctx, crm.StaffUser{
			Email: ag.email, Name: ag.name, Role: crm.RoleAgent, PasswordHash: lockedPassword, CreatedAt: sum.Start,
		})
		if errors.Is(err, crm.ErrConflict) {
			u, err = store.StaffByEmail(ctx, ag.email)
			sum.Skipped++
		}
		if err != nil {
			return sum, fmt.Errorf("demo: staff %s: %w", ag.email, err)
		}
		staff[a] = u.ID
	}

	// Customers first, in index order, so their ids are deterministic:
	// each is created by their first message, which makes their
	// CreatedAt the time they joined.
	firsts := make([]crm.Logged, cfg.Customers)
	for i := range firsts {
		if err := ctx.Err(); err != nil {
			return sum, fmt.Errorf("demo: %w", err)
		}
		p := planCustomer(cfg, v, i)
		lg, err := store.LogInteraction(ctx, p.convs[0].turns[0])
		if err != nil {
			return sum, fmt.Errorf("demo: customer %d (%s): first message: %w", i, p.ref.Value, err)
		}
		firsts[i] = lg
		sum.Customers++
	}
	cfg.Logger.Info("demo: customers created", "customers", cfg.Customers, "elapsed", time.Since(begin).Round(time.Millisecond))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		done     int
	)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(cfg.Workers, cfg.Customers); w++ {
		wg.Add(1)
		go func() { // exits when next is closed
			defer wg.Done()
			for i := range next {
				p := planCustomer(cfg, v, i)
				part, err := writeCustomer(ctx, store, p, firsts[i], staff)
				mu.Lock()
				sum.add(part)
				sum.Kinds[Kinds[p.kind].Name]++
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("demo: customer %d (%s): %w", i, p.ref.Value, err)
					cancel()
				}
				done++
				if done%max(1, cfg.Customers/10) == 0 {
					cfg.Logger.Info("demo: progress", "customers", done, "of", cfg.Customers,
						"elapsed", time.Since(begin).Round(time.Millisecond))
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := 0; i < cfg.Customers; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("demo: %w", context.Cause(ctx))
	}
	if firstErr != nil {
		return sum, firstErr
	}
	cfg.Logger.Info("demo: generated", "customers", sum.Customers, "conversations", sum.Conversations,
		"messages", sum.Messages, "orders", sum.Orders, "escalations", sum.Escalations,
		"skipped", sum.Skipped, "elapsed", time.Since(begin).Round(time.Millisecond))
	return sum, nil
}

func (s *Summary) add(p Summary) {
	s.Conversations += p.Conversations
	s.Messages += p.Messages
	s.Replies += p.Replies
	s.Orders += p.Orders
	s.Escalations += p.Escalations
	s.Open += p.Open
	s.Assigned += p.Assigned
	s.Resolved += p.Resolved
	s.Skipped += p.Skipped
}

// writeCustomer writes one customer's orders and conversations but the
// first message, which first logged.
func writeCustomer(ctx context.Context, store Store, p customerPlan, first crm.Logged, staff []int64) (Summary, error) {
	var s Summary
	for _, o := range p.orders {
		o.CustomerID = first.CustomerID
		s.Orders++
		if _, err := store.AddOrder(ctx, o); errors.Is(err, crm.ErrConflict) {
			s.Skipped++
		} else if err != nil {
			return s, fmt.Errorf("add order %s: %w", o.Ref, err)
		}
	}
	for c, cp := range p.convs {
		s.Conversations++
		var convID int64
		fresh := false
		for t, in := range cp.turns {
			lg := first
			if c > 0 || t > 0 {
				// Later turns name their conversation, as the bot does.
				in.ConversationID = convID
				var err error
				if lg, err = store.LogInteraction(ctx, in); err != nil {
					return s, fmt.Errorf("log message %s: %w", in.Message.ChannelMsgID, err)
				}
			}
			s.Messages++
			s.Replies += len(in.Replies)
			if lg.Duplicate {
				s.Skipped++
			} else {
				fresh = true
			}
			convID = lg.ConversationID
		}
		if !cp.escalated {
			continue
		}
		s.Escalations++
		switch cp.final {
		case crm.StateEscalated:
			s.Open++
			continue
		case crm.StateAssigned:
			s.Assigned++
		case crm.StateResolved:
			s.Resolved++
		}
		if !fresh {
			continue // handled in the run that logged it
		}
		agent := staff[cp.agent]
		if _, err := store.SetState(ctx, convID, crm.StateAssigned, agent, ""); err != nil {
			return s, fmt.Errorf("assign conversation %d: %w", convID, err)
		}
		msg := crm.Message{
			ConversationID: convID, Direction: crm.FromAgent, AuthorID: agent,
			Text:         fmt.Sprintf(agentOpeners[(p.index+c)%len(agentOpeners)], firstName(agents[cp.agent].name)),
			ChannelMsgID: cp.turns[len(cp.turns)-1].Message.ChannelMsgID + "-agent",
			CreatedAt:    cp.at.Add(time.Duration(5+(p.index+c)%55) * time.Minute),
		}
		if _, err := store.AddMessage(ctx, msg); err != nil {
			return s, fmt.Errorf("agent reply in conversation %d: %w", convID, err)
		}
		if cp.final == crm.StateResolved {
			if _, err := store.SetState(ctx, convID, crm.StateResolved, 0, cp.resolution); err != nil {
				return s, fmt.Errorf("resolve conversation %d: %w", convID, err)
			}
		}
	}
	return s, nil
}

func firstName(full string) string {
	for i, r := range full {
		if r == ' ' {
			return full[:i]
		}
	}
	return full
}
