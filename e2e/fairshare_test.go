package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/gantrytest"
)

// fairsharePolicyInput is a CreateSchedulingPolicy request with shares A
// (weight 1) and B (weight 0.5).
func fairsharePolicyInput(name string) *batch.CreateSchedulingPolicyInput {
	return &batch.CreateSchedulingPolicyInput{
		Name: aws.String(name),
		FairsharePolicy: &types.FairsharePolicy{
			ShareDecaySeconds:  aws.Int32(600),
			ComputeReservation: aws.Int32(10),
			ShareDistribution: []types.ShareAttributes{
				{ShareIdentifier: aws.String("A"), WeightFactor: aws.Float32(1)},
				{ShareIdentifier: aws.String("B"), WeightFactor: aws.Float32(0.5)},
			},
		},
	}
}

func policyARN(name string) string {
	return "arn:aws:batch:us-east-1:000000000000:scheduling-policy/" + name
}

func listPolicyARNs(t *testing.T, c *batch.Client, pageSize int32) []string {
	t.Helper()
	var arns []string
	p := batch.NewListSchedulingPoliciesPaginator(c, &batch.ListSchedulingPoliciesInput{MaxResults: aws.Int32(pageSize)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.SchedulingPolicies), int(pageSize))
		for _, sp := range page.SchedulingPolicies {
			arns = append(arns, aws.ToString(sp.Arn))
		}
	}
	return arns
}

