// Package slackbot is Parley's Slack app, on github.com/slack-go/slack.
// Customers write to it in direct messages, or mention it in a channel;
// each Slack thread is one conversation. Support staff get escalations
// in their own channel, answer the customer by replying in the
// escalation's thread, and resolve it with a button or /parley resolve.
//
// Events arrive over Socket Mode (the default: no public URL) or the
// Events API over HTTP (signed requests, checked). Everything Parley
// posts goes through a durable outbox in the CRM: a post that fails is
// retried with backoff, never lost, never sent twice, and a restart
// resumes it.
//
// The core never imports this package; cmd/parley wires it in.
package slackbot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/handoff"
	"github.com/parley-chat/parley/crm"
)

// Environment variables that configure the app.
const (
	EnvBotToken      = "SLACK_BOT_TOKEN"      // xoxb-…: the Web API
	EnvAppToken      = "SLACK_APP_TOKEN"      // xapp-…: Socket Mode
	EnvSigningSecret = "SLACK_SIGNING_SECRET" // the Events API over HTTP
	EnvStaffChannel  = "SLACK_STAFF_CHANNEL"  // channel id where escalations go
)

// Config configures the app.
type Config struct {
	BotToken, AppToken, SigningSecret string
	// StaffChannel is the channel id (C…) where escalations are posted.
	StaffChannel string
	// APIURL points the client at another Slack-compatible endpoint
	// (tests use a local fake); "" is Slack's.
	APIURL string
	// ConsoleURL is the staff console's base URL, for links in summaries.
	ConsoleURL string
	Logger     *slog.Logger
}

// ConfigFromEnv reads the configuration from the environment. No Slack
// variable set: enabled is false (Parley runs without Slack). Some set:
// every missing one is named in the error.
func ConfigFromEnv(getenv func(string) string) (cfg Config, enabled bool, err error) {
	cfg = Config{
		BotToken: getenv(EnvBotToken), AppToken: getenv(EnvAppToken),
		SigningSecret: getenv(EnvSigningSecret), StaffChannel: getenv(EnvStaffChannel),
	}
	if cfg.BotToken == "" && cfg.AppToken == "" && cfg.SigningSecret == "" && cfg.StaffChannel == "" {
		return cfg, false, nil
	}
	return cfg, true, cfg.Validate()
}

// Validate lists every missing or malformed setting at once.
func (c Config) Validate() error {
	var errs []error
	if c.BotToken == "" {
		errs = append(errs, fmt.Errorf("%s is not set (the bot token, xoxb-…)", EnvBotToken))
	} else if !strings.HasPrefix(c.BotToken, "xoxb-") {
		errs = append(errs, fmt.Errorf("%s must be a bot token (xoxb-…)", EnvBotToken))
	}
	if c.AppToken == "" && c.SigningSecret == "" {
		errs = append(errs, fmt.Errorf("%s (Socket Mode) or %s (Events API over HTTP) must be set", EnvAppToken, EnvSigningSecret))
	}
	if c.AppToken != "" && !strings.HasPrefix(c.AppToken, "xapp-") {
		errs = append(errs, fmt.Errorf("%s must be an app-level token (xapp-…)", EnvAppToken))
	}
	if c.StaffChannel == "" {
		errs = append(errs, fmt.Errorf("%s is not set (the channel id where escalations go)", EnvStaffChannel))
	}
	if len(errs) > 0 {
		return fmt.Errorf("slack configuration: %w", errors.Join(errs...))
	}
	return nil
}

// Engine is what the app needs of the bot.
type Engine interface {
	Handle(ctx context.Context, m bot.Message) (bot.Turn, error)
}

// Desk is what the app needs of the support desk.
type Desk interface {
	Claim(ctx context.Context, conversationID int64, staff crm.StaffUser, src handoff.Source) (crm.Conversation, error)
	ReplyOnce(ctx context.Context, conversationID int64, staff crm.StaffUser, text string, src handoff.Source, channelMsgID string) (crm.Message, error)
	Resolve(ctx context.Context, conversationID int64, staff crm.StaffUser, resolution string, src handoff.Source) (crm.Conversation, error)
}

