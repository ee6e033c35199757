package gantry

import (
	"encoding/json"
	"strings"
)

// Job limits.
const (
	MaxDependencies      = 20
	MaxSubmitJobBytes    = 30 * 1024
	MaxOverrideChars     = 8192
	MinArraySize         = 2
	MaxArraySize         = 10000
	MaxDescribeJobs      = 100
	MaxJobNameLength     = 128
	ArrayDependencyNToN  = "N_TO_N"
	ArrayDependencySeq   = "SEQUENTIAL"
	HostTerminatedFormat = "Host EC2 (instance %s) terminated."
)

// Job is the JobDetail shape plus Gantry's bookkeeping (the `json:"-"` fields,
// stored in their own columns).
type Job struct {
	JobArn                       string                 `json:"jobArn,omitempty"`
	JobName                      string                 `json:"jobName"`
	JobID                        string                 `json:"jobId"`
	JobQueue                     string                 `json:"jobQueue"`
	Status                       JobStatus              `json:"status"`
	ShareIdentifier              string                 `json:"shareIdentifier,omitempty"`
	SchedulingPriority           *int32                 `json:"schedulingPriority,omitempty"`
	Attempts                     []AttemptDetail        `json:"attempts"`
	StatusReason                 string                 `json:"statusReason,omitempty"`
	CreatedAt                    int64                  `json:"createdAt,omitempty"`
	RetryStrategy                *RetryStrategy         `json:"retryStrategy,omitempty"`
	StartedAt                    int64                  `json:"startedAt,omitempty"`
	StoppedAt                    int64                  `json:"stoppedAt,omitempty"`
	DependsOn                    []JobDependency        `json:"dependsOn,omitempty"`
	JobDefinition                string                 `json:"jobDefinition"`
	Parameters                   map[string]string      `json:"parameters,omitempty"`
	Container                    *ContainerDetail       `json:"container,omitempty"`
	ArrayProperties              *ArrayPropertiesDetail `json:"arrayProperties,omitempty"`
	Timeout                      *JobTimeout            `json:"timeout,omitempty"`
	Tags                         map[string]string      `json:"tags,omitempty"`
	PropagateTags                *bool                  `json:"propagateTags,omitempty"`
	PlatformCapabilities         []string               `json:"platformCapabilities,omitempty"`
	IsCancelled                  *bool                  `json:"isCancelled,omitempty"`
	IsTerminated                 *bool                  `json:"isTerminated,omitempty"`
	ConsumableResourceProperties json.RawMessage        `json:"consumableResourceProperties,omitempty"`

	// ComputeEnvironment is the ARN of the environment the job was placed in
	// (set at STARTING).
	ComputeEnvironment string `json:"-"`
	// Resources is what the job holds while STARTING or RUNNING.
	Resources Resources `json:"-"`
	// TaskID identifies the current attempt to the executor (also the last
	// part of container.taskArn and of the log stream name).
	TaskID string `json:"-"`
	// ExecutorHandle is the executor's opaque record of the current attempt
	// (a process id, a container id), kept for recovery after a restart.
	ExecutorHandle string `json:"-"`
	// UpdatedAt is the time of the last change, in epoch milliseconds.
	UpdatedAt int64 `json:"-"`
	// ArrayParentID is the parent's id for an array child, "" otherwise.
	ArrayParentID string `json:"-"`
	// ArraySize is the array's size, on the parent and on every child.
	ArraySize int32 `json:"-"`
	// ArrayExpanded counts the children an array parent has materialized;
	// -1 until the parent's own dependencies are met.
	ArrayExpanded int32 `json:"-"`
	// Deps are the ids of the jobs this job waits for: the plain
	// dependencies of a job or array parent, the computed SEQUENTIAL or
	// N_TO_N dependency of an array child. Stored as indexed edges so that
	// a finishing job finds its dependents cheaply.
	Deps []string `json:"-"`
}

// IsArrayParent reports whether j is the parent of an array job.
func (j *Job) IsArrayParent() bool { return j.ArraySize > 0 && j.ArrayParentID == "" }

// IsArrayChild reports whether j is a child of an array job.
func (j *Job) IsArrayChild() bool { return j.ArrayParentID != "" }

