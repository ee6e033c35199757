package control

import (
	"context"
	"errors"
	"slices"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// CreateJobQueueOutput is the CreateJobQueue (and UpdateJobQueue) response.
type CreateJobQueueOutput struct {
	JobQueueName string `json:"jobQueueName"`
	JobQueueArn  string `json:"jobQueueArn"`
}

// CreateJobQueue creates a VALID queue over up to three compute environments.
func (s *Service) CreateJobQueue(ctx context.Context, in *gantry.CreateJobQueueInput) (*CreateJobQueueOutput, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	arn := s.cfg.ARN.ARN(gantry.ResourceJobQueue, in.JobQueueName)
	q := &gantry.JobQueue{
		JobQueueName:             in.JobQueueName,
		JobQueueArn:              arn,
		State:                    cmpOr(in.State, gantry.StateEnabled),
		Status:                   gantry.StatusValid,
		StatusReason:             "JobQueue Healthy",
		Priority:                 *in.Priority,
		JobQueueType:             in.JobQueueType,
		Tags:                     in.Tags,
		JobStateTimeLimitActions: in.JobStateTimeLimitActions,
	}
	err := s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		order, err := s.resolveCEOrder(ctx, tx, in.ComputeEnvironmentOrder)
		if err != nil {
			return err
		}
		q.ComputeEnvironmentOrder = order
		if in.SchedulingPolicyArn != "" {
			// A fair share queue for life (reference §4.2).
			if q.SchedulingPolicyArn, err = resolveSchedulingPolicy(ctx, tx, in.SchedulingPolicyArn); err != nil {
				return err
			}
		}
		existing, err := tx.JobQueueList(ctx, &store.JobQueueListParams{})
		if err != nil {
			return err
		}
		if len(existing) >= MaxJobQueues {
			return gantry.ClientErrorf("jobQueueName: the limit of %d job queues has been reached", MaxJobQueues)
		}
		if err := tx.JobQueueInsert(ctx, q); err != nil {
			if errors.Is(err, gantry.ErrAlreadyExists) {
				return gantry.ClientErrorf("jobQueueName: Object already exists: %s", in.JobQueueName)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, internal("create job queue", err)
	}
	s.cfg.Wake()
	return &CreateJobQueueOutput{JobQueueName: q.JobQueueName, JobQueueArn: arn}, nil
}

// resolveCEOrder checks that every environment exists and is VALID, that they
// are all EC2/SPOT or all Fargate, and returns the order with ARNs, sorted by
// order.
func (s *Service) resolveCEOrder(ctx context.Context, tx store.Tx, in []gantry.ComputeEnvironmentOrder) ([]gantry.ComputeEnvironmentOrder, error) {
	out := make([]gantry.ComputeEnvironmentOrder, 0, len(in))
	kind := ""
	seen := map[string]bool{}
	for _, o := range in {
		name, _, err := gantry.ResolveName("computeEnvironmentOrder.computeEnvironment", gantry.ResourceComputeEnvironment, o.ComputeEnvironment)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, gantry.ClientErrorf("computeEnvironmentOrder: %s appears twice", name)
		}
		seen[name] = true
		ce, err := tx.ComputeEnvironmentGet(ctx, name)
		if err != nil {
			return nil, notFound(err, "computeEnvironmentOrder.computeEnvironment", o.ComputeEnvironment)
		}
		if ce.Status != gantry.StatusValid {
			return nil, gantry.ClientErrorf("computeEnvironmentOrder: compute environment %s is %s, not VALID", name, ce.Status)
		}
		k := "EC2"
		if ce.IsFargate() {
			k = "FARGATE"
		}
		if kind != "" && k != kind {
			return nil, gantry.ClientErrorf("computeEnvironmentOrder: compute environments of a queue must all be EC2/SPOT or all FARGATE/FARGATE_SPOT")
		}
		kind = k
		out = append(out, gantry.ComputeEnvironmentOrder{Order: o.Order, ComputeEnvironment: ce.ComputeEnvironmentArn})
	}
	slices.SortFunc(out, func(a, b gantry.ComputeEnvironmentOrder) int { return int(a.Order - b.Order) })
	return out, nil
}

// UpdateJobQueue changes state, priority, environments and time limit actions.
func (s *Service) UpdateJobQueue(ctx context.Context, in *gantry.UpdateJobQueueInput) (*CreateJobQueueOutput, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	name, _, err := gantry.ResolveName("jobQueue", gantry.ResourceJobQueue, in.JobQueue)
	if err != nil {
		return nil, err
	}
	var q *gantry.JobQueue
	err = s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		q, err = tx.JobQueueGet(ctx, name)
		if err != nil {
			return notFound(err, "jobQueue", in.JobQueue)
		}
		if in.SchedulingPolicyArn != "" {
			// A FIFO queue never gets a policy; a fair share queue's policy
			// can be replaced but not removed (reference §4.2).
			if q.SchedulingPolicyArn == "" {
				return gantry.ClientErrorf("schedulingPolicyArn: job queue %s was created without a scheduling policy (FIFO) and cannot be given one", q.JobQueueName)
			}
			if q.SchedulingPolicyArn, err = resolveSchedulingPolicy(ctx, tx, in.SchedulingPolicyArn); err != nil {
				return err
			}
		}
		if in.State != "" {
			q.State = in.State
		}
		if in.Priority != nil {
			q.Priority = *in.Priority
		}
		if in.ComputeEnvironmentOrder != nil {
			if len(in.ComputeEnvironmentOrder) == 0 {
				return gantry.ClientErrorf("computeEnvironmentOrder: at least one compute environment is required")
			}
			order, err := s.resolveCEOrder(ctx, tx, in.ComputeEnvironmentOrder)
			if err != nil {
				return err
			}
			q.ComputeEnvironmentOrder = order
		}
		if in.JobStateTimeLimitActions != nil {
			q.JobStateTimeLimitActions = in.JobStateTimeLimitActions
		}
		return tx.JobQueueUpdate(ctx, q)
	})
	if err != nil {
		return nil, internal("update job queue", err)
	}
	s.cfg.Wake()
	return &CreateJobQueueOutput{JobQueueName: q.JobQueueName, JobQueueArn: q.JobQueueArn}, nil
}

