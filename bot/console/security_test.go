package console_test

import (
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/parley-chat/parley/crm"
)

// Every console route without a session: a browser asking for a page is
// sent to the login form (and back afterwards); anything else gets 401.
// A session cookie the server never issued counts as none. Nothing in
// the CRM changes.
func TestUnauthenticated(t *testing.T) {
	f := newFixture(t)
	id := f.escalated("v-ann", "Ann Example")
	c := strconv.FormatInt(id, 10)
	before := f.snapshot(id)
	for _, cookie := range []string{"", "forged-session-token-that-the-server-never-issued"} {
		for _, tc := range []struct {
			method, path, accept string
			want                 int
		}{
			{"GET", "/console", "html", http.StatusSeeOther},
			{"GET", "/console/", "html", http.StatusSeeOther},
			{"GET", "/console?view=mine", "html", http.StatusSeeOther},
			{"GET", "/console/inbox?view=all&fragment=1", "html", http.StatusSeeOther},
			{"GET", "/console/conversations/" + c, "html", http.StatusSeeOther},
			{"GET", "/console/conversations/" + c + "?fragment=pane", "html", http.StatusSeeOther},
			{"GET", "/console/admin/users", "html", http.StatusSeeOther},
			// The API answers JSON, even to a browser.
			{"GET", "/console/api/canned?q=shipping", "html", http.StatusUnauthorized},
			{"GET", "/console/api/canned?q=shipping", "json", http.StatusUnauthorized},
			{"GET", "/console/events", "text/event-stream", http.StatusUnauthorized},
			{"GET", "/console/inbox", "json", http.StatusUnauthorized},
			{"GET", "/console/conversations/" + c, "json", http.StatusUnauthorized},
			{"POST", "/console/conversations/" + c + "/claim", "html", http.StatusUnauthorized},
			{"POST", "/console/conversations/" + c + "/assign", "html", http.StatusUnauthorized},
			{"POST", "/console/conversations/" + c + "/reply", "json", http.StatusUnauthorized},
			{"POST", "/console/conversations/" + c + "/note", "json", http.StatusUnauthorized},
			{"POST", "/console/conversations/" + c + "/resolve", "html", http.StatusUnauthorized},
			{"POST", "/console/logout", "html", http.StatusUnauthorized},
			{"POST", "/console/admin/users", "html", http.StatusUnauthorized},
		} {
			name := tc.method + " " + tc.path + " (" + tc.accept + ")"
			if cookie != "" {
				name += " with a forged cookie"
			}
			t.Run(name, func(t *testing.T) {
				cl := f.client()
				header := map[string]string{}
				if cookie != "" {
					header["Cookie"] = "parley_session=" + cookie
				}
				var form url.Values
				if tc.method == "POST" {
					form = url.Values{"text": {"hello"}, "resolution": {"done"}, "staff_id": {strconv.FormatInt(f.bob.ID, 10)},
						"action": {"create"}, "email": {"eve@evil.example"}, "role": {"admin"}}
				}
				res := cl.do(tc.method, tc.path, tc.accept, form, header)
				if res.StatusCode != tc.want {
					t.Fatalf("status %d, want %d\n%s", res.StatusCode, tc.want, res.body)
				}
				if tc.want == http.StatusSeeOther {
					want := "/console/login?next=" + url.QueryEscape(tc.path)
					if loc := res.Header.Get("Location"); loc != want {
						t.Errorf("Location %q, want %q", loc, want)
					}
				}
				if tc.accept != "html" && !strings.Contains(res.body, `"error"`) {
					t.Errorf("body %q, want a JSON error", res.body)
				}
			})
		}
	}
	if after := f.snapshot(id); !reflect.DeepEqual(after, before) {
		t.Errorf("unauthenticated requests changed the CRM:\nbefore %+v\nafter  %+v", before, after)
	}
}

