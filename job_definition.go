package gantry

import (
	"encoding/json"
	"regexp"
	"strings"
)

// Job definition enumerations and limits.
const (
	JobDefinitionTypeContainer = "container"
	JobDefinitionTypeMultinode = "multinode"

	JobDefinitionActive   = "ACTIVE"
	JobDefinitionInactive = "INACTIVE"

	PlatformEC2     = "EC2"
	PlatformFargate = "FARGATE"

	MaxJobDefinitionBytes  = 24 * 1024
	MinTimeoutSeconds      = 60
	MaxRetryAttempts       = 10
	MaxEvaluateOnExit      = 5
	MaxSchedulingPriority  = 9999
	MaxEvaluatePatternSize = 512
)

// JobDefinition is one revision of a job definition.
type JobDefinition struct {
	JobDefinitionName            string               `json:"jobDefinitionName"`
	JobDefinitionArn             string               `json:"jobDefinitionArn"`
	Revision                     int32                `json:"revision"`
	Status                       string               `json:"status,omitempty"`
	Type                         string               `json:"type"`
	SchedulingPriority           *int32               `json:"schedulingPriority,omitempty"`
	Parameters                   map[string]string    `json:"parameters,omitempty"`
	RetryStrategy                *RetryStrategy       `json:"retryStrategy,omitempty"`
	ContainerProperties          *ContainerProperties `json:"containerProperties,omitempty"`
	Timeout                      *JobTimeout          `json:"timeout,omitempty"`
	NodeProperties               json.RawMessage      `json:"nodeProperties,omitempty"`
	Tags                         map[string]string    `json:"tags,omitempty"`
	PropagateTags                *bool                `json:"propagateTags,omitempty"`
	PlatformCapabilities         []string             `json:"platformCapabilities,omitempty"`
	EcsProperties                json.RawMessage      `json:"ecsProperties,omitempty"`
	EksProperties                json.RawMessage      `json:"eksProperties,omitempty"`
	ContainerOrchestrationType   string               `json:"containerOrchestrationType,omitempty"`
	ConsumableResourceProperties json.RawMessage      `json:"consumableResourceProperties,omitempty"`
}

// RetryStrategy is a job's retry strategy.
type RetryStrategy struct {
	Attempts       *int32           `json:"attempts,omitempty"`
	EvaluateOnExit []EvaluateOnExit `json:"evaluateOnExit,omitempty"`
}

// EvaluateOnExit is one retry rule.
type EvaluateOnExit struct {
	OnStatusReason string `json:"onStatusReason,omitempty"`
	OnReason       string `json:"onReason,omitempty"`
	OnExitCode     string `json:"onExitCode,omitempty"`
	Action         string `json:"action"`
}

// JobTimeout is a per-attempt timeout.
type JobTimeout struct {
	AttemptDurationSeconds *int32 `json:"attemptDurationSeconds,omitempty"`
}

// RegisterJobDefinitionInput is the RegisterJobDefinition request.
type RegisterJobDefinitionInput struct {
	JobDefinitionName            string               `json:"jobDefinitionName"`
	Type                         string               `json:"type"`
	Parameters                   map[string]string    `json:"parameters,omitempty"`
	SchedulingPriority           *int32               `json:"schedulingPriority,omitempty"`
	ContainerProperties          *ContainerProperties `json:"containerProperties,omitempty"`
	NodeProperties               json.RawMessage      `json:"nodeProperties,omitempty"`
	RetryStrategy                *RetryStrategy       `json:"retryStrategy,omitempty"`
	PropagateTags                *bool                `json:"propagateTags,omitempty"`
	Timeout                      *JobTimeout          `json:"timeout,omitempty"`
	Tags                         map[string]string    `json:"tags,omitempty"`
	PlatformCapabilities         []string             `json:"platformCapabilities,omitempty"`
	EksProperties                json.RawMessage      `json:"eksProperties,omitempty"`
	EcsProperties                json.RawMessage      `json:"ecsProperties,omitempty"`
	ConsumableResourceProperties json.RawMessage      `json:"consumableResourceProperties,omitempty"`
}

// Validate checks the request as AWS does. Operator policy (privileged
// containers, host volumes) is checked by the control layer.
func (in *RegisterJobDefinitionInput) Validate() error {
	if !ValidName(in.JobDefinitionName) {
		return ClientErrorf("jobDefinitionName: must be 1-128 letters, digits, hyphens and underscores")
	}
	if b, _ := json.Marshal(in); len(b) > MaxJobDefinitionBytes {
		return ClientErrorf("job definition exceeds the maximum size of %d bytes", MaxJobDefinitionBytes)
	}
	fargate := false
	for _, p := range in.PlatformCapabilities {
		switch p {
		case PlatformFargate:
			fargate = true
		case PlatformEC2:
		default:
			return ClientErrorf("platformCapabilities: %q must be EC2 or FARGATE", p)
		}
	}
	switch in.Type {
	case JobDefinitionTypeContainer:
		n := 0
		for _, set := range []bool{in.ContainerProperties != nil, len(in.EcsProperties) > 0, len(in.EksProperties) > 0} {
			if set {
				n++
			}
		}
		if n != 1 {
			return ClientErrorf("containerProperties: exactly one of containerProperties, ecsProperties or eksProperties is required for a container job definition")
		}
		if len(in.NodeProperties) > 0 {
			return ClientErrorf("nodeProperties: only valid for multinode job definitions")
		}
		if len(in.EksProperties) > 0 && (len(in.PlatformCapabilities) > 0 || in.PropagateTags != nil) {
			return ClientErrorf("eksProperties: platformCapabilities and propagateTags are not supported with EKS properties")
		}
		if len(in.EcsProperties) > 0 || len(in.EksProperties) > 0 {
			return ClientErrorf("ecsProperties/eksProperties: not supported by Gantry yet; use containerProperties")
		}
	case JobDefinitionTypeMultinode:
		if fargate {
			return ClientErrorf("platformCapabilities: multinode job definitions are not supported on FARGATE")
		}
		if len(in.NodeProperties) == 0 {
			return ClientErrorf("nodeProperties: required for a multinode job definition")
		}
		return ClientErrorf("type: multinode job definitions are not supported by Gantry yet")
	default:
		return ClientErrorf("type: must be one of container, multinode")
	}
	if in.SchedulingPriority != nil && (*in.SchedulingPriority < 0 || *in.SchedulingPriority > MaxSchedulingPriority) {
		return ClientErrorf("schedulingPriority: must be between 0 and %d", MaxSchedulingPriority)
	}
	if err := in.ContainerProperties.validate("containerProperties", fargate); err != nil {
		return err
	}
	if err := ValidateRetryStrategy(in.RetryStrategy); err != nil {
		return err
	}
	if err := ValidateTimeout(in.Timeout); err != nil {
		return err
	}
	return ValidateTags("tags", in.Tags)
}

