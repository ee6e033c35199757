package scheduler

import (
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/control"
	"github.com/gantrybatch/gantry/store"
	"github.com/gantrybatch/gantry/store/storesqlite"
	"github.com/gantrybatch/gantry/store/storetest"
)

func ptrTo[T any](v T) *T { return &v }

// fairPolicy builds a fair share policy from "identifier=weight" pairs.
func fairPolicy(cr int32, weights ...string) *gantry.FairsharePolicy {
	p := &gantry.FairsharePolicy{ComputeReservation: ptrTo(cr)}
	for _, w := range weights {
		id, f, _ := strings.Cut(w, "=")
		v, err := strconv.ParseFloat(f, 32)
		if err != nil {
			panic(err)
		}
		p.ShareDistribution = append(p.ShareDistribution, gantry.ShareAttributes{ShareIdentifier: id, WeightFactor: ptrTo(float32(v))})
	}
	return p
}

// shareJobs returns n 1-vCPU jobs of a share named share-1..share-n, created
// at base+i.
func shareJobs(share string, n int, base int64) []JobRef {
	var out []JobRef
	for i := 1; i <= n; i++ {
		out = append(out, JobRef{ID: fmt.Sprintf("%s-%d", share, i), Resources: res(1, 0), ShareIdentifier: share, CreatedAt: base + int64(i)})
	}
	return out
}

