// Package runner carries STARTING jobs through their attempts on an
// executor: it builds the task (command, environment with the AWS_BATCH_*
// variables, log stream), starts it, records RUNNING, waits for the exit,
// enforces the attempt timeout, and records SUCCEEDED, FAILED or a retry
// (back to RUNNABLE) with the attempt appended to attempts[]. After a restart
// Recover reattaches to attempts the executor still has and closes out the
// ones it lost with AWS's host-termination reason.
package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/executor"
	"github.com/gantrybatch/gantry/internal/control"
	"github.com/gantrybatch/gantry/store"
)

// Status reasons the runner records (reference §5.16).
const (
	ReasonExited      = "Essential container in task exited"
	ReasonTimeout     = "Job attempt duration exceeded timeout"
	ReasonStartFailed = "Task failed to start"
	DefaultLogGroup   = "/aws/batch/job"
)

// Config wires a Runner.
type Config struct {
	Store        store.Store
	Executor     executor.Executor
	Transitioner *control.Transitioner
	ARN          gantry.ARNBuilder
	// OpenLog opens the log stream of an attempt for appending.
	OpenLog func(group, stream string) (io.WriteCloser, error)
	// NodeID is this server's instance id ("i-..."), used in task ARNs and
	// host-termination reasons.
	NodeID string
	Now    func() time.Time
	Logger *slog.Logger
	// RunningDelay, if positive, defers writing an attempt's RUNNING by up
	// to this long after the executor started it; an attempt that ends
	// within it has RUNNING and its end written together (see
	// waitExecutor). Zero writes RUNNING at once.
	RunningDelay time.Duration
	// StopGrace is the time between SIGTERM and SIGKILL (default 30s).
	StopGrace time.Duration
	// Wake nudges the scheduler when capacity frees up.
	Wake func()
	// StopOnClose makes Close stop running attempts and record how they
	// ended, for executors whose tasks die with the server anyway
	// (processes). Otherwise Close leaves attempts running for the next
	// start to reattach (containers).
	StopOnClose bool
	// CloseGrace bounds how long Close waits for stopped attempts (default 10s).
	CloseGrace time.Duration
	// LastLogTime returns the time of the last event of a log stream (zero
	// if none), so a reattached attempt's output resumes after it.
	LastLogTime func(group, stream string) time.Time
	// LogTail returns the messages of a log stream's events from the given
	// time on, oldest first (executor.Task.LogsTail).
	LogTail func(group, stream string, from time.Time) []string
	// Env is added to every attempt's environment unless the job sets the
	// same variable (the callback endpoint and credentials).
	Env []string
	// OnStarted, if set, observes every attempt recorded RUNNING (metrics).
	OnStarted func(job *gantry.Job)
	// OnExecutorError, if set, observes executor failures by kind
	// ("start", "wait", "lost") (metrics).
	OnExecutorError func(kind string)
}

// Runner runs attempts. It is safe for concurrent use.
type Runner struct {
	cfg Config

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	running map[string]*attempt // by job id
	closing bool
}

type attempt struct {
	jobID    string
	taskID   string
	handle   *executor.Handle
	stopReq  bool // TerminateJob asked before the handle existed
	timedOut bool
}

// New returns a Runner.
func New(cfg Config) *Runner {
	if cfg.Store == nil || cfg.Executor == nil || cfg.Transitioner == nil || cfg.OpenLog == nil {
		panic("runner: Store, Executor, Transitioner and OpenLog are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	cfg.StopGrace = cmp.Or(cfg.StopGrace, 30*time.Second)
	cfg.CloseGrace = cmp.Or(cfg.CloseGrace, 10*time.Second)
	if cfg.Wake == nil {
		cfg.Wake = func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{cfg: cfg, ctx: ctx, cancel: cancel, running: map[string]*attempt{}}
}

// Close stops the runner. With StopOnClose it stops every running attempt
// (SIGTERM, then SIGKILL after a short grace) and records how each ended
// before returning, so that a restart never runs twice an attempt that had
// completed; attempts not started yet go back to RUNNABLE. Otherwise it
// stops waiting and leaves attempts to the next start's recovery.
func (r *Runner) Close() {
	r.mu.Lock()
	r.closing = true
	var handles []*executor.Handle
	for _, a := range r.running {
		if a.handle != nil {
			handles = append(handles, a.handle)
		}
	}
	r.mu.Unlock()
	if r.cfg.StopOnClose {
		grace := min(r.cfg.StopGrace, 2*time.Second)
		for _, h := range handles {
			_ = r.cfg.Executor.Stop(r.ctx, h, grace)
		}
		done := make(chan struct{})
		go func() { r.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(r.cfg.CloseGrace):
		}
	}
	r.cancel()
	r.wg.Wait()
}

func (r *Runner) isClosing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closing
}

// Running returns how many attempts this runner is tracking.
func (r *Runner) Running() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.running)
}

