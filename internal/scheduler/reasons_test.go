package scheduler

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/control"
	"github.com/gantrybatch/gantry/store"
	"github.com/gantrybatch/gantry/store/storetest"
)

// runnable makes a RUNNABLE job (of queue "queue") holding r.
func runnable(r gantry.Resources) func(*gantry.Job) {
	return func(j *gantry.Job) { j.Status, j.Resources = gantry.JobStatusRunnable, r }
}

func smallCE(name string, maxVCPUs int32) *gantry.ComputeEnvironment {
	return storetest.ComputeEnvironment(name, func(ce *gantry.ComputeEnvironment) { ce.ComputeResources.MaxvCpus = &maxVCPUs })
}

// TestWaitingReasonsWrittenOnce runs the scheduler over a real store: the
// jobs it holds back get their reasons in one cycle, unchanged cycles write
// nothing, a reason that keeps its AWS code keeps the job's updatedAt, and
// placement clears the reason.
func TestWaitingReasonsWrittenOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	b.tr.Events = true
	var logs bytes.Buffer
	b.sched.cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))

	require.NoError(t, b.store.ComputeEnvironmentInsert(ctx, smallCE("ce", 4)))
	q := storetest.JobQueue("queue")
	require.NoError(t, b.store.JobQueueInsert(ctx, q))
	blocker := storetest.Job(storetest.Placed(gantry.JobStatusRunning, "ce", gantry.Resources{VCPUs: 3, MemoryMiB: 512}))
	head := storetest.Job(runnable(gantry.Resources{VCPUs: 2, MemoryMiB: 512}))
	b1 := storetest.Job(runnable(gantry.Resources{VCPUs: 1, MemoryMiB: 512}))
	huge := storetest.Job(runnable(gantry.Resources{VCPUs: 8, MemoryMiB: 512}))
	b2 := storetest.Job(runnable(gantry.Resources{VCPUs: 1, MemoryMiB: 512}))
	for _, j := range []*gantry.Job{blocker, head, b1, huge, b2} {
		require.NoError(t, b.store.JobInsert(ctx, j))
	}
	reasons := func() map[string]string {
		out := map[string]string{}
		for _, j := range []*gantry.Job{head, b1, huge, b2} {
			out[j.JobID] = b.get(t, j.JobID).StatusReason
		}
		return out
	}
	updated := func() map[string]int64 {
		out := map[string]int64{}
		for _, j := range []*gantry.Job{head, b1, huge, b2} {
			out[j.JobID] = b.get(t, j.JobID).UpdatedAt
		}
		return out
	}
	blockedEvents := func() int {
		evs, err := b.store.EventList(ctx, &store.EventListParams{Limit: 1000})
		require.NoError(t, err)
		n := 0
		for _, e := range evs {
			if e.DetailType == control.DetailTypeJobQueueBlocked {
				n++
			}
		}
		return n
	}
	behind := "Gantry: waiting behind job " + head.JobID + " at the head of queue queue (FIFO)"

	// Cycle 1: every held job gets its reason.
	first := b.clock().UnixMilli()
	res := b.runOnce(t)
	require.Equal(t, 0, res.Placed)
	require.Equal(t, 1, res.Blocked)
	require.Equal(t, 3, res.Waiting)
	got := reasons()
	require.Equal(t, "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Gantry: waiting for capacity: needs 2 vCPU, 512 MiB; compute environment ce has 3 of 4 vCPU in use", got[head.JobID])
	require.Equal(t, behind, got[b1.JobID])
	require.Equal(t, behind, got[b2.JobID])
	require.True(t, strings.HasPrefix(got[huge.JobID], ReasonCEMaxResource), got[huge.JobID])
	for id, at := range updated() {
		require.Equal(t, first, at, "job %s", id)
	}
	require.Equal(t, 1, blockedEvents())
	require.Contains(t, logs.String(), "job queue blocked")
	require.Contains(t, logs.String(), "job_id="+huge.JobID)
	require.Contains(t, logs.String(), "queue="+q.JobQueueArn)
	require.Equal(t, 1, strings.Count(logs.String(), "job queue blocked"))

	// Cycles 2 and 3: nothing changed, nothing written.
	for range 2 {
		b.advance(time.Minute)
		res = b.runOnce(t)
		require.Zero(t, res.Blocked+res.Waiting+res.Placed)
		require.Equal(t, got, reasons())
		for id, at := range updated() {
			require.Equal(t, first, at, "job %s rewritten", id)
		}
	}
	require.Equal(t, 1, blockedEvents())
	require.Equal(t, 1, strings.Count(logs.String(), "job queue blocked"))

	// More capacity in use: only the head's detail changes, and it keeps
	// its updatedAt (the time a CAPACITY time limit counts from).
	other := storetest.Job(storetest.Placed(gantry.JobStatusRunning, "ce", gantry.Resources{VCPUs: 0.5}))
	require.NoError(t, b.store.JobInsert(ctx, other))
	b.advance(time.Minute)
	res = b.runOnce(t)
	require.Equal(t, 1, res.Waiting)
	require.Equal(t, "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Gantry: waiting for capacity: needs 2 vCPU, 512 MiB; compute environment ce has 3.5 of 4 vCPU in use",
		b.get(t, head.JobID).StatusReason)
	require.Equal(t, first, b.get(t, head.JobID).UpdatedAt)

	// The queue is disabled: the waiting jobs say so (a new reason, a new
	// updatedAt); the blocked one keeps its reason.
	q.State = gantry.StateDisabled
	require.NoError(t, b.store.JobQueueUpdate(ctx, q))
	b.move(t, blocker.JobID, gantry.JobStatusSucceeded)
	b.move(t, other.JobID, gantry.JobStatusSucceeded)
	b.advance(time.Minute)
	res = b.runOnce(t)
	require.Equal(t, 0, res.Placed, "a DISABLED queue dispatches nothing")
	require.Equal(t, 3, res.Waiting)
	require.Zero(t, res.Blocked)
	for _, j := range []*gantry.Job{head, b1, b2} {
		got := b.get(t, j.JobID)
		require.Equal(t, gantry.JobStatusRunnable, got.Status)
		require.Equal(t, "Gantry: queue queue is DISABLED", got.StatusReason)
		require.Equal(t, b.clock().UnixMilli(), got.UpdatedAt)
	}
	require.Equal(t, first, b.get(t, huge.JobID).UpdatedAt)

	// Enabled again: the jobs start, and STARTING clears their reasons.
	q.State = gantry.StateEnabled
	require.NoError(t, b.store.JobQueueUpdate(ctx, q))
	res = b.runOnce(t)
	require.Equal(t, 3, res.Placed)
	for _, j := range []*gantry.Job{head, b1, b2} {
		got := b.get(t, j.JobID)
		require.Equal(t, gantry.JobStatusStarting, got.Status)
		require.Empty(t, got.StatusReason)
	}
	require.Equal(t, 1, blockedEvents())
}

