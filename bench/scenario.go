package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
)

// Names of the API-level scenarios (see Run).
const (
	ScenarioSubmitThroughput    = "submit-throughput"
	ScenarioE2EThroughput       = "e2e-throughput"
	ScenarioSubmitLatency       = "submit-latency"
	ScenarioDescribeListLatency = "describe-list-latency"
	ScenarioArray               = "array-10k"
	ScenarioChain               = "chain-10k"
	ScenarioFanIn               = "fan-in"
	ScenarioQueued              = "queued-1m"
	ScenarioMachineLimit        = "machine-limit"
)

// Scenarios lists every scenario name, container-throughput first.
var Scenarios = []string{
	ScenarioContainerThroughput, ScenarioSubmitThroughput, ScenarioE2EThroughput, ScenarioSubmitLatency,
	ScenarioDescribeListLatency, ScenarioArray, ScenarioChain, ScenarioFanIn, ScenarioQueued, ScenarioMachineLimit,
}

// DefaultN is each scenario's default size (N, K, W or Q; submit-latency
// has Samples only).
var DefaultN = map[string]int{
	ScenarioSubmitThroughput:    10000,
	ScenarioE2EThroughput:       1000,
	ScenarioDescribeListLatency: 10000,
	ScenarioArray:               10000,
	ScenarioChain:               10000,
	ScenarioFanIn:               1000,
	ScenarioQueued:              1000000,
}

// Metric keys in Result.Metrics. A key ending in "_per_s" is a rate
// (higher is better); every other is a time or size (lower is better).
const (
	MetricJobsPerSecond   = "jobs_per_s"     // jobs / wall time
	MetricWallSeconds     = "wall_s"         // first submit -> last job seen finished
	MetricSubmitSeconds   = "submit_s"       // first submit sent -> last answered
	MetricLastStopSeconds = "last_stop_s"    // first submit -> latest stoppedAt (server clock)
	MetricCallP50         = "call_p50_ms"    // one SubmitJob call
	MetricCallP99         = "call_p99_ms"    //
	MetricSubmitCall      = "submit_call_ms" // the one SubmitJob call of an array
	// Submit-to-RUNNING: by the job's timestamps (startedAt - createdAt)
	// and as the client saw it (SubmitJob sent -> DescribeJobs shows it
	// RUNNING or later).
	MetricStartP50    = "created_to_started_p50_ms"
	MetricStartP99    = "created_to_started_p99_ms"
	MetricObservedP50 = "observed_to_running_p50_ms"
	MetricObservedP99 = "observed_to_running_p99_ms"
	MetricDescribeP50 = "describe100_p50_ms"
	MetricDescribeP99 = "describe100_p99_ms"
	MetricListP50     = "list100_p50_ms"
	MetricListP99     = "list100_p99_ms"
	// MetricFanInGap is the last child's stoppedAt -> the dependent's
	// startedAt; MetricDependentRunning is first submit -> the dependent
	// seen RUNNING or later.
	MetricFanInGap         = "fanin_gap_ms"
	MetricDependentRunning = "dependent_running_s"
	// queued-1m: submit rates of the first and last blocks, the time after
	// the last submit until no job was SUBMITTED any more, and the
	// scheduler's cycle time from /metrics.
	MetricFirstBlock = "first_block_jobs_per_s"
	MetricLastBlock  = "last_block_jobs_per_s"
	MetricSettle     = "settle_s"
	MetricCycleMean  = "sched_cycle_mean_ms"
	MetricCycleMax   = "sched_cycle_max_le_ms" // upper bound of the highest histogram bucket hit
	MetricCycles     = "sched_cycles"
	MetricRSSPeak    = "server_rss_peak_mib"  // most VmRSS sampled during the run
	MetricRSSFinal   = "server_rss_final_mib" // VmRSS at the end
	MetricRSSHWM     = "server_rss_hwm_mib"   // VmHWM: the process's peak since it started
	// submit-throughput on a server that exports group commit's counters:
	// the share of the run its single writer was busy, and write calls per
	// commit.
	MetricWriterBusy     = "writer_busy"
	MetricCallsPerCommit = "calls_per_commit"
	MetricServerCPU      = "server_cpu_s"
	MetricMachineCPU     = "machine_cpu_s"
	MetricSubmitErrors   = "submit_errors"
)

