package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/parley-chat/parley/bot/slackbot/slackfake"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/sqlite"
	"github.com/parley-chat/parley/intents/builtin"
)

// Fault tests run the real binary as a separate process, so that it can
// be killed like a crashed server.

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// parleyBinary builds cmd/parley once per test run.
func parleyBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary: skipped with -short")
	}
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "parley-bin")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "parley")
		out, err := exec.Command("go", "build", "-o", binaryPath, ".").CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

var listeningRE = regexp.MustCompile(`msg=listening url=(\S+)`)

// serveProcess starts `parley serve` on db (with extra flags) and
// returns its base URL.
func serveProcess(t testing.TB, db string, flags ...string) (*exec.Cmd, string) {
	t.Helper()
	return serveProcessWith(t, nil, append([]string{"--db", db}, flags...)...)
}

// serveProcessWith starts `parley serve` with args and only env (no
// Slack unless env says so, nothing inherited) and returns its base URL.
func serveProcessWith(t testing.TB, env map[string]string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(parleyBinary(t), append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "text"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	select {
	case u := <-urlc:
		return cmd, u
	case <-time.After(60 * time.Second):
		t.Fatal("the server did not start")
		return nil, ""
	}
}

// TestKillDuringWebChatLoad: SIGKILL of the server in the middle of a
// web chat load, then a restart on the same CRM file: every message the
// server acknowledged is in the CRM, and has the bot's reply (which the
// widget receives when it reconnects) unless a person took over.
// PARLEY_FAULT_CYCLES repeats kill and restart under load on the same
// file (.ci/kill-cycles runs the 20 cycles of 1,000 chats).
func TestKillDuringWebChatLoad(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crm.db")
	test, err := builtin.Dataset(builtin.IntentTest)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range test.Examples {
		texts = append(texts, e.Text)
	}
	// 100 chats in CI; PARLEY_FAULT_CLIENTS=1000 for the full load.
	clients := 100
	if v, err := strconv.Atoi(os.Getenv("PARLEY_FAULT_CLIENTS")); err == nil && v > 0 {
		clients = v
	}
	cycles := 1
	if v, err := strconv.Atoi(os.Getenv("PARLEY_FAULT_CYCLES")); err == nil && v > 0 {
		cycles = v
	}
	think := time.Duration(clients) * time.Millisecond // ~1,000 messages/s at most
	var all []ackedMsg
	for cycle := 1; cycle <= cycles; cycle++ {
		// The restarted server opens the same file: its recovery must
		// keep every committed transaction of the cycles before.
		cmd, base := serveProcess(t, db)
		if resp, err := http.Get(base + "/readyz"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("cycle %d: server not ready: %v %v", cycle, resp, err)
		}
		if cycle > 1 {
			lost, err := checkStored(context.Background(), db, all)
			if err != nil || lost != 0 {
				t.Fatalf("cycle %d: %d of %d acknowledged messages missing after SIGKILL and restart (%v)", cycle, lost, len(all), err)
			}
		}
		kill := time.AfterFunc(2500*time.Millisecond, func() { cmd.Process.Signal(syscall.SIGKILL) })
		res, acked, err := runWSLoad(context.Background(), wsLoadConfig{
			url: strings.Replace(base, "http", "ws", 1) + "/ws", texts: texts, clients: clients,
			ramp: 500 * time.Millisecond, warmup: 0, duration: 4 * time.Second, think: think, seed: uint64(cycle), turnTimeout: 2 * time.Second,
		})
		kill.Stop()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Process.Signal(syscall.SIGKILL) // in case the load ended first
		cmd.Wait()
		// A floor, so that the test is not vacuous: 2.5 s of load on a
		// busy 2-core machine acknowledges a few hundred to 2,000.
		if len(acked) < 50 {
			t.Fatalf("cycle %d: only %d messages acknowledged before the kill: the test needs load (load: %+v)", cycle, len(acked), res)
		}
		all = append(all, acked...)
		if cycles > 1 {
			t.Logf("cycle %d: SIGKILL after 2.5 s of %d chats, %d messages acknowledged (%d in all); ack p99 %.0f ms", cycle, clients, len(acked), len(all), res.AckP99ms)
		}
	}
	_, base := serveProcess(t, db)
	if resp, err := http.Get(base + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("restarted server not ready: %v %v", resp, err)
	}
	lost, err := checkStored(context.Background(), db, all)
	if err != nil || lost != 0 {
		t.Fatalf("%d of %d acknowledged messages missing after SIGKILL and restart (%v)", lost, len(all), err)
	}
	unanswered, err := unansweredAcked(db, all)
	if err != nil || unanswered != 0 {
		t.Errorf("%d of %d acknowledged messages have no reply stored (%v)", unanswered, len(all), err)
	}
	t.Logf("%d chats, %d SIGKILL/restart cycles: %d messages acknowledged, all in the CRM with their replies", clients, cycles, len(all))
}

// unansweredAcked counts acknowledged messages with no bot reply after
// them in their conversation, not counting ones a person owns.
func unansweredAcked(db string, acked []ackedMsg) (int, error) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, db)
	if err != nil {
		return 0, err
	}
	defer store.Close()
	want := map[string]bool{}
	visitors := map[string]bool{}
	for _, a := range acked {
		want[a.visitor+":"+a.id] = true
		visitors[a.visitor] = true
	}
	n := 0
	for v := range visitors {
		cust, err := store.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDWebVisitor, Value: v})
		if err != nil {
			return 0, err
		}
		convs, err := store.Conversations(ctx, crm.ConversationFilter{CustomerID: cust.ID})
		if err != nil {
			return 0, err
		}
		for _, c := range convs {
			msgs, err := store.Messages(ctx, c.ID)
			if err != nil {
				return 0, err
			}
			for i, m := range msgs {
				if !want[m.ChannelMsgID] || m.Action == "handoff" {
					continue
				}
				if i+1 >= len(msgs) || msgs[i+1].Direction != crm.FromBot {
					n++
				}
			}
		}
	}
	return n, nil
}

