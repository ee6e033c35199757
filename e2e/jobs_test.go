package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/gantrytest"
)

func TestJobRunsToSuccess(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "ok", 4, "sh", "-c", "env > Ref::out; pwd >> Ref::out")
	out := filepath.Join(t.TempDir(), "env.txt")
	id := submit(t, c, &batch.SubmitJobInput{
		JobName: aws.String("hello"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		Parameters: map[string]string{"out": out},
		ContainerOverrides: &types.ContainerOverrides{
			Environment: []types.KeyValuePair{{Name: aws.String("GREETING"), Value: aws.String("hi there")}},
		},
		Tags: map[string]string{"team": "etl"},
	})
	job := wait(t, c, id, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, job.Status, aws.ToString(job.StatusReason))
	require.Equal(t, "Essential container in task exited", aws.ToString(job.StatusReason))
	require.Equal(t, int32(0), aws.ToInt32(job.Container.ExitCode))
	require.NotZero(t, aws.ToInt64(job.CreatedAt))
	require.GreaterOrEqual(t, aws.ToInt64(job.StartedAt), aws.ToInt64(job.CreatedAt))
	require.GreaterOrEqual(t, aws.ToInt64(job.StoppedAt), aws.ToInt64(job.StartedAt))
	require.Equal(t, "arn:aws:batch:us-east-1:000000000000:job/"+id, aws.ToString(job.JobArn))
	require.Equal(t, "arn:aws:batch:us-east-1:000000000000:job-queue/"+env.Queue, aws.ToString(job.JobQueue))
	require.Equal(t, map[string]string{"team": "etl"}, job.Tags)
	require.Len(t, job.Attempts, 1)
	stream := aws.ToString(job.Container.LogStreamName)
	require.True(t, strings.HasPrefix(stream, env.JobDefinition+"/default/"), stream)
	require.Equal(t, stream, aws.ToString(job.Attempts[0].Container.LogStreamName))
	require.Contains(t, aws.ToString(job.Container.TaskArn), strings.TrimPrefix(stream, env.JobDefinition+"/default/"))

	b, err := os.ReadFile(out)
	require.NoError(t, err)
	got := string(b)
	for _, want := range []string{
		"AWS_BATCH_JOB_ID=" + id, "AWS_BATCH_JOB_ATTEMPT=1", "AWS_BATCH_JQ_NAME=" + env.Queue,
		"AWS_BATCH_CE_NAME=" + env.CE, "GREETING=hi there",
	} {
		require.Contains(t, got, want)
	}
	// A fresh working directory per attempt, named after the task.
	require.Contains(t, got, strings.TrimPrefix(stream, env.JobDefinition+"/default/"))
}

func TestJobFailsWithExitCode(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "fail", 4, "sh", "-c", "exit 3")
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("f"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition)})
	job := wait(t, c, id, types.JobStatusFailed)
	require.Equal(t, int32(3), aws.ToInt32(job.Container.ExitCode))
	require.Equal(t, "Essential container in task exited", aws.ToString(job.StatusReason))
	require.Len(t, job.Attempts, 1)
	require.Equal(t, int32(3), aws.ToInt32(job.Attempts[0].Container.ExitCode))

	// A command that does not exist fails to start.
	id = submit(t, c, &batch.SubmitJobInput{JobName: aws.String("missing"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"/no/such/binary"}}})
	job = wait(t, c, id, types.JobStatusFailed)
	require.Contains(t, aws.ToString(job.StatusReason), "CannotStartContainerError")
	require.Nil(t, job.Container.ExitCode)
}