// Dispatch starts a job that was just committed as STARTING.
func (r *Runner) Dispatch(job *gantry.Job) {
	a := &attempt{jobID: job.JobID, taskID: job.TaskID}
	r.mu.Lock()
	if old, dup := r.running[job.JobID]; dup && old.taskID == job.TaskID {
		r.mu.Unlock()
		return
	}
	// A different task of the same job replaces the entry: the previous
	// attempt has recorded its end (this one was placed after that commit)
	// and its goroutine is only returning; forget leaves the new entry.
	r.running[job.JobID] = a
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.run(job, a)
	}()
}

// StopJob stops the running attempt of a terminated job (SIGTERM, then
// SIGKILL after StopGrace). The caller has already recorded isTerminated.
func (r *Runner) StopJob(jobID string) {
	r.mu.Lock()
	a, ok := r.running[jobID]
	if ok && a.handle == nil {
		a.stopReq = true
	}
	var h *executor.Handle
	if ok {
		h = a.handle
	}
	r.mu.Unlock()
	if h != nil {
		if err := r.cfg.Executor.Stop(r.ctx, h, r.cfg.StopGrace); err != nil && !errors.Is(err, executor.ErrTaskLost) {
			r.cfg.Logger.Error("stop attempt", "job_id", jobID, "error", err)
		}
	}
}

// forget drops attempt a once its goroutine is done, unless a newer attempt
// of the same job has taken its place.
func (r *Runner) forget(a *attempt) {
	r.mu.Lock()
	if r.running[a.jobID] == a {
		delete(r.running, a.jobID)
	}
	r.mu.Unlock()
}

// logTarget returns the log group and stream of an attempt, honouring the
// awslogs-group and awslogs-stream-prefix options (reference §7.1).
func logTarget(job *gantry.Job) (group, stream string) {
	group = DefaultLogGroup
	prefix := ""
	if p, ok := gantry.ParseARN(job.JobDefinition); ok {
		prefix = p.Name
	}
	if len(prefix) > 200 {
		prefix = prefix[:200]
	}
	if c := job.Container; c != nil && c.LogConfiguration != nil {
		if g := c.LogConfiguration.Options["awslogs-group"]; g != "" {
			group = g
		}
		if p := c.LogConfiguration.Options["awslogs-stream-prefix"]; p != "" {
			prefix = p
		}
	}
	return group, prefix + "/default/" + job.TaskID
}

func (r *Runner) taskArn(taskID string) string {
	return fmt.Sprintf("arn:%s:ecs:%s:%s:task/gantry/%s", gantry.Partition, r.cfg.ARN.Region, r.cfg.ARN.AccountID, taskID)
}

func (r *Runner) instanceArn() string {
	return fmt.Sprintf("arn:%s:ecs:%s:%s:container-instance/gantry/%s", gantry.Partition, r.cfg.ARN.Region, r.cfg.ARN.AccountID, r.cfg.NodeID)
}