// TestWaitingReasonsBounded: a deep queue costs at most WaitingReasonLimit
// reason writes per cycle, for its first jobs.
func TestWaitingReasonsBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	require.NoError(t, b.store.ComputeEnvironmentInsert(ctx, smallCE("ce", 1)))
	require.NoError(t, b.store.JobQueueInsert(ctx, storetest.JobQueue("queue")))
	const n = WaitingReasonLimit + 50
	jobs := []*gantry.Job{storetest.Job(storetest.Placed(gantry.JobStatusRunning, "ce", gantry.Resources{VCPUs: 1}))}
	for range n {
		jobs = append(jobs, storetest.Job(runnable(gantry.Resources{VCPUs: 1, MemoryMiB: 512})))
	}
	require.NoError(t, b.store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		for _, j := range jobs {
			if err := tx.JobInsert(ctx, j); err != nil {
				return err
			}
		}
		return nil
	}))
	res := b.runOnce(t)
	require.Equal(t, WaitingReasonLimit, res.Waiting)
	for i, j := range jobs[1:] {
		reason := b.get(t, j.JobID).StatusReason
		switch {
		case i == 0:
			require.True(t, strings.HasPrefix(reason, ReasonCapacity), reason)
		case i < WaitingReasonLimit:
			require.Equal(t, "Gantry: waiting behind job "+jobs[1].JobID+" at the head of queue queue (FIFO)", reason, "job %d", i)
		default:
			require.Empty(t, reason, "job %d is past the bound", i)
		}
	}
	require.Zero(t, b.runOnce(t).Waiting)
}

