package slackfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/parley-chat/parley/bot/slackbot/slackfake"
)

// TestFaults checks each fault kind as slack-go reports it, and what the
// fake applied and recorded.
func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      slackfake.Fault
		timeout    time.Duration // the client's deadline; waitTimeout if 0
		check      func(error) string
		wantStored int
		wantStatus int
		wantError  string
	}{
		{
			name:  "ServerError",
			fault: slackfake.Fault{Kind: slackfake.ServerError},
			check: func(err error) string {
				var se slack.StatusCodeError
				if !errors.As(err, &se) || se.Code != http.StatusInternalServerError {
					return "want slack.StatusCodeError 500"
				}
				return ""
			},
			wantStatus: http.StatusInternalServerError,
		},
		{
			name:  "ServerError503",
			fault: slackfake.Fault{Kind: slackfake.ServerError, Status: http.StatusServiceUnavailable},
			check: func(err error) string {
				var se slack.StatusCodeError
				if !errors.As(err, &se) || se.Code != http.StatusServiceUnavailable || !se.Retryable() {
					return "want a retryable slack.StatusCodeError 503"
				}
				return ""
			},
			wantStatus: http.StatusServiceUnavailable,
		},
		{
			name:  "ServerErrorNot5xx",
			fault: slackfake.Fault{Kind: slackfake.ServerError, Status: http.StatusTeapot},
			check: func(err error) string {
				var se slack.StatusCodeError
				if !errors.As(err, &se) || se.Code != http.StatusInternalServerError {
					return "want slack.StatusCodeError 500"
				}
				return ""
			},
			wantStatus: http.StatusInternalServerError,
		},
		{
			name:  "RateLimitedRoundsUp",
			fault: slackfake.Fault{Kind: slackfake.RateLimited, RetryAfter: 1500 * time.Millisecond},
			check: func(err error) string {
				var rl *slack.RateLimitedError
				if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
					return "want *slack.RateLimitedError with RetryAfter 2s"
				}
				return ""
			},
			wantStatus: http.StatusTooManyRequests,
			wantError:  "ratelimited",
		},
		{
			name:  "RateLimitedAtLeastOneSecond",
			fault: slackfake.Fault{Kind: slackfake.RateLimited},
			check: func(err error) string {
				var rl *slack.RateLimitedError
				if !errors.As(err, &rl) || rl.RetryAfter != time.Second {
					return "want *slack.RateLimitedError with RetryAfter 1s"
				}
				return ""
			},
			wantStatus: http.StatusTooManyRequests,
			wantError:  "ratelimited",
		},
		{
			name:  "SlackError",
			fault: slackfake.Fault{Kind: slackfake.SlackError, Err: "channel_not_found"},
			check: func(err error) string {
				var se slack.SlackErrorResponse
				if !errors.As(err, &se) || se.Err != "channel_not_found" || err.Error() != "channel_not_found" {
					return "want slack.SlackErrorResponse channel_not_found"
				}
				return ""
			},
			wantStatus: http.StatusOK,
			wantError:  "channel_not_found",
		},
		{
			name:  "SlackErrorDefault",
			fault: slackfake.Fault{Kind: slackfake.SlackError},
			check: func(err error) string {
				if err == nil || err.Error() != "internal_error" {
					return "want internal_error"
				}
				return ""
			},
			wantStatus: http.StatusOK,
			wantError:  "internal_error",
		},
		{
			name:  "DropAfterPost",
			fault: slackfake.Fault{Kind: slackfake.DropAfterPost},
			check: func(err error) string {
				var ue *url.Error
				var se slack.SlackErrorResponse
				var sc slack.StatusCodeError
				if !errors.As(err, &ue) || errors.As(err, &se) || errors.As(err, &sc) {
					return "want a transport error (*url.Error), not a Slack answer"
				}
				return ""
			},
			wantStored: 1, // the ambiguous outcome: it failed, and it is there
			wantStatus: 0,
		},
		{
			name:    "Timeout",
			fault:   slackfake.Fault{Kind: slackfake.Timeout},
			timeout: 100 * time.Millisecond,
			check: func(err error) string {
				if !errors.Is(err, context.DeadlineExceeded) {
					return "want context.DeadlineExceeded"
				}
				return ""
			},
			wantStatus: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustServer(t)
			s.Fail("chat.postMessage", tt.fault)
			timeout := tt.timeout
			if timeout == 0 {
				timeout = waitTimeout
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			_, _, err := botClient(s).PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false))
			if err == nil {
				t.Fatalf("PostMessage with %v: got no error, want one", tt.fault)
			}
			if problem := tt.check(err); problem != "" {
				t.Errorf("PostMessage with %v: got %T %v, %s", tt.fault, err, err, problem)
			}
			if got := len(s.Posted("")); got != tt.wantStored {
				t.Errorf("Posted after %v: got %d messages, want %d", tt.fault, got, tt.wantStored)
			}
			calls, err := s.WaitCalls(waitCtx(t), "chat.postMessage", 1)
			if err != nil {
				t.Fatal(err)
			}
			c := calls[0]
			if c.Status != tt.wantStatus || c.Error != tt.wantError || c.Fault != tt.fault.Kind {
				t.Errorf("recorded call: got status %d error %q fault %v, want %d %q %v",
					c.Status, c.Error, c.Fault, tt.wantStatus, tt.wantError, tt.fault.Kind)
			}
		})
	}
}