// buildTask resolves the attempt's command and environment.
func (r *Runner) buildTask(job *gantry.Job, out io.Writer) *executor.Task {
	c := &job.Container.ContainerProperties
	env := make([]string, 0, len(c.Environment)+4)
	for _, kv := range c.Environment {
		env = append(env, kv.Name+"="+kv.Value)
	}
	queueName, ceName := job.JobQueue, job.ComputeEnvironment
	if p, ok := gantry.ParseARN(queueName); ok {
		queueName = p.Name
	}
	if p, ok := gantry.ParseARN(ceName); ok {
		ceName = p.Name
	}
	for _, kv := range r.cfg.Env {
		name, _, _ := strings.Cut(kv, "=")
		if !hasEnv(c.Environment, name) {
			env = append(env, kv)
		}
	}
	env = append(env,
		"AWS_BATCH_JOB_ID="+job.JobID,
		"AWS_BATCH_JOB_ATTEMPT="+strconv.Itoa(job.Attempt()),
		"AWS_BATCH_JQ_NAME="+queueName,
		"AWS_BATCH_CE_NAME="+ceName,
	)
	if job.IsArrayChild() && job.ArrayProperties != nil && job.ArrayProperties.Index != nil {
		env = append(env,
			"AWS_BATCH_JOB_ARRAY_INDEX="+strconv.Itoa(int(*job.ArrayProperties.Index)),
			"AWS_BATCH_JOB_ARRAY_SIZE="+strconv.Itoa(int(job.ArraySize)),
		)
	}
	return &executor.Task{
		ID: job.TaskID, JobID: job.JobID, JobName: job.JobName, Attempt: job.Attempt(),
		Container: c, Command: c.Command, Env: env, Resources: job.Resources,
		Labels: map[string]string{
			executor.LabelJobID: job.JobID, executor.LabelAttempt: strconv.Itoa(job.Attempt()), executor.LabelTaskID: job.TaskID,
			executor.LabelNodeID: r.cfg.NodeID,
		},
		Output: out,
	}
}

// run is the life of one attempt from STARTING.
func (r *Runner) run(job *gantry.Job, a *attempt) {
	defer r.forget(a)
	ctx := r.ctx
	log := r.cfg.Logger.With("job_id", job.JobID, "task_id", job.TaskID)
	group, stream := logTarget(job)
	out, err := r.cfg.OpenLog(group, stream)
	if err != nil {
		log.Error("open log stream", "error", err)
		r.finish(ctx, job.JobID, outcome{startErr: "Failed to open log stream: " + err.Error()})
		return
	}
	task := r.buildTask(job, syncWriter(out))
	r.mu.Lock()
	stopped, closing := a.stopReq, r.closing
	r.mu.Unlock()
	if stopped || closing {
		out.Close()
		r.finish(ctx, job.JobID, outcome{neverStarted: stopped, requeue: closing && !stopped})
		return
	}
	h, err := r.cfg.Executor.Start(ctx, task)
	if err != nil {
		out.Close()
		var se *executor.StartError
		reason := ReasonStartFailed + ": " + err.Error()
		if errors.As(err, &se) {
			reason = se.Reason
		} else {
			log.Error("start attempt", "error", err)
		}
		r.executorError("start")
		r.finish(ctx, job.JobID, outcome{startErr: reason})
		return
	}
	pending := &started{handle: h, stream: stream, at: r.cfg.Now().UnixMilli()}
	job.StartedAt = pending.at
	if r.cfg.RunningDelay <= 0 {
		if err := r.recordRunning(ctx, job, pending); err != nil {
			log.Error("record RUNNING", "error", err)
		}
		pending = nil
	}
	r.mu.Lock()
	a.handle = h
	stopped = a.stopReq
	r.mu.Unlock()
	if stopped {
		r.StopJob(job.JobID)
	}
	r.wait(ctx, job, a, h, out, pending)
}

// started is an attempt the executor started: what RUNNING records.
type started struct {
	handle *executor.Handle
	stream string
	at     int64 // startedAt, ms
}

// recordRunning moves a job from STARTING to RUNNING with its handle, log
// stream and task ARN.
//
// A job terminated while it was STARTING, before its attempt was known to
// StopJob (between the scheduler's placement and Run), is stopped here:
// the termination is in the row this transaction reads.
func (r *Runner) recordRunning(ctx context.Context, job *gantry.Job, s *started) error {
	job.StartedAt = s.at
	var terminated bool
	defer func() {
		if terminated {
			r.StopJob(job.JobID)
		}
	}()
	return r.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		j, err := tx.JobGet(ctx, job.JobID)
		if err != nil {
			return err
		}
		terminated = j.IsTerminated != nil && *j.IsTerminated
		r.applyRunning(j, job.TaskID, s)
		if err := r.cfg.Transitioner.Transition(ctx, tx, j, gantry.JobStatusStarting); err != nil {
			return err
		}
		if r.cfg.OnStarted != nil {
			r.cfg.OnStarted(j)
		}
		return nil
	})
}

