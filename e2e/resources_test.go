package e2e

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/gantrytest"
)

func TestComputeEnvironments(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch

	out, err := c.CreateComputeEnvironment(ctx, ceInput("ce-a", 8))
	require.NoError(t, err)
	require.Equal(t, "arn:aws:batch:us-east-1:000000000000:compute-environment/ce-a", aws.ToString(out.ComputeEnvironmentArn))

	// Every kind AWS accepts with dummy networking and roles.
	_, err = c.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{
		ComputeEnvironmentName: aws.String("ce-fargate"), Type: types.CETypeManaged,
		ComputeResources: &types.ComputeResource{Type: types.CRTypeFargate, MaxvCpus: aws.Int32(4), Subnets: []string{"subnet-1"}, SecurityGroupIds: []string{"sg-1"}},
	})
	require.NoError(t, err)
	spot := ceInput("ce-spot", 16)
	spot.ComputeResources.Type = types.CRTypeSpot
	spot.ComputeResources.BidPercentage = aws.Int32(60)
	spot.ComputeResources.AllocationStrategy = types.CRAllocationStrategySpotCapacityOptimized
	_, err = c.CreateComputeEnvironment(ctx, spot)
	require.NoError(t, err)
	_, err = c.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{
		ComputeEnvironmentName: aws.String("ce-unmanaged"), Type: types.CETypeUnmanaged, UnmanagedvCpus: aws.Int32(2),
	})
	require.NoError(t, err)
	eks := ceInput("ce-eks", 4)
	eks.EksConfiguration = &types.EksConfiguration{EksClusterArn: aws.String("arn:aws:eks:us-east-1:000000000000:cluster/c"), KubernetesNamespace: aws.String("batch")}
	_, err = c.CreateComputeEnvironment(ctx, eks)
	require.NoError(t, err)

	// Describe by name and by ARN; unknown names are omitted.
	desc, err := c.DescribeComputeEnvironments(ctx, &batch.DescribeComputeEnvironmentsInput{
		ComputeEnvironments: []string{"ce-a", "arn:aws:batch:us-east-1:000000000000:compute-environment/ce-eks", "nope"},
	})
	require.NoError(t, err)
	require.Len(t, desc.ComputeEnvironments, 2)
	byName := map[string]types.ComputeEnvironmentDetail{}
	for _, ce := range desc.ComputeEnvironments {
		byName[aws.ToString(ce.ComputeEnvironmentName)] = ce
	}
	a := byName["ce-a"]
	require.Equal(t, types.CEStatusValid, a.Status)
	require.Equal(t, types.CEStateEnabled, a.State)
	require.Equal(t, int32(8), aws.ToInt32(a.ComputeResources.MaxvCpus))
	require.Equal(t, types.OrchestrationTypeEks, byName["ce-eks"].ContainerOrchestrationType)
	require.Equal(t, "batch", aws.ToString(byName["ce-eks"].EksConfiguration.KubernetesNamespace))

	// Pagination: 5 environments, 2 per page, every one seen once.
	seen := map[string]bool{}
	p := batch.NewDescribeComputeEnvironmentsPaginator(c, &batch.DescribeComputeEnvironmentsInput{MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		pages++
		for _, ce := range page.ComputeEnvironments {
			require.False(t, seen[aws.ToString(ce.ComputeEnvironmentName)], "duplicate across pages")
			seen[aws.ToString(ce.ComputeEnvironmentName)] = true
		}
	}
	require.Len(t, seen, 5)
	require.Equal(t, 3, pages)

	// Update state and capacity.
	_, err = c.UpdateComputeEnvironment(ctx, &batch.UpdateComputeEnvironmentInput{
		ComputeEnvironment: aws.String("ce-a"), State: types.CEStateDisabled,
		ComputeResources: &types.ComputeResourceUpdate{MaxvCpus: aws.Int32(32)},
	})
	require.NoError(t, err)
	desc, err = c.DescribeComputeEnvironments(ctx, &batch.DescribeComputeEnvironmentsInput{ComputeEnvironments: []string{"ce-a"}})
	require.NoError(t, err)
	require.Equal(t, types.CEStateDisabled, desc.ComputeEnvironments[0].State)
	require.Equal(t, int32(32), aws.ToInt32(desc.ComputeEnvironments[0].ComputeResources.MaxvCpus))

	// Delete rules: ENABLED cannot be deleted; one used by a queue cannot be deleted.
	_, err = c.DeleteComputeEnvironment(ctx, &batch.DeleteComputeEnvironmentInput{ComputeEnvironment: aws.String("ce-spot")})
	requireClientException(t, err, "DISABLED")
	_, err = c.CreateJobQueue(ctx, queueInput("q-uses-a", 1, "ce-a"))
	require.NoError(t, err)
	_, err = c.DeleteComputeEnvironment(ctx, &batch.DeleteComputeEnvironmentInput{ComputeEnvironment: aws.String("ce-a")})
	requireClientException(t, err, "q-uses-a")
	_, err = c.UpdateJobQueue(ctx, &batch.UpdateJobQueueInput{JobQueue: aws.String("q-uses-a"), State: types.JQStateDisabled})
	require.NoError(t, err)
	_, err = c.DeleteJobQueue(ctx, &batch.DeleteJobQueueInput{JobQueue: aws.String("q-uses-a")})
	require.NoError(t, err)
	_, err = c.DeleteComputeEnvironment(ctx, &batch.DeleteComputeEnvironmentInput{ComputeEnvironment: aws.String("arn:aws:batch:us-east-1:000000000000:compute-environment/ce-a")})
	require.NoError(t, err)
	desc, err = c.DescribeComputeEnvironments(ctx, &batch.DescribeComputeEnvironmentsInput{ComputeEnvironments: []string{"ce-a"}})
	require.NoError(t, err)
	require.Empty(t, desc.ComputeEnvironments)
}

