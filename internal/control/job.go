package control

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// SubmitJobOutput is the SubmitJob response.
type SubmitJobOutput struct {
	JobArn  string `json:"jobArn"`
	JobName string `json:"jobName"`
	JobID   string `json:"jobId"`
}

// SubmitJob validates the request, resolves the queue and definition, merges
// overrides and parameters into the job's container, and stores the job as
// SUBMITTED. The scheduler takes it from there.
func (s *Service) SubmitJob(ctx context.Context, in *gantry.SubmitJobInput) (*SubmitJobOutput, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.ArrayProperties != nil && in.ArrayProperties.Size != nil {
		return nil, gantry.ClientErrorf("arrayProperties: array jobs are not supported by Gantry yet")
	}
	for _, d := range in.DependsOn {
		if d.Type != "" {
			return nil, gantry.ClientErrorf("dependsOn.type: %s dependencies need array jobs, which are not supported by Gantry yet", d.Type)
		}
		if d.JobID == "" {
			return nil, gantry.ClientErrorf("dependsOn.jobId: required")
		}
	}
	queueName, _, err := gantry.ResolveName("jobQueue", gantry.ResourceJobQueue, in.JobQueue)
	if err != nil {
		return nil, err
	}
	id := uuid.NewString()
	var job *gantry.Job
	err = s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		q, err := tx.JobQueueGet(ctx, queueName)
		if err != nil {
			return notFound(err, "jobQueue", in.JobQueue)
		}
		if q.State != gantry.StateEnabled {
			return gantry.ClientErrorf("jobQueue: %s is DISABLED and does not accept new jobs", q.JobQueueName)
		}
		if in.ShareIdentifier != "" && q.SchedulingPolicyArn == "" {
			return gantry.ClientErrorf("shareIdentifier: not allowed for job queue %s, which has no fair share scheduling policy", q.JobQueueName)
		}
		def, err := resolveJobDefinition(ctx, tx, in.JobDefinition)
		if err != nil {
			return err
		}
		if def.ContainerProperties == nil {
			return gantry.ClientErrorf("jobDefinition: %s has no containerProperties", def.JobDefinitionArn)
		}
		if err := checkDependencies(ctx, tx, in.DependsOn); err != nil {
			return err
		}
		job = s.newJob(id, in, q, def)
		return tx.JobInsert(ctx, job)
	})
	if err != nil {
		return nil, internal("submit job", err)
	}
	s.cfg.Wake()
	return &SubmitJobOutput{JobArn: job.JobArn, JobName: job.JobName, JobID: job.JobID}, nil
}

func checkDependencies(ctx context.Context, tx store.Tx, deps []gantry.JobDependency) error {
	if len(deps) == 0 {
		return nil
	}
	ids := make([]string, 0, len(deps))
	for _, d := range deps {
		ids = append(ids, d.JobID)
	}
	found, err := tx.JobGetMany(ctx, ids)
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(found))
	for _, j := range found {
		have[j.JobID] = true
	}
	for _, id := range ids {
		if !have[id] {
			return gantry.ClientErrorf("dependsOn.jobId: job %s does not exist", id)
		}
	}
	return nil
}

func (s *Service) newJob(id string, in *gantry.SubmitJobInput, q *gantry.JobQueue, def *gantry.JobDefinition) *gantry.Job {
	params := gantry.MergeTags(def.Parameters, in.Parameters) // same merge rule: submit wins
	container := gantry.MergeContainer(def.ContainerProperties, in.ContainerOverrides, params)
	res := container.Resources()
	if res.VCPUs == 0 {
		res.VCPUs = 1 // AWS requires a vCPU count; Gantry defaults to 1.
	}
	job := &gantry.Job{
		JobArn:               s.cfg.ARN.ARN(gantry.ResourceJob, id),
		JobName:              in.JobName,
		JobID:                id,
		JobQueue:             q.JobQueueArn,
		Status:               gantry.JobStatusSubmitted,
		ShareIdentifier:      in.ShareIdentifier,
		SchedulingPriority:   def.SchedulingPriority,
		Attempts:             []gantry.AttemptDetail{},
		CreatedAt:            s.nowMillis(),
		RetryStrategy:        def.RetryStrategy,
		DependsOn:            in.DependsOn,
		JobDefinition:        def.JobDefinitionArn,
		Parameters:           params,
		Container:            &gantry.ContainerDetail{ContainerProperties: *container},
		Timeout:              def.Timeout,
		Tags:                 in.Tags,
		PropagateTags:        def.PropagateTags,
		PlatformCapabilities: def.PlatformCapabilities,
		Resources:            res,
	}
	if in.SchedulingPriorityOverride != nil {
		job.SchedulingPriority = in.SchedulingPriorityOverride
	}
	if in.RetryStrategy != nil {
		job.RetryStrategy = in.RetryStrategy
	}
	if in.Timeout != nil {
		job.Timeout = in.Timeout
	}
	if in.PropagateTags != nil {
		job.PropagateTags = in.PropagateTags
	}
	job.UpdatedAt = job.CreatedAt
	return job
}

