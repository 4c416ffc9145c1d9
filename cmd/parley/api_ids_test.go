package main

import (
	"path/filepath"
	"testing"
)

// Two customers that use the same client_msg_id are two messages: each
// gets its own conversation and the reply to its own words, never the
// other's (the API deduplicates within a customer).
func TestAPIClientMsgIDsPerCustomer(t *testing.T) {
	base, _ := startServe(t, "--db", filepath.Join(t.TempDir(), "crm.db"))
	_, a := postMessage(t, base, `{"customer_id":"alice","client_msg_id":"m1","text":"where is my order 12345"}`)
	_, b := postMessage(t, base, `{"customer_id":"bob","client_msg_id":"m1","text":"how much is shipping"}`)
	if a.ConversationID == 0 || a.ConversationID == b.ConversationID || a.Intent.Name == b.Intent.Name {
		t.Fatalf("alice %+v and bob %+v share a message", a, b)
	}
	// The same customer repeating its id is a retry: the first reply.
	_, again := postMessage(t, base, `{"customer_id":"alice","client_msg_id":"m1","text":"where is my order 12345"}`)
	if again.ConversationID != a.ConversationID || again.Intent.Name != a.Intent.Name {
		t.Errorf("alice's retry: %+v, want her first reply %+v", again, a)
	}
	// A customer id containing the separator cannot reach another's.
	_, c := postMessage(t, base, `{"customer_id":"alice/m1","client_msg_id":"x","text":"do you ship to Austria"}`)
	if c.ConversationID == a.ConversationID {
		t.Errorf("customer %q got alice's conversation", "alice/m1")
	}
}