// Hold methods: how the scenarios that measure the API alone keep their
// jobs from running.
const (
	// HoldDisabledCE submits into a queue whose only compute environment
	// is DISABLED: Gantry keeps the jobs RUNNABLE (moto ignores it and
	// runs them).
	HoldDisabledCE = "disabled-ce"
	// HoldOversize submits jobs asking for more vCPUs than the environment
	// has (Gantry keeps them RUNNABLE with a blocking reason, one extra
	// write per job).
	HoldOversize = "oversize"
	// HoldMissingDep makes every job depend on a job id that does not
	// exist: moto keeps such jobs PENDING forever (Gantry rejects them).
	// The jobs are terminated at the end.
	HoldMissingDep = "missing-dep"
)

// Config configures the API-level scenarios (Run). Zero fields take
// defaults.
type Config struct {
	// Client talks to the endpoint; NewClient makes the extra clients of
	// concurrent submitters (each with its own connection pool) and
	// defaults to returning Client.
	Client    *batch.Client
	NewClient func() *batch.Client
	// SubmitClient names the client every SubmitJob call goes through
	// (SubmitClientSDK, the default, SubmitClientHTTP or
	// SubmitClientWire); it is recorded in the result's mode. Submitter
	// sends the scenarios' single SubmitJob calls (default Client);
	// NewSubmitter makes the client of each concurrent submitter (default
	// NewClient). With the lean clients both must be set, to
	// HTTPSubmitters (NewLeanSubmitter). DescribeJobs, ListJobs and the
	// setup always go through Client.
	SubmitClient string
	Submitter    Submitter
	NewSubmitter func() Submitter
	Target       string
	Label        string
	Rep          int
	// Env is the runnable environment; Prefix defaults to "gb-<random>".
	Env EnvConfig
	// N is the scenario's size (DefaultN); Samples is M for the latency
	// scenarios (default 200; queued-1m: 20).
	N       int
	Samples int
	// Clients is how many concurrent submitters (default 1; queued-1m 16).
	Clients int
	// Hold is how jobs are kept from running (default HoldDisabledCE).
	Hold string
	// Block is queued-1m's block size for submit rates (default N/10).
	Block int
	// PollInterval spaces status polls (default 50ms); LatencyPoll is the
	// DescribeJobs interval of the latency probes (default 2ms).
	PollInterval time.Duration
	LatencyPoll  time.Duration
	// Timeout bounds the whole run, setup and cleanup included.
	Timeout time.Duration
	// KeepResources leaves the environments, queues and jobs in place.
	KeepResources bool
	// ServerPID, when set, is the server process whose RSS and CPU time
	// the result records; MetricsURL, when set, is its Prometheus
	// endpoint (queued-1m reads the scheduler's cycle time there).
	ServerPID  int
	MetricsURL string
	// Duration is how long machine-limit forks /bin/true (default 5s).
	Duration time.Duration
	Logger   *slog.Logger
}

