package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/ensemble"
)

// defaultModelPoll is how often a server looks for a promoted model: a
// promotion reaches every server sharing the database within it.
const defaultModelPoll = 2 * time.Second

// watchModels swaps the serving models when the CRM's active version of
// a kind changes (a promotion or a rollback, from any server or the
// command line). The swap is one atomic pointer store: a message being
// understood finishes on the model it started with, the next one uses
// the new model, nothing restarts. A model that cannot be loaded leaves
// the serving one in place.
func (s *server) watchModels(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	failed := map[string]bool{} // versions that would not load: said once
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := s.reloadModels(ctx, failed)
		if err != nil {
			s.log.Error("model watch", "err", err)
		}
		if changed != "" {
			s.log.Info("switched models", "version", changed)
		}
	}
}

// reloadModels loads the active versions that differ from the serving
// ones; it returns the new serving version, or "" when nothing changed.
func (s *server) reloadModels(ctx context.Context, failed map[string]bool) (string, error) {
	cur := s.models.Current()
	names := strings.SplitN(cur.Version, "+", 2)
	if len(names) != 2 {
		return "", fmt.Errorf("serving version %q: want intent+sentiment", cur.Version)
	}
	next := cur
	for i, k := range []struct {
		kind   string
		pinned bool
		dst    *intents.Model
	}{
		{intentKind, s.cfg.modelPath != "", &next.Intent},
		{sentimentKind, s.cfg.sentimentPath != "", &next.Sentiment},
	} {
		if k.pinned {
			continue // --model FILE: the operator chose
		}
		// The listing has no artifacts: cheap to poll.
		vs, err := s.store.ModelVersions(ctx, k.kind)
		if err != nil {
			return "", fmt.Errorf("%s model versions: %w", k.kind, err)
		}
		var active *crm.ModelVersion
		for j := range vs {
			if vs[j].Active {
				active = &vs[j]
			}
		}
		if active == nil || active.Version == names[i] || failed[active.Version] {
			continue
		}
		v, err := s.store.ModelVersion(ctx, active.ID)
		if err != nil {
			return "", fmt.Errorf("%s model %s: %w", k.kind, active.Version, err)
		}
		m, err := ensemble.DecodeModel(bytes.NewReader(v.Artifact))
		if err == nil && k.kind == intentKind {
			err = s.policyAccepts(m)
		}
		if err != nil {
			failed[v.Version] = true
			return "", fmt.Errorf("promoted %s model %s not loaded, still serving %s: %w", k.kind, v.Version, names[i], err)
		}
		*k.dst = m
		names[i] = v.Version
	}
	next.Version = strings.Join(names, "+")
	if next.Version == cur.Version {
		return "", nil
	}
	if err := s.models.Swap(next); err != nil {
		return "", fmt.Errorf("swap models: %w", err)
	}
	s.modelsChanged(next)
	return next.Version, nil
}

// policyAccepts checks that a new intent model knows the intents that
// hand a customer to a person, so a promotion cannot silently take away
// "I want to talk to someone".
func (s *server) policyAccepts(m intents.Model) error {
	known := map[string]bool{}
	for _, l := range m.Header().Labels {
		known[l] = true
	}
	var missing []string
	for _, in := range s.engine.Policy().EscalateIntents {
		if !known[in] {
			missing = append(missing, in)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the policy uses intents the model lacks: %s", strings.Join(missing, ", "))
	}
	return nil
}
