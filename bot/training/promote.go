package training

import (
	"bytes"
	"context"
	"fmt"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/intents/ensemble"
)

// Versions lists the model versions of a kind ("": intent), newest
// first, without their artifacts.
func (w *Workbench) Versions(ctx context.Context, kind string) ([]crm.ModelVersion, error) {
	if kind == "" {
		kind = Kind
	}
	vs, err := w.store.ModelVersions(ctx, kind)
	if err != nil {
		return nil, fmt.Errorf("model versions: %w", err)
	}
	return vs, nil
}

// Promote makes version id the active one of its kind, after checking
// that its artifact decodes: servers load the active version, and a
// version they cannot load must never become it. Serving servers pick
// the promotion up from the CRM.
func (w *Workbench) Promote(ctx context.Context, id int64) (crm.ModelVersion, error) {
	v, err := w.store.ModelVersion(ctx, id)
	if err != nil {
		return crm.ModelVersion{}, fmt.Errorf("promote: %w", err)
	}
	if _, err := ensemble.DecodeModel(bytes.NewReader(v.Artifact)); err != nil {
		return crm.ModelVersion{}, fmt.Errorf("promote: model version %d (%s) does not load: %w", id, v.Version, err)
	}
	if err := w.store.PromoteModel(ctx, id); err != nil {
		return crm.ModelVersion{}, fmt.Errorf("promote: %w", err)
	}
	w.log.Info("promoted model version", "kind", v.Kind, "id", v.ID, "version", v.Version)
	v, err = w.store.ModelVersion(ctx, id)
	if err != nil {
		return crm.ModelVersion{}, fmt.Errorf("promote: %w", err)
	}
	v.Artifact = nil
	return v, nil
}

// Rollback promotes the version of kind ("": intent) that was active
// before the current one: of the versions promoted before, the one
// promoted last. The CRM keeps each version's latest promotion time,
// not the whole history, so a second Rollback returns to the version
// the first one left (like "cd -"); Promote reaches any other version.
func (w *Workbench) Rollback(ctx context.Context, kind string) (crm.ModelVersion, error) {
	vs, err := w.Versions(ctx, kind)
	if err != nil {
		return crm.ModelVersion{}, fmt.Errorf("rollback: %w", err)
	}
	var prev *crm.ModelVersion
	hasActive := false
	for i := range vs {
		v := &vs[i]
		if v.Active {
			hasActive = true
			continue
		}
		if !v.PromotedAt.IsZero() && (prev == nil || v.PromotedAt.After(prev.PromotedAt)) {
			prev = v
		}
	}
	if !hasActive {
		return crm.ModelVersion{}, fmt.Errorf("rollback: %w: no active %s model", crm.ErrNotFound, kindOr(kind))
	}
	if prev == nil {
		return crm.ModelVersion{}, fmt.Errorf("rollback: %w: no %s model was active before the current one (promote a version by id instead)", crm.ErrNotFound, kindOr(kind))
	}
	return w.Promote(ctx, prev.ID)
}

func kindOr(kind string) string {
	if kind == "" {
		return Kind
	}
	return kind
}
