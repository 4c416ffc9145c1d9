package slackfake

import (
	"fmt"
	"time"
)

// FaultKind is a way a Web API call can fail. The zero value means no
// fault.
type FaultKind int

// The fault kinds. Each says what the fake does and how slack-go v0.36
// reports it to its caller.
const (
	// ServerError answers HTTP Fault.Status (500 unless set) with a text
	// body, as Slack's load balancers do. slack-go returns
	// slack.StatusCodeError{Code: status}. Nothing is applied.
	ServerError FaultKind = iota + 1
	// RateLimited answers HTTP 429 with a Retry-After header of
	// Fault.RetryAfter in whole seconds (rounded up, at least 1) and the
	// body {"ok":false,"error":"ratelimited"}. slack-go returns
	// *slack.RateLimitedError with that RetryAfter. Nothing is applied.
	RateLimited
	// SlackError answers HTTP 200 {"ok":false,"error":Fault.Err}
	// ("internal_error" unless set). slack-go returns
	// slack.SlackErrorResponse{Err: code}, whose Error() is the code.
	// Nothing is applied.
	SlackError
	// DropAfterPost handles the call normally (a chat.postMessage IS
	// stored, with its ts) and then closes the connection without a
	// response: the ambiguous outcome a client cannot tell from a failed
	// post. slack-go returns the transport's error (a *url.Error, "EOF").
	DropAfterPost
	// Timeout holds the call without answering until the client gives up
	// (its context or http.Client timeout) or the server closes, then
	// drops the connection. Nothing is applied. slack-go returns the
	// client's error (context.DeadlineExceeded inside a *url.Error); a
	// client without a deadline waits until Close.
	Timeout
)

// String returns the kind's name, e.g. "RateLimited".
func (k FaultKind) String() string {
	switch k {
	case 0:
		return "none"
	case ServerError:
		return "ServerError"
	case RateLimited:
		return "RateLimited"
	case SlackError:
		return "SlackError"
	case DropAfterPost:
		return "DropAfterPost"
	case Timeout:
		return "Timeout"
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault is one injected failure of a Web API call.
type Fault struct {
	Kind FaultKind
	// RetryAfter, for RateLimited: the Retry-After header, in whole
	// seconds rounded up, at least 1.
	RetryAfter time.Duration
	// Err, for SlackError: the Slack error code, e.g. "channel_not_found";
	// "internal_error" when empty.
	Err string
	// Status, for ServerError: the HTTP status, 500 when 0; a value
	// outside 500-599 is answered as 500.
	Status int
}

// Fail queues faults for the next calls of method (e.g.
// "chat.postMessage"), after any already queued: the next call takes the
// first, the one after it the second, and calls after the last are
// handled normally. A fault of an unknown kind is answered as a
// ServerError, so that a mistake in a test shows as a failure.
func (s *Server) Fail(method string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], faults...)
}

// nextFault takes the first fault queued for method.
func (s *Server) nextFault(method string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[method]
	if len(q) == 0 {
		return Fault{}, false
	}
	f := q[0]
	if len(q) == 1 {
		delete(s.faults, method)
	} else {
		s.faults[method] = q[1:]
	}
	return f, true
}

// retryAfterSeconds is the Retry-After header value for d.
func retryAfterSeconds(d time.Duration) int64 {
	secs := int64((d + time.Second - 1) / time.Second)
	return max(secs, 1)
}