// TestTerminateDrains: SIGTERM while requests are in flight — each one
// finishes with its reply, the server exits cleanly, and everything
// answered is in the CRM.
func TestTerminateDrains(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crm.db")
	// 20 customers posting back to back from one address: a drain under
	// load, not an abuse test, so the rate limits are off.
	cmd, base := serveProcess(t, db, "--ip-rate", "0", "--visitor-rate", "0")
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered, refused, failed := 0, 0, 0
	start := make(chan struct{})
	for c := range 20 {
		wg.Go(func() {
			<-start
			for i := range 30 {
				status, r := postMessageQuiet(base, fmt.Sprintf(`{"customer_id":"term-%d","text":"how much is shipping","client_msg_id":"t%d-%d"}`, c, c, i))
				mu.Lock()
				switch {
				case status == 200 && len(r.Replies) > 0:
					answered++
				case status == 0: // connection refused: the server had stopped accepting
					refused++
				default:
					failed++
				}
				mu.Unlock()
				if status == 0 {
					return
				}
			}
		})
	}
	close(start)
	time.Sleep(300 * time.Millisecond)
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	took := time.Since(sent)
	wg.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	if err != nil {
		t.Errorf("serve exited with %v after SIGTERM, want 0", err)
	}
	if took > shutdownTimeout+2*time.Second {
		t.Errorf("draining took %v, want within the %v deadline", took, shutdownTimeout)
	}
	if failed != 0 || answered == 0 {
		t.Errorf("during shutdown: %d answered, %d refused, %d failed; want none failed", answered, refused, failed)
	}
	store, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	n := 0
	for c := range 20 {
		cust, err := store.CustomerByExternalID(context.Background(), crm.ExternalID{Kind: crm.IDAPI, Value: fmt.Sprintf("term-%d", c)})
		if err != nil {
			continue
		}
		convs, _ := store.Conversations(context.Background(), crm.ConversationFilter{CustomerID: cust.ID})
		for _, cv := range convs {
			msgs, _ := store.Messages(context.Background(), cv.ID)
			for _, m := range msgs {
				if m.Direction == crm.FromCustomer {
					n++
				}
			}
		}
	}
	if n < answered {
		t.Errorf("%d messages answered but only %d in the CRM", answered, n)
	}
}

// TestSlowSlackDoesNotBlockWebChat: with Slack's API taking 1.5 s a call
// and then failing, web chat customers — including one whose escalation
// must be posted to the staff channel — are answered at once.
func TestSlowSlackDoesNotBlockWebChat(t *testing.T) {
	base, _, fake := startSlackServe(t, false)
	fake.SetLatency(1500 * time.Millisecond)
	fake.Fail("chat.postMessage", slackfake.Fault{Kind: slackfake.ServerError})
	wsURL := strings.Replace(base, "http", "ws", 1) + "/ws"
	for c, texts := range [][]string{
		{"I want to talk to a human", "hello? still there"},
		{"how much is shipping", "where is my order 12345", "do you ship to Austria"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		ws, _, err := websocket.Dial(ctx, wsURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		wsjson.Write(ctx, ws, map[string]any{"type": "hello", "visitor": fmt.Sprintf("v_slow_slack_%d", c)})
		for i, text := range texts {
			start := time.Now()
			wsjson.Write(ctx, ws, map[string]any{"type": "message", "id": fmt.Sprintf("m%d", i), "text": text})
			// The turn ends with the typing indicator going off, after the
			// ack and the replies.
			acked := false
			for {
				var f struct {
					Type string
					ID   string
					On   *bool
				}
				if err := wsjson.Read(ctx, ws, &f); err != nil {
					t.Fatalf("%q: %v", text, err)
				}
				acked = acked || (f.Type == "ack" && f.ID == fmt.Sprintf("m%d", i))
				if f.Type == "typing" && f.On != nil && !*f.On && acked {
					break
				}
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("%q took %v with a slow Slack, want well under a second", text, d)
			}
		}
		ws.Close(websocket.StatusNormalClosure, "")
		cancel()
	}
	// The escalation did go out, once Slack answered.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := fake.WaitPosted(ctx, 1, func(m slackfake.Message) bool { return m.Channel == e2eStaffCh }); err != nil {
		t.Errorf("the escalation summary never reached the staff channel: %v", err)
	}
}
