package auth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
)

const alicePassword = "correct horse battery staple"

func TestPasswords(t *testing.T) {
	h, err := HashPassword(alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, alicePassword) {
		t.Errorf("hash %q: want an argon2id PHC string without the password", h)
	}
	if h2, _ := HashPassword(alicePassword); h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, tc := range []struct {
		name, hash, pw string
		ok             bool
		err            bool
	}{
		{"right", h, alicePassword, true, false},
		{"wrong", h, alicePassword + "!", false, false},
		{"empty", h, "", false, false},
		{"too long", h, strings.Repeat("a", MaxPasswordLen+1), false, false},
		{"not argon2id", "$2a$10$abcdefghijklmnopqrstuv", alicePassword, false, true},
		{"bad parameters", strings.Replace(h, "m=19456", "m=0", 1), alicePassword, false, true},
		{"huge memory", strings.Replace(h, "m=19456", "m=99999999", 1), alicePassword, false, true},
		{"truncated", h[:len(h)-20], alicePassword, false, false},
		{"garbage", "garbage", alicePassword, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := CheckPassword(tc.hash, tc.pw)
			if ok != tc.ok || (err != nil) != tc.err {
				t.Errorf("CheckPassword = %v, %v; want %v, error %v", ok, err, tc.ok, tc.err)
			}
		})
	}
	for _, pw := range []string{"short", strings.Repeat("x", MaxPasswordLen+1), "\xff\xfe invalid utf-8 bytes"} {
		if _, err := HashPassword(pw); !errors.Is(err, ErrWeakPassword) {
			t.Errorf("HashPassword(%.20q) = %v, want ErrWeakPassword", pw, err)
		}
	}
	if g := GeneratePassword(); CheckPasswordPolicy(g) != nil || g == GeneratePassword() {
		t.Errorf("generated password %q: want a valid, random one", g)
	}
}

// clock is a test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	auth  *Auth
	store *crmtest.Memory
	clock *clock
	logs  *bytes.Buffer
	alice crm.StaffUser // agent
	root  crm.StaffUser // admin
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	store := crmtest.NewMemory()
	t.Cleanup(func() { store.Close() })
	clk := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	logs := &bytes.Buffer{}
	a := New(store, Config{Now: clk.now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	mk := func(email string, role crm.Role) crm.StaffUser {
		h, err := HashPassword(alicePassword)
		if err != nil {
			t.Fatal(err)
		}
		u, err := store.CreateStaff(context.Background(), crm.StaffUser{Email: email, Name: email, Role: role, PasswordHash: h})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	return fixture{auth: a, store: store, clock: clk, logs: logs, alice: mk("alice@shop.example", crm.RoleAgent), root: mk("root@shop.example", crm.RoleAdmin)}
}

// login signs in and returns the response's session cookie.
func (f fixture) login(t *testing.T, email, pw, ip string, old *http.Cookie) (*http.Cookie, error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, LoginPath, nil)
	r.RemoteAddr = ip + ":40000"
	if old != nil {
		r.AddCookie(old)
	}
	w := httptest.NewRecorder()
	if _, err := f.auth.Login(w, r, email, pw); err != nil {
		return nil, err
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == SessionCookie {
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/", c)
			}
			return c, nil
		}
	}
	t.Fatal("login set no session cookie")
	return nil, nil
}

func TestLoginAndFixation(t *testing.T) {
	f := newFixture(t)
	first, err := f.login(t, "Alice@Shop.Example ", alicePassword, "10.0.0.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Signing in again with a session cookie set gives a new one, and
	// the old one no longer works.
	second, err := f.login(t, "alice@shop.example", alicePassword, "10.0.0.1", first)
	if err != nil {
		t.Fatal(err)
	}
	if second.Value == first.Value {
		t.Error("the session id did not change at login")
	}
	if _, ok := f.auth.Current(reqWith(first)); ok {
		t.Error("the session from before the login still works")
	}
	if p, ok := f.auth.Current(reqWith(second)); !ok || p.Staff.ID != f.alice.ID || p.CSRF == "" {
		t.Errorf("new session: %+v, %v; want Alice with a CSRF token", p, ok)
	}
	// The CRM keeps a hash of the token, never the token.
	if _, err := f.store.Session(context.Background(), second.Value, f.clock.now()); err == nil {
		t.Error("the raw session token is a key in the CRM")
	}
	for _, tc := range []struct{ email, pw string }{{"alice@shop.example", "wrong password!!"}, {"nobody@shop.example", alicePassword}} {
		if _, err := f.login(t, tc.email, tc.pw, "10.0.0.2", nil); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("login %s: %v, want ErrBadCredentials", tc.email, err)
		}
	}
	if strings.Contains(f.logs.String(), alicePassword) || strings.Contains(f.logs.String(), "wrong password!!") {
		t.Error("a password is in the log")
	}
	// Sessions expire.
	f.clock.add(13 * time.Hour)
	if _, ok := f.auth.Current(reqWith(second)); ok {
		t.Error("a session older than its TTL still works")
	}
}