func TestComputePlanFairShare(t *testing.T) {
	t.Parallel()
	ce := func(maxV, used float64) map[string]CE {
		return map[string]CE{"ce1": {Arn: "ce1", Name: "ce1", Enabled: true, MaxVCPUs: maxV, MaxMemoryMiB: -1, Used: res(used, 0)}}
	}
	fsQueue := func(fs *FairShare, jobs ...[]JobRef) Queue {
		return Queue{Arn: "q", Name: "q", CEs: []string{"ce1"}, FairShare: fs, Jobs: slices.Concat(jobs...)}
	}
	prio := func(id string, p int32, created int64) JobRef {
		return JobRef{ID: id, Resources: res(1, 0), ShareIdentifier: "A", SchedulingPriority: p, CreatedAt: created}
	}
	tests := map[string]struct {
		snap        Snapshot
		wantPlaced  []string // job ids in placement order
		wantBlocked []string
	}{
		"priority then age inside a share": {
			snap: Snapshot{CEs: ce(8, 0), Queues: []Queue{fsQueue(&FairShare{},
				[]JobRef{prio("p0-old", 0, 1), prio("p5-old", 5, 2), prio("p5-new", 5, 3), prio("p9", 9, 4), prio("p0-new", 0, 5)})}},
			wantPlaced: []string{"p9", "p5-old", "p5-new", "p0-old", "p0-new"},
		},
		"equal priority and time keep the queue order": {
			snap: Snapshot{CEs: ce(8, 0), Queues: []Queue{fsQueue(&FairShare{},
				[]JobRef{prio("x", 1, 7), prio("y", 1, 7), prio("z", 1, 7)})}},
			wantPlaced: []string{"x", "y", "z"},
		},
		"priority does not cross shares": {
			snap: Snapshot{CEs: ce(1, 0), Queues: []Queue{fsQueue(
				&FairShare{Usage: map[string]float64{"A": 500}},
				[]JobRef{prio("a-urgent", 9999, 1), {ID: "b-low", Resources: res(1, 0), ShareIdentifier: "B", CreatedAt: 2}})}},
			wantPlaced: []string{"b-low"},
		},
		"lowest usage times weight first": {
			// A: 100×1 = 100; B: 150×0.5 = 75.
			snap: Snapshot{CEs: ce(1, 0), Queues: []Queue{fsQueue(
				&FairShare{Policy: fairPolicy(0, "A=1", "B=0.5"), Usage: map[string]float64{"A": 100, "B": 150}},
				shareJobs("A", 2, 0), shareJobs("B", 2, 10))}},
			wantPlaced: []string{"B-1"},
		},
		"weight 0.25 takes four times as many placements in one cycle": {
			snap: Snapshot{CEs: ce(10, 0), Queues: []Queue{fsQueue(
				&FairShare{Policy: fairPolicy(0, "team*=0.25"), ExpectedCycle: 1},
				shareJobs("other", 10, 0), shareJobs("teamA", 10, 100))}},
			wantPlaced: []string{"other-1", "teamA-1", "teamA-2", "teamA-3", "teamA-4", "other-2", "teamA-5", "teamA-6", "teamA-7", "teamA-8"},
		},
		"exact identifier beats a prefix": {
			// teamA: 100×4 = 400; teamB (team*): 300×0.25 = 75.
			snap: Snapshot{CEs: ce(1, 0), Queues: []Queue{fsQueue(
				&FairShare{Policy: fairPolicy(0, "teamA=4", "team*=0.25"), Usage: map[string]float64{"teamA": 100, "teamB": 300}},
				shareJobs("teamA", 1, 0), shareJobs("teamB", 1, 10))}},
			wantPlaced: []string{"teamB-1"},
		},
		"longest prefix wins": {
			// teamBlue1 (teamBlue*): 1000×0.1 = 100; teamRed (team*): 30×4 = 120.
			snap: Snapshot{CEs: ce(1, 0), Queues: []Queue{fsQueue(
				&FairShare{Policy: fairPolicy(0, "team*=4", "teamBlue*=0.1"), Usage: map[string]float64{"teamBlue1": 1000, "teamRed": 30}},
				shareJobs("teamRed", 1, 0), shareJobs("teamBlue1", 1, 10))}},
			wantPlaced: []string{"teamBlue1-1"},
		},
		"unlisted share weighs 1": {
			// other: 50×1 = 50; teamX: 600×0.1 = 60.
			snap: Snapshot{CEs: ce(1, 0), Queues: []Queue{fsQueue(
				&FairShare{Policy: fairPolicy(0, "team*=0.1"), Usage: map[string]float64{"other": 50, "teamX": 600}},
				shareJobs("teamX", 1, 0), shareJobs("other", 1, 10))}},
			wantPlaced: []string{"other-1"},
		},
		"placements this cycle are charged": {
			// Equal usage: without the charge A would take all four.
			snap: Snapshot{CEs: ce(4, 0), Queues: []Queue{fsQueue(
				&FairShare{Usage: map[string]float64{"A": 10, "B": 10}, ExpectedCycle: 1},
				shareJobs("A", 4, 0), shareJobs("B", 4, 10))}},
			wantPlaced: []string{"A-1", "B-1", "A-2", "B-2"},
		},
		"reservation with one active share": {
			// 50^1 % of 8 vCPU stays free: 4 placed.
			snap:       Snapshot{CEs: ce(8, 0), Queues: []Queue{fsQueue(&FairShare{Policy: fairPolicy(50)}, shareJobs("A", 8, 0))}},
			wantPlaced: []string{"A-1", "A-2", "A-3", "A-4"},
		},
		"reservation with two active shares": {
			// 50^2 % = 25% of 8 vCPU stays free: 6 placed.
			snap: Snapshot{CEs: ce(8, 0), Queues: []Queue{fsQueue(&FairShare{Policy: fairPolicy(50), ExpectedCycle: 1},
				shareJobs("A", 8, 0), shareJobs("B", 8, 10))}},
			wantPlaced: []string{"A-1", "B-1", "A-2", "B-2", "A-3", "B-3"},
		},
		"a running share is active": {
			// B runs 2 vCPU and queues nothing: still 2 active shares, 6
			// vCPU usable, 2 in use, so 4 more for A.
			snap: Snapshot{CEs: ce(8, 2), Queues: []Queue{fsQueue(
				&FairShare{Policy: fairPolicy(50), Running: map[string]float64{"B": 2}, Usage: map[string]float64{"B": 100}},
				shareJobs("A", 8, 0))}},
			wantPlaced: []string{"A-1", "A-2", "A-3", "A-4"},
		},
		"reservation counts other queues' use of the environment": {
			snap:       Snapshot{CEs: ce(8, 3), Queues: []Queue{fsQueue(&FairShare{Policy: fairPolicy(50)}, shareJobs("A", 8, 0))}},
			wantPlaced: []string{"A-1"},
		},
		"no reservation": {
			snap:       Snapshot{CEs: ce(4, 0), Queues: []Queue{fsQueue(&FairShare{Policy: fairPolicy(0)}, shareJobs("A", 8, 0))}},
			wantPlaced: []string{"A-1", "A-2", "A-3", "A-4"},
		},
		"no reservation on an unlimited environment": {
			snap: Snapshot{
				CEs:    map[string]CE{"ce1": {Arn: "ce1", Name: "ce1", Enabled: true, MaxVCPUs: -1, MaxMemoryMiB: -1, MaxGPUs: -1}},
				Queues: []Queue{fsQueue(&FairShare{Policy: fairPolicy(99)}, shareJobs("A", 3, 0))},
			},
			wantPlaced: []string{"A-1", "A-2", "A-3"},
		},
		"job that never fits is blocked and skipped": {
			snap: Snapshot{CEs: ce(4, 0), Queues: []Queue{fsQueue(&FairShare{},
				[]JobRef{{ID: "huge", Resources: res(8, 0), ShareIdentifier: "A", SchedulingPriority: 9}}, shareJobs("A", 1, 0))}},
			wantPlaced:  []string{"A-1"},
			wantBlocked: []string{"huge"},
		},
		"head of the chosen share holds back the queue": {
			snap: Snapshot{CEs: ce(4, 2), Queues: []Queue{fsQueue(&FairShare{Usage: map[string]float64{"B": 100}},
				[]JobRef{{ID: "a-big", Resources: res(4, 0), ShareIdentifier: "A"}}, shareJobs("B", 2, 0))}},
			wantPlaced: nil,
		},
		"placement cap": {
			snap:       Snapshot{MaxPlacements: 2, CEs: ce(8, 0), Queues: []Queue{fsQueue(&FairShare{ExpectedCycle: 1}, shareJobs("A", 4, 0), shareJobs("B", 4, 10))}},
			wantPlaced: []string{"A-1", "B-1"},
		},
		"FIFO queue ignores shares and priorities": {
			snap: Snapshot{CEs: ce(3, 0), Queues: []Queue{{Arn: "q", Name: "q", CEs: []string{"ce1"}, Jobs: []JobRef{
				{ID: "first", Resources: res(1, 0), ShareIdentifier: "A", SchedulingPriority: 0, CreatedAt: 3},
				{ID: "second", Resources: res(1, 0), ShareIdentifier: "B", SchedulingPriority: 9, CreatedAt: 2},
				{ID: "third", Resources: res(1, 0), ShareIdentifier: "A", SchedulingPriority: 5, CreatedAt: 1},
			}}}},
			wantPlaced: []string{"first", "second", "third"},
		},
		"fair share queue next to a FIFO queue by priority": {
			snap: Snapshot{CEs: ce(3, 0), Queues: []Queue{
				{Arn: "fifo", Name: "fifo", Priority: 1, CEs: []string{"ce1"}, Jobs: []JobRef{{ID: "f1", Resources: res(1, 0)}, {ID: "f2", Resources: res(1, 0)}}},
				{Arn: "fs", Name: "fs", Priority: 5, CEs: []string{"ce1"}, FairShare: &FairShare{}, Jobs: shareJobs("A", 2, 0)},
			}},
			wantPlaced: []string{"A-1", "A-2", "f1"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			before := cloneSnapshot(tc.snap)
			plan := ComputePlan(&tc.snap)
			var placed, blocked []string
			for _, p := range plan.Placements {
				placed = append(placed, p.JobID)
			}
			for _, b := range plan.Blocked {
				blocked = append(blocked, b.JobID)
			}
			if diff := cmp.Diff(tc.wantPlaced, placed); diff != "" {
				t.Errorf("placements (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantBlocked, blocked); diff != "" {
				t.Errorf("blocked (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.snap); diff != "" {
				t.Errorf("ComputePlan modified its snapshot:\n%s", diff)
			}
		})
	}
}

// TestComputePlanFairShareReasons checks the statusReasons of the jobs a
// fair share queue holds back.
func TestComputePlanFairShareReasons(t *testing.T) {
	t.Parallel()
	ce := func(maxV, used float64) map[string]CE {
		return map[string]CE{"ce1": {Arn: "ce1", Name: "ce1", Enabled: true, MaxVCPUs: maxV, MaxMemoryMiB: -1, Used: res(used, 0)}}
	}
	fsQueue := func(fs *FairShare, jobs ...[]JobRef) Queue {
		return Queue{Arn: "q", Name: "q", CEs: []string{"ce1"}, FairShare: fs, Jobs: slices.Concat(jobs...)}
	}
	const (
		capacity = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Gantry: waiting for capacity: "
		waitForA = "Gantry: waiting for share A: its job A-1 is next in fair share order and waits for capacity"
	)
	tests := map[string]struct {
		snap        Snapshot
		wantPlaced  []string
		wantWaiting map[string]string
	}{
		"the next share's head waits for capacity, the others wait for it": {
			snap: Snapshot{CEs: ce(2, 1), Queues: []Queue{fsQueue(&FairShare{Usage: map[string]float64{"B": 100}},
				[]JobRef{{ID: "A-1", Resources: res(2, 0), ShareIdentifier: "A"}, {ID: "A-2", Resources: res(1, 0), ShareIdentifier: "A", CreatedAt: 5}},
				shareJobs("B", 1, 0))}},
			wantWaiting: map[string]string{
				"A-1": capacity + "needs 2 vCPU, 0 MiB; compute environment ce1 has 1 of 2 vCPU in use",
				"A-2": waitForA,
				"B-1": waitForA,
			},
		},
		"capacity reserved for new shares": {
			snap:       Snapshot{CEs: ce(8, 0), Queues: []Queue{fsQueue(&FairShare{Policy: fairPolicy(50)}, shareJobs("A", 6, 0))}},
			wantPlaced: []string{"A-1", "A-2", "A-3", "A-4"},
			wantWaiting: map[string]string{
				"A-5": "Gantry: capacity reserved for new shares (computeReservation 50%): with 1 active share, queue q may use 4 of 8 vCPU and 4 are in use",
				"A-6": "Gantry: capacity reserved for new shares (computeReservation 50%): with 1 active share, queue q may use 4 of 8 vCPU and 4 are in use",
			},
		},
		"reservation with two active shares": {
			snap: Snapshot{CEs: ce(8, 6), Queues: []Queue{fsQueue(&FairShare{Policy: fairPolicy(50), Running: map[string]float64{"B": 6}},
				shareJobs("A", 1, 0))}},
			wantWaiting: map[string]string{
				"A-1": "Gantry: capacity reserved for new shares (computeReservation 50%): with 2 active shares, queue q may use 6 of 8 vCPU and 6 are in use",
			},
		},
		"disabled queue, in dispatch order up to the bound": {
			snap: Snapshot{MaxWaiting: 3, CEs: ce(8, 0), Queues: []Queue{func() Queue {
				q := fsQueue(&FairShare{Usage: map[string]float64{"A": 5}, ExpectedCycle: 1}, shareJobs("A", 3, 0), shareJobs("B", 3, 10))
				q.Disabled = true
				return q
			}()}},
			// B (usage 0) first; charged 1 per job, B reaches A's 5 only
			// after five jobs.
			wantWaiting: map[string]string{
				"B-1": "Gantry: queue q is DISABLED", "B-2": "Gantry: queue q is DISABLED", "B-3": "Gantry: queue q is DISABLED",
			},
		},
		"every environment disabled": {
			snap: Snapshot{
				CEs:    map[string]CE{"ce1": {Arn: "ce1", Name: "ce1", MaxVCPUs: 8, MaxMemoryMiB: -1}},
				Queues: []Queue{fsQueue(&FairShare{}, shareJobs("A", 1, 0))},
			},
			wantWaiting: map[string]string{"A-1": "Gantry: every compute environment of queue q is DISABLED"},
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
			waiting := map[string]string{}
			for _, w := range plan.Waiting {
				waiting[w.JobID] = w.Reason
			}
			require.Empty(t, plan.Blocked)
			if diff := cmp.Diff(tc.wantPlaced, placed); diff != "" {
				t.Errorf("placements (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWaiting, waiting); diff != "" {
				t.Errorf("waiting (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.snap); diff != "" {
				t.Errorf("ComputePlan modified its snapshot:\n%s", diff)
			}
		})
	}
}

// cloneSnapshot deep-copies what ComputePlan could be tempted to modify.
func cloneSnapshot(s Snapshot) Snapshot {
	out := s
	out.CEs = maps.Clone(s.CEs)
	out.Queues = nil
	for _, q := range s.Queues {
		q.Jobs = slices.Clone(q.Jobs)
		if q.FairShare != nil {
			fs := *q.FairShare
			fs.Usage, fs.Running = maps.Clone(fs.Usage), maps.Clone(fs.Running)
			q.FairShare = &fs
		}
		out.Queues = append(out.Queues, q)
	}
	return out
}

func TestDispatchOrder(t *testing.T) {
	t.Parallel()
	fifo := Queue{Jobs: shareJobs("A", 3, 0)}
	require.Equal(t, []string{"A-1", "A-2"}, jobIDs(DispatchOrder(fifo, 2)))
	require.Equal(t, []string{"A-1", "A-2", "A-3"}, jobIDs(DispatchOrder(fifo, 100)))

	fs := Queue{
		FairShare: &FairShare{Policy: fairPolicy(90, "B=0.5"), Usage: map[string]float64{"A": 2, "B": 2}, ExpectedCycle: 1},
		Jobs: slices.Concat(shareJobs("A", 3, 0), shareJobs("B", 4, 10),
			[]JobRef{{ID: "A-urgent", Resources: res(1, 0), ShareIdentifier: "A", SchedulingPriority: 1, CreatedAt: 99}}),
	}
	// Weighted: A 2, B 1 -> B; B 1.5 -> B; B 2 ties A 2 -> A (by name),
	// the highest priority first; B 2 -> B; B 2.5 -> B; then A.
	// The reservation does not apply: the order ignores capacity.
	require.Equal(t, []string{"B-1", "B-2", "A-urgent", "B-3", "B-4", "A-1", "A-2", "A-3"}, jobIDs(DispatchOrder(fs, 100)))
	require.Equal(t, []string{"B-1", "B-2", "A-urgent"}, jobIDs(DispatchOrder(fs, 3)))
	require.Empty(t, DispatchOrder(Queue{FairShare: &FairShare{}}, 100))
}

func jobIDs(jobs []JobRef) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}

func TestDecayUsage(t *testing.T) {
	t.Parallel()
	near := func(want, got float64) { t.Helper(); require.InDelta(t, want, got, 1e-9*max(1, math.Abs(want))) }
	near(100, DecayUsage(100, 4, 0, 600))                        // no time, no change
	near(100, DecayUsage(100, 4, -5, 600))                       // clock went back
	near(100*math.Exp(-1), DecayUsage(100, 0, 600, 600))         // one window decays by e
	near(100*math.Exp(-1), DecayUsage(100, 0, 600, 0))           // 0 means 600
	near(4*600*(1-math.Exp(-1.0/600)), DecayUsage(0, 4, 1, 600)) // ≈ 4 vCPU × 1 s
	require.InDelta(t, 4.0, DecayUsage(0, 4, 1, 600), 0.01)
	// A long gap saturates at vcpus × decay instead of vcpus × dt.
	require.InDelta(t, 2*600, DecayUsage(0, 2, 86400, 600), 1e-6)
	// Constant use converges to vcpus × decay.
	u := 0.0
	for range 20000 {
		u = DecayUsage(u, 3, 1, 600)
	}
	require.InDelta(t, 3*600, u, 0.01)
}

func TestAdvanceUsage(t *testing.T) {
	t.Parallel()
	const now = 1_000_000
	prev := []*store.ShareUsage{
		{QueueArn: "q", ShareIdentifier: "A", Usage: 100, UpdatedAt: now - 2000},
		{QueueArn: "q", ShareIdentifier: "idle", Usage: 50, UpdatedAt: now - 1000},
		{QueueArn: "q", ShareIdentifier: "fresh", Usage: 7, UpdatedAt: now},
	}
	running := map[string]float64{"A": 2, "new": 1, "fresh": 1, "zero": 0}
	got := advanceUsage("q", 600, prev, running, now)
	want := []*store.ShareUsage{
		{QueueArn: "q", ShareIdentifier: "A", Usage: DecayUsage(100, 2, 2, 600), UpdatedAt: now},
		{QueueArn: "q", ShareIdentifier: "idle", Usage: DecayUsage(50, 0, 1, 600), UpdatedAt: now},
		{QueueArn: "q", ShareIdentifier: "new", Usage: 0, UpdatedAt: now},
	}
	require.Equal(t, want, got)
	require.Less(t, got[1].Usage, 50.0)
	require.Greater(t, got[0].Usage, 100.0)
}

// TestFairShareConvergence simulates a fair share queue over the real
// planner with a simulated clock: one 8-vCPU environment, shares A (weight
// 1) and B (weight 0.5) both always backlogged with 1-vCPU jobs of 60 s,
// shareDecaySeconds 600, a cycle every second, for three hours. Over the
// last hour B must get twice A's vCPU-time, within 10%.
func TestFairShareConvergence(t *testing.T) {
	t.Parallel()
	const (
		capacity   = 8
		jobSeconds = 60
		total      = 3 * 3600 // seconds simulated
		measured   = 3600     // the last hour
		backlog    = 20       // RUNNABLE jobs kept per share
	)
	pol := &gantry.FairsharePolicy{
		ShareDecaySeconds: ptrTo[int32](600),
		ShareDistribution: []gantry.ShareAttributes{
			{ShareIdentifier: "A", WeightFactor: ptrTo[float32](1)},
			{ShareIdentifier: "B", WeightFactor: ptrTo[float32](0.5)},
		},
	}
	decay := float64(pol.DecaySeconds())
	type runningJob struct {
		share string
		end   int
	}
	var (
		running  []runningJob
		usage    = map[string]float64{}
		queued   = map[string][]JobRef{}
		byID     = map[string]string{} // job id -> share
		vcpuTime = map[string]float64{}
		seq      int
	)
	topUp := func(now int) {
		for _, share := range []string{"A", "B"} {
			for len(queued[share]) < backlog {
				seq++
				id := fmt.Sprintf("%s-%d", share, seq)
				byID[id] = share
				queued[share] = append(queued[share], JobRef{ID: id, Resources: res(1, 0), ShareIdentifier: share, CreatedAt: int64(now)*1000 + int64(seq)})
			}
		}
	}
	for now := 0; now < total; now++ {
		// Jobs that ended free their vCPU.
		running = slices.DeleteFunc(running, func(r runningJob) bool { return r.end <= now })
		held := map[string]float64{}
		for _, r := range running {
			held[r.share]++
		}
		// One scheduling cycle.
		topUp(now)
		snap := &Snapshot{
			CEs: map[string]CE{"ce": {Arn: "ce", Name: "ce", Enabled: true, MaxVCPUs: capacity, MaxMemoryMiB: -1, Used: res(float64(len(running)), 0)}},
			Queues: []Queue{{
				Arn: "q", Name: "q", CEs: []string{"ce"},
				Jobs:      slices.Concat(queued["A"], queued["B"]),
				FairShare: &FairShare{Policy: pol, Usage: maps.Clone(usage), Running: held, ExpectedCycle: 1},
			}},
		}
		for _, p := range ComputePlan(snap).Placements {
			share := byID[p.JobID]
			queued[share] = slices.DeleteFunc(queued[share], func(j JobRef) bool { return j.ID == p.JobID })
			running = append(running, runningJob{share: share, end: now + jobSeconds})
		}
		// The second [now, now+1): what the next cycle's updateShareUsage
		// charges.
		held = map[string]float64{}
		for _, r := range running {
			held[r.share]++
		}
		for _, share := range []string{"A", "B"} {
			usage[share] = DecayUsage(usage[share], held[share], 1, decay)
			if now >= total-measured {
				vcpuTime[share] += held[share]
			}
		}
	}
	a, b := vcpuTime["A"], vcpuTime["B"]
	ratio := b / a
	t.Logf("last hour: A %.0f vCPU-s (%.1f%%), B %.0f vCPU-s (%.1f%%), idle %.1f%%; B:A = %.3f (want 2 ± 10%%); decayed usage A %.0f, B %.0f",
		a, 100*a/(capacity*measured), b, 100*b/(capacity*measured), 100*(1-(a+b)/(capacity*measured)), ratio, usage["A"], usage["B"])
	require.InDelta(t, capacity*measured, a+b, 1, "the environment stays full")
	require.InDelta(t, 2, ratio, 0.2, "B:A vCPU-time over the last hour")
}

// TestShareUsageAccountingAndSnapshot runs updateShareUsage and
// GetJobQueueSnapshot over a real store with an injected clock.
func TestShareUsageAccountingAndSnapshot(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, err := storesqlite.Open(ctx, storesqlite.Config{Path: filepath.Join(t.TempDir(), "db")})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })

	now := time.UnixMilli(storetest.BaseTime + 3_600_000)
	s := New(Config{
		Store: st, Transitioner: &control.Transitioner{}, Dispatch: func(*gantry.Job) {},
		Now: func() time.Time { return now }, Interval: time.Second,
	})
	pol := storetest.SchedulingPolicy("fair", func(p *gantry.SchedulingPolicy) {
		p.FairsharePolicy = &gantry.FairsharePolicy{ShareDecaySeconds: ptrTo[int32](100)}
	})
	require.NoError(t, st.SchedulingPolicyInsert(ctx, pol))
	require.NoError(t, st.ComputeEnvironmentInsert(ctx, storetest.ComputeEnvironment("ce")))
	fq := storetest.JobQueue("fq", func(q *gantry.JobQueue) { q.SchedulingPolicyArn = pol.Arn })
	require.NoError(t, st.JobQueueInsert(ctx, fq))
	fifo := storetest.JobQueue("fifo")
	require.NoError(t, st.JobQueueInsert(ctx, fifo))
	inQueue := func(q *gantry.JobQueue, share string, status gantry.JobStatus) func(*gantry.Job) {
		return func(j *gantry.Job) {
			j.JobQueue, j.ShareIdentifier, j.Status, j.Resources = q.JobQueueArn, share, status, gantry.Resources{VCPUs: 1, MemoryMiB: 512}
		}
	}
	running := storetest.Job(inQueue(fq, "A", ""), storetest.Placed(gantry.JobStatusRunning, "ce", gantry.Resources{VCPUs: 2}))
	a1 := storetest.Job(inQueue(fq, "A", gantry.JobStatusRunnable))
	a2 := storetest.Job(inQueue(fq, "A", gantry.JobStatusRunnable), func(j *gantry.Job) { j.SchedulingPriority = ptrTo[int32](7) })
	b1 := storetest.Job(inQueue(fq, "B", gantry.JobStatusRunnable))
	f1 := storetest.Job(inQueue(fifo, "", gantry.JobStatusRunnable), func(j *gantry.Job) { j.SchedulingPriority = ptrTo[int32](1) })
	f2 := storetest.Job(inQueue(fifo, "", gantry.JobStatusRunnable), func(j *gantry.Job) { j.SchedulingPriority = ptrTo[int32](9) })
	for _, j := range []*gantry.Job{running, a1, a2, b1, f1, f2} {
		require.NoError(t, st.JobInsert(ctx, j))
	}
	usage := func() map[string]store.ShareUsage {
		rows, err := st.ShareUsageList(ctx, fq.JobQueueArn)
		require.NoError(t, err)
		out := map[string]store.ShareUsage{}
		for _, r := range rows {
			out[r.ShareIdentifier] = *r
		}
		return out
	}
	front := func(queue string) []string {
		out, err := s.GetJobQueueSnapshot(ctx, &control.GetJobQueueSnapshotInput{JobQueue: queue})
		require.NoError(t, err)
		require.Equal(t, now.UnixMilli(), out.FrontOfQueue.LastUpdatedAt)
		var arns []string
		for _, j := range out.FrontOfQueue.Jobs {
			require.Positive(t, j.EarliestTimeAtPosition)
			arns = append(arns, j.JobArn)
		}
		return arns
	}

	// No usage yet: shares tie and go by name, priority first inside A.
	require.Equal(t, []string{a2.JobArn, b1.JobArn, a1.JobArn}, front(fq.JobQueueArn))
	// FIFO ignores priorities.
	require.Equal(t, []string{f1.JobArn, f2.JobArn}, front("fifo"))

	// The first cycle records A, which runs, at zero.
	require.NoError(t, s.updateShareUsage(ctx))
	require.Equal(t, map[string]store.ShareUsage{"A": {QueueArn: fq.JobQueueArn, ShareIdentifier: "A", UpdatedAt: now.UnixMilli()}}, usage())
	require.NoError(t, s.updateShareUsage(ctx), "a second cycle in the same millisecond changes nothing")
	require.Equal(t, 0.0, usage()["A"].Usage)

	// Ten seconds later A has used about 2 vCPU × 10 s.
	now = now.Add(10 * time.Second)
	require.NoError(t, s.updateShareUsage(ctx))
	got := usage()["A"]
	require.InDelta(t, DecayUsage(0, 2, 10, 100), got.Usage, 1e-9)
	require.InDelta(t, 19.0, got.Usage, 0.1)
	require.Equal(t, now.UnixMilli(), got.UpdatedAt)
	// Now B, without usage, comes first.
	require.Equal(t, []string{b1.JobArn, a2.JobArn, a1.JobArn}, front("fq"))

	// A stops running: its usage decays by exp(-dt/decay).
	running.Status = gantry.JobStatusSucceeded
	require.NoError(t, st.JobUpdate(ctx, &store.JobUpdateParams{Job: running, FromStatus: gantry.JobStatusRunning}))
	now = now.Add(100 * time.Second)
	require.NoError(t, s.updateShareUsage(ctx))
	require.InDelta(t, got.Usage*math.Exp(-1), usage()["A"].Usage, 1e-9)

	_, err = s.GetJobQueueSnapshot(ctx, &control.GetJobQueueSnapshotInput{JobQueue: "nope"})
	require.ErrorContains(t, err, "jobQueue: nope does not exist")
	require.Equal(t, gantry.ErrCodeClient, gantry.ErrorCode(err))
	_, err = s.GetJobQueueSnapshot(ctx, &control.GetJobQueueSnapshotInput{})
	require.Equal(t, gantry.ErrCodeClient, gantry.ErrorCode(err))
}