func TestRetryStrategy(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	dir := t.TempDir()
	// Fails on the first two attempts, succeeds on the third.
	env := gantrytest.Setup(t, c, "retry", 4, "sh", "-c",
		`echo x >> Ref::dir/count; [ "$(wc -l < Ref::dir/count)" -ge 3 ]`)
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("r"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		Parameters: map[string]string{"dir": dir}, RetryStrategy: &types.RetryStrategy{Attempts: aws.Int32(3)}})
	job := wait(t, c, id, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, job.Status)
	require.Len(t, job.Attempts, 3)
	require.Equal(t, int32(1), aws.ToInt32(job.Attempts[0].Container.ExitCode))
	require.Equal(t, int32(0), aws.ToInt32(job.Attempts[2].Container.ExitCode))
	require.NotEqual(t, job.Attempts[0].Container.LogStreamName, job.Attempts[1].Container.LogStreamName)

	// An EXIT rule stops retrying at once.
	id = submit(t, c, &batch.SubmitJobInput{JobName: aws.String("e"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c", "exit 7"}},
		RetryStrategy: &types.RetryStrategy{Attempts: aws.Int32(5), EvaluateOnExit: []types.EvaluateOnExit{
			{OnExitCode: aws.String("7"), Action: types.RetryActionExit},
		}}})
	job = wait(t, c, id, types.JobStatusFailed)
	require.Len(t, job.Attempts, 1)
}

func TestDependencies(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "dep", 4, "true")
	gate := filepath.Join(t.TempDir(), "gate")
	// A waits for a file the test creates, so B is observably PENDING.
	a := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("a"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c", "while [ ! -f " + gate + " ]; do sleep 0.05; done"}}})
	b := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("b"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		DependsOn: []types.JobDependency{{JobId: aws.String(a)}}})
	wait(t, c, a, types.JobStatusRunning)
	wait(t, c, b, types.JobStatusPending)
	require.NoError(t, os.WriteFile(gate, nil, 0o600))
	wait(t, c, a, types.JobStatusSucceeded)
	bj := wait(t, c, b, types.JobStatusSucceeded)
	require.GreaterOrEqual(t, aws.ToInt64(bj.StartedAt), aws.ToInt64(describe(t, c, a).StoppedAt))

	// A failed dependency fails the dependent and cascades.
	f := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("f"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"false"}}})
	d1 := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("d1"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		DependsOn: []types.JobDependency{{JobId: aws.String(f)}}})
	d2 := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("d2"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		DependsOn: []types.JobDependency{{JobId: aws.String(d1)}}})
	for _, id := range []string{d1, d2} {
		j := wait(t, c, id, types.JobStatusFailed)
		require.Equal(t, "Dependent Job failed", aws.ToString(j.StatusReason))
		require.Empty(t, j.Attempts)
	}

	_, err := c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("x"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		DependsOn: []types.JobDependency{{JobId: aws.String("00000000-0000-4000-8000-000000000000")}}})
	requireClientException(t, err, "does not exist")
	deps := make([]types.JobDependency, 21)
	for i := range deps {
		deps[i] = types.JobDependency{JobId: aws.String(a)}
	}
	_, err = c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("x"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition), DependsOn: deps})
	requireClientException(t, err, "at most 20")
}

