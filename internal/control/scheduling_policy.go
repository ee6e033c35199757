package control

import (
	"context"
	"errors"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// MaxSchedulingPolicies is the number of scheduling policies an account may
// have (AWS's quota).
const MaxSchedulingPolicies = 50

// CreateSchedulingPolicyOutput is the CreateSchedulingPolicy response.
type CreateSchedulingPolicyOutput struct {
	Name string `json:"name"`
	Arn  string `json:"arn"`
}

// CreateSchedulingPolicy stores a fair share policy for queues to attach.
func (s *Service) CreateSchedulingPolicy(ctx context.Context, in *gantry.CreateSchedulingPolicyInput) (*CreateSchedulingPolicyOutput, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	p := &gantry.SchedulingPolicy{
		Name:            in.Name,
		Arn:             s.cfg.ARN.ARN(gantry.ResourceSchedulingPolicy, in.Name),
		FairsharePolicy: in.FairsharePolicy,
		Tags:            in.Tags,
	}
	err := s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		existing, err := tx.SchedulingPolicyList(ctx, &store.SchedulingPolicyListParams{Limit: MaxSchedulingPolicies})
		if err != nil {
			return err
		}
		if len(existing) >= MaxSchedulingPolicies {
			return gantry.ClientErrorf("name: the limit of %d scheduling policies has been reached", MaxSchedulingPolicies)
		}
		if err := tx.SchedulingPolicyInsert(ctx, p); err != nil {
			if errors.Is(err, gantry.ErrAlreadyExists) {
				return gantry.ClientErrorf("name: Object already exists: %s", in.Name)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, internal("create scheduling policy", err)
	}
	return &CreateSchedulingPolicyOutput{Name: p.Name, Arn: p.Arn}, nil
}

// UpdateSchedulingPolicy replaces a policy's fairsharePolicy. The kind of a
// policy never changes. Queues using it see the change on the next cycle.
func (s *Service) UpdateSchedulingPolicy(ctx context.Context, in *gantry.UpdateSchedulingPolicyInput) (*Empty, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	name, _, err := gantry.ResolveName("arn", gantry.ResourceSchedulingPolicy, in.Arn)
	if err != nil {
		return nil, err
	}
	err = s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		p, err := tx.SchedulingPolicyGet(ctx, name)
		if err != nil {
			return notFound(err, "arn", in.Arn)
		}
		if p.FairsharePolicy == nil {
			return gantry.ClientErrorf("fairsharePolicy: %s is a quota share policy; the kind of a scheduling policy cannot change", name)
		}
		p.FairsharePolicy = in.FairsharePolicy
		return tx.SchedulingPolicyUpdate(ctx, p)
	})
	if err != nil {
		return nil, internal("update scheduling policy", err)
	}
	s.cfg.Wake()
	return &Empty{}, nil
}

// DeleteSchedulingPolicyInput is the DeleteSchedulingPolicy request.
type DeleteSchedulingPolicyInput struct {
	Arn string `json:"arn"`
}

// DeleteSchedulingPolicy deletes a policy that no job queue uses.
func (s *Service) DeleteSchedulingPolicy(ctx context.Context, in *DeleteSchedulingPolicyInput) (*Empty, error) {
	if in.Arn == "" {
		return nil, gantry.ClientErrorf("arn: required")
	}
	name, _, err := gantry.ResolveName("arn", gantry.ResourceSchedulingPolicy, in.Arn)
	if err != nil {
		return nil, err
	}
	err = s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.SchedulingPolicyGet(ctx, name); err != nil {
			return notFound(err, "arn", in.Arn)
		}
		queues, err := tx.JobQueueList(ctx, &store.JobQueueListParams{})
		if err != nil {
			return err
		}
		for _, q := range queues {
			if policyName(q.SchedulingPolicyArn) == name {
				return gantry.ClientErrorf("arn: scheduling policy %s is used by job queue %s; attach another policy to the queue or delete the queue first", name, q.JobQueueName)
			}
		}
		return tx.SchedulingPolicyDelete(ctx, name)
	})
	if err != nil {
		return nil, internal("delete scheduling policy", err)
	}
	return &Empty{}, nil
}

// policyName is the name in a queue's schedulingPolicyArn, or "".
func policyName(arn string) string {
	if p, ok := gantry.ParseARN(arn); ok {
		return p.Name
	}
	return ""
}

// DescribeSchedulingPoliciesInput is the DescribeSchedulingPolicies request.
type DescribeSchedulingPoliciesInput struct {
	Arns []string `json:"arns"`
}

// DescribeSchedulingPoliciesOutput is the DescribeSchedulingPolicies response.
type DescribeSchedulingPoliciesOutput struct {
	SchedulingPolicies []*gantry.SchedulingPolicy `json:"schedulingPolicies"`
}

// DescribeSchedulingPolicies returns the policies named by ARN (or name);
// unknown ones are left out.
func (s *Service) DescribeSchedulingPolicies(ctx context.Context, in *DescribeSchedulingPoliciesInput) (*DescribeSchedulingPoliciesOutput, error) {
	if len(in.Arns) == 0 {
		return nil, gantry.ClientErrorf("arns: required")
	}
	if len(in.Arns) > 100 {
		return nil, gantry.ClientErrorf("arns: at most 100 ARNs are allowed")
	}
	params := &store.SchedulingPolicyListParams{}
	for _, a := range in.Arns {
		name, _, err := gantry.ResolveName("arns", gantry.ResourceSchedulingPolicy, a)
		if err != nil {
			return nil, err
		}
		params.Names = append(params.Names, name)
	}
	ps, err := s.cfg.Store.SchedulingPolicyList(ctx, params)
	if err != nil {
		return nil, internal("describe scheduling policies", err)
	}
	if ps == nil {
		ps = []*gantry.SchedulingPolicy{}
	}
	return &DescribeSchedulingPoliciesOutput{SchedulingPolicies: ps}, nil
}

