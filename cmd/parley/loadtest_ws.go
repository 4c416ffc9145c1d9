package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/sqlite"
)

// The web chat load generator: N widgets, each a visitor on its own
// WebSocket, speaking the widget's protocol (see bot/webchat). It
// measures reply latency as the widget sees it (send → the bot's first
// reply frame), and checks afterwards, in the CRM file, that every
// message the server acknowledged was stored.

// wsLoadResult is what a web chat load run measured.
type wsLoadResult struct {
	loadResult
	// Acked counts the messages the server acknowledged (all of them,
	// warm-up included: each must be in the CRM).
	Acked int `json:"acked"`
	// Lost counts acknowledged messages missing from the CRM (-1: not
	// checked, no --db).
	Lost int `json:"lost"`
	// Unanswered counts turns that ended without a bot reply.
	Unanswered int `json:"unanswered"`
	// AckP99ms is the 99th percentile of send → ack.
	AckP99ms float64 `json:"ack_p99_ms"`
	// Escalations counts conversations handed to a person (the client
	// then continues as a new visitor, as the bot would stay silent).
	Escalations int `json:"escalations"`
	// ServerRSSMB and ServerPeakRSSMB are the server's resident memory at
	// the end and its peak (VmHWM), read from /proc (with --server-pid).
	ServerRSSMB     float64 `json:"server_rss_mb,omitempty"`
	ServerPeakRSSMB float64 `json:"server_peak_rss_mb,omitempty"`
}

type wsLoadConfig struct {
	url                    string // the WebSocket URL
	texts                  []string
	clients                int
	ramp, warmup, duration time.Duration
	think                  time.Duration
	seed                   uint64
	turnTimeout            time.Duration
	// oneSource sends every client from the one default address; else,
	// on a loopback target, each client has its own (loadtest_addrs.go).
	oneSource bool
}

// wsFrame is the part of a server frame the generator reads.
type wsFrame struct {
	Type  string `json:"type"`
	ID    string `json:"id"`
	Seq   int64  `json:"seq"`
	From  string `json:"from"`
	State string `json:"state"`
	On    *bool  `json:"on"`
	Code  string `json:"code"`
	Msg   string `json:"message"`
}

// ackedMsg is one acknowledged message, to look for in the CRM.
type ackedMsg struct{ visitor, id string }

func runWSLoad(ctx context.Context, cfg wsLoadConfig) (wsLoadResult, []ackedMsg, error) {
	res := wsLoadResult{loadResult: loadResult{Clients: cfg.clients}, Lost: -1}
	start := time.Now()
	measureFrom, end := start.Add(cfg.warmup), start.Add(cfg.warmup+cfg.duration)
	var (
		mu        sync.Mutex
		lat, acks []float64
		acked     []ackedMsg
		wg        sync.WaitGroup
	)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	sources := newLoadClients(cfg.url, 1, !cfg.oneSource)
	for cl := range cfg.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &wsClient{cfg: cfg, r: rand.New(rand.NewPCG(cfg.seed, uint64(cl))), measureFrom: measureFrom, end: end, hc: sources.wsClient(cl)}
			// Clients arrive spread over the ramp, as visitors do.
			if cfg.ramp > 0 {
				sleepCtx(ctx, time.Duration(float64(cfg.ramp)*float64(cl)/float64(cfg.clients)))
			}
			for gen := 0; time.Now().Before(end) && ctx.Err() == nil; gen++ {
				visitor := fmt.Sprintf("load_%s_%d_%d", run, cl, gen)
				escalated, err := c.chat(ctx, visitor)
				if err != nil && ctx.Err() == nil {
					c.fail(err)
					sleepCtx(ctx, 500*time.Millisecond) // do not spin on a dead server
				}
				if escalated {
					c.escalations++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, c.lat...)
			acks = append(acks, c.acks...)
			acked = append(acked, c.acked...)
			res.Messages += c.sent
			res.Errors += c.errs
			res.RateLimited += c.limited
			res.Unanswered += c.unanswered
			res.Escalations += c.escalations
			for _, s := range c.samples {
				if len(res.ErrorSamples) < 5 {
					res.ErrorSamples = append(res.ErrorSamples, s)
				}
			}
		}()
	}
	wg.Wait()
	res.Acked = len(acked)
	res.Seconds = cfg.duration.Seconds()
	res.Throughput = float64(len(lat)) / cfg.duration.Seconds()
	res.P50ms, res.P95ms, res.P99ms, res.MaxMs = quantiles(lat)
	_, _, res.AckP99ms, _ = quantiles(acks)
	return res, acked, ctx.Err()
}

