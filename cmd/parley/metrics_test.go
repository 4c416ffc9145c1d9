package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-chat/parley/crm"
)

// scrapeMetrics returns /metrics' samples, keyed by the series as
// exposed (`name{label="value",...}`), and the whole text.
func scrapeMetrics(t *testing.T, base string) (map[string]float64, string) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	samples, err := parseMetrics(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	return samples, string(body)
}

func getReady(t *testing.T, base string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("/readyz is not JSON: %v", err)
	}
	return resp.StatusCode, r
}

// TestMetricsAndReady drives serve over REST and one web chat, and
// checks that /metrics moves with bounded labels and no customer text,
// and that /readyz follows the database.
func TestMetricsAndReady(t *testing.T) {
	base, s := startServe(t, "--db", filepath.Join(t.TempDir(), "crm.db"), "--model-poll", "0")
	status, ready := getReady(t, base)
	if status != 200 || ready["status"] != "ready" || ready["intent_model"] == "" {
		t.Fatalf("GET /readyz on a fresh server: %d %v, want 200 ready with the model", status, ready)
	}
	// Canaries: text and ids that must never reach /metrics.
	const canary, customer = "zebracanary", "cust-canary-77"
	for i, tc := range []struct{ text, intent string }{
		{"where is my order? " + canary, "order_status"},
		{"I want to talk to a human", "talk_to_human"},
	} {
		body := `{"customer_id":"` + customer + strconv.Itoa(i) + `","text":"` + tc.text + `","client_msg_id":"m` + strconv.Itoa(i) + `"}`
		if code, r := postMessage(t, base, body); code != 200 || r.Intent.Name != tc.intent {
			t.Fatalf("POST %s: %d %+v, want 200 intent %s", body, code, r, tc.intent)
		}
	}

	// One web chat, left open while scraping.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	send := func(v map[string]any) {
		b, _ := json.Marshal(v)
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatalf("web chat send %v: %v", v, err)
		}
	}
	waitFrame := func(ok func(wsFrame) bool) {
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("web chat: %v", err)
			}
			var f wsFrame
			if json.Unmarshal(b, &f) == nil && ok(f) {
				return
			}
		}
	}
	send(map[string]any{"type": "hello", "visitor": "v_" + customer})
	waitFrame(func(f wsFrame) bool { return f.Type == "welcome" })
	send(map[string]any{"type": "message", "id": "w1", "text": "hello " + canary})
	waitFrame(func(f wsFrame) bool { return f.Type == "message" && f.From == "bot" })

	samples, text := scrapeMetrics(t, base)
	intentVersion := strings.SplitN(ready["intent_model"], "+", 2)[0]
	for series, want := range map[string]float64{
		`parley_messages_total{action="ask",channel="api",intent="order_status"}`:       1,
		`parley_messages_total{action="escalate",channel="api",intent="talk_to_human"}`: 1,
		`parley_escalations_total{channel="api",reason="asked_for_person"}`:             1,
		`parley_reply_seconds_count{channel="api"}`:                                     2,
		`parley_reply_seconds_count{channel="webchat"}`:                                 1,
		`parley_reply_seconds_bucket{channel="api",le="+Inf"}`:                          2,
		`parley_webchat_connections`:                                                    1,
		`parley_db_seconds_count{op="log_interaction"}`:                                 3,
		`parley_db_seconds_count{op="ready_check"}`:                                     1,
		`parley_model_info{kind="intent",version="` + intentVersion + `"}`:              1,
		`parley_outbox_depth{channel="slack"}`:                                          0,
		`parley_outbox_depth{channel="webchat"}`:                                        0,
	} {
		if got, ok := samples[series]; !ok || got != want {
			t.Errorf("/metrics %s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	var web float64
	for series, v := range samples {
		if strings.HasPrefix(series, "parley_messages_total{") && strings.Contains(series, `channel="webchat"`) {
			web += v
		}
	}
	if web != 1 {
		t.Errorf("parley_messages_total for webchat sums to %v, want 1 (the one web chat message)", web)
	}
	for _, leak := range []string{canary, customer, "talk to a human", "where is my order"} {
		if strings.Contains(text, leak) {
			t.Errorf("/metrics contains %q: customer text or ids leaked into it", leak)
		}
	}
	for _, std := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := samples[std]; !ok {
			t.Errorf("/metrics lacks %s: want the Go and process collectors", std)
		}
	}
	ws.Close(websocket.StatusNormalClosure, "")

	// A database that takes no writes: not ready, and the reason says
	// why without the file's path.
	if err := s.store.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // /readyz trusts a successful write for a second
	status, ready = getReady(t, base)
	if status != http.StatusServiceUnavailable || ready["reason"] != "database not writable" {
		t.Errorf("GET /readyz with the CRM closed: %d %v, want 503 database not writable", status, ready)
	}
	if strings.Contains(ready["reason"], "crm.db") {
		t.Errorf("/readyz reason %q names the database file", ready["reason"])
	}
}

// TestMetricsModelSwap: a promoted model replaces the old one in
// parley_model_info, so the gauge is 1 for the serving versions only.
func TestMetricsModelSwap(t *testing.T) {
	base, s := startServe(t, "--db", filepath.Join(t.TempDir(), "crm.db"), "--model-poll", "100ms")
	ctx := context.Background()
	old, err := s.store.ActiveModel(ctx, intentKind)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := s.store.SaveModelVersion(ctx, crm.ModelVersion{Kind: intentKind, Version: "v2-metrics", DataHash: old.DataHash, Artifact: old.Artifact, Notes: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.PromoteModel(ctx, v2.ID); err != nil {
		t.Fatal(err)
	}
	waitVersion(t, base, "v2-metrics", 5*time.Second)
	samples, _ := scrapeMetrics(t, base)
	if got := samples[`parley_model_info{kind="intent",version="v2-metrics"}`]; got != 1 {
		t.Errorf(`parley_model_info{kind="intent",version="v2-metrics"} = %v after the promotion, want 1`, got)
	}
	if got, ok := samples[`parley_model_info{kind="intent",version="`+old.Version+`"}`]; ok {
		t.Errorf("parley_model_info still has the replaced version %s (= %v)", old.Version, got)
	}
}
