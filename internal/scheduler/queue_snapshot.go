package scheduler

import (
	"cmp"
	"context"
	"errors"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/control"
)

// FrontOfQueueSize is the number of jobs GetJobQueueSnapshot reports.
const FrontOfQueueSize = 100

// GetJobQueueSnapshot answers the GetJobQueueSnapshot operation: the first
// 100 RUNNABLE jobs of a queue in the order the planner would dispatch them
// (FIFO, or fair share order from the share usage of the last cycle). A
// job's earliestTimeAtPosition is the time of its last change (it became
// RUNNABLE, or its statusReason changed). It reads the store only and may
// run concurrently with the scheduling loop.
func (s *Scheduler) GetJobQueueSnapshot(ctx context.Context, in *control.GetJobQueueSnapshotInput) (*control.GetJobQueueSnapshotOutput, error) {
	if in.JobQueue == "" {
		return nil, gantry.ClientErrorf("jobQueue: required")
	}
	name, _, err := gantry.ResolveName("jobQueue", gantry.ResourceJobQueue, in.JobQueue)
	if err != nil {
		return nil, err
	}
	q, err := s.cfg.Store.JobQueueGet(ctx, name)
	if errors.Is(err, gantry.ErrNotFound) {
		return nil, gantry.ClientErrorf("jobQueue: %s does not exist", in.JobQueue)
	}
	if err != nil {
		return nil, err
	}
	sq, err := s.queueInput(ctx, q)
	if err != nil {
		return nil, err
	}
	order := DispatchOrder(sq, FrontOfQueueSize)
	ids := make([]string, len(order))
	for i, ref := range order {
		ids[i] = ref.ID
	}
	list, err := s.cfg.Store.JobGetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	jobs := make(map[string]*gantry.Job, len(list))
	for _, j := range list {
		jobs[j.JobID] = j
	}
	front := &control.FrontOfQueueDetail{
		Jobs:          []control.FrontOfQueueJobSummary{},
		LastUpdatedAt: s.cfg.Now().UnixMilli(),
	}
	for _, ref := range order {
		j := jobs[ref.ID]
		if j == nil {
			continue // deleted meanwhile
		}
		front.Jobs = append(front.Jobs, control.FrontOfQueueJobSummary{
			JobArn:                 j.JobArn,
			EarliestTimeAtPosition: cmp.Or(j.UpdatedAt, j.CreatedAt),
		})
	}
	return &control.GetJobQueueSnapshotOutput{FrontOfQueue: front}, nil
}
