package gantry

import (
	"slices"
	"strconv"
)

// Compute environment enumerations.
const (
	CETypeManaged   = "MANAGED"
	CETypeUnmanaged = "UNMANAGED"

	StateEnabled  = "ENABLED"
	StateDisabled = "DISABLED"

	StatusCreating = "CREATING"
	StatusUpdating = "UPDATING"
	StatusDeleting = "DELETING"
	StatusDeleted  = "DELETED"
	StatusValid    = "VALID"
	StatusInvalid  = "INVALID"

	CRTypeEC2         = "EC2"
	CRTypeSpot        = "SPOT"
	CRTypeFargate     = "FARGATE"
	CRTypeFargateSpot = "FARGATE_SPOT"

	OrchestrationECS = "ECS"
	OrchestrationEKS = "EKS"
)

// TagMaxMemoryMiB is a resource tag on a compute environment that caps the
// memory (MiB) its jobs may hold at once. AWS derives memory from instance
// types; Gantry has no instances, so the operator states it. Absent means no
// memory cap beyond the executor's own.
const TagMaxMemoryMiB = "gantry:maxMemoryMiB"

var (
	crTypes              = []string{CRTypeEC2, CRTypeSpot, CRTypeFargate, CRTypeFargateSpot}
	allocationStrategies = []string{"BEST_FIT", "BEST_FIT_PROGRESSIVE", "SPOT_CAPACITY_OPTIMIZED", "SPOT_PRICE_CAPACITY_OPTIMIZED"}
)

// ComputeEnvironment is the ComputeEnvironmentDetail shape.
type ComputeEnvironment struct {
	ComputeEnvironmentName     string            `json:"computeEnvironmentName"`
	ComputeEnvironmentArn      string            `json:"computeEnvironmentArn"`
	UnmanagedvCpus             *int32            `json:"unmanagedvCpus,omitempty"`
	EcsClusterArn              string            `json:"ecsClusterArn,omitempty"`
	Tags                       map[string]string `json:"tags,omitempty"`
	Type                       string            `json:"type"`
	State                      string            `json:"state"`
	Status                     string            `json:"status"`
	StatusReason               string            `json:"statusReason,omitempty"`
	ComputeResources           *ComputeResource  `json:"computeResources,omitempty"`
	ServiceRole                string            `json:"serviceRole,omitempty"`
	UpdatePolicy               *UpdatePolicy     `json:"updatePolicy,omitempty"`
	EksConfiguration           *EksConfiguration `json:"eksConfiguration,omitempty"`
	ContainerOrchestrationType string            `json:"containerOrchestrationType,omitempty"`
	UUID                       string            `json:"uuid,omitempty"`
	Context                    string            `json:"context,omitempty"`
}

// ComputeResource describes a managed compute environment's capacity. Gantry
// uses Type, MaxvCpus and (for FARGATE) nothing else to place jobs; the EC2
// fields are accepted, validated as AWS does and stored for round trips.
type ComputeResource struct {
	Type                       string             `json:"type,omitempty"`
	AllocationStrategy         string             `json:"allocationStrategy,omitempty"`
	MinvCpus                   *int32             `json:"minvCpus,omitempty"`
	MaxvCpus                   *int32             `json:"maxvCpus,omitempty"`
	DesiredvCpus               *int32             `json:"desiredvCpus,omitempty"`
	InstanceTypes              []string           `json:"instanceTypes,omitempty"`
	ImageID                    string             `json:"imageId,omitempty"`
	Subnets                    []string           `json:"subnets,omitempty"`
	SecurityGroupIDs           []string           `json:"securityGroupIds,omitempty"`
	Ec2KeyPair                 string             `json:"ec2KeyPair,omitempty"`
	InstanceRole               string             `json:"instanceRole,omitempty"`
	Tags                       map[string]string  `json:"tags,omitempty"`
	PlacementGroup             string             `json:"placementGroup,omitempty"`
	BidPercentage              *int32             `json:"bidPercentage,omitempty"`
	SpotIamFleetRole           string             `json:"spotIamFleetRole,omitempty"`
	LaunchTemplate             *LaunchTemplate    `json:"launchTemplate,omitempty"`
	Ec2Configuration           []Ec2Configuration `json:"ec2Configuration,omitempty"`
	ScalingPolicy              *ScalingPolicy     `json:"scalingPolicy,omitempty"`
	UpdateToLatestImageVersion *bool              `json:"updateToLatestImageVersion,omitempty"`
}

// LaunchTemplate is LaunchTemplateSpecification.
type LaunchTemplate struct {
	LaunchTemplateID   string `json:"launchTemplateId,omitempty"`
	LaunchTemplateName string `json:"launchTemplateName,omitempty"`
	Version            string `json:"version,omitempty"`
	Overrides          []struct {
		LaunchTemplateID    string   `json:"launchTemplateId,omitempty"`
		LaunchTemplateName  string   `json:"launchTemplateName,omitempty"`
		Version             string   `json:"version,omitempty"`
		TargetInstanceTypes []string `json:"targetInstanceTypes,omitempty"`
		UserdataType        string   `json:"userdataType,omitempty"`
	} `json:"overrides,omitempty"`
	UserdataType string `json:"userdataType,omitempty"`
}

