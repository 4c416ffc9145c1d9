package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
)

func readyVersion(t *testing.T, base string) string {
	t.Helper()
	v := readyVersionQuiet(base)
	if v == "" {
		t.Fatalf("GET %s/readyz gave no model version", base)
	}
	return v
}

// waitVersion waits until a server serves an intent model version, and
// returns how long that took.
func waitVersion(t *testing.T, base, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if strings.HasPrefix(readyVersion(t, base), want+"+") {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s still serves %s %v after the promotion of %s", base, readyVersion(t, base), within, want)
	return 0
}

// TestModelPromotion: two servers share one CRM; a promotion reaches
// both within seconds while a customer keeps chatting, a broken model is
// refused (the serving one stays), and a rollback goes back.
func TestModelPromotion(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crm.db")
	// Customers post back to back from one address to keep the servers
	// busy through the promotions: the rate limits are off.
	a, srv := startServe(t, "--db", db, "--model-poll", "100ms", "--ip-rate", "0", "--visitor-rate", "0")
	b, _ := startServe(t, "--db", db, "--model-poll", "100ms", "--ip-rate", "0", "--visitor-rate", "0")
	ctx := context.Background()
	builtinV, err := srv.store.ActiveModel(ctx, intentKind)
	if err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{a, b} {
		waitVersion(t, base, builtinV.Version, time.Second)
	}

	// A customer chats throughout; not one message may fail.
	var failures atomic.Int64
	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				base := []string{a, b}[i%2]
				status, r := postMessageQuiet(base, fmt.Sprintf(`{"customer_id":"promo-%d","text":"how much is shipping","client_msg_id":"m%d"}`, c, i))
				sent.Add(1)
				if status != 200 || len(r.Replies) == 0 {
					failures.Add(1)
				}
			}
		})
	}

	v2, err := srv.store.SaveModelVersion(ctx, crm.ModelVersion{Kind: intentKind, Version: "v2-test", DataHash: builtinV.DataHash, Artifact: builtinV.Artifact, Notes: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.store.PromoteModel(ctx, v2.ID); err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{a, b} {
		if d := waitVersion(t, base, "v2-test", 5*time.Second); d > 5*time.Second {
			t.Errorf("%s took %v to pick up the promotion, want ≤ 5 s", base, d)
		}
	}
	// A corrupt artifact is refused: both keep serving v2.
	broken, err := srv.store.SaveModelVersion(ctx, crm.ModelVersion{Kind: intentKind, Version: "broken", DataHash: "x", Artifact: []byte("not a model")})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.store.PromoteModel(ctx, broken.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	for _, base := range []string{a, b} {
		if v := readyVersion(t, base); !strings.HasPrefix(v, "v2-test+") {
			t.Errorf("%s serves %s after a broken promotion, want v2-test kept", base, v)
		}
	}
	// Rollback to the built-in version.
	if err := srv.store.PromoteModel(ctx, builtinV.ID); err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{a, b} {
		waitVersion(t, base, builtinV.Version, 5*time.Second)
	}
	close(stop)
	wg.Wait()
	if failures.Load() != 0 || sent.Load() < 20 {
		t.Errorf("%d of %d messages failed during the promotions, want none", failures.Load(), sent.Load())
	}
}

// postMessageQuiet is postMessage without failing the test (from
// goroutines): a request that failed is status 0.
func postMessageQuiet(base, body string) (int, apiReply) {
	status, r, _ := sendMessage(base, body)
	return status, r
}

// BenchmarkPromotionUnderLoad runs the dialogue issue's load (50
// clients through the REST API, 40 ms mean think time) for 12 s while
// the intent model is promoted back and forth every 1.5 s, and reports
// failed requests (the target is none), reply latency, and how long each
// promotion took to be served (target ≤ 5 s).
//
//	go test ./cmd/parley -run '^$' -bench PromotionUnderLoad -benchtime 1x
func BenchmarkPromotionUnderLoad(b *testing.B) {
	db := filepath.Join(b.TempDir(), "crm.db")
	base, srv := startServe(b, "--db", db)
	ctx := context.Background()
	v1, err := srv.store.ActiveModel(ctx, intentKind)
	if err != nil {
		b.Fatal(err)
	}
	v2, err := srv.store.SaveModelVersion(ctx, crm.ModelVersion{Kind: intentKind, Version: "v2-bench", DataHash: v1.DataHash, Artifact: v1.Artifact})
	if err != nil {
		b.Fatal(err)
	}
	texts := []string{"how much is shipping", "where is my order 12345", "I want to return my shoes", "my account is locked", "do you ship to Austria"}
	// Customers from many loopback addresses, as in production: from one
	// address the server's per-address limit would refuse this load.
	hc := newLoadClients(base, 50, true)
	defer hc.close()
	for b.Loop() {
		done := make(chan loadResult, 1)
		go func() {
			res, _ := runLoad(ctx, hc, base+"/api/v1/messages", texts, 50, defaultLoadCustomers, time.Second, 12*time.Second, 40*time.Millisecond, 1)
			done <- res
		}()
		var switches []float64
		ids := []crm.ModelVersion{v2, v1}
		for i := 0; i < 7; i++ {
			time.Sleep(1500 * time.Millisecond)
			v := ids[i%2]
			start := time.Now()
			if err := srv.store.PromoteModel(ctx, v.ID); err != nil {
				b.Fatal(err)
			}
			for !strings.HasPrefix(readyVersionQuiet(base), v.Version+"+") {
				if time.Since(start) > 10*time.Second {
					b.Fatalf("promotion of %s not served after 10 s", v.Version)
				}
				time.Sleep(10 * time.Millisecond)
			}
			switches = append(switches, float64(time.Since(start).Milliseconds()))
		}
		res := <-done
		_, _, _, worst := quantiles(switches)
		b.ReportMetric(float64(res.Errors), "failed")
		b.ReportMetric(float64(res.Messages), "messages")
		b.ReportMetric(res.P99ms, "p99-ms")
		b.ReportMetric(worst, "switch-max-ms")
		if res.Errors > 0 {
			b.Errorf("%d requests failed during promotions: %v", res.Errors, res.ErrorSamples)
		}
	}
}

func readyVersionQuiet(base string) string {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var r struct {
		Model string `json:"intent_model"`
	}
	json.NewDecoder(resp.Body).Decode(&r)
	return r.Model
}
