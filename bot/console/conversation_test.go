package console_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
)

// The desk's actions through the console, as forms (303 to the
// conversation) and as console.js's fetch calls (JSON): each one changes
// the CRM as the desk says, and a reply reaches the customer's channel.
func TestActions(t *testing.T) {
	for _, mode := range []string{"form", "fetch"} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t)
			id := f.escalated("v-ann", "Ann Example")
			c := "/console/conversations/" + strconv.FormatInt(id, 10)
			alice := f.signedIn(f.alice)
			ctx := context.Background()
			for _, step := range []struct {
				name, path string
				form       url.Values
				notice     string
				check      func(t *testing.T, conv crm.Conversation, msgs []crm.Message, escs []crm.Escalation)
			}{
				{"claim", "/claim", url.Values{}, "claimed", func(t *testing.T, conv crm.Conversation, _ []crm.Message, escs []crm.Escalation) {
					if conv.State != crm.StateAssigned || conv.AssigneeID != f.alice.ID || escs[0].AssigneeID != f.alice.ID {
						t.Errorf("after claim: %s to %d (escalation to %d), want assigned to Alice (%d)", conv.State, conv.AssigneeID, escs[0].AssigneeID, f.alice.ID)
					}
				}},
				{"assign to Bob", "/assign", url.Values{"staff_id": {strconv.FormatInt(f.bob.ID, 10)}}, "assigned", func(t *testing.T, conv crm.Conversation, _ []crm.Message, _ []crm.Escalation) {
					if conv.State != crm.StateAssigned || conv.AssigneeID != f.bob.ID {
						t.Errorf("after assign: %s to %d, want assigned to Bob (%d)", conv.State, conv.AssigneeID, f.bob.ID)
					}
				}},
				{"reply", "/reply", url.Values{"text": {"Hi, I'm Alice"}}, "replied", func(t *testing.T, conv crm.Conversation, msgs []crm.Message, _ []crm.Escalation) {
					last := msgs[len(msgs)-1]
					if last.Direction != crm.FromAgent || last.AuthorID != f.alice.ID || last.Text != "Hi, I'm Alice" {
						t.Errorf("last message %+v, want Alice's reply", last)
					}
					if got := f.web.sent(); !slices.Equal(got, []string{"Hi, I'm Alice"}) {
						t.Errorf("delivered to the web chat: %q, want the reply", got)
					}
					if conv.AssigneeID != f.alice.ID {
						t.Errorf("after replying the conversation is %d's, want Alice's (whoever answers owns it)", conv.AssigneeID)
					}
				}},
				{"note", "/note", url.Values{"text": {"Customer is a repeat buyer"}}, "noted", func(t *testing.T, _ crm.Conversation, msgs []crm.Message, _ []crm.Escalation) {
					last := msgs[len(msgs)-1]
					if last.Direction != crm.Note || last.Text != "Customer is a repeat buyer" {
						t.Errorf("last message %+v, want the note", last)
					}
					if got := f.web.sent(); len(got) != 1 {
						t.Errorf("delivered %q: a note must never reach the customer", got)
					}
				}},
				{"resolve", "/resolve", url.Values{"resolution": {"refund issued"}}, "resolved", func(t *testing.T, conv crm.Conversation, _ []crm.Message, escs []crm.Escalation) {
					if conv.State != crm.StateResolved || escs[0].Status != crm.EscalationResolved || escs[0].Resolution != "refund issued" {
						t.Errorf("after resolve: %s, escalation %s %q; want resolved with the reason", conv.State, escs[0].Status, escs[0].Resolution)
					}
				}},
			} {
				var res response
				if mode == "form" {
					res = alice.post(c+step.path, withView(step.form, "mine"))
					want := c + "?notice=" + step.notice + "&view=mine"
					if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
						t.Fatalf("%s: status %d to %q, want 303 to %q\n%s", step.name, res.StatusCode, res.Header.Get("Location"), want, res.body)
					}
					// The page after the redirect says what happened.
					if page := alice.get(want); !strings.Contains(page.body, `class="notice"`) {
						t.Errorf("%s: the page after the redirect shows no notice", step.name)
					}
				} else {
					res = alice.do("POST", c+step.path, "json", step.form, map[string]string{"X-CSRF-Token": alice.csrf})
					var out struct {
						OK     bool   `json:"ok"`
						Notice string `json:"notice"`
					}
					decodeJSON(t, res.body, &out)
					if res.StatusCode != http.StatusOK || !out.OK || out.Notice == "" {
						t.Fatalf("%s: status %d %+v, want 200 ok with a notice", step.name, res.StatusCode, out)
					}
				}
				conv, _ := f.store.Conversation(ctx, id)
				msgs, _ := f.store.Messages(ctx, id)
				escs, _ := f.store.Escalations(ctx, id)
				step.check(t, conv, msgs, escs)
			}
		})
	}
}