// applyRunning sets what RUNNING records on j.
func (r *Runner) applyRunning(j *gantry.Job, taskID string, s *started) {
	j.Status = gantry.JobStatusRunning
	j.StartedAt = s.at
	j.ExecutorHandle = s.handle.Data
	j.Container.LogStreamName = s.stream
	j.Container.TaskArn = r.taskArn(taskID)
	j.Container.ContainerInstanceArn = r.instanceArn()
	j.Container.ExitCode, j.Container.Reason = nil, ""
	if j.IsTerminated == nil {
		j.StatusReason = ""
	}
}

func (r *Runner) executorError(kind string) {
	if r.cfg.OnExecutorError != nil {
		r.cfg.OnExecutorError(kind)
	}
}

// wait waits for the attempt, enforcing its timeout, and records the end.
// pending, if not nil, is the attempt's RUNNING, not written yet: it is
// written after RunningDelay, or with the end if the attempt ends sooner.
func (r *Runner) wait(ctx context.Context, job *gantry.Job, a *attempt, h *executor.Handle, out io.Closer, pending *started) {
	if job.Timeout != nil && job.Timeout.AttemptDurationSeconds != nil {
		d := time.Duration(*job.Timeout.AttemptDurationSeconds) * time.Second
		if job.StartedAt > 0 {
			d -= r.cfg.Now().Sub(time.UnixMilli(job.StartedAt))
		}
		timer := time.AfterFunc(max(d, 0), func() {
			r.mu.Lock()
			a.timedOut = true
			r.mu.Unlock()
			_ = r.cfg.Executor.Stop(ctx, h, r.cfg.StopGrace)
		})
		defer timer.Stop()
	}
	res, err := r.waitExecutor(ctx, job, h, &pending)
	if out != nil {
		if cerr := out.Close(); cerr != nil {
			r.cfg.Logger.Error("close log stream", "job_id", job.JobID, "error", cerr)
		}
	}
	if ctx.Err() != nil {
		return // shutting down: the next start recovers this attempt
	}
	o := outcome{}
	switch {
	case errors.Is(err, executor.ErrTaskLost):
		o.lost = true
	case err != nil:
		r.cfg.Logger.Error("wait for attempt", "job_id", job.JobID, "error", err)
		r.executorError("wait")
		o.lost = true
	case r.isClosing() && r.cfg.StopOnClose && (res.ExitCode == 143 || res.ExitCode == 137):
		// Killed by the server's shutdown, as a crash would have: the host
		// went away, not the job.
		o.lost = true
	default:
		code := int32(res.ExitCode)
		o.exitCode, o.reason = &code, res.Reason
		if !res.FinishedAt.IsZero() {
			o.finishedAt = res.FinishedAt.UnixMilli()
		}
	}
	r.mu.Lock()
	o.timedOut = a.timedOut
	r.mu.Unlock()
	o.running = pending
	r.finish(ctx, job.JobID, o)
}

// waitExecutor waits for the attempt's exit. With *pending set it first
// waits at most RunningDelay: an attempt still running then gets its
// RUNNING written (and *pending cleared); one that ended sooner keeps it,
// for finish to write both steps at once. Short jobs thus cost one write
// less, and longer ones show RUNNING RunningDelay later (startedAt is the
// real start either way).
func (r *Runner) waitExecutor(ctx context.Context, job *gantry.Job, h *executor.Handle, pending **started) (*executor.ExitResult, error) {
	if *pending == nil {
		return r.cfg.Executor.Wait(ctx, h)
	}
	type result struct {
		res *executor.ExitResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := r.cfg.Executor.Wait(ctx, h)
		done <- result{res, err}
	}()
	timer := time.NewTimer(r.cfg.RunningDelay)
	defer timer.Stop()
	select {
	case w := <-done:
		return w.res, w.err
	case <-timer.C:
	}
	if err := r.recordRunning(ctx, job, *pending); err != nil {
		r.cfg.Logger.Error("record RUNNING", "job_id", job.JobID, "error", err)
	}
	*pending = nil
	w := <-done
	return w.res, w.err
}

// outcome is how an attempt ended, as the runner saw it.
type outcome struct {
	exitCode     *int32
	reason       string // container reason
	startErr     string // the attempt never started: why
	lost         bool   // the executor lost the task (server crash)
	timedOut     bool
	neverStarted bool     // terminated before it started
	requeue      bool     // never started because the server is stopping: RUNNABLE again, no attempt
	finishedAt   int64    // when the attempt ended, if the executor knows (ms); else now
	running      *started // RUNNING not written yet: finish writes it first
}

