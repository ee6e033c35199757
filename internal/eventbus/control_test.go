package eventbus

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/control"
	"github.com/gantrybatch/gantry/store"
)

// A SUCCEEDED job starts the next job through a Batch target with the real
// control.Service, and delivering the same delivery again (as after a crash
// between the submit and recording it) does not submit a second job.
func TestBatchTargetWithControl(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	ctx := context.Background()
	svc := control.New(control.Config{Store: tb.st, ARN: gantry.ARNBuilder{Region: testRegion, AccountID: testAccount}, Logger: testLogger(t)})
	_, err := svc.CreateComputeEnvironment(ctx, &gantry.CreateComputeEnvironmentInput{
		ComputeEnvironmentName: "ce", Type: "MANAGED",
		ComputeResources: &gantry.ComputeResource{Type: "EC2", MaxvCpus: ptr[int32](8), Subnets: []string{"subnet-1"},
			SecurityGroupIDs: []string{"sg-1"}, InstanceRole: "ecsInstanceRole", InstanceTypes: []string{"optimal"}},
	})
	require.NoError(t, err)
	q, err := svc.CreateJobQueue(ctx, &gantry.CreateJobQueueInput{JobQueueName: "next", Priority: ptr[int32](1),
		ComputeEnvironmentOrder: []gantry.ComputeEnvironmentOrder{{Order: 1, ComputeEnvironment: "ce"}}})
	require.NoError(t, err)
	_, err = svc.RegisterJobDefinition(ctx, &gantry.RegisterJobDefinitionInput{JobDefinitionName: "report", Type: "container",
		Parameters: map[string]string{"upstream": "none"},
		ContainerProperties: &gantry.ContainerProperties{Image: "busybox", Command: []string{"echo", "Ref::upstream"},
			ResourceRequirements: []gantry.ResourceRequirement{{Type: "VCPU", Value: "1"}, {Type: "MEMORY", Value: "128"}}}})
	require.NoError(t, err)

	tb.putRule(t, &gantry.Rule{Name: "chain", EventPattern: `{"source":["aws.batch"],"detail":{"status":["SUCCEEDED"]}}`}, &gantry.Target{
		Id: "next", Arn: q.JobQueueArn,
		BatchParameters: &gantry.BatchTargetParameters{JobDefinition: "report", JobName: "after-nightly"},
		InputTransformer: &gantry.InputTransformer{
			InputPathsMap: map[string]string{"job": "$.detail.jobId"},
			InputTemplate: `{"Parameters": {"upstream": <job>}, "ContainerOverrides": {"Environment": [{"Name": "FROM", "Value": <job>}]}}`,
		},
	})
	tb.jobEvent(t, "SUCCEEDED", time.Now())
	b := tb.newBus(t, func(c *Config) { c.Submitter = svc })
	b.Notify()

	d := tb.waitDelivery(t, "chain", store.DeliveryDelivered)
	require.Equal(t, JobID(d.ID), d.Result)
	job, err := tb.st.JobGet(ctx, d.Result)
	require.NoError(t, err)
	require.Equal(t, "after-nightly", job.JobName)
	require.Equal(t, q.JobQueueArn, job.JobQueue)
	require.Equal(t, "11111111-2222-3333-4444-555555555555", job.Parameters["upstream"])
	require.Contains(t, job.Container.Environment, gantry.KeyValuePair{Name: "FROM", Value: "11111111-2222-3333-4444-555555555555"})

	// Redeliver: the row goes back to PENDING as if the result were lost.
	d.State, d.Attempts, d.Result = store.DeliveryPending, 0, ""
	require.NoError(t, tb.st.DeliveryUpdate(ctx, d))
	b.Notify()
	again := tb.waitDelivery(t, "chain", store.DeliveryDelivered)
	require.Equal(t, job.JobID, again.Result)
	jobs, err := tb.st.JobList(ctx, &store.JobListParams{QueueArn: q.JobQueueArn})
	require.NoError(t, err)
	require.Len(t, jobs, 1)
}
