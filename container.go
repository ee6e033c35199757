package gantry

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Resource requirement types.
const (
	ResourceVCPU   = "VCPU"
	ResourceMemory = "MEMORY"
	ResourceGPU    = "GPU"
)

// ContainerProperties is the container part of a job definition.
type ContainerProperties struct {
	Image                        string                `json:"image,omitempty"`
	Vcpus                        *int32                `json:"vcpus,omitempty"`
	Memory                       *int32                `json:"memory,omitempty"`
	Command                      []string              `json:"command,omitempty"`
	JobRoleArn                   string                `json:"jobRoleArn,omitempty"`
	ExecutionRoleArn             string                `json:"executionRoleArn,omitempty"`
	Volumes                      []Volume              `json:"volumes,omitempty"`
	Environment                  []KeyValuePair        `json:"environment,omitempty"`
	MountPoints                  []MountPoint          `json:"mountPoints,omitempty"`
	ReadonlyRootFilesystem       *bool                 `json:"readonlyRootFilesystem,omitempty"`
	Privileged                   *bool                 `json:"privileged,omitempty"`
	Ulimits                      []Ulimit              `json:"ulimits,omitempty"`
	User                         string                `json:"user,omitempty"`
	InstanceType                 string                `json:"instanceType,omitempty"`
	ResourceRequirements         []ResourceRequirement `json:"resourceRequirements,omitempty"`
	LinuxParameters              *LinuxParameters      `json:"linuxParameters,omitempty"`
	LogConfiguration             *LogConfiguration     `json:"logConfiguration,omitempty"`
	Secrets                      []Secret              `json:"secrets,omitempty"`
	NetworkConfiguration         json.RawMessage       `json:"networkConfiguration,omitempty"`
	FargatePlatformConfiguration json.RawMessage       `json:"fargatePlatformConfiguration,omitempty"`
	EphemeralStorage             json.RawMessage       `json:"ephemeralStorage,omitempty"`
	RuntimePlatform              json.RawMessage       `json:"runtimePlatform,omitempty"`
	RepositoryCredentials        json.RawMessage       `json:"repositoryCredentials,omitempty"`
	EnableExecuteCommand         *bool                 `json:"enableExecuteCommand,omitempty"`
}

// KeyValuePair is an environment variable.
type KeyValuePair struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
}

// ResourceRequirement is a VCPU, MEMORY or GPU requirement; values are strings.
type ResourceRequirement struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Volume is a job definition volume.
type Volume struct {
	Name                   string          `json:"name,omitempty"`
	Host                   *Host           `json:"host,omitempty"`
	EfsVolumeConfiguration json.RawMessage `json:"efsVolumeConfiguration,omitempty"`
}

// Host is a host path volume source.
type Host struct {
	SourcePath string `json:"sourcePath,omitempty"`
}

// MountPoint mounts a volume in the container.
type MountPoint struct {
	ContainerPath string `json:"containerPath,omitempty"`
	ReadOnly      *bool  `json:"readOnly,omitempty"`
	SourceVolume  string `json:"sourceVolume,omitempty"`
}

// Ulimit is a container ulimit.
type Ulimit struct {
	Name      string `json:"name"`
	SoftLimit int32  `json:"softLimit"`
	HardLimit int32  `json:"hardLimit"`
}

// LinuxParameters are Linux-specific container settings.
type LinuxParameters struct {
	Devices            []Device `json:"devices,omitempty"`
	InitProcessEnabled *bool    `json:"initProcessEnabled,omitempty"`
	SharedMemorySize   *int32   `json:"sharedMemorySize,omitempty"`
	Tmpfs              []Tmpfs  `json:"tmpfs,omitempty"`
	MaxSwap            *int32   `json:"maxSwap,omitempty"`
	Swappiness         *int32   `json:"swappiness,omitempty"`
}

// Device maps a host device into the container.
type Device struct {
	HostPath      string   `json:"hostPath"`
	ContainerPath string   `json:"containerPath,omitempty"`
	Permissions   []string `json:"permissions,omitempty"`
}

// Tmpfs is a tmpfs mount.
type Tmpfs struct {
	ContainerPath string   `json:"containerPath"`
	Size          int32    `json:"size"`
	MountOptions  []string `json:"mountOptions,omitempty"`
}

// LogConfiguration selects the log driver and its options.
type LogConfiguration struct {
	LogDriver     string            `json:"logDriver"`
	Options       map[string]string `json:"options,omitempty"`
	SecretOptions []Secret          `json:"secretOptions,omitempty"`
}

// Secret is a secret reference.
type Secret struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

