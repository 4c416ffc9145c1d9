package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/crm"
)

// The widget lives in a shadow root; these are JavaScript paths into it.
const (
	wRoot   = `document.querySelector('#parley-chat').shadowRoot`
	wBubble = chromedp.JSPath(wRoot + `.querySelector('.pw-bubble')`)
	wInput  = chromedp.JSPath(wRoot + `.querySelector('.pw-input')`)
	wStatus = wRoot + `.querySelector('.pw-status').textContent`
)

// wTexts is a JavaScript expression for the texts of the messages of one
// kind (customer, bot, agent) in the widget, in order.
func wTexts(from string) string {
	return `Array.from(` + wRoot + `.querySelectorAll('.pw-` + from + ` .pw-text')).map(e => e.textContent)`
}

// wHas is true once a message of that kind contains the text.
func wHas(from, text string) string {
	q, _ := json.Marshal(text)
	return wTexts(from) + `.some(t => t.includes(` + string(q) + `))`
}

// say types a message into the widget and presses Enter.
func say(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	browse(t, ctx, "typing "+text, chromedp.SendKeys(wInput, text+"\r"))
}

// TestWebChatBrowser drives the widget on the demo page in Chromium
// against `parley serve` on a fresh SQLite CRM: an answer, a quick reply,
// a dropped connection with a message typed while it was down, text that
// looks like HTML, a reload that shows the history, a request for a
// person that escalates in the CRM, and a person's reply.
func TestWebChatBrowser(t *testing.T) {
	ctx := newBrowser(t)
	db := filepath.Join(t.TempDir(), "crm.db")
	base, srv := startServe(t, "--db", db)
	shots := func(name string) {
		if testing.Verbose() {
			screenshot(t, ctx, name)
		}
	}

	browse(t, ctx, "opening the demo page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(wBubble))
	shots("closed")
	browse(t, ctx, "opening the chat", chromedp.Click(wBubble), chromedp.WaitVisible(wInput))

	say(t, ctx, "where is my order 12345")
	waitFor(t, ctx, "the order answer", wHas("bot", "order 12345"))

	// An ambiguous message gets quick replies; clicking one answers it.
	say(t, ctx, "my account")
	chip := chromedp.JSPath(wRoot + `.querySelector('.pw-chip:nth-child(2)')`)
	waitFor(t, ctx, "quick replies", wRoot+`.querySelectorAll('.pw-chip').length === 3`)
	label := get(t, ctx, "reading the quick reply", chromedp.TextContent(chip))
	if label != "My account is locked" {
		t.Fatalf("second quick reply = %q, want %q", label, "My account is locked")
	}
	shots("quick-replies")
	browse(t, ctx, "clicking the quick reply", chromedp.Click(chip))
	waitFor(t, ctx, "the quick reply sent as a message", wHas("customer", "My account is locked"))
	// (The clarifying question says "locked" too: wait for the answer's
	// own words, and for the quick reply to be acknowledged.)
	waitFor(t, ctx, "the locked-account answer", wHas("bot", "wrong passwords"))
	waitFor(t, ctx, "the quick reply acknowledged", wRoot+`.querySelectorAll('.pw-pending').length === 0`)

	visitor := eval[string](t, ctx, "reading the visitor id",
		`JSON.parse(localStorage.getItem(Object.keys(localStorage).find(k => k.endsWith(':visitor'))))`)
	if visitor == "" {
		t.Fatal("the widget kept no visitor id")
	}

	// The server drops the connection and refuses new ones for a moment;
	// a message typed meanwhile waits, then is delivered and answered.
	srv.webchat.Refuse(true)
	if n := srv.webchat.Disconnect(visitor); n != 1 {
		t.Fatalf("Disconnect(%s) closed %d connections, want 1", visitor, n)
	}
	waitFor(t, ctx, "the reconnecting state", wStatus+` === 'Reconnecting…'`)
	say(t, ctx, "how much is shipping")
	waitFor(t, ctx, "the message kept as pending", wRoot+`.querySelectorAll('.pw-customer.pw-pending').length === 1`)
	shots("reconnecting")
	time.Sleep(600 * time.Millisecond) // let at least one reconnect attempt fail
	srv.webchat.Refuse(false)
	waitFor(t, ctx, "the shipping answer after reconnecting", wHas("bot", "4.95 EUR"))
	waitFor(t, ctx, "the pending message acknowledged", wRoot+`.querySelectorAll('.pw-pending').length === 0`)

	// Asking for a person escalates the conversation in the CRM.
	say(t, ctx, "I want to talk to a human")
	waitFor(t, ctx, "the hand-over reply", wHas("bot", "member of our support team"))
	waitFor(t, ctx, "the escalated state", wStatus+`.includes('member of our team')`)
	cctx := context.Background()
	cust, err := srv.store.CustomerByExternalID(cctx, crm.ExternalID{Kind: crm.IDWebVisitor, Value: visitor})
	if err != nil {
		t.Fatalf("the visitor is not in the CRM: %v", err)
	}
	convs, err := srv.store.Conversations(cctx, crm.ConversationFilter{CustomerID: cust.ID})
	if err != nil || len(convs) != 1 || convs[0].State != crm.StateEscalated {
		t.Fatalf("the visitor's conversations = %+v (%v), want one, escalated", convs, err)
	}
	conv := convs[0]
	if escs, err := srv.store.Escalations(cctx, conv.ID); err != nil || len(escs) != 1 || escs[0].Reason != "customer asked for a person" {
		t.Errorf("escalations = %+v (%v), want one: the customer asked for a person", escs, err)
	}
	// A person answers: the widget shows it as theirs.
	agent, err := srv.store.CreateStaff(cctx, crm.StaffUser{Email: "alice@shop.example", Name: "Alice", Role: crm.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.store.AddMessage(cctx, crm.Message{ConversationID: conv.ID, Direction: crm.FromAgent, AuthorID: agent.ID, Text: "Hi, I'm Alice. How can I help?"}); err != nil {
		t.Fatal(err)
	}
	srv.webchat.Publish(cctx, conv.ID)
	waitFor(t, ctx, "the person's reply", wHas("agent", "I'm Alice"))
	waitFor(t, ctx, "the person's name", wRoot+`.querySelector('.pw-agent .pw-who').textContent === 'Alice'`)
	shots("agent")

	// Text that looks like markup is shown as text and never runs.
	hostile := []string{`<img src=x onerror="window.__xss=1">`, `<script>window.__xss=2</script>`}
	for _, h := range hostile {
		say(t, ctx, h)
		waitFor(t, ctx, "the hostile text shown as text", wHas("customer", h))
	}
	if eval[bool](t, ctx, "checking for injected markup",
		`window.__xss !== undefined || `+wRoot+`.querySelector('.pw-log img, .pw-log script') !== null`) {
		t.Error("a customer message was rendered as HTML")
	}

	waitFor(t, ctx, "the hostile messages acknowledged", wRoot+`.querySelectorAll('.pw-pending').length === 0`)

	// Every customer message is in the CRM once, in order, and a reload
	// shows the whole conversation again in the same order.
	msgs, err := srv.store.Messages(cctx, conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	var customerTexts, allTexts []string
	for _, m := range msgs {
		if m.Direction == crm.FromCustomer {
			customerTexts = append(customerTexts, m.Text)
		}
		allTexts = append(allTexts, m.Text)
	}
	browse(t, ctx, "reloading", chromedp.Reload(), chromedp.WaitVisible(wInput))
	waitFor(t, ctx, "the history after a reload", fmt.Sprintf(`%s.querySelectorAll('.pw-msg').length === %d`, wRoot, len(msgs)))
	if shown := eval[[]string](t, ctx, "reading the history", `Array.from(`+wRoot+`.querySelectorAll('.pw-msg .pw-text')).map(e => e.textContent)`); strings.Join(shown, "|") != strings.Join(allTexts, "|") {
		t.Errorf("after a reload the widget shows\n%q\nwant the CRM's conversation\n%q", shown, allTexts)
	}
	want := append([]string{"where is my order 12345", "my account", "My account is locked", "how much is shipping", "I want to talk to a human"}, hostile...)
	if strings.Join(customerTexts, "|") != strings.Join(want, "|") {
		t.Errorf("customer messages in the CRM:\n got %q\nwant %q (each once, in order)", customerTexts, want)
	}
}