func TestSchedulingPolicies(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch

	require.Empty(t, listPolicyARNs(t, c, 100))
	for _, name := range []string{"p3", "p1", "p2", "p4", "p5"} {
		out, err := c.CreateSchedulingPolicy(ctx, fairsharePolicyInput(name))
		require.NoError(t, err)
		require.Equal(t, name, aws.ToString(out.Name))
		require.Equal(t, policyARN(name), aws.ToString(out.Arn))
	}
	_, err := c.CreateSchedulingPolicy(ctx, fairsharePolicyInput("p1"))
	requireClientException(t, err, "already exists")

	// Pagination: pages of 2, by name, every policy once.
	want := []string{policyARN("p1"), policyARN("p2"), policyARN("p3"), policyARN("p4"), policyARN("p5")}
	require.Equal(t, want, listPolicyARNs(t, c, 2))
	require.Equal(t, want, listPolicyARNs(t, c, 100))
	_, err = c.ListSchedulingPolicies(ctx, &batch.ListSchedulingPoliciesInput{MaxResults: aws.Int32(101)})
	requireClientException(t, err, "maxResults")

	// Describe: full details; unknown ARNs are omitted.
	in := fairsharePolicyInput("tagged")
	in.Tags = map[string]string{"team": "data"}
	_, err = c.CreateSchedulingPolicy(ctx, in)
	require.NoError(t, err)
	desc, err := c.DescribeSchedulingPolicies(ctx, &batch.DescribeSchedulingPoliciesInput{
		Arns: []string{policyARN("tagged"), policyARN("unknown"), policyARN("p2")},
	})
	require.NoError(t, err)
	require.Len(t, desc.SchedulingPolicies, 2)
	names := []string{aws.ToString(desc.SchedulingPolicies[0].Name), aws.ToString(desc.SchedulingPolicies[1].Name)}
	slices.Sort(names)
	require.Equal(t, []string{"p2", "tagged"}, names)
	var tagged types.SchedulingPolicyDetail
	for _, sp := range desc.SchedulingPolicies {
		if aws.ToString(sp.Name) == "tagged" {
			tagged = sp
		}
	}
	require.Equal(t, policyARN("tagged"), aws.ToString(tagged.Arn))
	require.Equal(t, map[string]string{"team": "data"}, tagged.Tags)
	require.Nil(t, tagged.QuotaSharePolicy)
	fs := tagged.FairsharePolicy
	require.NotNil(t, fs)
	require.Equal(t, int32(600), aws.ToInt32(fs.ShareDecaySeconds))
	require.Equal(t, int32(10), aws.ToInt32(fs.ComputeReservation))
	require.Len(t, fs.ShareDistribution, 2)
	require.Equal(t, "B", aws.ToString(fs.ShareDistribution[1].ShareIdentifier))
	require.Equal(t, float32(0.5), aws.ToFloat32(fs.ShareDistribution[1].WeightFactor))
	desc, err = c.DescribeSchedulingPolicies(ctx, &batch.DescribeSchedulingPoliciesInput{Arns: []string{policyARN("nope")}})
	require.NoError(t, err)
	require.Empty(t, desc.SchedulingPolicies)
	_, err = c.DescribeSchedulingPolicies(ctx, &batch.DescribeSchedulingPoliciesInput{Arns: []string{}})
	requireClientException(t, err, "arns")

	// Update replaces the fair share policy; tags stay.
	_, err = c.UpdateSchedulingPolicy(ctx, &batch.UpdateSchedulingPolicyInput{
		Arn: aws.String(policyARN("tagged")),
		FairsharePolicy: &types.FairsharePolicy{
			ShareDecaySeconds: aws.Int32(3600),
			ShareDistribution: []types.ShareAttributes{{ShareIdentifier: aws.String("team*"), WeightFactor: aws.Float32(0.25)}},
		},
	})
	require.NoError(t, err)
	desc, err = c.DescribeSchedulingPolicies(ctx, &batch.DescribeSchedulingPoliciesInput{Arns: []string{policyARN("tagged")}})
	require.NoError(t, err)
	require.Len(t, desc.SchedulingPolicies, 1)
	fs = desc.SchedulingPolicies[0].FairsharePolicy
	require.Equal(t, int32(3600), aws.ToInt32(fs.ShareDecaySeconds))
	require.Nil(t, fs.ComputeReservation)
	require.Len(t, fs.ShareDistribution, 1)
	require.Equal(t, "team*", aws.ToString(fs.ShareDistribution[0].ShareIdentifier))
	require.Equal(t, map[string]string{"team": "data"}, desc.SchedulingPolicies[0].Tags)
	_, err = c.UpdateSchedulingPolicy(ctx, &batch.UpdateSchedulingPolicyInput{Arn: aws.String(policyARN("nope")), FairsharePolicy: &types.FairsharePolicy{}})
	requireClientException(t, err, "does not exist")
	_, err = c.UpdateSchedulingPolicy(ctx, &batch.UpdateSchedulingPolicyInput{
		Arn: aws.String(policyARN("tagged")), FairsharePolicy: &types.FairsharePolicy{ComputeReservation: aws.Int32(100)},
	})
	requireClientException(t, err, "computeReservation")

	// Tags through the tag API.
	_, err = c.TagResource(ctx, &batch.TagResourceInput{ResourceArn: aws.String(policyARN("tagged")), Tags: map[string]string{"env": "prod"}})
	require.NoError(t, err)
	tags, err := c.ListTagsForResource(ctx, &batch.ListTagsForResourceInput{ResourceArn: aws.String(policyARN("tagged"))})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"team": "data", "env": "prod"}, tags.Tags)
	_, err = c.UntagResource(ctx, &batch.UntagResourceInput{ResourceArn: aws.String(policyARN("tagged")), TagKeys: []string{"team"}})
	require.NoError(t, err)
	tags, err = c.ListTagsForResource(ctx, &batch.ListTagsForResourceInput{ResourceArn: aws.String(policyARN("tagged"))})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"env": "prod"}, tags.Tags)
	_, err = c.ListTagsForResource(ctx, &batch.ListTagsForResourceInput{ResourceArn: aws.String(policyARN("nope"))})
	requireClientException(t, err, "does not exist")

	// Delete.
	_, err = c.DeleteSchedulingPolicy(ctx, &batch.DeleteSchedulingPolicyInput{Arn: aws.String(policyARN("p3"))})
	require.NoError(t, err)
	_, err = c.DeleteSchedulingPolicy(ctx, &batch.DeleteSchedulingPolicyInput{Arn: aws.String(policyARN("p3"))})
	requireClientException(t, err, "does not exist")
	require.Equal(t, []string{policyARN("p1"), policyARN("p2"), policyARN("p4"), policyARN("p5"), policyARN("tagged")}, listPolicyARNs(t, c, 3))
}

