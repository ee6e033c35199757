package maintenance

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/control"
	"github.com/gantrybatch/gantry/internal/scheduler"
	"github.com/gantrybatch/gantry/store"
	"github.com/gantrybatch/gantry/store/storesqlite"
	"github.com/gantrybatch/gantry/store/storetest"
)

// testBundle is a real SQLite store, a settable clock, and a JobDeleter
// around the store that records each batch.
type testBundle struct {
	store store.Store

	mu      sync.Mutex
	now     time.Time
	batches []time.Time
	// afterBatch, if set, runs after every delete statement.
	afterBatch func()
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	st, err := storesqlite.Open(t.Context(), storesqlite.Config{Path: filepath.Join(t.TempDir(), "db")})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return &testBundle{store: st, now: time.UnixMilli(storetest.BaseTime).Add(60 * 24 * time.Hour)}
}

func (b *testBundle) clock() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.now
}

func (b *testBundle) set(now time.Time) {
	b.mu.Lock()
	b.now = now
	b.mu.Unlock()
}

func (b *testBundle) advance(d time.Duration) {
	b.mu.Lock()
	b.now = b.now.Add(d)
	b.mu.Unlock()
}

// JobDeleteStopped makes the bundle a JobDeleter.
func (b *testBundle) JobDeleteStopped(ctx context.Context, params *store.JobDeleteStoppedParams) (int, error) {
	n, err := b.store.JobDeleteStopped(ctx, params)
	b.mu.Lock()
	b.batches = append(b.batches, time.Now())
	after := b.afterBatch
	b.mu.Unlock()
	if after != nil {
		after()
	}
	return n, err
}

func (b *testBundle) retention(cfg Config) *JobRetention {
	cfg.Store, cfg.Now, cfg.Logger = b, b.clock, slog.New(slog.DiscardHandler)
	return NewJobRetention(cfg)
}

func (b *testBundle) exists(t *testing.T, id string) bool {
	t.Helper()
	_, err := b.store.JobGet(t.Context(), id)
	if errors.Is(err, gantry.ErrNotFound) {
		return false
	}
	require.NoError(t, err)
	return true
}

func TestJobRetentionRunOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	now := b.clock()
	ago := func(d time.Duration) int64 { return now.Add(-d).UnixMilli() }
	const day = 24 * time.Hour
	var old []*gantry.Job
	for i := range 5 {
		status := gantry.JobStatusSucceeded
		if i%2 == 1 {
			status = gantry.JobStatusFailed
		}
		old = append(old, storetest.Job(storetest.Stopped(status, ago(31*day+time.Duration(i)*time.Hour))))
	}
	edge := storetest.Job(storetest.Stopped(gantry.JobStatusFailed, ago(30*day))) // not strictly before the cutoff
	recent := storetest.Job(storetest.Stopped(gantry.JobStatusSucceeded, ago(29*day)))
	runnable := storetest.Job(func(j *gantry.Job) { j.Status = gantry.JobStatusRunnable })
	running := storetest.Job(storetest.Placed(gantry.JobStatusRunning, "ce", gantry.Resources{VCPUs: 1}))
	for _, j := range append(old, edge, recent, runnable, running) {
		require.NoError(t, b.store.JobInsert(ctx, j))
	}

	r := b.retention(Config{BatchSize: 2})
	res, err := r.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, &RetentionResult{StoppedBefore: ago(30 * day), Deleted: 5, Batches: 3}, res)
	for _, j := range old {
		require.False(t, b.exists(t, j.JobID), "job stopped 31 days ago")
	}
	for _, j := range []*gantry.Job{edge, recent, runnable, running} {
		require.True(t, b.exists(t, j.JobID))
	}
	// Batches are apart by at least BatchPause: the writer is free in
	// between.
	for i := 1; i < len(b.batches); i++ {
		require.GreaterOrEqual(t, b.batches[i].Sub(b.batches[i-1]), DefaultBatchPause)
	}

	res, err = r.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, res.Deleted)
	require.Equal(t, 1, res.Batches)

	// Two days on, the recent job is due as well; unfinished jobs never are.
	b.advance(2 * day)
	res, err = r.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, res.Deleted)
	require.False(t, b.exists(t, edge.JobID))
	require.False(t, b.exists(t, recent.JobID))
	require.True(t, b.exists(t, runnable.JobID))
	require.True(t, b.exists(t, running.JobID))
}