// TestQueueSnapshotUtilization checks GetJobQueueSnapshot's
// queueUtilization: the vCPUs of STARTING and RUNNING jobs, and for a fair
// share queue the shares holding them, most first.
func TestQueueSnapshotUtilization(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, err := storesqlite.Open(ctx, storesqlite.Config{Path: filepath.Join(t.TempDir(), "db")})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	now := time.UnixMilli(storetest.BaseTime + 3_600_000)
	s := New(Config{
		Store: st, Transitioner: &control.Transitioner{}, Dispatch: func(*gantry.Job) {},
		Now: func() time.Time { return now }, Interval: time.Second,
	})
	pol := storetest.SchedulingPolicy("fair")
	require.NoError(t, st.SchedulingPolicyInsert(ctx, pol))
	require.NoError(t, st.ComputeEnvironmentInsert(ctx, storetest.ComputeEnvironment("ce")))
	fq := storetest.JobQueue("fq", func(q *gantry.JobQueue) { q.SchedulingPolicyArn = pol.Arn })
	fifo := storetest.JobQueue("fifo")
	for _, q := range []*gantry.JobQueue{fq, fifo} {
		require.NoError(t, st.JobQueueInsert(ctx, q))
	}
	in := func(q *gantry.JobQueue, share string, status gantry.JobStatus, vcpus float64) *gantry.Job {
		return storetest.Job(func(j *gantry.Job) { j.JobQueue, j.ShareIdentifier = q.JobQueueArn, share },
			storetest.Placed(status, "ce", gantry.Resources{VCPUs: vcpus, MemoryMiB: 64}))
	}
	for _, j := range []*gantry.Job{
		in(fq, "A", gantry.JobStatusRunning, 1), in(fq, "B", gantry.JobStatusRunning, 2), in(fq, "A", gantry.JobStatusStarting, 0.5),
		in(fq, "C", gantry.JobStatusSucceeded, 4), in(fifo, "", gantry.JobStatusRunning, 0.25),
	} {
		require.NoError(t, st.JobInsert(ctx, j))
	}
	vcpu := func(q float64) []control.CapacityUsage {
		return []control.CapacityUsage{{CapacityUnit: "VCPU", Quantity: q}}
	}

	out, err := s.GetJobQueueSnapshot(ctx, &control.GetJobQueueSnapshotInput{JobQueue: "fq"})
	require.NoError(t, err)
	require.Equal(t, &control.QueueUtilizationDetail{
		TotalCapacityUsage: vcpu(3.5),
		FairshareUtilization: &control.FairshareUtilizationDetail{ActiveShareCount: 2, TopCapacityUtilization: []control.ShareCapacityUsage{
			{ShareIdentifier: "B", CapacityUsage: vcpu(2)}, {ShareIdentifier: "A", CapacityUsage: vcpu(1.5)},
		}},
		LastUpdatedAt: now.UnixMilli(),
	}, out.QueueUtilization)

	out, err = s.GetJobQueueSnapshot(ctx, &control.GetJobQueueSnapshotInput{JobQueue: "fifo"})
	require.NoError(t, err)
	require.Equal(t, &control.QueueUtilizationDetail{TotalCapacityUsage: vcpu(0.25), LastUpdatedAt: now.UnixMilli()}, out.QueueUtilization)
}