// Ec2Configuration selects the AMI family.
type Ec2Configuration struct {
	ImageType              string `json:"imageType"`
	ImageIDOverride        string `json:"imageIdOverride,omitempty"`
	ImageKubernetesVersion string `json:"imageKubernetesVersion,omitempty"`
}

// ScalingPolicy is ComputeScalingPolicy.
type ScalingPolicy struct {
	MinScaleDownDelayMinutes *int32 `json:"minScaleDownDelayMinutes,omitempty"`
}

// UpdatePolicy is the compute environment update policy.
type UpdatePolicy struct {
	TerminateJobsOnUpdate      *bool  `json:"terminateJobsOnUpdate,omitempty"`
	JobExecutionTimeoutMinutes *int64 `json:"jobExecutionTimeoutMinutes,omitempty"`
}

// EksConfiguration ties a compute environment to a Kubernetes cluster and
// namespace. A later executor maps such environments to Kubernetes.
type EksConfiguration struct {
	EksClusterArn       string `json:"eksClusterArn"`
	KubernetesNamespace string `json:"kubernetesNamespace"`
}

// IsFargate reports whether the environment runs Fargate capacity.
func (ce *ComputeEnvironment) IsFargate() bool {
	return ce.ComputeResources != nil && (ce.ComputeResources.Type == CRTypeFargate || ce.ComputeResources.Type == CRTypeFargateSpot)
}

// MaxVCPUs is the vCPU capacity cap: maxvCpus for managed environments,
// unmanagedvCpus (or unlimited, reported as -1) for unmanaged ones.
func (ce *ComputeEnvironment) MaxVCPUs() float64 {
	if ce.ComputeResources != nil && ce.ComputeResources.MaxvCpus != nil {
		return float64(*ce.ComputeResources.MaxvCpus)
	}
	if ce.UnmanagedvCpus != nil && *ce.UnmanagedvCpus > 0 {
		return float64(*ce.UnmanagedvCpus)
	}
	return -1
}

// MaxMemoryMiB is the memory cap from the TagMaxMemoryMiB tag, or -1 for none.
func (ce *ComputeEnvironment) MaxMemoryMiB() int64 {
	if v, ok := ce.Tags[TagMaxMemoryMiB]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return -1
}

// CreateComputeEnvironmentInput is the CreateComputeEnvironment request.
type CreateComputeEnvironmentInput struct {
	ComputeEnvironmentName string            `json:"computeEnvironmentName"`
	Type                   string            `json:"type"`
	State                  string            `json:"state,omitempty"`
	UnmanagedvCpus         *int32            `json:"unmanagedvCpus,omitempty"`
	ComputeResources       *ComputeResource  `json:"computeResources,omitempty"`
	ServiceRole            string            `json:"serviceRole,omitempty"`
	Tags                   map[string]string `json:"tags,omitempty"`
	EksConfiguration       *EksConfiguration `json:"eksConfiguration,omitempty"`
	Context                string            `json:"context,omitempty"`
}

// Validate checks the request as AWS does.
func (in *CreateComputeEnvironmentInput) Validate() error {
	if !ValidName(in.ComputeEnvironmentName) {
		return ClientErrorf("computeEnvironmentName: must be 1-128 letters, digits, hyphens and underscores")
	}
	switch in.Type {
	case CETypeManaged:
		if in.ComputeResources == nil {
			return ClientErrorf("computeResources: required for a MANAGED compute environment")
		}
		if in.UnmanagedvCpus != nil {
			return ClientErrorf("unmanagedvCpus: only valid for an UNMANAGED compute environment")
		}
		if err := in.ComputeResources.validate(false); err != nil {
			return err
		}
	case CETypeUnmanaged:
		if in.ComputeResources != nil {
			return ClientErrorf("computeResources: not allowed for an UNMANAGED compute environment")
		}
		if in.UnmanagedvCpus != nil && *in.UnmanagedvCpus < 0 {
			return ClientErrorf("unmanagedvCpus: must not be negative")
		}
	default:
		return ClientErrorf("type: must be one of MANAGED, UNMANAGED")
	}
	if err := validateState("state", in.State); err != nil {
		return err
	}
	if in.EksConfiguration != nil {
		if in.EksConfiguration.EksClusterArn == "" || in.EksConfiguration.KubernetesNamespace == "" {
			return ClientErrorf("eksConfiguration: eksClusterArn and kubernetesNamespace are required")
		}
		if in.ComputeResources != nil && in.ComputeResources.isFargate() {
			return ClientErrorf("eksConfiguration: EKS compute environments do not support Fargate")
		}
	}
	if err := ValidateTags("tags", in.Tags); err != nil {
		return err
	}
	return nil
}

