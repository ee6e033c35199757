// Package scheduler moves jobs through the queue: SUBMITTED jobs become
// PENDING or RUNNABLE by their dependencies, PENDING jobs follow their
// dependencies, and RUNNABLE jobs are placed in compute environments by the
// pure planner (plan.go) and handed to the runner as STARTING.
//
// One cycle is RunOnce: named phases (promote, resolve, place) that each read
// a snapshot from the store and commit their decisions with compare-and-swap
// transitions, so a decision that lost a race (a job cancelled meanwhile) is
// simply dropped and looked at again next cycle. Decisions are idempotent:
// after a crash the next cycle picks up from what the database says.
//
// The loop runs a cycle when woken (a submit, a finished job, a changed
// queue) and at least every Interval.
package scheduler

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/control"
	"github.com/gantrybatch/gantry/store"
)

// Config wires a Scheduler.
type Config struct {
	Store        store.Store
	Transitioner *control.Transitioner
	// Dispatch hands a job that was just committed as STARTING to the runner.
	Dispatch func(job *gantry.Job)
	Now      func() time.Time
	Logger   *slog.Logger
	// Interval is the longest time between cycles (default 1s).
	Interval time.Duration
	// BatchSize bounds the jobs each phase reads per round (default 1000).
	BatchSize int
}

// Scheduler runs scheduling cycles.
type Scheduler struct {
	cfg  Config
	wake chan struct{}

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Scheduler; Start runs it.
func New(cfg Config) *Scheduler {
	if cfg.Store == nil || cfg.Transitioner == nil || cfg.Dispatch == nil {
		panic("scheduler: Store, Transitioner and Dispatch are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	cfg.Interval = cmp.Or(cfg.Interval, time.Second)
	cfg.BatchSize = cmp.Or(cfg.BatchSize, 1000)
	return &Scheduler{cfg: cfg, wake: make(chan struct{}, 1)}
}

// Wake asks for a cycle soon. It never blocks.
func (s *Scheduler) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Start runs the loop in the background until Stop. It is idempotent.
func (s *Scheduler) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.loop(ctx, s.done)
}

// Stop ends the loop and waits for the current cycle to finish.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel = nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (s *Scheduler) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		res, err := s.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			s.cfg.Logger.ErrorContext(ctx, "scheduling cycle failed", "error", err)
		}
		if res != nil && res.More {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// Result reports one cycle.
type Result struct {
	Promoted int // SUBMITTED -> PENDING/RUNNABLE/FAILED
	Resolved int // PENDING -> RUNNABLE/FAILED
	Placed   int // RUNNABLE -> STARTING
	Blocked  int // RUNNABLE jobs given a blocking reason
	// More means a phase hit its batch size; run again at once.
	More bool
}

// RunOnce runs one scheduling cycle.
func (s *Scheduler) RunOnce(ctx context.Context) (*Result, error) {
	res := &Result{}
	start := time.Now()
	n, err := s.advance(ctx, gantry.JobStatusSubmitted)
	if err != nil {
		return res, err
	}
	res.Promoted = n
	tPromote := time.Since(start)
	n, err = s.advance(ctx, gantry.JobStatusPending)
	if err != nil {
		return res, err
	}
	res.Resolved = n
	tResolve := time.Since(start) - tPromote
	if err := s.updateShareUsage(ctx); err != nil {
		return res, err
	}
	if err := s.place(ctx, res); err != nil {
		return res, err
	}
	res.More = res.Promoted >= s.cfg.BatchSize || res.Placed >= s.cfg.BatchSize
	if res.Promoted+res.Resolved+res.Placed+res.Blocked > 0 {
		s.cfg.Logger.DebugContext(ctx, "scheduling cycle",
			"promoted", res.Promoted, "resolved", res.Resolved, "placed", res.Placed, "blocked", res.Blocked,
			"promote_ms", tPromote.Milliseconds(), "resolve_ms", tResolve.Milliseconds(),
			"total_ms", time.Since(start).Milliseconds())
	}
	return res, nil
}

// advance moves SUBMITTED or PENDING jobs by their dependencies: all
// SUCCEEDED -> RUNNABLE, any FAILED -> FAILED ("Dependent Job failed"),
// otherwise PENDING.
func (s *Scheduler) advance(ctx context.Context, from gantry.JobStatus) (int, error) {
	jobs, err := s.cfg.Store.JobList(ctx, &store.JobListParams{
		Statuses: []gantry.JobStatus{from}, Order: store.JobListOldestFirst, Limit: s.cfg.BatchSize,
	})
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	var depIDs []string
	for _, j := range jobs {
		for _, d := range j.DependsOn {
			depIDs = append(depIDs, d.JobID)
		}
	}
	deps := map[string]gantry.JobStatus{}
	if len(depIDs) > 0 {
		found, err := s.cfg.Store.JobGetMany(ctx, depIDs)
		if err != nil {
			return 0, err
		}
		for _, d := range found {
			deps[d.JobID] = d.Status
		}
	}
	moved := 0
	now := s.cfg.Now().UnixMilli()
	err = s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		moved = 0
		for _, j := range jobs {
			to, reason := gantry.JobStatusRunnable, ""
			for _, d := range j.DependsOn {
				switch st, ok := deps[d.JobID]; {
				case !ok || st == gantry.JobStatusFailed:
					// A dependency that was purged counts as failed: it
					// can never succeed now.
					to, reason = gantry.JobStatusFailed, "Dependent Job failed"
				case st != gantry.JobStatusSucceeded && to != gantry.JobStatusFailed:
					to = gantry.JobStatusPending
				}
			}
			if to == from {
				continue
			}
			cp := *j
			cp.Status, cp.StatusReason = to, reason
			if to == gantry.JobStatusFailed {
				cp.StoppedAt = now
			}
			if err := s.cfg.Transitioner.Transition(ctx, tx, &cp, from); err != nil {
				if errors.Is(err, gantry.ErrConflict) {
					continue // cancelled meanwhile
				}
				return err
			}
			moved++
		}
		return nil
	})
	return moved, err
}

