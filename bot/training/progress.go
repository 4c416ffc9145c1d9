package training

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// progressLogger returns a logger for the model families that turns
// their progress records into stages and passes every record on to
// next at debug level (training logs are detail, not news).
//
// The model families report progress only by logging, and this package
// does not own them, so the record messages are the contract: "<kind>
// calibrated" when a member is done, "rnn epoch" (with an "epoch"
// attribute) after each epoch, "ensemble members trained" before the
// weighing. Should a message change, progress gets coarser (the stages
// Retrain reports itself remain); TestRetrainProgress notices.
func progressLogger(next *slog.Logger, members, maxEpochs int, report func(Stage)) *slog.Logger {
	h := &progressHandler{next: next.Handler(), report: report, members: members, maxEpochs: maxEpochs, done: &counter{}}
	return slog.New(h)
}

type progressHandler struct {
	next               slog.Handler
	report             func(Stage)
	members, maxEpochs int
	done               *counter // members done, shared by the handler's copies
}

// counter counts members done; members log from their own goroutines.
type counter struct {
	mu sync.Mutex
	n  int
}

func (h *progressHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *progressHandler) Handle(ctx context.Context, r slog.Record) error {
	switch {
	case r.Message == "rnn epoch":
		s := Stage{Name: StageEpoch, Of: h.maxEpochs, Detail: "rnn"}
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "epoch":
				s.Step = int(a.Value.Int64())
			case "val_acc":
				s.Detail = fmt.Sprintf("rnn, validation accuracy %.3f", a.Value.Float64())
			}
			return true
		})
		h.report(s)
	case strings.HasSuffix(r.Message, " calibrated"):
		kind := strings.TrimSuffix(r.Message, " calibrated")
		h.report(Stage{Name: StageTraining, Of: h.members, Detail: kind, Step: h.count()})
	case r.Message == "ensemble members trained":
		h.report(Stage{Name: StageWeighing})
	}
	// Pass the record on at debug level.
	if h.next.Enabled(ctx, slog.LevelDebug) {
		r.Level = slog.LevelDebug
		return h.next.Handle(ctx, r)
	}
	return nil
}

// count returns the number of members done, this one included.
func (h *progressHandler) count() int {
	h.done.mu.Lock()
	defer h.done.mu.Unlock()
	h.done.n++
	return h.done.n
}

func (h *progressHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(as)
	return &c
}

func (h *progressHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	return &c
}
