package bench

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
)

// ScenarioContainerThroughput is the name of the container-throughput
// scenario.
const ScenarioContainerThroughput = "container-throughput"

// Defaults of the container-throughput scenario.
const (
	DefaultJobs         = 100
	DefaultImage        = "gantry-test/busybox:latest"
	DefaultVCPU         = "0.25"
	DefaultMemoryMiB    = 512
	DefaultMaxVCPUs     = 2
	DefaultPollInterval = 200 * time.Millisecond
	DefaultTimeout      = 10 * time.Minute
	DefaultServiceRole  = "arn:aws:iam::000000000000:role/AWSBatchServiceRole"
	DefaultSubnet       = "subnet-0123456789abcdef0"
	DefaultSecGroup     = "sg-0123456789abcdef0"
)

// describeBatch is the most job ids one DescribeJobs call takes.
const describeBatch = 100

// maxPollErrors is how many DescribeJobs errors in a row end a run.
const maxPollErrors = 20

// ThroughputConfig configures ContainerThroughput. Zero fields take the
// defaults above.
type ThroughputConfig struct {
	// Client talks to the endpoint; Target names it in the result.
	Client *batch.Client
	Target string
	// Label names the run in reports (default: Target).
	Label string
	Rep   int
	// Env is what to create; Prefix defaults to a random "gb-..." name.
	Env EnvConfig
	// Jobs is N. Array submits one array job of size N instead of N jobs.
	Jobs  int
	Array bool
	// SubmitClients is how many goroutines share the N SubmitJob calls
	// (default 1).
	SubmitClients int
	// PollInterval spaces DescribeJobs rounds.
	PollInterval time.Duration
	// Timeout bounds the whole run, setup included.
	Timeout time.Duration
	// KeepResources leaves the environment, queue and definition in place.
	KeepResources bool
	// DockerCLI, when set, is the docker binary used to read the engine's
	// events for Result.Engine (the endpoint must run its containers on
	// the engine that CLI talks to).
	DockerCLI string
	// Watch names processes (pid by name) whose CPU time and memory the
	// result records, e.g. the server under test and dockerd.
	Watch  map[string]int
	Logger *slog.Logger
}

func (c *ThroughputConfig) applyDefaults() {
	c.Label = cmp.Or(c.Label, c.Target)
	c.Jobs = cmp.Or(c.Jobs, DefaultJobs)
	c.SubmitClients = max(1, c.SubmitClients)
	c.PollInterval = cmp.Or(c.PollInterval, DefaultPollInterval)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	e := &c.Env
	e.Prefix = cmp.Or(e.Prefix, "gb-"+randomHex(6))
	e.MaxVCPUs = cmp.Or(e.MaxVCPUs, DefaultMaxVCPUs)
	e.ServiceRole = cmp.Or(e.ServiceRole, DefaultServiceRole)
	if len(e.Subnets) == 0 {
		e.Subnets = []string{DefaultSubnet}
	}
	if len(e.SecurityGroups) == 0 {
		e.SecurityGroups = []string{DefaultSecGroup}
	}
	e.Image = cmp.Or(e.Image, DefaultImage)
	if len(e.Command) == 0 {
		e.Command = []string{"true"}
	}
	e.VCPU = cmp.Or(e.VCPU, DefaultVCPU)
	e.MemoryMiB = cmp.Or(e.MemoryMiB, DefaultMemoryMiB)
}

func (c *ThroughputConfig) validate() error {
	switch {
	case c.Client == nil:
		return errors.New("no client")
	case c.Jobs < 1:
		return errors.New("jobs: at least 1")
	case c.Array && (c.Jobs < 2 || c.Jobs > 10000):
		return errors.New("jobs: an array job has 2 to 10,000 children")
	}
	if _, err := Parallelism(c.Env.MaxVCPUs, c.Env.VCPU); err != nil {
		return err
	}
	return nil
}

// Parallelism is how many jobs of vcpu fit in maxVCPUs.
func Parallelism(maxVCPUs int32, vcpu string) (int, error) {
	v, err := strconv.ParseFloat(vcpu, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("vcpu %q: want a positive number", vcpu)
	}
	return int(math.Floor(float64(maxVCPUs)/v + 1e-9)), nil
}

