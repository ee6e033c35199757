package runner

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/executor/execfake"
	"github.com/gantrybatch/gantry/internal/control"
	"github.com/gantrybatch/gantry/store"
	"github.com/gantrybatch/gantry/store/storesqlite"
)

type testBundle struct {
	store store.Store
	exec  *execfake.Executor
	tr    *control.Transitioner
}

func setup(t *testing.T, fake execfake.Config) *testBundle {
	t.Helper()
	st, err := storesqlite.Open(context.Background(), storesqlite.Config{Path: filepath.Join(t.TempDir(), "db")})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return &testBundle{
		store: st,
		exec:  execfake.New(fake),
		tr:    &control.Transitioner{Now: time.Now, Logger: slog.New(slog.DiscardHandler)},
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (b *testBundle) runner(t *testing.T) *Runner { return b.runnerWith(t, nil) }

// runnerWith is runner with mod applied to the configuration.
func (b *testBundle) runnerWith(t *testing.T, mod func(*Config)) *Runner {
	t.Helper()
	cfg := Config{
		Store: b.store, Executor: b.exec, Transitioner: b.tr,
		ARN:     gantry.ARNBuilder{Region: "us-east-1", AccountID: "000000000000"},
		OpenLog: func(group, stream string) (io.WriteCloser, error) { return nopCloser{io.Discard}, nil },
		NodeID:  "i-0123456789abcdef0", StopGrace: 200 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&cfg)
	}
	r := New(cfg)
	t.Cleanup(r.Close)
	return r
}

// startingJob stores a job as the scheduler leaves it: STARTING, placed, with
// a task id. env scripts the fake executor.
func (b *testBundle) startingJob(t *testing.T, mod func(j *gantry.Job), env ...gantry.KeyValuePair) *gantry.Job {
	t.Helper()
	id := uuid.NewString()
	j := &gantry.Job{
		JobArn: "arn:aws:batch:us-east-1:000000000000:job/" + id, JobID: id, JobName: "j",
		JobQueue: "arn:aws:batch:us-east-1:000000000000:job-queue/q", Status: gantry.JobStatusStarting,
		JobDefinition: "arn:aws:batch:us-east-1:000000000000:job-definition/def:1", Attempts: []gantry.AttemptDetail{},
		CreatedAt: time.Now().UnixMilli(),
		Container: &gantry.ContainerDetail{ContainerProperties: gantry.ContainerProperties{
			Image: "busybox", Command: []string{"run"}, Environment: env,
		}},
		ComputeEnvironment: "arn:aws:batch:us-east-1:000000000000:compute-environment/ce",
		Resources:          gantry.Resources{VCPUs: 1}, TaskID: uuid.NewString(),
	}
	if mod != nil {
		mod(j)
	}
	require.NoError(t, b.store.JobInsert(context.Background(), j))
	return j
}

func (b *testBundle) waitStatus(t *testing.T, id string, want ...gantry.JobStatus) *gantry.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := b.store.JobGet(context.Background(), id)
		require.NoError(t, err)
		for _, w := range want {
			if j.Status == w {
				return j
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %s (%s), want %v", id, j.Status, j.StatusReason, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func kv(name, value string) gantry.KeyValuePair { return gantry.KeyValuePair{Name: name, Value: value} }

func i32(v int32) *int32 { return &v }

func TestRunnerAttempts(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		env        []gantry.KeyValuePair
		mod        func(j *gantry.Job)
		want       gantry.JobStatus
		wantReason string
		wantExit   *int32
		wantCtr    string
	}{
		"success": {env: []gantry.KeyValuePair{kv(execfake.EnvExitCode, "0")}, want: gantry.JobStatusSucceeded,
			wantReason: ReasonExited, wantExit: i32(0)},
		"non-zero exit": {env: []gantry.KeyValuePair{kv(execfake.EnvExitCode, "2")}, want: gantry.JobStatusFailed,
			wantReason: ReasonExited, wantExit: i32(2)},
		"container reason": {env: []gantry.KeyValuePair{kv(execfake.EnvExitCode, "137"), kv(execfake.EnvExitReason, "OutOfMemoryError: Container killed due to memory usage")},
			want: gantry.JobStatusFailed, wantReason: ReasonExited, wantExit: i32(137), wantCtr: "OutOfMemoryError: Container killed due to memory usage"},
		"start error": {env: []gantry.KeyValuePair{kv(execfake.EnvStartError, "CannotPullContainerError: no such image")},
			want: gantry.JobStatusFailed, wantReason: "CannotPullContainerError: no such image", wantCtr: "CannotPullContainerError: no such image"},
		"failure retried goes back to RUNNABLE": {env: []gantry.KeyValuePair{kv(execfake.EnvExitCode, "2")},
			mod:  func(j *gantry.Job) { j.RetryStrategy = &gantry.RetryStrategy{Attempts: i32(3)} },
			want: gantry.JobStatusRunnable, wantExit: i32(2)},
		"exit rule stops retries": {env: []gantry.KeyValuePair{kv(execfake.EnvExitCode, "2")},
			mod: func(j *gantry.Job) {
				j.RetryStrategy = &gantry.RetryStrategy{Attempts: i32(3), EvaluateOnExit: []gantry.EvaluateOnExit{{OnExitCode: "2", Action: "EXIT"}}}
			},
			want: gantry.JobStatusFailed, wantReason: ReasonExited, wantExit: i32(2)},
		"timeout": {env: []gantry.KeyValuePair{kv(execfake.EnvRunFor, "forever")},
			mod: func(j *gantry.Job) {
				// Below the API's 60 s minimum: the runner enforces whatever it is given.
				j.Timeout = &gantry.JobTimeout{AttemptDurationSeconds: i32(1)}
				j.RetryStrategy = &gantry.RetryStrategy{Attempts: i32(3)} // timeouts are never retried
			},
			want: gantry.JobStatusFailed, wantReason: ReasonTimeout, wantExit: i32(143)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, execfake.Config{})
			r := b.runner(t)
			j := b.startingJob(t, tc.mod, tc.env...)
			r.Dispatch(j)
			got := b.waitStatus(t, j.JobID, tc.want)
			require.Equal(t, tc.wantReason, got.StatusReason)
			require.Len(t, got.Attempts, 1)
			require.Equal(t, tc.wantExit, got.Attempts[0].Container.ExitCode)
			require.Equal(t, tc.wantExit, got.Container.ExitCode)
			require.Equal(t, tc.wantCtr, got.Container.Reason)
			if tc.want == gantry.JobStatusRunnable {
				require.Empty(t, got.ComputeEnvironment, "a retried job gives its capacity back")
				require.Zero(t, got.StoppedAt)
				require.Equal(t, 2, got.Attempt())
			} else {
				require.NotZero(t, got.StoppedAt)
			}
			if tc.wantExit != nil { // the attempt ran: it has a log stream and a task
				require.Equal(t, "def/default/"+j.TaskID, got.Attempts[0].Container.LogStreamName)
				require.Contains(t, got.Attempts[0].Container.TaskArn, j.TaskID)
			}
		})
	}
}