func withView(form url.Values, view string) url.Values {
	out := url.Values{"view": {view}}
	for k, v := range form {
		out[k] = v
	}
	return out
}

// Bad actions get a clear error and change nothing.
func TestActionErrors(t *testing.T) {
	f := newFixture(t)
	open := f.escalated("v-ann", "Ann Example")
	done := f.escalated("v-ben", "Ben Example")
	if _, err := f.desk.Resolve(context.Background(), done, f.bob, "answered", "test"); err != nil {
		t.Fatal(err)
	}
	alice := f.signedIn(f.alice)
	conv := func(id int64) string { return "/console/conversations/" + strconv.FormatInt(id, 10) }
	for _, tc := range []struct {
		name, path string
		form       url.Values
		want       int
		wantMsg    string
	}{
		{"empty reply", conv(open) + "/reply", url.Values{"text": {"   "}}, 400, "empty text"},
		{"reply too long", conv(open) + "/reply", url.Values{"text": {strings.Repeat("x", crm.MaxTextBytes+1)}}, 400, "limit"},
		{"empty note", conv(open) + "/note", url.Values{"text": {""}}, 400, "empty text"},
		{"resolve without a reason", conv(open) + "/resolve", url.Values{"resolution": {""}}, 400, "resolution"},
		{"claim a resolved one", conv(done) + "/claim", url.Values{}, 409, "not waiting"},
		{"assign to nobody", conv(open) + "/assign", url.Values{"staff_id": {"x"}}, 400, "staff member"},
		{"assign to an unknown id", conv(open) + "/assign", url.Values{"staff_id": {"999"}}, 404, "no such"},
		{"assign to an analyst", conv(open) + "/assign", url.Values{"staff_id": {strconv.FormatInt(f.ana.ID, 10)}}, 400, "analyst"},
		{"unknown conversation", conv(999) + "/claim", url.Values{}, 404, "no such"},
		{"bad id", "/console/conversations/abc/claim", url.Values{}, 404, "no such"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.snapshot(open)
			for _, accept := range []string{"html", "json"} {
				form := url.Values{"csrf": {alice.csrf}}
				for k, v := range tc.form {
					form[k] = v
				}
				res := alice.do("POST", tc.path, accept, form, nil)
				if res.StatusCode != tc.want || !strings.Contains(res.body, tc.wantMsg) {
					t.Errorf("%s: status %d, want %d with %q\n%.600s", accept, res.StatusCode, tc.want, tc.wantMsg, res.body)
				}
			}
			if after := f.snapshot(open); after.Messages != before.Messages || after.Conv.State != before.Conv.State {
				t.Errorf("a refused action changed the conversation: %+v -> %+v", before.Conv, after.Conv)
			}
		})
	}
	// A body over the limit is refused before anything reads it all (a
	// form post's token is in that body: the CSRF check refuses it).
	t.Run("body too large", func(t *testing.T) {
		big := url.Values{"text": {strings.Repeat("<", 30<<10)}}
		res := alice.do("POST", conv(open)+"/note", "json", big, map[string]string{"X-CSRF-Token": alice.csrf})
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("with the token in the header: status %d, want 413\n%s", res.StatusCode, res.body)
		}
		big.Set("csrf", alice.csrf)
		if res := alice.do("POST", conv(open)+"/note", "html", big, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("with the token in the body: status %d, want 403", res.StatusCode)
		}
	})
}

