package console_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/console"
	"github.com/parley-chat/parley/bot/console/auth"
	"github.com/parley-chat/parley/bot/handoff"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
	"github.com/parley-chat/parley/knowledge"
	"github.com/parley-chat/parley/nlp"
)

// t0 is the fixtures' clock start: every time the tests see is known.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const password = "correct horse battery staple"

// passwordHash is hashed once for the package: argon2id takes ~30 ms a
// hash, and every fixture's staff share the password.
var passwordHash = sync.OnceValues(func() (string, error) { return auth.HashPassword(password) })

// deliveries records what the desk hands the web chat channel.
type deliveries struct {
	mu      sync.Mutex
	replies []crm.Message
	states  []crm.State
}

func (d *deliveries) Deliver(_ context.Context, _ crm.Conversation, m crm.Message, _ crm.StaffUser) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.replies = append(d.replies, m)
	return nil
}

func (d *deliveries) StateChanged(_ context.Context, c crm.Conversation) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.states = append(d.states, c.State)
}

func (d *deliveries) sent() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, m := range d.replies {
		out = append(out, m.Text)
	}
	return out
}

// kbSearcher adapts the bot's knowledge base to console.Searcher, as
// serve does.
type kbSearcher struct{ kb *bot.KB }

func (k kbSearcher) Search(q string, n int) []knowledge.Hit {
	doc, err := nlp.Parse(q)
	if err != nil {
		return nil
	}
	return k.kb.Search(doc, n, nil)
}

var builtinKB = sync.OnceValues(func() (*bot.KB, error) {
	b, err := knowledge.Builtin()
	if err != nil {
		return nil, err
	}
	return bot.NewKnowledge(b, nil)
})

// fixture is a console on an in-memory CRM, a real desk and real
// authentication, served over HTTP.
type fixture struct {
	t       testing.TB
	clock   *crmtest.Clock
	store   crm.Store
	desk    *handoff.Desk
	console *console.Server
	url     string
	web     *deliveries
	// Staff: two agents, an analyst and an admin, all with password.
	alice, bob, ana, root crm.StaffUser
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureOn(t, func(clock *crmtest.Clock) crm.Store { return crmtest.NewMemory(crmtest.WithClock(clock.Now)) })
}

// newFixtureOn is newFixture on the store open makes.
func newFixtureOn(t testing.TB, open func(*crmtest.Clock) crm.Store, with ...func(*console.Deps)) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, clock: crmtest.NewClock(t0), web: &deliveries{}}
	f.store = open(f.clock)
	t.Cleanup(func() { f.store.Close() })
	hash, err := passwordHash()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		dst               *crm.StaffUser
		email, name, role string
	}{
		{&f.alice, "alice@shop.example", "Alice Archer", "agent"},
		{&f.bob, "bob@shop.example", "Bob Baker", "agent"},
		{&f.ana, "ana@shop.example", "Ana Lyst", "analyst"},
		{&f.root, "root@shop.example", "Rita Root", "admin"},
	} {
		u, err := f.store.CreateStaff(ctx, crm.StaffUser{Email: s.email, Name: s.name, Role: crm.Role(s.role), PasswordHash: hash})
		if err != nil {
			t.Fatal(err)
		}
		*s.dst = u
	}
	quiet := slog.New(slog.DiscardHandler)
	f.desk = handoff.New(f.store, quiet)
	f.desk.Route(crm.ChannelWeb, f.web)
	kb, err := builtinKB()
	if err != nil {
		t.Fatal(err)
	}
	a := auth.New(f.store, auth.Config{Now: f.clock.Now, Logger: quiet})
	deps := console.Deps{Store: f.store, Desk: f.desk, Auth: a, KB: kbSearcher{kb}, Now: f.clock.Now, Logger: quiet}
	for _, w := range with {
		w(&deps)
	}
	f.console = console.New(deps)
	f.desk.Observe(f.console.Observe)
	srv := httptest.NewServer(f.console.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(f.console.Close) // runs first: streams end before the server closes
	f.url = srv.URL
	return f
}

// customer logs a customer's message, escalating it when reason is set;
// it returns the conversation id.
type message struct {
	visitor, name, text string
	intent              string
	confidence          float64
	sentiment           string
	score               float64
	escalate            string
}