// AttemptDetail records one finished attempt.
type AttemptDetail struct {
	Container    *AttemptContainerDetail `json:"container,omitempty"`
	StartedAt    int64                   `json:"startedAt,omitempty"`
	StoppedAt    int64                   `json:"stoppedAt,omitempty"`
	StatusReason string                  `json:"statusReason,omitempty"`
}

// AttemptContainerDetail is the container part of an attempt.
type AttemptContainerDetail struct {
	ContainerInstanceArn string `json:"containerInstanceArn,omitempty"`
	TaskArn              string `json:"taskArn,omitempty"`
	ExitCode             *int32 `json:"exitCode,omitempty"`
	Reason               string `json:"reason,omitempty"`
	LogStreamName        string `json:"logStreamName,omitempty"`
}

// JobDependency is one entry of dependsOn.
type JobDependency struct {
	JobID string `json:"jobId,omitempty"`
	Type  string `json:"type,omitempty"`
}

// ArrayProperties is SubmitJob's arrayProperties.
type ArrayProperties struct {
	Size *int32 `json:"size,omitempty"`
}

// ArrayPropertiesDetail is the arrayProperties member of a JobDetail.
type ArrayPropertiesDetail struct {
	StatusSummary              map[string]int32 `json:"statusSummary,omitempty"`
	StatusSummaryLastUpdatedAt int64            `json:"statusSummaryLastUpdatedAt,omitempty"`
	Size                       *int32           `json:"size,omitempty"`
	Index                      *int32           `json:"index,omitempty"`
}

// Attempt is the 1-based number of the current (or next) attempt.
func (j *Job) Attempt() int { return len(j.Attempts) + 1 }

// MaxAttempts is retryStrategy.attempts, or 1.
func (j *Job) MaxAttempts() int {
	if j.RetryStrategy != nil && j.RetryStrategy.Attempts != nil {
		return int(*j.RetryStrategy.Attempts)
	}
	return 1
}

// SubmitJobInput is the SubmitJob request.
type SubmitJobInput struct {
	JobName                    string              `json:"jobName"`
	JobQueue                   string              `json:"jobQueue"`
	ShareIdentifier            string              `json:"shareIdentifier,omitempty"`
	SchedulingPriorityOverride *int32              `json:"schedulingPriorityOverride,omitempty"`
	ArrayProperties            *ArrayProperties    `json:"arrayProperties,omitempty"`
	DependsOn                  []JobDependency     `json:"dependsOn,omitempty"`
	JobDefinition              string              `json:"jobDefinition"`
	Parameters                 map[string]string   `json:"parameters,omitempty"`
	ContainerOverrides         *ContainerOverrides `json:"containerOverrides,omitempty"`
	NodeOverrides              json.RawMessage     `json:"nodeOverrides,omitempty"`
	RetryStrategy              *RetryStrategy      `json:"retryStrategy,omitempty"`
	PropagateTags              *bool               `json:"propagateTags,omitempty"`
	Timeout                    *JobTimeout         `json:"timeout,omitempty"`
	Tags                       map[string]string   `json:"tags,omitempty"`
	EksPropertiesOverride      json.RawMessage     `json:"eksPropertiesOverride,omitempty"`
	EcsPropertiesOverride      json.RawMessage     `json:"ecsPropertiesOverride,omitempty"`
	ConsumableResourceOverride json.RawMessage     `json:"consumableResourcePropertiesOverride,omitempty"`
}

