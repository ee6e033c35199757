package scheduler

import (
	"context"
	"errors"
	"strings"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// ReasonDependencyFailed is the status reason of a job whose dependency
// failed (AWS's wording).
const ReasonDependencyFailed = "Dependent Job failed"

// depOutcome is the verdict on a job's dependencies.
type depOutcome int

const (
	depsMet depOutcome = iota
	depsPending
	depsFailed
)

// evalDeps looks at the jobs in deps (inside tx) and says whether all
// SUCCEEDED, any FAILED, or some are unfinished. known holds statuses the
// caller already has (children inserted earlier in the same batch). A
// missing dependency counts as failed, except an array child its parent has
// not materialized yet, which counts as unfinished while the parent is.
func evalDeps(ctx context.Context, tx store.Tx, deps []string, known map[string]gantry.JobStatus) (depOutcome, error) {
	if len(deps) == 0 {
		return depsMet, nil
	}
	statuses := make(map[string]gantry.JobStatus, len(deps))
	var ask []string
	for _, id := range deps {
		if st, ok := known[id]; ok {
			statuses[id] = st
		} else {
			ask = append(ask, id)
		}
	}
	if len(ask) > 0 {
		found, err := tx.JobGetMany(ctx, ask)
		if err != nil {
			return 0, err
		}
		for _, j := range found {
			statuses[j.JobID] = j.Status
		}
	}
	out := depsMet
	for _, id := range deps {
		st, ok := statuses[id]
		if !ok {
			st = gantry.JobStatusFailed
			if parentID, _, isChild := strings.Cut(id, ":"); isChild {
				parent, err := tx.JobGet(ctx, parentID)
				switch {
				case errors.Is(err, gantry.ErrNotFound):
				case err != nil:
					return 0, err
				case !parent.Status.Terminal():
					st = gantry.JobStatusPending
				}
			}
		}
		switch {
		case st == gantry.JobStatusFailed:
			return depsFailed, nil
		case st != gantry.JobStatusSucceeded:
			out = depsPending
		}
	}
	return out, nil
}

// applyDeps moves a SUBMITTED or PENDING job by its dependency verdict:
// failed -> FAILED, met -> RUNNABLE (an array parent instead starts
// materializing its children and stays PENDING), pending -> PENDING. A
// job waiting for its dependencies carries DependencyReason as its
// statusReason, cleared when it leaves PENDING or starts materializing. It
// reports whether the job changed.
func (s *Scheduler) applyDeps(ctx context.Context, tx store.Tx, j *gantry.Job, verdict depOutcome) (bool, error) {
	from := j.Status
	cp := *j
	switch verdict {
	case depsFailed:
		cp.Status, cp.StatusReason, cp.StoppedAt = gantry.JobStatusFailed, ReasonDependencyFailed, s.cfg.Now().UnixMilli()
		if cp.IsArrayParent() {
			cp.ArrayExpanded = cp.ArraySize // its children will never exist
		}
	case depsMet:
		if cp.IsArrayParent() {
			if cp.ArrayExpanded >= 0 {
				return false, nil
			}
			cp.Status, cp.ArrayExpanded = gantry.JobStatusPending, 0
		} else {
			cp.Status = gantry.JobStatusRunnable
		}
		if cp.StatusReason == DependencyReason(len(cp.Deps)) {
			cp.StatusReason = ""
		}
	case depsPending:
		cp.Status = gantry.JobStatusPending
		cp.StatusReason = DependencyReason(len(cp.Deps))
	}
	if cp.Status == from && cp.ArrayExpanded == j.ArrayExpanded && cp.StatusReason == j.StatusReason {
		return false, nil
	}
	if err := s.cfg.Transitioner.Transition(ctx, tx, &cp, from); err != nil {
		if errors.Is(err, gantry.ErrConflict) {
			return false, nil // cancelled meanwhile
		}
		return false, err
	}
	*j = cp
	return true, nil
}

// promote moves SUBMITTED jobs to PENDING, RUNNABLE or FAILED by their
// dependencies.
func (s *Scheduler) promote(ctx context.Context) (int, error) {
	jobs, err := s.cfg.Store.JobList(ctx, &store.JobListParams{
		Statuses: []gantry.JobStatus{gantry.JobStatusSubmitted}, Order: store.JobListOldestFirst, Limit: s.cfg.BatchSize,
	})
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	moved := 0
	err = s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		moved = 0
		for _, j := range jobs {
			verdict, err := evalDeps(ctx, tx, j.Deps, nil)
			if err != nil {
				return err
			}
			changed, err := s.applyDeps(ctx, tx, j, verdict)
			if err != nil {
				return err
			}
			if changed {
				moved++
			}
		}
		return nil
	})
	return moved, err
}

// propagate works through the finished-jobs queue: the dependents of each
// finished job are re-evaluated (so a dependency chain of any length costs a
// constant amount per finished job, never a scan of all PENDING jobs), and
// an array parent whose children have all finished is finished itself.
// Jobs this makes finish (failure cascades, array parents) join the queue
// in the same transaction and are drained by the same loop, up to a budget
// per transaction.
func (s *Scheduler) propagate(ctx context.Context) (int, error) {
	moved := 0
	for {
		n, more := 0, false
		err := s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
			n, more = 0, false
			budget := 10 * s.cfg.BatchSize
			parents := map[string]bool{}
			for {
				for budget > 0 {
					ids, err := tx.JobFinishedList(ctx, min(budget, s.cfg.BatchSize))
					if err != nil {
						return err
					}
					if len(ids) == 0 {
						break
					}
					budget -= len(ids)
					k, err := s.propagateBatch(ctx, tx, ids, parents)
					if err != nil {
						return err
					}
					n += k
					if err := tx.JobFinishedDelete(ctx, ids); err != nil {
						return err
					}
				}
				if len(parents) == 0 {
					more = budget <= 0
					return nil
				}
				// Array parents are checked once per transaction, after
				// their children's cascades; a parent that finishes joins
				// the queue for its own dependents.
				for parentID := range parents {
					delete(parents, parentID)
					done, err := s.finishArrayIfDone(ctx, tx, parentID)
					if err != nil {
						return err
					}
					if done {
						n++
					}
				}
				if budget <= 0 {
					more = true
					return nil
				}
			}
		})
		if err != nil {
			return moved, err
		}
		moved += n
		if !more {
			return moved, nil
		}
	}
}

// propagateBatch re-evaluates the dependents of one batch of finished jobs
// inside tx, and collects the array parents of finished children.
func (s *Scheduler) propagateBatch(ctx context.Context, tx store.Tx, ids []string, parents map[string]bool) (int, error) {
	n := 0
	for _, id := range ids {
		dependents, err := tx.JobDependentList(ctx, id)
		if err != nil {
			return n, err
		}
		for _, d := range dependents {
			if d.Status != gantry.JobStatusPending || (d.IsArrayParent() && d.ArrayExpanded >= 0) {
				continue // SUBMITTED jobs are promote's; running and finished ones are past this
			}
			verdict, err := evalDeps(ctx, tx, d.Deps, nil)
			if err != nil {
				return n, err
			}
			changed, err := s.applyDeps(ctx, tx, d, verdict)
			if err != nil {
				return n, err
			}
			if changed {
				n++
			}
		}
		if parentID, _, ok := strings.Cut(id, ":"); ok {
			parents[parentID] = true
		}
	}
	return n, nil
}
