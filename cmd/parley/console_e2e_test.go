package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/parley-chat/parley/bot/console/auth"
	"github.com/parley-chat/parley/crm"
)

// Console JavaScript expressions.
const (
	cRows       = `document.querySelectorAll('#inbox-list .row')`
	cTranscript = `Array.from(document.querySelectorAll('#transcript .msg .msg-text')).map(e => e.textContent)`
	cState      = `((document.querySelector('#conv-head .state') || {}).textContent || '')`
)

// cHas is true once a transcript message of the kind (customer, bot,
// agent, note) contains the text.
func cHas(kind, text string) string {
	q, _ := json.Marshal(text)
	return `Array.from(document.querySelectorAll('#transcript .msg-` + kind + ` .msg-text')).some(e => e.textContent.includes(` + string(q) + `))`
}

// TestConsoleBrowser is the hand-over from the bot to a person and back,
// with two browsers against `parley serve`: a customer in the widget asks
// for a person; an agent signed in to the console sees the conversation
// arrive without reloading, claims it and replies; the customer sees the
// reply as a person's; the agent resolves it, and the customer's next
// question is the bot's again. Customer text that looks like markup
// stays text in the console.
func TestConsoleBrowser(t *testing.T) {
	customer, agent := newBrowser(t), newBrowser(t)
	base, srv := startServe(t, "--db", filepath.Join(t.TempDir(), "crm.db"))
	shots := func(ctx context.Context, name string) {
		if testing.Verbose() {
			screenshot(t, ctx, name)
		}
	}
	const pw = "a long enough test password"
	hash, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.store.CreateStaff(context.Background(), crm.StaffUser{Email: "alice@shop.example", Name: "Alice", Role: crm.RoleAgent, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}

	// The agent signs in (the console sends a stranger to the login page
	// first) and waits on an empty inbox, connected for live updates.
	browse(t, agent, "opening the console", chromedp.Navigate(base+"/console"), chromedp.WaitVisible(chromedp.ID("email")))
	shots(agent, "login")
	browse(t, agent, "signing in",
		chromedp.SendKeys(chromedp.ID("email"), "alice@shop.example"),
		chromedp.SendKeys(chromedp.ID("password"), pw+"\r"),
		chromedp.WaitVisible(chromedp.ID("inbox-list")))
	waitFor(t, agent, "live updates", `document.querySelector('#live').dataset.state === 'on'`)
	if n := eval[int](t, agent, "counting rows", cRows+`.length`); n != 0 {
		t.Fatalf("a new desk's inbox has %d rows, want none", n)
	}
	// Marks the page: a reload or a navigation would lose it.
	eval[bool](t, agent, "marking the page", `window.__sameInboxPage = true`)

	// The customer asks for a person in the widget.
	browse(t, customer, "opening the demo page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(wBubble))
	browse(t, customer, "opening the chat", chromedp.Click(wBubble), chromedp.WaitVisible(wInput))
	say(t, customer, "I want to talk to a human")
	waitFor(t, customer, "the hand-over reply", wHas("bot", "member of our support team"))

	// It appears in the agent's inbox without a reload.
	waitFor(t, agent, "the conversation in the inbox", cRows+`.length === 1`)
	if !eval[bool](t, agent, "checking for a reload", `window.__sameInboxPage === true`) {
		t.Fatal("the inbox was reloaded to show the conversation, want a live update")
	}
	if reason := eval[string](t, agent, "reading the row", `document.querySelector('#inbox-list .row .row-meta').textContent`); !strings.Contains(reason, "customer asked for a person") || !strings.Contains(reason, "Web chat") {
		t.Errorf("the row says %q, want the channel and the reason", reason)
	}
	shots(agent, "inbox")

	// The agent opens it and claims it.
	browse(t, agent, "opening the conversation", chromedp.Click(chromedp.CSS(`#inbox-list .row`)), chromedp.WaitVisible(chromedp.ID("transcript")))
	waitFor(t, agent, "the transcript", cHas("customer", "I want to talk to a human"))
	waitFor(t, agent, "live updates on the conversation page", `document.querySelector('#live').dataset.state === 'on'`)
	browse(t, agent, "claiming", chromedp.Click(chromedp.ID("claim")))
	waitFor(t, agent, "the claim", cState+`.startsWith('Assigned')`)

	// The customer writes text that looks like markup: the console shows
	// it as text, live, and nothing of it runs.
	hostile := []string{`<img src=x onerror="window.__xss=1">`, `<script>window.__xss=2</script>`}
	for _, h := range hostile {
		say(t, customer, h)
		waitFor(t, agent, "the hostile text in the transcript", cHas("customer", h))
	}
	if eval[bool](t, agent, "checking for injected markup",
		`window.__xss !== undefined || document.querySelector('#transcript img, #transcript script, #inbox-list img, #inbox-list script') !== null`) {
		t.Error("a customer message was rendered as HTML in the console")
	}

	// The agent replies; the customer sees it as a person's message.
	browse(t, agent, "replying",
		chromedp.SendKeys(chromedp.ID("compose-text"), "Hi, I'm Alice"),
		chromedp.Click(chromedp.ID("send-reply")))
	waitFor(t, agent, "the reply in the transcript", cHas("agent", "Hi, I'm Alice"))
	shots(agent, "conversation")
	waitFor(t, customer, "the person's reply", wHas("agent", "Hi, I'm Alice"))
	waitFor(t, customer, "the person's name", wRoot+`.querySelector('.pw-agent .pw-who').textContent === 'Alice'`)
	shots(customer, "widget")

	// The agent resolves it with a reason: the bot answers again.
	// Escape closes the input's suggestion list, which would otherwise
	// be open over the page when the button is clicked.
	browse(t, agent, "resolving",
		chromedp.SendKeys(chromedp.ID("resolution"), "answered"+kb.Escape),
		chromedp.Click(chromedp.ID("resolve")))
	waitFor(t, agent, "the resolution", cState+` === 'Resolved'`)
	shots(agent, "resolved")
	say(t, customer, "how much is shipping")
	waitFor(t, customer, "the bot's answer after the hand-back", wHas("bot", "4.95 EUR"))

	cctx := context.Background()
	convs, err := srv.store.Conversations(cctx, crm.ConversationFilter{})
	if err != nil || len(convs) != 1 {
		t.Fatalf("conversations %+v (%v), want one", convs, err)
	}
	escs, err := srv.store.Escalations(cctx, convs[0].ID)
	if err != nil || len(escs) != 1 || escs[0].Status != crm.EscalationResolved || escs[0].Resolution != "answered" {
		t.Errorf("escalations %+v (%v), want one, resolved: answered", escs, err)
	}
	if convs[0].State != crm.StateBot {
		t.Errorf("after the customer's next message the conversation is %s, want back with the bot", convs[0].State)
	}
	texts := eval[[]string](t, agent, "reading the transcript", cTranscript)
	if !containsAll(texts, "I want to talk to a human", hostile[0], hostile[1], "Hi, I'm Alice") {
		t.Errorf("the transcript shows %q", texts)
	}
}

func containsAll(xs []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(xs, w) {
			return false
		}
	}
	return true
}

// seedDesk puts a morning's hand-overs in the CRM, each as the bot logs
// it (a customer message with what the models understood, the bot's
// hand-over reply, the escalation), waiting since minutes ago.
type seeded struct {
	name, email, text, intent, sentiment, reason string
	confidence, score                            float64
	ago                                          time.Duration
	channel                                      crm.Channel
}

func seedDesk(t *testing.T, srv *server, now time.Time, convs []seeded) []int64 {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	for i, s := range convs {
		ref := crm.ExternalID{Kind: crm.IDWebVisitor, Value: fmt.Sprintf("v_seed_%d", i)}
		if s.channel == crm.ChannelSlack {
			ref = crm.ExternalID{Kind: crm.IDSlackUser, Value: fmt.Sprintf("U0SEED%d", i)}
		}
		at := now.Add(-s.ago)
		l, err := srv.store.LogInteraction(ctx, crm.Interaction{
			Channel: s.channel, Customer: ref, CustomerName: s.name, CustomerEmail: s.email, ConversationRef: ref.Value,
			Message: crm.Message{Direction: crm.FromCustomer, Text: s.text, Intent: s.intent, Confidence: s.confidence,
				Sentiment: s.sentiment, SentimentScore: s.score, Action: "escalate", CreatedAt: at},
			Replies:  []crm.Message{{Direction: crm.FromBot, Text: "I'm handing you over to a member of our support team. Someone will reply right here shortly.", CreatedAt: at}},
			Escalate: s.reason,
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, l.ConversationID)
	}
	return ids
}

// TestConsoleDeskBrowser is a busy desk in the browser: the inbox in
// priority order with waiting badges, a valuable customer's profile,
// canned responses searched as you type, and the admin's staff page
// (an account created, its password shown once).
func TestConsoleDeskBrowser(t *testing.T) {
	ctx := newBrowser(t)
	base, srv := startServe(t, "--db", filepath.Join(t.TempDir(), "crm.db"))
	shots := func(name string) {
		if testing.Verbose() {
			screenshot(t, ctx, name)
		}
	}
	cctx := context.Background()
	const pw = "a long enough test password"
	hash, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := srv.store.CreateStaff(cctx, crm.StaffUser{Email: "alice@shop.example", Name: "Alice Martin", Role: crm.RoleAgent, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.store.CreateStaff(cctx, crm.StaffUser{Email: "root@shop.example", Name: "Rita Admin", Role: crm.RoleAdmin, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ids := seedDesk(t, srv, now, []seeded{
		{name: "Maria Garcia", email: "maria@example.com", text: "I was charged twice for order 48213, can someone look at it?", intent: "talk_to_human", confidence: 0.91, sentiment: "neutral", score: -0.1, reason: "customer asked for a person", ago: 42 * time.Minute, channel: crm.ChannelWeb},
		{name: "Tom Becker", email: "tom@example.com", text: "My parcel arrived broken and nobody answers. This is ridiculous!", intent: "damaged_item", confidence: 0.64, sentiment: "negative", score: -0.85, reason: "strongly negative", ago: 18 * time.Minute, channel: crm.ChannelWeb},
		{name: "Priya Nair", email: "priya@example.com", text: "Can I add a second pair of trail shoes to my order before it ships?", intent: "add_to_order", confidence: 0.48, sentiment: "positive", score: 0.4, reason: "repeated fallback", ago: 3 * time.Minute, channel: crm.ChannelWeb},
		{name: "Jonas Berg", text: "hey, does the wool throw come in grey?", intent: "product_question", confidence: 0.37, sentiment: "neutral", score: 0.05, reason: "customer asked for a person", ago: 9 * time.Minute, channel: crm.ChannelSlack},
		{name: "Lena Wolf", email: "lena@example.com", text: "I need to change the delivery address for my order", intent: "change_delivery_address", confidence: 0.88, sentiment: "neutral", score: 0, reason: "customer asked for a person", ago: 25 * time.Minute, channel: crm.ChannelWeb},
	})
	maria, tom, priya, jonas, lena := ids[0], ids[1], ids[2], ids[3], ids[4]
	prof, _ := srv.store.Conversation(cctx, priya)
	if err := srv.store.SaveSegments(cctx, []crm.SegmentAssignment{{CustomerID: prof.CustomerID, Segment: "S2", Profile: "high value, frequent, loyal"}}); err != nil {
		t.Fatal(err)
	}
	if err := srv.store.SaveLeadScores(cctx, []crm.LeadScore{{CustomerID: prof.CustomerID, Score: 0.86}}, now); err != nil {
		t.Fatal(err)
	}
	for i, o := range []crm.Order{{Item: "Trail shoes", Amount: 89, Ref: "48102"}, {Item: "Linen shirt", Amount: 49}, {Item: "Wool throw", Amount: 59}} {
		o.CustomerID, o.Currency, o.Kind, o.CreatedAt = prof.CustomerID, "EUR", crm.OrderPurchase, now.AddDate(0, -i-1, -3*i)
		if _, err := srv.store.AddOrder(cctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srv.desk.Claim(cctx, lena, alice, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.desk.Note(cctx, priya, alice, "Long-time customer: offer free express shipping if the order has left.", "test"); err != nil {
		t.Fatal(err)
	}

	signIn := func(email string) {
		browse(t, ctx, "signing in as "+email, chromedp.Navigate(base+"/console/login"), chromedp.WaitVisible(chromedp.ID("email")),
			chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), pw+"\r"))
	}
	signIn("alice@shop.example")
	browse(t, ctx, "waiting for the inbox", chromedp.WaitVisible(chromedp.ID("inbox-list")))
	// Priority: Maria waited 42 min (42), Tom is angry (18 + 17 = 35),
	// Priya is valuable (3 + 15 + 8.6), Lena waited 25, Jonas 9.
	order := eval[[]string](t, ctx, "reading the order", `Array.from(`+cRows+`).map(r => r.dataset.id)`)
	if want := strs(maria, tom, priya, lena, jonas); !slices.Equal(order, want) {
		t.Errorf("inbox order %v, want %v (by priority)", order, want)
	}
	badges := eval[[]string](t, ctx, "reading the badges", `Array.from(document.querySelectorAll('#inbox-list .wait')).map(b => b.className + ' ' + b.textContent)`)
	if len(badges) != 5 || !strings.Contains(badges[0], "wait-high 42 min") || !strings.Contains(badges[2], "wait-low 3 min") {
		t.Errorf("waiting badges %q, want Maria's red at 42 min and Priya's green at 3 min", badges)
	}
	waitFor(t, ctx, "live updates", `document.querySelector('#live').dataset.state === 'on'`)
	shots("inbox")

	browse(t, ctx, "opening Priya's conversation", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#inbox-list .row[data-id="%d"]`, priya))),
		chromedp.WaitVisible(chromedp.ID("profile")))
	profile := eval[string](t, ctx, "reading the profile", `document.querySelector('#profile').textContent`)
	for _, want := range []string{"Priya Nair", "priya@example.com", "high value, frequent, loyal", "86%", "Trail shoes", "89.00 EUR", "197.00 EUR"} {
		if !strings.Contains(profile, want) {
			t.Errorf("the profile lacks %q", want)
		}
	}
	waitFor(t, ctx, "the note", cHas("note", "free express shipping"))
	browse(t, ctx, "searching canned responses", chromedp.SendKeys(chromedp.ID("canned-q"), "add to my order"))
	waitFor(t, ctx, "canned responses as you type", `document.querySelectorAll('#canned-results .canned-hit').length > 0`)
	shots("conversation")
	browse(t, ctx, "picking a canned response", chromedp.Click(chromedp.CSS(`#canned-results .canned-hit`)))
	if text := eval[string](t, ctx, "reading the reply box", `document.querySelector('#compose-text').value`); text == "" {
		t.Error("picking a canned response left the reply box empty")
	}

	// The admin's staff page.
	browse(t, ctx, "signing out", chromedp.Click(chromedp.CSS(`.me button`)), chromedp.WaitVisible(chromedp.ID("email")))
	signIn("root@shop.example")
	browse(t, ctx, "opening the staff page", chromedp.WaitVisible(chromedp.ID("inbox-list")), chromedp.Navigate(base+"/console/admin/users"), chromedp.WaitVisible(chromedp.ID("new-email")))
	browse(t, ctx, "adding an agent",
		chromedp.SendKeys(chromedp.ID("new-email"), "sam@shop.example"),
		chromedp.SendKeys(chromedp.ID("new-name"), "Sam Lee"),
		chromedp.Click(chromedp.CSS(`form.stack button`)),
		chromedp.WaitVisible(chromedp.ID("new-password")))
	if pwShown := eval[string](t, ctx, "reading the password", `document.querySelector('#new-password').textContent`); len(pwShown) < 20 {
		t.Errorf("generated password %q, want 20 characters", pwShown)
	}
	shots("staff")
}

func strs(ids ...int64) []string {
	var out []string
	for _, id := range ids {
		out = append(out, fmt.Sprint(id))
	}
	return out
}