// Validate checks the request's own fields. References (queue, definition,
// dependencies) are resolved by the control layer.
func (in *SubmitJobInput) Validate() error {
	if !ValidJobName(in.JobName) {
		return ClientErrorf("jobName: must be 1-128 letters, digits, hyphens and underscores, starting with a letter or digit")
	}
	if in.JobQueue == "" {
		return ClientErrorf("jobQueue: required")
	}
	if in.JobDefinition == "" {
		return ClientErrorf("jobDefinition: required")
	}
	if in.SchedulingPriorityOverride != nil && (*in.SchedulingPriorityOverride < 0 || *in.SchedulingPriorityOverride > MaxSchedulingPriority) {
		return ClientErrorf("schedulingPriorityOverride: must be between 0 and %d", MaxSchedulingPriority)
	}
	if in.ArrayProperties != nil && in.ArrayProperties.Size != nil {
		if s := *in.ArrayProperties.Size; s < MinArraySize || s > MaxArraySize {
			return ClientErrorf("arrayProperties.size: must be between %d and %d", MinArraySize, MaxArraySize)
		}
	}
	if len(in.DependsOn) > MaxDependencies {
		return ClientErrorf("dependsOn: at most %d dependencies are allowed, got %d", MaxDependencies, len(in.DependsOn))
	}
	for _, d := range in.DependsOn {
		if d.Type != "" && d.Type != ArrayDependencyNToN && d.Type != ArrayDependencySeq {
			return ClientErrorf("dependsOn.type: must be N_TO_N or SEQUENTIAL")
		}
	}
	if len(in.NodeOverrides) > 0 {
		return ClientErrorf("nodeOverrides: multinode jobs are not supported by Gantry yet")
	}
	if len(in.EksPropertiesOverride) > 0 || len(in.EcsPropertiesOverride) > 0 {
		return ClientErrorf("ecsPropertiesOverride/eksPropertiesOverride: not supported by Gantry yet")
	}
	if o := in.ContainerOverrides; o != nil {
		if b, _ := json.Marshal(o); len(b) > MaxOverrideChars {
			return ClientErrorf("containerOverrides: must not exceed %d characters", MaxOverrideChars)
		}
		if err := validateResourceRequirements("containerOverrides.resourceRequirements", o.ResourceRequirements, nil, nil, false); err != nil {
			return err
		}
		if err := validateEnvironment("containerOverrides.environment", o.Environment); err != nil {
			return err
		}
		if o.Vcpus != nil && *o.Vcpus < 1 {
			return ClientErrorf("containerOverrides.vcpus: must be at least 1")
		}
		if o.Memory != nil && *o.Memory < 4 {
			return ClientErrorf("containerOverrides.memory: must be at least 4 MiB")
		}
	}
	if err := ValidateRetryStrategy(in.RetryStrategy); err != nil {
		return err
	}
	if err := ValidateTimeout(in.Timeout); err != nil {
		return err
	}
	return ValidateTags("tags", in.Tags)
}

// ValidJobName reports whether s is a valid job name: a valid resource name
// that starts with a letter or digit.
func ValidJobName(s string) bool {
	return ValidName(s) && s[0] != '-' && s[0] != '_'
}

// MergeContainer applies SubmitJob overrides and parameters to a definition's
// container properties (reference §5.7 and §5.8): a non-empty command
// replaces the whole command, environment merges by name, resource
// requirements replace per type, and Ref::name placeholders in the command are
// substituted from params. The result is a new value; def is not modified.
func MergeContainer(def *ContainerProperties, o *ContainerOverrides, params map[string]string) *ContainerProperties {
	c := *def
	c.Command = append([]string(nil), def.Command...)
	c.Environment = append([]KeyValuePair(nil), def.Environment...)
	c.ResourceRequirements = append([]ResourceRequirement(nil), def.ResourceRequirements...)
	if o != nil {
		if len(o.Command) > 0 {
			c.Command = append([]string(nil), o.Command...)
		}
		for _, kv := range o.Environment {
			replaced := false
			for i := range c.Environment {
				if c.Environment[i].Name == kv.Name {
					c.Environment[i].Value, replaced = kv.Value, true
				}
			}
			if !replaced {
				c.Environment = append(c.Environment, kv)
			}
		}
		for _, rr := range o.ResourceRequirements {
			replaced := false
			for i := range c.ResourceRequirements {
				if c.ResourceRequirements[i].Type == rr.Type {
					c.ResourceRequirements[i].Value, replaced = rr.Value, true
				}
			}
			if !replaced {
				c.ResourceRequirements = append(c.ResourceRequirements, rr)
			}
		}
		// Legacy vcpus/memory override the legacy fields only; an explicit
		// resource requirement of the same type still wins (Resources()).
		if o.Vcpus != nil {
			c.Vcpus = o.Vcpus
		}
		if o.Memory != nil {
			c.Memory = o.Memory
		}
		if o.InstanceType != "" {
			c.InstanceType = o.InstanceType
		}
	}
	for i, arg := range c.Command {
		c.Command[i] = SubstituteParameters(arg, params)
	}
	return &c
}

