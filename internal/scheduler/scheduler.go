// Package scheduler moves jobs through the queue: SUBMITTED jobs become
// PENDING or RUNNABLE by their dependencies, the dependents of finished jobs
// follow (dependencies.go), array parents materialize their children
// (arrays.go), and RUNNABLE jobs are placed in compute environments by the
// pure planner (plan.go) and handed to the runner as STARTING.
//
// One cycle is RunOnce: named phases (promote, propagate, expand, usage,
// place, time_limits) that each read
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
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/bgloop"
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
	// OnCycle, if set, observes the duration of every scheduling cycle
	// (metrics).
	OnCycle func(time.Duration)
	// BatchSize bounds the jobs each phase reads per round (default 1000).
	BatchSize int
	// HeadSize is how many RUNNABLE jobs of each queue a cycle reads
	// (default 256, at most BatchSize). A cycle that starts every job it
	// read from a queue runs again at once.
	HeadSize int
	// HostCapacity, when set, is the capacity of the engine every
	// environment runs on (nil: unbounded); HostName names it in reasons.
	HostCapacity *gantry.Resources
	HostName     string
}

// Scheduler runs scheduling cycles.
type Scheduler struct {
	cfg  Config
	wake chan struct{}
	// noRoom is set by a cycle that found no room for any job in any
	// enabled queue's environments (WakeForRunnable).
	noRoom atomic.Bool

	bg bgloop.Loop

	// runMu serializes RunOnce; reasonsAt is guarded by it.
	runMu     sync.Mutex
	reasonsAt time.Time // when waiting reasons were last refreshed in full
	// readLimits is how many RUNNABLE jobs the last snapshot read per
	// queue (headLimit), by ARN.
	readLimits map[string]int
}

// MinCycleGap is the shortest time between the starts of two scheduling
// cycles of the loop. It bounds the cycles per second under load (each
// reads every queue's head) at the cost of at most this much latency.
const MinCycleGap = 5 * time.Millisecond

// ReasonRefresh is how often the waiting reasons of held-back jobs are
// written: a job that waits gets its reason within about this long.
// Without the bound, a busy queue would rewrite up to WaitingReasonLimit
// job documents every cycle (their details change: which job is at the
// head, how much capacity is in use), i.e. after every finished job.
const ReasonRefresh = time.Second

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
	cfg.HeadSize = min(cmp.Or(cfg.HeadSize, 256), cfg.BatchSize)
	return &Scheduler{cfg: cfg, wake: make(chan struct{}, 1), readLimits: map[string]int{}}
}

// WakeForRunnable asks for a cycle because new RUNNABLE jobs were stored.
// Unlike Wake it does nothing while the last cycle found no room for any
// job anywhere: the new jobs could not start either. Whatever makes room
// (a finished attempt, a changed environment or queue) calls Wake, and
// capacity freed by another replica is seen within Interval. Without this,
// a burst of submissions into a full or held queue costs a cycle every
// MinCycleGap for nothing.
func (s *Scheduler) WakeForRunnable() {
	if s.noRoom.Load() {
		return
	}
	s.Wake()
}

// Wake asks for a cycle soon. It never blocks.
func (s *Scheduler) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Start runs the loop in the background until Stop. It is idempotent.
func (s *Scheduler) Start(ctx context.Context) { s.bg.Start(ctx, s.loop) }

// Stop ends the loop and waits for the current cycle to finish.
func (s *Scheduler) Stop() { _ = s.bg.Stop(context.Background()) }

func (s *Scheduler) loop(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	var last time.Time
	for {
		// Wakes that come in a burst (every SubmitJob and every finished
		// job wakes the scheduler) share one cycle: cycles start at most
		// every MinCycleGap. An idle scheduler starts at once.
		if gap := MinCycleGap - time.Since(last); gap > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(gap):
			}
		}
		last = time.Now()
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
	Resolved int // dependents of finished jobs moved, array parents finished
	Expanded int // array children materialized
	Placed   int // RUNNABLE -> STARTING
	Blocked  int // RUNNABLE jobs given a blocking reason
	Waiting  int // RUNNABLE jobs given a new waiting reason
	TimedOut int // RUNNABLE jobs cancelled by a queue's time limit action
	// More means a phase hit its batch size; run again at once.
	More bool

	headDrained bool // a queue's whole head (HeadSize jobs) started
}

