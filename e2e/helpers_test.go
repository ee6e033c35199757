package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/gantrytest"
)

var ctx = context.Background()

const jobTimeout = 30 * time.Second

// requireClientException asserts err is a ClientException from the server
// (HTTP 400) whose message contains want.
func requireClientException(t *testing.T, err error, want string) {
	t.Helper()
	require.Error(t, err)
	var apiErr smithy.APIError
	require.True(t, errors.As(err, &apiErr), "not an API error: %v", err)
	require.Equal(t, "ClientException", apiErr.ErrorCode(), "error: %v", err)
	require.Contains(t, apiErr.ErrorMessage(), want)
}

func submit(t *testing.T, c *batch.Client, in *batch.SubmitJobInput) string {
	t.Helper()
	out, err := c.SubmitJob(ctx, in)
	require.NoError(t, err)
	require.NotEmpty(t, aws.ToString(out.JobId))
	return aws.ToString(out.JobId)
}

func describe(t *testing.T, c *batch.Client, id string) types.JobDetail {
	t.Helper()
	out, err := c.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{id}})
	require.NoError(t, err)
	require.Len(t, out.Jobs, 1)
	return out.Jobs[0]
}

func wait(t *testing.T, c *batch.Client, id string, want ...types.JobStatus) *types.JobDetail {
	t.Helper()
	return gantrytest.WaitForJob(t, c, id, jobTimeout, want...)
}

func ceInput(name string, maxVCPUs int32) *batch.CreateComputeEnvironmentInput {
	return &batch.CreateComputeEnvironmentInput{
		ComputeEnvironmentName: aws.String(name),
		Type:                   types.CETypeManaged,
		ComputeResources: &types.ComputeResource{
			Type:             types.CRTypeEc2,
			MaxvCpus:         aws.Int32(maxVCPUs),
			Subnets:          []string{"subnet-1"},
			SecurityGroupIds: []string{"sg-1"},
			InstanceRole:     aws.String("ecsInstanceRole"),
			InstanceTypes:    []string{"optimal"},
		},
	}
}

func queueInput(name string, priority int32, ces ...string) *batch.CreateJobQueueInput {
	in := &batch.CreateJobQueueInput{JobQueueName: aws.String(name), Priority: aws.Int32(priority)}
	for i, ce := range ces {
		in.ComputeEnvironmentOrder = append(in.ComputeEnvironmentOrder, types.ComputeEnvironmentOrder{
			Order: aws.Int32(int32(i + 1)), ComputeEnvironment: aws.String(ce),
		})
	}
	return in
}

func jobDefInput(name string, command ...string) *batch.RegisterJobDefinitionInput {
	return &batch.RegisterJobDefinitionInput{
		JobDefinitionName: aws.String(name),
		Type:              types.JobDefinitionTypeContainer,
		ContainerProperties: &types.ContainerProperties{
			Image:   aws.String("busybox"),
			Command: command,
			ResourceRequirements: []types.ResourceRequirement{
				{Type: types.ResourceTypeVcpu, Value: aws.String("1")},
				{Type: types.ResourceTypeMemory, Value: aws.String("64")},
			},
		},
	}
}