// DescribeJobsInput is the DescribeJobs request.
type DescribeJobsInput struct {
	Jobs []string `json:"jobs"`
}

// DescribeJobsOutput is the DescribeJobs response.
type DescribeJobsOutput struct {
	Jobs []*gantry.Job `json:"jobs"`
}

// DescribeJobs returns up to 100 jobs by id or ARN, in the order asked.
// Unknown ids are omitted.
func (s *Service) DescribeJobs(ctx context.Context, in *DescribeJobsInput) (*DescribeJobsOutput, error) {
	if len(in.Jobs) == 0 {
		return nil, gantry.ClientErrorf("jobs: at least one job id is required")
	}
	if len(in.Jobs) > gantry.MaxDescribeJobs {
		return nil, gantry.ClientErrorf("Maximum number of jobs supported is %d", gantry.MaxDescribeJobs)
	}
	ids := make([]string, len(in.Jobs))
	for i, ref := range in.Jobs {
		ids[i] = jobIDFromRef(ref)
	}
	jobs, err := s.cfg.Store.JobGetMany(ctx, ids)
	if err != nil {
		return nil, internal("describe jobs", err)
	}
	byID := make(map[string]*gantry.Job, len(jobs))
	for _, j := range jobs {
		byID[j.JobID] = j
	}
	out := &DescribeJobsOutput{Jobs: make([]*gantry.Job, 0, len(jobs))}
	seen := map[string]bool{}
	for _, id := range ids {
		if j, ok := byID[id]; ok && !seen[id] {
			seen[id] = true
			out.Jobs = append(out.Jobs, j)
		}
	}
	return out, nil
}

// jobIDFromRef accepts a job id or a job ARN.
func jobIDFromRef(ref string) string {
	if p, ok := gantry.ParseARN(ref); ok && p.Type == gantry.ResourceJob {
		return p.Name
	}
	return ref
}

// ListJobsOutput is the ListJobs response.
type ListJobsOutput struct {
	JobSummaryList []gantry.JobSummary `json:"jobSummaryList"`
	NextToken      string              `json:"nextToken,omitempty"`
}

// ListJobs lists a queue's jobs (or an array's children), by status or by one
// filter, newest first. With neither a status nor a filter, it lists RUNNING
// jobs, as AWS does.
func (s *Service) ListJobs(ctx context.Context, in *gantry.ListJobsInput) (*ListJobsOutput, error) {
	n := 0
	for _, v := range []string{in.JobQueue, in.ArrayJobID, in.MultiNodeJobID} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return nil, gantry.ClientErrorf("exactly one of jobQueue, arrayJobId and multiNodeJobId is required")
	}
	if in.JobStatus != "" && !in.JobStatus.Valid() {
		return nil, gantry.ClientErrorf("jobStatus: %q is not a valid job status", in.JobStatus)
	}
	params := &store.JobListParams{Order: store.JobListNewestFirst}
	filtered, err := applyListFilters(params, in.Filters)
	if err != nil {
		return nil, err
	}
	def, max := 1000, 1000
	if filtered {
		def, max = 100, 100
	}
	limit, err := pageSize(in.MaxResults, def, max)
	if err != nil {
		return nil, err
	}
	switch {
	case in.JobStatus != "" && (!filtered || params.ShareIdentifier != ""):
		params.Statuses = []gantry.JobStatus{in.JobStatus}
	case !filtered:
		params.Statuses = []gantry.JobStatus{gantry.JobStatusRunning}
	}
	out := &ListJobsOutput{JobSummaryList: []gantry.JobSummary{}}
	if in.JobQueue == "" {
		// Array and multi-node jobs are not supported yet: no children exist.
		return out, nil
	}
	if strings.HasPrefix(in.JobQueue, "arn:") {
		p, ok := gantry.ParseARN(in.JobQueue)
		if !ok || p.Type != gantry.ResourceJobQueue {
			return nil, gantry.ClientErrorf("jobQueue: %q is not a valid job queue ARN", in.JobQueue)
		}
		params.QueueArn = in.JobQueue
	} else {
		q, err := s.cfg.Store.JobQueueGet(ctx, in.JobQueue)
		if err != nil {
			return nil, notFound(err, "jobQueue", in.JobQueue)
		}
		params.QueueArn = q.JobQueueArn
	}
	if in.NextToken != "" {
		params.After = &store.JobCursor{}
		if err := decodeToken(in.NextToken, params.After); err != nil {
			return nil, err
		}
	}
	params.Limit = limit + 1
	jobs, err := s.cfg.Store.JobList(ctx, params)
	if err != nil {
		return nil, internal("list jobs", err)
	}
	if len(jobs) > limit {
		jobs = jobs[:limit]
		last := jobs[limit-1]
		out.NextToken = encodeToken(store.JobCursor{CreatedAt: last.CreatedAt, ID: last.JobID})
	}
	for _, j := range jobs {
		out.JobSummaryList = append(out.JobSummaryList, j.Summary())
	}
	return out, nil
}