// blockCE fills a 1-vCPU environment with a job that runs until the returned
// release func is called.
func blockCE(t *testing.T, c *batch.Client, env gantrytest.Env) (string, func()) {
	t.Helper()
	gate := filepath.Join(t.TempDir(), "release")
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("blocker"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c", "while [ ! -f " + gate + " ]; do sleep 0.05; done"}}})
	wait(t, c, id, types.JobStatusRunning)
	return id, func() { require.NoError(t, os.WriteFile(gate, nil, 0o600)) }
}

func TestCancelAndTerminate(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "ct", 1, "true")
	blocker, release := blockCE(t, c, env)

	// RUNNABLE (waiting for capacity): cancel fails it.
	queued := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("queued"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition)})
	wait(t, c, queued, types.JobStatusRunnable)
	_, err := c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(queued), Reason: aws.String("not needed")})
	require.NoError(t, err)
	j := describe(t, c, queued)
	require.Equal(t, types.JobStatusFailed, j.Status)
	require.Equal(t, "not needed", aws.ToString(j.StatusReason))
	require.True(t, aws.ToBool(j.IsCancelled))

	// RUNNING: cancel has no effect but succeeds.
	_, err = c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(blocker), Reason: aws.String("ignored")})
	require.NoError(t, err)
	require.Equal(t, types.JobStatusRunning, describe(t, c, blocker).Status)

	// RUNNING: terminate kills it.
	_, err = c.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String(blocker), Reason: aws.String("stop it")})
	require.NoError(t, err)
	j = *wait(t, c, blocker, types.JobStatusFailed)
	require.Equal(t, "stop it", aws.ToString(j.StatusReason))
	require.True(t, aws.ToBool(j.IsTerminated))
	require.Equal(t, int32(143), aws.ToInt32(j.Container.ExitCode)) // SIGTERM
	release()

	// Terminal: both are no-ops.
	_, err = c.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String(blocker), Reason: aws.String("again")})
	require.NoError(t, err)
	require.Equal(t, "stop it", aws.ToString(describe(t, c, blocker).StatusReason))

	// PENDING: cancel fails it.
	_, release2 := blockCE(t, c, env)
	defer release2()
	parent := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("p"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition)})
	child := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("c"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		DependsOn: []types.JobDependency{{JobId: aws.String(parent)}}})
	wait(t, c, child, types.JobStatusPending)
	_, err = c.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String(child), Reason: aws.String("bye")})
	require.NoError(t, err)
	require.True(t, aws.ToBool(describe(t, c, child).IsTerminated))

	_, err = c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String("00000000-0000-4000-8000-000000000000"), Reason: aws.String("x")})
	requireClientException(t, err, "does not exist")
	_, err = c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(parent), Reason: aws.String("")})
	requireClientException(t, err, "reason")
}

func TestQueuePriorityOverSharedCE(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "prio", 1, "true")
	_, err := c.CreateJobQueue(ctx, queueInput("high", 100, env.CE))
	require.NoError(t, err)
	_, release := blockCE(t, c, env)
	low := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("low"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition)})
	wait(t, c, low, types.JobStatusRunnable)
	high := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("high"), JobQueue: aws.String("high"), JobDefinition: aws.String(env.JobDefinition)})
	wait(t, c, high, types.JobStatusRunnable)
	release()
	h := wait(t, c, high, types.JobStatusSucceeded)
	l := wait(t, c, low, types.JobStatusSucceeded)
	require.LessOrEqual(t, aws.ToInt64(h.StoppedAt), aws.ToInt64(l.StartedAt), "the high-priority job must run first on the 1-vCPU environment")
}

func TestBlockedJobShowsReason(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "big", 4, "true")
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("huge"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ContainerOverrides: &types.ContainerOverrides{ResourceRequirements: []types.ResourceRequirement{{Type: types.ResourceTypeVcpu, Value: aws.String("8")}}}})
	deadline := time.Now().Add(jobTimeout)
	var j types.JobDetail
	for time.Now().Before(deadline) {
		j = describe(t, c, id)
		if aws.ToString(j.StatusReason) != "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, types.JobStatusRunnable, j.Status)
	require.True(t, strings.HasPrefix(aws.ToString(j.StatusReason), "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"), aws.ToString(j.StatusReason))
	require.Contains(t, aws.ToString(j.StatusReason), "needs 8 vCPU")
	// It does not hold back the jobs behind it.
	small := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("small"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition)})
	wait(t, c, small, types.JobStatusSucceeded)
}

