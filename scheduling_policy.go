package gantry

import "encoding/json"

// SchedulingPolicy is the SchedulingPolicyDetail shape: a fair share policy
// that job queues attach by ARN.
type SchedulingPolicy struct {
	Name             string            `json:"name"`
	Arn              string            `json:"arn"`
	FairsharePolicy  *FairsharePolicy  `json:"fairsharePolicy,omitempty"`
	QuotaSharePolicy json.RawMessage   `json:"quotaSharePolicy,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
}

// FairsharePolicy orders a queue's jobs by share.
type FairsharePolicy struct {
	ShareDecaySeconds  *int32            `json:"shareDecaySeconds,omitempty"`
	ComputeReservation *int32            `json:"computeReservation,omitempty"`
	ShareDistribution  []ShareAttributes `json:"shareDistribution,omitempty"`
}

// ShareAttributes weighs one share identifier (or a prefix ending in '*').
type ShareAttributes struct {
	ShareIdentifier string   `json:"shareIdentifier"`
	WeightFactor    *float32 `json:"weightFactor,omitempty"`
}