func (f *fixture) say(m message) int64 {
	f.t.Helper()
	in := crm.Interaction{
		Channel: crm.ChannelWeb, Customer: crm.ExternalID{Kind: crm.IDWebVisitor, Value: m.visitor}, CustomerName: m.name,
		ConversationRef: m.visitor,
		Message: crm.Message{Direction: crm.FromCustomer, Text: m.text, Intent: m.intent, Confidence: m.confidence,
			Sentiment: m.sentiment, SentimentScore: m.score, Action: "escalate"},
		Escalate: m.escalate,
	}
	if m.escalate != "" {
		in.Replies = []crm.Message{{Direction: crm.FromBot, Text: "A member of our support team will be with you shortly."}}
	}
	l, err := f.store.LogInteraction(context.Background(), in)
	if err != nil {
		f.t.Fatalf("log %q: %v", m.text, err)
	}
	if m.escalate != "" {
		f.desk.Escalated(context.Background(), l.ConversationID, m.escalate)
	}
	return l.ConversationID
}

// escalated starts an escalated conversation with a default message.
func (f *fixture) escalated(visitor, name string) int64 {
	f.t.Helper()
	return f.say(message{visitor: visitor, name: name, text: "I want to talk to a human", intent: "human_agent", confidence: 0.93, sentiment: "neutral", escalate: "customer asked for a person"})
}

// client is one browser: its own cookies, no redirects followed.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
	// csrf is the session's token, read from the inbox page.
	csrf string
}

func (f *fixture) client() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return &client{t: f.t, base: f.url, hc: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}}
}

// signedIn is a client signed in as u through the login form.
func (f *fixture) signedIn(u crm.StaffUser) *client {
	f.t.Helper()
	c := f.client()
	res := c.login(u.Email, password, "")
	if res.StatusCode != http.StatusSeeOther {
		f.t.Fatalf("sign in as %s: status %d, want 303\n%s", u.Email, res.StatusCode, readBody(res))
	}
	res.Body.Close()
	c.csrf = c.pageCSRF()
	return c
}

type response struct {
	*http.Response
	body string
}

// do sends a request with an Accept header ("html" and "json" are short
// for the browser's and fetch's).
func (c *client) do(method, path, accept string, form url.Values, header map[string]string) response {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	switch accept {
	case "html":
		accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	case "json":
		accept = "application/json"
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return response{res, readBody(res)}
}

func (c *client) get(path string) response { return c.do("GET", path, "html", nil, nil) }

// post sends a form as a browser does, with the session's CSRF token.
func (c *client) post(path string, form url.Values) response {
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", c.csrf)
	return c.do("POST", path, "html", form, nil)
}

func (c *client) login(email, pw, next string) *http.Response {
	c.t.Helper()
	page := c.get("/console/login")
	var token string
	switch page.StatusCode {
	case http.StatusOK:
		token = hiddenValue(c.t, page.body, "csrf")
	case http.StatusSeeOther: // signed in already: the form's cookie is still there
		token = c.cookie("parley_login")
	default:
		c.t.Fatalf("login page: status %d", page.StatusCode)
	}
	req, _ := http.NewRequest("POST", c.base+"/console/login", strings.NewReader(url.Values{"email": {email}, "password": {pw}, "csrf": {token}, "next": {next}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return res
}

var metaCSRF = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

func (c *client) pageCSRF() string {
	c.t.Helper()
	page := c.get("/console/login") // signed in: the inbox, or for analysts a page to sign out
	if page.StatusCode == http.StatusSeeOther {
		page = c.get("/console")
	}
	m := metaCSRF.FindStringSubmatch(page.body)
	if m == nil {
		c.t.Fatalf("inbox (status %d) has no csrf-token meta:\n%s", page.StatusCode, page.body)
	}
	return html.UnescapeString(m[1])
}

func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.base)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

func hiddenValue(t testing.TB, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no hidden %s field in\n%s", name, page)
	}
	return html.UnescapeString(m[1])
}

func readBody(res *http.Response) string {
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return string(b)
}

func decodeJSON(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
}

var rowID = regexp.MustCompile(`class="row[^"]*" href="/console/conversations/(\d+)`)

// rowIDs are the conversation ids of an inbox list, in order.
func rowIDs(page string) []string {
	var out []string
	for _, m := range rowID.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

// snapshot is what a forbidden request must leave unchanged.
type snapshot struct {
	Conv     crm.Conversation
	Messages int
	Escs     []crm.Escalation
	Staff    []crm.StaffUser
}

func (f *fixture) snapshot(id int64) snapshot {
	f.t.Helper()
	ctx := context.Background()
	var s snapshot
	var err error
	if s.Conv, err = f.store.Conversation(ctx, id); err != nil {
		f.t.Fatal(err)
	}
	msgs, err := f.store.Messages(ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	s.Messages = len(msgs)
	if s.Escs, err = f.store.Escalations(ctx, id); err != nil {
		f.t.Fatal(err)
	}
	if s.Staff, err = f.store.ListStaff(ctx); err != nil {
		f.t.Fatal(err)
	}
	return s
}