func TestListJobs(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "list", 1, "true")
	_, release := blockCE(t, c, env)
	defer release()
	var ids []string
	for i := range 7 {
		name := fmt.Sprint("etl-", i)
		if i%2 == 1 {
			name = fmt.Sprint("report-", i)
		}
		ids = append(ids, submit(t, c, &batch.SubmitJobInput{JobName: aws.String(name), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition)}))
		time.Sleep(2 * time.Millisecond) // distinct createdAt for the time filters
	}
	for _, id := range ids {
		wait(t, c, id, types.JobStatusRunnable)
	}
	list := func(in *batch.ListJobsInput) []types.JobSummary {
		t.Helper()
		var all []types.JobSummary
		p := batch.NewListJobsPaginator(c, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			require.NoError(t, err)
			all = append(all, page.JobSummaryList...)
		}
		return all
	}
	// No status and no filter: RUNNING only (the blocker).
	running := list(&batch.ListJobsInput{JobQueue: aws.String(env.Queue)})
	require.Len(t, running, 1)
	require.Equal(t, "blocker", aws.ToString(running[0].JobName))
	// By status, paginated 3 at a time, newest first, no duplicates.
	runnable := list(&batch.ListJobsInput{JobQueue: aws.String(env.Queue), JobStatus: types.JobStatusRunnable, MaxResults: aws.Int32(3)})
	require.Len(t, runnable, 7)
	for i, s := range runnable {
		require.Equal(t, ids[6-i], aws.ToString(s.JobId))
	}
	// Filters override the status.
	byName := list(&batch.ListJobsInput{JobQueue: aws.String(env.Queue), Filters: []types.KeyValuesPair{{Name: aws.String("JOB_NAME"), Values: []string{"ETL-*"}}}})
	require.Len(t, byName, 4)
	byDef := list(&batch.ListJobsInput{JobQueue: aws.String(env.Queue), Filters: []types.KeyValuesPair{{Name: aws.String("JOB_DEFINITION"), Values: []string{env.JobDefinition}}}})
	require.Len(t, byDef, 8)
	created := aws.ToInt64(describe(t, c, ids[3]).CreatedAt)
	after := list(&batch.ListJobsInput{JobQueue: aws.String(env.Queue), Filters: []types.KeyValuesPair{{Name: aws.String("AFTER_CREATED_AT"), Values: []string{fmt.Sprint(created)}}}})
	require.Len(t, after, 3)
	_, err := c.ListJobs(ctx, &batch.ListJobsInput{})
	requireClientException(t, err, "exactly one")
	_, err = c.ListJobs(ctx, &batch.ListJobsInput{JobQueue: aws.String(env.Queue), Filters: []types.KeyValuesPair{
		{Name: aws.String("JOB_NAME"), Values: []string{"a"}}, {Name: aws.String("JOB_DEFINITION"), Values: []string{"b"}}}})
	requireClientException(t, err, "at most one filter")
	_, err = c.ListJobs(ctx, &batch.ListJobsInput{JobQueue: aws.String("nope")})
	requireClientException(t, err, "does not exist")
}

