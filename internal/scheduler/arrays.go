package scheduler

import (
	"context"
	"errors"
	"strconv"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// ReasonArrayChildFailed is an array parent's status reason when a child
// failed (AWS's wording).
const ReasonArrayChildFailed = "Array Child Job failed"

// expandBatch is how many children one transaction materializes.
const expandBatch = 2000

// expand materializes the children of array parents whose own dependencies
// are met, expandBatch per transaction, so that SubmitJob of a 10,000-child
// array stays one cheap write and the children appear within moments.
func (s *Scheduler) expand(ctx context.Context) (int, error) {
	parents, err := s.cfg.Store.JobList(ctx, &store.JobListParams{ArrayExpanding: true, Order: store.JobListOldestFirst, Limit: 100})
	if err != nil {
		return 0, err
	}
	created := 0
	for _, p := range parents {
		for p.ArrayExpanded < p.ArraySize {
			n, err := s.expandOne(ctx, p.JobID)
			if err != nil {
				return created, err
			}
			if n == 0 {
				break
			}
			created += n
			p.ArrayExpanded += int32(n)
			if created >= s.cfg.BatchSize*10 {
				return created, nil // let placement run; continue next cycle
			}
		}
	}
	return created, nil
}

// expandOne materializes the next batch of one parent's children.
func (s *Scheduler) expandOne(ctx context.Context, parentID string) (int, error) {
	n := 0
	err := s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		n = 0
		p, err := tx.JobGet(ctx, parentID)
		if err != nil {
			return err
		}
		if p.ArrayExpanded < 0 || p.ArrayExpanded >= p.ArraySize {
			return nil
		}
		first, last := p.ArrayExpanded, min(p.ArrayExpanded+expandBatch, p.ArraySize)
		stopped := p.IsCancelled != nil && *p.IsCancelled || p.IsTerminated != nil && *p.IsTerminated || p.Status.Terminal()
		known := map[string]gantry.JobStatus{}
		now := s.cfg.Now().UnixMilli()
		for i := first; i < last; i++ {
			c := newChild(p, i, now)
			switch {
			case stopped:
				c.Status, c.StatusReason, c.StoppedAt = gantry.JobStatusFailed, p.StatusReason, now
				c.IsCancelled, c.IsTerminated = p.IsCancelled, p.IsTerminated
			default:
				verdict, err := evalDeps(ctx, tx, c.Deps, known)
				if err != nil {
					return err
				}
				switch verdict {
				case depsMet:
					c.Status = gantry.JobStatusRunnable
				case depsPending:
					c.Status = gantry.JobStatusPending
				case depsFailed:
					c.Status, c.StatusReason, c.StoppedAt = gantry.JobStatusFailed, ReasonDependencyFailed, now
				}
			}
			if err := tx.JobInsert(ctx, c); err != nil {
				return err
			}
			// The child's state change event (RUNNABLE, PENDING or FAILED).
			if err := s.cfg.Transitioner.Inserted(ctx, tx, c); err != nil {
				return err
			}
			if c.Status.Terminal() {
				if err := tx.JobFinishedInsert(ctx, c.JobID); err != nil {
					return err
				}
			}
			known[c.JobID] = c.Status
			n++
		}
		from := p.Status
		p.ArrayExpanded = last
		return s.cfg.Transitioner.Transition(ctx, tx, p, from)
	})
	if errors.Is(err, gantry.ErrConflict) {
		return 0, nil
	}
	return n, err
}

// newChild builds child i of parent p: the parent's spec with its own id,
// index and computed dependency (SEQUENTIAL: the previous child; N_TO_N: the
// same index of the other array).
func newChild(p *gantry.Job, i int32, now int64) *gantry.Job {
	c := *p
	id := p.JobID + ":" + strconv.Itoa(int(i))
	c.JobID, c.JobArn = id, p.JobArn+":"+strconv.Itoa(int(i))
	c.ArrayParentID, c.ArrayExpanded = p.JobID, 0
	c.ArrayProperties = &gantry.ArrayPropertiesDetail{Index: &i}
	c.CreatedAt, c.UpdatedAt = now, now
	c.Attempts = []gantry.AttemptDetail{}
	c.StatusReason, c.StoppedAt = "", 0
	c.DependsOn, c.Deps = nil, nil
	for _, d := range p.DependsOn {
		switch d.Type {
		case gantry.ArrayDependencySeq:
			if i > 0 {
				prev := p.JobID + ":" + strconv.Itoa(int(i-1))
				c.DependsOn = append(c.DependsOn, gantry.JobDependency{JobID: prev, Type: gantry.ArrayDependencySeq})
				c.Deps = append(c.Deps, prev)
			}
		case gantry.ArrayDependencyNToN:
			other := d.JobID + ":" + strconv.Itoa(int(i))
			c.DependsOn = append(c.DependsOn, gantry.JobDependency{JobID: other, Type: gantry.ArrayDependencyNToN})
			c.Deps = append(c.Deps, other)
		}
	}
	if c.Container != nil {
		ctr := *c.Container
		c.Container = &ctr
	}
	return &c
}

// finishArrayIfDone finishes an array parent once every child is
// materialized and terminal: SUCCEEDED if all succeeded, else FAILED.
func (s *Scheduler) finishArrayIfDone(ctx context.Context, tx store.Tx, parentID string) (bool, error) {
	p, err := tx.JobGet(ctx, parentID)
	if errors.Is(err, gantry.ErrNotFound) {
		return false, nil
	}
	if err != nil || p.Status.Terminal() || p.ArrayExpanded < p.ArraySize {
		return false, err
	}
	// One index probe tells whether any child is unfinished; only then
	// count them all.
	unfinished, err := tx.JobList(ctx, &store.JobListParams{ArrayParentID: parentID, Limit: 1, Statuses: []gantry.JobStatus{
		gantry.JobStatusSubmitted, gantry.JobStatusPending, gantry.JobStatusRunnable, gantry.JobStatusStarting, gantry.JobStatusRunning,
	}})
	if err != nil || len(unfinished) > 0 {
		return false, err
	}
	counts, err := tx.JobCountByArrayStatus(ctx, parentID)
	if err != nil {
		return false, err
	}
	if counts[gantry.JobStatusSucceeded]+counts[gantry.JobStatusFailed] < int64(p.ArraySize) {
		return false, nil
	}
	from := p.Status
	p.StoppedAt = s.cfg.Now().UnixMilli()
	stopped := p.IsCancelled != nil && *p.IsCancelled || p.IsTerminated != nil && *p.IsTerminated
	switch {
	case counts[gantry.JobStatusFailed] == 0:
		p.Status, p.StatusReason = gantry.JobStatusSucceeded, ""
	case stopped:
		p.Status = gantry.JobStatusFailed // keeps the cancel/terminate reason
	default:
		p.Status, p.StatusReason = gantry.JobStatusFailed, ReasonArrayChildFailed
	}
	if err := s.cfg.Transitioner.Transition(ctx, tx, p, from); err != nil {
		if errors.Is(err, gantry.ErrConflict) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
