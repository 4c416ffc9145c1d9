package crm_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parley-chat/parley/crm"
)

func TestOutboxErrorText(t *testing.T) {
	long := strings.Repeat("a", crm.MaxShortBytes-1) + "é" // é straddles the limit
	for _, tt := range []struct {
		name, in, want string
	}{
		{"plain", "ratelimited", "ratelimited"},
		{"empty", "", ""},
		{"invalid UTF-8", "bad \xff byte", "bad \uFFFD byte"},
		{"NUL", "a\x00b", "ab"},
		{"at the limit", strings.Repeat("x", crm.MaxShortBytes), strings.Repeat("x", crm.MaxShortBytes)},
		{"over the limit", strings.Repeat("x", crm.MaxShortBytes+10), strings.Repeat("x", crm.MaxShortBytes)},
		{"cut before a split character", long, strings.Repeat("a", crm.MaxShortBytes-1)},
	} {
		got := crm.OutboxErrorText(tt.in)
		if got != tt.want {
			t.Errorf("%s: OutboxErrorText(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
		if !utf8.ValidString(got) || len(got) > crm.MaxShortBytes || crm.CheckText("e", got, crm.MaxShortBytes) != nil {
			t.Errorf("%s: OutboxErrorText(%q) = %q, not storable text", tt.name, tt.in, got)
		}
	}
}

func TestOutboxItemValidate(t *testing.T) {
	ok := crm.OutboxItem{Key: "k", Channel: crm.ChannelSlack, Payload: []byte("{}")}
	for _, tt := range []struct {
		name  string
		edit  func(*crm.OutboxItem)
		valid bool
	}{
		{"ok", func(*crm.OutboxItem) {}, true},
		{"no kind", func(it *crm.OutboxItem) { it.Kind = "" }, true},
		{"largest payload", func(it *crm.OutboxItem) { it.Payload = make([]byte, crm.MaxPayloadBytes) }, true},
		{"store fields ignored", func(it *crm.OutboxItem) { it.State, it.Attempts, it.Result = "weird", -3, "\xff" }, true},
		{"empty key", func(it *crm.OutboxItem) { it.Key = "" }, false},
		{"unknown channel", func(it *crm.OutboxItem) { it.Channel = "fax" }, false},
		{"empty payload", func(it *crm.OutboxItem) { it.Payload = []byte{} }, false},
		{"oversized payload", func(it *crm.OutboxItem) { it.Payload = make([]byte, crm.MaxPayloadBytes+1) }, false},
		{"negative conversation", func(it *crm.OutboxItem) { it.ConversationID = -1 }, false},
	} {
		it := ok
		tt.edit(&it)
		if err := it.Validate(); (err == nil) != tt.valid {
			t.Errorf("%s: Validate() = %v, want valid %v", tt.name, err, tt.valid)
		}
	}
}

func TestCheckLink(t *testing.T) {
	for _, tt := range []struct {
		kind, value string
		valid       bool
	}{
		{"slack_thread", "C1:1700000000.000100", true},
		{"", "v", false},
		{"k", "", false},
		{"k", strings.Repeat("v", crm.MaxShortBytes+1), false},
		{"k\x00", "v", false},
	} {
		if err := crm.CheckLink(tt.kind, tt.value); (err == nil) != tt.valid {
			t.Errorf("CheckLink(%q, %q) = %v, want valid %v", tt.kind, tt.value, err, tt.valid)
		}
	}
}
