package scheduler

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantrybatch/gantry"
)

func res(v float64, mem int64) gantry.Resources { return gantry.Resources{VCPUs: v, MemoryMiB: mem} }

func TestComputePlan(t *testing.T) {
	t.Parallel()
	ce := func(arn string, maxV float64, used float64) CE {
		return CE{Arn: arn, Name: arn, Enabled: true, MaxVCPUs: maxV, MaxMemoryMiB: -1, MaxGPUs: 0, Used: res(used, 0)}
	}
	job := func(id string, v float64) JobRef { return JobRef{ID: id, Resources: res(v, 0)} }
	tests := map[string]struct {
		snap        Snapshot
		wantPlaced  []string // "job@ce"
		wantBlocked []string
	}{
		"fifo fills capacity then stops": {
			snap: Snapshot{
				CEs:    map[string]CE{"ce1": ce("ce1", 4, 0)},
				Queues: []Queue{{Arn: "q", Name: "q", Priority: 1, CEs: []string{"ce1"}, Jobs: []JobRef{job("a", 2), job("b", 2), job("c", 1)}}},
			},
			wantPlaced: []string{"a@ce1", "b@ce1"},
		},
		"head of line holds its queue": {
			snap: Snapshot{
				CEs:    map[string]CE{"ce1": ce("ce1", 4, 2)},
				Queues: []Queue{{Arn: "q", Name: "q", CEs: []string{"ce1"}, Jobs: []JobRef{job("big", 4), job("small", 1)}}},
			},
			wantPlaced: nil,
		},
		"spill over to the next environment in order": {
			snap: Snapshot{
				CEs:    map[string]CE{"ce1": ce("ce1", 2, 0), "ce2": ce("ce2", 8, 0)},
				Queues: []Queue{{Arn: "q", Name: "q", CEs: []string{"ce1", "ce2"}, Jobs: []JobRef{job("a", 2), job("b", 2), job("c", 2)}}},
			},
			wantPlaced: []string{"a@ce1", "b@ce2", "c@ce2"},
		},
		"higher priority queue first over a shared environment": {
			snap: Snapshot{
				CEs: map[string]CE{"ce1": ce("ce1", 2, 0)},
				Queues: []Queue{
					{Arn: "low", Name: "low", Priority: 1, CEs: []string{"ce1"}, Jobs: []JobRef{job("l1", 1), job("l2", 1)}},
					{Arn: "high", Name: "high", Priority: 10, CEs: []string{"ce1"}, Jobs: []JobRef{job("h1", 1)}},
				},
			},
			wantPlaced: []string{"h1@ce1", "l1@ce1"},
		},
		"disabled environment takes nothing": {
			snap: Snapshot{
				CEs:    map[string]CE{"ce1": {Arn: "ce1", Name: "ce1", MaxVCPUs: 4, MaxMemoryMiB: -1}},
				Queues: []Queue{{Arn: "q", Name: "q", CEs: []string{"ce1"}, Jobs: []JobRef{job("a", 1)}}},
			},
		},
		"job larger than every environment is blocked and skipped": {
			snap: Snapshot{
				CEs:    map[string]CE{"ce1": ce("ce1", 4, 0)},
				Queues: []Queue{{Arn: "q", Name: "q", CEs: []string{"ce1"}, Jobs: []JobRef{job("huge", 8), job("a", 1)}}},
			},
			wantPlaced:  []string{"a@ce1"},
			wantBlocked: []string{"huge:" + "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"},
		},
		"memory beyond every environment is a job requirement problem": {
			snap: Snapshot{
				CEs:    map[string]CE{"ce1": {Arn: "ce1", Name: "ce1", Enabled: true, MaxVCPUs: 4, MaxMemoryMiB: 1024}},
				Queues: []Queue{{Arn: "q", Name: "q", CEs: []string{"ce1"}, Jobs: []JobRef{{ID: "m", Resources: res(1, 2048)}}}},
			},
			wantBlocked: []string{"m:MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"},
		},
		"already blocked with the same reason is not reported again": {
			snap: func() Snapshot {
				s := Snapshot{CEs: map[string]CE{"ce1": ce("ce1", 4, 0)}}
				q := Queue{Arn: "q", Name: "q", CEs: []string{"ce1"}, Jobs: []JobRef{job("huge", 8)}}
				q.Jobs[0].StatusReason = neverFits(res(8, 0), q, map[string]*CE{"ce1": ptrCE(ce("ce1", 4, 0))})
				s.Queues = []Queue{q}
				return s
			}(),
		},
		"unlimited environment": {
			snap: Snapshot{
				CEs:    map[string]CE{"u": {Arn: "u", Name: "u", Enabled: true, MaxVCPUs: -1, MaxMemoryMiB: -1, MaxGPUs: -1}},
				Queues: []Queue{{Arn: "q", Name: "q", CEs: []string{"u"}, Jobs: []JobRef{job("a", 64), job("b", 64)}}},
			},
			wantPlaced: []string{"a@u", "b@u"},
		},
		"host capacity bounds every environment": {
			snap: Snapshot{
				Host: &CE{Name: "the Docker engine", MaxVCPUs: 2, MaxMemoryMiB: 1024, MaxGPUs: -1, Used: res(1, 0)},
				CEs:  map[string]CE{"ce1": ce("ce1", 8, 0), "ce2": ce("ce2", 8, 0)},
				Queues: []Queue{
					{Arn: "q1", Name: "q1", Priority: 2, CEs: []string{"ce1"}, Jobs: []JobRef{job("a", 1), job("b", 1)}},
					{Arn: "q2", Name: "q2", Priority: 1, CEs: []string{"ce2"}, Jobs: []JobRef{job("c", 1)}},
				},
			},
			wantPlaced: []string{"a@ce1"},
		},
		"job larger than the host is blocked": {
			snap: Snapshot{
				Host:   &CE{Name: "the Docker engine", MaxVCPUs: 2, MaxMemoryMiB: 1024, MaxGPUs: -1},
				CEs:    map[string]CE{"ce1": ce("ce1", 8, 0)},
				Queues: []Queue{{Arn: "q", Name: "q", CEs: []string{"ce1"}, Jobs: []JobRef{job("wide", 4), job("a", 1)}}},
			},
			wantPlaced:  []string{"a@ce1"},
			wantBlocked: []string{"wide:MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"},
		},
		"placement cap per cycle": {
			snap: Snapshot{
				MaxPlacements: 1,
				CEs:           map[string]CE{"ce1": ce("ce1", 4, 0)},
				Queues:        []Queue{{Arn: "q", Name: "q", CEs: []string{"ce1"}, Jobs: []JobRef{job("a", 1), job("b", 1)}}},
			},
			wantPlaced: []string{"a@ce1"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			before := tc.snap.CEs["ce1"]
			plan := ComputePlan(&tc.snap)
			var placed, blocked []string
			for _, p := range plan.Placements {
				placed = append(placed, p.JobID+"@"+p.CEArn)
			}
			for _, b := range plan.Blocked {
				code, _, _ := strings.Cut(b.Reason, " ")
				blocked = append(blocked, b.JobID+":"+code)
			}
			if diff := cmp.Diff(tc.wantPlaced, placed); diff != "" {
				t.Errorf("placements (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantBlocked, blocked); diff != "" {
				t.Errorf("blocked (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.snap.CEs["ce1"]); diff != "" {
				t.Errorf("ComputePlan modified its snapshot:\n%s", diff)
			}
		})
	}
}

func ptrCE(c CE) *CE { return &c }
