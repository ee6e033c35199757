package gantry

import (
	"maps"
	"slices"
)

// Queue limits.
const (
	MaxComputeEnvironmentsPerQueue = 3
	MinJobQueuePriority            = 0
	MaxJobQueuePriority            = 1000
)

var jobQueueTypes = []string{"EKS", "ECS", "ECS_FARGATE", "SAGEMAKER_TRAINING"}

// JobQueue is the JobQueueDetail shape.
type JobQueue struct {
	JobQueueName             string                    `json:"jobQueueName"`
	JobQueueArn              string                    `json:"jobQueueArn"`
	State                    string                    `json:"state"`
	SchedulingPolicyArn      string                    `json:"schedulingPolicyArn,omitempty"`
	Status                   string                    `json:"status,omitempty"`
	StatusReason             string                    `json:"statusReason,omitempty"`
	Priority                 int32                     `json:"priority"`
	ComputeEnvironmentOrder  []ComputeEnvironmentOrder `json:"computeEnvironmentOrder"`
	ServiceEnvironmentOrder  []ServiceEnvironmentOrder `json:"serviceEnvironmentOrder,omitempty"`
	JobQueueType             string                    `json:"jobQueueType,omitempty"`
	Tags                     map[string]string         `json:"tags,omitempty"`
	JobStateTimeLimitActions []JobStateTimeLimitAction `json:"jobStateTimeLimitActions,omitempty"`
}

// Clone returns a deep copy of q.
func (q *JobQueue) Clone() *JobQueue {
	c := *q
	c.ComputeEnvironmentOrder = slices.Clone(q.ComputeEnvironmentOrder)
	c.ServiceEnvironmentOrder = slices.Clone(q.ServiceEnvironmentOrder)
	c.Tags = maps.Clone(q.Tags)
	c.JobStateTimeLimitActions = slices.Clone(q.JobStateTimeLimitActions)
	return &c
}

// ComputeEnvironmentOrder places a compute environment in a queue's order.
type ComputeEnvironmentOrder struct {
	Order              int32  `json:"order"`
	ComputeEnvironment string `json:"computeEnvironment"`
}

// ServiceEnvironmentOrder places a service environment in a queue's order.
type ServiceEnvironmentOrder struct {
	Order              int32  `json:"order"`
	ServiceEnvironment string `json:"serviceEnvironment"`
}

// JobStateTimeLimitAction cancels jobs stuck RUNNABLE with a given reason.
type JobStateTimeLimitAction struct {
	Reason         string `json:"reason"`
	State          string `json:"state"`
	MaxTimeSeconds int32  `json:"maxTimeSeconds"`
	Action         string `json:"action"`
}

// CreateJobQueueInput is the CreateJobQueue request.
type CreateJobQueueInput struct {
	JobQueueName             string                    `json:"jobQueueName"`
	State                    string                    `json:"state,omitempty"`
	SchedulingPolicyArn      string                    `json:"schedulingPolicyArn,omitempty"`
	Priority                 *int32                    `json:"priority,omitempty"`
	ComputeEnvironmentOrder  []ComputeEnvironmentOrder `json:"computeEnvironmentOrder,omitempty"`
	ServiceEnvironmentOrder  []ServiceEnvironmentOrder `json:"serviceEnvironmentOrder,omitempty"`
	JobQueueType             string                    `json:"jobQueueType,omitempty"`
	Tags                     map[string]string         `json:"tags,omitempty"`
	JobStateTimeLimitActions []JobStateTimeLimitAction `json:"jobStateTimeLimitActions,omitempty"`
}

