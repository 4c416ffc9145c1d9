package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parley-chat/parley/crm"
)

const staffCols = `id, email, name, role, password_hash, disabled, created_at`

func scanStaff(sc scanner) (crm.StaffUser, error) {
	var (
		u        crm.StaffUser
		disabled int
		created  int64
	)
	if err := sc.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &disabled, &created); err != nil {
		return u, err
	}
	u.Disabled, u.CreatedAt = disabled != 0, fromUnixNano(created)
	return u, nil
}

// CreateStaff implements crm.Store.
func (s *Store) CreateStaff(ctx context.Context, u crm.StaffUser) (crm.StaffUser, error) {
	if err := u.Validate(); err != nil {
		return crm.StaffUser{}, fmt.Errorf("create staff: %w", err)
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.now()
	}
	u.CreatedAt = u.CreatedAt.UTC()
	err := s.write(ctx, func(t *dbtx) error {
		id, err := t.insert(`INSERT INTO staff (email, email_key, name, role, password_hash, disabled, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, u.Email, crm.FoldEmail(u.Email), u.Name, string(u.Role), u.PasswordHash,
			boolInt(u.Disabled), unixNano(u.CreatedAt))
		if err != nil {
			return fmt.Errorf("email %q: %w", u.Email, translate(err))
		}
		u.ID = id
		return nil
	})
	if err != nil {
		return crm.StaffUser{}, fmt.Errorf("create staff: %w", err)
	}
	return u, nil
}

// Staff implements crm.Store.
func (s *Store) Staff(ctx context.Context, id int64) (crm.StaffUser, error) {
	return s.oneStaff(ctx, fmt.Sprintf("staff %d", id), `SELECT `+staffCols+` FROM staff WHERE id = ?`, id)
}

// StaffByEmail implements crm.Store.
func (s *Store) StaffByEmail(ctx context.Context, email string) (crm.StaffUser, error) {
	return s.oneStaff(ctx, "staff by email", `SELECT `+staffCols+` FROM staff WHERE email_key = ?`, crm.FoldEmail(email))
}

func (s *Store) oneStaff(ctx context.Context, what, query string, arg any) (crm.StaffUser, error) {
	var u crm.StaffUser
	err := s.read(ctx, func(t *dbtx) error {
		var err error
		u, err = scanStaff(t.row(query, arg))
		if errors.Is(err, sql.ErrNoRows) {
			return crm.ErrNotFound
		}
		return err
	})
	if err != nil {
		return crm.StaffUser{}, fmt.Errorf("%s: %w", what, err)
	}
	return u, nil
}

// ListStaff implements crm.Store.
func (s *Store) ListStaff(ctx context.Context) ([]crm.StaffUser, error) {
	var out []crm.StaffUser
	err := s.read(ctx, func(t *dbtx) error {
		rows, err := t.query(`SELECT ` + staffCols + ` FROM staff ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanStaff(rows)
			if err != nil {
				return err
			}
			out = append(out, u)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	return out, nil
}

// UpdateStaff implements crm.Store.
func (s *Store) UpdateStaff(ctx context.Context, u crm.StaffUser) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("update staff %d: %w", u.ID, err)
	}
	err := s.write(ctx, func(t *dbtx) error {
		// An empty hash keeps the stored one: an edit form never holds it.
		res, err := t.exec(`UPDATE staff SET email = ?, email_key = ?, name = ?, role = ?,
			password_hash = CASE WHEN ? = '' THEN password_hash ELSE ? END, disabled = ? WHERE id = ?`,
			u.Email, crm.FoldEmail(u.Email), u.Name, string(u.Role), u.PasswordHash, u.PasswordHash,
			boolInt(u.Disabled), u.ID)
		if err != nil {
			return fmt.Errorf("email %q: %w", u.Email, translate(err))
		}
		return affected(res)
	})
	if err != nil {
		return fmt.Errorf("update staff %d: %w", u.ID, err)
	}
	return nil
}

// CreateSession implements crm.Store.
func (s *Store) CreateSession(ctx context.Context, sess crm.Session) error {
	if err := sess.Validate(); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = s.now()
	}
	err := s.write(ctx, func(t *dbtx) error {
		if err := exists(t, `SELECT 1 FROM staff WHERE id = ?`, sess.StaffID); err != nil {
			return fmt.Errorf("staff %d: %w", sess.StaffID, err)
		}
		_, err := t.exec(`INSERT INTO sessions (token_hash, staff_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			sess.TokenHash, sess.StaffID, sess.CSRF, unixNano(sess.CreatedAt), unixNano(sess.ExpiresAt))
		return translate(err)
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Session implements crm.Store.
func (s *Store) Session(ctx context.Context, tokenHash string, now time.Time) (crm.Session, error) {
	var sess crm.Session
	err := s.read(ctx, func(t *dbtx) error {
		var created, expires int64
		err := t.queryRow(`SELECT token_hash, staff_id, csrf, created_at, expires_at FROM sessions
			WHERE token_hash = ? AND expires_at > ?`, []any{tokenHash, bound(now)},
			&sess.TokenHash, &sess.StaffID, &sess.CSRF, &created, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return crm.ErrNotFound
		} else if err != nil {
			return err
		}
		sess.CreatedAt, sess.ExpiresAt = fromUnixNano(created), fromUnixNano(expires)
		return nil
	})
	if err != nil {
		return crm.Session{}, fmt.Errorf("session: %w", err)
	}
	return sess, nil
}

// DeleteSession implements crm.Store.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	err := s.write(ctx, func(t *dbtx) error {
		res, err := t.exec(`DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
		if err != nil {
			return err
		}
		return affected(res)
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

const labelCols = `l.id, COALESCE(l.message_id, 0), l.text, l.intent, COALESCE(l.staff_id, 0), l.created_at`

func scanLabel(sc scanner) (crm.Label, error) {
	var l crm.Label
	var created int64
	err := sc.Scan(&l.ID, &l.MessageID, &l.Text, &l.Intent, &l.StaffID, &created)
	l.CreatedAt = fromUnixNano(created)
	return l, err
}

// AddLabel implements crm.Store.
func (s *Store) AddLabel(ctx context.Context, l crm.Label) (crm.Label, error) {
	if err := l.Validate(); err != nil {
		return crm.Label{}, fmt.Errorf("add label: %w", err)
	}
	if l.Text != "" && s.redact != nil {
		l.Text = s.redact(l.Text)
		if err := l.Validate(); err != nil {
			return crm.Label{}, fmt.Errorf("add label: after redaction: %w", err)
		}
	}
	if l.CreatedAt.IsZero() {
		l.CreatedAt = s.now()
	}
	l.CreatedAt = l.CreatedAt.UTC()
	out := l
	err := s.write(ctx, func(t *dbtx) error {
		out = l
		if l.MessageID != 0 {
			var text string
			var expiry int
			err := t.queryRow(`SELECT text, expiry FROM messages WHERE id = ?`, []any{l.MessageID}, &text, &expiry)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("message %d: %w", l.MessageID, crm.ErrNotFound)
			} else if err != nil {
				return err
			}
			if out.Text == "" {
				if crm.ModeOfLevel(expiry) == crm.ExpireDelete {
					return fmt.Errorf("message %d: %w", l.MessageID, crm.ErrTextDeleted)
				}
				out.Text = text // redacted when it was stored
			}
		}
		if l.StaffID != 0 {
			if err := exists(t, `SELECT 1 FROM staff WHERE id = ?`, l.StaffID); err != nil {
				return fmt.Errorf("staff %d: %w", l.StaffID, err)
			}
		}
		id, err := t.insert(`INSERT INTO labels (message_id, text, intent, staff_id, created_at) VALUES (?, ?, ?, ?, ?)`,
			nullID(l.MessageID), out.Text, l.Intent, nullID(l.StaffID), unixNano(l.CreatedAt))
		if err != nil {
			return translate(err)
		}
		out.ID = id
		return nil
	})
	if err != nil {
		return crm.Label{}, fmt.Errorf("add label: %w", err)
	}
	return out, nil
}

// Labels implements crm.Store.
func (s *Store) Labels(ctx context.Context) ([]crm.Label, error) {
	var out []crm.Label
	err := s.read(ctx, func(t *dbtx) error {
		var err error
		out, err = queryAll(t, scanLabel, `SELECT `+labelCols+` FROM labels l ORDER BY l.created_at, l.id`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	return out, nil
}