// finished is a job seen SUCCEEDED or FAILED.
type finished struct {
	status                          types.JobStatus
	reason                          string
	createdAt, startedAt, stoppedAt int64
	seen                            time.Time
}

// ContainerThroughput creates a Fargate environment, queue and definition
// on the endpoint, submits N jobs (or one array job of N), and polls
// DescribeJobs until all have finished or the deadline passes. The result
// has the wall time and jobs/s, per-job phases from the jobs' createdAt,
// startedAt and stoppedAt, and, with DockerCLI, what the engine saw.
//
// It returns an error when the run could not be carried out (setup failed,
// the deadline passed); failed jobs are counted in the result, not errors.
func ContainerThroughput(ctx context.Context, cfg ThroughputConfig) (*Result, error) {
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", ScenarioContainerThroughput, err)
	}
	p, _ := Parallelism(cfg.Env.MaxVCPUs, cfg.Env.VCPU)
	res := &Result{
		Scenario: ScenarioContainerThroughput, Label: cfg.Label, Target: cfg.Target, Rep: cfg.Rep,
		Mode: ModeJobs, Jobs: cfg.Jobs, Parallelism: p, Phases: map[string]Dist{},
	}
	if cfg.Array {
		res.Mode = ModeArray
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	log := cfg.Logger.With("label", cfg.Label, "mode", res.Mode, "prefix", cfg.Env.Prefix)

	env, err := CreateEnv(ctx, cfg.Client, &cfg.Env)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	if !cfg.KeepResources {
		defer func() {
			// The jobs are finished (or the run failed): remove what we made,
			// even if ctx was cancelled.
			if err := env.Delete(context.WithoutCancel(ctx), 30*time.Second); err != nil {
				log.Warn("cleanup", "error", err)
			}
		}()
	}
	log.Info("submitting", "jobs", cfg.Jobs, "queue", env.Queue, "definition", env.JobDefinition, "parallelism", p)

	var sampler *cpuSampler
	if len(cfg.Watch) > 0 || cfg.DockerCLI != "" {
		sampler = newCPUSampler(cfg.Watch)
	}
	var rec *eventRecorder
	if cfg.DockerCLI != "" {
		if rec, err = startEvents(ctx, cfg.DockerCLI); err != nil {
			return nil, err
		}
		defer rec.close()
	}
	start := time.Now()
	res.Start = start
	ids, parent, err := submit(ctx, &cfg, env, res)
	res.SubmitSeconds = seconds(time.Since(start))
	if err != nil {
		return res, err
	}
	var done map[string]*finished
	var end time.Time
	if cfg.Array {
		end, err = waitArray(ctx, &cfg, parent, cfg.Jobs, log)
		if err == nil {
			done, err = describeAll(ctx, cfg.Client, ids)
		}
	} else {
		done, end, err = waitJobs(ctx, &cfg, ids, res, log)
	}
	if sampler != nil {
		res.CPUSeconds, res.RSSKiB = sampler.done()
	}
	if err != nil {
		return res, err
	}
	res.WallSeconds = seconds(end.Sub(start))
	res.JobsPerSecond = float64(cfg.Jobs) / res.WallSeconds
	summarize(res, done, start)
	if rec != nil {
		keys := map[string]bool{}
		jobs := map[string]jobTimes{}
		for id, f := range done {
			keys[normJobID(id)] = true
			jobs[normJobID(id)] = jobTimes{startedAt: f.startedAt, stoppedAt: f.stoppedAt}
		}
		evs, attrs, err := rec.stop(ctx, end)
		if err != nil {
			res.addError("engine events: %v", err)
		} else {
			res.Engine = engineStats(evs, attrs, start, end, p, matchByJobID(keys), jobs)
		}
	}
	log.Info("done", "succeeded", res.Succeeded, "failed", res.Failed, "wall_s", res.WallSeconds, "jobs_per_s", res.JobsPerSecond)
	return res, nil
}