func TestRunnerEnvironment(t *testing.T) {
	t.Parallel()
	b := setup(t, execfake.Config{Immediate: true})
	r := b.runner(t)
	j := b.startingJob(t, nil, kv(execfake.EnvExitCode, "0"), kv("MINE", "1"))
	r.Dispatch(j)
	b.waitStatus(t, j.JobID, gantry.JobStatusSucceeded)
	started := b.exec.Started()
	require.Len(t, started, 1)
	require.Subset(t, started[0].Env, []string{
		"MINE=1", "AWS_BATCH_JOB_ID=" + j.JobID, "AWS_BATCH_JOB_ATTEMPT=1", "AWS_BATCH_JQ_NAME=q", "AWS_BATCH_CE_NAME=ce",
	})
	require.Equal(t, j.JobID, started[0].Labels["gantry.job-id"])
}

func TestRunnerTerminate(t *testing.T) {
	t.Parallel()
	b := setup(t, execfake.Config{})
	r := b.runner(t)
	j := b.startingJob(t, func(j *gantry.Job) { j.RetryStrategy = &gantry.RetryStrategy{Attempts: i32(3)} },
		kv(execfake.EnvRunFor, "forever"), kv(execfake.EnvIgnoreTerm, "1"))
	r.Dispatch(j)
	running := b.waitStatus(t, j.JobID, gantry.JobStatusRunning)
	// What control.TerminateJob does: flag and reason, then StopJob.
	require.NoError(t, b.store.InTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		running.IsTerminated, running.StatusReason = &[]bool{true}[0], "operator said so"
		return b.tr.Transition(ctx, tx, running, gantry.JobStatusRunning)
	}))
	r.StopJob(j.JobID)
	got := b.waitStatus(t, j.JobID, gantry.JobStatusFailed)
	require.Equal(t, "operator said so", got.StatusReason)
	require.Equal(t, int32(execfake.ExitSIGKILL), *got.Container.ExitCode, "a task ignoring SIGTERM is killed after the grace period")
	require.Len(t, got.Attempts, 1, "terminated jobs are never retried")
}

func TestRunnerTerminateBeforeStart(t *testing.T) {
	t.Parallel()
	b := setup(t, execfake.Config{})
	r := b.runner(t)
	j := b.startingJob(t, func(j *gantry.Job) { j.IsTerminated, j.StatusReason = &[]bool{true}[0], "early" })
	a := &attempt{jobID: j.JobID, stopReq: true}
	r.running[j.JobID] = a
	r.wg.Add(1)
	go func() { defer r.wg.Done(); r.run(j, a) }()
	got := b.waitStatus(t, j.JobID, gantry.JobStatusFailed)
	require.Equal(t, "early", got.StatusReason)
	require.Empty(t, got.Attempts)
	require.Empty(t, b.exec.Started(), "a job terminated while STARTING never starts")
}

