package scheduler

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

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

// TestComputePlanReasons checks the statusReason of every RUNNABLE job the
// planner holds back (reasons.go), whole.
func TestComputePlanReasons(t *testing.T) {
	t.Parallel()
	ce := func(name string, maxV, used float64) CE {
		return CE{Arn: name, Name: name, Enabled: true, MaxVCPUs: maxV, MaxMemoryMiB: 4096, MaxGPUs: 0, Used: res(used, 0)}
	}
	job := func(id string, v float64, mem int64) JobRef { return JobRef{ID: id, Resources: res(v, mem)} }
	queue := func(name string, ces []string, jobs ...JobRef) Queue {
		return Queue{Arn: name, Name: name, CEs: ces, Jobs: jobs}
	}
	const capacity = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Gantry: waiting for capacity: "
	tests := map[string]struct {
		snap        Snapshot
		wantPlaced  []string
		wantBlocked map[string]string // job id -> reason code (first word)
		wantWaiting map[string]string // job id -> reason
	}{
		"head waits for vCPU, the rest behind it": {
			snap: Snapshot{
				CEs:    map[string]CE{"ce1": ce("ce1", 4, 3)},
				Queues: []Queue{queue("q", []string{"ce1"}, job("head", 2, 512), job("b", 1, 512), job("c", 1, 512))},
			},
			wantWaiting: map[string]string{
				"head": capacity + "needs 2 vCPU, 512 MiB; compute environment ce1 has 3 of 4 vCPU in use",
				"b":    "Gantry: waiting behind job head at the head of queue q (FIFO)",
				"c":    "Gantry: waiting behind job head at the head of queue q (FIFO)",
			},
		},
		"memory short": {
			snap: Snapshot{
				CEs:    map[string]CE{"ce1": {Arn: "ce1", Name: "ce1", Enabled: true, MaxVCPUs: 8, MaxMemoryMiB: 1024, Used: res(1, 768)}},
				Queues: []Queue{queue("q", []string{"ce1"}, job("m", 1, 512))},
			},
			wantWaiting: map[string]string{"m": capacity + "needs 1 vCPU, 512 MiB; compute environment ce1 has 768 of 1024 MiB memory in use"},
		},
		"vCPU and GPU short": {
			snap: Snapshot{
				CEs: map[string]CE{"gpu": {Arn: "gpu", Name: "gpu", Enabled: true, MaxVCPUs: 4, MaxMemoryMiB: -1, MaxGPUs: 2,
					Used: gantry.Resources{VCPUs: 3.5, GPUs: 2}}},
				Queues: []Queue{queue("q", []string{"gpu"}, JobRef{ID: "g", Resources: gantry.Resources{VCPUs: 1, MemoryMiB: 256, GPUs: 1}})},
			},
			wantWaiting: map[string]string{"g": capacity + "needs 1 vCPU, 256 MiB, 1 GPU; compute environment gpu has 3.5 of 4 vCPU and 2 of 2 GPU in use"},
		},
		"every environment of the queue is named": {
			snap: Snapshot{
				CEs: map[string]CE{
					"small": ce("small", 2, 0), "busy": ce("busy", 8, 7),
					"off": {Arn: "off", Name: "off", MaxVCPUs: 16, MaxMemoryMiB: -1},
				},
				Queues: []Queue{queue("q", []string{"small", "off", "busy"}, job("j", 4, 512))},
			},
			wantWaiting: map[string]string{"j": capacity + "needs 4 vCPU, 512 MiB; compute environment small allows at most 2 vCPU; " +
				"compute environment off is DISABLED; compute environment busy has 7 of 8 vCPU in use"},
		},
		"the Docker host is short": {
			snap: Snapshot{
				Host:   &CE{Name: "the Docker engine", MaxVCPUs: 4, MaxMemoryMiB: 8192, MaxGPUs: -1, Used: res(3, 1024)},
				CEs:    map[string]CE{"ce1": ce("ce1", 16, 3)},
				Queues: []Queue{queue("q", []string{"ce1"}, job("d", 2, 512))},
			},
			wantWaiting: map[string]string{"d": capacity + "needs 2 vCPU, 512 MiB; the Docker engine has 3 of 4 CPUs in use"},
		},
		"float noise is rounded away": {
			snap: Snapshot{
				CEs:    map[string]CE{"ce1": ce("ce1", 1, 0.1+0.2+0.4)},
				Queues: []Queue{queue("q", []string{"ce1"}, job("f", 0.5, 0))},
			},
			wantWaiting: map[string]string{"f": capacity + "needs 0.5 vCPU, 0 MiB; compute environment ce1 has 0.7 of 1 vCPU in use"},
		},
		"disabled queue dispatches nothing": {
			snap: Snapshot{
				CEs: map[string]CE{"ce1": ce("ce1", 4, 0)},
				Queues: []Queue{func() Queue {
					q := queue("off", []string{"ce1"}, job("a", 1, 0), job("huge", 8, 0), job("b", 1, 0))
					q.Disabled = true
					return q
				}()},
			},
			wantBlocked: map[string]string{"huge": "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"},
			wantWaiting: map[string]string{"a": "Gantry: queue off is DISABLED", "b": "Gantry: queue off is DISABLED"},
		},
		"disabled queue leaves the environment to the others": {
			snap: Snapshot{
				CEs: map[string]CE{"ce1": ce("ce1", 1, 0)},
				Queues: []Queue{
					func() Queue {
						q := queue("off", []string{"ce1"}, job("a", 1, 0))
						q.Priority, q.Disabled = 9, true
						return q
					}(),
					queue("on", []string{"ce1"}, job("b", 1, 0)),
				},
			},
			wantPlaced:  []string{"b"},
			wantWaiting: map[string]string{"a": "Gantry: queue off is DISABLED"},
		},
		"every environment disabled": {
			snap: Snapshot{
				CEs: map[string]CE{
					"ce1": {Arn: "ce1", Name: "ce1", MaxVCPUs: 4, MaxMemoryMiB: -1},
					"ce2": {Arn: "ce2", Name: "ce2", MaxVCPUs: 4, MaxMemoryMiB: -1},
				},
				Queues: []Queue{queue("q", []string{"ce1", "ce2", "gone"}, job("a", 1, 0), job("b", 1, 0))},
			},
			wantWaiting: map[string]string{
				"a": "Gantry: every compute environment of queue q is DISABLED",
				"b": "Gantry: every compute environment of queue q is DISABLED",
			},
		},
		"no environment": {
			snap: Snapshot{
				CEs:    map[string]CE{},
				Queues: []Queue{queue("q", []string{"gone"}, job("a", 1, 0))},
			},
			wantWaiting: map[string]string{"a": "Gantry: queue q has no compute environment"},
		},
		"a never-fitting job behind the head is blocked, not waiting": {
			snap: Snapshot{
				CEs:    map[string]CE{"ce1": ce("ce1", 4, 4)},
				Queues: []Queue{queue("q", []string{"ce1"}, job("head", 1, 0), job("huge", 8, 0), job("c", 1, 0))},
			},
			wantBlocked: map[string]string{"huge": "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"},
			wantWaiting: map[string]string{
				"head": capacity + "needs 1 vCPU, 0 MiB; compute environment ce1 has 4 of 4 vCPU in use",
				"c":    "Gantry: waiting behind job head at the head of queue q (FIFO)",
			},
		},
		"placed jobs and the lower priority queue": {
			snap: Snapshot{
				CEs: map[string]CE{"ce1": ce("ce1", 2, 0)},
				Queues: []Queue{
					func() Queue {
						q := queue("high", []string{"ce1"}, job("h1", 1, 0), job("h2", 2, 0))
						q.Priority = 9
						return q
					}(),
					queue("low", []string{"ce1"}, job("l1", 1, 0), job("l2", 1, 0)),
				},
			},
			wantPlaced: []string{"h1", "l1"},
			wantWaiting: map[string]string{
				"h2": capacity + "needs 2 vCPU, 0 MiB; compute environment ce1 has 1 of 2 vCPU in use",
				"l2": capacity + "needs 1 vCPU, 0 MiB; compute environment ce1 has 2 of 2 vCPU in use",
			},
		},
		"a job that already carries its reason is not reported": {
			snap: Snapshot{
				CEs: map[string]CE{"ce1": ce("ce1", 1, 1)},
				Queues: []Queue{queue("q", []string{"ce1"}, job("head", 1, 0),
					JobRef{ID: "b", Resources: res(1, 0), StatusReason: "Gantry: waiting behind job head at the head of queue q (FIFO)"})},
			},
			wantWaiting: map[string]string{"head": capacity + "needs 1 vCPU, 0 MiB; compute environment ce1 has 1 of 1 vCPU in use"},
		},
		"at most MaxWaiting per queue, counting unchanged ones": {
			snap: Snapshot{
				MaxWaiting: 3,
				CEs:        map[string]CE{"ce1": ce("ce1", 1, 1)},
				Queues: []Queue{queue("q", []string{"ce1"}, job("head", 1, 0),
					JobRef{ID: "b", Resources: res(1, 0), StatusReason: "Gantry: waiting behind job head at the head of queue q (FIFO)"},
					job("c", 1, 0), job("d", 1, 0), job("huge", 9, 0))},
			},
			wantWaiting: map[string]string{
				"head": capacity + "needs 1 vCPU, 0 MiB; compute environment ce1 has 1 of 1 vCPU in use",
				"c":    "Gantry: waiting behind job head at the head of queue q (FIFO)",
			},
		},
		"jobs the placement cap left out get no reason": {
			snap: Snapshot{
				MaxPlacements: 1,
				CEs:           map[string]CE{"ce1": ce("ce1", 4, 0)},
				Queues:        []Queue{queue("q", []string{"ce1"}, job("a", 1, 0), job("b", 1, 0))},
			},
			wantPlaced: []string{"a"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			before := cloneSnapshot(tc.snap)
			plan := ComputePlan(&tc.snap)
			var placed []string
			for _, p := range plan.Placements {
				placed = append(placed, p.JobID)
			}
			blocked, waiting := map[string]string{}, map[string]string{}
			for _, b := range plan.Blocked {
				code, _, _ := strings.Cut(b.Reason, " ")
				blocked[b.JobID] = code
			}
			queues := map[string]string{}
			for _, q := range tc.snap.Queues {
				for _, j := range q.Jobs {
					queues[j.ID] = q.Arn
				}
			}
			for _, w := range plan.Waiting {
				waiting[w.JobID] = w.Reason
				if w.QueueArn != queues[w.JobID] {
					t.Errorf("waiting job %s: queue %q, want %q", w.JobID, w.QueueArn, queues[w.JobID])
				}
			}
			if diff := cmp.Diff(tc.wantPlaced, placed); diff != "" {
				t.Errorf("placements (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(cmpOrEmpty(tc.wantBlocked), blocked); diff != "" {
				t.Errorf("blocked (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(cmpOrEmpty(tc.wantWaiting), waiting); diff != "" {
				t.Errorf("waiting (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.snap); diff != "" {
				t.Errorf("ComputePlan modified its snapshot:\n%s", diff)
			}
		})
	}
}

func cmpOrEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func TestReasonCode(t *testing.T) {
	t.Parallel()
	for reason, want := range map[string]string{
		"CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Gantry: waiting": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
		ReasonCEMaxResource:                         "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
		"MISCONFIGURATION:SERVICE_ROLE_PERMISSIONS": "MISCONFIGURATION:SERVICE_ROLE_PERMISSIONS",
		"Gantry: queue q is DISABLED":               "",
		"Essential container in task exited":        "",
		"":                                          "",
	} {
		if got := reasonCode(reason); got != want {
			t.Errorf("reasonCode(%q) = %q, want %q", reason, got, want)
		}
	}
	require.Equal(t, "Gantry: waiting for 1 dependency", DependencyReason(1))
	require.Equal(t, "Gantry: waiting for 3 dependencies", DependencyReason(3))
}