// RunOnce runs one scheduling cycle: named phases, each reading what it
// needs and committing its decisions with compare-and-swap transitions.
func (s *Scheduler) RunOnce(ctx context.Context) (*Result, error) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	res := &Result{}
	start := time.Now()
	if s.cfg.OnCycle != nil {
		defer func() { s.cfg.OnCycle(time.Since(start)) }()
	}
	var timings []any
	phase := func(name string, fn func() error) error {
		t0 := time.Now()
		err := fn()
		timings = append(timings, name+"_ms", time.Since(t0).Milliseconds())
		return err
	}
	var err error
	if err := phase("promote", func() error { res.Promoted, err = s.promote(ctx); return err }); err != nil {
		return res, fmt.Errorf("promote: %w", err)
	}
	if err := phase("propagate", func() error { res.Resolved, err = s.propagate(ctx); return err }); err != nil {
		return res, fmt.Errorf("propagate: %w", err)
	}
	if err := phase("expand", func() error { res.Expanded, err = s.expand(ctx); return err }); err != nil {
		return res, fmt.Errorf("expand: %w", err)
	}
	if err := phase("usage", func() error { return s.updateShareUsage(ctx) }); err != nil {
		return res, fmt.Errorf("share usage: %w", err)
	}
	if err := phase("place", func() error { return s.place(ctx, res) }); err != nil {
		return res, fmt.Errorf("place: %w", err)
	}
	if err := phase("time_limits", func() error { res.TimedOut, err = s.applyTimeLimits(ctx); return err }); err != nil {
		return res, fmt.Errorf("time limits: %w", err)
	}
	res.More = res.Promoted >= s.cfg.BatchSize || res.Placed >= s.cfg.BatchSize || res.Expanded >= s.cfg.BatchSize*10 || res.headDrained
	if res.Promoted+res.Resolved+res.Expanded+res.Placed+res.Blocked+res.Waiting+res.TimedOut > 0 {
		s.cfg.Logger.DebugContext(ctx, "scheduling cycle", append([]any{
			"promoted", res.Promoted, "resolved", res.Resolved, "expanded", res.Expanded, "placed", res.Placed,
			"blocked", res.Blocked, "waiting", res.Waiting, "timed_out", res.TimedOut, "total_ms", time.Since(start).Milliseconds(),
		}, timings...)...)
	}
	return res, nil
}