// TestPendingReason: a job waiting for its dependencies says how many, and
// loses the reason when it becomes RUNNABLE.
func TestPendingReason(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	a, c := storetest.Job(), storetest.Job()
	d := storetest.Job(func(j *gantry.Job) { j.Deps = []string{a.JobID, c.JobID} })
	e := storetest.Job(func(j *gantry.Job) { j.Deps = []string{a.JobID} })
	size := int32(2)
	p := storetest.Job(func(j *gantry.Job) {
		j.ArraySize, j.ArrayExpanded, j.Deps = size, -1, []string{a.JobID}
		j.ArrayProperties = &gantry.ArrayPropertiesDetail{Size: &size}
	})
	for _, j := range []*gantry.Job{a, c, d, e, p} {
		require.NoError(t, b.store.JobInsert(ctx, j))
	}
	b.runOnce(t)
	for id, want := range map[string]string{
		d.JobID: "Gantry: waiting for 2 dependencies",
		e.JobID: "Gantry: waiting for 1 dependency",
		p.JobID: "Gantry: waiting for 1 dependency",
	} {
		got := b.get(t, id)
		require.Equal(t, gantry.JobStatusPending, got.Status)
		require.Equal(t, want, got.StatusReason)
	}
	at := b.get(t, d.JobID).UpdatedAt

	b.advance(time.Minute)
	b.move(t, a.JobID, gantry.JobStatusStarting, gantry.JobStatusRunning, gantry.JobStatusSucceeded)
	b.runOnce(t)
	got := b.get(t, d.JobID)
	require.Equal(t, gantry.JobStatusPending, got.Status)
	require.Equal(t, at, got.UpdatedAt, "still waiting: not rewritten")
	got = b.get(t, e.JobID)
	require.Equal(t, gantry.JobStatusRunnable, got.Status)
	require.Empty(t, got.StatusReason)
	got = b.get(t, p.JobID)
	require.Equal(t, gantry.JobStatusPending, got.Status, "an array parent stays PENDING while its children run")
	require.Empty(t, got.StatusReason)

	b.move(t, c.JobID, gantry.JobStatusStarting, gantry.JobStatusRunning, gantry.JobStatusSucceeded)
	b.runOnce(t)
	got = b.get(t, d.JobID)
	require.Equal(t, gantry.JobStatusRunnable, got.Status)
	require.Empty(t, got.StatusReason)
}