func TestSchedulingPolicyBadInput(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	for name, tc := range map[string]struct {
		mod       func(*batch.CreateSchedulingPolicyInput)
		wantField string
	}{
		"weightFactor 0": {func(in *batch.CreateSchedulingPolicyInput) {
			in.FairsharePolicy.ShareDistribution[0].WeightFactor = aws.Float32(0)
		}, "weightFactor"},
		"computeReservation 100": {func(in *batch.CreateSchedulingPolicyInput) {
			in.FairsharePolicy.ComputeReservation = aws.Int32(100)
		}, "computeReservation"},
		"overlapping identifiers": {func(in *batch.CreateSchedulingPolicyInput) {
			in.FairsharePolicy.ShareDistribution = []types.ShareAttributes{
				{ShareIdentifier: aws.String("UserA1"), WeightFactor: aws.Float32(1)},
				{ShareIdentifier: aws.String("UserA*"), WeightFactor: aws.Float32(2)},
			}
		}, "shareIdentifier"},
		"duplicate identifiers": {func(in *batch.CreateSchedulingPolicyInput) {
			in.FairsharePolicy.ShareDistribution[1].ShareIdentifier = aws.String("A")
		}, "shareIdentifier"},
		"bad identifier": {func(in *batch.CreateSchedulingPolicyInput) {
			in.FairsharePolicy.ShareDistribution[0].ShareIdentifier = aws.String("team-a")
		}, "shareIdentifier"},
		"shareDecaySeconds 604801": {func(in *batch.CreateSchedulingPolicyInput) {
			in.FairsharePolicy.ShareDecaySeconds = aws.Int32(604801)
		}, "shareDecaySeconds"},
		"quotaSharePolicy": {func(in *batch.CreateSchedulingPolicyInput) {
			in.FairsharePolicy = nil
			in.QuotaSharePolicy = &types.QuotaSharePolicy{IdleResourceAssignmentStrategy: types.QuotaShareIdleResourceAssignmentStrategyFifo}
		}, "quotaSharePolicy"},
		"both kinds": {func(in *batch.CreateSchedulingPolicyInput) {
			in.QuotaSharePolicy = &types.QuotaSharePolicy{IdleResourceAssignmentStrategy: types.QuotaShareIdleResourceAssignmentStrategyFifo}
		}, "quotaSharePolicy"},
		"no policy": {func(in *batch.CreateSchedulingPolicyInput) { in.FairsharePolicy = nil }, "fairsharePolicy"},
		"bad name":  {func(in *batch.CreateSchedulingPolicyInput) { in.Name = aws.String("no spaces") }, "name"},
		"reserved tag": {func(in *batch.CreateSchedulingPolicyInput) {
			in.Tags = map[string]string{"aws:owner": "x"}
		}, "tags"},
	} {
		in := fairsharePolicyInput("bad")
		tc.mod(in)
		_, err := c.CreateSchedulingPolicy(ctx, in)
		requireClientException(t, err, tc.wantField)
		require.Empty(t, listPolicyARNs(t, c, 100), "%s: nothing is created", name)
	}
}

