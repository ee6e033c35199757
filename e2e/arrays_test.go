package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/gantrytest"
)

func listChildren(t *testing.T, c *batch.Client, parent string, status types.JobStatus) []types.JobSummary {
	t.Helper()
	var all []types.JobSummary
	p := batch.NewListJobsPaginator(c, &batch.ListJobsInput{ArrayJobId: aws.String(parent), JobStatus: status})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		all = append(all, page.JobSummaryList...)
	}
	return all
}

func TestArrayJob(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	dir := t.TempDir()
	env := gantrytest.Setup(t, c, "arr", 4, "sh", "-c", `echo "$AWS_BATCH_JOB_ARRAY_INDEX of $AWS_BATCH_JOB_ARRAY_SIZE $AWS_BATCH_JOB_ID" > Ref::dir/$AWS_BATCH_JOB_ARRAY_INDEX`)
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("seven"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(7)}, Parameters: map[string]string{"dir": dir}})
	parent := wait(t, c, id, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, parent.Status)
	require.Equal(t, int32(7), aws.ToInt32(parent.ArrayProperties.Size))
	require.Equal(t, int32(7), parent.ArrayProperties.StatusSummary["SUCCEEDED"])
	for i := range 7 {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprint(i)))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("%d of 7 %s:%d\n", i, id, i), string(b))
	}
	children := listChildren(t, c, id, types.JobStatusSucceeded)
	require.Len(t, children, 7)
	child := describe(t, c, id+":3")
	require.Equal(t, int32(3), aws.ToInt32(child.ArrayProperties.Index))
	require.Equal(t, "arn:aws:batch:us-east-1:000000000000:job/"+id+":3", aws.ToString(child.JobArn))
	require.Len(t, child.Attempts, 1)
	// Queue listings show the parent only.
	out, err := c.ListJobs(ctx, &batch.ListJobsInput{JobQueue: aws.String(env.Queue), JobStatus: types.JobStatusSucceeded})
	require.NoError(t, err)
	require.Len(t, out.JobSummaryList, 1)
	require.Equal(t, id, aws.ToString(out.JobSummaryList[0].JobId))
}

func TestSequentialArray(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	log := filepath.Join(t.TempDir(), "order")
	env := gantrytest.Setup(t, c, "seq", 8, "sh", "-c", `sleep 0.05; echo $AWS_BATCH_JOB_ARRAY_INDEX >> `+log)
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("seq"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(5)},
		DependsOn:       []types.JobDependency{{Type: types.ArrayJobDependencySequential}}})
	require.Equal(t, types.JobStatusSucceeded, wait(t, c, id, types.JobStatusSucceeded, types.JobStatusFailed).Status)
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	require.Equal(t, "0\n1\n2\n3\n4\n", string(b), "children must run strictly in order even with free capacity")
	prev := describe(t, c, id+":0")
	for i := 1; i < 5; i++ {
		cur := describe(t, c, fmt.Sprintf("%s:%d", id, i))
		require.GreaterOrEqual(t, aws.ToInt64(cur.StartedAt), aws.ToInt64(prev.StoppedAt))
		require.Equal(t, fmt.Sprintf("%s:%d", id, i-1), aws.ToString(cur.DependsOn[0].JobId))
		prev = cur
	}

	// A failing child fails every later one, and the parent.
	fail := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("seqfail"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ArrayProperties:    &types.ArrayProperties{Size: aws.Int32(5)},
		DependsOn:          []types.JobDependency{{Type: types.ArrayJobDependencySequential}},
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c", `[ "$AWS_BATCH_JOB_ARRAY_INDEX" != 2 ]`}}})
	p := wait(t, c, fail, types.JobStatusFailed)
	require.Equal(t, "Array Child Job failed", aws.ToString(p.StatusReason))
	require.Equal(t, map[string]int32{"SUBMITTED": 0, "PENDING": 0, "RUNNABLE": 0, "STARTING": 0, "RUNNING": 0, "SUCCEEDED": 2, "FAILED": 3}, p.ArrayProperties.StatusSummary)
	for _, i := range []int{3, 4} {
		j := describe(t, c, fmt.Sprintf("%s:%d", fail, i))
		require.Equal(t, types.JobStatusFailed, j.Status)
		require.Equal(t, "Dependent Job failed", aws.ToString(j.StatusReason))
		require.Empty(t, j.Attempts)
	}
}

