package console_test

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
)

// inboxFixture is a desk at t0+30 min with conversations in every state:
//
//	ann  escalated at +0,  unassigned, neutral      priority 30
//	ben  escalated at +10, Alice's, very negative   20 + 0.9×20 = 38
//	cat  escalated at +20, Bob's                    10
//	dan  escalated at +25, unassigned, VIP, lead .9  5 + 15 + 9 = 29
//	eve  escalated at +2, resolved by Alice
//	fay  the bot's alone
type inboxFixture struct {
	*fixture
	ann, ben, cat, dan, eve, fay int64
}

func newInboxFixture(t *testing.T) inboxFixture {
	f := inboxFixture{fixture: newFixture(t)}
	ctx := context.Background()
	at := func(min int) { f.clock.Set(t0.Add(time.Duration(min) * time.Minute)) }
	at(0)
	f.ann = f.escalated("v-ann", "Ann Example")
	at(2)
	f.eve = f.escalated("v-eve", "Eve Example")
	at(10)
	f.ben = f.say(message{visitor: "v-ben", name: "Ben Example", text: "This is the third time I write, I am furious", intent: "complaint", confidence: 0.8, sentiment: "negative", score: -0.9, escalate: "strongly negative"})
	at(20)
	f.cat = f.escalated("v-cat", "Cat Example")
	at(25)
	f.dan = f.escalated("v-dan", "Dan Example")
	f.fay = f.say(message{visitor: "v-fay", name: "Fay Example", text: "where is my order", intent: "order_status", confidence: 0.9, sentiment: "neutral"})
	dan, _ := f.store.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDWebVisitor, Value: "v-dan"})
	if err := f.store.SaveSegments(ctx, []crm.SegmentAssignment{{CustomerID: dan.ID, Segment: "S1", Profile: "high value, loyal"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.SaveLeadScores(ctx, []crm.LeadScore{{CustomerID: dan.ID, Score: 0.9}}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	at(28)
	for _, a := range []struct {
		id    int64
		staff crm.StaffUser
	}{{f.ben, f.alice}, {f.cat, f.bob}, {f.eve, f.alice}} {
		if _, err := f.desk.Claim(ctx, a.id, a.staff, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.desk.Resolve(ctx, f.eve, f.alice, "answered", "test"); err != nil {
		t.Fatal(err)
	}
	at(30)
	return f
}

func ids(xs ...int64) []string {
	var out []string
	for _, x := range xs {
		out = append(out, strconv.FormatInt(x, 10))
	}
	return out
}

// Each view lists its conversations, the open ones by priority.
func TestInboxViews(t *testing.T) {
	f := newInboxFixture(t)
	alice := f.signedIn(f.alice)
	for _, tc := range []struct {
		view string
		want []string
	}{
		{"", ids(f.ben, f.ann, f.dan, f.cat)}, // default: all open
		{"all", ids(f.ben, f.ann, f.dan, f.cat)},
		{"mine", ids(f.ben)},
		{"unassigned", ids(f.ann, f.dan)},
		{"resolved", ids(f.eve)},
		{"nonsense", ids(f.ben, f.ann, f.dan, f.cat)},
	} {
		t.Run("view="+tc.view, func(t *testing.T) {
			for _, path := range []string{"/console?view=" + tc.view, "/console/inbox?view=" + tc.view} {
				res := alice.get(path)
				if got := rowIDs(res.body); !slices.Equal(got, tc.want) {
					t.Errorf("%s: rows %v, want %v", path, got, tc.want)
				}
			}
		})
	}
	page := alice.get("/console").body
	for _, want := range []string{
		`Open <span class="count">4</span>`, `Mine <span class="count">1</span>`, `Unassigned <span class="count">2</span>`,
		`class="wait wait-high"`, ">30 min<", // Ann, waiting half an hour
		`class="wait wait-mid"`, ">5 min<", // Dan
		"customer asked for a person", "strongly negative", // reasons
		`class="chip chip-neg"`,            // Ben's last message was negative
		`class="tag tag-vip"`,              // Dan is high value
		"Bob Baker", ">You<", "Unassigned", // assignees
		"This is the third time I write, I am furious", // the preview
		`data-since="2026-03-02T09:00:00Z"`,            // for console.js's ticking badges
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the inbox lacks %q", want)
		}
	}
	// The resolved view says how it ended.
	if res := alice.get("/console?view=resolved").body; !strings.Contains(res, "answered") {
		t.Errorf("the resolved view does not show the resolution")
	}
	// The open conversation is marked in the list.
	page = alice.get("/console/conversations/" + strconv.FormatInt(f.dan, 10) + "?view=unassigned").body
	active := regexp.MustCompile(`class="row is-active" href="/console/conversations/(\d+)`).FindStringSubmatch(page)
	if active == nil || active[1] != ids(f.dan)[0] {
		t.Errorf("active row %v, want %d", active, f.dan)
	}
}

// Each agent's "mine" is their own.
func TestInboxMine(t *testing.T) {
	f := newInboxFixture(t)
	bob := f.signedIn(f.bob)
	if got := rowIDs(bob.get("/console?view=mine").body); !slices.Equal(got, ids(f.cat)) {
		t.Errorf("Bob's conversations %v, want %v", got, ids(f.cat))
	}
	root := f.signedIn(f.root)
	if got := rowIDs(root.get("/console?view=mine").body); len(got) != 0 {
		t.Errorf("the admin's conversations %v, want none", got)
	}
}