// applyListFilters translates ListJobs filters into store params and reports
// whether a filter other than SHARE_IDENTIFIER alone is in effect.
func applyListFilters(p *store.JobListParams, filters []gantry.KeyValuesPair) (bool, error) {
	if len(filters) == 0 {
		return false, nil
	}
	if len(filters) > 1 {
		return false, gantry.ClientErrorf("filters: at most one filter is allowed")
	}
	f := filters[0]
	if len(f.Values) != 1 {
		return false, gantry.ClientErrorf("filters.values: filter %s takes exactly one value", f.Name)
	}
	v := f.Values[0]
	switch f.Name {
	case "JOB_NAME":
		p.NameLike = v
	case "JOB_DEFINITION":
		if strings.HasPrefix(v, "arn:") {
			pa, ok := gantry.ParseARN(v)
			if !ok || pa.Type != gantry.ResourceJobDefinition {
				return false, gantry.ClientErrorf("filters.values: %q is not a job definition ARN", v)
			}
			if pa.Revision == 0 {
				p.DefinitionName = pa.Name
			} else {
				p.DefinitionArn = v
			}
		} else {
			p.DefinitionName = v
		}
	case "BEFORE_CREATED_AT", "AFTER_CREATED_AT":
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false, gantry.ClientErrorf("filters.values: %s takes epoch milliseconds, got %q", f.Name, v)
		}
		if f.Name == "BEFORE_CREATED_AT" {
			p.CreatedBefore = ms
		} else {
			p.CreatedAfter = ms
		}
	case "SHARE_IDENTIFIER":
		p.ShareIdentifier = v
		return true, nil
	default:
		return false, gantry.ClientErrorf("filters.name: %q must be one of JOB_NAME, JOB_DEFINITION, BEFORE_CREATED_AT, AFTER_CREATED_AT, SHARE_IDENTIFIER", f.Name)
	}
	return true, nil
}

// CancelJobInput is the CancelJob and TerminateJob request.
type CancelJobInput struct {
	JobID  string `json:"jobId"`
	Reason string `json:"reason"`
}

// CancelJob fails a job that has not started yet. STARTING and RUNNING jobs
// are not affected (the call still succeeds); terminal jobs are left alone.
func (s *Service) CancelJob(ctx context.Context, in *CancelJobInput) (*Empty, error) {
	return s.stopJob(ctx, in, false, 0)
}

// TerminateJob fails a job in any non-terminal state, stopping its running
// attempt with SIGTERM and then SIGKILL.
func (s *Service) TerminateJob(ctx context.Context, in *CancelJobInput) (*Empty, error) {
	return s.stopJob(ctx, in, true, 0)
}

func (s *Service) stopJob(ctx context.Context, in *CancelJobInput, terminate bool, depth int) (*Empty, error) {
	if in.JobID == "" {
		return nil, gantry.ClientErrorf("jobId: required")
	}
	if in.Reason == "" {
		return nil, gantry.ClientErrorf("reason: required")
	}
	id := jobIDFromRef(in.JobID)
	stop := false
	err := s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		stop = false
		j, err := tx.JobGet(ctx, id)
		if err != nil {
			return notFound(err, "jobId", in.JobID)
		}
		from := j.Status
		switch {
		case from.Terminal():
			return nil
		case from.Active():
			if !terminate {
				return nil
			}
			// The runner records FAILED when the attempt exits.
			j.IsTerminated, j.StatusReason = ptr(true), in.Reason
			stop = true
			return s.tr.Transition(ctx, tx, j, from)
		default:
			failJob(j, in.Reason, s.nowMillis())
			if terminate {
				j.IsTerminated = ptr(true)
			} else {
				j.IsCancelled = ptr(true)
			}
			return s.tr.Transition(ctx, tx, j, from)
		}
	})
	if errors.Is(err, gantry.ErrConflict) && depth < 5 {
		// The job moved under us (e.g. RUNNABLE -> STARTING); look again.
		return s.stopJob(ctx, in, terminate, depth+1)
	}
	if err != nil {
		return nil, internal("stop job", err)
	}
	if stop && s.cfg.Stopper != nil {
		s.cfg.Stopper.StopJob(id)
	}
	s.cfg.Wake()
	return &Empty{}, nil
}

// failJob moves j to FAILED with a reason.
func failJob(j *gantry.Job, reason string, nowMillis int64) {
	j.Status = gantry.JobStatusFailed
	j.StatusReason = reason
	j.StoppedAt = nowMillis
}
