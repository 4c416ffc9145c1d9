package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley/intents/builtin"
)

type loadCommand struct{ stdout, stderr io.Writer }

// loadResult is what a load run measured.
type loadResult struct {
	Clients    int     `json:"clients"`
	Seconds    float64 `json:"seconds"`
	Messages   int     `json:"messages"`
	Errors     int     `json:"errors"`
	Throughput float64 `json:"messages_per_second"`
	P50ms      float64 `json:"p50_ms"`
	P95ms      float64 `json:"p95_ms"`
	P99ms      float64 `json:"p99_ms"`
	MaxMs      float64 `json:"max_ms"`
	// ErrorSamples are the first few errors, for the report.
	ErrorSamples []string `json:"error_samples,omitempty"`

	// RateLimited counts the errors that were the server's rate limits
	// (HTTP 429, rate_limited frames, refused handshakes).
	RateLimited int `json:"rate_limited"`
}

func (c *loadCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var (
		url      = fs.String("url", "http://localhost:8080", "the server")
		clients  = fs.Int("clients", 50, "concurrent clients, each one customer chatting")
		duration = fs.Duration("duration", 30*time.Second, "how long to measure")
		warmup   = fs.Duration("warmup", 3*time.Second, "load before measuring")
		think    = fs.Duration("think", 0, "mean pause between a client's messages (exponentially distributed, so clients do not move in lockstep)")
		seed     = fs.Uint64("seed", 1, "random seed for the messages")
		asJSON   = fs.Bool("json", false, "print one JSON object")
		ws       = fs.Bool("ws", false, "chat over the web chat WebSocket (/ws) as widgets do, instead of the REST API")
		ramp     = fs.Duration("ramp", 0, "with --ws: spread the clients' arrival over this long (default: the warm-up)")
		db       = fs.String("db", "", "with --ws: the server's CRM file, to check afterwards that every acknowledged message was stored")
		pid      = fs.Int("server-pid", 0, "with --ws: the server's process id, to report its memory (from /proc)")
		turnTO   = fs.Duration("turn-timeout", 10*time.Second, "with --ws: how long a reply may take before it counts as an error")
		spread   = fs.Bool("spread-sources", true, "on a loopback target, send each customer from its own source address in 127.0.0.0/8, so the server's per-address limits see many customers as in production (false: all from one address)")
		perCl    = fs.Int("customers", defaultLoadCustomers, "REST: customers each client speaks for, in turn (each stays under the server's per-customer limit)")
	)
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: parley loadtest [--url URL] [--clients N] [--duration D] [--think D] [--json]\n       parley loadtest --ws [--clients N] [--think D] [--db FILE] [--server-pid PID] ...\n\nEach client speaks for --customers customers in turn, sending the built-in test messages\nthrough POST /api/v1/messages one after the other; reports throughput and reply latency (full\nturns: NLU, policy, retrieval, CRM write).\nWith --ws each client is a web chat widget on its own WebSocket; latency is send → the bot's reply,\nand --db checks that every acknowledged message is in the CRM.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *clients < 1 || *duration <= 0 || *perCl < 1 {
		return fmt.Errorf("--clients, --customers and --duration must be positive")
	}
	test, err := builtin.Dataset(builtin.IntentTest)
	if err != nil {
		return err
	}
	var texts []string
	for _, e := range test.Examples {
		texts = append(texts, e.Text)
	}
	if *ws {
		if *ramp == 0 {
			*ramp = *warmup
		}
		return c.runWS(ctx, wsLoadConfig{
			url: strings.Replace(strings.TrimSuffix(*url, "/"), "http", "ws", 1) + "/ws", texts: texts,
			clients: *clients, ramp: *ramp, warmup: *warmup, duration: *duration, think: *think, seed: *seed, turnTimeout: *turnTO,
			oneSource: !*spread,
		}, *db, *pid, *asJSON)
	}
	hc := newLoadClients(*url, *clients, *spread)
	defer hc.close()
	res, err := runLoad(ctx, hc, *url+"/api/v1/messages", texts, *clients, *perCl, *warmup, *duration, *think, *seed)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(c.stdout, "%d clients, %.1f s: %d messages (%d errors, %d of them rate-limited), %.0f messages/s; reply latency p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		res.Clients, res.Seconds, res.Messages, res.Errors, res.RateLimited, res.Throughput, res.P50ms, res.P95ms, res.P99ms, res.MaxMs)
	for _, e := range res.ErrorSamples {
		fmt.Fprintf(c.stdout, "  error: %s\n", e)
	}
	return nil
}

