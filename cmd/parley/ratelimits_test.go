package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-chat/parley/crm"
)

// Bad rate-limit settings are reported with the other problems, each
// with where it came from.
func TestLimitConfigProblems(t *testing.T) {
	cfg := writeFile(t, "parley.yml", "visitor-burst: 0\ntrusted-proxies: 10.0.0.0/8, 10.0.0.0/33\n")
	var errb bytes.Buffer
	cmd := &serveCommand{stdout: &errb, stderr: &errb, getenv: func(k string) string {
		return map[string]string{"PARLEY_IP_RATE": "-1"}[k]
	}}
	err := cmd.Run(context.Background(), []string{"--config", cfg, "--handshake-rate", "NaN", "--db", filepath.Join(t.TempDir(), "x.db")})
	if err == nil {
		t.Fatal("serve started with broken rate limits")
	}
	for _, want := range []string{
		`PARLEY_IP_RATE: ip-rate "-1"`,
		cfg + `:1: visitor-burst 0: want at least 1`,
		`--handshake-rate: handshake-rate "NaN"`,
		cfg + `:2: trusted-proxies: "10.0.0.0/33" is not a network`,
		"4 problem(s)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not report %q:\n%v", want, err)
		}
	}
	// 0 turns a limit off, whatever its burst.
	var out bytes.Buffer
	c := &configCommand{stdout: &out, stderr: &out}
	if err := c.Run(context.Background(), []string{"print", "--ip-rate", "0", "--ip-burst", "0"}); err != nil {
		t.Errorf("config print --ip-rate 0 --ip-burst 0: %v, want accepted (the limit is off)", err)
	}
	if got := out.String(); !strings.Contains(got, `ip-rate: "0"`) || !strings.Contains(got, `visitor-rate: "2"`) || !strings.Contains(got, `handshake-burst: "20"`) {
		t.Errorf("config print lacks the limits:\n%s", got)
	}
}

// TestRateLimitsE2E runs serve with its default limits: a script posting
// from one address as fast as it can gets 429s, while another address
// chats on; a customer typing too fast is limited on its own; a flood of
// new web chats is refused before the upgrade; nothing refused reached
// the CRM; /metrics counts the refusals.
func TestRateLimitsE2E(t *testing.T) {
	if !canBindLoopback() {
		t.Skip("needs 127/8 addresses besides 127.0.0.1 to be a second client")
	}
	base, srv := startServe(t, "--db", filepath.Join(t.TempDir(), "crm.db"))
	from := func(slot int) *http.Client {
		return &http.Client{Transport: &http.Transport{DialContext: dialerFrom(sourceAddr(slot)).DialContext}, Timeout: 10 * time.Second}
	}
	type result struct {
		customer   string
		status     int
		retryAfter string
		errMsg     string
	}
	post := func(hc *http.Client, customer, id string) result {
		t.Helper()
		body := fmt.Sprintf(`{"customer_id":%q,"text":"how much is shipping","client_msg_id":%q}`, customer, id)
		resp, err := hc.Post(base+"/api/v1/messages", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r apiReply
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatalf("POST %s: %d, body not JSON: %v", body, resp.StatusCode, err)
		}
		return result{customer, resp.StatusCode, resp.Header.Get("Retry-After"), r.Error}
	}

	// The script: a new customer id each time, so only the address limit
	// (burst 40, 20/s) can stop it.
	script := &http.Client{Timeout: 10 * time.Second} // from 127.0.0.1
	var res []result
	start := time.Now()
	for i := range 80 {
		res = append(res, post(script, fmt.Sprintf("script-%d", i), fmt.Sprintf("s%d", i)))
	}
	elapsed := time.Since(start)
	ok, limited := 0, 0
	for _, r := range res {
		switch r.status {
		case 200:
			ok++
		case 429:
			limited++
			if n, err := strconv.Atoi(r.retryAfter); err != nil || n < 1 || !strings.Contains(r.errMsg, "too many requests from your address") {
				t.Errorf("429 for %s: Retry-After %q, error %q; want whole seconds ≥ 1 and the reason", r.customer, r.retryAfter, r.errMsg)
			}
		default:
			t.Errorf("script post %s: status %d (%s), want 200 or 429", r.customer, r.status, r.errMsg)
		}
	}
	if maxOK := 40 + int(20*elapsed.Seconds()) + 1; ok < 40 || ok > maxOK || limited == 0 {
		t.Errorf("80 posts from one address in %v: %d taken, %d refused; want 40 to %d taken, the rest refused", elapsed, ok, limited, maxOK)
	}
	// Meanwhile another address is not affected.
	other := from(1)
	for i := range 5 {
		if r := post(other, fmt.Sprintf("neighbour-%d", i), fmt.Sprintf("n%d", i)); r.status != 200 {
			t.Errorf("another address, post %d: %d %q, want 200", i, r.status, r.errMsg)
		}
	}
	// Nothing refused is in the CRM; everything taken is.
	ctx := context.Background()
	for _, r := range res {
		_, err := srv.store.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDAPI, Value: r.customer})
		if stored := err == nil; stored != (r.status == 200) {
			t.Errorf("customer %s: answered %d, in the CRM: %v (%v)", r.customer, r.status, stored, err)
		}
	}

	// One customer typing too fast, from a third address: its own burst
	// of 10, then 429.
	typist := from(2)
	var statuses []int
	for i := range 12 {
		r := post(typist, "typist", fmt.Sprintf("t%d", i))
		statuses = append(statuses, r.status)
		if r.status == 429 && !strings.Contains(r.errMsg, "too many messages for this customer") {
			t.Errorf("the typist's 429: %q, want the customer limit named", r.errMsg)
		}
	}
	if fmt.Sprint(statuses[:10]) != fmt.Sprint([]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200}) || statuses[11] != 429 {
		t.Errorf("one customer posting 12 at once: %v, want 10 taken, then 429", statuses)
	}

	// A flood of new web chats from a fourth address: refused with 429
	// before the upgrade after the burst of 20.
	flood := from(3)
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	accepted, refused := 0, 0
	for range 25 {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		ws, resp, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{HTTPClient: &http.Client{Transport: flood.Transport}})
		cancel()
		switch {
		case err == nil:
			accepted++
			ws.CloseNow()
		case resp != nil && resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "":
			refused++
		default:
			t.Fatalf("web chat handshake: %v (%v), want accepted or 429 with Retry-After", err, resp)
		}
	}
	if accepted < 20 || accepted > 21 || refused == 0 {
		t.Errorf("25 handshakes at once from one address: %d accepted, %d refused; want the burst of 20 accepted, the rest refused", accepted, refused)
	}

	samples, _ := scrapeMetrics(t, base)
	for series, want := range map[string]float64{
		`parley_rate_limited_total{limit="ip",surface="api"}`:            float64(limited),
		`parley_rate_limited_total{limit="visitor",surface="api"}`:       float64(12 - strings.Count(fmt.Sprint(statuses), "200")),
		`parley_rate_limited_total{limit="handshake",surface="webchat"}`: float64(refused),
		`parley_rate_limited_total{limit="ip",surface="webchat"}`:        0,
	} {
		if got, ok := samples[series]; !ok || got != want {
			t.Errorf("/metrics %s = %v (present %v), want %v", series, got, ok, want)
		}
	}
}