// Roles: an agent cannot reach the admin routes, an analyst not the
// inbox; an admin reaches everything.
func TestRoles(t *testing.T) {
	f := newFixture(t)
	id := f.escalated("v-ann", "Ann Example")
	c := strconv.FormatInt(id, 10)
	agent, analyst, admin := f.signedIn(f.alice), f.signedIn(f.ana), f.signedIn(f.root)
	before := f.snapshot(id)
	for _, tc := range []struct {
		who    string
		cl     *client
		method string
		path   string
		want   int
	}{
		{"agent", agent, "GET", "/console/admin/users", http.StatusForbidden},
		{"agent", agent, "POST", "/console/admin/users", http.StatusForbidden},
		{"agent", agent, "GET", "/console", http.StatusOK},
		{"agent", agent, "GET", "/console/conversations/" + c, http.StatusOK},
		{"analyst", analyst, "GET", "/console", http.StatusForbidden},
		{"analyst", analyst, "GET", "/console/conversations/" + c, http.StatusForbidden},
		{"analyst", analyst, "POST", "/console/conversations/" + c + "/claim", http.StatusForbidden},
		{"analyst", analyst, "GET", "/console/events", http.StatusForbidden},
		{"admin", admin, "GET", "/console/admin/users", http.StatusOK},
		{"admin", admin, "GET", "/console", http.StatusOK},
		{"admin", admin, "GET", "/console/conversations/" + c, http.StatusOK},
	} {
		t.Run(tc.who+" "+tc.method+" "+tc.path, func(t *testing.T) {
			var res response
			if tc.method == "POST" {
				res = tc.cl.post(tc.path, url.Values{"action": {"create"}, "email": {"eve@evil.example"}, "role": {"admin"}})
			} else {
				res = tc.cl.get(tc.path)
			}
			if res.StatusCode != tc.want {
				t.Errorf("status %d, want %d\n%s", res.StatusCode, tc.want, res.body)
			}
		})
	}
	if after := f.snapshot(id); !reflect.DeepEqual(after, before) {
		t.Errorf("forbidden requests changed the CRM:\nbefore %+v\nafter  %+v", before, after)
	}
}

// Every state-changing request without the session's CSRF token, or
// with a wrong one (in the form or the header), is refused with 403 and
// changes nothing; with it, it works.
func TestCSRF(t *testing.T) {
	f := newFixture(t)
	id := f.escalated("v-ann", "Ann Example")
	c := "/console/conversations/" + strconv.FormatInt(id, 10)
	agent, admin := f.signedIn(f.alice), f.signedIn(f.root)
	posts := []struct {
		name string
		cl   *client
		path string
		form url.Values
	}{
		{"claim", agent, c + "/claim", url.Values{}},
		{"assign", agent, c + "/assign", url.Values{"staff_id": {strconv.FormatInt(f.bob.ID, 10)}}},
		{"reply", agent, c + "/reply", url.Values{"text": {"Hello from a forged form"}}},
		{"note", agent, c + "/note", url.Values{"text": {"forged note"}}},
		{"resolve", agent, c + "/resolve", url.Values{"resolution": {"forged"}}},
		{"create user", admin, "/console/admin/users", url.Values{"action": {"create"}, "email": {"eve@evil.example"}, "role": {"admin"}}},
		{"disable user", admin, "/console/admin/users", url.Values{"action": {"disable"}, "id": {strconv.FormatInt(f.bob.ID, 10)}}},
		{"logout", agent, "/console/logout", url.Values{}},
	}
	before := f.snapshot(id)
	for _, p := range posts {
		for _, bad := range []struct {
			name   string
			field  string
			header string
		}{
			{name: "no token"},
			{name: "wrong token in the form", field: "not-the-token"},
			{name: "wrong token in the header", header: "not-the-token"},
			{name: "the other session's token", field: otherToken(p.cl, agent, admin)},
		} {
			t.Run(p.name+"/"+bad.name, func(t *testing.T) {
				form := url.Values{}
				for k, v := range p.form {
					form[k] = v
				}
				if bad.field != "" {
					form.Set("csrf", bad.field)
				}
				header := map[string]string{}
				if bad.header != "" {
					header["X-CSRF-Token"] = bad.header
				}
				res := p.cl.do("POST", p.path, "html", form, header)
				if res.StatusCode != http.StatusForbidden {
					t.Errorf("status %d, want 403\n%s", res.StatusCode, res.body)
				}
			})
		}
	}
	if after := f.snapshot(id); !reflect.DeepEqual(after, before) {
		t.Fatalf("requests without a valid CSRF token changed the CRM:\nbefore %+v\nafter  %+v", before, after)
	}
	// The sessions survived the forged sign-outs.
	if res := agent.get("/console"); res.StatusCode != http.StatusOK {
		t.Fatalf("after a forged sign-out the inbox answers %d, want 200", res.StatusCode)
	}
	// With the token every one works (the form's field or the header).
	for i, p := range posts {
		t.Run(p.name+"/valid token", func(t *testing.T) {
			var res response
			if i%2 == 0 {
				res = p.cl.post(p.path, p.form)
			} else {
				res = p.cl.do("POST", p.path, "json", p.form, map[string]string{"X-CSRF-Token": p.cl.csrf})
			}
			if res.StatusCode >= 400 {
				t.Errorf("status %d, want success\n%s", res.StatusCode, res.body)
			}
		})
	}
	after := f.snapshot(id)
	if after.Conv.State != crm.StateResolved || after.Messages != before.Messages+2 || len(after.Staff) != len(before.Staff)+1 {
		t.Errorf("after the valid requests: state %s, %d messages, %d staff; want resolved, %d, %d",
			after.Conv.State, after.Messages, len(after.Staff), before.Messages+2, len(before.Staff)+1)
	}
}