func TestComputeEnvironmentBadInput(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	_, err := c.CreateComputeEnvironment(ctx, ceInput("dup", 4))
	require.NoError(t, err)
	tests := map[string]struct {
		in   func() *batch.CreateComputeEnvironmentInput
		want string
	}{
		"duplicate name": {func() *batch.CreateComputeEnvironmentInput { return ceInput("dup", 4) }, "already exists"},
		"bad name":       {func() *batch.CreateComputeEnvironmentInput { return ceInput("bad name!", 4) }, "computeEnvironmentName"},
		"long name":      {func() *batch.CreateComputeEnvironmentInput { return ceInput(string(make([]byte, 129)), 4) }, "computeEnvironmentName"},
		"bad type": {func() *batch.CreateComputeEnvironmentInput {
			in := ceInput("x", 4)
			in.Type = "SERVERLESS"
			return in
		}, "type"},
		"bad resource type": {func() *batch.CreateComputeEnvironmentInput {
			in := ceInput("x", 4)
			in.ComputeResources.Type = "GPU"
			return in
		}, "computeResources.type"},
		"managed without resources": {func() *batch.CreateComputeEnvironmentInput {
			in := ceInput("x", 4)
			in.ComputeResources = nil
			return in
		}, "computeResources"},
		"min above max": {func() *batch.CreateComputeEnvironmentInput {
			in := ceInput("x", 4)
			in.ComputeResources.MinvCpus = aws.Int32(8)
			return in
		}, "minvCpus"},
		"fargate with instance role": {func() *batch.CreateComputeEnvironmentInput {
			in := ceInput("x", 4)
			in.ComputeResources.Type = types.CRTypeFargate
			return in
		}, "Fargate"},
		"bad state": {func() *batch.CreateComputeEnvironmentInput {
			in := ceInput("x", 4)
			in.State = "PAUSED"
			return in
		}, "state"},
		"too many tags": {func() *batch.CreateComputeEnvironmentInput {
			in := ceInput("x", 4)
			in.Tags = map[string]string{}
			for i := range 51 {
				in.Tags[fmt.Sprint("k", i)] = "v"
			}
			return in
		}, "tags"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := c.CreateComputeEnvironment(ctx, tc.in())
			requireClientException(t, err, tc.want)
		})
	}
	// Nothing half-written: only "dup" exists.
	desc, err := c.DescribeComputeEnvironments(ctx, &batch.DescribeComputeEnvironmentsInput{})
	require.NoError(t, err)
	require.Len(t, desc.ComputeEnvironments, 1)
}

