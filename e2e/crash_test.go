package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/stretchr/testify/require"
)

const hostTerminatedPrefix = "Host EC2 (instance i-"

// activeStatuses are the statuses a job must not stay in.
var activeStatuses = []types.JobStatus{
	types.JobStatusSubmitted, types.JobStatusPending, types.JobStatusRunnable,
	types.JobStatusStarting, types.JobStatusRunning,
}

// TestCrashLosesNothingAcknowledged kills the server with SIGKILL while
// eight clients submit jobs as fast as they can, and checks that every job
// the server acknowledged survives the restart and runs to SUCCEEDED.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	c := s.Batch // never retries: an acknowledgement is one 200 response

	ce, err := c.CreateComputeEnvironment(ctx, ceInput("crash-ce", 8))
	require.NoError(t, err)
	q, err := c.CreateJobQueue(ctx, queueInput("crash-queue", 1, "crash-ce"))
	require.NoError(t, err)
	defIn := jobDefInput("crash-def", "true")
	// A job whose attempt was running at the crash is closed out as
	// host-terminated; the retry strategy lets it still succeed.
	defIn.RetryStrategy = &types.RetryStrategy{Attempts: aws.Int32(3)}
	def, err := c.RegisterJobDefinition(ctx, defIn)
	require.NoError(t, err)

	const (
		submitters = 8
		target     = 300
	)
	var (
		mu         sync.Mutex
		acked      []string
		preKillErr []error
		killed     atomic.Bool
		wg         sync.WaitGroup
	)
	reached := make(chan struct{})
	var reachedOnce sync.Once
	allDone := make(chan struct{})
	for g := range submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				out, err := c.SubmitJob(rctx, &batch.SubmitJobInput{
					JobName:       aws.String(fmt.Sprintf("crash-%d-%d", g, i)),
					JobQueue:      aws.String("crash-queue"),
					JobDefinition: aws.String("crash-def"),
				})
				cancel()
				if err != nil {
					if !killed.Load() {
						mu.Lock()
						preKillErr = append(preKillErr, err)
						mu.Unlock()
					}
					return // the server is gone (or broken): stop
				}
				id := aws.ToString(out.JobId)
				mu.Lock()
				acked = append(acked, id)
				n := len(acked)
				mu.Unlock()
				if n >= target {
					reachedOnce.Do(func() { close(reached) })
				}
			}
		}()
	}
	go func() { wg.Wait(); close(allDone) }()

	select {
	case <-reached:
	case <-allDone:
	case <-time.After(20 * time.Second):
	}
	killed.Store(true)
	s.Kill9()
	select {
	case <-allDone:
	case <-time.After(15 * time.Second):
		t.Fatal("submitters still running 15s after the server was killed")
	}
	mu.Lock()
	require.Empty(t, preKillErr, "SubmitJob failed before the crash")
	ids := slices.Clone(acked)
	mu.Unlock()
	require.GreaterOrEqual(t, len(ids), target, "acknowledged submissions before the crash")
	t.Logf("%d jobs acknowledged before SIGKILL", len(ids))

	s2 := startServer(t, dataDir)
	c2 := s2.Batch

	// Resources created before the crash are intact.
	ces, err := c2.DescribeComputeEnvironments(ctx, &batch.DescribeComputeEnvironmentsInput{ComputeEnvironments: []string{"crash-ce"}})
	require.NoError(t, err)
	require.Len(t, ces.ComputeEnvironments, 1)
	require.Equal(t, aws.ToString(ce.ComputeEnvironmentArn), aws.ToString(ces.ComputeEnvironments[0].ComputeEnvironmentArn))
	require.Equal(t, types.CEStateEnabled, ces.ComputeEnvironments[0].State)
	require.Equal(t, types.CEStatusValid, ces.ComputeEnvironments[0].Status)
	require.Equal(t, int32(8), aws.ToInt32(ces.ComputeEnvironments[0].ComputeResources.MaxvCpus))
	qs, err := c2.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{JobQueues: []string{"crash-queue"}})
	require.NoError(t, err)
	require.Len(t, qs.JobQueues, 1)
	require.Equal(t, aws.ToString(q.JobQueueArn), aws.ToString(qs.JobQueues[0].JobQueueArn))
	require.Equal(t, types.JQStateEnabled, qs.JobQueues[0].State)
	require.Equal(t, types.JQStatusValid, qs.JobQueues[0].Status)
	require.Len(t, qs.JobQueues[0].ComputeEnvironmentOrder, 1)
	require.Equal(t, aws.ToString(ce.ComputeEnvironmentArn), aws.ToString(qs.JobQueues[0].ComputeEnvironmentOrder[0].ComputeEnvironment))
	defs, err := c2.DescribeJobDefinitions(ctx, &batch.DescribeJobDefinitionsInput{JobDefinitions: []string{aws.ToString(def.JobDefinitionArn)}})
	require.NoError(t, err)
	require.Len(t, defs.JobDefinitions, 1)
	require.Equal(t, "ACTIVE", aws.ToString(defs.JobDefinitions[0].Status))
	require.Equal(t, []string{"true"}, defs.JobDefinitions[0].ContainerProperties.Command)
	require.Equal(t, int32(3), aws.ToInt32(defs.JobDefinitions[0].RetryStrategy.Attempts))

	// Every acknowledged job is there...
	jobs := describeAll(t, c2, ids)
	var missing []string
	for _, id := range ids {
		if _, ok := jobs[id]; !ok {
			missing = append(missing, id)
		}
	}
	require.Empty(t, missing, "%d of %d acknowledged jobs are missing after the restart", len(missing), len(ids))

	// ...and every one of them runs to SUCCEEDED.
	deadline := time.Now().Add(25 * time.Second)
	for {
		jobs = describeAll(t, c2, ids)
		pending := map[types.JobStatus]int{}
		var failed []string
		for _, id := range ids {
			j := jobs[id]
			switch {
			case j.Status == types.JobStatusFailed:
				failed = append(failed, fmt.Sprintf("%s (%s)", id, aws.ToString(j.StatusReason)))
			case j.Status != types.JobStatusSucceeded:
				pending[j.Status]++
			}
		}
		require.Empty(t, failed, "acknowledged jobs FAILED after the restart")
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("acknowledged jobs still not SUCCEEDED 25s after the restart: %v", pending)
		}
		time.Sleep(100 * time.Millisecond)
	}
	retried := 0
	for _, id := range ids {
		j := jobs[id]
		require.NotEmpty(t, j.Attempts, id)
		last := j.Attempts[len(j.Attempts)-1]
		require.NotNil(t, last.Container, id)
		require.Equal(t, int32(0), aws.ToInt32(last.Container.ExitCode), id)
		// Earlier attempts can only have been lost in the crash.
		for _, a := range j.Attempts[:len(j.Attempts)-1] {
			require.True(t, strings.HasPrefix(aws.ToString(a.StatusReason), hostTerminatedPrefix),
				"job %s: attempt before the last ended with %q", id, aws.ToString(a.StatusReason))
			retried++
		}
	}
	t.Logf("%d attempts were lost in the crash and retried", retried)

	// Jobs committed but never acknowledged (in flight at the crash) must
	// not be stuck either.
	require.Eventually(t, func() bool {
		for _, st := range activeStatuses {
			out, err := c2.ListJobs(ctx, &batch.ListJobsInput{JobQueue: aws.String("crash-queue"), JobStatus: st})
			if err != nil || len(out.JobSummaryList) > 0 {
				return false
			}
		}
		return true
	}, 15*time.Second, 100*time.Millisecond, "jobs left active in the queue after the restart")
}

