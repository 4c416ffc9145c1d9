package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parley-chat/parley/crm"
)

const modelCols = `id, kind, version, data_hash, metrics, notes, created_at, promoted_at, active`

func scanModel(sc scanner, artifact *[]byte) (crm.ModelVersion, error) {
	var (
		v        crm.ModelVersion
		metrics  sql.NullString
		created  int64
		promoted sql.NullInt64
		active   int
	)
	dest := []any{&v.ID, &v.Kind, &v.Version, &v.DataHash, &metrics, &v.Notes, &created, &promoted, &active}
	if artifact != nil {
		dest = append(dest, artifact)
	}
	if err := sc.Scan(dest...); err != nil {
		return v, err
	}
	v.CreatedAt, v.PromotedAt, v.Active = fromUnixNano(created), fromNullTime(promoted), active != 0
	if err := decodeJSON("metrics", metrics, &v.Metrics); err != nil {
		return v, err
	}
	if artifact != nil && len(*artifact) > 0 {
		v.Artifact = *artifact
	}
	return v, nil
}

// SaveModelVersion implements crm.Store.
func (s *Store) SaveModelVersion(ctx context.Context, v crm.ModelVersion) (crm.ModelVersion, error) {
	if err := v.Validate(); err != nil {
		return crm.ModelVersion{}, fmt.Errorf("save model version: %w", err)
	}
	metrics, err := encodeMap(v.Metrics)
	if err != nil {
		return crm.ModelVersion{}, fmt.Errorf("save model version: %w: metrics: %v", crm.ErrInvalid, err)
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = s.now()
	}
	v.CreatedAt = v.CreatedAt.UTC()
	v.Active, v.PromotedAt = false, time.Time{} // saved versions start inactive
	if len(v.Metrics) == 0 {
		v.Metrics = nil
	}
	if len(v.Artifact) == 0 {
		v.Artifact = nil
	} else {
		v.Artifact = append([]byte(nil), v.Artifact...) // the caller may reuse its buffer
	}
	err = s.write(ctx, func(t *dbtx) error {
		id, err := t.insert(`INSERT INTO model_versions (kind, version, data_hash, metrics, artifact, notes, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, v.Kind, v.Version, v.DataHash, metrics, v.Artifact, v.Notes, unixNano(v.CreatedAt))
		if err != nil {
			return fmt.Errorf("%s model %q: %w", v.Kind, v.Version, translate(err))
		}
		v.ID = id
		return nil
	})
	if err != nil {
		return crm.ModelVersion{}, fmt.Errorf("save model version: %w", err)
	}
	return v, nil
}

// ModelVersions implements crm.Store.
func (s *Store) ModelVersions(ctx context.Context, kind string) ([]crm.ModelVersion, error) {
	var out []crm.ModelVersion
	err := s.read(ctx, func(t *dbtx) error {
		rows, err := t.query(`SELECT `+modelCols+` FROM model_versions WHERE kind = ? ORDER BY created_at DESC, id DESC`, kind)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scanModel(rows, nil)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("%s model versions: %w", kind, err)
	}
	return out, nil
}

// ModelVersion implements crm.Store.
func (s *Store) ModelVersion(ctx context.Context, id int64) (crm.ModelVersion, error) {
	return s.oneModel(ctx, fmt.Sprintf("model version %d", id), `SELECT `+modelCols+`, artifact FROM model_versions WHERE id = ?`, id)
}

// ActiveModel implements crm.Store.
func (s *Store) ActiveModel(ctx context.Context, kind string) (crm.ModelVersion, error) {
	return s.oneModel(ctx, "active "+kind+" model", `SELECT `+modelCols+`, artifact FROM model_versions WHERE kind = ? AND active = 1`, kind)
}

func (s *Store) oneModel(ctx context.Context, what, query string, arg any) (crm.ModelVersion, error) {
	var v crm.ModelVersion
	err := s.read(ctx, func(t *dbtx) error {
		var art []byte
		var err error
		v, err = scanModel(t.row(query, arg), &art)
		if errors.Is(err, sql.ErrNoRows) {
			return crm.ErrNotFound
		}
		return err
	})
	if err != nil {
		return crm.ModelVersion{}, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

// PromoteModel implements crm.Store.
func (s *Store) PromoteModel(ctx context.Context, id int64) error {
	now := s.now().UTC()
	err := s.write(ctx, func(t *dbtx) error {
		var kind string
		err := t.queryRow(`SELECT kind FROM model_versions WHERE id = ?`, []any{id}, &kind)
		if errors.Is(err, sql.ErrNoRows) {
			return crm.ErrNotFound
		} else if err != nil {
			return err
		}
		// Deactivate first: the partial unique index allows one active
		// version per kind at every moment, not just at commit.
		if _, err := t.exec(`UPDATE model_versions SET active = 0 WHERE kind = ? AND active = 1`, kind); err != nil {
			return err
		}
		_, err = t.exec(`UPDATE model_versions SET active = 1, promoted_at = ? WHERE id = ?`, unixNano(now), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("promote model %d: %w", id, err)
	}
	return nil
}