func TestNToNDependency(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	dir := t.TempDir()
	env := gantrytest.Setup(t, c, "nton", 8, "true")
	// A's child i sleeps longer for lower i, so B's children must follow A's per index.
	a := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("a"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(3)},
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c",
			`sleep $((3 - AWS_BATCH_JOB_ARRAY_INDEX)); touch ` + dir + `/a$AWS_BATCH_JOB_ARRAY_INDEX`}}})
	b := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("b"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(3)},
		DependsOn:       []types.JobDependency{{JobId: aws.String(a), Type: types.ArrayJobDependencyNToN}},
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c",
			`test -f ` + dir + `/a$AWS_BATCH_JOB_ARRAY_INDEX`}}})
	require.Equal(t, types.JobStatusSucceeded, wait(t, c, b, types.JobStatusSucceeded, types.JobStatusFailed).Status)
	for i := range 3 {
		ai, bi := describe(t, c, fmt.Sprintf("%s:%d", a, i)), describe(t, c, fmt.Sprintf("%s:%d", b, i))
		require.GreaterOrEqual(t, aws.ToInt64(bi.StartedAt), aws.ToInt64(ai.StoppedAt))
		require.Equal(t, fmt.Sprintf("%s:%d", a, i), aws.ToString(bi.DependsOn[0].JobId))
	}
	// B's child 2 depends on A's child 2 only: it starts before A's child 0
	// ends (A's child 0 runs 2 s longer than A's child 2).
	b2, a0 := describe(t, c, b+":2"), describe(t, c, a+":0")
	require.Less(t, aws.ToInt64(b2.StartedAt), aws.ToInt64(a0.StoppedAt))

	_, err := c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("bad"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(4)},
		DependsOn:       []types.JobDependency{{JobId: aws.String(a), Type: types.ArrayJobDependencyNToN}}})
	requireClientException(t, err, "same size")
	_, err = c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("bad"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		DependsOn: []types.JobDependency{{Type: types.ArrayJobDependencySequential}}})
	requireClientException(t, err, "only valid for array jobs")
}

func TestDiamondAndArrayDependency(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "dia", 8, "sh", "-c", "sleep 0.1")
	sub := func(name string, size int32, deps ...string) string {
		in := &batch.SubmitJobInput{JobName: aws.String(name), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition)}
		if size > 0 {
			in.ArrayProperties = &types.ArrayProperties{Size: aws.Int32(size)}
		}
		for _, d := range deps {
			in.DependsOn = append(in.DependsOn, types.JobDependency{JobId: aws.String(d)})
		}
		return submit(t, c, in)
	}
	a := sub("a", 0)
	b := sub("b", 3, a) // an array holding back all its children
	cc := sub("c", 0, a)
	d := sub("d", 0, b, cc) // a plain dependency on an array waits for all of it
	dj := wait(t, c, d, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, dj.Status)
	aj := describe(t, c, a)
	for i := range 3 {
		child := describe(t, c, fmt.Sprintf("%s:%d", b, i))
		require.GreaterOrEqual(t, aws.ToInt64(child.StartedAt), aws.ToInt64(aj.StoppedAt))
		require.LessOrEqual(t, aws.ToInt64(child.StoppedAt), aws.ToInt64(dj.StartedAt))
	}
	require.LessOrEqual(t, aws.ToInt64(describe(t, c, cc).StoppedAt), aws.ToInt64(dj.StartedAt))
}

func TestArrayCancelAndTerminate(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "arrstop", 1, "true")
	blocker, release := blockCE(t, c, env)
	defer release()
	// Cancel: children waiting for capacity fail, isCancelled.
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("c"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(5)}})
	require.Eventually(t, func() bool { return len(listChildren(t, c, id, types.JobStatusRunnable)) == 5 }, jobTimeout, 20*time.Millisecond)
	_, err := c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(id), Reason: aws.String("not today")})
	require.NoError(t, err)
	p := wait(t, c, id, types.JobStatusFailed)
	require.Equal(t, "not today", aws.ToString(p.StatusReason))
	require.Equal(t, int32(5), p.ArrayProperties.StatusSummary["FAILED"])
	for _, ch := range listChildren(t, c, id, types.JobStatusFailed) {
		j := describe(t, c, aws.ToString(ch.JobId))
		require.True(t, aws.ToBool(j.IsCancelled))
		require.Equal(t, "not today", aws.ToString(j.StatusReason))
	}
	// Cancelling one child fails only it; the parent ends FAILED when the rest are done.
	release()
	wait(t, c, blocker, types.JobStatusSucceeded)
	gate := filepath.Join(t.TempDir(), "gate")
	id = submit(t, c, &batch.SubmitJobInput{JobName: aws.String("t"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ArrayProperties:    &types.ArrayProperties{Size: aws.Int32(3)},
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c", "while [ ! -f " + gate + " ]; do sleep 0.05; done"}}})
	require.Eventually(t, func() bool { return len(listChildren(t, c, id, types.JobStatusRunning)) == 1 }, jobTimeout, 20*time.Millisecond)
	_, err = c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(id + ":2"), Reason: aws.String("just this one")})
	require.NoError(t, err)
	require.Equal(t, types.JobStatusFailed, describe(t, c, id+":2").Status)
	// Terminate the parent: the running child is killed, the rest fail.
	_, err = c.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String(id), Reason: aws.String("stop all")})
	require.NoError(t, err)
	p = wait(t, c, id, types.JobStatusFailed)
	require.Equal(t, int32(3), p.ArrayProperties.StatusSummary["FAILED"])
	running := describe(t, c, id+":0")
	require.True(t, aws.ToBool(running.IsTerminated))
	require.Equal(t, int32(143), aws.ToInt32(running.Container.ExitCode))
}