func (cr *ComputeResource) isFargate() bool {
	return cr.Type == CRTypeFargate || cr.Type == CRTypeFargateSpot
}

// validate checks a compute resource. On update every field is optional.
func (cr *ComputeResource) validate(update bool) error {
	if !update || cr.Type != "" {
		if !slices.Contains(crTypes, cr.Type) {
			return ClientErrorf("computeResources.type: must be one of EC2, SPOT, FARGATE, FARGATE_SPOT")
		}
	}
	if !update {
		if cr.MaxvCpus == nil {
			return ClientErrorf("computeResources.maxvCpus: required")
		}
		if len(cr.Subnets) == 0 {
			return ClientErrorf("computeResources.subnets: at least one subnet is required")
		}
	}
	if cr.MaxvCpus != nil && *cr.MaxvCpus < 0 {
		return ClientErrorf("computeResources.maxvCpus: must not be negative")
	}
	if cr.MinvCpus != nil {
		if *cr.MinvCpus < 0 {
			return ClientErrorf("computeResources.minvCpus: must not be negative")
		}
		if cr.MaxvCpus != nil && *cr.MinvCpus > *cr.MaxvCpus {
			return ClientErrorf("computeResources.minvCpus: must not exceed maxvCpus")
		}
	}
	if cr.DesiredvCpus != nil && cr.MaxvCpus != nil && *cr.DesiredvCpus > *cr.MaxvCpus {
		return ClientErrorf("computeResources.desiredvCpus: must not exceed maxvCpus")
	}
	if cr.AllocationStrategy != "" && !slices.Contains(allocationStrategies, cr.AllocationStrategy) {
		return ClientErrorf("computeResources.allocationStrategy: must be one of %v", allocationStrategies)
	}
	if cr.BidPercentage != nil && (*cr.BidPercentage < 0 || *cr.BidPercentage > 100) {
		return ClientErrorf("computeResources.bidPercentage: must be between 0 and 100")
	}
	if cr.isFargate() {
		switch {
		case len(cr.SecurityGroupIDs) == 0 && !update:
			return ClientErrorf("computeResources.securityGroupIds: required for Fargate compute environments")
		case cr.MinvCpus != nil || cr.DesiredvCpus != nil || len(cr.InstanceTypes) > 0 || cr.ImageID != "" ||
			cr.Ec2KeyPair != "" || cr.InstanceRole != "" || cr.PlacementGroup != "" || cr.BidPercentage != nil ||
			cr.SpotIamFleetRole != "" || cr.LaunchTemplate != nil || len(cr.Ec2Configuration) > 0 || cr.AllocationStrategy != "":
			return ClientErrorf("computeResources: allocationStrategy, minvCpus, desiredvCpus, instanceTypes, imageId, ec2KeyPair, instanceRole, placementGroup, bidPercentage, spotIamFleetRole, launchTemplate and ec2Configuration are not supported for Fargate compute environments")
		}
	} else if !update && cr.Type != "" && cr.InstanceRole == "" {
		// AWS requires an instance role for EC2 and SPOT environments.
		return ClientErrorf("computeResources.instanceRole: required for EC2 and SPOT compute environments")
	}
	return nil
}

// UpdateComputeEnvironmentInput is the UpdateComputeEnvironment request.
type UpdateComputeEnvironmentInput struct {
	ComputeEnvironment string           `json:"computeEnvironment"`
	State              string           `json:"state,omitempty"`
	UnmanagedvCpus     *int32           `json:"unmanagedvCpus,omitempty"`
	ComputeResources   *ComputeResource `json:"computeResources,omitempty"`
	ServiceRole        string           `json:"serviceRole,omitempty"`
	UpdatePolicy       *UpdatePolicy    `json:"updatePolicy,omitempty"`
	Context            string           `json:"context,omitempty"`
}

// Validate checks the request's own fields; rules that depend on the stored
// environment are checked by the control layer.
func (in *UpdateComputeEnvironmentInput) Validate() error {
	if in.ComputeEnvironment == "" {
		return ClientErrorf("computeEnvironment: required")
	}
	if err := validateState("state", in.State); err != nil {
		return err
	}
	if in.ComputeResources != nil {
		if err := in.ComputeResources.validate(true); err != nil {
			return err
		}
	}
	if p := in.UpdatePolicy; p != nil && p.JobExecutionTimeoutMinutes != nil {
		if m := *p.JobExecutionTimeoutMinutes; m < 1 || m > 360 {
			return ClientErrorf("updatePolicy.jobExecutionTimeoutMinutes: must be between 1 and 360")
		}
	}
	return nil
}

func validateState(field, s string) error {
	if s != "" && s != StateEnabled && s != StateDisabled {
		return ClientErrorf("%s: must be one of ENABLED, DISABLED", field)
	}
	return nil
}