// describeAll describes jobs in batches of 100 (the API's limit).
func describeAll(t *testing.T, c *batch.Client, ids []string) map[string]types.JobDetail {
	t.Helper()
	got := make(map[string]types.JobDetail, len(ids))
	for chunk := range slices.Chunk(ids, 100) {
		out, err := c.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: chunk})
		require.NoError(t, err)
		for _, j := range out.Jobs {
			got[aws.ToString(j.JobId)] = j
		}
	}
	return got
}

// TestCrashWhileJobRuns kills the server with SIGKILL while two jobs run:
// their processes must die with it, and after the restart the attempts are
// closed out as host-terminated, failing the job without retries and
// retrying the one with a retry strategy.
func TestCrashWhileJobRuns(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	tmp := t.TempDir()
	pidFile1 := filepath.Join(tmp, "pid1")
	pidFile2 := filepath.Join(tmp, "pid2")
	marker := filepath.Join(tmp, "marker")

	s := startServer(t, dataDir)
	c := s.Batch
	_, err := c.CreateComputeEnvironment(ctx, ceInput("run-ce", 4))
	require.NoError(t, err)
	_, err = c.CreateJobQueue(ctx, queueInput("run-queue", 1, "run-ce"))
	require.NoError(t, err)
	_, err = c.RegisterJobDefinition(ctx, jobDefInput("run-def", "true"))
	require.NoError(t, err)

	id1 := submit(t, c, &batch.SubmitJobInput{
		JobName: aws.String("sleeper"), JobQueue: aws.String("run-queue"), JobDefinition: aws.String("run-def"),
		ContainerOverrides: &types.ContainerOverrides{Command: []string{
			"sh", "-c", "echo $$ > " + pidFile1 + "; exec sleep 300",
		}},
	})
	id2 := submit(t, c, &batch.SubmitJobInput{
		JobName: aws.String("retrier"), JobQueue: aws.String("run-queue"), JobDefinition: aws.String("run-def"),
		RetryStrategy: &types.RetryStrategy{Attempts: aws.Int32(2)},
		ContainerOverrides: &types.ContainerOverrides{Command: []string{
			"sh", "-c", "if [ -f " + marker + " ]; then exit 0; fi; touch " + marker + "; echo $$ > " + pidFile2 + "; exec sleep 300",
		}},
	})
	j1 := wait(t, c, id1, types.JobStatusRunning)
	j2 := wait(t, c, id2, types.JobStatusRunning)
	proc1 := readPidFile(t, pidFile1)
	proc2 := readPidFile(t, pidFile2)
	t.Cleanup(func() { proc1.kill(); proc2.kill() }) // in case the test fails
	require.True(t, proc1.alive(), "job 1's process %d", proc1.pid)
	require.True(t, proc2.alive(), "job 2's process %d", proc2.pid)

	// The instance id, as reported while running.
	instance := instanceID(t, aws.ToString(j1.Container.ContainerInstanceArn))
	require.Equal(t, instance, instanceID(t, aws.ToString(j2.Container.ContainerInstanceArn)))
	reason := "Host EC2 (instance " + instance + ") terminated."

	s.Kill9()
	// Pdeathsig kills the attempts' processes with the server.
	for _, p := range []procRef{proc1, proc2} {
		require.Eventually(t, func() bool { return !p.alive() }, 10*time.Second, 20*time.Millisecond,
			"job process %d survived the server's SIGKILL", p.pid)
	}

	s2 := startServer(t, dataDir)
	c2 := s2.Batch
	require.False(t, proc1.alive(), "job 1's process %d is back", proc1.pid)
	require.False(t, proc2.alive(), "job 2's process %d is back", proc2.pid)

	job1 := wait(t, c2, id1, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusFailed, job1.Status)
	require.True(t, strings.HasPrefix(aws.ToString(job1.StatusReason), hostTerminatedPrefix), aws.ToString(job1.StatusReason))
	require.Equal(t, reason, aws.ToString(job1.StatusReason), "the instance id must survive the restart")
	require.Len(t, job1.Attempts, 1)
	require.Equal(t, reason, aws.ToString(job1.Attempts[0].StatusReason))
	require.NotZero(t, aws.ToInt64(job1.Attempts[0].StartedAt))
	require.GreaterOrEqual(t, aws.ToInt64(job1.Attempts[0].StoppedAt), aws.ToInt64(job1.Attempts[0].StartedAt))
	require.NotZero(t, aws.ToInt64(job1.StoppedAt))

	job2 := wait(t, c2, id2, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, job2.Status, aws.ToString(job2.StatusReason))
	require.Len(t, job2.Attempts, 2)
	require.Equal(t, reason, aws.ToString(job2.Attempts[0].StatusReason))
	require.Equal(t, "Essential container in task exited", aws.ToString(job2.Attempts[1].StatusReason))
	require.Equal(t, int32(0), aws.ToInt32(job2.Attempts[1].Container.ExitCode))
	require.Equal(t, int32(0), aws.ToInt32(job2.Container.ExitCode))
	// The retry ran on the restarted server, which is the same instance.
	require.Equal(t, instance, instanceID(t, aws.ToString(job2.Attempts[1].Container.ContainerInstanceArn)))
	require.NotEqual(t, aws.ToString(job2.Attempts[0].Container.TaskArn), aws.ToString(job2.Attempts[1].Container.TaskArn))

	// Nothing survived the restart either.
	require.False(t, proc1.alive())
	require.False(t, proc2.alive())
}

