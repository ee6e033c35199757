package gantry

import (
	"encoding/json"
	"strings"
	"testing"
)

func f32(v float32) *float32 { return &v }
func i32(v int32) *int32     { return &v }

func TestCreateSchedulingPolicyInputValidate(t *testing.T) {
	t.Parallel()
	share := func(id string, w float32) ShareAttributes {
		return ShareAttributes{ShareIdentifier: id, WeightFactor: f32(w)}
	}
	fair := func(shares ...ShareAttributes) *FairsharePolicy {
		return &FairsharePolicy{ShareDecaySeconds: i32(3600), ComputeReservation: i32(10), ShareDistribution: shares}
	}
	tests := map[string]struct {
		in      CreateSchedulingPolicyInput
		wantErr string // substring; "" = valid
	}{
		"valid":                 {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(share("A", 1), share("B", 0.5), share("team*", 2))}},
		"empty fair share":      {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: &FairsharePolicy{}}},
		"weight bounds":         {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(share("A", 0.0001), share("B", 999.9999))}},
		"no weight is allowed":  {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(ShareAttributes{ShareIdentifier: "A"})}},
		"limits":                {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: &FairsharePolicy{ShareDecaySeconds: i32(604800), ComputeReservation: i32(99)}}},
		"255 chars and a star":  {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(share(strings.Repeat("a", 255)+"*", 1))}},
		"bad name":              {in: CreateSchedulingPolicyInput{Name: "a b", FairsharePolicy: fair()}, wantErr: "name:"},
		"missing name":          {in: CreateSchedulingPolicyInput{FairsharePolicy: fair()}, wantErr: "name:"},
		"neither kind":          {in: CreateSchedulingPolicyInput{Name: "p"}, wantErr: "fairsharePolicy: required"},
		"quota share":           {in: CreateSchedulingPolicyInput{Name: "p", QuotaSharePolicy: json.RawMessage(`{"idleResourceAssignmentStrategy":"FIFO"}`)}, wantErr: "quotaSharePolicy: quota share scheduling policies are not supported by Gantry yet"},
		"quota null is absent":  {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(), QuotaSharePolicy: json.RawMessage(`null`)}},
		"both kinds":            {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(), QuotaSharePolicy: json.RawMessage(`{}`)}, wantErr: "exactly one"},
		"decay negative":        {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: &FairsharePolicy{ShareDecaySeconds: i32(-1)}}, wantErr: "fairsharePolicy.shareDecaySeconds"},
		"decay too long":        {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: &FairsharePolicy{ShareDecaySeconds: i32(604801)}}, wantErr: "fairsharePolicy.shareDecaySeconds"},
		"reservation 100":       {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: &FairsharePolicy{ComputeReservation: i32(100)}}, wantErr: "fairsharePolicy.computeReservation"},
		"reservation negative":  {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: &FairsharePolicy{ComputeReservation: i32(-1)}}, wantErr: "fairsharePolicy.computeReservation"},
		"weight 0":              {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(share("A", 0))}, wantErr: "fairsharePolicy.shareDistribution.weightFactor"},
		"weight too small":      {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(share("A", 0.00009))}, wantErr: "weightFactor"},
		"weight 1000":           {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(share("A", 1000))}, wantErr: "weightFactor"},
		"identifier empty":      {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(share("", 1))}, wantErr: "fairsharePolicy.shareDistribution.shareIdentifier"},
		"identifier only star":  {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(share("*", 1))}, wantErr: "shareIdentifier"},
		"identifier dash":       {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(share("team-a", 1))}, wantErr: "shareIdentifier"},
		"identifier inner star": {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(share("a*b", 1))}, wantErr: "shareIdentifier"},
		"identifier too long":   {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(share(strings.Repeat("a", 256), 1))}, wantErr: "shareIdentifier"},
		"duplicate":             {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(share("A", 1), share("A", 2))}, wantErr: "appears twice"},
		"duplicate prefix":      {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(share("A*", 1), share("A*", 2))}, wantErr: "appears twice"},
		"prefix covers exact":   {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(share("UserA1", 1), share("UserA*", 2))}, wantErr: "overlaps"},
		"prefix covers itself":  {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(share("UserA", 1), share("UserA*", 2))}, wantErr: "overlaps"},
		"nested prefixes":       {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(share("User*", 1), share("UserA*", 2))}, wantErr: "overlaps"},
		"disjoint prefixes":     {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(share("UserA*", 1), share("UserB*", 2), share("User", 3))}},
		"bad tags":              {in: CreateSchedulingPolicyInput{Name: "p", FairsharePolicy: fair(), Tags: map[string]string{"aws:x": "y"}}, wantErr: "tags:"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := tc.in.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.wantErr)
			}
			if ErrorCode(err) != ErrCodeClient {
				t.Fatalf("code = %s, want ClientException", ErrorCode(err))
			}
		})
	}
}