func otherToken(cl, a, b *client) string {
	if cl == a {
		return b.csrf
	}
	return a.csrf
}

// A session id planted in the browser before signing in is not the one
// the browser has after it, and never signs anyone in.
func TestSessionFixation(t *testing.T) {
	f := newFixture(t)
	const planted = "planted-by-an-attacker-0123456789abcdef"
	cl := f.client()
	u, _ := url.Parse(f.url)
	cl.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "parley_session", Value: planted, Path: "/"}})
	res := cl.login(f.alice.Email, password, "")
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: status %d, want 303", res.StatusCode)
	}
	got := cl.cookie("parley_session")
	if got == "" || got == planted {
		t.Fatalf("session cookie after sign-in = %q, want a new value (planted %q)", got, planted)
	}
	if r := cl.get("/console"); r.StatusCode != http.StatusOK {
		t.Errorf("inbox with the new session: status %d, want 200", r.StatusCode)
	}
	attacker := f.client()
	if r := attacker.do("GET", "/console", "html", nil, map[string]string{"Cookie": "parley_session=" + planted}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("inbox with the planted cookie: status %d, want 303 to the login page", r.StatusCode)
	}
	// Signing in again replaces the session: the old cookie dies.
	old := got
	res = cl.login(f.alice.Email, password, "")
	res.Body.Close()
	if again := cl.cookie("parley_session"); again == old {
		t.Errorf("a second sign-in kept session %q", old)
	}
	if r := attacker.do("GET", "/console", "html", nil, map[string]string{"Cookie": "parley_session=" + old}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("inbox with the replaced session: status %d, want 303", r.StatusCode)
	}
}

// Signing out ends the session on the server: the old cookie is sent to
// the login page.
func TestLogout(t *testing.T) {
	f := newFixture(t)
	cl := f.signedIn(f.alice)
	old := cl.cookie("parley_session")
	res := cl.post("/console/logout", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/login" {
		t.Fatalf("sign out: status %d to %q, want 303 to /console/login", res.StatusCode, res.Header.Get("Location"))
	}
	if cl.cookie("parley_session") != "" {
		t.Errorf("the session cookie is still set after signing out")
	}
	replay := f.client()
	if r := replay.do("GET", "/console", "html", nil, map[string]string{"Cookie": "parley_session=" + old}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("inbox with the signed-out cookie: status %d, want 303", r.StatusCode)
	}
	if r := replay.do("GET", "/console/api/canned?q=x", "json", nil, map[string]string{"Cookie": "parley_session=" + old}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("API with the signed-out cookie: status %d, want 401", r.StatusCode)
	}
}