func TestJobRetentionCustomRetentionAndCancel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for range 3 {
		require.NoError(t, b.store.JobInsert(ctx, storetest.Job(storetest.Stopped(gantry.JobStatusSucceeded, b.clock().Add(-49*time.Hour).UnixMilli()))))
	}
	keep := storetest.Job(storetest.Stopped(gantry.JobStatusSucceeded, b.clock().Add(-47*time.Hour).UnixMilli()))
	require.NoError(t, b.store.JobInsert(ctx, keep))
	// Cancelled after the first batch: the pass stops in its pause.
	b.afterBatch = cancel
	r := b.retention(Config{Retention: 48 * time.Hour, BatchSize: 1, BatchPause: time.Hour})
	res, err := r.RunOnce(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 1, res.Deleted)
	require.Equal(t, 1, res.Batches)

	// The next pass finishes the job; 47 hours is within the retention.
	b.afterBatch = nil
	res, err = b.retention(Config{Retention: 48 * time.Hour, BatchSize: 10}).RunOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, 2, res.Deleted)
	require.True(t, b.exists(t, keep.JobID))
}

// TestJobRetentionArrays runs an array job through the real scheduler, its
// children finishing at different times, and checks that retention deletes
// the children before their parent: the parent stops with or after its last
// child, so it is never deleted while a child that stopped before it
// remains. A child that stopped in the same millisecond as its parent may
// go in the next batch of the same pass (deletion orders by stoppedAt only),
// never later.
func TestJobRetentionArrays(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	b.set(time.UnixMilli(storetest.BaseTime).Add(time.Hour))
	tr := &control.Transitioner{Now: b.clock, Logger: slog.New(slog.DiscardHandler)}
	sched := scheduler.New(scheduler.Config{
		Store: b.store, Transitioner: tr, Now: b.clock, Logger: slog.New(slog.DiscardHandler), Dispatch: func(*gantry.Job) {},
	})
	cycle := func() {
		t.Helper()
		_, err := sched.RunOnce(ctx)
		require.NoError(t, err)
	}
	require.NoError(t, b.store.ComputeEnvironmentInsert(ctx, storetest.ComputeEnvironment("ce")))
	require.NoError(t, b.store.JobQueueInsert(ctx, storetest.JobQueue("queue")))
	const size = 4
	n := int32(size)
	p := storetest.Job(func(j *gantry.Job) {
		j.ArraySize, j.ArrayExpanded = n, -1
		j.ArrayProperties = &gantry.ArrayPropertiesDetail{Size: &n}
		j.Resources = gantry.Resources{VCPUs: 1, MemoryMiB: 512}
	})
	require.NoError(t, b.store.JobInsert(ctx, p))
	cycle() // promote, expand
	cycle() // place
	children := make([]string, size)
	for i := range size {
		children[i] = p.JobID + ":" + strconv.Itoa(i)
	}
	// The children end an hour apart; the last one fails.
	for i, id := range children {
		b.advance(time.Hour)
		require.NoError(t, b.store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
			j, err := tx.JobGet(ctx, id)
			if err != nil {
				return err
			}
			require.Equal(t, gantry.JobStatusStarting, j.Status)
			j.Status = gantry.JobStatusRunning
			if err := tr.Transition(ctx, tx, j, gantry.JobStatusStarting); err != nil {
				return err
			}
			j.Status, j.StoppedAt = gantry.JobStatusSucceeded, b.clock().UnixMilli()
			if i == size-1 {
				j.Status = gantry.JobStatusFailed
			}
			return tr.Transition(ctx, tx, j, gantry.JobStatusRunning)
		}))
		cycle()
	}
	parent, err := b.store.JobGet(ctx, p.JobID)
	require.NoError(t, err)
	require.Equal(t, gantry.JobStatusFailed, parent.Status)
	for _, id := range children {
		c, err := b.store.JobGet(ctx, id)
		require.NoError(t, err)
		require.LessOrEqual(t, c.StoppedAt, parent.StoppedAt, "a child stops before its parent")
	}

	// After every batch: a parent is gone only once all its children are
	// (DescribeJobs never sees half an array).
	check := func() {
		if b.exists(t, p.JobID) {
			return
		}
		for _, id := range children {
			_, err := b.store.JobGet(ctx, id)
			require.ErrorIs(t, err, gantry.ErrNotFound, "child %s outlived its parent", id)
		}
	}
	b.afterBatch = check
	r := b.retention(Config{Retention: 24 * time.Hour, BatchSize: 1, BatchPause: time.Millisecond})

	// 24 h after the second child: the children wait for their parent, so
	// nothing goes yet.
	b.set(time.UnixMilli(storetest.BaseTime).Add(time.Hour + 2*time.Hour + 24*time.Hour + time.Minute))
	res, err := r.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, res.Deleted)
	require.True(t, b.exists(t, p.JobID))
	require.True(t, b.exists(t, children[1]))

	// 24 h after the parent: everything goes, children first.
	b.set(time.UnixMilli(parent.StoppedAt).Add(24*time.Hour + time.Millisecond))
	res, err = r.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, len(children)+1, res.Deleted)
	require.False(t, b.exists(t, p.JobID))
	for _, id := range children {
		require.False(t, b.exists(t, id), "no child is left after the pass")
	}
}