func (c *loadCommand) runWS(ctx context.Context, cfg wsLoadConfig, db string, pid int, asJSON bool) error {
	res, acked, err := runWSLoad(ctx, cfg)
	if err != nil {
		return err
	}
	if pid > 0 {
		if res.ServerRSSMB, res.ServerPeakRSSMB, err = procMemMB(pid); err != nil {
			return fmt.Errorf("server memory: %w", err)
		}
	}
	if db != "" {
		// The server acknowledges a message only once it is stored, so
		// every acknowledged one must be there.
		if res.Lost, err = checkStored(ctx, db, acked); err != nil {
			return fmt.Errorf("check the CRM: %w", err)
		}
	}
	if asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(c.stdout, "%d web chats, %.1f s: %d messages (%d errors, %d rate-limited, %d unanswered, %d escalations), %.0f replies/s; reply latency p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms; ack p99 %.2f ms\n",
		res.Clients, res.Seconds, res.Messages, res.Errors, res.RateLimited, res.Unanswered, res.Escalations, res.Throughput, res.P50ms, res.P95ms, res.P99ms, res.MaxMs, res.AckP99ms)
	switch {
	case res.Lost >= 0:
		fmt.Fprintf(c.stdout, "acknowledged messages: %d, missing from the CRM: %d\n", res.Acked, res.Lost)
	default:
		fmt.Fprintf(c.stdout, "acknowledged messages: %d (not checked against the CRM: no --db)\n", res.Acked)
	}
	if pid > 0 {
		fmt.Fprintf(c.stdout, "server memory: RSS %.0f MB, peak %.0f MB\n", res.ServerRSSMB, res.ServerPeakRSSMB)
	}
	for _, e := range res.ErrorSamples {
		fmt.Fprintf(c.stdout, "  error: %s\n", e)
	}
	return nil
}

// defaultLoadCustomers is how many customers a REST load client speaks
// for: at 40 ms think time a client sends ~22 messages/s, ~1.1/s per
// customer, and even with no think time (~36/s) under the server's
// default 2/s per customer.
const defaultLoadCustomers = 20

// runLoad runs clients that each send messages back to back (with think
// time) for warmup+duration, and measures the ones sent after warmup.
// Each client speaks for perClient customers in turn, customer j of
// client cl through hc.client(cl*perClient+j) (its own address).
func runLoad(ctx context.Context, hc *loadClients, url string, texts []string, clients, perClient int, warmup, duration, think time.Duration, seed uint64) (loadResult, error) {
	res := loadResult{Clients: clients}
	start := time.Now()
	measureFrom, end := start.Add(warmup), start.Add(warmup+duration)
	var mu sync.Mutex
	var lat []float64
	var wg sync.WaitGroup
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	for cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(cl)))
			customers := make([]string, perClient)
			for j := range customers {
				customers[j] = fmt.Sprintf("load-%s-%d-%d", run, cl, j)
			}
			// Random pauses with a given mean: clients that all waited
			// the same time would arrive in bursts, which measures the
			// bursts, not the server.
			pause := func() time.Duration { return time.Duration(r.ExpFloat64() * float64(think)) }
			if think > 0 {
				time.Sleep(pause())
			}
			var mine []float64
			var errs, limited, sent int
			var samples []string
			for seq := 0; time.Now().Before(end) && ctx.Err() == nil; seq++ {
				j := seq % perClient
				customer := customers[j]
				body, _ := json.Marshal(map[string]any{"customer_id": customer, "text": texts[r.IntN(len(texts))], "client_msg_id": fmt.Sprintf("%s-%d", customer, seq)})
				t0 := time.Now()
				escalated, err := post(ctx, hc.client(cl*perClient+j), url, body)
				el := time.Since(t0)
				if t0.After(measureFrom) {
					sent++
					if err != nil {
						errs++
						if errors.Is(err, errRateLimited) {
							limited++
						}
						if len(samples) < 3 {
							samples = append(samples, err.Error())
						}
					} else {
						mine = append(mine, float64(el.Microseconds())/1000)
					}
				}
				if escalated {
					// A person has this customer now: the next messages
					// would only be recorded. Another customer chats on.
					customers[j] = fmt.Sprintf("load-%s-%d-%d-%d", run, cl, j, seq)
				}
				if think > 0 {
					time.Sleep(pause())
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			res.Messages += sent
			res.Errors += errs
			res.RateLimited += limited
			if len(res.ErrorSamples) < 5 {
				res.ErrorSamples = append(res.ErrorSamples, samples...)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Seconds = duration.Seconds()
	res.Throughput = float64(res.Messages-res.Errors) / duration.Seconds()
	slices.Sort(lat)
	q := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(int(p*float64(len(lat))), len(lat)-1)]
	}
	res.P50ms, res.P95ms, res.P99ms = q(0.50), q(0.95), q(0.99)
	if len(lat) > 0 {
		res.MaxMs = lat[len(lat)-1]
	}
	return res, ctx.Err()
}

// errRateLimited marks a message the server refused for a rate limit.
var errRateLimited = errors.New("rate limited")

func post(ctx context.Context, hc *http.Client, url string, body []byte) (escalated bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var out struct {
		Escalated bool   `json:"escalated"`
		Error     string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return false, fmt.Errorf("HTTP %d: %v", resp.StatusCode, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return false, fmt.Errorf("%w: HTTP 429: %s", errRateLimited, out.Error)
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("HTTP %d: %s", resp.StatusCode, out.Error)
	}
	return out.Escalated, nil
}
