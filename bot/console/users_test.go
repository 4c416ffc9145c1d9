package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/parley-chat/parley/crm"
)

var newPassword = regexp.MustCompile(`<code id="new-password">([^<]+)</code>`)

// An admin adds an account with a generated password shown once, and
// disables and enables accounts; a disabled account's session stops
// working at once.
func TestAdminUsers(t *testing.T) {
	f := newFixture(t)
	root := f.signedIn(f.root)
	res := root.post("/console/admin/users", url.Values{"action": {"create"}, "email": {"Carol@Shop.example"}, "name": {"Carol Clerk"}, "role": {"agent"}})
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create: status %d\n%s", res.StatusCode, res.body)
	}
	m := newPassword.FindStringSubmatch(res.body)
	if m == nil || len(m[1]) < 20 {
		t.Fatalf("the new password is not shown:\n%s", res.body)
	}
	pw := m[1]
	if strings.Contains(root.get("/console/admin/users").body, pw) {
		t.Error("the password is shown again on the next visit")
	}
	carol, err := f.store.StaffByEmail(context.Background(), "carol@shop.example")
	if err != nil || carol.Role != crm.RoleAgent || carol.Name != "Carol Clerk" || carol.PasswordHash == "" || strings.Contains(carol.PasswordHash, pw) {
		t.Fatalf("stored account %+v (%v), want an agent with a hashed password", carol, err)
	}
	cl := f.client()
	login := cl.login("carol@shop.example", pw, "")
	login.Body.Close()
	if login.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in with the generated password: status %d", login.StatusCode)
	}
	if r := cl.get("/console"); r.StatusCode != http.StatusOK {
		t.Fatalf("Carol's inbox: status %d", r.StatusCode)
	}

	id := strconv.FormatInt(carol.ID, 10)
	if r := root.post("/console/admin/users", url.Values{"action": {"disable"}, "id": {id}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: status %d\n%s", r.StatusCode, r.body)
	}
	if r := cl.get("/console"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("a disabled account's session: status %d, want 303 to the login page", r.StatusCode)
	}
	if r := root.post("/console/admin/users", url.Values{"action": {"enable"}, "id": {id}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("enable: status %d", r.StatusCode)
	}
	if u, _ := f.store.Staff(context.Background(), carol.ID); u.Disabled || u.PasswordHash != carol.PasswordHash {
		t.Errorf("after enabling: %+v, want enabled with the same password hash", u)
	}

	for _, tc := range []struct {
		name string
		form url.Values
		want int
		msg  string
	}{
		{"duplicate email", url.Values{"action": {"create"}, "email": {"carol@shop.example"}, "role": {"agent"}}, http.StatusConflict, "exists already"},
		{"bad email", url.Values{"action": {"create"}, "email": {"not an email"}, "role": {"agent"}}, http.StatusBadRequest, "valid email"},
		{"bad role", url.Values{"action": {"create"}, "email": {"dave@shop.example"}, "role": {"root"}}, http.StatusBadRequest, "Choose a role"},
		{"disable yourself", url.Values{"action": {"disable"}, "id": {strconv.FormatInt(f.root.ID, 10)}}, http.StatusBadRequest, "your own account"},
		{"disable nobody", url.Values{"action": {"disable"}, "id": {"999"}}, http.StatusNotFound, "no such"},
		{"unknown action", url.Values{"action": {"promote"}}, http.StatusBadRequest, "Unknown action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := f.store.ListStaff(context.Background())
			r := root.post("/console/admin/users", tc.form)
			if r.StatusCode != tc.want || !strings.Contains(r.body, tc.msg) {
				t.Errorf("status %d, want %d with %q\n%.500s", r.StatusCode, tc.want, tc.msg, r.body)
			}
			if after, _ := f.store.ListStaff(context.Background()); len(after) != len(before) {
				t.Errorf("%d accounts after a refused change, want %d", len(after), len(before))
			}
		})
	}
	if me, _ := f.store.Staff(context.Background(), f.root.ID); me.Disabled {
		t.Error("the admin disabled their own account")
	}
}

// Canned responses come from the knowledge base as you type, in the API
// and (without JavaScript) on the conversation page.
func TestCanned(t *testing.T) {
	f := newFixture(t)
	id := f.escalated("v-ann", "Ann Example")
	alice := f.signedIn(f.alice)
	for _, tc := range []struct {
		q      string
		wantID string
	}{
		{"how much is shipping", "shipping-costs"},
		{"shipping", "shipping-costs"},
		{"", ""},
		{strings.Repeat("refund ", 100), "refund-"}, // cut to the query limit, not refused
		{"\xff\xfe when do I get my refund", "refund-timing"},
	} {
		t.Run(tc.q[:min(len(tc.q), 20)], func(t *testing.T) {
			res := alice.do("GET", "/console/api/canned?q="+url.QueryEscape(tc.q), "json", nil, nil)
			var out struct {
				Hits []struct{ ID, Title, Answer string } `json:"hits"`
			}
			decodeJSON(t, res.body, &out)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if tc.wantID == "" {
				if len(out.Hits) != 0 {
					t.Errorf("hits %+v, want none", out.Hits)
				}
				return
			}
			if len(out.Hits) == 0 || out.Hits[0].Answer == "" || len(out.Hits) > 5 {
				t.Fatalf("hits %+v, want 1 to 5 with answers", out.Hits)
			}
			found := false
			for _, h := range out.Hits {
				found = found || strings.Contains(h.ID, tc.wantID)
			}
			if !found {
				t.Errorf("hits %+v, want article %q", out.Hits, tc.wantID)
			}
		})
	}
	page := alice.get("/console/conversations/" + strconv.FormatInt(id, 10) + "?canned=shipping").body
	if !strings.Contains(page, `class="canned-hit"`) || !strings.Contains(page, "Shipping costs") {
		t.Errorf("the page without JavaScript shows no canned responses")
	}
}
