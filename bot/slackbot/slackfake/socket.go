package slackfake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack/slacktest"
)

// socketPath is where apps.connections.open sends clients.
const socketPath = "/socket-mode"

const (
	// maxFrame bounds a frame from the client; acks are small (slack-go
	// refuses to send one of 20 KB or more, as Slack drops them).
	maxFrame = 1 << 20
	// socketWriteTimeout bounds one write to a client.
	socketWriteTimeout = 5 * time.Second
)

// The Socket Mode envelope types SendEnvelope accepts.
const (
	EnvelopeEventsAPI     = "events_api"
	EnvelopeInteractive   = "interactive"
	EnvelopeSlashCommands = "slash_commands"
)

// socketConn is one Socket Mode client connection. Its reader is the
// HTTP handler goroutine that upgraded it; writes are serialized by wmu
// (gorilla/websocket allows one writer at a time, except for control
// frames and Close).
type socketConn struct {
	id  int
	ws  *websocket.Conn
	wmu sync.Mutex
}

func (c *socketConn) write(data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.SetWriteDeadline(time.Now().Add(socketWriteTimeout)); err != nil {
		return fmt.Errorf("set write deadline: %w", err)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, data); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

// close drops the connection at once, without a close handshake, as a
// network failure would; the reader then sees an error and exits.
func (c *socketConn) close() { _ = c.ws.Close() }

// envelope is one envelope SendEnvelope sent, kept for RetryEnvelope.
type envelope struct {
	typ     string
	payload rawJSON
	accepts bool
	attempt int // retry_attempt of the latest delivery
}

// envelopeJSON is Slack's Socket Mode envelope. retry_attempt and
// retry_reason come with events_api envelopes only.
type envelopeJSON struct {
	EnvelopeID             string  `json:"envelope_id"`
	Type                   string  `json:"type"`
	Payload                rawJSON `json:"payload"`
	AcceptsResponsePayload bool    `json:"accepts_response_payload"`
	RetryAttempt           *int    `json:"retry_attempt,omitempty"`
	RetryReason            *string `json:"retry_reason,omitempty"`
}

func (e *envelope) frame(id, reason string) ([]byte, error) {
	j := envelopeJSON{EnvelopeID: id, Type: e.typ, Payload: e.payload, AcceptsResponsePayload: e.accepts}
	if e.typ == EnvelopeEventsAPI {
		attempt := e.attempt
		j.RetryAttempt, j.RetryReason = &attempt, &reason
	}
	data, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("encode envelope %s: %w", id, err)
	}
	return data, nil
}

// serveSocket upgrades a client holding a valid ticket and serves it.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return
	}
	valid := s.tickets[ticket]
	delete(s.tickets, ticket) // single use, as Slack's
	if valid {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if !valid {
		http.Error(w, "invalid or used ticket: call apps.connections.open", http.StatusUnauthorized)
		return
	}
	defer s.wg.Done()
	slacktest.Websocket(s.runSocket)(w, r)
}

// runSocket greets a new connection, registers it, and reads acks until
// the connection fails or is dropped.
func (s *Server) runSocket(ws *websocket.Conn) {
	c := &socketConn{ws: ws}
	ws.SetReadLimit(maxFrame)

	s.mu.Lock()
	num := len(s.conns) + 1
	s.mu.Unlock()
	hello, err := json.Marshal(map[string]any{
		"type":            "hello",
		"num_connections": num,
		"connection_info": map[string]any{"app_id": AppID},
		"debug_info": map[string]any{
			"host":                        "slackfake",
			"build_number":                1,
			"approximate_connection_time": 18060,
		},
	})
	if err != nil {
		s.logger().Error("slackfake: encode hello", "err", err)
		return
	}
	if err := c.write(hello); err != nil {
		s.logger().Warn("slackfake: send hello", "err", err)
		return
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.connSeq++
	c.id = s.connSeq
	s.conns[c.id] = c
	s.connects++
	interval := s.pingInterval
	s.wg.Add(1)
	s.notifyLocked()
	s.mu.Unlock()

	stop := make(chan struct{})
	go s.ping(c, interval, stop)
	defer func() {
		close(stop)
		s.mu.Lock()
		if s.conns[c.id] == c {
			delete(s.conns, c.id)
			s.notifyLocked()
		}
		s.mu.Unlock()
	}()

	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			s.logger().Debug("slackfake: socket mode connection ended", "conn", c.id, "err", err)
			return
		}
		s.receive(c, data)
	}
}

// ping sends WebSocket pings to c until stop closes, the server closes,
// or a ping cannot be written. slack-go's client counts a connection as
// dead when no ping came within its interval.
func (s *Server) ping(c *socketConn, interval time.Duration, stop <-chan struct{}) {
	defer s.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(socketWriteTimeout)); err != nil {
			return
		}
		select {
		case <-t.C:
		case <-stop:
			return
		case <-s.done:
			return
		}
	}
}