func TestUpdateSchedulingPolicyInputValidate(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in      UpdateSchedulingPolicyInput
		wantErr string
	}{
		"valid":       {in: UpdateSchedulingPolicyInput{Arn: "p", FairsharePolicy: &FairsharePolicy{ShareDecaySeconds: i32(0)}}},
		"missing arn": {in: UpdateSchedulingPolicyInput{FairsharePolicy: &FairsharePolicy{}}, wantErr: "arn: required"},
		"no policy":   {in: UpdateSchedulingPolicyInput{Arn: "p"}, wantErr: "fairsharePolicy: required"},
		"quota":       {in: UpdateSchedulingPolicyInput{Arn: "p", QuotaSharePolicy: json.RawMessage(`{}`)}, wantErr: "quotaSharePolicy"},
		"bad weight":  {in: UpdateSchedulingPolicyInput{Arn: "p", FairsharePolicy: &FairsharePolicy{ShareDistribution: []ShareAttributes{{ShareIdentifier: "a", WeightFactor: f32(0)}}}}, wantErr: "weightFactor"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := tc.in.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestFairsharePolicyWeight(t *testing.T) {
	t.Parallel()
	p := &FairsharePolicy{ShareDistribution: []ShareAttributes{
		{ShareIdentifier: "teamA", WeightFactor: f32(0.5)},
		{ShareIdentifier: "team*", WeightFactor: f32(2)},
		{ShareIdentifier: "teamBlue*", WeightFactor: f32(0.25)},
		{ShareIdentifier: "nofactor"},
	}}
	tests := map[string]float64{
		"teamA":      0.5,  // exact
		"teamAx":     2,    // prefix team*
		"team":       2,    // a prefix matches its own stem
		"teamBlue1":  0.25, // longest prefix wins
		"teamBlue":   0.25,
		"teamBlu":    2,
		"other":      1, // unlisted
		"":           1,
		"nofactor":   1, // weightFactor omitted
		"TEAMA":      1, // case-sensitive
		"teamAprime": 2,
	}
	for share, want := range tests {
		if got := p.Weight(share); got != want {
			t.Errorf("Weight(%q) = %g, want %g", share, got, want)
		}
	}
	var nilPolicy *FairsharePolicy
	if got := nilPolicy.Weight("x"); got != 1 {
		t.Errorf("nil policy Weight = %g, want 1", got)
	}
}

func TestFairsharePolicyDecaySeconds(t *testing.T) {
	t.Parallel()
	var nilPolicy *FairsharePolicy
	for _, tc := range []struct {
		p    *FairsharePolicy
		want int32
	}{
		{nilPolicy, 600},
		{&FairsharePolicy{}, 600},
		{&FairsharePolicy{ShareDecaySeconds: i32(0)}, 600},
		{&FairsharePolicy{ShareDecaySeconds: i32(1)}, 1},
		{&FairsharePolicy{ShareDecaySeconds: i32(604800)}, 604800},
	} {
		if got := tc.p.DecaySeconds(); got != tc.want {
			t.Errorf("DecaySeconds(%+v) = %d, want %d", tc.p, got, tc.want)
		}
	}
}
