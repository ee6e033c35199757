package control

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// CreateComputeEnvironmentOutput is the CreateComputeEnvironment response.
type CreateComputeEnvironmentOutput struct {
	ComputeEnvironmentName string `json:"computeEnvironmentName"`
	ComputeEnvironmentArn  string `json:"computeEnvironmentArn"`
}

// CreateComputeEnvironment creates a VALID compute environment. Its jobs run
// on the server's executor; maxvCpus caps the vCPUs they hold at once.
func (s *Service) CreateComputeEnvironment(ctx context.Context, in *gantry.CreateComputeEnvironmentInput) (*CreateComputeEnvironmentOutput, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	arn := s.cfg.ARN.ARN(gantry.ResourceComputeEnvironment, in.ComputeEnvironmentName)
	id := uuid.NewString()
	ce := &gantry.ComputeEnvironment{
		ComputeEnvironmentName:     in.ComputeEnvironmentName,
		ComputeEnvironmentArn:      arn,
		UnmanagedvCpus:             in.UnmanagedvCpus,
		Tags:                       in.Tags,
		Type:                       in.Type,
		State:                      cmpOr(in.State, gantry.StateEnabled),
		Status:                     gantry.StatusValid,
		StatusReason:               "ComputeEnvironment Healthy",
		ComputeResources:           in.ComputeResources,
		ServiceRole:                in.ServiceRole,
		EksConfiguration:           in.EksConfiguration,
		ContainerOrchestrationType: gantry.OrchestrationECS,
		UUID:                       id,
		Context:                    in.Context,
		UpdatePolicy:               &gantry.UpdatePolicy{TerminateJobsOnUpdate: ptr(false), JobExecutionTimeoutMinutes: ptr(int64(30))},
	}
	if in.EksConfiguration != nil {
		ce.ContainerOrchestrationType = gantry.OrchestrationEKS
	} else {
		ce.EcsClusterArn = fmt.Sprintf("arn:%s:ecs:%s:%s:cluster/%s_Batch_%s", gantry.Partition, s.cfg.ARN.Region, s.cfg.ARN.AccountID, in.ComputeEnvironmentName, id)
	}
	if cr := ce.ComputeResources; cr != nil && !ce.IsFargate() {
		cr.AllocationStrategy = cmpOr(cr.AllocationStrategy, "BEST_FIT")
		if cr.MinvCpus == nil {
			cr.MinvCpus = ptr(int32(0))
		}
		if cr.DesiredvCpus == nil {
			cr.DesiredvCpus = cr.MinvCpus
		}
	}
	err := s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		existing, err := tx.ComputeEnvironmentList(ctx, &store.ComputeEnvironmentListParams{})
		if err != nil {
			return err
		}
		if len(existing) >= MaxComputeEnvironments {
			return gantry.ClientErrorf("computeEnvironmentName: the limit of %d compute environments has been reached", MaxComputeEnvironments)
		}
		if err := tx.ComputeEnvironmentInsert(ctx, ce); err != nil {
			if errors.Is(err, gantry.ErrAlreadyExists) {
				return gantry.ClientErrorf("computeEnvironmentName: Object already exists: %s", in.ComputeEnvironmentName)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, internal("create compute environment", err)
	}
	s.cfg.Wake()
	return &CreateComputeEnvironmentOutput{ComputeEnvironmentName: ce.ComputeEnvironmentName, ComputeEnvironmentArn: arn}, nil
}

// UpdateComputeEnvironment changes state, capacity and roles. The type of an
// environment (MANAGED/UNMANAGED, EC2/FARGATE...) cannot change.
func (s *Service) UpdateComputeEnvironment(ctx context.Context, in *gantry.UpdateComputeEnvironmentInput) (*CreateComputeEnvironmentOutput, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	name, _, err := gantry.ResolveName("computeEnvironment", gantry.ResourceComputeEnvironment, in.ComputeEnvironment)
	if err != nil {
		return nil, err
	}
	var ce *gantry.ComputeEnvironment
	err = s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		ce, err = tx.ComputeEnvironmentGet(ctx, name)
		if err != nil {
			return notFound(err, "computeEnvironment", in.ComputeEnvironment)
		}
		if in.State != "" {
			ce.State = in.State
		}
		if in.ServiceRole != "" {
			ce.ServiceRole = in.ServiceRole
		}
		if in.UpdatePolicy != nil {
			ce.UpdatePolicy = in.UpdatePolicy
		}
		if in.Context != "" {
			ce.Context = in.Context
		}
		if in.UnmanagedvCpus != nil {
			if ce.Type != gantry.CETypeUnmanaged {
				return gantry.ClientErrorf("unmanagedvCpus: only valid for an UNMANAGED compute environment")
			}
			ce.UnmanagedvCpus = in.UnmanagedvCpus
		}
		if cr := in.ComputeResources; cr != nil {
			if ce.ComputeResources == nil {
				return gantry.ClientErrorf("computeResources: not allowed for an UNMANAGED compute environment")
			}
			if err := mergeComputeResources(ce.ComputeResources, cr); err != nil {
				return err
			}
		}
		return tx.ComputeEnvironmentUpdate(ctx, ce)
	})
	if err != nil {
		return nil, internal("update compute environment", err)
	}
	s.cfg.Wake()
	return &CreateComputeEnvironmentOutput{ComputeEnvironmentName: ce.ComputeEnvironmentName, ComputeEnvironmentArn: ce.ComputeEnvironmentArn}, nil
}