func TestSubmitJobBadInput(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "bad", 4, "true")
	_, err := c.CreateJobQueue(ctx, queueInput("off", 1, env.CE))
	require.NoError(t, err)
	_, err = c.UpdateJobQueue(ctx, &batch.UpdateJobQueueInput{JobQueue: aws.String("off"), State: types.JQStateDisabled})
	require.NoError(t, err)
	base := func(fn func(in *batch.SubmitJobInput)) *batch.SubmitJobInput {
		in := &batch.SubmitJobInput{JobName: aws.String("j"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition)}
		fn(in)
		return in
	}
	tests := map[string]struct {
		in   *batch.SubmitJobInput
		want string
	}{
		"disabled queue": {base(func(in *batch.SubmitJobInput) { in.JobQueue = aws.String("off") }), "DISABLED"},
		"unknown queue":  {base(func(in *batch.SubmitJobInput) { in.JobQueue = aws.String("nope") }), "does not exist"},
		"unknown def":    {base(func(in *batch.SubmitJobInput) { in.JobDefinition = aws.String("nope") }), "ACTIVE"},
		"bad name":       {base(func(in *batch.SubmitJobInput) { in.JobName = aws.String("-starts-with-dash") }), "jobName"},
		"reserved env": {base(func(in *batch.SubmitJobInput) {
			in.ContainerOverrides = &types.ContainerOverrides{Environment: []types.KeyValuePair{{Name: aws.String("AWS_BATCH_X"), Value: aws.String("1")}}}
		}), "AWS_BATCH"},
		"share on fifo":    {base(func(in *batch.SubmitJobInput) { in.ShareIdentifier = aws.String("a") }), "shareIdentifier"},
		"timeout 59":       {base(func(in *batch.SubmitJobInput) { in.Timeout = &types.JobTimeout{AttemptDurationSeconds: aws.Int32(59)} }), "attemptDurationSeconds"},
		"array size 1":     {base(func(in *batch.SubmitJobInput) { in.ArrayProperties = &types.ArrayProperties{Size: aws.Int32(1)} }), "arrayProperties.size"},
		"array size 10001": {base(func(in *batch.SubmitJobInput) { in.ArrayProperties = &types.ArrayProperties{Size: aws.Int32(10001)} }), "arrayProperties.size"},
		"bad vcpu": {base(func(in *batch.SubmitJobInput) {
			in.ContainerOverrides = &types.ContainerOverrides{ResourceRequirements: []types.ResourceRequirement{{Type: types.ResourceTypeVcpu, Value: aws.String("x")}}}
		}), "VCPU"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := c.SubmitJob(ctx, tc.in)
			requireClientException(t, err, tc.want)
		})
	}
	out, err := c.ListJobs(ctx, &batch.ListJobsInput{JobQueue: aws.String(env.Queue), Filters: []types.KeyValuesPair{{Name: aws.String("JOB_NAME"), Values: []string{"*"}}}})
	require.NoError(t, err)
	require.Empty(t, out.JobSummaryList, "a rejected SubmitJob must create nothing")
}

func TestDescribeJobs(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "dj", 4, "true")
	a := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("a"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition)})
	b := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("b"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition)})
	out, err := c.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{b, "unknown", "arn:aws:batch:us-east-1:000000000000:job/" + a}})
	require.NoError(t, err)
	require.Len(t, out.Jobs, 2)
	require.Equal(t, b, aws.ToString(out.Jobs[0].JobId))
	require.Equal(t, a, aws.ToString(out.Jobs[1].JobId))
	ids := make([]string, 101)
	for i := range ids {
		ids[i] = a
	}
	_, err = c.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: ids})
	requireClientException(t, err, "Maximum number of jobs supported is 100")
}

func TestTags(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "tags", 4, "true")
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("t"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition)})
	arns := []string{
		"arn:aws:batch:us-east-1:000000000000:compute-environment/" + env.CE,
		"arn:aws:batch:us-east-1:000000000000:job-queue/" + env.Queue,
		"arn:aws:batch:us-east-1:000000000000:job-definition/" + env.JobDefinition + ":1",
		"arn:aws:batch:us-east-1:000000000000:job/" + id,
	}
	for _, arn := range arns {
		t.Run(arn, func(t *testing.T) {
			_, err := c.TagResource(ctx, &batch.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"a": "1", "b": "2"}})
			require.NoError(t, err)
			_, err = c.TagResource(ctx, &batch.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"b": "3", "c": "4"}})
			require.NoError(t, err)
			_, err = c.UntagResource(ctx, &batch.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"a", "c"}})
			require.NoError(t, err)
			out, err := c.ListTagsForResource(ctx, &batch.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
			require.NoError(t, err)
			require.Equal(t, map[string]string{"b": "3"}, out.Tags)
		})
	}
	_, err := c.ListTagsForResource(ctx, &batch.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:batch:us-east-1:000000000000:job-queue/nope")})
	requireClientException(t, err, "does not exist")
	_, err = c.TagResource(ctx, &batch.TagResourceInput{ResourceArn: aws.String("arn:aws:batch:us-east-1:000000000000:job/" + id + ":3"), Tags: map[string]string{"a": "1"}})
	requireClientException(t, err, "array child")
	_, err = c.TagResource(ctx, &batch.TagResourceInput{ResourceArn: aws.String(arns[0]), Tags: map[string]string{"aws:x": "1"}})
	requireClientException(t, err, "reserved")
}