func TestJobQueues(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	for _, n := range []string{"ce1", "ce2", "ce3", "ce4"} {
		_, err := c.CreateComputeEnvironment(ctx, ceInput(n, 4))
		require.NoError(t, err)
	}
	_, err := c.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{
		ComputeEnvironmentName: aws.String("fg"), Type: types.CETypeManaged,
		ComputeResources: &types.ComputeResource{Type: types.CRTypeFargate, MaxvCpus: aws.Int32(4), Subnets: []string{"s"}, SecurityGroupIds: []string{"sg"}},
	})
	require.NoError(t, err)

	out, err := c.CreateJobQueue(ctx, queueInput("q1", 10, "ce2", "ce1"))
	require.NoError(t, err)
	require.Equal(t, "arn:aws:batch:us-east-1:000000000000:job-queue/q1", aws.ToString(out.JobQueueArn))
	desc, err := c.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{JobQueues: []string{aws.ToString(out.JobQueueArn)}})
	require.NoError(t, err)
	require.Len(t, desc.JobQueues, 1)
	q := desc.JobQueues[0]
	require.Equal(t, int32(10), aws.ToInt32(q.Priority))
	require.Equal(t, types.JQStatusValid, q.Status)
	require.Len(t, q.ComputeEnvironmentOrder, 2)
	require.Equal(t, "arn:aws:batch:us-east-1:000000000000:compute-environment/ce2", aws.ToString(q.ComputeEnvironmentOrder[0].ComputeEnvironment))

	bad := map[string]struct {
		in   *batch.CreateJobQueueInput
		want string
	}{
		"duplicate":             {queueInput("q1", 1, "ce1"), "already exists"},
		"priority too low":      {queueInput("qx", -1, "ce1"), "priority"},
		"priority too high":     {queueInput("qx", 1001, "ce1"), "priority"},
		"four environments":     {queueInput("qx", 1, "ce1", "ce2", "ce3", "ce4"), "at most 3"},
		"unknown environment":   {queueInput("qx", 1, "nope"), "does not exist"},
		"mixed EC2 and Fargate": {queueInput("qx", 1, "ce1", "fg"), "FARGATE"},
		"no environments":       {queueInput("qx", 1), "computeEnvironmentOrder"},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := c.CreateJobQueue(ctx, tc.in)
			requireClientException(t, err, tc.want)
		})
	}

	_, err = c.UpdateJobQueue(ctx, &batch.UpdateJobQueueInput{JobQueue: aws.String("q1"), Priority: aws.Int32(500),
		ComputeEnvironmentOrder: []types.ComputeEnvironmentOrder{{Order: aws.Int32(1), ComputeEnvironment: aws.String("ce3")}}})
	require.NoError(t, err)
	desc, err = c.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{JobQueues: []string{"q1"}})
	require.NoError(t, err)
	require.Equal(t, int32(500), aws.ToInt32(desc.JobQueues[0].Priority))
	require.Len(t, desc.JobQueues[0].ComputeEnvironmentOrder, 1)

	for i := range 4 {
		_, err := c.CreateJobQueue(ctx, queueInput(fmt.Sprint("page-", i), 1, "ce1"))
		require.NoError(t, err)
	}
	var names []string
	p := batch.NewDescribeJobQueuesPaginator(c, &batch.DescribeJobQueuesInput{MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		for _, q := range page.JobQueues {
			names = append(names, aws.ToString(q.JobQueueName))
		}
	}
	require.Equal(t, []string{"page-0", "page-1", "page-2", "page-3", "q1"}, names)

	_, err = c.DeleteJobQueue(ctx, &batch.DeleteJobQueueInput{JobQueue: aws.String("q1")})
	requireClientException(t, err, "DISABLED")
	_, err = c.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{JobQueues: []string{"q1"}, MaxResults: aws.Int32(1)})
	requireClientException(t, err, "cannot both be set")
}

func TestJobDefinitions(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	for i := 1; i <= 3; i++ {
		out, err := c.RegisterJobDefinition(ctx, jobDefInput("def", "echo", fmt.Sprint(i)))
		require.NoError(t, err)
		require.Equal(t, int32(i), aws.ToInt32(out.Revision))
		require.Equal(t, fmt.Sprintf("arn:aws:batch:us-east-1:000000000000:job-definition/def:%d", i), aws.ToString(out.JobDefinitionArn))
	}
	_, err := c.DeregisterJobDefinition(ctx, &batch.DeregisterJobDefinitionInput{JobDefinition: aws.String("def:3")})
	require.NoError(t, err)
	// A new revision never reuses a number.
	out, err := c.RegisterJobDefinition(ctx, jobDefInput("def", "echo", "4"))
	require.NoError(t, err)
	require.Equal(t, int32(4), aws.ToInt32(out.Revision))
	_, err = c.DeregisterJobDefinition(ctx, &batch.DeregisterJobDefinitionInput{JobDefinition: out.JobDefinitionArn})
	require.NoError(t, err)

	all, err := c.DescribeJobDefinitions(ctx, &batch.DescribeJobDefinitionsInput{JobDefinitionName: aws.String("def")})
	require.NoError(t, err)
	require.Len(t, all.JobDefinitions, 4)
	active, err := c.DescribeJobDefinitions(ctx, &batch.DescribeJobDefinitionsInput{JobDefinitionName: aws.String("def"), Status: aws.String("ACTIVE")})
	require.NoError(t, err)
	require.Len(t, active.JobDefinitions, 2)
	one, err := c.DescribeJobDefinitions(ctx, &batch.DescribeJobDefinitionsInput{JobDefinitions: []string{"def:2", "arn:aws:batch:us-east-1:000000000000:job-definition/def:3"}})
	require.NoError(t, err)
	require.Len(t, one.JobDefinitions, 2)
	require.Equal(t, "INACTIVE", aws.ToString(one.JobDefinitions[1].Status))
	require.Equal(t, []string{"echo", "2"}, one.JobDefinitions[0].ContainerProperties.Command)

	// Paginate over every revision of every name.
	_, err = c.RegisterJobDefinition(ctx, jobDefInput("other", "true"))
	require.NoError(t, err)
	var got []string
	p := batch.NewDescribeJobDefinitionsPaginator(c, &batch.DescribeJobDefinitionsInput{MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		for _, d := range page.JobDefinitions {
			got = append(got, fmt.Sprintf("%s:%d", aws.ToString(d.JobDefinitionName), aws.ToInt32(d.Revision)))
		}
	}
	require.Equal(t, []string{"def:1", "def:2", "def:3", "def:4", "other:1"}, got)

	// A bare name resolves to the latest ACTIVE revision (2).
	env := gantrytest.Setup(t, c, "jd", 4)
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("j"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String("def")})
	require.Equal(t, "arn:aws:batch:us-east-1:000000000000:job-definition/def:2", aws.ToString(describe(t, c, id).JobDefinition))
	_, err = c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("j"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String("def:3")})
	requireClientException(t, err, "INACTIVE")
}

