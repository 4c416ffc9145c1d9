package bot_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/bottest"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
)

// A transcript is a conversation as data: what the customer says (or
// what staff do), and what the engine must answer.
type transcript struct {
	Name    string `yaml:"name"`
	Channel string `yaml:"channel"`
	// Policy, when set, is a policy file's text applied over the
	// built-in policy for this conversation.
	Policy string `yaml:"policy"`
	Turns  []step `yaml:"turns"`
}

type step struct {
	// Say is the customer's message; Staff is a staff action instead
	// ("assign" or "resolve").
	Say   string `yaml:"say"`
	Staff string `yaml:"staff"`
	// ID is the channel message id (default: a fresh one per turn; give
	// the same id twice to test redelivery).
	ID string `yaml:"id"`
	// Expectations; empty ones are not checked.
	Intent       string   `yaml:"intent"`    // the intent acted on
	Predicted    string   `yaml:"predicted"` // the model's top label
	Action       string   `yaml:"action"`
	Reply        string   `yaml:"reply"`    // regexp on the replies' text, joined by newlines
	NoReply      bool     `yaml:"no_reply"` // no reply at all
	QuickReplies []string `yaml:"quick_replies"`
	State        string   `yaml:"state"`
	Article      string   `yaml:"article"`
	Duplicate    bool     `yaml:"duplicate"`
	Escalated    *bool    `yaml:"escalated"`
	Sentiment    string   `yaml:"sentiment"`
}

// builtinParts is the built-in models and knowledge base, loaded once.
func builtinParts(tb testing.TB) (*bot.Models, bot.Knowledge) { return bottest.Builtin(tb) }

func newEngine(t *testing.T, policy string) (*bot.Engine, crm.Store) {
	t.Helper()
	nlu, kb := builtinParts(t)
	store := crmtest.NewMemory()
	t.Cleanup(func() { store.Close() })
	var p *bot.Policy
	if policy != "" {
		var err error
		if p, err = bot.ParsePolicy(strings.NewReader(policy), "transcript policy", nil); err != nil {
			t.Fatal(err)
		}
	}
	e := bot.NewEngine(nlu, kb, store, p, nil)
	return e, store
}

// TestTranscripts runs every conversation in testdata/transcripts
// against the engine with the built-in models, knowledge base and
// policy, on an in-memory CRM.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var tr transcript
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		if err := dec.Decode(&tr); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			runTranscript(t, tr)
		})
	}
}

func runTranscript(t *testing.T, tr transcript) {
	e, store := newEngine(t, tr.Policy)
	ctx := context.Background()
	channel := crm.ChannelWeb
	if tr.Channel != "" {
		channel = crm.Channel(tr.Channel)
	}
	customer := crm.ExternalID{Kind: crm.IDWebVisitor, Value: "visitor-" + strings.ReplaceAll(tr.Name, " ", "-")}
	var conv int64
	for i, s := range tr.Turns {
		where := fmt.Sprintf("turn %d", i+1)
		if s.Staff != "" {
			if conv == 0 {
				t.Fatalf("%s: staff %s before any conversation", where, s.Staff)
			}
			var state crm.State
			assignee := int64(0)
			switch s.Staff {
			case "assign":
				state = crm.StateAssigned
			case "resolve":
				state = crm.StateResolved
			default:
				t.Fatalf("%s: unknown staff action %q", where, s.Staff)
			}
			staff, err := store.CreateStaff(ctx, crm.StaffUser{Email: fmt.Sprintf("agent%d@shop.example", i), Role: crm.RoleAgent, PasswordHash: "x"})
			if err != nil {
				t.Fatal(err)
			}
			if state == crm.StateAssigned {
				assignee = staff.ID
			}
			if _, err := store.SetState(ctx, conv, state, assignee, "done"); err != nil {
				t.Fatalf("%s: staff %s: %v", where, s.Staff, err)
			}
			continue
		}
		id := s.ID
		if id == "" {
			id = fmt.Sprintf("m%d", i)
		}
		turn, err := e.Handle(ctx, bot.Message{Channel: channel, Customer: customer, Text: s.Say, ChannelMsgID: id, At: time.Date(2026, 5, 1, 12, 0, i, 0, time.UTC)})
		if err != nil {
			t.Fatalf("%s %q: %v", where, s.Say, err)
		}
		conv = turn.ConversationID
		var texts []string
		var quick []string
		for _, r := range turn.Replies {
			texts = append(texts, r.Text)
			quick = append(quick, r.QuickReplies...)
		}
		reply := strings.Join(texts, "\n")
		got := fmt.Sprintf("action %s, intent %q (predicted %s %.2f, alternatives %v), sentiment %s %.2f, state %s, article %q, reply %q, quick replies %q",
			turn.Action, turn.Intent, turn.Prediction.Label, turn.Prediction.Confidence, turn.Prediction.Alternatives, turn.Sentiment.Label, turn.Sentiment.Score, turn.State, turn.Article, reply, quick)
		check := func(ok bool, what string) {
			if !ok {
				t.Errorf("%s %q: want %s; got %s", where, s.Say, what, got)
			}
		}
		if s.Intent != "" {
			check(turn.Intent == s.Intent, "intent "+s.Intent)
		}
		if s.Predicted != "" {
			check(turn.Prediction.Label == s.Predicted, "predicted "+s.Predicted)
		}
		if s.Action != "" {
			check(string(turn.Action) == s.Action, "action "+s.Action)
		}
		if s.Reply != "" {
			check(regexp.MustCompile(s.Reply).MatchString(reply), "reply matching "+s.Reply)
		}
		if s.NoReply {
			check(len(turn.Replies) == 0, "no reply")
		}
		if s.QuickReplies != nil {
			check(slices.Equal(quick, s.QuickReplies), fmt.Sprintf("quick replies %q", s.QuickReplies))
		}
		if s.State != "" {
			check(string(turn.State) == s.State, "state "+s.State)
		}
		if s.Article != "" {
			check(turn.Article == s.Article, "article "+s.Article)
		}
		if s.Sentiment != "" {
			check(turn.Sentiment.Label == s.Sentiment, "sentiment "+s.Sentiment)
		}
		check(turn.Duplicate == s.Duplicate, fmt.Sprintf("duplicate %v", s.Duplicate))
		if s.Escalated != nil {
			check(turn.Escalated == *s.Escalated, fmt.Sprintf("escalated %v", *s.Escalated))
		}
		// The CRM agrees with the turn.
		c, err := store.Conversation(ctx, turn.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		if c.State != turn.State {
			t.Errorf("%s: CRM has the conversation in state %s, the turn says %s", where, c.State, turn.State)
		}
	}
}