// ListSchedulingPoliciesInput is the ListSchedulingPolicies request.
type ListSchedulingPoliciesInput struct {
	MaxResults *int32 `json:"maxResults,omitempty"`
	NextToken  string `json:"nextToken,omitempty"`
}

// SchedulingPolicyListing is one entry of ListSchedulingPolicies.
type SchedulingPolicyListing struct {
	Arn string `json:"arn"`
}

// ListSchedulingPoliciesOutput is the ListSchedulingPolicies response.
type ListSchedulingPoliciesOutput struct {
	SchedulingPolicies []SchedulingPolicyListing `json:"schedulingPolicies"`
	NextToken          string                    `json:"nextToken,omitempty"`
}

// ListSchedulingPolicies lists the ARNs of all policies, by name, a page at a
// time.
func (s *Service) ListSchedulingPolicies(ctx context.Context, in *ListSchedulingPoliciesInput) (*ListSchedulingPoliciesOutput, error) {
	limit, err := pageSize(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	params := &store.SchedulingPolicyListParams{Limit: limit + 1}
	if in.NextToken != "" {
		if err := decodeToken(in.NextToken, &params.AfterName); err != nil {
			return nil, err
		}
	}
	ps, err := s.cfg.Store.SchedulingPolicyList(ctx, params)
	if err != nil {
		return nil, internal("list scheduling policies", err)
	}
	out := &ListSchedulingPoliciesOutput{SchedulingPolicies: []SchedulingPolicyListing{}}
	if len(ps) > limit {
		ps = ps[:limit]
		out.NextToken = encodeToken(ps[limit-1].Name)
	}
	for _, p := range ps {
		out.SchedulingPolicies = append(out.SchedulingPolicies, SchedulingPolicyListing{Arn: p.Arn})
	}
	return out, nil
}

// resolveSchedulingPolicy returns the ARN of the policy that a queue's
// schedulingPolicyArn (an ARN or a name) names, or a ClientException if it
// does not exist.
func resolveSchedulingPolicy(ctx context.Context, tx store.Tx, nameOrARN string) (string, error) {
	name, _, err := gantry.ResolveName("schedulingPolicyArn", gantry.ResourceSchedulingPolicy, nameOrARN)
	if err != nil {
		return "", err
	}
	p, err := tx.SchedulingPolicyGet(ctx, name)
	if err != nil {
		return "", notFound(err, "schedulingPolicyArn", nameOrARN)
	}
	return p.Arn, nil
}

// GetJobQueueSnapshotInput is the GetJobQueueSnapshot request. The scheduler
// answers it (it knows the dispatch order); see httpapi.Server.QueueSnapshots.
type GetJobQueueSnapshotInput struct {
	JobQueue string `json:"jobQueue"`
}

// GetJobQueueSnapshotOutput is the GetJobQueueSnapshot response.
// frontOfQuotaShares is not reported (Gantry has no quota shares).
type GetJobQueueSnapshotOutput struct {
	FrontOfQueue     *FrontOfQueueDetail     `json:"frontOfQueue,omitempty"`
	QueueUtilization *QueueUtilizationDetail `json:"queueUtilization,omitempty"`
}

// QueueUtilizationDetail is the capacity a queue's STARTING and RUNNING jobs
// hold, and for a fair share queue its breakdown by share.
type QueueUtilizationDetail struct {
	TotalCapacityUsage   []CapacityUsage             `json:"totalCapacityUsage"`
	FairshareUtilization *FairshareUtilizationDetail `json:"fairshareUtilization,omitempty"`
	LastUpdatedAt        int64                       `json:"lastUpdatedAt,omitempty"`
}

// CapacityUsage is a quantity of one capacity unit (VCPU).
type CapacityUsage struct {
	CapacityUnit string  `json:"capacityUnit"`
	Quantity     float64 `json:"quantity"`
}

// FairshareUtilizationDetail counts the shares holding capacity and lists
// the 20 holding the most.
type FairshareUtilizationDetail struct {
	ActiveShareCount       int64                `json:"activeShareCount"`
	TopCapacityUtilization []ShareCapacityUsage `json:"topCapacityUtilization"`
}

// ShareCapacityUsage is the capacity one share holds.
type ShareCapacityUsage struct {
	ShareIdentifier string          `json:"shareIdentifier"`
	CapacityUsage   []CapacityUsage `json:"capacityUsage"`
}

// FrontOfQueueDetail is the first RUNNABLE jobs of a queue in dispatch order.
type FrontOfQueueDetail struct {
	Jobs          []FrontOfQueueJobSummary `json:"jobs"`
	LastUpdatedAt int64                    `json:"lastUpdatedAt,omitempty"`
}

// FrontOfQueueJobSummary is one job of FrontOfQueueDetail.
type FrontOfQueueJobSummary struct {
	JobArn                 string `json:"jobArn"`
	EarliestTimeAtPosition int64  `json:"earliestTimeAtPosition,omitempty"`
}