// instanceID returns the "i-..." at the end of a container instance ARN.
func instanceID(t *testing.T, arn string) string {
	t.Helper()
	i := strings.LastIndexByte(arn, '/')
	require.GreaterOrEqual(t, i, 0, "container instance ARN %q", arn)
	id := arn[i+1:]
	require.True(t, strings.HasPrefix(id, "i-"), "container instance ARN %q", arn)
	return id
}

// procRef identifies a process by pid and start time, so that a reused pid
// is never mistaken for it.
type procRef struct {
	pid   int
	start string
}

// procStat returns the state and start time of pid from /proc/<pid>/stat.
func procStat(pid int) (state, start string, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", "", false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "", "", false
	}
	f := strings.Fields(string(b[i+1:])) // field 3 onwards
	if len(f) < 20 {
		return "", "", false
	}
	return f[0], f[22-3], true
}

// alive reports whether the process still runs (a zombie waiting for its
// new parent to reap it is dead).
func (p procRef) alive() bool {
	state, start, ok := procStat(p.pid)
	return ok && start == p.start && state != "Z" && state != "X"
}

func (p procRef) kill() {
	if p.alive() {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
}

// readPidFile waits for a job to write its pid ("echo $$ > file").
func readPidFile(t *testing.T, path string) procRef {
	t.Helper()
	var ref procRef
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(path)
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			return false
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			return false
		}
		_, start, ok := procStat(pid)
		if !ok {
			return false
		}
		ref = procRef{pid: pid, start: start}
		return true
	}, 10*time.Second, 10*time.Millisecond, "no pid in %s", path)
	return ref
}

