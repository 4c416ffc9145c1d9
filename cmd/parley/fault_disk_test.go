package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm/sqlite"
)

// smallDisk mounts a tmpfs of size bytes on a new directory: a disk the
// test can fill and free. It needs root (CAP_SYS_ADMIN); elsewhere the
// test is skipped, saying why.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes a file until the disk refuses more, and returns it.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the disk: %v", err)
			}
			return path
		}
	}
}

type postResult struct {
	status     int
	retryAfter string
	errText    string
}

func postTurn(base, customer, id, text string) (postResult, error) {
	body, _ := json.Marshal(map[string]string{"customer_id": customer, "client_msg_id": id, "text": text})
	resp, err := http.Post(base+"/api/v1/messages", "application/json", strings.NewReader(string(body)))
	if err != nil {
		return postResult{}, err
	}
	defer resp.Body.Close()
	var v struct {
		Error string `json:"error"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &v); err != nil {
		return postResult{}, fmt.Errorf("response %d is not JSON: %q", resp.StatusCode, b)
	}
	return postResult{resp.StatusCode, resp.Header.Get("Retry-After"), v.Error}, nil
}

func readyStatus(base string) (int, string) {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDiskFull: the CRM's disk fills up under a running server. Messages
// are refused with a clear 503 (Retry-After, "retry with the same
// client_msg_id") instead of a 500, /readyz says the CRM is not
// writable, nothing acknowledged is lost; once space returns the same
// messages are taken and the server is ready again, without a restart.
// Then the disk is made read-only: the server refuses to start, saying
// so, and starts once it is writable again.
func TestDiskFull(t *testing.T) {
	dir := smallDisk(t, "96m")
	db := filepath.Join(dir, "crm.db")
	// One address sends as fast as the server answers: no rate limits.
	noLimits := []string{"--ip-rate", "0", "--visitor-rate", "0"}
	cmd, base := serveProcess(t, db, noLimits...)
	acked := map[string]bool{}
	send := func(i int) (postResult, string) {
		t.Helper()
		id, customer := fmt.Sprintf("m%d", i), fmt.Sprintf("c%d", i%7)
		r, err := postTurn(base, customer, id, fmt.Sprintf("where is my order %d? %s", 10000+i, strings.Repeat(fmt.Sprintf("it is late, day %d. ", i), 300)))
		if err != nil {
			t.Fatal(err)
		}
		if r.status == http.StatusOK {
			acked[customer+"/"+id] = true // as the API stores it
		}
		return r, id
	}
	for i := range 20 {
		if r, _ := send(i); r.status != http.StatusOK {
			t.Fatalf("before the disk filled: %+v", r)
		}
	}
	filler := fill(t, dir)
	// SQLite reuses its WAL and the database's free pages: large messages
	// until refused.
	var refused []string
	var first postResult
	for i := 20; i < 2000 && len(refused) < 5; i++ {
		r, id := send(i)
		switch {
		case r.status == http.StatusOK:
		case r.status == http.StatusServiceUnavailable:
			if len(refused) == 0 {
				first = r
			}
			refused = append(refused, id)
		default:
			t.Fatalf("message %s on a full disk: %+v, want 200 or 503", id, r)
		}
	}
	if len(refused) == 0 {
		out, _ := exec.Command("ls", "-la", dir).CombinedOutput()
		t.Fatalf("the full disk never refused a message:\n%s", out)
	}
	if first.retryAfter == "" || !strings.Contains(first.errText, "cannot store messages right now") || !strings.Contains(first.errText, "client_msg_id") {
		t.Errorf("refusal on a full disk: %+v, want Retry-After and a clear retry message", first)
	}
	eventually(t, "/readyz to report the CRM not writable", func() bool {
		code, body := readyStatus(base)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "not writable")
	})
	// Space returns: the refused messages, sent again as a client would,
	// are taken; the server is ready again.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for _, id := range refused {
		var i int
		fmt.Sscanf(id, "m%d", &i)
		if r, _ := send(i); r.status != http.StatusOK {
			t.Fatalf("resend of %s after space returned: %+v", id, r)
		}
	}
	eventually(t, "/readyz to recover", func() bool { code, _ := readyStatus(base); return code == http.StatusOK })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	lost, err := missingAPIMessages(db, acked)
	if err != nil || lost != 0 {
		t.Fatalf("%d of %d acknowledged messages missing (%v)", lost, len(acked), err)
	}
	t.Logf("full disk: %d messages acknowledged, %d refused with 503 then taken on resend, none lost", len(acked), len(refused))

	// A read-only disk: serve refuses to start, with the reason.
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount read-only: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ro := exec.CommandContext(ctx, parleyBinary(t), "serve", "--db", db, "--addr", "127.0.0.1:0", "--log-format", "text")
	ro.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := ro.CombinedOutput()
	if err == nil || ctx.Err() != nil || !strings.Contains(string(out), "read-only") {
		t.Errorf("serve on a read-only disk: %v\n%s\nwant it to exit at once, saying the CRM is read-only", err, out)
	}
	t.Logf("serve on a read-only disk: %s", strings.TrimSpace(string(out)))
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT, ""); err != nil {
		t.Fatalf("remount read-write: %v", err)
	}
	_, base = serveProcess(t, db, noLimits...)
	if r, err := postTurn(base, "c1", "after-ro", "hello again"); err != nil || r.status != http.StatusOK {
		t.Fatalf("after the disk is writable again: %+v %v", r, err)
	}
}

// missingAPIMessages counts the REST messages (by client_msg_id) that
// are not in the CRM at db.
func missingAPIMessages(db string, acked map[string]bool) (int, error) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, db)
	if err != nil {
		return 0, err
	}
	defer store.Close()
	have := map[string]bool{}
	custs, err := store.Customers(ctx, 0, 0)
	if err != nil {
		return 0, err
	}
	for _, c := range custs {
		if err := customerMsgIDs(ctx, store, c.ID, have); err != nil {
			return 0, err
		}
	}
	n := 0
	for id := range acked {
		if !have[id] {
			n++
		}
	}
	return n, nil
}