// submit sends the SubmitJob calls and returns the ids to follow (the
// children's, for an array) and the array parent's id.
func submit(ctx context.Context, cfg *ThroughputConfig, env *Env, res *Result) (ids []string, parent string, err error) {
	if cfg.Array {
		t0 := time.Now()
		out, err := cfg.Client.SubmitJob(ctx, &batch.SubmitJobInput{
			JobName:         aws.String(cfg.Env.Prefix + "-array"),
			JobQueue:        aws.String(env.Queue),
			JobDefinition:   aws.String(env.JobDefinition),
			ArrayProperties: &types.ArrayProperties{Size: aws.Int32(int32(cfg.Jobs))},
		})
		if err != nil {
			return nil, "", fmt.Errorf("SubmitJob (array of %d): %w", cfg.Jobs, err)
		}
		res.Phases[PhaseSubmitCall] = NewDist([]float64{ms(time.Since(t0))})
		parent = aws.ToString(out.JobId)
		ids = make([]string, cfg.Jobs)
		for i := range ids {
			ids[i] = parent + ":" + strconv.Itoa(i)
		}
		return ids, parent, nil
	}
	ids = make([]string, cfg.Jobs)
	lat := make([]float64, cfg.Jobs)
	errs := make([]error, cfg.Jobs)
	work := make(chan int)
	var wg sync.WaitGroup
	for range cfg.SubmitClients {
		wg.Go(func() {
			for i := range work {
				t0 := time.Now()
				out, err := cfg.Client.SubmitJob(ctx, &batch.SubmitJobInput{
					JobName:       aws.String(cfg.Env.Prefix + "-" + strconv.Itoa(i)),
					JobQueue:      aws.String(env.Queue),
					JobDefinition: aws.String(env.JobDefinition),
				})
				lat[i] = ms(time.Since(t0))
				if err != nil {
					errs[i] = err
					continue
				}
				ids[i] = aws.ToString(out.JobId)
			}
		})
	}
	for i := range cfg.Jobs {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	res.Phases[PhaseSubmitCall] = NewDist(lat)
	if err := errors.Join(errs...); err != nil {
		return nil, "", fmt.Errorf("SubmitJob: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	return ids, "", nil
}

// waitJobs polls DescribeJobs over the unfinished jobs, describeBatch at a
// time, every PollInterval, until every job has finished. It returns the
// jobs and the time the last one was seen finished.
func waitJobs(ctx context.Context, cfg *ThroughputConfig, ids []string, res *Result, log *slog.Logger) (map[string]*finished, time.Time, error) {
	done := make(map[string]*finished, len(ids))
	pending := ids
	errRun := 0
	lastLog := time.Now()
	for len(pending) > 0 {
		var still []string
		for i := 0; i < len(pending); i += describeBatch {
			chunk := pending[i:min(i+describeBatch, len(pending))]
			out, err := cfg.Client.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: chunk})
			if err != nil {
				if ctx.Err() != nil {
					return done, time.Time{}, fmt.Errorf("%d of %d jobs unfinished: %w", len(pending), len(ids), ctx.Err())
				}
				if errRun++; errRun >= maxPollErrors {
					return done, time.Time{}, fmt.Errorf("DescribeJobs failed %d times in a row: %w", errRun, err)
				}
				res.addError("DescribeJobs: %v", err)
				still = append(still, chunk...)
				continue
			}
			errRun = 0
			now := time.Now()
			for i := range out.Jobs {
				j := &out.Jobs[i]
				if f := finishedJob(j, now); f != nil {
					done[aws.ToString(j.JobId)] = f
				}
			}
			for _, id := range chunk {
				if done[id] == nil {
					still = append(still, id)
				}
			}
		}
		pending = still
		if len(pending) == 0 {
			break
		}
		if time.Since(lastLog) > 10*time.Second {
			log.Info("waiting", "finished", len(done), "of", len(ids))
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return done, time.Time{}, fmt.Errorf("%d of %d jobs unfinished: %w", len(pending), len(ids), ctx.Err())
		case <-time.After(cfg.PollInterval):
		}
	}
	var end time.Time
	for _, f := range done {
		if f.seen.After(end) {
			end = f.seen
		}
	}
	return done, end, nil
}

// waitArray polls the array parent until its children have all finished
// (by statusSummary; moto leaves a parent with a failed child SUBMITTED)
// or it has finished itself, and returns when that was seen.
func waitArray(ctx context.Context, cfg *ThroughputConfig, parent string, n int, log *slog.Logger) (time.Time, error) {
	errRun := 0
	lastLog := time.Now()
	for {
		out, err := cfg.Client.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{parent}})
		now := time.Now()
		switch {
		case err != nil && ctx.Err() != nil:
			return time.Time{}, fmt.Errorf("array %s unfinished: %w", parent, ctx.Err())
		case err != nil:
			if errRun++; errRun >= maxPollErrors {
				return time.Time{}, fmt.Errorf("DescribeJobs failed %d times in a row: %w", errRun, err)
			}
		case len(out.Jobs) == 1:
			errRun = 0
			j := out.Jobs[0]
			var sum map[string]int32
			if j.ArrayProperties != nil {
				sum = j.ArrayProperties.StatusSummary
			}
			if j.Status == types.JobStatusSucceeded || j.Status == types.JobStatusFailed ||
				int(sum[string(types.JobStatusSucceeded)]+sum[string(types.JobStatusFailed)]) >= n {
				return now, nil
			}
			if time.Since(lastLog) > 10*time.Second {
				log.Info("waiting", "parent_status", j.Status, "summary", sum)
				lastLog = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("array %s unfinished: %w", parent, ctx.Err())
		case <-time.After(cfg.PollInterval):
		}
	}
}

