package training

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrBusy is returned by Runner.Start while a retraining runs.
var ErrBusy = errors.New("a retraining is already running")

// RunStatus is what a Runner's retraining is doing or did.
type RunStatus struct {
	// Running is set from Start until the run ends.
	Running bool `json:"running"`
	// Stage is the latest progress.
	Stage      Stage     `json:"stage"`
	StartedAt  time.Time `json:"started_at,omitempty"`
	FinishedAt time.Time `json:"finished_at,omitempty"`
	// Err says why the last run failed or was cancelled ("" when it
	// succeeded or is running); nothing was stored then.
	Err string `json:"error,omitempty"`
	// Result is the last successful run's (Version without its artifact).
	Result *Result `json:"result,omitempty"`
}

// Runner runs retrainings in the background, one at a time, for the
// console's button: Start returns at once, Status shows the progress,
// Cancel stops the run. It owns the run's goroutine: Close cancels it
// and waits for it to end. A Runner is safe for concurrent use.
type Runner struct {
	wb *Workbench

	mu     sync.Mutex
	status RunStatus
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed bool
}

// NewRunner returns a runner of wb's retrainings.
func NewRunner(wb *Workbench) *Runner { return &Runner{wb: wb} }

// Start begins a retraining with opts (its Progress, if any, is called
// too) and returns at once; ErrBusy while one runs. The run is bound to
// the Runner, not to a request: it goes on until done, Cancel or Close.
func (r *Runner) Start(opts RetrainOptions) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("retraining runner closed")
	}
	if r.status.Running {
		return ErrBusy
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.status = RunStatus{Running: true, StartedAt: time.Now().UTC(), Stage: Stage{Name: StageLoading}, Result: r.status.Result}
	user := opts.Progress
	opts.Progress = func(s Stage) {
		r.mu.Lock()
		r.status.Stage = s
		r.mu.Unlock()
		if user != nil {
			user(s)
		}
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer cancel()
		res, err := r.wb.Retrain(ctx, opts)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.status.Running = false
		r.status.FinishedAt = time.Now().UTC()
		if err != nil {
			r.status.Err = err.Error()
			return
		}
		res.Version.Artifact = nil // megabytes the status has no use for
		r.status.Result = &res
	}()
	return nil
}

// Status returns the current or last run's status (a copy).
func (r *Runner) Status() RunStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.status
	if s.Result != nil {
		res := *s.Result
		s.Result = &res
	}
	return s
}

// Cancel stops the running retraining, if any; it ends with an error
// and stores nothing (unless it was already storing its version).
func (r *Runner) Cancel() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		r.cancel()
	}
}

// Wait blocks until no retraining runs.
func (r *Runner) Wait() { r.wg.Wait() }

// Close cancels a running retraining, waits for it to end, and refuses
// new ones.
func (r *Runner) Close() {
	r.mu.Lock()
	r.closed = true
	if r.cancel != nil {
		r.cancel()
	}
	r.mu.Unlock()
	r.wg.Wait()
}