// TestRunnerTerminatedBeforeDispatch: TerminateJob lands between the
// scheduler's placement (STARTING) and Dispatch, so StopJob finds no
// attempt. The runner sees the flag when it records RUNNING and stops the
// attempt, with and without a deferred RUNNING.
func TestRunnerTerminatedBeforeDispatch(t *testing.T) {
	t.Parallel()
	for _, delay := range []time.Duration{0, 10 * time.Millisecond} {
		b := setup(t, execfake.Config{})
		r := b.runnerWith(t, func(c *Config) { c.RunningDelay = delay })
		j := b.startingJob(t, nil, kv(execfake.EnvRunFor, "forever"))
		r.StopJob(j.JobID) // nothing to stop yet
		require.NoError(t, b.store.InTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
			stored, err := tx.JobGet(ctx, j.JobID)
			if err != nil {
				return err
			}
			stored.IsTerminated, stored.StatusReason = &[]bool{true}[0], "operator said so"
			return b.tr.Transition(ctx, tx, stored, gantry.JobStatusStarting)
		}))
		r.Dispatch(j) // the scheduler's copy, read before the termination
		got := b.waitStatus(t, j.JobID, gantry.JobStatusFailed)
		require.Equal(t, "operator said so", got.StatusReason, "delay %v", delay)
		require.Len(t, got.Attempts, 1, "delay %v", delay)
	}
}

func TestRecoverLostAttempts(t *testing.T) {
	t.Parallel()
	b := setup(t, execfake.Config{LoseOnRecover: true})
	running := func(attempts int32) func(j *gantry.Job) {
		return func(j *gantry.Job) {
			j.Status, j.StartedAt, j.ExecutorHandle = gantry.JobStatusRunning, time.Now().UnixMilli(), "gone"
			j.RetryStrategy = &gantry.RetryStrategy{Attempts: i32(attempts), EvaluateOnExit: []gantry.EvaluateOnExit{
				{OnStatusReason: "Host EC2*", Action: "RETRY"}, {OnReason: "*", Action: "EXIT"},
			}}
		}
	}
	once := b.startingJob(t, running(1))
	retried := b.startingJob(t, running(2))
	starting := b.startingJob(t, nil)
	res, err := b.runner(t).Recover(context.Background())
	require.NoError(t, err)
	require.Equal(t, &RecoverResult{Lost: 3}, res)
	reason := "Host EC2 (instance i-0123456789abcdef0) terminated."
	got := b.waitStatus(t, once.JobID, gantry.JobStatusFailed)
	require.Equal(t, reason, got.StatusReason)
	require.Equal(t, reason, got.Attempts[0].StatusReason)
	got = b.waitStatus(t, retried.JobID, gantry.JobStatusRunnable)
	require.Len(t, got.Attempts, 1)
	got = b.waitStatus(t, starting.JobID, gantry.JobStatusFailed)
	require.Equal(t, reason, got.StatusReason, "a STARTING attempt is never started a second time")
}

func TestRecoverReattaches(t *testing.T) {
	t.Parallel()
	b := setup(t, execfake.Config{})
	first := b.runner(t)
	j := b.startingJob(t, nil, kv(execfake.EnvRunFor, "forever"))
	first.Dispatch(j)
	b.waitStatus(t, j.JobID, gantry.JobStatusRunning)
	first.Close() // the server stops; the task keeps running in the executor

	second := b.runner(t)
	res, err := second.Recover(context.Background())
	require.NoError(t, err)
	require.Equal(t, &RecoverResult{Reattached: 1}, res)
	require.Equal(t, 1, second.Running())
	require.NoError(t, b.exec.Finish(j.TaskID, 0))
	got := b.waitStatus(t, j.JobID, gantry.JobStatusSucceeded)
	require.Len(t, got.Attempts, 1)
	require.Len(t, b.exec.Started(), 1, "recovery never starts a second task")
}

// TestDispatchNewAttemptWhilePreviousReturns covers a retry placed before
// the previous attempt's goroutine has returned: the new task is started
// (not taken for a duplicate of the old one), and the old goroutine's end
// does not drop the new attempt. A duplicate dispatch of the same task is
// still ignored.
func TestDispatchNewAttemptWhilePreviousReturns(t *testing.T) {
	t.Parallel()
	b := setup(t, execfake.Config{})
	r := b.runner(t)
	j := b.startingJob(t, nil, kv(execfake.EnvRunFor, "forever"))
	old := &attempt{jobID: j.JobID, taskID: "previous-task"}
	r.mu.Lock()
	r.running[j.JobID] = old
	r.mu.Unlock()

	r.Dispatch(j)
	b.waitStatus(t, j.JobID, gantry.JobStatusRunning)
	require.Len(t, b.exec.Started(), 1, "the new attempt started")
	r.forget(old) // the previous attempt's goroutine returns
	require.Equal(t, 1, r.Running(), "the new attempt is still tracked")
	r.Dispatch(j) // the same task again: a duplicate
	require.Len(t, b.exec.Started(), 1)
	require.NoError(t, b.exec.Finish(j.TaskID, 0))
	b.waitStatus(t, j.JobID, gantry.JobStatusSucceeded)
}