func TestFairShareQueue(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "fs", 2, "true")
	for _, name := range []string{"fair", "fair2"} {
		_, err := c.CreateSchedulingPolicy(ctx, fairsharePolicyInput(name))
		require.NoError(t, err)
	}

	// A queue with a policy, by ARN; an unknown policy is refused.
	in := queueInput("fsq", 1, env.CE)
	in.SchedulingPolicyArn = aws.String(policyARN("fair"))
	_, err := c.CreateJobQueue(ctx, in)
	require.NoError(t, err)
	bad := queueInput("fsq-bad", 1, env.CE)
	bad.SchedulingPolicyArn = aws.String(policyARN("missing"))
	_, err = c.CreateJobQueue(ctx, bad)
	requireClientException(t, err, "schedulingPolicyArn")
	qs, err := c.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{JobQueues: []string{"fsq-bad"}})
	require.NoError(t, err)
	require.Empty(t, qs.JobQueues, "nothing is created")
	qs, err = c.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{JobQueues: []string{"fsq", env.Queue}})
	require.NoError(t, err)
	require.Len(t, qs.JobQueues, 2)
	for _, q := range qs.JobQueues {
		if aws.ToString(q.JobQueueName) == "fsq" {
			require.Equal(t, policyARN("fair"), aws.ToString(q.SchedulingPolicyArn))
		} else {
			require.Nil(t, q.SchedulingPolicyArn)
		}
	}

	// A FIFO queue never gets a policy; a fair share queue's can be replaced.
	_, err = c.UpdateJobQueue(ctx, &batch.UpdateJobQueueInput{JobQueue: aws.String(env.Queue), SchedulingPolicyArn: aws.String(policyARN("fair"))})
	requireClientException(t, err, "schedulingPolicyArn")
	_, err = c.UpdateJobQueue(ctx, &batch.UpdateJobQueueInput{JobQueue: aws.String("fsq"), SchedulingPolicyArn: aws.String(policyARN("missing"))})
	requireClientException(t, err, "schedulingPolicyArn")
	_, err = c.UpdateJobQueue(ctx, &batch.UpdateJobQueueInput{JobQueue: aws.String("fsq"), SchedulingPolicyArn: aws.String(policyARN("fair2"))})
	require.NoError(t, err)
	qs, err = c.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{JobQueues: []string{"fsq"}})
	require.NoError(t, err)
	require.Equal(t, policyARN("fair2"), aws.ToString(qs.JobQueues[0].SchedulingPolicyArn))

	// A policy in use cannot be deleted; a detached one can.
	_, err = c.DeleteSchedulingPolicy(ctx, &batch.DeleteSchedulingPolicyInput{Arn: aws.String(policyARN("fair2"))})
	requireClientException(t, err, "fsq")
	_, err = c.DeleteSchedulingPolicy(ctx, &batch.DeleteSchedulingPolicyInput{Arn: aws.String(policyARN("fair"))})
	require.NoError(t, err)

	// Jobs with a share identifier run, whatever their share's weight.
	var ids []string
	for _, share := range []string{"A", "B", "teamX"} {
		ids = append(ids, submit(t, c, &batch.SubmitJobInput{
			JobName: aws.String("job-" + share), JobQueue: aws.String("fsq"), JobDefinition: aws.String(env.JobDefinition),
			ShareIdentifier: aws.String(share), SchedulingPriorityOverride: aws.Int32(5),
		}))
	}
	for i, id := range ids {
		j := wait(t, c, id, types.JobStatusSucceeded)
		require.Equal(t, []string{"A", "B", "teamX"}[i], aws.ToString(j.ShareIdentifier))
		require.Equal(t, int32(5), aws.ToInt32(j.SchedulingPriority))
	}
	// FIFO queues refuse a share identifier.
	_, err = c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("x"), JobQueue: aws.String(env.Queue),
		JobDefinition: aws.String(env.JobDefinition), ShareIdentifier: aws.String("A")})
	requireClientException(t, err, "shareIdentifier")

	// Deleting the queue frees its policy.
	_, err = c.UpdateJobQueue(ctx, &batch.UpdateJobQueueInput{JobQueue: aws.String("fsq"), State: types.JQStateDisabled})
	require.NoError(t, err)
	_, err = c.DeleteJobQueue(ctx, &batch.DeleteJobQueueInput{JobQueue: aws.String("fsq")})
	require.NoError(t, err)
	_, err = c.DeleteSchedulingPolicy(ctx, &batch.DeleteSchedulingPolicyInput{Arn: aws.String(policyARN("fair2"))})
	require.NoError(t, err)
}

// TestFairShareQueueRequiresShareIdentifier checks the SubmitJob rule of
// reference §5.12: a job sent to a fair share queue must name its share.
func TestFairShareQueueRequiresShareIdentifier(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "fsreq", 1, "true")
	_, err := c.CreateSchedulingPolicy(ctx, fairsharePolicyInput("fair"))
	require.NoError(t, err)
	in := queueInput("fsq", 1, env.CE)
	in.SchedulingPolicyArn = aws.String(policyARN("fair"))
	_, err = c.CreateJobQueue(ctx, in)
	require.NoError(t, err)
	_, err = c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("noshare"), JobQueue: aws.String("fsq"), JobDefinition: aws.String(env.JobDefinition)})
	requireClientException(t, err, "shareIdentifier")
}