func TestLargeArrayMaterializesOffTheRequestPath(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "big", 4, "true")
	// Keep the children from running: the environment is disabled.
	_, err := c.UpdateComputeEnvironment(ctx, &batch.UpdateComputeEnvironmentInput{ComputeEnvironment: aws.String(env.CE), State: types.CEStateDisabled})
	require.NoError(t, err)
	start := time.Now()
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("tenk"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(10000)}})
	t.Logf("SubmitJob of a 10,000-child array took %v", time.Since(start))
	// Any child is describable at once, materialized or not.
	require.Equal(t, int32(9999), aws.ToInt32(describe(t, c, id+":9999").ArrayProperties.Index))
	require.Eventually(t, func() bool {
		return describe(t, c, id).ArrayProperties.StatusSummary["RUNNABLE"] == 10000
	}, 60*time.Second, 50*time.Millisecond)
	_, err = c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(id), Reason: aws.String("too many")})
	require.NoError(t, err)
	p := wait(t, c, id, types.JobStatusFailed)
	require.Equal(t, int32(10000), p.ArrayProperties.StatusSummary["FAILED"])
}

func TestAttemptTimeout(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("takes over a minute: AWS's minimum timeout is 60 s")
	}
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "tmo", 4, "sleep", "600")
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("slow"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		Timeout:       &types.JobTimeout{AttemptDurationSeconds: aws.Int32(60)},
		RetryStrategy: &types.RetryStrategy{Attempts: aws.Int32(3)}})
	j := gantrytest.WaitForJob(t, c, id, 90*time.Second, types.JobStatusFailed)
	require.Equal(t, "Job attempt duration exceeded timeout", aws.ToString(j.StatusReason))
	require.Len(t, j.Attempts, 1, "timeouts are never retried")
	elapsed := aws.ToInt64(j.StoppedAt) - aws.ToInt64(j.StartedAt)
	require.GreaterOrEqual(t, elapsed, int64(60_000))
	require.Less(t, elapsed, int64(65_000))
	require.Equal(t, int32(143), aws.ToInt32(j.Container.ExitCode))
}

func TestRestartMidArrayAndChain(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	srv := gantrytest.New(t, gantrytest.WithDataDir(dataDir))
	c := srv.Batch
	done := filepath.Join(t.TempDir(), "done")
	env := gantrytest.Setup(t, c, "rs", 2, "sh", "-c", "sleep 0.2; echo $AWS_BATCH_JOB_ID >> "+done)
	retry := &types.RetryStrategy{Attempts: aws.Int32(3), EvaluateOnExit: []types.EvaluateOnExit{
		{OnStatusReason: aws.String("Host EC2*"), Action: types.RetryActionRetry},
		{OnReason: aws.String("*"), Action: types.RetryActionExit},
	}}
	arr := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("arr"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(12)}, RetryStrategy: retry})
	chain := []string{submit(t, c, &batch.SubmitJobInput{JobName: aws.String("c0"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition), RetryStrategy: retry})}
	for i := 1; i < 5; i++ {
		chain = append(chain, submit(t, c, &batch.SubmitJobInput{JobName: aws.String(fmt.Sprint("c", i)), JobQueue: aws.String(env.Queue),
			JobDefinition: aws.String(env.JobDefinition), RetryStrategy: retry, DependsOn: []types.JobDependency{{JobId: aws.String(chain[i-1])}}}))
	}
	require.Eventually(t, func() bool { return describe(t, c, arr).ArrayProperties.StatusSummary["SUCCEEDED"] >= 3 }, jobTimeout, 10*time.Millisecond)
	srv.Stop(t) // mid-array, mid-chain, with attempts running

	srv = gantrytest.New(t, gantrytest.WithDataDir(dataDir))
	c = srv.Batch
	require.Equal(t, types.JobStatusSucceeded, wait(t, c, arr, types.JobStatusSucceeded, types.JobStatusFailed).Status)
	last := wait(t, c, chain[4], types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, last.Status)
	b, err := os.ReadFile(done)
	require.NoError(t, err)
	lines := strings.Fields(string(b))
	var want []string
	for i := range 12 {
		want = append(want, fmt.Sprintf("%s:%d", arr, i))
	}
	want = append(want, chain...)
	slices.Sort(lines)
	slices.Sort(want)
	require.Equal(t, want, lines, "every child and chain job completed exactly once")
	for i := 1; i < 5; i++ {
		require.GreaterOrEqual(t, aws.ToInt64(describe(t, c, chain[i]).StartedAt), aws.ToInt64(describe(t, c, chain[i-1]).StoppedAt))
	}
}