func (c *ContainerProperties) validate(field string, fargate bool) error {
	if c.Image == "" {
		return ClientErrorf("%s.image: required", field)
	}
	if fargate && (c.Vcpus != nil || c.Memory != nil) {
		return ClientErrorf("%s: Fargate job definitions must use resourceRequirements, not vcpus/memory", field)
	}
	if err := validateResourceRequirements(field+".resourceRequirements", c.ResourceRequirements, c.Vcpus, c.Memory, fargate); err != nil {
		return err
	}
	if err := validateEnvironment(field+".environment", c.Environment); err != nil {
		return err
	}
	for _, u := range c.Ulimits {
		if u.Name == "" || u.SoftLimit > u.HardLimit {
			return ClientErrorf("%s.ulimits: each ulimit needs a name and softLimit <= hardLimit", field)
		}
	}
	vols := map[string]bool{}
	for _, v := range c.Volumes {
		vols[v.Name] = true
	}
	for _, m := range c.MountPoints {
		if !vols[m.SourceVolume] {
			return ClientErrorf("%s.mountPoints: sourceVolume %q names no volume", field, m.SourceVolume)
		}
	}
	if c.LogConfiguration != nil && c.LogConfiguration.LogDriver == "" {
		return ClientErrorf("%s.logConfiguration.logDriver: required", field)
	}
	return nil
}

var (
	exitCodePatternRE = regexp.MustCompile(`^[0-9]*\*?$`)
	reasonPatternRE   = regexp.MustCompile(`^[A-Za-z0-9.:\s]*\*?$`)
)

// ValidateRetryStrategy checks attempts (1-10) and the evaluateOnExit rules.
func ValidateRetryStrategy(rs *RetryStrategy) error {
	if rs == nil {
		return nil
	}
	if rs.Attempts != nil && (*rs.Attempts < 1 || *rs.Attempts > MaxRetryAttempts) {
		return ClientErrorf("retryStrategy.attempts: must be between 1 and %d", MaxRetryAttempts)
	}
	if len(rs.EvaluateOnExit) > MaxEvaluateOnExit {
		return ClientErrorf("retryStrategy.evaluateOnExit: at most %d rules are allowed, got %d", MaxEvaluateOnExit, len(rs.EvaluateOnExit))
	}
	for _, e := range rs.EvaluateOnExit {
		switch strings.ToUpper(e.Action) {
		case "RETRY", "EXIT":
		default:
			return ClientErrorf("retryStrategy.evaluateOnExit.action: must be RETRY or EXIT")
		}
		for _, p := range []struct {
			field, value string
			re           *regexp.Regexp
		}{
			{"onExitCode", e.OnExitCode, exitCodePatternRE},
			{"onReason", e.OnReason, reasonPatternRE},
			{"onStatusReason", e.OnStatusReason, reasonPatternRE},
		} {
			if len(p.value) > MaxEvaluatePatternSize {
				return ClientErrorf("retryStrategy.evaluateOnExit.%s: at most %d characters", p.field, MaxEvaluatePatternSize)
			}
			if !p.re.MatchString(p.value) {
				return ClientErrorf("retryStrategy.evaluateOnExit.%s: %q is not a valid pattern (only a trailing * wildcard is allowed)", p.field, p.value)
			}
		}
	}
	return nil
}

// ValidateTimeout checks attemptDurationSeconds >= 60.
func ValidateTimeout(t *JobTimeout) error {
	if t != nil && t.AttemptDurationSeconds != nil && *t.AttemptDurationSeconds < MinTimeoutSeconds {
		return ClientErrorf("timeout.attemptDurationSeconds: must be at least %d", MinTimeoutSeconds)
	}
	return nil
}

// DescribeJobDefinitionsInput is the DescribeJobDefinitions request.
type DescribeJobDefinitionsInput struct {
	JobDefinitions    []string `json:"jobDefinitions,omitempty"`
	JobDefinitionName string   `json:"jobDefinitionName,omitempty"`
	Status            string   `json:"status,omitempty"`
	MaxResults        *int32   `json:"maxResults,omitempty"`
	NextToken         string   `json:"nextToken,omitempty"`
}
