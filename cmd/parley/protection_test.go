package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/sqlite"
)

func TestParseRedactKinds(t *testing.T) {
	for _, tt := range []struct {
		in        string
		allowNone bool
		want      crm.PII
		err       bool
	}{
		{"email", false, crm.PIIEmail, false},
		{"email, card", false, crm.PIIEmail | crm.PIICard, false},
		{"all", false, crm.PIIAll, false},
		{"phone,all", true, crm.PIIAll, false},
		{"none", true, 0, false},
		{"none", false, 0, true},
		{"email,none", true, 0, true},
		{"fax", true, 0, true},
		{"email,", false, 0, true},
		{"", false, 0, true},
	} {
		got, err := parseRedactKinds(tt.in, tt.allowNone)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("parseRedactKinds(%q, %v) = %v, %v; want %v, error %v", tt.in, tt.allowNone, got, err, tt.want, tt.err)
		}
	}
}

// oldCRM writes a CRM whose messages (with an email address) were
// logged days ago, for the retention job to find.
func oldCRM(t *testing.T, path string, at time.Time, n int) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.WithClock(func() time.Time { return at }), sqlite.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := s.LogInteraction(ctx, crm.Interaction{
			Channel:  crm.ChannelAPI,
			Customer: crm.ExternalID{Kind: crm.IDAPI, Value: fmt.Sprintf("old%d", i)},
			Message:  crm.Message{Direction: crm.FromCustomer, Text: fmt.Sprintf("I am old%d@example.com", i), ChannelMsgID: fmt.Sprintf("old-%d", i), Intent: "contact"},
			Replies:  []crm.Message{{Direction: crm.FromBot, Text: "noted"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// webChat sends one message over the web chat WebSocket and waits for
// the bot's answer.
func webChat(t *testing.T, base, visitor, text string) {
	t.Helper()
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
	wait := func(ok func(f map[string]any) bool) {
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("web chat: %v", err)
			}
			var f map[string]any
			if json.Unmarshal(b, &f) == nil && ok(f) {
				return
			}
		}
	}
	send(map[string]any{"type": "hello", "visitor": visitor})
	wait(func(f map[string]any) bool { return f["type"] == "welcome" })
	send(map[string]any{"type": "message", "id": "w1", "text": text})
	wait(func(f map[string]any) bool { return f["type"] == "message" && f["from"] == "bot" })
}

// eventually polls cond until it holds or 15 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestServeDataProtection runs serve with every data-protection setting:
// per-channel redaction (web masks emails, the API nothing), retention
// of a CRM with old messages (at start), and scheduled backups into a
// directory that holds older backups and a user's files.
func TestServeDataProtection(t *testing.T) {
	dir := t.TempDir()
	db, backups := filepath.Join(dir, "crm.db"), filepath.Join(dir, "backups")
	oldCRM(t, db, time.Now().Add(-72*time.Hour), 3)
	os.Mkdir(backups, 0o700)
	mine := map[string]string{"notes.txt": "mine", "parley-manual.db": "mine too"}
	for n, text := range mine {
		os.WriteFile(filepath.Join(backups, n), []byte(text), 0o600)
	}
	stale := []string{"parley-20200101T000000Z.db", "parley-20200102T000000Z.db", "parley-20200103T000000Z.db"}
	for _, n := range stale {
		os.WriteFile(filepath.Join(backups, n), []byte("an old backup"), 0o600)
	}
	base, srv, logs := startServeEnv(t, nil, "--db", db, "--redact-web", "email", "--redact-api", "none",
		"--retain-days", "1", "--retain-mode", "delete", "--backup-dir", backups, "--backup-every", "1s", "--backup-keep", "2")
	ctx := context.Background()

	// Retention ran at start: the old words are gone, the rows kept.
	eventually(t, "retention of the old messages", func() bool {
		msgs, _ := srv.store.InboxMessages(ctx, crm.MessageFilter{Limit: 100})
		return len(msgs) == 0
	})
	convs, err := srv.store.Conversations(ctx, crm.ConversationFilter{Limit: 100})
	if err != nil || len(convs) != 3 {
		t.Fatalf("conversations after retention: %d, %v; want the 3 old ones", len(convs), err)
	}
	for _, c := range convs {
		msgs, _ := srv.store.Messages(ctx, c.ID)
		if len(msgs) != 2 || msgs[0].Text != "" || msgs[0].Expired != crm.ExpireDelete || msgs[0].Intent != "contact" {
			t.Errorf("old conversation %d after retention: %+v, want 2 messages, text deleted, intent kept", c.ID, msgs)
		}
	}

	// Per-channel redaction.
	status, r := postMessage(t, base, `{"customer_id":"api1","text":"my email is ann@example.com","client_msg_id":"a1"}`)
	if status != 200 {
		t.Fatalf("POST: %d %+v", status, r)
	}
	webChat(t, base, "v_protect_web_1", "my email is ann@example.com")
	visitor, err := srv.store.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDWebVisitor, Value: "v_protect_web_1"})
	if err != nil {
		t.Fatal(err)
	}
	webConvs, err := srv.store.Conversations(ctx, crm.ConversationFilter{CustomerID: visitor.ID})
	if err != nil || len(webConvs) != 1 {
		t.Fatalf("the web chat's conversations: %+v, %v", webConvs, err)
	}
	webConv := webConvs[0].ID
	for _, tt := range []struct {
		conv int64
		want string
	}{
		{r.ConversationID, "my email is ann@example.com"},
		{webConv, "my email is [email]"},
	} {
		msgs, err := srv.store.Messages(ctx, tt.conv)
		if err != nil || len(msgs) == 0 || msgs[0].Text != tt.want {
			t.Errorf("conversation %d: %+v, %v; want the message stored as %q", tt.conv, msgs, err, tt.want)
		}
	}

	// Backups: one at start (the newest in the directory was years old),
	// then every second; rotation keeps two of ours and none of theirs
	// is touched. A later one holds the messages logged above.
	var newest sqlite.BackupFile
	eventually(t, "a backup holding the new messages", func() bool {
		files, err := sqlite.Backups(backups)
		if err != nil || len(files) == 0 {
			return false
		}
		newest = files[len(files)-1]
		if newest.Time.Year() == 2020 || sqlite.VerifyBackup(ctx, newest.Path) != nil {
			return false
		}
		return queryCount(t, newest.Path, `SELECT COUNT(*) FROM messages WHERE text = 'my email is ann@example.com'`) == 1
	})
	eventually(t, "rotation down to two backups", func() bool {
		files, _ := sqlite.Backups(backups)
		return len(files) == 2 && files[0].Time.Year() > 2020
	})
	for n, text := range mine {
		if b, err := os.ReadFile(filepath.Join(backups, n)); err != nil || string(b) != text {
			t.Errorf("the user's %s after rotation: %q, %v", n, b, err)
		}
	}
	samples, _ := scrapeMetrics(t, base)
	if v := samples[`parley_retention_expired_total{record="messages"}`]; v != 6 {
		t.Errorf("parley_retention_expired_total{record=messages} = %v, want 6", v)
	}
	if v := samples["parley_backup_last_success_timestamp_seconds"]; v < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("parley_backup_last_success_timestamp_seconds = %v, want a recent time", v)
	}
	if v, ok := samples["parley_backup_failures_total"]; !ok || v != 0 {
		t.Errorf("parley_backup_failures_total = %v (present %v), want 0", v, ok)
	}
	for _, want := range []string{"retention expired old data", "backup written"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}
}