// place runs the planner over the RUNNABLE heads of every queue, commits
// its placements and the statusReasons of the jobs it holds back, then
// dispatches the placements.
//
// Reasons cost one compare-and-swap write each, with the same status and no
// event, and only when they change; the planner reports at most
// WaitingReasonLimit waiting jobs per queue. A waiting reason that keeps its
// AWS code (the head of a queue still waiting for capacity, with other
// numbers in use) keeps the job's updatedAt, which jobStateTimeLimitActions
// count from.
func (s *Scheduler) place(ctx context.Context, res *Result) error {
	now := s.cfg.Now()
	reasonsDue := now.Sub(s.reasonsAt) >= ReasonRefresh
	if reasonsDue {
		s.reasonsAt = now
	}
	snap, n, err := s.snapshot(ctx, reasonsDue)
	if err != nil || n == 0 {
		return err
	}
	plan := ComputePlan(snap)
	if len(plan.Placements) == 0 && len(plan.Blocked) == 0 && len(plan.Waiting) == 0 {
		return nil
	}
	var started, blocked []*gantry.Job
	var waiting int
	// Waiting reasons are refreshed at most every ReasonRefresh: under
	// load most RUNNABLE jobs start within milliseconds, and writing a
	// reason into each (a document write) would double the cost of
	// placing them.
	var waitingPlan []Waiting
	if reasonsDue {
		waitingPlan = plan.Waiting
	}
	ids := make([]string, 0, len(plan.Placements)+len(plan.Blocked)+len(waitingPlan))
	for _, p := range plan.Placements {
		ids = append(ids, p.JobID)
	}
	for _, b := range plan.Blocked {
		ids = append(ids, b.JobID)
	}
	for _, w := range waitingPlan {
		ids = append(ids, w.JobID)
	}
	if len(ids) == 0 {
		return nil
	}
	err = s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		started, blocked, waiting = started[:0], blocked[:0], 0
		// The documents of the jobs this plan changes, read in the
		// transaction; one that left RUNNABLE since the snapshot is
		// skipped (the compare-and-swap would refuse it anyway).
		list, err := tx.JobGetMany(ctx, ids)
		if err != nil {
			return err
		}
		jobs := make(map[string]*gantry.Job, len(list))
		for _, j := range list {
			if j.Status == gantry.JobStatusRunnable {
				jobs[j.JobID] = j
			}
		}
		for _, p := range plan.Placements {
			if jobs[p.JobID] == nil {
				continue
			}
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
			if jobs[b.JobID] == nil {
				continue
			}
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
			blocked = append(blocked, &cp)
		}
		for _, w := range waitingPlan {
			if jobs[w.JobID] == nil {
				continue
			}
			ok, err := s.setWaitingReason(ctx, tx, jobs[w.JobID], w.Reason)
			if err != nil {
				return err
			}
			if ok {
				waiting++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	res.Placed, res.Blocked, res.Waiting = len(started), len(blocked), waiting
	placedIn := map[string]int{}
	for _, p := range plan.Placements {
		placedIn[p.QueueArn]++
	}
	for _, q := range snap.Queues {
		if len(q.Jobs) >= s.readLimits[q.Arn] && placedIn[q.Arn] >= len(q.Jobs) {
			res.headDrained = true
		}
	}
	s.logBlocked(ctx, blocked)
	for _, j := range started {
		s.cfg.Dispatch(j)
	}
	return nil
}

// setWaitingReason writes reason into RUNNABLE job j, unless it moved
// meanwhile, and reports whether it did. The job's updatedAt moves only if
// the reason's AWS code changes (see place).
func (s *Scheduler) setWaitingReason(ctx context.Context, tx store.Tx, j *gantry.Job, reason string) (bool, error) {
	if j.StatusReason == reason {
		return false, nil
	}
	cp := *j
	keep := reasonCode(reason) != "" && reasonCode(reason) == reasonCode(j.StatusReason)
	cp.StatusReason = reason
	var err error
	if keep {
		err = tx.JobUpdate(ctx, &store.JobUpdateParams{Job: &cp, FromStatus: gantry.JobStatusRunnable})
	} else {
		err = s.cfg.Transitioner.Transition(ctx, tx, &cp, gantry.JobStatusRunnable)
	}
	if errors.Is(err, gantry.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// logBlocked logs, once per queue, the jobs that were just found blocked:
// the first one's id and reason, and how many.
func (s *Scheduler) logBlocked(ctx context.Context, blocked []*gantry.Job) {
	byQueue := map[string][]*gantry.Job{}
	var queues []string
	for _, j := range blocked {
		if _, ok := byQueue[j.JobQueue]; !ok {
			queues = append(queues, j.JobQueue)
		}
		byQueue[j.JobQueue] = append(byQueue[j.JobQueue], j)
	}
	for _, q := range queues {
		first := byQueue[q][0]
		s.cfg.Logger.InfoContext(ctx, "job queue blocked", "queue", q, "job_id", first.JobID,
			"reason", first.StatusReason, "blocked_jobs", len(byQueue[q]))
	}
}
