package scheduler

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/control"
	"github.com/gantrybatch/gantry/store"
	"github.com/gantrybatch/gantry/store/storesqlite"
	"github.com/gantrybatch/gantry/store/storetest"
)

// testBundle is a scheduler over a real SQLite store with a settable clock
// and a dispatch recorder instead of a runner.
type testBundle struct {
	store store.Store
	sched *Scheduler
	tr    *control.Transitioner

	mu         sync.Mutex
	now        time.Time
	dispatched []string
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	st, err := storesqlite.Open(context.Background(), storesqlite.Config{Path: filepath.Join(t.TempDir(), "db")})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	b := &testBundle{store: st, now: time.UnixMilli(storetest.BaseTime).Add(time.Hour)}
	b.tr = &control.Transitioner{Now: b.clock, Logger: slog.New(slog.DiscardHandler)}
	b.sched = New(Config{
		Store: st, Transitioner: b.tr, Now: b.clock, Logger: slog.New(slog.DiscardHandler),
		Dispatch: func(j *gantry.Job) {
			b.mu.Lock()
			b.dispatched = append(b.dispatched, j.JobID)
			b.mu.Unlock()
		},
	})
	return b
}

func (b *testBundle) clock() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.now
}

func (b *testBundle) advance(d time.Duration) {
	b.mu.Lock()
	b.now = b.now.Add(d)
	b.mu.Unlock()
}

func (b *testBundle) get(t *testing.T, id string) *gantry.Job {
	t.Helper()
	j, err := b.store.JobGet(context.Background(), id)
	require.NoError(t, err)
	return j
}

// move applies a legal sequence of transitions, as the runner would.
func (b *testBundle) move(t *testing.T, id string, path ...gantry.JobStatus) {
	t.Helper()
	for _, to := range path {
		require.NoError(t, b.store.InTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
			j, err := tx.JobGet(ctx, id)
			if err != nil {
				return err
			}
			from := j.Status
			j.Status = to
			return b.tr.Transition(ctx, tx, j, from)
		}))
	}
}

func (b *testBundle) runOnce(t *testing.T) *Result {
	t.Helper()
	res, err := b.sched.RunOnce(context.Background())
	require.NoError(t, err)
	return res
}

func TestDependenciesResolveAndCascade(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := storetest.Job()
	dep := func(ids ...string) func(*gantry.Job) { return func(j *gantry.Job) { j.Deps = ids } }
	bJob := storetest.Job(dep(a.JobID))
	c := storetest.Job()
	d := storetest.Job(dep(c.JobID))
	e := storetest.Job(dep(d.JobID, a.JobID))
	for _, j := range []*gantry.Job{a, bJob, c, d, e} {
		require.NoError(t, b.store.JobInsert(ctx, j))
	}
	b.runOnce(t)
	require.Equal(t, gantry.JobStatusRunnable, b.get(t, a.JobID).Status)
	require.Equal(t, gantry.JobStatusPending, b.get(t, bJob.JobID).Status)
	require.Equal(t, gantry.JobStatusPending, b.get(t, e.JobID).Status)

	// A succeeds: B becomes RUNNABLE in the next cycle, E still waits for D.
	b.move(t, a.JobID, gantry.JobStatusStarting, gantry.JobStatusRunning, gantry.JobStatusSucceeded)
	b.runOnce(t)
	require.Equal(t, gantry.JobStatusRunnable, b.get(t, bJob.JobID).Status)
	require.Equal(t, gantry.JobStatusPending, b.get(t, e.JobID).Status)

	// C fails: D and then E fail in the same cycle.
	b.move(t, c.JobID, gantry.JobStatusStarting, gantry.JobStatusRunning, gantry.JobStatusFailed)
	res := b.runOnce(t)
	for _, id := range []string{d.JobID, e.JobID} {
		j := b.get(t, id)
		require.Equal(t, gantry.JobStatusFailed, j.Status)
		require.Equal(t, ReasonDependencyFailed, j.StatusReason)
	}
	require.Equal(t, 2, res.Resolved)
	left, err := b.store.JobFinishedList(ctx, 10)
	require.NoError(t, err)
	require.Empty(t, left, "the finished-jobs queue is drained")
}

func TestDependencyChainCostsConstantPerJob(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	const n = 300
	ids := make([]string, n)
	for i := range n {
		j := storetest.Job()
		if i > 0 {
			j.Deps = []string{ids[i-1]}
		}
		ids[i] = j.JobID
		require.NoError(t, b.store.JobInsert(ctx, j))
	}
	b.runOnce(t)
	for i := range n {
		require.Equal(t, gantry.JobStatusRunnable, b.get(t, ids[i]).Status, "job %d", i)
		b.move(t, ids[i], gantry.JobStatusStarting, gantry.JobStatusRunning, gantry.JobStatusSucceeded)
		res := b.runOnce(t)
		if i+1 < n {
			require.Equal(t, 1, res.Resolved, "exactly the one dependent is looked at")
		}
	}
}

