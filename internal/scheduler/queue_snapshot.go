package scheduler

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/control"
	"github.com/gantrybatch/gantry/store"
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
	sq, err := s.queueInput(ctx, q, s.cfg.HeadSize)
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
	util, err := s.queueUtilization(ctx, q)
	if err != nil {
		return nil, err
	}
	return &control.GetJobQueueSnapshotOutput{FrontOfQueue: front, QueueUtilization: util}, nil
}

// topShares is how many shares queueUtilization lists (AWS's 20).
const topShares = 20

// queueUtilization sums the vCPUs the queue's STARTING and RUNNING jobs
// hold, by share for a fair share queue.
func (s *Scheduler) queueUtilization(ctx context.Context, q *gantry.JobQueue) (*control.QueueUtilizationDetail, error) {
	active, err := s.cfg.Store.JobRefList(ctx, &store.JobRefListParams{
		QueueArn: q.JobQueueArn, Statuses: []gantry.JobStatus{gantry.JobStatusStarting, gantry.JobStatusRunning},
	})
	if err != nil {
		return nil, err
	}
	total := 0.0
	byShare := map[string]float64{}
	for _, j := range active {
		total += j.Resources.VCPUs
		byShare[j.ShareIdentifier] += j.Resources.VCPUs
	}
	out := &control.QueueUtilizationDetail{
		TotalCapacityUsage: []control.CapacityUsage{{CapacityUnit: "VCPU", Quantity: total}},
		LastUpdatedAt:      s.cfg.Now().UnixMilli(),
	}
	if q.SchedulingPolicyArn == "" {
		return out, nil
	}
	shares := make([]string, 0, len(byShare))
	for share := range byShare {
		shares = append(shares, share)
	}
	slices.SortFunc(shares, func(a, b string) int {
		return cmp.Or(cmp.Compare(byShare[b], byShare[a]), cmp.Compare(a, b))
	})
	fs := &control.FairshareUtilizationDetail{ActiveShareCount: int64(len(shares)), TopCapacityUtilization: []control.ShareCapacityUsage{}}
	for _, share := range shares[:min(len(shares), topShares)] {
		fs.TopCapacityUtilization = append(fs.TopCapacityUtilization, control.ShareCapacityUsage{
			ShareIdentifier: share, CapacityUsage: []control.CapacityUsage{{CapacityUnit: "VCPU", Quantity: byShare[share]}},
		})
	}
	out.FairshareUtilization = fs
	return out, nil
}