func (c *Config) applyDefaults(scenario string) {
	c.Label = cmp.Or(c.Label, c.Target)
	c.N = cmp.Or(c.N, DefaultN[scenario], 1) // 1: unused
	if scenario == ScenarioQueued {
		c.Samples = cmp.Or(c.Samples, 20)
		c.Clients = cmp.Or(c.Clients, 16)
		c.Block = cmp.Or(c.Block, max(1, c.N/10))
	}
	if scenario == ScenarioMachineLimit {
		c.Clients = cmp.Or(c.Clients, runtime.NumCPU())
	}
	c.Samples = cmp.Or(c.Samples, 200)
	c.Clients = max(1, c.Clients)
	c.Hold = cmp.Or(c.Hold, HoldDisabledCE)
	c.PollInterval = cmp.Or(c.PollInterval, 50*time.Millisecond)
	c.LatencyPoll = cmp.Or(c.LatencyPoll, 2*time.Millisecond)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.Duration = cmp.Or(c.Duration, 5*time.Second)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	if c.NewClient == nil {
		cl := c.Client
		c.NewClient = func() *batch.Client { return cl }
	}
	c.SubmitClient = cmp.Or(c.SubmitClient, SubmitClientSDK)
	if c.Submitter == nil && c.Client != nil {
		c.Submitter = c.Client
	}
	if c.NewSubmitter == nil {
		nc := c.NewClient
		c.NewSubmitter = func() Submitter { return nc() }
	}
	tc := ThroughputConfig{Env: c.Env}
	tc.applyDefaults()
	c.Env = tc.Env
}

