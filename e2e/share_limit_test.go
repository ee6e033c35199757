package e2e

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/control"
	"github.com/gantrybatch/gantry/internal/gantrytest"
)

// TestActiveShareLimit: a fair share queue takes at most 500 share
// identifiers with unfinished jobs; a job that would add one more is refused.
func TestActiveShareLimit(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "shares", 4, "true")
	_, err := c.UpdateComputeEnvironment(ctx, &batch.UpdateComputeEnvironmentInput{ComputeEnvironment: aws.String(env.CE), State: types.CEStateDisabled})
	require.NoError(t, err) // keep every job unfinished
	pol, err := c.CreateSchedulingPolicy(ctx, fairsharePolicyInput("many"))
	require.NoError(t, err)
	fq := queueInput("fair", 1, env.CE)
	fq.SchedulingPolicyArn = pol.Arn
	_, err = c.CreateJobQueue(ctx, fq)
	require.NoError(t, err)
	sub := func(share string) error {
		_, err := c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("j"), JobQueue: aws.String("fair"),
			JobDefinition: aws.String(env.JobDefinition), ShareIdentifier: aws.String(share)})
		return err
	}
	for i := range control.MaxActiveShares {
		require.NoError(t, sub(fmt.Sprint("s", i)))
	}
	requireClientException(t, sub("one-too-many"), "500 active share identifiers")
	require.NoError(t, sub("s7"), "an active share takes more jobs")
}