func mergeComputeResources(dst, src *gantry.ComputeResource) error {
	if src.Type != "" && src.Type != dst.Type {
		fargate := func(t string) bool { return t == gantry.CRTypeFargate || t == gantry.CRTypeFargateSpot }
		if fargate(src.Type) != fargate(dst.Type) {
			return gantry.ClientErrorf("computeResources.type: cannot change between EC2/SPOT and FARGATE/FARGATE_SPOT")
		}
		dst.Type = src.Type
	}
	if src.MaxvCpus != nil {
		dst.MaxvCpus = src.MaxvCpus
	}
	if src.MinvCpus != nil {
		dst.MinvCpus = src.MinvCpus
	}
	if src.DesiredvCpus != nil {
		dst.DesiredvCpus = src.DesiredvCpus
	}
	if dst.MinvCpus != nil && dst.MaxvCpus != nil && *dst.MinvCpus > *dst.MaxvCpus {
		return gantry.ClientErrorf("computeResources.minvCpus: must not exceed maxvCpus")
	}
	if src.AllocationStrategy != "" {
		if src.AllocationStrategy == "BEST_FIT" {
			return gantry.ClientErrorf("computeResources.allocationStrategy: BEST_FIT cannot be set on update")
		}
		dst.AllocationStrategy = src.AllocationStrategy
	}
	if src.Subnets != nil {
		dst.Subnets = src.Subnets
	}
	if src.SecurityGroupIDs != nil {
		dst.SecurityGroupIDs = src.SecurityGroupIDs
	}
	if src.InstanceTypes != nil {
		dst.InstanceTypes = src.InstanceTypes
	}
	if src.InstanceRole != "" {
		dst.InstanceRole = src.InstanceRole
	}
	if src.ImageID != "" {
		dst.ImageID = src.ImageID
	}
	if src.Ec2KeyPair != "" {
		dst.Ec2KeyPair = src.Ec2KeyPair
	}
	if src.Tags != nil {
		dst.Tags = src.Tags
	}
	if src.PlacementGroup != "" {
		dst.PlacementGroup = src.PlacementGroup
	}
	if src.BidPercentage != nil {
		dst.BidPercentage = src.BidPercentage
	}
	if src.LaunchTemplate != nil {
		dst.LaunchTemplate = src.LaunchTemplate
	}
	if src.Ec2Configuration != nil {
		dst.Ec2Configuration = src.Ec2Configuration
	}
	if src.ScalingPolicy != nil {
		dst.ScalingPolicy = src.ScalingPolicy
	}
	return nil
}

// DeleteComputeEnvironmentInput is the DeleteComputeEnvironment request.
type DeleteComputeEnvironmentInput struct {
	ComputeEnvironment string `json:"computeEnvironment"`
}

// DeleteComputeEnvironment deletes a DISABLED environment that no queue uses.
func (s *Service) DeleteComputeEnvironment(ctx context.Context, in *DeleteComputeEnvironmentInput) (*Empty, error) {
	if in.ComputeEnvironment == "" {
		return nil, gantry.ClientErrorf("computeEnvironment: required")
	}
	name, _, err := gantry.ResolveName("computeEnvironment", gantry.ResourceComputeEnvironment, in.ComputeEnvironment)
	if err != nil {
		return nil, err
	}
	err = s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		ce, err := tx.ComputeEnvironmentGet(ctx, name)
		if err != nil {
			return notFound(err, "computeEnvironment", in.ComputeEnvironment)
		}
		if ce.State != gantry.StateDisabled {
			return gantry.ClientErrorf("computeEnvironment: %s must be DISABLED before it can be deleted", name)
		}
		queues, err := tx.JobQueueList(ctx, &store.JobQueueListParams{})
		if err != nil {
			return err
		}
		for _, q := range queues {
			for _, o := range q.ComputeEnvironmentOrder {
				if o.ComputeEnvironment == ce.ComputeEnvironmentArn {
					return gantry.ClientErrorf("computeEnvironment: %s is still used by job queue %s", name, q.JobQueueName)
				}
			}
		}
		return tx.ComputeEnvironmentDelete(ctx, name)
	})
	if err != nil {
		return nil, internal("delete compute environment", err)
	}
	return &Empty{}, nil
}

// DescribeComputeEnvironmentsInput is the DescribeComputeEnvironments request.
type DescribeComputeEnvironmentsInput struct {
	ComputeEnvironments []string `json:"computeEnvironments,omitempty"`
	MaxResults          *int32   `json:"maxResults,omitempty"`
	NextToken           string   `json:"nextToken,omitempty"`
}

// DescribeComputeEnvironmentsOutput is the DescribeComputeEnvironments response.
type DescribeComputeEnvironmentsOutput struct {
	ComputeEnvironments []*gantry.ComputeEnvironment `json:"computeEnvironments"`
	NextToken           string                       `json:"nextToken,omitempty"`
}

// DescribeComputeEnvironments lists environments by name or ARN, or all of
// them a page at a time. Unknown names are omitted.
func (s *Service) DescribeComputeEnvironments(ctx context.Context, in *DescribeComputeEnvironmentsInput) (*DescribeComputeEnvironmentsOutput, error) {
	ces, next, err := describeNamed(namedPage{
		Field: "computeEnvironments", Type: gantry.ResourceComputeEnvironment,
		Refs: in.ComputeEnvironments, MaxResults: in.MaxResults, NextToken: in.NextToken,
	}, func(names []string, after string, limit int) ([]*gantry.ComputeEnvironment, error) {
		return s.cfg.Store.ComputeEnvironmentList(ctx, &store.ComputeEnvironmentListParams{Names: names, AfterName: after, Limit: limit})
	}, func(ce *gantry.ComputeEnvironment) string { return ce.ComputeEnvironmentName })
	if err != nil {
		return nil, internal("describe compute environments", err)
	}
	return &DescribeComputeEnvironmentsOutput{ComputeEnvironments: ces, NextToken: next}, nil
}

func ptr[T any](v T) *T { return &v }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