func TestDisabledAccount(t *testing.T) {
	f := newFixture(t)
	c, err := f.login(t, "alice@shop.example", alicePassword, "10.0.0.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	u := f.alice
	u.Disabled = true
	if err := f.store.UpdateStaff(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.auth.Current(reqWith(c)); ok {
		t.Error("a disabled account's session still works")
	}
	if _, err := f.login(t, "alice@shop.example", alicePassword, "10.0.0.1", nil); !errors.Is(err, ErrDisabled) {
		t.Errorf("login of a disabled account: %v, want ErrDisabled", err)
	}
}

func TestThrottle(t *testing.T) {
	f := newFixture(t)
	attacker := "203.0.113.9"
	var waits []time.Duration
	for i := range 20 {
		_, err := f.login(t, "alice@shop.example", "guess number "+string(rune('a'+i)), attacker, nil)
		var th *ThrottledError
		if errors.As(err, &th) {
			waits = append(waits, th.RetryAfter)
			f.clock.add(th.RetryAfter) // a patient attacker waits it out
			continue
		}
		if !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if len(waits) == 0 || waits[len(waits)-1] <= waits[0] || waits[len(waits)-1] > maxThrottle {
		t.Errorf("waits imposed over 20 wrong passwords: %v, want growing, capped at %v", waits, maxThrottle)
	}
	// The right password is also refused while throttled (no oracle).
	if _, err := f.login(t, "alice@shop.example", "guess again ....", attacker, nil); err == nil {
		t.Fatal("wrong password accepted")
	}
	var th *ThrottledError
	if _, err := f.login(t, "alice@shop.example", alicePassword, attacker, nil); !errors.As(err, &th) {
		t.Errorf("right password from the throttled address: %v, want throttled", err)
	}
	// Nobody else is locked out: Alice from her own address, and other
	// users from the attacker's.
	if _, err := f.login(t, "alice@shop.example", alicePassword, "10.1.1.1", nil); err != nil {
		t.Errorf("Alice from another address: %v", err)
	}
	if _, err := f.login(t, "root@shop.example", alicePassword, attacker, nil); err != nil {
		t.Errorf("another user from the attacker's address: %v", err)
	}
	// Failures are forgotten after a quiet spell.
	f.clock.add(forgetAfter + time.Minute)
	if _, err := f.login(t, "alice@shop.example", alicePassword, attacker, nil); err != nil {
		t.Errorf("after a quiet spell: %v", err)
	}
}

func reqWith(c *http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/console", nil)
	if c != nil {
		r.AddCookie(c)
	}
	return r
}

func TestRequire(t *testing.T) {
	f := newFixture(t)
	agent, err := f.login(t, "alice@shop.example", alicePassword, "10.0.0.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := f.login(t, "root@shop.example", alicePassword, "10.0.0.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	csrf := func(c *http.Cookie) string { p, _ := f.auth.Current(reqWith(c)); return p.CSRF }
	var called int
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called++
		if p, found := From(r.Context()); !found || p.Staff.ID == 0 {
			t.Error("handler without a principal")
		}
	})
	inbox := f.auth.Require(crm.RoleAgent)(ok)
	users := f.auth.Require()(ok) // admins only
	for _, tc := range []struct {
		name     string
		h        http.Handler
		method   string
		path     string
		accept   string
		cookie   *http.Cookie
		form     url.Values
		header   string
		status   int
		location string
	}{
		{"page without session", inbox, "GET", "/console?view=mine", "text/html", nil, nil, "", 303, "/console/login?next=%2Fconsole%3Fview%3Dmine"},
		{"API without session", inbox, "GET", "/console/api/canned", "application/json", nil, nil, "", 401, ""},
		{"POST without session", inbox, "POST", "/console/conversations/1/claim", "text/html", nil, nil, "", 401, ""},
		{"forged cookie", inbox, "GET", "/console", "application/json", &http.Cookie{Name: SessionCookie, Value: "forged"}, nil, "", 401, ""},
		{"agent on the inbox", inbox, "GET", "/console", "text/html", agent, nil, "", 200, ""},
		{"agent on admin", users, "GET", "/console/admin/users", "text/html", agent, nil, "", 403, ""},
		{"admin on admin", users, "GET", "/console/admin/users", "text/html", admin, nil, "", 200, ""},
		{"admin on the inbox", inbox, "GET", "/console", "text/html", admin, nil, "", 200, ""},
		{"POST without CSRF", inbox, "POST", "/console/conversations/1/claim", "text/html", agent, url.Values{}, "", 403, ""},
		{"POST with a wrong CSRF", inbox, "POST", "/console/conversations/1/claim", "text/html", agent, url.Values{CSRFField: {"nope"}}, "", 403, ""},
		{"POST with another session's CSRF", inbox, "POST", "/console/conversations/1/claim", "text/html", agent, url.Values{CSRFField: {csrf(admin)}}, "", 403, ""},
		{"POST with the form token", inbox, "POST", "/console/conversations/1/claim", "text/html", agent, url.Values{CSRFField: {csrf(agent)}}, "", 200, ""},
		{"POST with the header token", inbox, "POST", "/console/conversations/1/claim", "application/json", agent, nil, csrf(agent), 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called = 0
			var body *strings.Reader
			if tc.form != nil {
				body = strings.NewReader(tc.form.Encode())
			} else {
				body = strings.NewReader("")
			}
			r := httptest.NewRequest(tc.method, tc.path, body)
			if tc.form != nil {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			r.Header.Set("Accept", tc.accept)
			if tc.header != "" {
				r.Header.Set(CSRFHeader, tc.header)
			}
			if tc.cookie != nil {
				r.AddCookie(tc.cookie)
			}
			w := httptest.NewRecorder()
			tc.h.ServeHTTP(w, r)
			if w.Code != tc.status || w.Header().Get("Location") != tc.location {
				t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, w.Code, w.Header().Get("Location"), tc.status, tc.location)
			}
			if want := btoi(tc.status == 200); called != want {
				t.Errorf("handler called %d times, want %d", called, want)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestLogoutAndLoginToken(t *testing.T) {
	f := newFixture(t)
	c, err := f.login(t, "alice@shop.example", alicePassword, "10.0.0.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	if err := f.auth.Logout(w, reqWith(c)); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.auth.Current(reqWith(c)); ok {
		t.Error("the session works after logout")
	}
	// The login form's token: set as a cookie, checked against the form.
	w = httptest.NewRecorder()
	tok := f.auth.LoginToken(w, httptest.NewRequest("GET", LoginPath, nil))
	cookies := w.Result().Cookies()
	if tok == "" || len(cookies) != 1 {
		t.Fatalf("login token %q, cookies %v", tok, cookies)
	}
	for _, tc := range []struct {
		name   string
		cookie bool
		value  string
		ok     bool
	}{{"matching", true, tok, true}, {"no cookie", false, tok, false}, {"wrong value", true, "x" + tok, false}, {"empty", true, "", false}} {
		r := httptest.NewRequest("POST", LoginPath, strings.NewReader(url.Values{CSRFField: {tc.value}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.cookie {
			r.AddCookie(cookies[0])
		}
		if got := f.auth.CheckLoginToken(r); got != tc.ok {
			t.Errorf("%s: CheckLoginToken = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

// Behind a proxy every request comes from its address: with ClientAddr
// the throttle counts each client apart, so one attacker does not lock
// out the office behind the same proxy.
func TestThrottleByClientAddr(t *testing.T) {
	f := newFixture(t)
	f.auth.cfg.ClientAddr = func(r *http.Request) string { return r.Header.Get("X-Test-Client") }
	try := func(client, pw string) error {
		r := httptest.NewRequest(http.MethodPost, LoginPath, nil)
		r.RemoteAddr = "10.0.0.1:40000" // the proxy
		r.Header.Set("X-Test-Client", client)
		_, err := f.auth.Login(httptest.NewRecorder(), r, "alice@shop.example", pw)
		return err
	}
	var th *ThrottledError
	for i := 0; i < 10 && !errors.As(try("203.0.113.9", "wrong password"), &th); i++ {
	}
	if th == nil {
		t.Fatal("ten wrong passwords from one client were never throttled")
	}
	if err := try("198.51.100.7", alicePassword); err != nil {
		t.Errorf("Alice from another client behind the same proxy: %v", err)
	}
}