// TestCapacityTimeLimit: a queue's CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY
// time limit counts from when its head first waited for capacity, however
// often the detail of the reason changes meanwhile; the job behind it
// starts counting once it is the head.
func TestCapacityTimeLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	require.NoError(t, b.store.ComputeEnvironmentInsert(ctx, smallCE("ce", 4)))
	require.NoError(t, b.store.JobQueueInsert(ctx, storetest.JobQueue("queue", func(q *gantry.JobQueue) {
		q.JobStateTimeLimitActions = []gantry.JobStateTimeLimitAction{{Reason: ReasonCapacity, State: "RUNNABLE", MaxTimeSeconds: 600, Action: "CANCEL"}}
	})))
	require.NoError(t, b.store.JobInsert(ctx, storetest.Job(storetest.Placed(gantry.JobStatusRunning, "ce", gantry.Resources{VCPUs: 3}))))
	head := storetest.Job(runnable(gantry.Resources{VCPUs: 2, MemoryMiB: 512}))
	next := storetest.Job(runnable(gantry.Resources{VCPUs: 2, MemoryMiB: 512}))
	require.NoError(t, b.store.JobInsert(ctx, head))
	require.NoError(t, b.store.JobInsert(ctx, next))
	b.runOnce(t)
	require.True(t, strings.HasPrefix(b.get(t, head.JobID).StatusReason, ReasonCapacity))

	// Five minutes on, other jobs hold more of the environment.
	b.advance(5 * time.Minute)
	require.NoError(t, b.store.JobInsert(ctx, storetest.Job(storetest.Placed(gantry.JobStatusRunning, "ce", gantry.Resources{VCPUs: 0.5}))))
	require.Equal(t, 1, b.runOnce(t).Waiting)
	require.Contains(t, b.get(t, head.JobID).StatusReason, "3.5 of 4 vCPU in use")

	// Ten minutes after it first waited, the head is cancelled; the next
	// job becomes the head and starts its own ten minutes.
	b.advance(5 * time.Minute)
	res := b.runOnce(t)
	require.Equal(t, 1, res.TimedOut)
	got := b.get(t, head.JobID)
	require.Equal(t, gantry.JobStatusFailed, got.Status)
	require.Equal(t, "Canceled by JobStateTimeLimit action due to reason: "+ReasonCapacity, got.StatusReason)
	b.advance(ReasonRefresh) // waiting reasons are refreshed at most this often
	b.runOnce(t)
	got = b.get(t, next.JobID)
	require.Equal(t, gantry.JobStatusRunnable, got.Status)
	require.True(t, strings.HasPrefix(got.StatusReason, ReasonCapacity), got.StatusReason)
	require.Equal(t, b.clock().UnixMilli(), got.UpdatedAt)
}

// TestWaitingReasonsRefreshBound checks that waiting reasons are written at
// most every ReasonRefresh: a changed detail within the bound waits for the
// next refresh, and is written then.
func TestWaitingReasonsRefreshBound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	require.NoError(t, b.store.ComputeEnvironmentInsert(ctx, smallCE("ce", 4)))
	require.NoError(t, b.store.JobQueueInsert(ctx, storetest.JobQueue("queue")))
	blocker := storetest.Job(storetest.Placed(gantry.JobStatusRunning, "ce", gantry.Resources{VCPUs: 3, MemoryMiB: 512}))
	head := storetest.Job(runnable(gantry.Resources{VCPUs: 2, MemoryMiB: 512}))
	for _, j := range []*gantry.Job{blocker, head} {
		require.NoError(t, b.store.JobInsert(ctx, j))
	}
	res := b.runOnce(t)
	require.Equal(t, 1, res.Waiting)
	require.Contains(t, b.get(t, head.JobID).StatusReason, "has 3 of 4 vCPU in use")

	// More capacity in use: within ReasonRefresh the reason stays.
	require.NoError(t, b.store.JobInsert(ctx, storetest.Job(storetest.Placed(gantry.JobStatusRunning, "ce", gantry.Resources{VCPUs: 0.5}))))
	b.advance(ReasonRefresh / 2)
	res = b.runOnce(t)
	require.Zero(t, res.Waiting)
	require.Contains(t, b.get(t, head.JobID).StatusReason, "has 3 of 4 vCPU in use")

	// Past the bound it is refreshed.
	b.advance(ReasonRefresh / 2)
	res = b.runOnce(t)
	require.Equal(t, 1, res.Waiting)
	require.Contains(t, b.get(t, head.JobID).StatusReason, "has 3.5 of 4 vCPU in use")
}