// receive records a frame from the client: an acknowledgement
// {"envelope_id":..., "payload":...}. Anything else is logged and
// dropped, as Slack would.
func (s *Server) receive(c *socketConn, data []byte) {
	var ack struct {
		EnvelopeID string `json:"envelope_id"`
	}
	if err := json.Unmarshal(data, &ack); err != nil || ack.EnvelopeID == "" {
		s.logger().Warn("slackfake: dropped a socket mode frame that is not an ack", "conn", c.id, "frame", clip(string(data), 200))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, sent := s.envelopes[ack.EnvelopeID]; !sent {
		s.logger().Warn("slackfake: ack for an envelope never sent", "envelope_id", ack.EnvelopeID)
	}
	s.acks[ack.EnvelopeID] = append(s.acks[ack.EnvelopeID], bytes.Clone(data))
	s.notifyLocked()
}

// takeConnsLocked removes and returns every connection, newest first.
func (s *Server) takeConnsLocked() []*socketConn {
	conns := s.connsLocked()
	clear(s.conns)
	s.notifyLocked()
	return conns
}

// connsLocked returns the connections, newest first.
func (s *Server) connsLocked() []*socketConn {
	var conns []*socketConn
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	slices.SortFunc(conns, func(a, b *socketConn) int { return b.id - a.id })
	return conns
}

// WaitSocket waits until a Socket Mode client is connected and has been
// sent hello.
func (s *Server) WaitSocket(ctx context.Context) error {
	if err := s.waitFor(ctx, func() bool { return len(s.conns) > 0 }); err != nil {
		return fmt.Errorf("wait for a socket mode client (%d connects so far): %w", s.SocketConnects(), err)
	}
	return nil
}

// WaitConnects waits until at least n Socket Mode connections have been
// established since New (n = SocketConnects()+1 waits for a reconnect)
// and one is open.
func (s *Server) WaitConnects(ctx context.Context, n int) error {
	if err := s.waitFor(ctx, func() bool { return s.connects >= n && len(s.conns) > 0 }); err != nil {
		return fmt.Errorf("wait for %d socket mode connects (%d so far): %w", n, s.SocketConnects(), err)
	}
	return nil
}

// SocketConnects is how many Socket Mode connections have been
// established (and sent hello) since New.
func (s *Server) SocketConnects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connects
}

// SendEnvelope sends payload to the newest Socket Mode connection in an
// envelope of type typ (EnvelopeEventsAPI, EnvelopeInteractive or
// EnvelopeSlashCommands) and returns its envelope_id. payload is
// marshalled as JSON, except a []byte, json.RawMessage or string, which
// is taken as JSON text (so EventCallback's and BlockActionPayload's
// results go in as they are); it must be a JSON object.
// accepts_response_payload is set as Slack sets it: true for slash
// commands and for view_submission and block_suggestion interactions,
// false otherwise; events_api envelopes carry retry_attempt 0.
//
// When no client is connected or the write fails, the envelope is still
// recorded: the error wraps ErrNoSocket or the write error, and the
// returned ID can be passed to RetryEnvelope once a client is back.
func (s *Server) SendEnvelope(typ string, payload any) (envelopeID string, err error) {
	switch typ {
	case EnvelopeEventsAPI, EnvelopeInteractive, EnvelopeSlashCommands:
	default:
		return "", fmt.Errorf("send envelope: unknown type %q (want %s, %s or %s)",
			typ, EnvelopeEventsAPI, EnvelopeInteractive, EnvelopeSlashCommands)
	}
	raw, err := payloadJSON(payload)
	if err != nil {
		return "", fmt.Errorf("send %s envelope: %w", typ, err)
	}
	env := &envelope{typ: typ, payload: raw, accepts: acceptsResponse(typ, raw)}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", fmt.Errorf("send %s envelope: %w", typ, ErrClosed)
	}
	s.envSeq++
	id := fmt.Sprintf("%08x-5f1a-4e7b-9c2d-%012x", s.envSeq, s.envSeq)
	s.envelopes[id] = env
	s.mu.Unlock()

	return id, s.deliver(id, env, "")
}

// RetryEnvelope sends an envelope again, as Slack does when an ack did
// not come in time: same envelope_id and payload, retry_attempt one more
// than the last delivery's, and retry_reason reason (Slack uses
// "timeout"; events_api envelopes only carry the two fields).
func (s *Server) RetryEnvelope(envelopeID, reason string) error {
	s.mu.Lock()
	env, sent := s.envelopes[envelopeID]
	if sent {
		env.attempt++
	}
	s.mu.Unlock()
	if !sent {
		return fmt.Errorf("retry envelope %s: %w", envelopeID, ErrUnknownEnvelope)
	}
	return s.deliver(envelopeID, env, reason)
}

