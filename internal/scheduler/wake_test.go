package scheduler

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/control"
	"github.com/gantrybatch/gantry/store/storetest"
)

// woken reports whether a wake is pending, and consumes it.
func (b *testBundle) woken() bool {
	select {
	case <-b.sched.wake:
		return true
	default:
		return false
	}
}

// TestWakeForRunnableWhileFull checks that new RUNNABLE jobs do not wake
// the scheduler while its last cycle found no room anywhere, and do again
// once a cycle finds room; Wake always wakes it.
func TestWakeForRunnableWhileFull(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	require.NoError(t, b.store.ComputeEnvironmentInsert(ctx, smallCE("ce", 2)))
	require.NoError(t, b.store.JobQueueInsert(ctx, storetest.JobQueue("queue")))

	b.sched.WakeForRunnable()
	require.True(t, b.woken(), "before any cycle a new job wakes the scheduler")

	running := storetest.Job(storetest.Placed(gantry.JobStatusRunning, "ce", gantry.Resources{VCPUs: 2, MemoryMiB: 512}))
	waiting := storetest.Job(runnable(gantry.Resources{VCPUs: 1, MemoryMiB: 512}))
	require.NoError(t, b.store.JobInsert(ctx, running))
	require.NoError(t, b.store.JobInsert(ctx, waiting))
	require.Zero(t, b.runOnce(t).Placed)
	b.sched.WakeForRunnable()
	require.False(t, b.woken(), "the environment is full: a new job cannot start either")
	b.sched.Wake()
	require.True(t, b.woken(), "Wake (capacity freed, resources changed) always wakes")

	b.move(t, running.JobID, gantry.JobStatusSucceeded)
	require.Equal(t, 1, b.runOnce(t).Placed)
	b.sched.WakeForRunnable()
	require.True(t, b.woken(), "the last cycle found room: a new job wakes the scheduler")
}

// TestHeadLimit checks how many RUNNABLE jobs a cycle without due reasons
// reads from a queue: what could start in the room left, plus a margin,
// and the full head for fair share queues or when room is plentiful.
func TestHeadLimit(t *testing.T) {
	t.Parallel()
	s := New(Config{Store: setup(t).store, Transitioner: &control.Transitioner{}, Dispatch: func(*gantry.Job) {}, HeadSize: 256})
	q := storetest.JobQueue("q", func(q *gantry.JobQueue) {
		q.ComputeEnvironmentOrder = []gantry.ComputeEnvironmentOrder{{Order: 1, ComputeEnvironment: "a"}, {Order: 2, ComputeEnvironment: "b"}}
	})
	snap := func(aFree, bFree float64, bEnabled bool, host *CE) *Snapshot {
		return &Snapshot{Host: host, CEs: map[string]CE{
			"a": {Enabled: true, MaxVCPUs: 4, Used: gantry.Resources{VCPUs: 4 - aFree}},
			"b": {Enabled: bEnabled, MaxVCPUs: 8, Used: gantry.Resources{VCPUs: 8 - bFree}},
		}}
	}
	require.Equal(t, headMargin, s.headLimit(q, snap(0, 0, true, nil)), "full: only the margin")
	require.Equal(t, 4+headMargin, s.headLimit(q, snap(1, 0, true, nil)), "1 free vCPU: 4 jobs of 0.25")
	require.Equal(t, 12+headMargin, s.headLimit(q, snap(1, 2, true, nil)), "room adds up over the queue's environments")
	require.Equal(t, 4+headMargin, s.headLimit(q, snap(1, 2, false, nil)), "a disabled environment has no room")
	require.Equal(t, 2+headMargin, s.headLimit(q, snap(1, 2, true, &CE{MaxVCPUs: 2, Used: gantry.Resources{VCPUs: 1.5}})), "the host bounds it")
	big := snap(4, 8, true, nil)
	big.CEs["b"] = CE{Enabled: true, MaxVCPUs: 1000}
	require.Equal(t, 256, s.headLimit(q, big), "never more than HeadSize")
	fair := *q
	fair.SchedulingPolicyArn = "arn:aws:batch:us-east-1:000000000000:scheduling-policy/p"
	require.Equal(t, 256, s.headLimit(&fair, snap(0, 0, true, nil)), "fair share queues read the full head")
}
