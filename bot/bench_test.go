package bot_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/sqlite"
	"github.com/parley-chat/parley/intents/builtin"
)

// BenchmarkHandle measures a full turn: NLU, policy, retrieval and the
// CRM write, on a real SQLite file, over the built-in test messages.
func BenchmarkHandle(b *testing.B) {
	nlu, kb := builtinParts(b)
	store, err := sqlite.Open(context.Background(), b.TempDir()+"/crm.db")
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	e := bot.NewEngine(nlu, kb, store, nil, nil)
	test, err := builtin.Dataset(builtin.IntentTest)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		text := test.Examples[i%len(test.Examples)].Text
		_, err := e.Handle(context.Background(), bot.Message{
			Channel:      crm.ChannelAPI,
			Customer:     crm.ExternalID{Kind: crm.IDAPI, Value: fmt.Sprintf("c%d", i%500)},
			Text:         text,
			ChannelMsgID: fmt.Sprintf("b%d", i),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
