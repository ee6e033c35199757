package storesqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
	"github.com/gantrybatch/gantry/store/storetest"
)

// TestJobQueueGetCached checks the decoded-queue cache: a caller changing
// the queue it got does not change what the next caller gets, and an
// updated row is seen at once, in and out of transactions.
func TestJobQueueGetCached(t *testing.T) {
	t.Parallel()
	s := openTestStore(t)
	ctx := context.Background()
	require.NoError(t, s.JobQueueInsert(ctx, storetest.JobQueue("q", func(q *gantry.JobQueue) {
		q.Tags = map[string]string{"team": "etl"}
	})))

	first, err := s.JobQueueGet(ctx, "q")
	require.NoError(t, err)
	first.State = gantry.StateDisabled
	first.Tags["team"] = "changed"
	first.ComputeEnvironmentOrder[0].ComputeEnvironment = "changed"

	again, err := s.JobQueueGet(ctx, "q")
	require.NoError(t, err)
	require.Equal(t, gantry.StateEnabled, again.State)
	require.Equal(t, "etl", again.Tags["team"])
	require.NotEqual(t, "changed", again.ComputeEnvironmentOrder[0].ComputeEnvironment)

	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		q, err := tx.JobQueueGet(ctx, "q")
		if err != nil {
			return err
		}
		q.State, q.Priority = gantry.StateDisabled, 42
		return tx.JobQueueUpdate(ctx, q)
	}))
	for _, get := range []func() (*gantry.JobQueue, error){
		func() (*gantry.JobQueue, error) { return s.JobQueueGet(ctx, "q") },
		func() (q *gantry.JobQueue, err error) {
			err = s.InTx(ctx, func(ctx context.Context, tx store.Tx) error { q, err = tx.JobQueueGet(ctx, "q"); return err })
			return q, err
		},
	} {
		q, err := get()
		require.NoError(t, err)
		require.Equal(t, gantry.StateDisabled, q.State)
		require.EqualValues(t, 42, q.Priority)
		require.Equal(t, "etl", q.Tags["team"])
	}
	_, err = s.JobQueueGet(ctx, "missing")
	require.ErrorIs(t, err, gantry.ErrNotFound)
}

// TestJobQueueGetTxCache checks the writer's queue cache: inside write
// transactions a queue read once is not read again (a row changed behind
// the store's back is not seen), every write through the store is seen at
// once, and writes that were undone (a failed callback, in or out of a
// batch) never show.
func TestJobQueueGetTxCache(t *testing.T) {
	t.Parallel()
	s := openTestStore(t)
	ctx := context.Background()
	require.NoError(t, s.JobQueueInsert(ctx, storetest.JobQueue("q")))
	txGet := func() *gantry.JobQueue {
		t.Helper()
		var q *gantry.JobQueue
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx store.Tx) (err error) {
			q, err = tx.JobQueueGet(ctx, "q")
			return err
		}))
		return q
	}
	setPriority := func(tx store.Tx, p int32) error {
		q, err := tx.JobQueueGet(ctx, "q")
		if err != nil {
			return err
		}
		q.Priority = p
		return tx.JobQueueUpdate(ctx, q)
	}
	require.EqualValues(t, 1, txGet().Priority)

	// Behind the store's back: the writer keeps what it read.
	_, err := s.writer.db.ExecContext(ctx, `UPDATE job_queues SET detail = json_set(detail, '$.priority', 99) WHERE name = 'q'`)
	require.NoError(t, err)
	require.EqualValues(t, 1, txGet().Priority, "served from the writer's cache")
	q, err := s.JobQueueGet(ctx, "q")
	require.NoError(t, err)
	require.EqualValues(t, 99, q.Priority, "readers read the row")

	// Writes through the store, in and out of transactions.
	require.NoError(t, setPriority(s, 5))
	require.EqualValues(t, 5, txGet().Priority)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx store.Tx) error { return setPriority(tx, 6) }))
	require.EqualValues(t, 6, txGet().Priority)

	// A callback that wrote, read its write (so the cache saw it) and
	// failed: its write is undone, and so is the cache's.
	boom := errors.New("boom")
	err = s.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := setPriority(tx, 7); err != nil {
			return err
		}
		q, err := tx.JobQueueGet(ctx, "q")
		if err != nil || q.Priority != 7 {
			return fmt.Errorf("read own write: %v, %v", q, err)
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	require.EqualValues(t, 6, txGet().Priority)

	// Callers change their copies freely.
	got := txGet()
	got.Priority, got.ComputeEnvironmentOrder[0].ComputeEnvironment = 100, "changed"
	again := txGet()
	require.EqualValues(t, 6, again.Priority)
	require.NotEqual(t, "changed", again.ComputeEnvironmentOrder[0].ComputeEnvironment)

	// Concurrent writers and readers (run with -race): once the writes
	// are done, transactions see the last one.
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				p := int32(1000 + w*100 + i)
				var err error
				if i%2 == 0 {
					err = setPriority(s, p)
				} else {
					err = s.InTx(ctx, func(ctx context.Context, tx store.Tx) error { return setPriority(tx, p) })
				}
				if err != nil {
					t.Error(err)
				}
				_ = txGet()
			}
		})
	}
	wg.Wait()
	last, err := s.JobQueueGet(ctx, "q")
	require.NoError(t, err)
	require.Equal(t, last.Priority, txGet().Priority)
}