// Run runs one API-level scenario (any of Scenarios but
// container-throughput). Like ContainerThroughput it returns an error when
// the run could not be carried out; jobs that failed are counted in the
// result. Result.Jobs is every job the scenario accounts for, and
// Result.Succeeded those that did what they should: SUCCEEDED, or, for
// jobs that are held and never run, accepted by SubmitJob.
func Run(ctx context.Context, scenario string, cfg Config) (*Result, error) {
	cfg.applyDefaults(scenario)
	if scenario != ScenarioMachineLimit && cfg.Client == nil {
		return nil, fmt.Errorf("%s: no client", scenario)
	}
	if !slices.Contains(SubmitClients, cfg.SubmitClient) {
		return nil, fmt.Errorf("%s: submit client %q: want %s", scenario, cfg.SubmitClient, strings.Join(SubmitClients, ", "))
	}
	if _, ok := cfg.Submitter.(*HTTPSubmitter); cfg.SubmitClient != SubmitClientSDK && scenario != ScenarioMachineLimit && !ok {
		return nil, fmt.Errorf("%s: submit client %s: Submitter and NewSubmitter must be HTTPSubmitters", scenario, cfg.SubmitClient)
	}
	if cfg.N < 1 || cfg.Samples < 1 {
		return nil, fmt.Errorf("%s: N and samples must be at least 1", scenario)
	}
	switch cfg.Hold {
	case HoldDisabledCE, HoldOversize, HoldMissingDep:
	default:
		return nil, fmt.Errorf("%s: hold %q: want %s, %s or %s", scenario, cfg.Hold, HoldDisabledCE, HoldOversize, HoldMissingDep)
	}
	fns := map[string]func(context.Context, *run) error{
		ScenarioSubmitThroughput:    submitThroughput,
		ScenarioE2EThroughput:       e2eThroughput,
		ScenarioSubmitLatency:       submitLatency,
		ScenarioDescribeListLatency: describeListLatency,
		ScenarioArray:               arrayRun,
		ScenarioChain:               chainRun,
		ScenarioFanIn:               fanIn,
		ScenarioQueued:              queued,
		ScenarioMachineLimit:        machineLimit,
	}
	fn := fns[scenario]
	if fn == nil {
		return nil, fmt.Errorf("scenario %q: unknown (have %s)", scenario, strings.Join(Scenarios, ", "))
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	r := &run{
		cfg: &cfg,
		res: &Result{Scenario: scenario, Label: cfg.Label, Target: cfg.Target, Rep: cfg.Rep, Start: time.Now(),
			Mode: "-", Metrics: map[string]float64{}, Phases: map[string]Dist{}},
		log: cfg.Logger.With("scenario", scenario, "label", cfg.Label, "prefix", cfg.Env.Prefix),
	}
	watch := map[string]int{}
	if cfg.ServerPID > 0 {
		watch["server"] = cfg.ServerPID
		r.rss = startRSSSampler(cfg.ServerPID)
	}
	cpu := newCPUSampler(watch)
	err := fn(ctx, r)
	if scenario != ScenarioMachineLimit {
		r.res.SubmitClient = cfg.SubmitClient
		if r.res.Mode == "" || r.res.Mode == "-" {
			r.res.Mode = "client=" + cfg.SubmitClient
		} else {
			r.res.Mode += " client=" + cfg.SubmitClient
		}
	}
	if r.res.WallSeconds == 0 { // the latency scenarios: the whole run, setup included
		r.res.WallSeconds = seconds(time.Since(r.res.Start))
	}
	secs, _ := cpu.done()
	if v, ok := secs["server"]; ok {
		r.res.Metrics[MetricServerCPU] = v
	}
	if v, ok := secs[MachineCPU]; ok {
		r.res.Metrics[MetricMachineCPU] = v
	}
	if r.rss != nil {
		r.rss.stop(r.res)
	}
	for _, c := range r.cleanups {
		c()
	}
	if len(r.res.Phases) == 0 {
		r.res.Phases = nil
	}
	r.log.Info("done", "succeeded", r.res.Succeeded, "of", r.res.Jobs, "failed", r.res.Failed, "metrics", r.res.Metrics, "error", err)
	return r.res, err
}

// run is the state of one Run.
type run struct {
	cfg      *Config
	res      *Result
	log      *slog.Logger
	rss      *rssSampler
	cleanups []func() // run in order after the scenario (see addCleanup)
}

// addCleanup registers fn to run after the scenario, before earlier
// registered ones.
func (r *run) addCleanup(fn func()) { r.cleanups = append([]func(){fn}, r.cleanups...) }

// env creates an environment from the configured one, with suffix added
// to the prefix, and removes it after the run (unless KeepResources).
func (r *run) env(ctx context.Context, suffix string, adjust func(*EnvConfig)) (*Env, error) {
	ec := r.cfg.Env
	ec.Prefix += suffix
	if adjust != nil {
		adjust(&ec)
	}
	env, err := CreateEnv(ctx, r.cfg.Client, &ec)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	if !r.cfg.KeepResources {
		r.addCleanup(func() {
			// Deleting a queue fails its unfinished jobs, in one go on
			// Gantry: allow time for a large backlog.
			timeout := 30*time.Second + time.Duration(r.cfg.N/2000)*time.Second
			if err := env.Delete(context.Background(), timeout); err != nil {
				r.log.Warn("cleanup", "error", err)
			}
		})
	}
	return env, nil
}

// heldEnv creates an environment whose jobs do not run, by cfg.Hold, and
// returns it with what to add to each SubmitJob.
func (r *run) heldEnv(ctx context.Context, suffix string) (*Env, func(*batch.SubmitJobInput), error) {
	r.res.Method = "hold=" + r.cfg.Hold
	env, err := r.env(ctx, suffix, func(e *EnvConfig) {
		switch r.cfg.Hold {
		case HoldDisabledCE:
			e.CEDisabled = true
		case HoldOversize:
			e.MaxVCPUs, e.VCPU, e.MemoryMiB = 1, "2", 4096
		}
	})
	if err != nil {
		return nil, nil, err
	}
	add := func(*batch.SubmitJobInput) {}
	if r.cfg.Hold == HoldMissingDep {
		missing := "00000000-0000-4000-8000-" + randomHex(12)
		add = func(in *batch.SubmitJobInput) { in.DependsOn = []types.JobDependency{{JobId: aws.String(missing)}} }
	}
	return env, add, nil
}

// heldStatus is the status held jobs settle in.
func (r *run) heldStatus() types.JobStatus {
	if r.cfg.Hold == HoldMissingDep {
		return types.JobStatusPending
	}
	return types.JobStatusRunnable
}

// terminateHeld terminates held jobs where the queue's deletion would not
// (moto's jobs waiting for a dependency keep a thread each).
func (r *run) terminateHeld(ids []string) {
	if r.cfg.Hold != HoldMissingDep || r.cfg.KeepResources {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(ids) && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				if ids[i] != "" {
					_, _ = r.cfg.Client.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String(ids[i]), Reason: aws.String("gantrybench done")})
				}
			}
		})
	}
	wg.Wait()
}