func TestLogin(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, email, pw, next string
		want                  int
		wantLoc               string
	}{
		{name: "ok", email: f.alice.Email, pw: password, want: 303, wantLoc: "/console"},
		{name: "email case and spaces", email: "  ALICE@shop.example ", pw: password, want: 303, wantLoc: "/console"},
		{name: "next", email: f.alice.Email, pw: password, next: "/console/conversations/7?view=mine", want: 303, wantLoc: "/console/conversations/7?view=mine"},
		{name: "next elsewhere", email: f.alice.Email, pw: password, next: "https://evil.example/console", want: 303, wantLoc: "/console"},
		{name: "next protocol-relative", email: f.alice.Email, pw: password, next: "//evil.example/console", want: 303, wantLoc: "/console"},
		{name: "next backslash", email: f.alice.Email, pw: password, next: "/\\evil.example", want: 303, wantLoc: "/console"},
		{name: "next outside the console", email: f.alice.Email, pw: password, next: "/api/v1/messages", want: 303, wantLoc: "/console"},
		{name: "next dot-dot", email: f.alice.Email, pw: password, next: "/console/../api", want: 303, wantLoc: "/console"},
		{name: "wrong password", email: f.bob.Email, pw: "not the password", want: 401},
		{name: "unknown email", email: "nobody@shop.example", pw: password, want: 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.client().login(tc.email, tc.pw, tc.next)
			body := readBody(res)
			if res.StatusCode != tc.want {
				t.Fatalf("status %d, want %d\n%s", res.StatusCode, tc.want, body)
			}
			if loc := res.Header.Get("Location"); tc.wantLoc != "" && loc != tc.wantLoc {
				t.Errorf("Location %q, want %q", loc, tc.wantLoc)
			}
			if tc.want == 401 && !strings.Contains(body, "Wrong email or password") {
				t.Errorf("the form does not say what went wrong:\n%s", body)
			}
		})
	}
	t.Run("without the form's token", func(t *testing.T) {
		cl := f.client()
		res := cl.do("POST", "/console/login", "html", url.Values{"email": {f.alice.Email}, "password": {password}, "csrf": {"guessed"}}, nil)
		if res.StatusCode != http.StatusForbidden || cl.cookie("parley_session") != "" {
			t.Errorf("status %d, session %q; want 403 and no session", res.StatusCode, cl.cookie("parley_session"))
		}
	})
	t.Run("throttled", func(t *testing.T) {
		cl := f.client()
		var res *http.Response
		for range 6 {
			res = cl.login(f.bob.Email, "wrong password!", "")
			res.Body.Close()
		}
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Errorf("sixth failure: status %d, Retry-After %q; want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
		}
		// Even the right password waits now.
		res = cl.login(f.bob.Email, password, "")
		res.Body.Close()
		if res.StatusCode != http.StatusTooManyRequests {
			t.Errorf("right password while throttled: status %d, want 429", res.StatusCode)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		u := f.ana
		u.Disabled, u.PasswordHash = true, ""
		if err := f.store.UpdateStaff(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		res := f.client().login(u.Email, password, "")
		if body := readBody(res); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "disabled") {
			t.Errorf("status %d, want 403 saying the account is disabled\n%s", res.StatusCode, body)
		}
	})
}

// Every console response carries the security headers; pages are never
// cached, static files for a year at their versioned URL.
func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	id := f.escalated("v-ann", "Ann Example")
	agent := f.signedIn(f.alice)
	anon := f.client()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
	}
	js := agent.get("/console")
	src := regexp1(t, js.body, `src="(/console/static/console\.js\?v=[0-9a-f]+)"`)
	for _, tc := range []struct {
		name  string
		cl    *client
		path  string
		cache string
	}{
		{"login page", anon, "/console/login", "no-store"},
		{"redirect to login", anon, "/console", "no-store"},
		{"inbox", agent, "/console", "no-store"},
		{"conversation", agent, "/console/conversations/" + strconv.FormatInt(id, 10), "no-store"},
		{"API", agent, "/console/api/canned?q=shipping", "no-store"},
		{"forbidden", agent, "/console/admin/users", "no-store"},
		{"versioned script", anon, src, "public, max-age=31536000, immutable"},
		{"unversioned style", anon, "/console/static/console.css", "no-cache"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.cl.get(tc.path)
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if got := res.Header.Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
		})
	}
	// No inline script, style or handler anywhere in the pages: the CSP
	// would block them, so they must not be needed.
	for _, path := range []string{"/console", "/console/conversations/" + strconv.FormatInt(id, 10), "/console/login"} {
		body := agent.get(path).body
		if path == "/console/login" {
			body = anon.get(path).body
		}
		for _, bad := range []string{"<script>", " style=", " onclick=", " onload=", " onsubmit=", "javascript:", "<style"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q", path, bad)
			}
		}
	}
}

func regexp1(t *testing.T, s, expr string) string {
	t.Helper()
	m := regexp.MustCompile(expr).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in\n%s", expr, s)
	}
	return m[1]
}