func TestJobDefinitionBadInput(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	mod := func(fn func(in *batch.RegisterJobDefinitionInput)) *batch.RegisterJobDefinitionInput {
		in := jobDefInput("d", "true")
		fn(in)
		return in
	}
	tests := map[string]struct {
		in   *batch.RegisterJobDefinitionInput
		want string
	}{
		"privileged not allowed": {mod(func(in *batch.RegisterJobDefinitionInput) { in.ContainerProperties.Privileged = aws.Bool(true) }), "privileged"},
		"host volume not allowed": {mod(func(in *batch.RegisterJobDefinitionInput) {
			in.ContainerProperties.Volumes = []types.Volume{{Name: aws.String("v"), Host: &types.Host{SourcePath: aws.String("/etc")}}}
		}), "host volume"},
		"reserved env": {mod(func(in *batch.RegisterJobDefinitionInput) {
			in.ContainerProperties.Environment = []types.KeyValuePair{{Name: aws.String("AWS_BATCH_JOB_ID"), Value: aws.String("x")}}
		}), "AWS_BATCH"},
		"timeout under 60": {mod(func(in *batch.RegisterJobDefinitionInput) {
			in.Timeout = &types.JobTimeout{AttemptDurationSeconds: aws.Int32(59)}
		}), "attemptDurationSeconds"},
		"attempts 0": {mod(func(in *batch.RegisterJobDefinitionInput) {
			in.RetryStrategy = &types.RetryStrategy{Attempts: aws.Int32(0)}
		}), "attempts"},
		"attempts 11": {mod(func(in *batch.RegisterJobDefinitionInput) {
			in.RetryStrategy = &types.RetryStrategy{Attempts: aws.Int32(11)}
		}), "attempts"},
		"six evaluateOnExit rules": {mod(func(in *batch.RegisterJobDefinitionInput) {
			in.RetryStrategy = &types.RetryStrategy{Attempts: aws.Int32(2)}
			for range 6 {
				in.RetryStrategy.EvaluateOnExit = append(in.RetryStrategy.EvaluateOnExit, types.EvaluateOnExit{Action: types.RetryActionExit, OnExitCode: aws.String("1")})
			}
		}), "evaluateOnExit"},
		"malformed pattern": {mod(func(in *batch.RegisterJobDefinitionInput) {
			in.RetryStrategy = &types.RetryStrategy{Attempts: aws.Int32(2), EvaluateOnExit: []types.EvaluateOnExit{{Action: types.RetryActionExit, OnExitCode: aws.String("1*2")}}}
		}), "onExitCode"},
		"vcpu 1.0 on EC2": {mod(func(in *batch.RegisterJobDefinitionInput) {
			in.ContainerProperties.ResourceRequirements[0].Value = aws.String("1.0")
		}), "VCPU"},
		"memory 2": {mod(func(in *batch.RegisterJobDefinitionInput) {
			in.ContainerProperties.ResourceRequirements[1].Value = aws.String("2")
		}), "MEMORY"},
		"no image":       {mod(func(in *batch.RegisterJobDefinitionInput) { in.ContainerProperties.Image = nil }), "image"},
		"bad type":       {mod(func(in *batch.RegisterJobDefinitionInput) { in.Type = "lambda" }), "type"},
		"priority 10000": {mod(func(in *batch.RegisterJobDefinitionInput) { in.SchedulingPriority = aws.Int32(10000) }), "schedulingPriority"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := c.RegisterJobDefinition(ctx, tc.in)
			requireClientException(t, err, tc.want)
		})
	}
	out, err := c.DescribeJobDefinitions(ctx, &batch.DescribeJobDefinitionsInput{})
	require.NoError(t, err)
	require.Empty(t, out.JobDefinitions)
}