// submitted is the outcome of submitMany.
type submitted struct {
	ids     []string  // "" where the call failed
	lat     []float64 // ms per call
	start   time.Time
	end     time.Time
	failed  int
	blockAt []time.Time // when each block of jobs was all answered
}

// maxSubmitErrors ends a submission early.
const maxSubmitErrors = 100

// submitMany sends n SubmitJob calls from clients concurrent submitters,
// each with its own client (Config.NewSubmitter), the i-th with input mk(i). With block > 0 it
// records when the count of answered calls reached each multiple of
// block. Failed calls are counted (and the first ones kept in the result);
// after maxSubmitErrors it stops.
func (r *run) submitMany(ctx context.Context, n, clients, block int, mk func(i int) *batch.SubmitJobInput) *submitted {
	s := &submitted{ids: make([]string, n), lat: make([]float64, n)}
	if block > 0 {
		s.blockAt = make([]time.Time, n/block)
	}
	var next, answered, failed atomic.Int64
	sent := make([]bool, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	s.start = time.Now()
	for range clients {
		c := r.cfg.NewSubmitter()
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil || failed.Load() >= maxSubmitErrors {
					return
				}
				sent[i] = true
				t0 := time.Now()
				out, err := c.SubmitJob(ctx, mk(i))
				now := time.Now()
				s.lat[i] = ms(now.Sub(t0))
				if err != nil {
					failed.Add(1)
					mu.Lock()
					r.res.addError("SubmitJob: %v", err)
					mu.Unlock()
				} else {
					s.ids[i] = aws.ToString(out.JobId)
				}
				if k := answered.Add(1); block > 0 && k%int64(block) == 0 && int(k)/block <= len(s.blockAt) {
					s.blockAt[int(k)/block-1] = now
				}
			}
		})
	}
	wg.Wait()
	s.end = time.Now()
	s.failed = int(failed.Load())
	if k := int(answered.Load()); k < n {
		s.failed += n - k // never sent
		lat := s.lat[:0]
		for i := range n {
			if sent[i] {
				lat = append(lat, s.lat[i])
			}
		}
		s.lat = lat
	}
	return s
}

// jobInput is a SubmitJob input for env's queue and definition.
func jobInput(env *Env, name string) *batch.SubmitJobInput {
	return &batch.SubmitJobInput{
		JobName: aws.String(name), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
	}
}

// unfinished are the statuses a job passes before it finishes, in order.
var unfinished = []types.JobStatus{
	types.JobStatusSubmitted, types.JobStatusPending, types.JobStatusRunnable, types.JobStatusStarting, types.JobStatusRunning,
}

