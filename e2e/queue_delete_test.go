package e2e

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/gantrytest"
)

// TestDeleteQueueWithBacklog deletes a DISABLED queue that holds a running
// job and a backlog larger than one deletion batch: every waiting job ends
// FAILED and cancelled with "Job queue deleted", the running one is
// terminated, and the queue is gone.
func TestDeleteQueueWithBacklog(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "qdel", 1, "sleep", "60")
	submit := func(name string) string {
		out, err := c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String(name), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition)})
		require.NoError(t, err)
		return aws.ToString(out.JobId)
	}
	running := submit("runs")
	gantrytest.WaitForJob(t, c, running, 30*time.Second, types.JobStatusRunning)

	const backlog = 2500 // more than one deletion batch (1,000)
	ids := make([]string, backlog)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < backlog; i += 8 {
				ids[i] = submit(fmt.Sprint("waits-", i))
			}
		}()
	}
	wg.Wait()

	_, err := c.UpdateJobQueue(ctx, &batch.UpdateJobQueueInput{JobQueue: aws.String(env.Queue), State: types.JQStateDisabled})
	require.NoError(t, err)
	_, err = c.DeleteJobQueue(ctx, &batch.DeleteJobQueueInput{JobQueue: aws.String(env.Queue)})
	require.NoError(t, err)

	qs, err := c.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{JobQueues: []string{env.Queue}})
	require.NoError(t, err)
	require.Empty(t, qs.JobQueues, "the queue is gone")
	for start := 0; start < backlog; start += 100 {
		out, err := c.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: ids[start : start+100]})
		require.NoError(t, err)
		require.Len(t, out.Jobs, 100)
		for _, j := range out.Jobs {
			require.Equal(t, types.JobStatusFailed, j.Status, "job %s", aws.ToString(j.JobName))
			require.Equal(t, "Job queue deleted", aws.ToString(j.StatusReason))
		}
	}
	got := gantrytest.WaitForJob(t, c, running, 30*time.Second, types.JobStatusFailed)
	require.True(t, aws.ToBool(got.IsTerminated))
}