// place runs the planner over the RUNNABLE heads of every queue and commits
// its placements, then dispatches them.
func (s *Scheduler) place(ctx context.Context, res *Result) error {
	snap, jobs, err := s.snapshot(ctx)
	if err != nil || len(jobs) == 0 {
		return err
	}
	plan := ComputePlan(snap)
	if len(plan.Placements) == 0 && len(plan.Blocked) == 0 {
		return nil
	}
	var started []*gantry.Job
	err = s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		started = started[:0]
		for _, p := range plan.Placements {
			cp := *jobs[p.JobID]
			cp.Status = gantry.JobStatusStarting
			cp.StatusReason = ""
			cp.ComputeEnvironment = p.CEArn
			cp.TaskID = uuid.NewString()
			cp.ExecutorHandle = ""
			if err := s.cfg.Transitioner.Transition(ctx, tx, &cp, gantry.JobStatusRunnable); err != nil {
				if errors.Is(err, gantry.ErrConflict) {
					continue
				}
				return err
			}
			started = append(started, &cp)
		}
		for _, b := range plan.Blocked {
			cp := *jobs[b.JobID]
			cp.StatusReason = b.Reason
			if err := s.cfg.Transitioner.Transition(ctx, tx, &cp, gantry.JobStatusRunnable); err != nil {
				if errors.Is(err, gantry.ErrConflict) {
					continue
				}
				return err
			}
			if err := s.cfg.Transitioner.QueueBlocked(ctx, tx, &cp); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	res.Placed, res.Blocked = len(started), len(plan.Blocked)
	for _, j := range started {
		s.cfg.Dispatch(j)
	}
	return nil
}
