package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
)

// Phase names of the API-level scenarios (Result.Phases, ms).
const (
	PhaseCreatedToStartedAt = "created_to_started_at" // startedAt - createdAt of a probe job
	PhaseObservedRunning    = "observed_running"      // SubmitJob sent -> seen RUNNING or later
	PhaseDescribe100        = "describe_100"          // DescribeJobs of 100 ids
	PhaseList100            = "list_100"              // ListJobs, one page of 100
)

// submitThroughput sends N SubmitJob calls from Clients concurrent
// clients into a queue whose jobs do not run (cfg.Hold): the API alone.
func submitThroughput(ctx context.Context, r *run) error {
	cfg := r.cfg
	r.res.Mode = "clients=" + strconv.Itoa(cfg.Clients)
	r.res.Jobs, r.res.Parallelism = cfg.N, cfg.Clients
	env, hold, err := r.heldEnv(ctx, "")
	if err != nil {
		return err
	}
	r.log.Info("submitting", "jobs", cfg.N, "clients", cfg.Clients, "hold", cfg.Hold)
	before := r.scrapeCommits(ctx)
	s := r.submitMany(ctx, cfg.N, cfg.Clients, 0, func(i int) *batch.SubmitJobInput {
		in := jobInput(env, cfg.Env.Prefix+"-"+strconv.Itoa(i))
		hold(in)
		return in
	})
	r.addCleanup(func() { r.terminateHeld(s.ids) })
	r.recordSubmits(s)
	if after := r.scrapeCommits(ctx); before != nil && after != nil {
		r.res.Metrics[MetricWriterBusy] = (after[WriterBusyMetric] - before[WriterBusyMetric]) / s.end.Sub(s.start).Seconds()
		if commits := after[CommitsMetric] - before[CommitsMetric]; commits > 0 {
			r.res.Metrics[MetricCallsPerCommit] = (after[CommitCallsMetric] - before[CommitCallsMetric]) / commits
		}
	}
	return ctx.Err()
}

// scrapeCommits reads group commit's counters at MetricsURL: nil if there
// is no such URL, or the server does not export them (moto has no
// /metrics; these figures are extra, so that is no error).
func (r *run) scrapeCommits(ctx context.Context) map[string]float64 {
	if r.cfg.MetricsURL == "" {
		return nil
	}
	m, err := scrapeCounters(ctx, r.cfg.MetricsURL, WriterBusyMetric, CommitsMetric, CommitCallsMetric)
	if err != nil || len(m) < 3 {
		return nil
	}
	return m
}

// recordSubmits records a submission's rate, call latencies and counts.
func (r *run) recordSubmits(s *submitted) {
	wall := s.end.Sub(s.start)
	ok := 0
	for _, id := range s.ids {
		if id != "" {
			ok++
		}
	}
	r.res.Succeeded += ok
	r.res.Failed += s.failed
	r.res.WallSeconds, r.res.SubmitSeconds = seconds(wall), seconds(wall)
	r.res.JobsPerSecond = float64(ok) / wall.Seconds()
	r.res.Metrics[MetricJobsPerSecond] = r.res.JobsPerSecond
	r.res.Metrics[MetricSubmitSeconds] = r.res.SubmitSeconds
	r.res.Metrics[MetricSubmitErrors] = float64(s.failed)
	r.latencyMetrics(PhaseSubmitCall, s.lat, MetricCallP50, MetricCallP99)
}

// submitLatency submits Samples jobs one at a time into an idle runnable
// queue and measures each one's submit-to-RUNNING time (see probe).
func submitLatency(ctx context.Context, r *run) error {
	r.res.Jobs = r.cfg.Samples
	env, err := r.env(ctx, "", nil)
	if err != nil {
		return err
	}
	return r.probe(ctx, env, r.cfg.Samples)
}