// DeleteJobQueueInput is the DeleteJobQueue request.
type DeleteJobQueueInput struct {
	JobQueue string `json:"jobQueue"`
}

// DeleteJobQueue deletes a DISABLED queue. Its jobs that have not started
// fail at once; running jobs are terminated. They stay describable.
func (s *Service) DeleteJobQueue(ctx context.Context, in *DeleteJobQueueInput) (*Empty, error) {
	if in.JobQueue == "" {
		return nil, gantry.ClientErrorf("jobQueue: required")
	}
	name, _, err := gantry.ResolveName("jobQueue", gantry.ResourceJobQueue, in.JobQueue)
	if err != nil {
		return nil, err
	}
	// The queue's unfinished jobs end in batches, one transaction each,
	// so that a deep backlog neither holds the single writer for long nor
	// loads every job at once; the last batch deletes the queue. A
	// DISABLED queue accepts no new job, so the backlog only shrinks. A
	// failure midway leaves the queue DISABLED with fewer jobs: deleting
	// it again finishes the work.
	for {
		var stop []string
		done := false
		err = s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
			stop, done = nil, false
			q, err := tx.JobQueueGet(ctx, name)
			if err != nil {
				return notFound(err, "jobQueue", in.JobQueue)
			}
			if q.State != gantry.StateDisabled {
				return gantry.ClientErrorf("jobQueue: %s must be DISABLED before it can be deleted", name)
			}
			// Waiting jobs first, a batch at a time; then, in the last
			// transaction, the STARTING and RUNNING ones (as many as the
			// environments hold) are asked to stop, and the queue goes.
			jobs, err := tx.JobList(ctx, &store.JobListParams{QueueArn: q.JobQueueArn, Statuses: []gantry.JobStatus{
				gantry.JobStatusSubmitted, gantry.JobStatusPending, gantry.JobStatusRunnable,
			}, Order: store.JobListOldestFirst, Limit: deleteQueueBatch})
			if err != nil {
				return err
			}
			last := len(jobs) < deleteQueueBatch
			if last {
				active, err := tx.JobList(ctx, &store.JobListParams{QueueArn: q.JobQueueArn, Statuses: []gantry.JobStatus{
					gantry.JobStatusStarting, gantry.JobStatusRunning,
				}})
				if err != nil {
					return err
				}
				jobs = append(jobs, active...)
			}
			const reason = "Job queue deleted"
			for _, j := range jobs {
				from := j.Status
				if from.Active() {
					j.IsTerminated, j.StatusReason = ptr(true), reason
					if err := s.tr.Transition(ctx, tx, j, from); err != nil {
						return err
					}
					stop = append(stop, j.JobID)
					continue
				}
				failJob(j, reason, s.nowMillis())
				j.IsCancelled = ptr(true)
				if j.IsArrayParent() {
					j.ArrayExpanded = j.ArraySize // children not yet created never will be
				}
				if err := s.tr.Transition(ctx, tx, j, from); err != nil {
					return err
				}
			}
			if last {
				done = true
				return tx.JobQueueDelete(ctx, name)
			}
			return nil
		})
		if err != nil {
			return nil, internal("delete job queue", err)
		}
		for _, id := range stop {
			if s.cfg.Stopper != nil {
				s.cfg.Stopper.StopJob(id)
			}
		}
		if done {
			break
		}
	}
	return &Empty{}, nil
}

// deleteQueueBatch is how many jobs one DeleteJobQueue transaction ends.
const deleteQueueBatch = 1000

// DescribeJobQueuesInput is the DescribeJobQueues request.
type DescribeJobQueuesInput struct {
	JobQueues  []string `json:"jobQueues,omitempty"`
	MaxResults *int32   `json:"maxResults,omitempty"`
	NextToken  string   `json:"nextToken,omitempty"`
}

// DescribeJobQueuesOutput is the DescribeJobQueues response.
type DescribeJobQueuesOutput struct {
	JobQueues []*gantry.JobQueue `json:"jobQueues"`
	NextToken string             `json:"nextToken,omitempty"`
}

// DescribeJobQueues lists queues by name or ARN, or all a page at a time.
func (s *Service) DescribeJobQueues(ctx context.Context, in *DescribeJobQueuesInput) (*DescribeJobQueuesOutput, error) {
	qs, next, err := describeNamed(namedPage{
		Field: "jobQueues", Type: gantry.ResourceJobQueue,
		Refs: in.JobQueues, MaxResults: in.MaxResults, NextToken: in.NextToken,
	}, func(names []string, after string, limit int) ([]*gantry.JobQueue, error) {
		return s.cfg.Store.JobQueueList(ctx, &store.JobQueueListParams{Names: names, AfterName: after, Limit: limit})
	}, func(q *gantry.JobQueue) string { return q.JobQueueName })
	if err != nil {
		return nil, internal("describe job queues", err)
	}
	return &DescribeJobQueuesOutput{JobQueues: qs, NextToken: next}, nil
}
