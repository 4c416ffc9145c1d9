package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/parley-chat/parley/crm"
)

// Backup writes a consistent copy of the database to path while the
// store keeps serving, and verifies it (VerifyBackup). It refuses to
// overwrite an existing file (an error wrapping fs.ErrExist).
//
// The copy is atomic: VACUUM INTO writes it to a temporary file in
// path's directory (hidden, named .parley-backup-*.tmp), which is
// synced (SQLite does not sync what VACUUM INTO writes), checked, and
// only then linked to path and the directory synced. So path is either
// absent or a whole, verified backup, even after a crash or a full
// disk; a failed backup leaves nothing behind but, after a crash, its
// temporary file.
func (s *Store) Backup(ctx context.Context, path string) error {
	if path == "" {
		return fmt.Errorf("backup crm database: %w: empty path", crm.ErrInvalid)
	}
	if err := s.backup(ctx, path); err != nil {
		return fmt.Errorf("backup crm database to %s: %w", path, err)
	}
	return nil
}

func (s *Store) backup(ctx context.Context, path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fs.ErrExist
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".parley-backup-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	f.Close()
	linked := false
	defer func() {
		if !linked {
			os.Remove(tmp)
		}
	}()
	// VACUUM INTO reads one snapshot of this database and writes the
	// copy, so it needs neither the writer nor its lock; readers are
	// query_only, which refuses it, hence a connection of its own. It
	// writes into the empty file CreateTemp made.
	db, err := sql.Open("sqlite", s.path+"?"+s.dsnCommon)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return fmt.Errorf("vacuum into %s: %w", tmp, err)
	}
	if err := db.Close(); err != nil {
		return err
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	if err := VerifyBackup(ctx, tmp); err != nil {
		return err
	}
	// A hard link never replaces an existing file, unlike a rename; a
	// file system without links gets the check-then-rename instead.
	if err := os.Link(tmp, path); err == nil {
		linked = true
		os.Remove(tmp) // the backup is in place; a leftover would only be clutter
	} else if _, serr := os.Lstat(path); errors.Is(err, fs.ErrExist) || serr == nil {
		return fs.ErrExist
	} else if err := os.Rename(tmp, path); err != nil {
		return err
	}
	linked = true
	return syncDir(dir)
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return f.Close()
}

// syncDir makes a new directory entry durable. File systems that cannot
// sync a directory say EINVAL; there is nothing more to do on those.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// VerifyBackup opens the database file at path read-only and checks
// that it is whole (PRAGMA integrity_check) and a Parley CRM this build
// can open (its schema version).
func VerifyBackup(ctx context.Context, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("verify %s: %w", path, err)
	}
	// A file: URI with mode=ro, so that a missing file is an error
	// rather than a new empty database, and nothing is written.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "mode=ro"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return fmt.Errorf("verify %s: %w", path, err)
	}
	defer db.Close()
	if err := integrityCheck(ctx, db, path); err != nil {
		return err
	}
	var version sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil {
		return fmt.Errorf("verify %s: not a Parley CRM: %w", path, err)
	}
	if !version.Valid || version.Int64 < 1 || version.Int64 > int64(SchemaVersion()) {
		return fmt.Errorf("verify %s: %w: schema version %d, this build knows 1 to %d", path, crm.ErrSchema, version.Int64, SchemaVersion())
	}
	return nil
}

// Backup files are named parley-<UTC time>.db, the time to the second
// in a fixed-width form, so that names sort as times do.
const (
	backupPrefix     = "parley-"
	backupSuffix     = ".db"
	backupTimeLayout = "20060102T150405Z"
)

// BackupName is the file name of a backup taken at t:
// parley-20261202T031500Z.db.
func BackupName(t time.Time) string {
	return backupPrefix + t.UTC().Format(backupTimeLayout) + backupSuffix
}

// parseBackupName returns the time in a name BackupName made; any other
// name (a user's file that merely looks similar, say) is false.
func parseBackupName(name string) (time.Time, bool) {
	stamp, ok := strings.CutPrefix(name, backupPrefix)
	if !ok {
		return time.Time{}, false
	}
	if stamp, ok = strings.CutSuffix(stamp, backupSuffix); !ok || len(stamp) != len(backupTimeLayout) {
		return time.Time{}, false
	}
	t, err := time.Parse(backupTimeLayout, stamp)
	if err != nil || BackupName(t) != name {
		return time.Time{}, false
	}
	return t, true
}

// BackupFile is a backup found in a directory.
type BackupFile struct {
	Path string
	Time time.Time // from the name
	Size int64
}

// Backups lists the backups in dir, oldest first: the regular files
// whose names BackupName could have made. Anything else is not ours and
// is left out.
func Backups(dir string) ([]BackupFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	var out []BackupFile
	for _, e := range entries {
		t, ok := parseBackupName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, BackupFile{Path: filepath.Join(dir, e.Name()), Time: t, Size: info.Size()})
	}
	slices.SortFunc(out, func(a, b BackupFile) int { return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Path, b.Path)) })
	return out, nil
}

// RotateBackups removes all but the newest keep backups in dir (see
// Backups; no other file is ever touched) and returns the paths it
// removed. It never removes keepPath, the backup just written, even
// when a clock set back made its name the oldest.
func RotateBackups(dir string, keep int, keepPath string) ([]string, error) {
	if keep < 1 {
		return nil, fmt.Errorf("rotate backups: %w: keep %d, want at least 1", crm.ErrInvalid, keep)
	}
	files, err := Backups(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	excess := len(files) - keep
	for _, f := range files {
		if excess <= 0 {
			break
		}
		if f.Path == keepPath {
			continue
		}
		excess--
		if err := os.Remove(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, f.Path)
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("rotate backups: %w", errors.Join(errs...))
	}
	return removed, nil
}

// BackupResult is what BackupTo did.
type BackupResult struct {
	Path    string
	Size    int64
	Took    time.Duration
	Removed []string // older backups rotated away
}

// BackupTo writes a verified backup named for now (BackupName) into
// dir, then keeps the newest keep backups of dir (RotateBackups). A
// backup that fails removes nothing: the older ones are all there is.
func (s *Store) BackupTo(ctx context.Context, dir string, keep int, now time.Time) (BackupResult, error) {
	if keep < 1 {
		return BackupResult{}, fmt.Errorf("backup crm database: %w: keep %d, want at least 1", crm.ErrInvalid, keep)
	}
	start := time.Now()
	res := BackupResult{Path: filepath.Join(dir, BackupName(now))}
	if err := s.Backup(ctx, res.Path); err != nil {
		return BackupResult{}, err
	}
	res.Took = time.Since(start)
	if info, err := os.Stat(res.Path); err == nil {
		res.Size = info.Size()
	}
	var err error
	res.Removed, err = RotateBackups(dir, keep, res.Path)
	return res, err
}