func TestTimeLimitActions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	const reason = "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"
	q := storetest.JobQueue("queue", func(q *gantry.JobQueue) {
		q.JobStateTimeLimitActions = []gantry.JobStateTimeLimitAction{{Reason: reason, State: "RUNNABLE", MaxTimeSeconds: 600, Action: "CANCEL"}}
	})
	require.NoError(t, b.store.JobQueueInsert(ctx, q))
	blockedAt := b.clock().UnixMilli()
	blocked := storetest.Job(func(j *gantry.Job) {
		j.Status, j.StatusReason, j.UpdatedAt = gantry.JobStatusRunnable, reason+" Gantry: needs 8 vCPU", blockedAt
	})
	other := storetest.Job(func(j *gantry.Job) {
		j.Status, j.StatusReason, j.UpdatedAt = gantry.JobStatusRunnable, "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY", blockedAt
	})
	require.NoError(t, b.store.JobInsert(ctx, blocked))
	require.NoError(t, b.store.JobInsert(ctx, other))

	b.advance(599 * time.Second)
	n, err := b.sched.applyTimeLimits(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, gantry.JobStatusRunnable, b.get(t, blocked.JobID).Status)

	b.advance(time.Second)
	n, err = b.sched.applyTimeLimits(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got := b.get(t, blocked.JobID)
	require.Equal(t, gantry.JobStatusFailed, got.Status)
	require.Equal(t, "Canceled by JobStateTimeLimit action due to reason: "+reason, got.StatusReason)
	require.True(t, *got.IsCancelled)
	require.Equal(t, gantry.JobStatusRunnable, b.get(t, other.JobID).Status)
}

func TestArrayExpansionAndCompletion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.tr.Events = true
	ctx := context.Background()
	size := int32(2*expandBatch + 5)
	p := storetest.Job(func(j *gantry.Job) {
		j.ArraySize, j.ArrayExpanded = size, -1
		j.ArrayProperties = &gantry.ArrayPropertiesDetail{Size: &size}
		j.DependsOn = []gantry.JobDependency{{Type: gantry.ArrayDependencySeq}}
	})
	require.NoError(t, b.store.JobInsert(ctx, p))
	res := b.runOnce(t)
	require.Equal(t, int(size), res.Expanded)
	parent := b.get(t, p.JobID)
	require.Equal(t, gantry.JobStatusPending, parent.Status)
	require.Equal(t, size, parent.ArrayExpanded)
	counts, err := b.store.JobCountByArrayStatus(ctx, p.JobID)
	require.NoError(t, err)
	require.Equal(t, map[gantry.JobStatus]int64{gantry.JobStatusRunnable: 1, gantry.JobStatusPending: int64(size) - 1}, counts,
		"SEQUENTIAL: only child 0 is runnable")
	// Every materialized child emitted its state change event.
	evs, err := b.store.EventList(ctx, &store.EventListParams{Limit: 10 * int(size)})
	require.NoError(t, err)
	childEvents := map[string]int{}
	for _, e := range evs {
		var d struct {
			Status          string                  `json:"status"`
			ArrayProperties *struct{ Index *int32 } `json:"arrayProperties"`
		}
		require.NoError(t, json.Unmarshal(e.Detail, &d))
		if d.ArrayProperties != nil && d.ArrayProperties.Index != nil {
			childEvents[d.Status]++
		}
	}
	require.Equal(t, map[string]int{"RUNNABLE": 1, "PENDING": int(size) - 1}, childEvents)
	first := b.get(t, p.JobID+":0")
	require.Equal(t, int32(0), *first.ArrayProperties.Index)
	require.Equal(t, size, first.ArraySize)

	// Child 0 fails: every later child fails by cascade, then the parent.
	b.move(t, first.JobID, gantry.JobStatusStarting, gantry.JobStatusRunning, gantry.JobStatusFailed)
	b.runOnce(t)
	parent = b.get(t, p.JobID)
	require.Equal(t, gantry.JobStatusFailed, parent.Status)
	require.Equal(t, ReasonArrayChildFailed, parent.StatusReason)
	counts, err = b.store.JobCountByArrayStatus(ctx, p.JobID)
	require.NoError(t, err)
	require.Equal(t, map[gantry.JobStatus]int64{gantry.JobStatusFailed: int64(size)}, counts)
}
