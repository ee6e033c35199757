package scheduler

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
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