// TestGracefulShutdown stops an idle server with SIGTERM: it exits 0
// promptly, and after a restart the jobs submitted before are still there.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	c := s.Batch
	_, err := c.CreateComputeEnvironment(ctx, ceInput("grace-ce", 4))
	require.NoError(t, err)
	_, err = c.CreateJobQueue(ctx, queueInput("grace-queue", 1, "grace-ce"))
	require.NoError(t, err)
	_, err = c.RegisterJobDefinition(ctx, jobDefInput("grace-def", "true"))
	require.NoError(t, err)
	var ids []string
	for i := range 3 {
		ids = append(ids, submit(t, c, &batch.SubmitJobInput{
			JobName: aws.String(fmt.Sprintf("grace-%d", i)), JobQueue: aws.String("grace-queue"), JobDefinition: aws.String("grace-def"),
		}))
	}
	before := map[string]types.JobDetail{}
	for _, id := range ids {
		before[id] = *wait(t, c, id, types.JobStatusSucceeded)
	}

	took := s.Stop()
	require.Less(t, took, 5*time.Second, "an idle server should stop promptly on SIGTERM")
	t.Logf("server exited %v after SIGTERM", took)
	_, err = c.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: ids})
	require.Error(t, err, "the server still answers after it exited")

	s2 := startServer(t, dataDir)
	after := describeAll(t, s2.Batch, ids)
	require.Len(t, after, len(ids))
	for _, id := range ids {
		a, b := after[id], before[id]
		require.Equal(t, types.JobStatusSucceeded, a.Status, id)
		require.Equal(t, aws.ToString(b.JobName), aws.ToString(a.JobName))
		require.Equal(t, aws.ToInt64(b.CreatedAt), aws.ToInt64(a.CreatedAt))
		require.Equal(t, aws.ToInt64(b.StoppedAt), aws.ToInt64(a.StoppedAt))
		require.Len(t, a.Attempts, 1)
	}
	// A clean stop leaves nothing to recover: the restarted server stops
	// cleanly too.
	s2.Stop()
}
