package scheduler

import (
	"context"
	"errors"
	"strings"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// applyTimeLimits runs the queues' jobStateTimeLimitActions: a RUNNABLE job
// whose status reason has begun with an action's reason for maxTimeSeconds
// is cancelled (AWS's CANCEL; TERMINATE acts the same on a job that never
// started). The time counts from the job's last update, which for a blocked
// job is when the scheduler wrote its blocking reason.
func (s *Scheduler) applyTimeLimits(ctx context.Context) (int, error) {
	queues, err := s.cfg.Store.JobQueueList(ctx, &store.JobQueueListParams{})
	if err != nil {
		return 0, err
	}
	now := s.cfg.Now().UnixMilli()
	n := 0
	for _, q := range queues {
		if len(q.JobStateTimeLimitActions) == 0 {
			continue
		}
		jobs, err := s.cfg.Store.JobList(ctx, &store.JobListParams{
			QueueArn: q.JobQueueArn, Statuses: []gantry.JobStatus{gantry.JobStatusRunnable},
			Order: store.JobListOldestFirst, Limit: s.cfg.BatchSize,
		})
		if err != nil {
			return n, err
		}
		err = s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
			for _, j := range jobs {
				if j.StatusReason == "" {
					continue
				}
				for _, a := range q.JobStateTimeLimitActions {
					if !strings.HasPrefix(j.StatusReason, a.Reason) || now-j.UpdatedAt < int64(a.MaxTimeSeconds)*1000 {
						continue
					}
					cp := *j
					cp.Status, cp.StoppedAt = gantry.JobStatusFailed, now
					cp.StatusReason = "Canceled by JobStateTimeLimit action due to reason: " + a.Reason
					t := true
					cp.IsCancelled = &t
					if err := s.cfg.Transitioner.Transition(ctx, tx, &cp, gantry.JobStatusRunnable); err != nil {
						if errors.Is(err, gantry.ErrConflict) {
							break
						}
						return err
					}
					n++
					break
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