// deliver writes an envelope to the newest connection.
func (s *Server) deliver(id string, env *envelope, reason string) error {
	s.mu.Lock()
	frame, err := env.frame(id, reason)
	conns := s.connsLocked()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if len(conns) == 0 {
		return fmt.Errorf("deliver envelope %s: %w", id, ErrNoSocket)
	}
	if err := conns[0].write(frame); err != nil {
		return fmt.Errorf("deliver envelope %s on connection %d: %w", id, conns[0].id, err)
	}
	return nil
}

// WaitAck waits for the client's acknowledgement of an envelope and
// returns it as sent: {"envelope_id":..., "payload":...} (payload only if
// the client gave one). An ID SendEnvelope never returned fails at once
// with ErrUnknownEnvelope.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (json.RawMessage, error) {
	acks, err := s.WaitAcks(ctx, envelopeID, 1)
	if err != nil {
		return nil, err
	}
	return acks[0], nil
}

// WaitAcks waits until at least n acknowledgements of an envelope have
// come in (more than one after RetryEnvelope, or from a client that acks
// twice) and returns them all, in order.
func (s *Server) WaitAcks(ctx context.Context, envelopeID string, n int) ([]json.RawMessage, error) {
	var acks []json.RawMessage
	known := true
	err := s.waitFor(ctx, func() bool {
		if _, known = s.envelopes[envelopeID]; !known {
			return true
		}
		acks = s.acksLocked(envelopeID)
		return len(acks) >= n
	})
	switch {
	case !known:
		return nil, fmt.Errorf("wait for acks of %s: %w", envelopeID, ErrUnknownEnvelope)
	case err != nil:
		return acks, fmt.Errorf("wait for %d acks of %s (got %d): %w", n, envelopeID, len(acks), err)
	}
	return acks, nil
}

// Acks returns the acknowledgements received for an envelope so far, in
// order.
func (s *Server) Acks(envelopeID string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acksLocked(envelopeID)
}

func (s *Server) acksLocked(envelopeID string) []json.RawMessage {
	var out []json.RawMessage
	for _, a := range s.acks[envelopeID] {
		out = append(out, bytes.Clone(a))
	}
	return out
}

// DropSocket closes every Socket Mode connection at once, without a
// close handshake, as a network failure would. A client must call
// apps.connections.open again to reconnect (its old ticket is spent).
func (s *Server) DropSocket() {
	s.mu.Lock()
	conns := s.takeConnsLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// SendDisconnect sends Slack's disconnect message to every connection
// (reason: e.g. "refresh_requested", "warning"); a client answers it by
// reconnecting through apps.connections.open.
func (s *Server) SendDisconnect(reason string) error {
	frame, err := json.Marshal(map[string]any{
		"type":       "disconnect",
		"reason":     reason,
		"debug_info": map[string]any{"host": "slackfake"},
	})
	if err != nil {
		return fmt.Errorf("encode disconnect: %w", err)
	}
	s.mu.Lock()
	conns := s.connsLocked()
	s.mu.Unlock()
	if len(conns) == 0 {
		return fmt.Errorf("send disconnect: %w", ErrNoSocket)
	}
	var errs []error
	for _, c := range conns {
		if err := c.write(frame); err != nil {
			errs = append(errs, fmt.Errorf("send disconnect on connection %d: %w", c.id, err))
		}
	}
	return errors.Join(errs...)
}

// payloadJSON is an envelope's payload as JSON text: an object.
func payloadJSON(payload any) (rawJSON, error) {
	var raw []byte
	switch p := payload.(type) {
	case nil:
		return nil, errors.New("nil payload")
	case []byte:
		raw = p
	case json.RawMessage:
		raw = p
	case string:
		raw = []byte(p)
	default:
		var err error
		if raw, err = json.Marshal(p); err != nil {
			return nil, fmt.Errorf("encode payload: %w", err)
		}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fmt.Errorf("payload is not JSON: %w", err)
	}
	if !strings.HasPrefix(buf.String(), "{") {
		return nil, fmt.Errorf("payload %s is not a JSON object", clip(buf.String(), 40))
	}
	return buf.Bytes(), nil
}

// acceptsResponse is accepts_response_payload as Slack sets it.
func acceptsResponse(typ string, payload rawJSON) bool {
	switch typ {
	case EnvelopeSlashCommands:
		return true
	case EnvelopeInteractive:
		var p struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(payload, &p) // an object: payloadJSON checked
		return p.Type == "view_submission" || p.Type == "block_suggestion"
	}
	return false
}
