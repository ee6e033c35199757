package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
)

// e2eThroughput submits N trivial jobs (Clients submitters) into a
// runnable queue and polls ListJobs by status until none is unfinished:
// jobs/s from the first submit to all finished.
func e2eThroughput(ctx context.Context, r *run) error {
	cfg := r.cfg
	r.res.Mode = ModeJobs
	r.res.Jobs = cfg.N
	env, err := r.runEnv(ctx)
	if err != nil {
		return err
	}
	r.log.Info("submitting", "jobs", cfg.N, "clients", cfg.Clients, "parallelism", r.res.Parallelism)
	s := r.submitMany(ctx, cfg.N, cfg.Clients, 0, func(i int) *batch.SubmitJobInput {
		return jobInput(env, cfg.Env.Prefix+"-"+strconv.Itoa(i))
	})
	r.res.SubmitSeconds = seconds(s.end.Sub(s.start))
	r.res.Metrics[MetricSubmitSeconds] = r.res.SubmitSeconds
	r.latencyMetrics(PhaseSubmitCall, s.lat, MetricCallP50, MetricCallP99)
	if s.failed > 0 {
		r.res.Failed += s.failed
		r.res.Metrics[MetricSubmitErrors] = float64(s.failed)
	}
	end, err := r.waitEmpty(ctx, env.Queue, "", unfinished)
	if err != nil {
		return err
	}
	by, last, err := r.finishedJobs(ctx, env.Queue, "")
	if err != nil {
		return err
	}
	r.recordRun(s.start, end, last, by)
	return nil
}

// runEnv creates the runnable environment and records its parallelism.
func (r *run) runEnv(ctx context.Context) (*Env, error) {
	r.res.Parallelism, _ = Parallelism(r.cfg.Env.MaxVCPUs, r.cfg.Env.VCPU)
	return r.env(ctx, "", nil)
}

// recordRun records wall time (start -> end, the poll that saw the last
// job finished), jobs/s over Result.Jobs, the latest stoppedAt, and the
// per-job phases of the finished jobs.
func (r *run) recordRun(start, end time.Time, lastStop int64, by map[string]types.JobSummary) {
	res := r.res
	res.WallSeconds = seconds(end.Sub(start))
	res.JobsPerSecond = float64(res.Jobs) / res.WallSeconds
	res.Metrics[MetricWallSeconds] = res.WallSeconds
	res.Metrics[MetricJobsPerSecond] = res.JobsPerSecond
	if lastStop > 0 {
		res.LastStopSeconds = float64(lastStop-start.UnixMilli()) / 1000
		res.Metrics[MetricLastStopSeconds] = res.LastStopSeconds
	}
	var c2s, s2s []float64
	var spans []interval
	for _, s := range by {
		c, st, sp := aws.ToInt64(s.CreatedAt), aws.ToInt64(s.StartedAt), aws.ToInt64(s.StoppedAt)
		if c > 0 && st > 0 {
			c2s = append(c2s, float64(st-c))
		}
		if st > 0 && sp > 0 {
			s2s = append(s2s, float64(sp-st))
			spans = append(spans, interval{float64(st), float64(max(st, sp))})
		}
	}
	if len(c2s) > 0 {
		res.Phases[PhaseCreatedToStarted] = NewDist(c2s)
	}
	if len(s2s) > 0 {
		res.Phases[PhaseStartedToStopped] = NewDist(s2s)
	}
	res.PeakRunning = peakOverlap(spans)
	if missing := res.Jobs - res.Succeeded - res.Failed; missing > 0 {
		res.addError("%d jobs not found finished", missing)
	}
}

// submitArray creates the runnable environment and submits one array job
// of N trivial children; start is when the SubmitJob call was sent.
func (r *run) submitArray(ctx context.Context) (env *Env, out *batch.SubmitJobOutput, start time.Time, err error) {
	n := r.cfg.N
	if n < 2 || n > 10000 {
		return nil, nil, start, fmt.Errorf("an array job has 2 to 10,000 children, not %d", n)
	}
	if env, err = r.runEnv(ctx); err != nil {
		return nil, nil, start, err
	}
	start = time.Now()
	in := jobInput(env, r.cfg.Env.Prefix+"-array")
	in.ArrayProperties = &types.ArrayProperties{Size: aws.Int32(int32(n))}
	if out, err = r.cfg.Submitter.SubmitJob(ctx, in); err != nil {
		return nil, nil, start, fmt.Errorf("SubmitJob (array of %d): %w", n, err)
	}
	return env, out, start, nil
}

// arrayRun submits one array job of N trivial children: the SubmitJob
// call's latency, and the time to all children finished.
func arrayRun(ctx context.Context, r *run) error {
	cfg := r.cfg
	r.res.Mode = ModeArray
	r.res.Jobs = cfg.N
	_, out, start, err := r.submitArray(ctx)
	if err != nil {
		return err
	}
	call := time.Since(start)
	r.res.SubmitSeconds = seconds(call)
	r.res.Metrics[MetricSubmitCall] = ms(call)
	r.res.Phases[PhaseSubmitCall] = NewDist([]float64{ms(call)})
	parent := aws.ToString(out.JobId)
	r.log.Info("submitted", "array", parent, "children", cfg.N, "call_ms", ms(call))
	end, err := waitArray(ctx, &ThroughputConfig{Client: cfg.Client, PollInterval: cfg.PollInterval}, parent, cfg.N, r.log)
	if err != nil {
		return err
	}
	by, last, err := r.finishedJobs(ctx, "", parent)
	if err != nil {
		return err
	}
	r.recordRun(start, end, last, by)
	return nil
}