// quantiles returns p50, p95, p99 and max of the samples (sorted in place).
func quantiles(v []float64) (p50, p95, p99, maxv float64) {
	if len(v) == 0 {
		return 0, 0, 0, 0
	}
	slices.Sort(v)
	q := func(p float64) float64 { return v[min(int(p*float64(len(v))), len(v)-1)] }
	return q(0.50), q(0.95), q(0.99), v[len(v)-1]
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// wsClient is one simulated widget.
type wsClient struct {
	cfg              wsLoadConfig
	r                *rand.Rand
	measureFrom, end time.Time

	hc          *http.Client // nil: the default
	lat, acks   []float64
	acked       []ackedMsg
	sent, errs  int
	limited     int // of errs, the server's rate limits
	unanswered  int
	escalations int
	samples     []string
	n           int // messages sent, for ids
}

func (c *wsClient) fail(err error) {
	c.errs++
	if errors.Is(err, errRateLimited) {
		c.limited++
	}
	if len(c.samples) < 3 {
		c.samples = append(c.samples, err.Error())
	}
}

// chat runs one visitor's conversation until the end of the run or until
// it is escalated.
func (c *wsClient) chat(ctx context.Context, visitor string) (escalated bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, c.cfg.turnTimeout)
	ws, resp, err := websocket.Dial(dctx, c.cfg.url, &websocket.DialOptions{HTTPClient: c.hc})
	cancel()
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
			return false, fmt.Errorf("connect: %w: HTTP 429 (%s)", errRateLimited, resp.Header.Get("Retry-After"))
		}
		return false, fmt.Errorf("connect: %w", err)
	}
	defer ws.CloseNow()
	frames := make(chan wsFrame, 64)
	readErr := make(chan error, 1)
	rctx, stopRead := context.WithCancel(ctx)
	defer stopRead()
	go func() {
		defer close(frames)
		for {
			_, b, err := ws.Read(rctx)
			if err != nil {
				readErr <- err
				return
			}
			var f wsFrame
			if json.Unmarshal(b, &f) == nil {
				frames <- f
			}
		}
	}()
	send := func(v any) error {
		b, _ := json.Marshal(v)
		wctx, cancel := context.WithTimeout(ctx, c.cfg.turnTimeout)
		defer cancel()
		return ws.Write(wctx, websocket.MessageText, b)
	}
	next := func(deadline <-chan time.Time) (wsFrame, error) {
		select {
		case f, ok := <-frames:
			if !ok {
				return wsFrame{}, fmt.Errorf("connection closed: %v", <-readErr)
			}
			return f, nil
		case <-deadline:
			return wsFrame{}, errors.New("timed out waiting for the server")
		case <-ctx.Done():
			return wsFrame{}, ctx.Err()
		}
	}
	if err := send(map[string]any{"type": "hello", "visitor": visitor}); err != nil {
		return false, fmt.Errorf("hello: %w", err)
	}
	timeout := time.After(c.cfg.turnTimeout)
	for {
		f, err := next(timeout)
		if err != nil {
			return false, fmt.Errorf("welcome: %w", err)
		}
		if f.Type == "welcome" {
			break
		}
	}
	for time.Now().Before(c.end) && ctx.Err() == nil {
		if c.cfg.think > 0 {
			sleepCtx(ctx, time.Duration(c.r.ExpFloat64()*float64(c.cfg.think)))
			if !time.Now().Before(c.end) || ctx.Err() != nil {
				break
			}
		}
		c.n++
		id := "m" + strconv.Itoa(c.n)
		t0 := time.Now()
		measured := t0.After(c.measureFrom)
		if err := send(map[string]any{"type": "message", "id": id, "text": c.cfg.texts[c.r.IntN(len(c.cfg.texts))]}); err != nil {
			return false, fmt.Errorf("send: %w", err)
		}
		if measured {
			c.sent++
		}
		// A turn: typing on, ack, the message, the replies, maybe a
		// state change, typing off.
		var ackSeq int64
		replied := false
		deadline := time.After(c.cfg.turnTimeout)
	turn:
		for {
			f, err := next(deadline)
			if err != nil {
				return escalated, fmt.Errorf("message %s: %w", id, err)
			}
			switch {
			case f.Type == "ack" && f.ID == id:
				ackSeq = f.Seq
				c.acked = append(c.acked, ackedMsg{visitor, id})
				if measured {
					c.acks = append(c.acks, ms(time.Since(t0)))
				}
			case f.Type == "message" && f.From == "bot" && ackSeq > 0 && f.Seq > ackSeq && !replied:
				replied = true
				if measured {
					c.lat = append(c.lat, ms(time.Since(t0)))
				}
			case f.Type == "state" && f.State == string(crm.StateEscalated):
				escalated = true
			case f.Type == "error":
				if f.Code == "rate_limited" {
					return escalated, fmt.Errorf("message %s: %w: the think time is too short for the server's limit", id, errRateLimited)
				}
				if measured {
					c.fail(fmt.Errorf("message %s: error frame %s: %s", id, f.Code, f.Msg))
				}
				break turn
			case f.Type == "typing" && f.On != nil && !*f.On && ackSeq > 0:
				break turn
			}
		}
		if !replied && ackSeq > 0 && measured {
			c.unanswered++
		}
		if escalated {
			ws.Close(websocket.StatusNormalClosure, "")
			return true, nil
		}
	}
	ws.Close(websocket.StatusNormalClosure, "")
	return false, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// customerMsgIDs adds to have the channel message ids of the customer's
