package gantry

import (
	"encoding/json"
	"regexp"
	"strings"
)

// Fair share limits (reference §5.12).
const (
	// DefaultShareDecaySeconds is the usage window of a policy whose
	// shareDecaySeconds is 0 or absent.
	DefaultShareDecaySeconds = 600
	MaxShareDecaySeconds     = 604800
	MaxComputeReservation    = 99
	MinWeightFactor          = 0.0001
	MaxWeightFactor          = 999.9999
	// DefaultWeightFactor weighs share identifiers the policy does not list.
	DefaultWeightFactor = 1.0
	// MaxShareIdentifierLength bounds a share identifier, not counting the
	// trailing '*' of a prefix entry.
	MaxShareIdentifierLength = 255
)

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

// CreateSchedulingPolicyInput is the CreateSchedulingPolicy request.
type CreateSchedulingPolicyInput struct {
	Name             string            `json:"name"`
	FairsharePolicy  *FairsharePolicy  `json:"fairsharePolicy,omitempty"`
	QuotaSharePolicy json.RawMessage   `json:"quotaSharePolicy,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
}

// Validate checks the request: a valid name, exactly one kind of policy
// (only fair share is supported), the fair share ranges and the tags.
func (in *CreateSchedulingPolicyInput) Validate() error {
	if !ValidName(in.Name) {
		return ClientErrorf("name: must be 1-128 letters, digits, hyphens and underscores")
	}
	if err := validatePolicyKind(in.FairsharePolicy, in.QuotaSharePolicy); err != nil {
		return err
	}
	if err := in.FairsharePolicy.Validate("fairsharePolicy"); err != nil {
		return err
	}
	return ValidateTags("tags", in.Tags)
}

// UpdateSchedulingPolicyInput is the UpdateSchedulingPolicy request. The new
// fairsharePolicy replaces the old one as a whole.
type UpdateSchedulingPolicyInput struct {
	Arn              string           `json:"arn"`
	FairsharePolicy  *FairsharePolicy `json:"fairsharePolicy,omitempty"`
	QuotaSharePolicy json.RawMessage  `json:"quotaSharePolicy,omitempty"`
}

// Validate checks the request's own fields; the control layer checks that the
// policy exists and keeps its kind.
func (in *UpdateSchedulingPolicyInput) Validate() error {
	if in.Arn == "" {
		return ClientErrorf("arn: required")
	}
	if err := validatePolicyKind(in.FairsharePolicy, in.QuotaSharePolicy); err != nil {
		return err
	}
	return in.FairsharePolicy.Validate("fairsharePolicy")
}

// validatePolicyKind requires exactly one of the two policy kinds and rejects
// quota share policies, which Gantry does not implement.
func validatePolicyKind(fair *FairsharePolicy, quota json.RawMessage) error {
	hasQuota := len(quota) > 0 && string(quota) != "null"
	switch {
	case fair != nil && hasQuota:
		return ClientErrorf("fairsharePolicy, quotaSharePolicy: exactly one of them must be set")
	case hasQuota:
		return ClientErrorf("quotaSharePolicy: quota share scheduling policies are not supported by Gantry yet")
	case fair == nil:
		return ClientErrorf("fairsharePolicy: required (exactly one of fairsharePolicy or quotaSharePolicy must be set)")
	}
	return nil
}

var shareIdentifierRE = regexp.MustCompile(`^[A-Za-z0-9]{1,255}\*?$`)

// ValidShareIdentifierEntry reports whether s is a valid shareDistribution
// entry: 1-255 letters and digits, optionally followed by '*' (a prefix).
func ValidShareIdentifierEntry(s string) bool { return shareIdentifierRE.MatchString(s) }

// Validate checks a fair share policy; field prefixes the messages. A nil
// policy is valid.
func (p *FairsharePolicy) Validate(field string) error {
	if p == nil {
		return nil
	}
	if d := p.ShareDecaySeconds; d != nil && (*d < 0 || *d > MaxShareDecaySeconds) {
		return ClientErrorf("%s.shareDecaySeconds: must be between 0 and %d, got %d", field, MaxShareDecaySeconds, *d)
	}
	if cr := p.ComputeReservation; cr != nil && (*cr < 0 || *cr > MaxComputeReservation) {
		return ClientErrorf("%s.computeReservation: must be between 0 and %d, got %d", field, MaxComputeReservation, *cr)
	}
	seen := make(map[string]bool, len(p.ShareDistribution))
	for _, s := range p.ShareDistribution {
		id := s.ShareIdentifier
		if !ValidShareIdentifierEntry(id) {
			return ClientErrorf("%s.shareDistribution.shareIdentifier: %q must be 1-%d letters and digits, optionally followed by '*'",
				field, id, MaxShareIdentifierLength)
		}
		// Compare in float32, the type of the wire value, so that the
		// bounds themselves are accepted.
		if w := s.WeightFactor; w != nil && (*w < float32(MinWeightFactor) || *w > float32(MaxWeightFactor)) {
			return ClientErrorf("%s.shareDistribution.weightFactor: %g for %q must be between %g and %g",
				field, *w, id, MinWeightFactor, MaxWeightFactor)
		}
		if seen[id] {
			return ClientErrorf("%s.shareDistribution.shareIdentifier: %q appears twice", field, id)
		}
		seen[id] = true
	}
	for i, a := range p.ShareDistribution {
		stem, prefix := strings.CutSuffix(a.ShareIdentifier, "*")
		if !prefix {
			continue
		}
		for j, b := range p.ShareDistribution {
			if i == j {
				continue
			}
			if strings.HasPrefix(strings.TrimSuffix(b.ShareIdentifier, "*"), stem) {
				return ClientErrorf("%s.shareDistribution.shareIdentifier: %q overlaps %q; share identifiers must not overlap",
					field, a.ShareIdentifier, b.ShareIdentifier)
			}
		}
	}
	return nil
}

// Weight returns the weightFactor of a job's share identifier: the entry
// naming it exactly, else the longest prefix entry matching it, else 1.0.
// Lower weights get more capacity. A nil policy weighs everything 1.0.
func (p *FairsharePolicy) Weight(shareID string) float64 {
	if p == nil {
		return DefaultWeightFactor
	}
	best, bestLen := -1, -1
	for i, s := range p.ShareDistribution {
		stem, prefix := strings.CutSuffix(s.ShareIdentifier, "*")
		switch {
		case !prefix && stem == shareID:
			return weightOf(s)
		case prefix && strings.HasPrefix(shareID, stem) && len(stem) > bestLen:
			best, bestLen = i, len(stem)
		}
	}
	if best < 0 {
		return DefaultWeightFactor
	}
	return weightOf(p.ShareDistribution[best])
}

func weightOf(s ShareAttributes) float64 {
	if s.WeightFactor == nil || *s.WeightFactor <= 0 {
		return DefaultWeightFactor
	}
	return float64(*s.WeightFactor)
}

// DecaySeconds is the usage window: shareDecaySeconds, or 600 when it is 0
// or absent.
func (p *FairsharePolicy) DecaySeconds() int32 {
	if p == nil || p.ShareDecaySeconds == nil || *p.ShareDecaySeconds <= 0 {
		return DefaultShareDecaySeconds
	}
	return *p.ShareDecaySeconds
}

// Reservation is computeReservation (0 when absent).
func (p *FairsharePolicy) Reservation() int32 {
	if p == nil || p.ComputeReservation == nil {
		return 0
	}
	return *p.ComputeReservation
}