// Store is what the app needs of the CRM.
type Store interface {
	Conversation(ctx context.Context, id int64) (crm.Conversation, error)
	Customer(ctx context.Context, id int64) (crm.Customer, error)
	CustomerByExternalID(ctx context.Context, ref crm.ExternalID) (crm.Customer, error)
	LinkExternalID(ctx context.Context, customerID int64, ref crm.ExternalID) error
	Conversations(ctx context.Context, f crm.ConversationFilter) ([]crm.Conversation, error)
	Messages(ctx context.Context, conversationID int64) ([]crm.Message, error)
	Staff(ctx context.Context, id int64) (crm.StaffUser, error)
	StaffByEmail(ctx context.Context, email string) (crm.StaffUser, error)

	EnqueueOutbox(ctx context.Context, it crm.OutboxItem) (crm.OutboxItem, bool, error)
	DueOutbox(ctx context.Context, ch crm.Channel, now time.Time, limit int) ([]crm.OutboxItem, error)
	OutboxSent(ctx context.Context, id int64, result string, at time.Time) error
	OutboxRetry(ctx context.Context, id int64, nextAt time.Time, errText string) error
	OutboxFailed(ctx context.Context, id int64, errText string) error
	ClaimOutbox(ctx context.Context, id int64, now, until time.Time) (bool, error)
	OutboxDepth(ctx context.Context, ch crm.Channel) (int, error)

	SetConversationLink(ctx context.Context, conversationID int64, kind, value string) error
	ConversationByLink(ctx context.Context, kind, value string) (int64, error)
	ConversationLinks(ctx context.Context, conversationID int64) (map[string]string, error)
}

// socketConcurrency bounds the Socket Mode envelopes handled at once.
const socketConcurrency = 32

// linkStaffThread maps a conversation to its escalation's thread in the
// staff channel ("C…:ts").
const linkStaffThread = "slack_staff_thread"

// App is the Slack app. Make one with New, then Run it.
type App struct {
	cfg    Config
	api    *slack.Client
	engine Engine
	desk   Desk
	store  Store
	log    *slog.Logger
	now    func() time.Time

	botUserID string
	started   time.Time // when New ran: older outbox items may be a crashed run's

	wake chan struct{} // the outbox has new work
	seen *recent       // event ids handled lately (redeliveries)

	usersMu sync.Mutex
	users   map[string]userInfo // Slack user → profile, cached
}

type userInfo struct {
	name, email string
	isBot       bool
	at          time.Time
	linked      bool // the email is linked to the customer
	failed      bool // the lookup failed (at says when)
}

// New returns the app. It does not talk to Slack until Run.
func New(cfg Config, engine Engine, desk Desk, store Store) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &App{
		cfg: cfg, api: newClient(cfg), engine: engine, desk: desk, store: store,
		log: cfg.Logger.With("channel", "slack"), now: time.Now, started: time.Now(),
		wake: make(chan struct{}, 1), seen: newRecent(10000), users: map[string]userInfo{},
	}, nil
}

func newClient(cfg Config) *slack.Client {
	opts := []slack.Option{}
	if cfg.APIURL != "" {
		u := cfg.APIURL
		if !strings.HasSuffix(u, "/") {
			u += "/" // slack-go appends method names to it
		}
		opts = append(opts, slack.OptionAPIURL(u))
	}
	if cfg.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(cfg.AppToken))
	}
	return slack.New(cfg.BotToken, opts...)
}

