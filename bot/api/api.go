// Package api is the REST channel: POST /api/v1/messages hands a
// customer message to the bot engine and answers with its replies, as
// ../shared/DESIGN.md specifies.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/nlp"
)

// Engine is what the handler needs of the bot.
type Engine interface {
	Handle(ctx context.Context, m bot.Message) (bot.Turn, error)
}

// Limits.
const (
	// MaxBodyBytes bounds a request body: a message is at most
	// nlp.DefaultMaxBytes, JSON escaping can multiply that.
	MaxBodyBytes = 64 << 10
	// Timeout bounds one message's handling.
	Timeout = 10 * time.Second
	// UnavailableRetry is the Retry-After of a message refused because
	// the CRM cannot store it (full disk): long enough not to hammer an
	// operator's recovery, short enough for a customer to wait.
	UnavailableRetry = 5 * time.Second
)

// channelMsgID is the id a REST message is deduplicated on: the
// client's id within its customer's, so two customers that happen to
// use the same client_msg_id never receive each other's replies. The
// customer id is escaped, so the first "/" always ends it.
func channelMsgID(customerID, clientMsgID string) string {
	return url.PathEscape(customerID) + "/" + clientMsgID
}

// Request is the body of POST /api/v1/messages.
type Request struct {
	CustomerID     string `json:"customer_id"`
	Text           string `json:"text"`
	ClientMsgID    string `json:"client_msg_id"`
	ConversationID int64  `json:"conversation_id,omitempty"`
}

// Response is its answer.
type Response struct {
	ConversationID int64       `json:"conversation_id"`
	Replies        []bot.Reply `json:"replies"`
	Intent         Intent      `json:"intent"`
	Sentiment      Sentiment   `json:"sentiment"`
	Escalated      bool        `json:"escalated"`
}

// Intent is the understood intent.
type Intent struct {
	Name       string  `json:"name"`
	Confidence float64 `json:"confidence"`
}

// Sentiment is the message's tone.
type Sentiment struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// Handler returns the API's routes.
func Handler(e Engine, log *slog.Logger, opts ...Option) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	var lim Limits
	for _, o := range opts {
		o(&lim)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/messages", func(w http.ResponseWriter, r *http.Request) {
		handleMessage(e, log, &lim, w, r)
	})
	return mux
}

func handleMessage(e Engine, log *slog.Logger, lim *Limits, w http.ResponseWriter, r *http.Request) {
	if !lim.allowAddress(w, r) {
		return
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
		Error(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	var req Request
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", MaxBodyBytes))
			return
		}
		Error(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		Error(w, http.StatusBadRequest, "invalid JSON: more than one value in the body")
		return
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"customer_id", req.CustomerID}, {"text", req.Text}, {"client_msg_id", req.ClientMsgID}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		Error(w, http.StatusBadRequest, "missing or empty: "+strings.Join(missing, ", "))
		return
	}
	if req.ConversationID < 0 {
		Error(w, http.StatusBadRequest, "conversation_id must be positive")
		return
	}
	// Checked last: a post refused for its content takes none of the
	// customer's budget. Nothing is stored before this.
	if !lim.allowCustomer(w, req.CustomerID) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), Timeout)
	defer cancel()
	turn, err := e.Handle(ctx, bot.Message{
		Channel:        crm.ChannelAPI,
		Customer:       crm.ExternalID{Kind: crm.IDAPI, Value: req.CustomerID},
		ConversationID: req.ConversationID,
		Text:           req.Text,
		ChannelMsgID:   channelMsgID(req.CustomerID, req.ClientMsgID),
	})
	switch {
	case errors.Is(err, nlp.ErrTooLong):
		Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("text longer than %d bytes", nlp.DefaultMaxBytes))
		return
	case errors.Is(err, bot.ErrBadMessage):
		Error(w, http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, bot.ErrUnknownConversation):
		Error(w, http.StatusNotFound, "unknown conversation_id")
		return
	case errors.Is(err, context.DeadlineExceeded):
		Error(w, http.StatusServiceUnavailable, "timed out; retry with the same client_msg_id")
		return
	case errors.Is(err, crm.ErrUnavailable):
		// Nothing was stored: the client keeps the message and retries.
		log.Warn("message refused: the CRM cannot store it", "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(int(UnavailableRetry/time.Second)))
		Error(w, http.StatusServiceUnavailable, "cannot store messages right now; retry with the same client_msg_id")
		return
	case err != nil:
		log.Error("handle message", "err", err)
		Error(w, http.StatusInternalServerError, "internal error; retry with the same client_msg_id")
		return
	}
	resp := Response{
		ConversationID: turn.ConversationID,
		Replies:        turn.Replies,
		Intent:         Intent{Name: turn.Prediction.Decision(), Confidence: turn.Prediction.Confidence},
		Sentiment:      Sentiment{Label: turn.Sentiment.Label, Score: turn.Sentiment.Score},
		Escalated:      turn.Escalated || turn.State == crm.StateEscalated || turn.State == crm.StateAssigned,
	}
	if resp.Replies == nil {
		resp.Replies = []bot.Reply{}
	}
	JSON(w, http.StatusOK, resp)
}

// JSON writes v as a JSON response.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Error writes {"error": msg}.
func Error(w http.ResponseWriter, status int, msg string) {
	JSON(w, status, map[string]string{"error": msg})
}
