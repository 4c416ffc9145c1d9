package intents_test

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/parley-chat/parley/intents"
)

func TestCheck(t *testing.T) {
	d := intents.Dataset{Name: "train.csv", Examples: examples(
		ex(2, "Where is my order", "order_status"),
		ex(3, "cancel it", "cancel_order"),
		ex(4, "  where  is my ORDER ", "order_status"), // duplicate of line 2
		ex(5, "Cancel it", "cancel_subscription"),      // conflicts with line 3
		ex(6, "hello", "greeting"),
		ex(7, "where\u00a0is my order", "order_status"), // duplicate again
		ex(8, "CANCEL IT", "cancel_order"),              // same conflict
		ex(9, "straße", "x"),
		ex(10, "STRASSE", "x"), // case folding, not just lower-casing
	)}
	rep := intents.Check(d)
	wantDup := []intents.Repeat{
		{Text: "Where is my order", Occurrences: []intents.Occurrence{{"order_status", 2}, {"order_status", 4}, {"order_status", 7}}},
		{Text: "straße", Occurrences: []intents.Occurrence{{"x", 9}, {"x", 10}}},
	}
	wantConf := []intents.Repeat{
		{Text: "cancel it", Occurrences: []intents.Occurrence{{"cancel_order", 3}, {"cancel_subscription", 5}, {"cancel_order", 8}}},
	}
	if !equalRepeats(rep.Duplicates, wantDup) {
		t.Errorf("Check: Duplicates = %+v, want %+v", rep.Duplicates, wantDup)
	}
	if !equalRepeats(rep.Conflicts, wantConf) {
		t.Errorf("Check: Conflicts = %+v, want %+v", rep.Conflicts, wantConf)
	}
	wantCounts := map[string]int{"order_status": 3, "cancel_order": 2, "cancel_subscription": 1, "greeting": 1, "x": 2}
	if !maps.Equal(rep.Counts, wantCounts) || rep.Name != "train.csv" {
		t.Errorf("Check: Name %q Counts %v, want train.csv %v", rep.Name, rep.Counts, wantCounts)
	}
	var buf bytes.Buffer
	rep.WriteText(&buf)
	for _, want := range []string{
		"train.csv: 5 labels, 2 duplicates, 1 conflicts",
		`conflict "cancel it": train.csv:3 (cancel_order) train.csv:5 (cancel_subscription) train.csv:8 (cancel_order)`,
		`duplicate "Where is my order": train.csv:2 (order_status)`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("WriteText output\n%s\nlacks %q", buf.String(), want)
		}
	}
}

func TestCheckClean(t *testing.T) {
	rep := intents.Check(intents.Dataset{Examples: examples(ex(1, "a", "x"), ex(2, "b", "x"), ex(3, "a b", "y"))})
	if len(rep.Duplicates) != 0 || len(rep.Conflicts) != 0 {
		t.Errorf("Check(distinct texts) = %d duplicates, %d conflicts; want none", len(rep.Duplicates), len(rep.Conflicts))
	}
}

func equalRepeats(a, b []intents.Repeat) bool {
	return slices.EqualFunc(a, b, func(x, y intents.Repeat) bool {
		return x.Text == y.Text && slices.Equal(x.Occurrences, y.Occurrences)
	})
}
