package slackfake

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// tokenKind is the kind of token a method requires.
type tokenKind int

const (
	botTokenKind tokenKind = iota // BotToken, in the header or the form
	appTokenKind                  // AppToken, in the Authorization header only
	anyTokenKind                  // not checked (unknown methods)
)

// request is one parsed Web API call, as a method handler sees it.
type request struct {
	method string
	params url.Values
	r      *http.Request
}

// result is a method's outcome: the fields of an ok answer, or a Slack
// error code.
type result struct {
	fields map[string]any
	err    string
}

func ok(fields map[string]any) result { return result{fields: fields} }
func fail(code string) result         { return result{err: code} }

// methodSpec says which token a method takes and how it is handled.
type methodSpec struct {
	token  tokenKind
	handle func(*Server, *request) result
}

// methods is the Web API the fake implements.
func (s *Server) methods() map[string]methodSpec {
	return map[string]methodSpec{
		"auth.test":             {botTokenKind, (*Server).authTest},
		"chat.postMessage":      {botTokenKind, (*Server).chatPostMessage},
		"chat.update":           {botTokenKind, (*Server).chatUpdate},
		"chat.postEphemeral":    {botTokenKind, (*Server).chatPostEphemeral},
		"conversations.replies": {botTokenKind, (*Server).conversationsReplies},
		"conversations.history": {botTokenKind, (*Server).conversationsHistory},
		"users.info":            {botTokenKind, (*Server).usersInfo},
		"users.lookupByEmail":   {botTokenKind, (*Server).usersLookupByEmail},
		"apps.connections.open": {appTokenKind, (*Server).appsConnectionsOpen},
	}
}

func unknownMethod(*Server, *request) result { return fail("unknown_method") }

// api wraps a method handler with what every call goes through: reading
// and recording the call, latency, injected faults and the token check.
// An empty method is taken from the path (the catch-all handler).
func (s *Server) api(method string, spec methodSpec) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		call := Call{Method: method, At: time.Now()}
		if call.Method == "" {
			call.Method = strings.TrimPrefix(r.URL.Path, "/")
		}
		s.begin()
		defer func() { s.record(call) }()

		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		call.Body = body
		if err != nil {
			status := http.StatusBadRequest
			if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
				status = http.StatusRequestEntityTooLarge
			}
			call.Status, call.Error = status, "invalid_form_data"
			writeJSON(w, status, map[string]any{"ok": false, "error": call.Error})
			return
		}
		params, perr := parseParams(r, body)
		call.Params = params
		call.Token = requestToken(r, params)

		s.mu.Lock()
		latency := s.latency
		s.mu.Unlock()
		if !s.sleep(r.Context(), latency) {
			return // the client gave up or the server is closing: no answer
		}

		req := &request{method: call.Method, params: params, r: r}
		handle := func(w http.ResponseWriter) {
			res := s.answer(req, spec, perr, call.Token)
			call.Error = res.err
			call.Status = http.StatusOK
			writeResult(w, res)
		}

		f, faulted := s.nextFault(call.Method)
		if !faulted {
			handle(w)
			return
		}
		call.Fault = f.Kind
		switch f.Kind {
		case RateLimited:
			call.Status, call.Error = http.StatusTooManyRequests, "ratelimited"
			w.Header().Set("Retry-After", strconv.FormatInt(retryAfterSeconds(f.RetryAfter), 10))
			writeJSON(w, call.Status, map[string]any{"ok": false, "error": call.Error})
		case SlackError:
			code := f.Err
			if code == "" {
				code = "internal_error"
			}
			call.Status, call.Error = http.StatusOK, code
			writeJSON(w, call.Status, map[string]any{"ok": false, "error": code})
		case DropAfterPost:
			// Apply the call for real, throw the answer away, and hang up.
			handle(httptest.NewRecorder())
			call.Status = 0
			hangUp(w)
		case Timeout:
			select {
			case <-r.Context().Done():
			case <-s.done:
			}
			hangUp(w)
		default: // ServerError, and unknown kinds so a test mistake shows
			status := f.Status
			if status < 500 || status > 599 {
				status = http.StatusInternalServerError
			}
			call.Status = status
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(status)
			fmt.Fprintf(w, "<html><body>%d %s</body></html>\n", status, http.StatusText(status))
		}
	}
}

// answer checks the request and the token, then runs the method.
func (s *Server) answer(req *request, spec methodSpec, parseErr, token string) result {
	if parseErr != "" {
		return fail(parseErr)
	}
	if code := checkToken(req.r, spec.token, token); code != "" {
		return fail(code)
	}
	return spec.handle(s, req)
}

// checkToken returns the Slack error code for a token that does not
// grant the method, "" for one that does.
func checkToken(r *http.Request, kind tokenKind, token string) string {
	switch kind {
	case anyTokenKind:
		return ""
	case appTokenKind:
		// Slack: "you will need to pass this token in the HTTP
		// Authorization header ... passing it as a POST parameter will
		// result in an error."
		token = bearer(r)
		switch token {
		case "":
			return "not_authed"
		case AppToken:
			return ""
		case BotToken:
			return "not_allowed_token_type"
		}
		return "invalid_auth"
	default:
		switch token {
		case "":
			return "not_authed"
		case BotToken:
			return ""
		case AppToken:
			return "not_allowed_token_type"
		}
		return "invalid_auth"
	}
}