// SubstituteParameters replaces Ref::name tokens in s with params[name].
// Tokens may stand alone or be embedded ("--in=Ref::file"); the name is the
// run of letters, digits, '_' and '-' after the marker or, if no parameter
// has that name, the run without '-' ("Ref::a-Ref::b" joins two values).
// Unknown names are left as they are (reference §8, decision 1).
func SubstituteParameters(s string, params map[string]string) string {
	const marker = "Ref::"
	if len(params) == 0 || !strings.Contains(s, marker) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, marker)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		rest := s[i+len(marker):]
		long, short := 0, -1
		for long < len(rest) && isParamChar(rest[long]) {
			if rest[long] == '-' && short < 0 {
				short = long
			}
			long++
		}
		n := 0
		for _, k := range []int{long, short} {
			if v, ok := params[rest[:max(k, 0)]]; ok && k > 0 {
				b.WriteString(v)
				n = k
				break
			}
		}
		if n == 0 {
			b.WriteString(marker)
		}
		s = rest[n:]
	}
}

func isParamChar(c byte) bool {
	return c == '_' || c == '-' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// ListJobsInput is the ListJobs request.
type ListJobsInput struct {
	JobQueue       string          `json:"jobQueue,omitempty"`
	ArrayJobID     string          `json:"arrayJobId,omitempty"`
	MultiNodeJobID string          `json:"multiNodeJobId,omitempty"`
	JobStatus      JobStatus       `json:"jobStatus,omitempty"`
	MaxResults     *int32          `json:"maxResults,omitempty"`
	NextToken      string          `json:"nextToken,omitempty"`
	Filters        []KeyValuesPair `json:"filters,omitempty"`
}

// KeyValuesPair is a ListJobs filter.
type KeyValuesPair struct {
	Name   string   `json:"name,omitempty"`
	Values []string `json:"values,omitempty"`
}

// JobSummary is an entry of ListJobs' jobSummaryList.
type JobSummary struct {
	JobArn          string                 `json:"jobArn,omitempty"`
	JobID           string                 `json:"jobId"`
	JobName         string                 `json:"jobName"`
	CreatedAt       int64                  `json:"createdAt,omitempty"`
	ShareIdentifier string                 `json:"shareIdentifier,omitempty"`
	Status          JobStatus              `json:"status,omitempty"`
	StatusReason    string                 `json:"statusReason,omitempty"`
	StartedAt       int64                  `json:"startedAt,omitempty"`
	StoppedAt       int64                  `json:"stoppedAt,omitempty"`
	Container       *ContainerSummary      `json:"container,omitempty"`
	ArrayProperties *ArrayPropertiesDetail `json:"arrayProperties,omitempty"`
	JobDefinition   string                 `json:"jobDefinition,omitempty"`
	CapacityUsage   []CapacityUsage        `json:"capacityUsage,omitempty"`
}

// ContainerSummary is the container part of a JobSummary.
type ContainerSummary struct {
	ExitCode *int32 `json:"exitCode,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// CapacityUsage reports capacity a job holds.
type CapacityUsage struct {
	CapacityUnit string  `json:"capacityUnit,omitempty"`
	Quantity     float64 `json:"quantity,omitempty"`
}

// Summary returns the job's JobSummary.
func (j *Job) Summary() JobSummary {
	s := JobSummary{
		JobArn: j.JobArn, JobID: j.JobID, JobName: j.JobName, CreatedAt: j.CreatedAt,
		ShareIdentifier: j.ShareIdentifier, Status: j.Status, StatusReason: j.StatusReason,
		StartedAt: j.StartedAt, StoppedAt: j.StoppedAt, JobDefinition: j.JobDefinition,
		ArrayProperties: j.ArrayProperties,
	}
	if c := j.Container; c != nil && (c.ExitCode != nil || c.Reason != "") {
		s.Container = &ContainerSummary{ExitCode: c.ExitCode, Reason: c.Reason}
	}
	if j.Status.Active() && j.Resources.VCPUs > 0 {
		s.CapacityUsage = []CapacityUsage{{CapacityUnit: "VCPU", Quantity: j.Resources.VCPUs}}
	}
	return s
}