// waitEmpty polls ListJobs (one result per status) until no job of queue
// or of the array parent has any of statuses, and returns when that was
// seen. Statuses are listed in the order jobs pass them, so a job moving
// on between two calls is still seen.
func (r *run) waitEmpty(ctx context.Context, queue, arrayParent string, statuses []types.JobStatus) (time.Time, error) {
	errRun := 0
	lastLog := time.Now()
	for {
		busy := types.JobStatus("")
		var err error
		for _, st := range statuses {
			in := &batch.ListJobsInput{JobStatus: st, MaxResults: aws.Int32(1)}
			if arrayParent != "" {
				in.ArrayJobId = aws.String(arrayParent)
			} else {
				in.JobQueue = aws.String(queue)
			}
			var out *batch.ListJobsOutput
			if out, err = r.cfg.Client.ListJobs(ctx, in); err != nil {
				break
			}
			if len(out.JobSummaryList) > 0 {
				busy = st
				break
			}
		}
		now := time.Now()
		switch {
		case err != nil && ctx.Err() != nil:
			return now, fmt.Errorf("waiting for %s to finish: %w", cmp.Or(arrayParent, queue), ctx.Err())
		case err != nil:
			if errRun++; errRun >= maxPollErrors {
				return now, fmt.Errorf("ListJobs failed %d times in a row: %w", errRun, err)
			}
			r.res.addError("ListJobs: %v", err)
		case busy == "":
			return now, nil
		default:
			errRun = 0
		}
		if time.Since(lastLog) > 10*time.Second {
			r.log.Info("waiting", "some_job_is", busy)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return time.Now(), fmt.Errorf("waiting for %s to finish (a job is still %s): %w", cmp.Or(arrayParent, queue), busy, ctx.Err())
		case <-time.After(r.cfg.PollInterval):
		}
	}
}

// listAll pages through ListJobs of queue (or of an array's children) in
// status and returns the summaries.
func (r *run) listAll(ctx context.Context, queue, arrayParent string, status types.JobStatus) ([]types.JobSummary, error) {
	var all []types.JobSummary
	var token *string
	for page := 0; ; page++ {
		in := &batch.ListJobsInput{JobStatus: status, MaxResults: aws.Int32(1000), NextToken: token}
		if arrayParent != "" {
			in.ArrayJobId = aws.String(arrayParent)
		} else {
			in.JobQueue = aws.String(queue)
		}
		out, err := r.cfg.Client.ListJobs(ctx, in)
		if err != nil {
			return all, fmt.Errorf("ListJobs %s: %w", status, err)
		}
		all = append(all, out.JobSummaryList...)
		token = out.NextToken
		if aws.ToString(token) == "" || page > 100000 {
			return all, nil
		}
	}
}

// finishedJobs lists the SUCCEEDED and FAILED jobs of queue (or of an
// array's children), counts them into the result, and returns the
// latest stoppedAt (ms) of all and the summaries by job id.
func (r *run) finishedJobs(ctx context.Context, queue, arrayParent string) (map[string]types.JobSummary, int64, error) {
	by := map[string]types.JobSummary{}
	var last int64
	for _, st := range []types.JobStatus{types.JobStatusSucceeded, types.JobStatusFailed} {
		sums, err := r.listAll(ctx, queue, arrayParent, st)
		if err != nil {
			return by, last, err
		}
		for _, s := range sums {
			by[aws.ToString(s.JobId)] = s
			last = max(last, aws.ToInt64(s.StoppedAt))
			if st == types.JobStatusSucceeded {
				r.res.Succeeded++
			} else {
				r.res.Failed++
				r.res.addError("job %s FAILED: %s", aws.ToString(s.JobId), aws.ToString(s.StatusReason))
			}
		}
	}
	return by, last, nil
}

// latencyMetrics records a Dist of xs (ms) under phase and its p50 and p99
// under the two metric keys.
func (r *run) latencyMetrics(phase string, xs []float64, p50, p99 string) {
	if len(xs) == 0 {
		return
	}
	d := NewDist(xs)
	r.res.Phases[phase] = d
	r.res.Metrics[p50], r.res.Metrics[p99] = d.P50, d.P99
}

// errNotFound reports a job the endpoint does not know.
var errNotFound = errors.New("job not found")

// describe returns one job's detail.
func describe(ctx context.Context, c *batch.Client, id string) (*types.JobDetail, error) {
	out, err := c.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{id}})
	if err != nil {
		return nil, err
	}
	if len(out.Jobs) == 0 {
		return nil, fmt.Errorf("%s: %w", id, errNotFound)
	}
	return &out.Jobs[0], nil
}