// hangUp closes the client's connection without a response.
func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// Not HTTP/1 (the fake serves only HTTP/1, so this is a change in
		// net/http): the server's own way to abort a response.
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

// requestToken is the call's token: the Authorization header's, else the
// form's "token" field.
func requestToken(r *http.Request, params url.Values) string {
	if t := bearer(r); t != "" {
		return t
	}
	return params.Get("token")
}

// parseParams reads the call's arguments from the URL query and the body:
// a JSON object (its fields flattened to strings) when the body is JSON,
// form fields otherwise. It returns Slack's error code for a body it
// cannot read.
func parseParams(r *http.Request, body []byte) (url.Values, string) {
	params := r.URL.Query()
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		fields, err := flattenJSON(body)
		if err != nil {
			return params, "invalid_json"
		}
		for k, v := range fields {
			params[k] = append(params[k], v...)
		}
		return params, ""
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return params, "invalid_form_data"
	}
	for k, v := range form {
		params[k] = append(params[k], v...)
	}
	return params, ""
}

// flattenJSON turns a JSON object's fields into strings: strings as they
// are, numbers and booleans as written, null as "", objects and arrays as
// compact JSON. An empty body or null is no fields (slack-go sends an
// empty JSON body to apps.connections.open).
func flattenJSON(body []byte) (url.Values, error) {
	out := url.Values{}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || string(body) == "null" {
		return out, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, fmt.Errorf("decode json body: %w", err)
	}
	for k, raw := range fields {
		var str string
		switch {
		case json.Unmarshal(raw, &str) == nil:
		case string(raw) == "null":
			str = ""
		default:
			var b bytes.Buffer
			if err := json.Compact(&b, raw); err != nil {
				return nil, fmt.Errorf("compact json field %s: %w", k, err)
			}
			str = b.String()
		}
		out.Set(k, str)
	}
	return out, nil
}

func writeResult(w http.ResponseWriter, res result) {
	if res.err != "" {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": res.err})
		return
	}
	fields := map[string]any{"ok": true}
	for k, v := range res.fields {
		fields[k] = v
	}
	writeJSON(w, http.StatusOK, fields)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		// Only the fake's own values get here; a failure is a bug in it,
		// and the answer says so rather than pretending success.
		status = http.StatusInternalServerError
		data = []byte(`{"ok":false,"error":"fake_marshal_error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

func (s *Server) authTest(*request) result {
	return ok(map[string]any{
		"url":                   "https://" + TeamDomain + ".slack.com/",
		"team":                  "Parley Test",
		"user":                  BotName,
		"team_id":               TeamID,
		"user_id":               BotUserID,
		"bot_id":                BotID,
		"is_enterprise_install": false,
	})
}

func (s *Server) usersInfo(req *request) result {
	id := req.params.Get("user")
	s.mu.Lock()
	u, found := s.users[id]
	s.mu.Unlock()
	if !found {
		return fail("user_not_found")
	}
	return ok(map[string]any{"user": userJSON(u)})
}

func (s *Server) usersLookupByEmail(req *request) result {
	email := req.params.Get("email")
	if email == "" {
		return fail("users_not_found")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range usersSorted(s.users) {
		if strings.EqualFold(u.Email, email) {
			return ok(map[string]any{"user": userJSON(u)})
		}
	}
	return fail("users_not_found")
}

// usersSorted returns the users in ID order, so that a lookup that
// matches two of them always finds the same one.
func usersSorted(users map[string]User) []User {
	return slices.SortedFunc(maps.Values(users), func(a, b User) int { return cmp.Compare(a.ID, b.ID) })
}

// userJSON is u in users.info's shape.
func userJSON(u User) map[string]any {
	profile := map[string]any{
		"real_name":            u.RealName,
		"real_name_normalized": u.RealName,
		"display_name":         u.Name,
		"email":                u.Email,
		"team":                 TeamID,
	}
	if u.IsBot {
		profile["bot_id"] = BotID
		profile["api_app_id"] = AppID
	}
	return map[string]any{
		"id":        u.ID,
		"team_id":   TeamID,
		"name":      u.Name,
		"deleted":   false,
		"real_name": u.RealName,
		"tz":        "Europe/London",
		"tz_label":  "Greenwich Mean Time",
		"is_bot":    u.IsBot,
		"profile":   profile,
	}
}

func (s *Server) appsConnectionsOpen(*request) result {
	s.mu.Lock()
	s.ticketSeq++
	ticket := fmt.Sprintf("ticket-%d", s.ticketSeq)
	s.tickets[ticket] = true
	s.mu.Unlock()
	u := url.URL{
		Scheme:   "ws",
		Host:     s.addr,
		Path:     socketPath,
		RawQuery: url.Values{"ticket": {ticket}, "app_id": {AppID}}.Encode(),
	}
	return ok(map[string]any{"url": u.String()})
}