// probe submits m jobs one at a time into env's queue. For each it polls
// DescribeJobs every LatencyPoll until the job is RUNNING or later, and
// records startedAt - createdAt (the endpoint's clock) and the time from
// sending SubmitJob to that poll (the client's); then it waits for the job
// to finish, so that the next one meets an idle queue.
func (r *run) probe(ctx context.Context, env *Env, m int) error {
	var server, observed []float64
	defer func() {
		r.latencyMetrics(PhaseCreatedToStartedAt, server, MetricStartP50, MetricStartP99)
		r.latencyMetrics(PhaseObservedRunning, observed, MetricObservedP50, MetricObservedP99)
	}()
	r.log.Info("probing submit-to-RUNNING", "jobs", m, "queue", env.Queue, "poll", r.cfg.LatencyPoll)
	for i := range m {
		t0 := time.Now()
		out, err := r.cfg.Submitter.SubmitJob(ctx, jobInput(env, r.cfg.Env.Prefix+"-probe-"+strconv.Itoa(i)))
		if err != nil {
			r.res.Failed++
			return fmt.Errorf("SubmitJob: %w", err)
		}
		id := aws.ToString(out.JobId)
		j, seen, err := r.pollUntil(ctx, id, r.cfg.LatencyPoll, started)
		if err != nil {
			return err
		}
		observed = append(observed, ms(seen.Sub(t0)))
		if j.StartedAt != nil && j.CreatedAt != nil {
			server = append(server, float64(*j.StartedAt-*j.CreatedAt))
		}
		if !isFinished(j.Status) {
			if j, _, err = r.pollUntil(ctx, id, r.cfg.PollInterval/5, isFinished); err != nil {
				return err
			}
		}
		if j.Status == types.JobStatusSucceeded {
			r.res.Succeeded++
		} else {
			r.res.Failed++
			r.res.addError("job %s %s: %s", id, j.Status, aws.ToString(j.StatusReason))
		}
	}
	return nil
}

func started(s types.JobStatus) bool {
	return s == types.JobStatusRunning || isFinished(s)
}

func isFinished(s types.JobStatus) bool {
	return s == types.JobStatusSucceeded || s == types.JobStatusFailed
}

// pollUntil describes job id every interval until ok(status), and returns
// the detail and when the answer came.
func (r *run) pollUntil(ctx context.Context, id string, interval time.Duration, ok func(types.JobStatus) bool) (*types.JobDetail, time.Time, error) {
	errRun := 0
	for {
		j, err := describe(ctx, r.cfg.Client, id)
		now := time.Now()
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, now, fmt.Errorf("job %s: %w", id, ctx.Err())
		case err != nil:
			if errRun++; errRun >= maxPollErrors {
				return nil, now, fmt.Errorf("DescribeJobs failed %d times in a row: %w", errRun, err)
			}
			r.res.addError("DescribeJobs: %v", err)
		case ok(j.Status):
			return j, now, nil
		default:
			errRun = 0
		}
		select {
		case <-ctx.Done():
			return nil, time.Now(), fmt.Errorf("job %s: %w", id, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// describeListLatency fills a held queue with N jobs, waits for them to
// settle, then times Samples DescribeJobs calls of 100 random ids and
// Samples ListJobs calls (the queue, the held status, one page of 100).
func describeListLatency(ctx context.Context, r *run) error {
	cfg := r.cfg
	r.res.Jobs = cfg.N
	env, hold, err := r.heldEnv(ctx, "")
	if err != nil {
		return err
	}
	s := r.submitMany(ctx, cfg.N, cfg.Clients, 0, func(i int) *batch.SubmitJobInput {
		in := jobInput(env, cfg.Env.Prefix+"-"+strconv.Itoa(i))
		hold(in)
		return in
	})
	r.addCleanup(func() { r.terminateHeld(s.ids) })
	r.res.Succeeded, r.res.Failed = cfg.N-s.failed, s.failed
	r.res.Metrics[MetricSubmitErrors] = float64(s.failed)
	if s.failed > 0 {
		return fmt.Errorf("%d of %d SubmitJob calls failed", s.failed, cfg.N)
	}
	// Let the server finish what submitting started (promotion).
	if _, err := r.waitEmpty(ctx, env.Queue, "", []types.JobStatus{types.JobStatusSubmitted}); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Rep), uint64(cfg.N)))
	var desc, list []float64
	ids := make([]string, min(describeBatch, len(s.ids)))
	for range cfg.Samples {
		for k := range ids {
			ids[k] = s.ids[rng.IntN(len(s.ids))]
		}
		t0 := time.Now()
		out, err := cfg.Client.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: ids})
		if err != nil {
			return fmt.Errorf("DescribeJobs: %w", err)
		}
		desc = append(desc, ms(time.Since(t0)))
		if len(out.Jobs) == 0 {
			return fmt.Errorf("DescribeJobs of %d ids found none", len(ids))
		}
		t0 = time.Now()
		lo, err := cfg.Client.ListJobs(ctx, &batch.ListJobsInput{JobQueue: aws.String(env.Queue), JobStatus: r.heldStatus(), MaxResults: aws.Int32(100)})
		if err != nil {
			return fmt.Errorf("ListJobs: %w", err)
		}
		list = append(list, ms(time.Since(t0)))
		if len(lo.JobSummaryList) == 0 {
			return fmt.Errorf("ListJobs %s of %s found no job", r.heldStatus(), env.Queue)
		}
	}
	r.latencyMetrics(PhaseDescribe100, desc, MetricDescribeP50, MetricDescribeP99)
	r.latencyMetrics(PhaseList100, list, MetricListP50, MetricListP99)
	return nil
}