func TestJobRetentionStartStop(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	old := storetest.Job(storetest.Stopped(gantry.JobStatusSucceeded, b.clock().Add(-31*24*time.Hour).UnixMilli()))
	require.NoError(t, b.store.JobInsert(ctx, old))
	r := b.retention(Config{Interval: time.Millisecond})
	r.ranOnce = make(chan *RetentionResult)
	r.Start(ctx)
	r.Start(ctx) // idempotent
	res := <-r.ranOnce
	require.Equal(t, 1, res.Deleted, "a pass runs at once")
	require.False(t, b.exists(t, old.JobID))

	late := storetest.Job(storetest.Stopped(gantry.JobStatusFailed, b.clock().Add(-31*24*time.Hour).UnixMilli()))
	require.NoError(t, b.store.JobInsert(ctx, late))
	for deleted := 0; deleted == 0; {
		select {
		case res := <-r.ranOnce:
			deleted = res.Deleted
		case <-time.After(5 * time.Second):
			t.Fatal("no pass deleted the late job")
		}
	}
	require.False(t, b.exists(t, late.JobID))
	r.Stop()
	r.Stop() // idempotent

	// Restartable after Stop.
	r.Start(ctx)
	<-r.ranOnce
	r.Stop()
}

func TestNewJobRetentionDefaults(t *testing.T) {
	t.Parallel()
	r := NewJobRetention(Config{Store: setup(t).store})
	require.Equal(t, DefaultRetention, r.cfg.Retention)
	require.Equal(t, DefaultInterval, r.cfg.Interval)
	require.Equal(t, DefaultBatchSize, r.cfg.BatchSize)
	require.Equal(t, DefaultBatchPause, r.cfg.BatchPause)
	require.NotNil(t, r.cfg.Now)
	require.NotNil(t, r.cfg.Logger)
	require.Panics(t, func() { NewJobRetention(Config{}) })
	require.Panics(t, func() { NewJobRetention(Config{Store: r.cfg.Store, Retention: -time.Hour}) })
}

func TestValidateRetention(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		d       time.Duration
		wantErr bool
	}{
		"keep forever":   {d: 0},
		"a day":          {d: 24 * time.Hour},
		"default":        {d: 720 * time.Hour},
		"a year":         {d: 8760 * time.Hour},
		"under a day":    {d: 23 * time.Hour, wantErr: true},
		"one nanosecond": {d: 1, wantErr: true},
		"negative":       {d: -time.Hour, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := ValidateRetention(tc.d)
			if tc.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
		})
	}
}