func TestFaultsConsumedInOrder(t *testing.T) {
	s := mustServer(t)
	s.Fail("auth.test",
		slackfake.Fault{Kind: slackfake.SlackError, Err: "first"},
		slackfake.Fault{Kind: slackfake.SlackError, Err: "second"})
	s.Fail("auth.test", slackfake.Fault{Kind: slackfake.ServerError})
	api := botClient(s)
	ctx := waitCtx(t)
	want := []string{"first", "second", "slack server error: 500 Internal Server Error", ""}
	for i, w := range want {
		_, err := api.AuthTestContext(ctx)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != w {
			t.Errorf("AuthTest call %d: got error %q, want %q", i+1, got, w)
		}
	}
	// Faults belong to their method.
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false)); err != nil {
		t.Errorf("PostMessage with faults queued for auth.test only: %v", err)
	}
}

func TestRateLimitedAnswer(t *testing.T) {
	s := mustServer(t)
	s.Fail("chat.postMessage", slackfake.Fault{Kind: slackfake.RateLimited, RetryAfter: 3 * time.Second})
	req, err := http.NewRequest(http.MethodPost, s.APIURL()+"chat.postMessage", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode 429 body: %v", err)
	}
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" || body.OK || body.Error != "ratelimited" {
		t.Errorf("rate limited answer: got %d Retry-After %q %+v, want 429, 3, ok=false ratelimited",
			resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

func TestLatency(t *testing.T) {
	s := mustServer(t)
	const latency = 40 * time.Millisecond
	s.SetLatency(latency)
	api := botClient(s)
	start := time.Now()
	if _, err := api.AuthTestContext(waitCtx(t)); err != nil {
		t.Fatalf("AuthTest: %v", err)
	}
	if took := time.Since(start); took < latency {
		t.Errorf("AuthTest with latency %v: took %v, want at least that", latency, took)
	}

	// A client that gives up during the wait is recorded without an answer.
	s.SetLatency(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := api.AuthTestContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("AuthTest past its deadline: got %v, want context.DeadlineExceeded", err)
	}
	calls, err := s.WaitCalls(waitCtx(t), "auth.test", 2)
	if err != nil {
		t.Fatal(err)
	}
	if calls[1].Status != 0 {
		t.Errorf("abandoned call: got status %d, want 0", calls[1].Status)
	}
	s.SetLatency(0)
}

// TestCloseReleasesHeldCalls: Close must not wait for a client without a
// deadline held by a Timeout fault or a long latency.
func TestCloseReleasesHeldCalls(t *testing.T) {
	s := slackfake.New()
	s.Fail("chat.postMessage", slackfake.Fault{Kind: slackfake.Timeout})
	api := botClient(s)
	errc := make(chan error, 1)
	go func() {
		_, _, err := api.PostMessage("C1", slack.MsgOptionText("x", false))
		errc <- err
	}()
	if err := s.WaitPending(waitCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(waitTimeout):
		t.Fatal("Close with a held call: did not return")
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Error("PostMessage held then closed: got no error, want one")
		}
	case <-time.After(waitTimeout):
		t.Fatal("PostMessage held then closed: did not return")
	}
	s.Close() // again: a no-op
	if _, err := s.WaitPosted(context.Background(), 1, nil); !errors.Is(err, slackfake.ErrClosed) {
		t.Errorf("WaitPosted after Close: got %v, want ErrClosed", err)
	}
}
