package storesqlite

import (
	"context"
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