// finish records the end of the current attempt: SUCCEEDED, FAILED, or
// RUNNABLE again when the retry strategy says so.
func (r *Runner) finish(ctx context.Context, jobID string, o outcome) {
	now := r.cfg.Now().UnixMilli()
	if o.finishedAt > 0 && o.finishedAt < now {
		now = o.finishedAt
	}
	err := r.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		j, err := tx.JobGet(ctx, jobID)
		if err != nil {
			return err
		}
		from := j.Status
		if !from.Active() {
			return nil // already finished (e.g. recovered twice)
		}
		stored := from
		if o.running != nil && from == gantry.JobStatusStarting {
			// The attempt ended before its RUNNING was written: record
			// that step (its event included), then the end, in one write.
			r.applyRunning(j, j.TaskID, o.running)
			if err := r.cfg.Transitioner.Passing(ctx, tx, j, from); err != nil {
				return err
			}
			if r.cfg.OnStarted != nil {
				r.cfg.OnStarted(j)
			}
			from = gantry.JobStatusRunning
		}
		applyOutcome(j, o, now, r.cfg.NodeID)
		return r.cfg.Transitioner.TransitionStored(ctx, tx, j, from, stored)
	})
	if err != nil {
		r.cfg.Logger.Error("record attempt end", "job_id", jobID, "error", err)
	}
	r.cfg.Wake()
}

// applyOutcome is the pure part of finish: it appends the attempt and picks
// the next status.
func applyOutcome(j *gantry.Job, o outcome, now int64, nodeID string) {
	terminated := j.IsTerminated != nil && *j.IsTerminated
	if o.requeue && !terminated {
		j.Status, j.ComputeEnvironment, j.TaskID, j.ExecutorHandle = gantry.JobStatusRunnable, "", "", ""
		return
	}
	if o.neverStarted || o.requeue {
		j.Status, j.StoppedAt = gantry.JobStatusFailed, now
		return
	}
	statusReason := ReasonExited
	switch {
	case o.startErr != "":
		statusReason = o.startErr
	case o.lost:
		statusReason = fmt.Sprintf(gantry.HostTerminatedFormat, nodeID)
	case o.timedOut:
		statusReason = ReasonTimeout
	}
	if terminated {
		statusReason = j.StatusReason
	}
	att := gantry.AttemptDetail{
		Container: &gantry.AttemptContainerDetail{
			ContainerInstanceArn: j.Container.ContainerInstanceArn,
			TaskArn:              j.Container.TaskArn,
			ExitCode:             o.exitCode,
			Reason:               o.reason,
			LogStreamName:        j.Container.LogStreamName,
		},
		StartedAt:    j.StartedAt,
		StoppedAt:    now,
		StatusReason: statusReason,
	}
	if o.startErr != "" {
		att.Container.Reason = truncate(o.startErr, 255)
		att.StartedAt = 0
	}
	j.Attempts = append(j.Attempts, att)
	j.Container.ExitCode, j.Container.Reason = att.Container.ExitCode, att.Container.Reason
	if o.timedOut && o.exitCode == nil {
		code := int32(137)
		j.Container.ExitCode = &code
	}
	succeeded := o.exitCode != nil && *o.exitCode == 0 && o.startErr == "" && !o.timedOut && !terminated
	switch {
	case succeeded:
		j.Status, j.StatusReason, j.StoppedAt = gantry.JobStatusSucceeded, statusReason, now
	case !terminated && !o.timedOut && gantry.ShouldRetry(j.RetryStrategy, len(j.Attempts), gantry.AttemptOutcome{
		ExitCode: o.exitCode, Reason: att.Container.Reason, StatusReason: statusReason,
	}):
		j.Status, j.StatusReason = gantry.JobStatusRunnable, ""
		j.StartedAt, j.ComputeEnvironment, j.TaskID, j.ExecutorHandle = 0, "", "", ""
	default:
		j.Status, j.StatusReason, j.StoppedAt = gantry.JobStatusFailed, statusReason, now
	}
}

func hasEnv(env []gantry.KeyValuePair, name string) bool {
	for _, kv := range env {
		if kv.Name == name {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// syncWriter serialises writes from stdout and stderr copiers.
func syncWriter(w io.Writer) io.Writer { return &lockedWriter{w: w} }

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