// blockEnvironment fills a 1-vCPU environment with a job of env's queue that
// runs until the returned release func is called (like jobs_test.go's
// blockCE).
func blockEnvironment(t *testing.T, c *batch.Client, env gantrytest.Env) func() {
	t.Helper()
	gate := filepath.Join(t.TempDir(), "release")
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("blocker"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c", "while [ ! -f " + gate + " ]; do sleep 0.05; done"}}})
	wait(t, c, id, types.JobStatusRunning)
	return func() { require.NoError(t, os.WriteFile(gate, nil, 0o600)) }
}

func frontOfQueue(t *testing.T, c *batch.Client, queue string) (*types.FrontOfQueueDetail, []string) {
	t.Helper()
	out, err := c.GetJobQueueSnapshot(ctx, &batch.GetJobQueueSnapshotInput{JobQueue: aws.String(queue)})
	require.NoError(t, err)
	require.NotNil(t, out.FrontOfQueue)
	require.Nil(t, out.FrontOfQuotaShares)
	var arns []string
	for _, j := range out.FrontOfQueue.Jobs {
		arns = append(arns, aws.ToString(j.JobArn))
		require.Positive(t, aws.ToInt64(j.EarliestTimeAtPosition))
	}
	return out.FrontOfQueue, arns
}

func TestQueueSnapshot(t *testing.T) {
	t.Parallel()
	c := gantrytest.New(t).Batch
	env := gantrytest.Setup(t, c, "snap", 1, "true")
	release := blockEnvironment(t, c, env)
	defer release()

	front, arns := frontOfQueue(t, c, env.Queue)
	require.Empty(t, arns, "the running blocker is not in the front of the queue")
	require.Positive(t, aws.ToInt64(front.LastUpdatedAt))
	// The running blocker's vCPU, through the SDK's model.
	snap, err := c.GetJobQueueSnapshot(ctx, &batch.GetJobQueueSnapshotInput{JobQueue: aws.String(env.Queue)})
	require.NoError(t, err)
	require.NotNil(t, snap.QueueUtilization)
	require.Len(t, snap.QueueUtilization.TotalCapacityUsage, 1)
	require.Equal(t, "VCPU", aws.ToString(snap.QueueUtilization.TotalCapacityUsage[0].CapacityUnit))
	require.InDelta(t, 1.0, aws.ToFloat64(snap.QueueUtilization.TotalCapacityUsage[0].Quantity), 1e-9)
	require.Nil(t, snap.QueueUtilization.FairshareUtilization, "a FIFO queue has no share breakdown")
	require.Positive(t, aws.ToInt64(snap.QueueUtilization.LastUpdatedAt))

	// FIFO: submission order.
	var want []string
	for _, name := range []string{"first", "second", "third"} {
		id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String(name), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
			SchedulingPriorityOverride: aws.Int32(int32(len(want)))}) // ignored by FIFO
		wait(t, c, id, types.JobStatusRunnable)
		want = append(want, aws.ToString(describe(t, c, id).JobArn))
		time.Sleep(2 * time.Millisecond) // distinct createdAt
	}
	_, arns = frontOfQueue(t, c, "arn:aws:batch:us-east-1:000000000000:job-queue/"+env.Queue)
	require.Equal(t, want, arns)

	// Fair share on the same blocked environment: shares with no usage tie
	// and go by name; inside a share, the highest priority first.
	_, err = c.CreateSchedulingPolicy(ctx, fairsharePolicyInput("fair"))
	require.NoError(t, err)
	in := queueInput("snapfs", 1, env.CE)
	in.SchedulingPolicyArn = aws.String(policyARN("fair"))
	_, err = c.CreateJobQueue(ctx, in)
	require.NoError(t, err)
	jobs := map[string]string{}
	for _, j := range []struct {
		name, share string
		prio        int32
	}{{"a-low", "A", 1}, {"b", "B", 0}, {"a-high", "A", 9}} {
		id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String(j.name), JobQueue: aws.String("snapfs"), JobDefinition: aws.String(env.JobDefinition),
			ShareIdentifier: aws.String(j.share), SchedulingPriorityOverride: aws.Int32(j.prio)})
		wait(t, c, id, types.JobStatusRunnable)
		jobs[j.name] = aws.ToString(describe(t, c, id).JobArn)
	}
	_, arns = frontOfQueue(t, c, "snapfs")
	require.Equal(t, []string{jobs["a-high"], jobs["b"], jobs["a-low"]}, arns)
	snap, err = c.GetJobQueueSnapshot(ctx, &batch.GetJobQueueSnapshotInput{JobQueue: aws.String("snapfs")})
	require.NoError(t, err)
	require.NotNil(t, snap.QueueUtilization.FairshareUtilization)
	require.Zero(t, aws.ToInt64(snap.QueueUtilization.FairshareUtilization.ActiveShareCount), "no share of snapfs holds capacity")
	require.Empty(t, snap.QueueUtilization.FairshareUtilization.TopCapacityUtilization)

	_, err = c.GetJobQueueSnapshot(ctx, &batch.GetJobQueueSnapshotInput{JobQueue: aws.String("nope")})
	requireClientException(t, err, "jobQueue")
}