// describeAll describes ids, describeBatch at a time, and returns the
// finished ones (seen time unknown).
func describeAll(ctx context.Context, c *batch.Client, ids []string) (map[string]*finished, error) {
	done := make(map[string]*finished, len(ids))
	for i := 0; i < len(ids); i += describeBatch {
		out, err := c.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: ids[i:min(i+describeBatch, len(ids))]})
		if err != nil {
			return done, fmt.Errorf("DescribeJobs: %w", err)
		}
		for k := range out.Jobs {
			if f := finishedJob(&out.Jobs[k], time.Time{}); f != nil {
				done[aws.ToString(out.Jobs[k].JobId)] = f
			}
		}
	}
	return done, nil
}

func finishedJob(j *types.JobDetail, seen time.Time) *finished {
	if j.Status != types.JobStatusSucceeded && j.Status != types.JobStatusFailed {
		return nil
	}
	return &finished{
		status: j.Status, reason: aws.ToString(j.StatusReason), seen: seen,
		createdAt: aws.ToInt64(j.CreatedAt), startedAt: aws.ToInt64(j.StartedAt), stoppedAt: aws.ToInt64(j.StoppedAt),
	}
}

// summarize fills the counts, phases and peak concurrency from the
// finished jobs.
func summarize(res *Result, done map[string]*finished, start time.Time) {
	var c2s, s2s, s2seen []float64
	var spans []interval
	var lastStop int64
	for id, f := range done {
		if f.status == types.JobStatusSucceeded {
			res.Succeeded++
		} else {
			res.Failed++
			res.addError("job %s FAILED: %s", id, f.reason)
		}
		if f.createdAt > 0 && f.startedAt > 0 {
			c2s = append(c2s, float64(f.startedAt-f.createdAt))
		}
		if f.startedAt > 0 && f.stoppedAt > 0 {
			s2s = append(s2s, float64(f.stoppedAt-f.startedAt))
			// An endpoint may report the process exit (stoppedAt) before it
			// recorded the start (Gantry does for a container that exits at once).
			spans = append(spans, interval{float64(f.startedAt), float64(max(f.startedAt, f.stoppedAt))})
		}
		if f.stoppedAt > 0 && !f.seen.IsZero() {
			s2seen = append(s2seen, float64(f.seen.UnixMilli()-f.stoppedAt))
		}
		lastStop = max(lastStop, f.stoppedAt)
	}
	if missing := res.Jobs - len(done); missing > 0 {
		res.addError("%d jobs not found finished", missing)
	}
	res.Phases[PhaseCreatedToStarted] = NewDist(c2s)
	res.Phases[PhaseStartedToStopped] = NewDist(s2s)
	if len(s2seen) > 0 {
		res.Phases[PhaseStoppedToSeen] = NewDist(s2seen)
	}
	if lastStop > 0 {
		res.LastStopSeconds = float64(lastStop-start.UnixMilli()) / 1000
	}
	res.PeakRunning = peakOverlap(spans)
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
