package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm/sqlite"
)

// crashChildEnv switches the test binary into the crash test's child:
// it holds the database path the child logs into.
const crashChildEnv = "PARLEY_CRM_CRASH_CHILD"

// TestCrashRecovery kills a process in the middle of logging and checks
// what survives: the database must be intact and hold every interaction
// whose LogInteraction had returned, as the child reported on stdout.
// The parent re-runs this test binary as the child.
func TestCrashRecovery(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("short: the crash test runs a child process for a second")
	}
	path := dbPath(t, "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashRecovery$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Read what the child reports until enough was logged, then kill it
	// mid-load; lines it wrote before dying are still in the pipe.
	var returned []string
	lines := bufio.NewScanner(out)
	killed := false
	deadline := time.Now().Add(30 * time.Second)
	for lines.Scan() {
		id := lines.Text()
		if !strings.HasPrefix(id, "ok ") {
			continue
		}
		returned = append(returned, strings.TrimPrefix(id, "ok "))
		if !killed && (len(returned) >= 3000 || time.Now().After(deadline)) {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill child: %v", err)
			}
			killed = true
		}
	}
	werr := cmd.Wait()
	if !killed {
		t.Fatalf("child ended by itself (%v) after %d interactions", werr, len(returned))
	}
	if len(returned) < 100 {
		t.Fatalf("child logged only %d interactions before it was killed", len(returned))
	}

	s := MustOpen(t, path, quiet)
	ctx := context.Background()
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatalf("after the crash: %v", err)
	}
	db := rawDB(t, path)
	have := map[string]bool{}
	rows, err := db.Query(`SELECT channel_msg_id FROM messages WHERE direction = 'in'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		have[id] = true
	}
	rows.Close()
	missing := 0
	for _, id := range returned {
		if !have[id] {
			missing++
			if missing <= 5 {
				t.Errorf("message %s returned before the crash but is not in the database", id)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d returned interactions lost", missing, len(returned))
	}
	// Every interaction is whole: one reply per customer message.
	in := queryInt(t, db, `SELECT COUNT(*) FROM messages WHERE direction = 'in'`)
	replies := queryInt(t, db, `SELECT COUNT(*) FROM messages WHERE direction = 'bot'`)
	if in != replies {
		t.Errorf("after the crash: %d customer messages, %d replies; want whole interactions", in, replies)
	}
	t.Logf("child was killed after %d returned interactions; the database holds %d", len(returned), in)
}

// crashChild logs interactions from 16 goroutines until it is killed,
// printing "ok <channel message id>" for each call that returned.
func crashChild(path string) {
	s, err := sqlite.Open(context.Background(), path, quiet)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				if _, err := s.LogInteraction(context.Background(), interaction(fmt.Sprintf("v%d", g), id, "hello")); err != nil {
					fmt.Fprintln(os.Stderr, "crash child:", err)
					os.Exit(2)
				}
				// Reported only once the call returned; flushed at once so
				// the parent sees it before the kill.
				mu.Lock()
				fmt.Fprintln(w, "ok", id)
				w.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