// Run connects to Slack and runs until ctx ends: the outbox worker, and
// Socket Mode when an app token is configured (the Events API needs
// only Handler on the server's mux).
func (a *App) Run(ctx context.Context) error {
	auth, err := a.api.AuthTestContext(ctx)
	if err != nil {
		return fmt.Errorf("slack auth.test: %w", err)
	}
	a.botUserID = auth.UserID
	a.log.Info("slack connected", "team", auth.TeamID, "bot_user", auth.UserID, "socket_mode", a.cfg.AppToken != "")
	var wg sync.WaitGroup
	wg.Go(func() { a.runOutbox(ctx) })
	if a.cfg.AppToken != "" {
		wg.Go(func() { a.runSocketMode(ctx) })
	}
	wg.Wait()
	return nil
}

// Connect reads the bot's own identity (auth.test) without running
// anything: for handling events in tests and benchmarks that drive
// the outbox themselves.
func (a *App) Connect(ctx context.Context) error {
	auth, err := a.api.AuthTestContext(ctx)
	if err != nil {
		return fmt.Errorf("slack auth.test: %w", err)
	}
	a.botUserID = auth.UserID
	return nil
}

func (a *App) runSocketMode(ctx context.Context) {
	for ctx.Err() == nil {
		sm := socketmode.New(a.api)
		done := make(chan struct{})
		sem := make(chan struct{}, socketConcurrency)
		var handlers sync.WaitGroup
		go func() {
			defer close(done)
			defer handlers.Wait()
			for {
				select {
				case <-ctx.Done():
					return
				case evt, ok := <-sm.Events:
					if !ok {
						return
					}
					// Envelopes are handled side by side (a slow users.info
					// must not hold up the rest), a bounded number at once.
					sem <- struct{}{}
					handlers.Go(func() {
						defer func() { <-sem }()
						a.socketEvent(ctx, sm, evt)
					})
				}
			}
		}()
		err := sm.RunContext(ctx)
		if ctx.Err() != nil {
			<-done
			return
		}
		// RunContext reconnects by itself on dropped sockets; it returns
		// only on errors it cannot retry (bad token). Try again later.
		a.log.Error("slack socket mode stopped; retrying in 10 s", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
	}
}

// userProfile looks a Slack user up (users.info), cached for an hour.
func (a *App) userProfile(ctx context.Context, id string) (userInfo, error) {
	a.usersMu.Lock()
	u, ok := a.users[id]
	a.usersMu.Unlock()
	if ok && !u.failed && a.now().Sub(u.at) < time.Hour {
		return u, nil
	}
	if ok && u.failed && a.now().Sub(u.at) < time.Minute {
		return u, fmt.Errorf("slack users.info %s failed lately", id)
	}
	su, err := a.api.GetUserInfoContext(ctx, id)
	if err != nil {
		// Remembered for a minute: a rate-limited lookup is not retried
		// on every message.
		a.usersMu.Lock()
		a.users[id] = userInfo{failed: true, at: a.now()}
		a.usersMu.Unlock()
		return userInfo{}, fmt.Errorf("slack users.info %s: %w", id, err)
	}
	name := su.RealName
	if name == "" {
		name = su.Profile.DisplayName
	}
	u = userInfo{name: name, email: su.Profile.Email, isBot: su.IsBot, at: a.now(), linked: ok && u.linked}
	a.usersMu.Lock()
	a.users[id] = u
	a.usersMu.Unlock()
	return u, nil
}

// recent remembers the last n keys (a bounded set, oldest forgotten
// first).
type recent struct {
	mu    sync.Mutex
	set   map[string]struct{}
	order []string
	next  int
}

func newRecent(n int) *recent {
	return &recent{set: make(map[string]struct{}, n), order: make([]string, n)}
}

// has reports whether key was added lately.
func (r *recent) has(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.set[key]
	return ok
}

// add reports whether key is new, remembering it.
func (r *recent) add(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[key]; ok {
		return false
	}
	if old := r.order[r.next]; old != "" {
		delete(r.set, old)
	}
	r.order[r.next] = key
	r.next = (r.next + 1) % len(r.order)
	r.set[key] = struct{}{}
	return true
}