func queryCount(t *testing.T, path, query string) int {
	t.Helper()
	n, err := countIn(path, query)
	if err != nil {
		t.Fatalf("%s in %s: %v", query, path, err)
	}
	return n
}

// The data-protection settings are checked with the rest of the
// configuration, every problem at once.
func TestConfigProtectionProblems(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o600)
	var errb bytes.Buffer
	cmd := &serveCommand{stdout: &errb, stderr: &errb, getenv: func(k string) string {
		return map[string]string{"PARLEY_REDACT_SLACK": "email,fax", "PARLEY_BACKUP_KEEP": "0"}[k]
	}}
	err := cmd.Run(context.Background(), []string{"--db", filepath.Join(dir, "x.db"), "--redact", "none",
		"--redact-web", "emails", "--retain-days", "-1", "--retain-mode", "shred", "--retain-every", "0s",
		"--backup-every", "5m", "--redact-api", "none"})
	if err == nil {
		t.Fatal("serve started with a broken configuration")
	}
	for _, want := range []string{
		`--redact: redact "none": unknown kind "none"`,
		`--redact-web: redact-web "emails": unknown kind "emails"`,
		`PARLEY_REDACT_SLACK: redact-slack "email,fax": unknown kind "fax"`,
		`--retain-days: retain-days "-1"`,
		`--retain-mode: retain-mode "shred": want delete or redact`,
		`--retain-every: retain-every "0s"`,
		`--backup-every: backup-every "5m0s" needs backup-dir`,
		`PARLEY_BACKUP_KEEP: backup-keep "0": want at least 1`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not report %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "redact-api") {
		t.Errorf("redact-api none reported as a problem:\n%v", err)
	}
	// A backup directory that is a file; a backup interval under a second.
	err = cmd.Run(context.Background(), []string{"--db", filepath.Join(dir, "x.db"), "--backup-dir", notDir, "--backup-every", "10ms"})
	for _, want := range []string{`--backup-dir: backup-dir "` + notDir + `": not a directory`, `--backup-every: backup-every "10ms": want at least 1s`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("serve with %s: %v, want it reported", want, err)
		}
	}
}

func TestRetainCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crm.db")
	oldCRM(t, db, time.Now().Add(-40*24*time.Hour), 2)
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--days", "30", "--dry-run"}, 0, "would expire 4 messages"},
		{[]string{"--days", "50"}, 0, "expired 0 messages"},
		{[]string{"--days", "30", "--mode", "redact"}, 0, "expired 4 messages"},
		{[]string{"--days", "30", "--mode", "redact"}, 0, "expired 0 messages"},
		{[]string{"--days", "30", "--dry-run"}, 0, "would expire 4 messages"}, // redacted ones can still be deleted
		{[]string{"--days", "30"}, 0, "expired 4 messages"},
		{[]string{"--days", "30"}, 0, "expired 0 messages"},
		{[]string{}, 2, "want --days"},
		{[]string{"--days", "30", "--mode", "shred"}, 2, `--mode "shred"`},
	} {
		code, out, errOut := run(t, append([]string{"retain", "--db", db}, tt.args...)...)
		if code != tt.code || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("parley retain %v: exit %d, %q; want exit %d and %q", tt.args, code, out+errOut, tt.code, tt.want)
		}
	}
	n, err := countIn(db, `SELECT COUNT(*) FROM messages WHERE text = '' AND expiry = 2`)
	if err != nil || n != 4 {
		t.Errorf("deleted messages in the file: %d, %v; want 4", n, err)
	}
}

// countIn runs a COUNT query on a database file, read-only.
func countIn(path, query string) (int, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, err
	}
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: abs, RawQuery: "mode=ro"}).String())
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRow(query).Scan(&n)
	return n, err
}

// fakeStores fail or succeed as told, for the jobs' own logic.
type fakeStores struct {
	mu        sync.Mutex
	expired   crm.Expired
	expireErr error
	backupErr error
	backups   []time.Time
}

func (f *fakeStores) ExpireMessages(context.Context, crm.Retention) (crm.Expired, error) {
	return f.expired, f.expireErr
}

func (f *fakeStores) BackupTo(_ context.Context, dir string, _ int, now time.Time) (sqlite.BackupResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.backups = append(f.backups, now)
	if f.backupErr != nil {
		return sqlite.BackupResult{}, f.backupErr
	}
	return sqlite.BackupResult{Path: filepath.Join(dir, sqlite.BackupName(now))}, nil
}

func (f *fakeStores) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.backups)
}

func TestProtectionJobsCount(t *testing.T) {
	ctx := context.Background()
	f := &fakeStores{expired: crm.Expired{Messages: 5, Labels: 1, Outbox: 2}, expireErr: errors.New("disk full")}
	var logs bytes.Buffer
	p, err := newProtection(protectConfig{retainDays: 30, retainMode: "delete", backupDir: t.TempDir(), backupKeep: 2},
		f, f, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// A failed run counts its partial work and the failure.
	if _, err := p.retainOnce(ctx); err == nil {
		t.Error("retainOnce hid the store's error")
	}
	f.expireErr = nil
	p.retainOnce(ctx)
	for rec, want := range map[string]float64{"messages": 10, "labels": 2, "conversations": 0, "outbox": 4} {
		if got := testutil.ToFloat64(p.expired.WithLabelValues(rec)); got != want {
			t.Errorf("expired{%s} = %v, want %v", rec, got, want)
		}
	}
	if got := testutil.ToFloat64(p.retainFailures); got != 1 {
		t.Errorf("retention failures = %v, want 1", got)
	}
	// A failed backup counts and leaves the last success alone.
	f.backupErr = errors.New("no space left on device")
	p.backupOnce(ctx)
	if got, last := testutil.ToFloat64(p.backupFailures), testutil.ToFloat64(p.backupLast); got != 1 || last != 0 {
		t.Errorf("after a failed backup: failures %v, last success %v; want 1 and 0", got, last)
	}
	f.backupErr = nil
	p.now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	p.backupOnce(ctx)
	if got, last := testutil.ToFloat64(p.backupFailures), testutil.ToFloat64(p.backupLast); got != 1 || last != 1_800_000_000 {
		t.Errorf("after a good backup: failures %v, last success %v; want 1 and 1800000000", got, last)
	}
	for _, want := range []string{"retention failed", "disk full", "backup failed; older backups kept", "backup written"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// The backup schedule follows the newest backup in the directory, so a
// restart neither repeats nor skips one; a failure is retried sooner.
func TestBackupSchedule(t *testing.T) {
	for _, tt := range []struct {
		name     string
		newest   time.Duration // age of the newest backup in the directory (0: none)
		every    time.Duration
		fail     bool
		minCalls int
		maxCalls int
	}{
		{"no backups yet: at once", 0, time.Hour, false, 1, 1},
		{"a fresh one: wait", time.Second, time.Hour, false, 0, 0},
		{"an old one: at once", 2 * time.Hour, time.Hour, false, 1, 1},
		{"every 50ms", 0, 50 * time.Millisecond, false, 3, 20},
		{"failures retried", 0, 50 * time.Millisecond, true, 3, 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.newest > 0 {
				os.WriteFile(filepath.Join(dir, sqlite.BackupName(time.Now().Add(-tt.newest))), nil, 0o600)
			}
			f := &fakeStores{}
			if tt.fail {
				f.backupErr = errors.New("broken")
			}
			p, err := newProtection(protectConfig{backupDir: dir, backupEvery: tt.every, backupKeep: 2}, f, f,
				prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			p.backupLoop(ctx)
			if n := f.calls(); n < tt.minCalls || n > tt.maxCalls {
				t.Errorf("%d backups in 300 ms, want %d to %d", n, tt.minCalls, tt.maxCalls)
			}
		})
	}
}