// The conversation page: the transcript with what the models understood
// of each customer message, notes apart, the changes of hands, and the
// customer's profile.
func TestConversationPage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := f.say(message{visitor: "v-ann", name: "Ann Example", text: "my parcel never arrived, this is awful", intent: "order_status", confidence: 0.42, sentiment: "negative", score: -0.81})
	f.clock.Advance(time.Minute)
	f.say(message{visitor: "v-ann", text: "I want to talk to a human", intent: "human_agent", confidence: 0.93, sentiment: "neutral", score: -0.05, escalate: "customer asked for a person"})
	cust, _ := f.store.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDWebVisitor, Value: "v-ann"})
	if _, err := f.store.AddOrder(ctx, crm.Order{CustomerID: cust.ID, Item: "Trail shoes", Amount: 89.9, Currency: "EUR", Kind: crm.OrderPurchase, CreatedAt: t0.AddDate(0, -2, 0)}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.SaveSegments(ctx, []crm.SegmentAssignment{{CustomerID: cust.ID, Segment: "S2", Profile: "high value, frequent"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.SaveLeadScores(ctx, []crm.LeadScore{{CustomerID: cust.ID, Score: 0.72}}, t0); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(7 * time.Minute)
	if _, err := f.desk.Note(ctx, id, f.bob, "Check the courier first", "test"); err != nil {
		t.Fatal(err)
	}
	alice := f.signedIn(f.alice)
	page := alice.get("/console/conversations/" + strconv.FormatInt(id, 10) + "?view=all")
	if page.StatusCode != http.StatusOK {
		t.Fatalf("status %d\n%s", page.StatusCode, page.body)
	}
	for _, want := range []string{
		"my parcel never arrived, this is awful", // the messages, in order
		"order_status", "42%", "negative -0.81",  // intent, confidence, sentiment
		"human_agent", "93%",
		"A member of our support team will be with you shortly.",
		`class="msg msg-note"`, "Check the courier first", "Bob Baker", // the note, styled apart, with its author
		"Handed to a person: customer asked for a person",
		`class="wait wait-mid"`, ">7 min<", // waiting since the escalation
		"Ann Example", "v-ann", // the profile
		"high value, frequent", "S2", "72%",
		"Trail shoes", "89.90 EUR",
		"Claim", "Send reply", "Add note", "Resolve",
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the conversation page lacks %q", want)
		}
	}
	tr := page.body[strings.Index(page.body, `id="transcript"`):]
	if i, j := strings.Index(tr, "my parcel never arrived"), strings.Index(tr, "I want to talk to a human"); i < 0 || j < i {
		t.Errorf("messages out of order (at %d and %d)", i, j)
	}
	// The pane fragment is the header, transcript and profile alone.
	frag := alice.get("/console/conversations/" + strconv.FormatInt(id, 10) + "?fragment=pane")
	if !strings.Contains(frag.body, `id="transcript"`) || !strings.Contains(frag.body, `id="conv-head"`) || strings.Contains(frag.body, "<html") || strings.Contains(frag.body, `id="compose"`) || !strings.Contains(frag.body, `id="profile"`) {
		t.Errorf("the pane fragment is not just the header, transcript and profile:\n%s", frag.body)
	}
}

// Text that looks like markup (a customer's message and name, a staff
// note) is shown as text: no element of it reaches the page.
func TestHostileTextIsInert(t *testing.T) {
	f := newFixture(t)
	const hostile = `<img src=x onerror=alert(1)><script>alert(2)</script>`
	const name = `<b onmouseover=alert(3)>Eve</b>`
	id := f.say(message{visitor: "v-eve", name: name, text: hostile, intent: "human_agent", confidence: 0.9, sentiment: "neutral", escalate: "customer asked for a person"})
	if _, err := f.desk.Note(context.Background(), id, f.bob, `</textarea><script>alert(4)</script>`, "test"); err != nil {
		t.Fatal(err)
	}
	alice := f.signedIn(f.alice)
	for _, path := range []string{
		"/console",
		"/console/inbox?view=all",
		"/console/conversations/" + strconv.FormatInt(id, 10),
		"/console/conversations/" + strconv.FormatInt(id, 10) + "?fragment=pane",
	} {
		t.Run(path, func(t *testing.T) {
			body := alice.get(path).body
			for _, bad := range []string{"<img", "<script>alert", "<b ", "onerror=alert(1)>", "</textarea><script>"} {
				if strings.Contains(body, bad) {
					t.Errorf("the page contains the markup %q", bad)
				}
			}
			if !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;") {
				t.Errorf("the hostile message is not shown as escaped text:\n%s", body)
			}
		})
	}
}