// ContainerDetail is the container member of a JobDetail: the merged
// container spec plus what the latest attempt reported.
type ContainerDetail struct {
	ContainerProperties
	ExitCode             *int32 `json:"exitCode,omitempty"`
	Reason               string `json:"reason,omitempty"`
	TaskArn              string `json:"taskArn,omitempty"`
	ContainerInstanceArn string `json:"containerInstanceArn,omitempty"`
	LogStreamName        string `json:"logStreamName,omitempty"`
}

// ContainerOverrides is SubmitJob's containerOverrides.
type ContainerOverrides struct {
	Vcpus                *int32                `json:"vcpus,omitempty"`
	Memory               *int32                `json:"memory,omitempty"`
	Command              []string              `json:"command,omitempty"`
	InstanceType         string                `json:"instanceType,omitempty"`
	Environment          []KeyValuePair        `json:"environment,omitempty"`
	ResourceRequirements []ResourceRequirement `json:"resourceRequirements,omitempty"`
}

// Resources is what a job needs from a compute environment.
type Resources struct {
	VCPUs     float64
	MemoryMiB int64
	GPUs      int64
}

// Resources returns the container's vCPU, memory and GPU requirements, from
// resourceRequirements, falling back to the deprecated vcpus and memory.
func (c *ContainerProperties) Resources() Resources {
	var r Resources
	if c.Vcpus != nil {
		r.VCPUs = float64(*c.Vcpus)
	}
	if c.Memory != nil {
		r.MemoryMiB = int64(*c.Memory)
	}
	for _, rr := range c.ResourceRequirements {
		switch rr.Type {
		case ResourceVCPU:
			if v, err := strconv.ParseFloat(rr.Value, 64); err == nil {
				r.VCPUs = v
			}
		case ResourceMemory:
			if v, err := strconv.ParseInt(rr.Value, 10, 64); err == nil {
				r.MemoryMiB = v
			}
		case ResourceGPU:
			if v, err := strconv.ParseInt(rr.Value, 10, 64); err == nil {
				r.GPUs = v
			}
		}
	}
	return r
}

// validateResourceRequirements checks types and values. fargate selects the
// Fargate vCPU steps.
func validateResourceRequirements(field string, rrs []ResourceRequirement, vcpus, memory *int32, fargate bool) error {
	seen := map[string]bool{}
	for _, rr := range rrs {
		if seen[rr.Type] {
			return ClientErrorf("%s: type %s appears more than once", field, rr.Type)
		}
		seen[rr.Type] = true
		switch rr.Type {
		case ResourceVCPU:
			if vcpus != nil {
				return ClientErrorf("%s: VCPU cannot be combined with the deprecated vcpus field", field)
			}
			if fargate {
				v, err := strconv.ParseFloat(rr.Value, 64)
				if err != nil || !validFargateVCPU(v) {
					return ClientErrorf("%s: VCPU value %q is not a valid Fargate vCPU (0.25, 0.5, 1, 2, 4, 8 or 16)", field, rr.Value)
				}
			} else if n, err := strconv.ParseInt(rr.Value, 10, 32); err != nil || n < 1 {
				return ClientErrorf("%s: VCPU value %q must be a whole number of at least 1", field, rr.Value)
			}
		case ResourceMemory:
			if memory != nil {
				return ClientErrorf("%s: MEMORY cannot be combined with the deprecated memory field", field)
			}
			if n, err := strconv.ParseInt(rr.Value, 10, 32); err != nil || n < 4 {
				return ClientErrorf("%s: MEMORY value %q must be a whole number of MiB, at least 4", field, rr.Value)
			}
		case ResourceGPU:
			if fargate {
				return ClientErrorf("%s: GPU is not supported on Fargate", field)
			}
			if n, err := strconv.ParseInt(rr.Value, 10, 32); err != nil || n < 0 {
				return ClientErrorf("%s: GPU value %q must be a whole number", field, rr.Value)
			}
		default:
			return ClientErrorf("%s: type %q must be one of VCPU, MEMORY, GPU", field, rr.Type)
		}
	}
	if vcpus != nil && *vcpus < 1 {
		return ClientErrorf("vcpus: must be at least 1")
	}
	if memory != nil && *memory < 4 {
		return ClientErrorf("memory: must be at least 4 MiB")
	}
	return nil
}

func validFargateVCPU(v float64) bool {
	switch v {
	case 0.25, 0.5, 1, 2, 4, 8, 16:
		return true
	}
	return false
}

// ReservedEnvPrefix is the environment variable prefix reserved for Batch.
const ReservedEnvPrefix = "AWS_BATCH"

func validateEnvironment(field string, env []KeyValuePair) error {
	for _, kv := range env {
		if strings.HasPrefix(kv.Name, ReservedEnvPrefix) {
			return ClientErrorf("%s: variable %q uses the reserved prefix AWS_BATCH", field, kv.Name)
		}
		if kv.Name == "" {
			return ClientErrorf("%s: variable name is required", field)
		}
	}
	return nil
}
