package training_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/training"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
	"github.com/parley-chat/parley/intents"
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// t0 is the fixtures' clock.
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// fixtureData is the small data in testdata: five intents and oos.
func fixtureData(tb testing.TB) training.Data {
	tb.Helper()
	load := func(name string) intents.Dataset {
		d, err := intents.LoadFile(filepath.Join("testdata", name))
		if err != nil {
			tb.Fatal(err)
		}
		return d
	}
	return training.Data{Train: load("train.csv"), Val: load("val.csv"), Test: load("test.csv")}
}

// bench is a workbench on a memory CRM with the fixture data and one analyst.
type bench struct {
	wb    *training.Workbench
	store *crmtest.Memory
	staff crm.StaffUser
	conv  int // customers created, for unique external ids
}

func newBench(tb testing.TB) *bench {
	tb.Helper()
	store := crmtest.NewMemory()
	staff, err := store.CreateStaff(context.Background(), crm.StaffUser{Email: "ana@example.com", Role: crm.RoleAnalyst})
	if err != nil {
		tb.Fatal(err)
	}
	wb, err := training.New(store, training.WithData(fixtureData(tb)), training.WithLogger(quietLogger()),
		training.WithClock(func() time.Time { return t0 }))
	if err != nil {
		tb.Fatal(err)
	}
	return &bench{wb: wb, store: store, staff: staff}
}

// msg is a customer message to log, with what the bot made of it.
type msg struct {
	text       string
	intent     string
	conf       float64
	oos        bool
	action     string
	at         time.Duration // after t0
	escalate   bool          // the message escalates its conversation
	conv       int64         // 0: a new conversation
	modelLabel string
}

// log records m as an interaction and returns the message and
// conversation ids.
func (b *bench) log(tb testing.TB, m msg) (msgID, convID int64) {
	tb.Helper()
	b.conv++
	in := crm.Interaction{
		Channel:        crm.ChannelWeb,
		Customer:       crm.ExternalID{Kind: crm.IDWebVisitor, Value: fmt.Sprintf("visitor-%d", b.conv)},
		ConversationID: m.conv,
		Message: crm.Message{
			Direction: crm.FromCustomer, Text: m.text, Intent: m.intent, Confidence: m.conf,
			OutOfScope: m.oos, Action: m.action, CreatedAt: t0.Add(m.at), ModelVersion: m.modelLabel,
			Alternatives: []crm.Alternative{{Intent: "greeting", Confidence: 0.1}},
		},
	}
	if m.conv != 0 {
		c, err := b.store.Conversation(context.Background(), m.conv)
		if err != nil {
			tb.Fatal(err)
		}
		cust, err := b.store.Customer(context.Background(), c.CustomerID)
		if err != nil {
			tb.Fatal(err)
		}
		in.Customer = cust.ExternalIDs[0]
	}
	if m.escalate {
		in.Escalate = "test"
	}
	lg, err := b.store.LogInteraction(context.Background(), in)
	if err != nil {
		tb.Fatalf("log %q: %v", m.text, err)
	}
	return lg.MessageID, lg.ConversationID
}

// labelAll stores labels for exs by the bench's analyst, oldest first.
func (b *bench) labelAll(tb testing.TB, exs ...intents.Example) []crm.Label {
	tb.Helper()
	var out []crm.Label
	for i, e := range exs {
		l, err := b.store.AddLabel(context.Background(), crm.Label{Text: e.Text, Intent: e.Label, StaffID: b.staff.ID, CreatedAt: t0.Add(time.Duration(i) * time.Minute)})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

func ex(text, label string) intents.Example { return intents.Example{Text: text, Label: label} }

func mustLabels(tb testing.TB, s crm.Store) []crm.Label {
	tb.Helper()
	ls, err := s.Labels(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return ls
}