// chainRun submits N jobs, each depending on the one before, then waits
// for the last: the submit time and the time to the last job finished.
func chainRun(ctx context.Context, r *run) error {
	cfg := r.cfg
	r.res.Mode = "chain"
	r.res.Jobs = cfg.N
	env, err := r.runEnv(ctx)
	if err != nil {
		return err
	}
	ids := make([]string, 0, cfg.N)
	lat := make([]float64, 0, cfg.N)
	start := time.Now()
	for i := range cfg.N {
		in := jobInput(env, cfg.Env.Prefix+"-"+strconv.Itoa(i))
		if i > 0 {
			in.DependsOn = []types.JobDependency{{JobId: aws.String(ids[i-1])}}
		}
		t0 := time.Now()
		out, err := cfg.Submitter.SubmitJob(ctx, in)
		if err != nil {
			r.res.Failed = cfg.N - i
			return fmt.Errorf("SubmitJob %d of the chain: %w", i, err)
		}
		lat = append(lat, ms(time.Since(t0)))
		ids = append(ids, aws.ToString(out.JobId))
	}
	r.res.SubmitSeconds = seconds(time.Since(start))
	r.res.Metrics[MetricSubmitSeconds] = r.res.SubmitSeconds
	r.latencyMetrics(PhaseSubmitCall, lat, MetricCallP50, MetricCallP99)
	r.log.Info("submitted", "chain", cfg.N, "submit_s", r.res.SubmitSeconds)
	_, end, err := r.pollUntil(ctx, ids[len(ids)-1], cfg.PollInterval, isFinished)
	if err != nil {
		return err
	}
	// The last job finishes last (a dependent of a failed job fails after
	// it); check that nothing is left before counting.
	if _, err := r.waitEmpty(ctx, env.Queue, "", unfinished); err != nil {
		return err
	}
	by, last, err := r.finishedJobs(ctx, env.Queue, "")
	if err != nil {
		return err
	}
	r.recordRun(start, end, last, by)
	return nil
}

// fanIn submits an array job of N trivial children and one job depending
// on the array parent (AWS allows 20 dependencies per job; a dependency on
// an array waits for all its children). It records the time to the
// dependent RUNNING and finished, and the gap between the last child's
// stoppedAt and the dependent's startedAt.
func fanIn(ctx context.Context, r *run) error {
	cfg := r.cfg
	r.res.Mode = "array+1"
	r.res.Jobs = cfg.N + 1
	env, out, start, err := r.submitArray(ctx)
	if err != nil {
		return err
	}
	parent := aws.ToString(out.JobId)
	in := jobInput(env, cfg.Env.Prefix+"-fan-in")
	in.DependsOn = []types.JobDependency{{JobId: aws.String(parent)}}
	out, err = cfg.Submitter.SubmitJob(ctx, in)
	if err != nil {
		return fmt.Errorf("SubmitJob (the dependent): %w", err)
	}
	dep := aws.ToString(out.JobId)
	r.res.SubmitSeconds = seconds(time.Since(start))
	r.res.Metrics[MetricSubmitSeconds] = r.res.SubmitSeconds
	// Each poll also describes the parent: moto marks an array parent
	// SUCCEEDED only when it is described, and its dependents wait for that.
	ids := []string{dep, parent}
	var depJob *types.JobDetail
	var running, end time.Time
	errRun := 0
	for {
		o, err := cfg.Client.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: ids})
		now := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("fan-in job %s unfinished: %w", dep, ctx.Err())
			}
			if errRun++; errRun >= maxPollErrors {
				return fmt.Errorf("DescribeJobs failed %d times in a row: %w", errRun, err)
			}
			r.res.addError("DescribeJobs: %v", err)
			o = &batch.DescribeJobsOutput{}
		} else {
			errRun = 0
		}
		for i := range o.Jobs {
			if aws.ToString(o.Jobs[i].JobId) != dep {
				continue
			}
			depJob = &o.Jobs[i]
			if running.IsZero() && started(depJob.Status) {
				running = now
			}
		}
		if depJob != nil && isFinished(depJob.Status) {
			end = now
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("fan-in job %s unfinished: %w", dep, ctx.Err())
		case <-time.After(cfg.PollInterval):
		}
	}
	if depJob.Status == types.JobStatusSucceeded {
		r.res.Succeeded++
	} else {
		r.res.Failed++
		r.res.addError("fan-in job %s FAILED: %s", dep, aws.ToString(depJob.StatusReason))
	}
	r.res.Metrics[MetricDependentRunning] = seconds(running.Sub(start))
	by, last, err := r.finishedJobs(ctx, "", parent)
	if err != nil {
		return err
	}
	if depJob.StartedAt != nil && last > 0 {
		r.res.Metrics[MetricFanInGap] = float64(aws.ToInt64(depJob.StartedAt) - last)
	}
	by[dep] = types.JobSummary{JobId: depJob.JobId, CreatedAt: depJob.CreatedAt, StartedAt: depJob.StartedAt, StoppedAt: depJob.StoppedAt}
	r.recordRun(start, end, max(last, aws.ToInt64(depJob.StoppedAt)), by)
	return nil
}