// Validate checks the request's own fields; the control layer checks that the
// referenced compute environments exist and are compatible.
func (in *CreateJobQueueInput) Validate() error {
	if !ValidName(in.JobQueueName) {
		return ClientErrorf("jobQueueName: must be 1-128 letters, digits, hyphens and underscores")
	}
	if in.Priority == nil {
		return ClientErrorf("priority: required")
	}
	if err := validatePriority(*in.Priority); err != nil {
		return err
	}
	if err := validateState("state", in.State); err != nil {
		return err
	}
	if len(in.ServiceEnvironmentOrder) > 0 {
		return ClientErrorf("serviceEnvironmentOrder: service environments (SageMaker) are not supported by Gantry")
	}
	if len(in.ComputeEnvironmentOrder) == 0 {
		return ClientErrorf("computeEnvironmentOrder: at least one compute environment is required")
	}
	if err := validateCEOrder(in.ComputeEnvironmentOrder); err != nil {
		return err
	}
	if in.JobQueueType != "" && !slices.Contains(jobQueueTypes, in.JobQueueType) {
		return ClientErrorf("jobQueueType: must be one of %v", jobQueueTypes)
	}
	if err := validateTimeLimitActions(in.JobStateTimeLimitActions); err != nil {
		return err
	}
	return ValidateTags("tags", in.Tags)
}

func validatePriority(p int32) error {
	if p < MinJobQueuePriority || p > MaxJobQueuePriority {
		return ClientErrorf("priority: must be between %d and %d", MinJobQueuePriority, MaxJobQueuePriority)
	}
	return nil
}

func validateCEOrder(order []ComputeEnvironmentOrder) error {
	if len(order) > MaxComputeEnvironmentsPerQueue {
		return ClientErrorf("computeEnvironmentOrder: at most %d compute environments per queue, got %d", MaxComputeEnvironmentsPerQueue, len(order))
	}
	seenOrder := map[int32]bool{}
	for _, o := range order {
		if o.ComputeEnvironment == "" {
			return ClientErrorf("computeEnvironmentOrder.computeEnvironment: required")
		}
		if o.Order < 0 {
			return ClientErrorf("computeEnvironmentOrder.order: must not be negative")
		}
		if seenOrder[o.Order] {
			return ClientErrorf("computeEnvironmentOrder.order: %d appears twice; orders must be unique", o.Order)
		}
		seenOrder[o.Order] = true
	}
	return nil
}

func validateTimeLimitActions(actions []JobStateTimeLimitAction) error {
	for _, a := range actions {
		switch {
		case a.Reason == "":
			return ClientErrorf("jobStateTimeLimitActions.reason: required")
		case a.State != "RUNNABLE":
			return ClientErrorf("jobStateTimeLimitActions.state: must be RUNNABLE")
		case a.MaxTimeSeconds < 600 || a.MaxTimeSeconds > 86400:
			return ClientErrorf("jobStateTimeLimitActions.maxTimeSeconds: must be between 600 and 86400")
		case a.Action != "CANCEL" && a.Action != "TERMINATE":
			return ClientErrorf("jobStateTimeLimitActions.action: must be CANCEL or TERMINATE")
		}
	}
	return nil
}

// UpdateJobQueueInput is the UpdateJobQueue request.
type UpdateJobQueueInput struct {
	JobQueue                 string                    `json:"jobQueue"`
	State                    string                    `json:"state,omitempty"`
	SchedulingPolicyArn      string                    `json:"schedulingPolicyArn,omitempty"`
	Priority                 *int32                    `json:"priority,omitempty"`
	ComputeEnvironmentOrder  []ComputeEnvironmentOrder `json:"computeEnvironmentOrder,omitempty"`
	ServiceEnvironmentOrder  []ServiceEnvironmentOrder `json:"serviceEnvironmentOrder,omitempty"`
	JobStateTimeLimitActions []JobStateTimeLimitAction `json:"jobStateTimeLimitActions,omitempty"`
}

// Validate checks the request's own fields.
func (in *UpdateJobQueueInput) Validate() error {
	if in.JobQueue == "" {
		return ClientErrorf("jobQueue: required")
	}
	if in.Priority != nil {
		if err := validatePriority(*in.Priority); err != nil {
			return err
		}
	}
	if err := validateState("state", in.State); err != nil {
		return err
	}
	if len(in.ServiceEnvironmentOrder) > 0 {
		return ClientErrorf("serviceEnvironmentOrder: service environments (SageMaker) are not supported by Gantry")
	}
	if in.ComputeEnvironmentOrder != nil {
		if err := validateCEOrder(in.ComputeEnvironmentOrder); err != nil {
			return err
		}
	}
	return validateTimeLimitActions(in.JobStateTimeLimitActions)
}
