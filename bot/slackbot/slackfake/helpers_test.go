package slackfake_test

import (
	"context"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/parley-chat/parley/bot/slackbot/slackfake"
)

// waitTimeout bounds every wait in these tests, so that a missing event
// fails the test instead of hanging it.
const waitTimeout = 5 * time.Second

// mustServer starts a fake that the test closes when it ends.
func mustServer(tb testing.TB) *slackfake.Server {
	tb.Helper()
	s := slackfake.New()
	s.SetLogger(slog.New(slog.DiscardHandler))
	tb.Cleanup(s.Close)
	return s
}

// botClient is the real slack-go client aimed at s with the bot token.
func botClient(s *slackfake.Server) *slack.Client {
	return slack.New(slackfake.BotToken, slack.OptionAPIURL(s.APIURL()))
}

func waitCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// postForm sends a raw form-encoded Web API call, for requests slack-go
// would not build.
func postForm(tb testing.TB, s *slackfake.Server, method string, form url.Values, header http.Header) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, s.APIURL()+method, strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	return do(tb, req)
}

// postJSON sends a raw JSON Web API call with the bot token.
func postJSON(tb testing.TB, s *slackfake.Server, method, body string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, s.APIURL()+method, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+slackfake.BotToken)
	return do(tb, req)
}

func do(tb testing.TB, req *http.Request) (int, string) {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read %s answer: %v", req.URL, err)
	}
	return resp.StatusCode, string(body)
}

// runSocketClient runs a real socketmode client against s until the test
// ends.
func runSocketClient(tb testing.TB, s *slackfake.Server, opts ...socketmode.Option) *socketmode.Client {
	tb.Helper()
	api := slack.New(slackfake.BotToken,
		slack.OptionAPIURL(s.APIURL()),
		slack.OptionAppLevelToken(slackfake.AppToken))
	opts = append([]socketmode.Option{socketmode.OptionLog(log.New(io.Discard, "", 0))}, opts...)
	client := socketmode.New(api, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- client.RunContext(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(waitTimeout):
			tb.Errorf("socketmode client did not stop within %v", waitTimeout)
		}
	})
	return client
}

// nextEvent returns the client's next event of type want, skipping the
// connection life-cycle events.
func nextEvent(tb testing.TB, client *socketmode.Client, want socketmode.EventType) socketmode.Event {
	tb.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case evt := <-client.Events:
			switch evt.Type {
			case want:
				return evt
			case socketmode.EventTypeConnecting, socketmode.EventTypeConnected, socketmode.EventTypeHello:
				continue
			default:
				tb.Fatalf("socketmode event: got %s (%+v), want %s", evt.Type, evt.Data, want)
			}
		case <-timeout:
			tb.Fatalf("socketmode event: got none in %v, want %s", waitTimeout, want)
		}
	}
}
