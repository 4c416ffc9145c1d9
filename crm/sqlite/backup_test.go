package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
	"github.com/parley-chat/parley/crm/sqlite"
)

func TestBackupNames(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 12, 2, 3, 15, 0, 0, time.UTC)
	if got, want := sqlite.BackupName(at.In(time.FixedZone("CET", 3600))), "parley-20261202T031500Z.db"; got != want {
		t.Errorf("BackupName(%v) = %q, want %q", at, got, want)
	}
	ours := []string{"parley-20261202T031500Z.db", "parley-19991231T235959Z.db"}
	theirs := []string{"parley-20261202T031500Z.db.bak", "parley-20261302T031500Z.db", "parley-latest.db",
		"Parley-20261202T031500Z.db", "parley-20261202T0315Z.db", "parley-20261202t031500z.db", "notes.txt", "crm.db"}
	for _, n := range append(slices.Clone(ours), theirs...) {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A directory and a symlink with backup names are not backups either.
	os.Mkdir(filepath.Join(dir, "parley-20200101T000000Z.db"), 0o700)
	os.Symlink(filepath.Join(dir, "crm.db"), filepath.Join(dir, "parley-20200102T000000Z.db"))
	files, err := sqlite.Backups(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f.Path))
	}
	if want := []string{ours[1], ours[0]}; !slices.Equal(got, want) {
		t.Errorf("Backups(%v) = %v, want %v, oldest first", append(ours, theirs...), got, want)
	}
}

// countMessages counts the messages in a database file.
func countMessages(t *testing.T, path string) int {
	t.Helper()
	return queryInt(t, rawDB(t, path), `SELECT COUNT(*) FROM messages`)
}

// BackupTo keeps the newest backups, each verified and holding what was
// logged before it, and never touches another file in the directory.
func TestBackupToRotates(t *testing.T) {
	ctx := context.Background()
	clock := crmtest.NewClock(crmtest.T0)
	s := MustOpen(t, dbPath(t, "crm.db"), quiet, sqlite.WithClock(clock.Now))
	dir := t.TempDir()
	users := []string{"notes.txt", "parley-manual.db", "parley-20200101T000000Z.db.bak"}
	for _, n := range users {
		os.WriteFile(filepath.Join(dir, n), []byte("mine"), 0o600)
	}
	var made []string
	for i := range 5 {
		if _, err := s.LogInteraction(ctx, interaction(fmt.Sprintf("v%d", i), fmt.Sprintf("m%d", i), "hello")); err != nil {
			t.Fatal(err)
		}
		res, err := s.BackupTo(ctx, dir, 3, clock.Advance(time.Hour))
		if err != nil {
			t.Fatalf("BackupTo %d: %v", i, err)
		}
		made = append(made, res.Path)
		if res.Size == 0 || filepath.Base(res.Path) != sqlite.BackupName(clock.Now()) {
			t.Errorf("BackupTo %d = %+v, want a file named for %v", i, res, clock.Now())
		}
		if wantRemoved := min(1, max(0, i+1-3)); len(res.Removed) != wantRemoved {
			t.Errorf("BackupTo %d removed %v, want %d files", i, res.Removed, wantRemoved)
		}
	}
	files, err := sqlite.Backups(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Path)
	}
	if !slices.Equal(got, made[2:]) {
		t.Errorf("backups kept %v, want the newest three %v", got, made[2:])
	}
	for i, f := range files {
		if err := sqlite.VerifyBackup(ctx, f.Path); err != nil {
			t.Errorf("backup %s: %v", f.Path, err)
		}
		// Backup i+2 was taken after i+3 interactions of two messages.
		if n, want := countMessages(t, f.Path), 2*(i+3); n != want {
			t.Errorf("backup %s holds %d messages, want %d", f.Path, n, want)
		}
	}
	for _, n := range users {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err != nil || string(b) != "mine" {
			t.Errorf("rotation touched %s: %q, %v", n, b, err)
		}
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".parley-backup-*")); len(tmps) != 0 {
		t.Errorf("temporary files left behind: %v", tmps)
	}
	// The newest backup is a working CRM.
	b := MustOpen(t, files[len(files)-1].Path, quiet)
	if c, err := b.Customers(ctx, 0, 0); err != nil || len(c) != 5 {
		t.Errorf("customers in the newest backup = %d, %v; want 5", len(c), err)
	}

	// A clock set back names the next backup the oldest: it is kept
	// anyway, and the oldest other one goes.
	res, err := s.BackupTo(ctx, dir, 3, crmtest.T0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 1 || res.Removed[0] != made[2] {
		t.Errorf("after the clock went back, BackupTo removed %v, want %s", res.Removed, made[2])
	}
	if _, err := os.Stat(res.Path); err != nil {
		t.Errorf("the backup just made is gone: %v", err)
	}
}