// messages, in all its conversations.
func customerMsgIDs(ctx context.Context, store *sqlite.Store, customerID int64, have map[string]bool) error {
	convs, err := store.Conversations(ctx, crm.ConversationFilter{CustomerID: customerID})
	if err != nil {
		return err
	}
	for _, conv := range convs {
		msgs, err := store.Messages(ctx, conv.ID)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.ChannelMsgID != "" {
				have[m.ChannelMsgID] = true
			}
		}
	}
	return nil
}

// checkStored counts the acknowledged messages that are not in the CRM.
func checkStored(ctx context.Context, path string, acked []ackedMsg) (lost int, err error) {
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		return 0, err
	}
	defer store.Close()
	byVisitor := map[string][]string{}
	for _, a := range acked {
		byVisitor[a.visitor] = append(byVisitor[a.visitor], a.id)
	}
	for visitor, ids := range byVisitor {
		have := map[string]bool{}
		cust, err := store.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDWebVisitor, Value: visitor})
		if err == nil {
			if err := customerMsgIDs(ctx, store, cust.ID, have); err != nil {
				return 0, err
			}
		} else if !errors.Is(err, crm.ErrNotFound) {
			return 0, err
		}
		for _, id := range ids {
			if !have[visitor+":"+id] {
				lost++
			}
		}
	}
	return lost, nil
}

// procMemMB reads a process's resident memory and its peak from /proc.
func procMemMB(pid int) (rss, peak float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return rss, peak, nil
}