// A failed backup deletes nothing: the older backups are all there is.
func TestBackupToFailureKeepsOld(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, dbPath(t, "crm.db"), quiet)
	dir := t.TempDir()
	at := crmtest.T0
	for i := range 2 {
		if _, err := s.BackupTo(ctx, dir, 2, at.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := sqlite.Backups(dir)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tt := range []struct {
		name string
		ctx  context.Context
		at   time.Time
		want error
	}{
		{"same second as an existing backup", ctx, at.Add(time.Hour), fs.ErrExist},
		{"canceled", canceled, at.Add(5 * time.Hour), context.Canceled},
	} {
		_, err := s.BackupTo(tt.ctx, dir, 1, tt.at)
		if !errors.Is(err, tt.want) {
			t.Errorf("BackupTo %s = %v, want %v", tt.name, err, tt.want)
		}
		after, _ := sqlite.Backups(dir)
		if !slices.Equal(after, before) {
			t.Errorf("BackupTo %s changed the backups: %v, want %v", tt.name, after, before)
		}
	}
	if _, err := s.BackupTo(ctx, filepath.Join(dir, "missing"), 2, at); err == nil {
		t.Errorf("BackupTo a missing directory succeeded")
	}
	if _, err := s.BackupTo(ctx, dir, 0, at.Add(9*time.Hour)); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("BackupTo keeping 0 = %v, want ErrInvalid", err)
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".parley-backup-*")); len(tmps) != 0 {
		t.Errorf("temporary files left behind: %v", tmps)
	}
}

func TestVerifyBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := MustOpen(t, dbPath(t, "crm.db"), quiet)
	for i := range 200 {
		if _, err := s.LogInteraction(ctx, interaction(fmt.Sprintf("v%d", i), fmt.Sprintf("m%d", i), strings.Repeat("words ", 50))); err != nil {
			t.Fatal(err)
		}
	}
	good := filepath.Join(dir, "good.db")
	if err := s.Backup(ctx, good); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	corrupt := filepath.Join(dir, "corrupt.db")
	c := slices.Clone(b)
	for i := 8192; i < len(c)-4096; i += 4096 {
		copy(c[i+100:i+200], strings.Repeat("\xff", 100)) // trash the middle of every page but the first two
	}
	os.WriteFile(corrupt, c, 0o600)
	truncated := filepath.Join(dir, "truncated.db")
	os.WriteFile(truncated, b[:len(b)/2], 0o600)
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 500)), 0o600)
	other := filepath.Join(dir, "other.db")
	db := rawDB(t, other)
	if _, err := db.Exec(`CREATE TABLE t (x)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := sqlite.VerifyBackup(ctx, good); err != nil {
		t.Errorf("VerifyBackup(good) = %v", err)
	}
	for _, p := range []string{corrupt, truncated, garbage, other, filepath.Join(dir, "missing.db")} {
		if err := sqlite.VerifyBackup(ctx, p); err == nil {
			t.Errorf("VerifyBackup(%s) = nil, want an error", filepath.Base(p))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("VerifyBackup created the missing file: %v", err)
	}
}

// A backup taken during a stream of writes is a snapshot: whole
// interactions only, and it verifies.
func TestBackupToDuringWrites(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, dbPath(t, "crm.db"), quiet)
	dir := t.TempDir()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.LogInteraction(ctx, interaction("busy", fmt.Sprintf("b%d", i), "during the backup")); err != nil {
				werr = err
				return
			}
		}
	})
	var paths []string
	for i := range 3 {
		res, err := s.BackupTo(ctx, dir, 5, crmtest.T0.Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, res.Path)
	}
	close(stop)
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
	for _, p := range paths {
		db := rawDB(t, p)
		in := queryInt(t, db, `SELECT COUNT(*) FROM messages WHERE direction = 'in'`)
		replies := queryInt(t, db, `SELECT COUNT(*) FROM messages WHERE direction = 'bot'`)
		if in != replies {
			t.Errorf("backup %s holds %d customer messages and %d replies, want whole interactions", p, in, replies)
		}
	}
}
