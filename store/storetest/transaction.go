package storetest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// exerciseInTx checks Store.InTx: atomic commit and rollback, isolation
// from implicit reads, and concurrent transactions.
func exerciseInTx(t *testing.T, newStore NewStoreFunc) {
	// writeAll writes one row of every kind, so rollback tests can check
	// that none survives.
	writeAll := func(ctx context.Context, tx store.Tx, job *gantry.Job) error {
		for _, err := range []error{
			tx.ComputeEnvironmentInsert(ctx, ComputeEnvironment("ce")),
			tx.JobQueueInsert(ctx, JobQueue("queue")),
			tx.JobDefinitionInsert(ctx, JobDefinition("def", 1)),
			tx.JobInsert(ctx, job),
			tx.EventInsert(ctx, &store.Event{Time: BaseTime, DetailType: "Batch Job State Change", Source: "aws.batch"}),
			tx.MetaSet(ctx, "key", "value"),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	}
	requireNothingWritten := func(t *testing.T, s store.Store, job *gantry.Job) {
		t.Helper()
		ctx := t.Context()
		_, err := s.ComputeEnvironmentGet(ctx, "ce")
		require.ErrorIs(t, err, gantry.ErrNotFound)
		_, err = s.JobQueueGet(ctx, "queue")
		require.ErrorIs(t, err, gantry.ErrNotFound)
		_, err = s.JobDefinitionGet(ctx, &store.JobDefinitionGetParams{Name: "def", Revision: 1})
		require.ErrorIs(t, err, gantry.ErrNotFound)
		rev, err := s.JobDefinitionLatestRevision(ctx, "def")
		require.NoError(t, err)
		require.Zero(t, rev)
		_, err = s.JobGet(ctx, job.JobID)
		require.ErrorIs(t, err, gantry.ErrNotFound)
		events, err := s.EventList(ctx, &store.EventListParams{})
		require.NoError(t, err)
		require.Empty(t, events)
		_, err = s.MetaGet(ctx, "key")
		require.ErrorIs(t, err, gantry.ErrNotFound)
	}

	t.Run("Commit", func(t *testing.T) {
		t.Parallel()
		s, ctx := newStore(t), t.Context()
		job := Job()
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
			if err := writeAll(ctx, tx, job); err != nil {
				return err
			}
			// Reads in the transaction see its writes.
			got, err := tx.JobGet(ctx, job.JobID)
			require.NoError(t, err)
			require.Equal(t, job, got)
			listed, err := tx.JobList(ctx, &store.JobListParams{})
			require.NoError(t, err)
			require.Equal(t, []*gantry.Job{job}, listed)
			return nil
		}))
		got, err := s.JobGet(ctx, job.JobID)
		require.NoError(t, err)
		require.Equal(t, job, got)
		_, err = s.ComputeEnvironmentGet(ctx, "ce")
		require.NoError(t, err)
		value, err := s.MetaGet(ctx, "key")
		require.NoError(t, err)
		require.Equal(t, "value", value)
		events, err := s.EventList(ctx, &store.EventListParams{})
		require.NoError(t, err)
		require.Len(t, events, 1)
	})

	t.Run("RollbackOnError", func(t *testing.T) {
		t.Parallel()
		s, ctx := newStore(t), t.Context()
		job := Job()
		errFn := errors.New("fn failed")
		err := s.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
			if err := writeAll(ctx, tx, job); err != nil {
				return err
			}
			return errFn
		})
		require.ErrorIs(t, err, errFn, "fn's error is returned")
		requireNothingWritten(t, s, job)
	})

	t.Run("RollbackOnStoreError", func(t *testing.T) {
		t.Parallel()
		s, ctx := newStore(t), t.Context()
		require.NoError(t, s.JobQueueInsert(ctx, JobQueue("existing")))
		job := Job()
		err := s.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
			if err := tx.JobInsert(ctx, job); err != nil {
				return err
			}
			return tx.JobQueueInsert(ctx, JobQueue("existing"))
		})
		require.ErrorIs(t, err, gantry.ErrAlreadyExists)
		_, err = s.JobGet(ctx, job.JobID)
		require.ErrorIs(t, err, gantry.ErrNotFound)
	})

	t.Run("RollbackOnPanic", func(t *testing.T) {
		t.Parallel()
		s, ctx := newStore(t), t.Context()
		job := Job()
		require.Panics(t, func() {
			_ = s.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
				if err := writeAll(ctx, tx, job); err != nil {
					return err
				}
				panic("boom")
			})
		})
		requireNothingWritten(t, s, job)
		// The store is still usable: the transaction released its locks.
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
			return tx.MetaSet(ctx, "after", "panic")
		}))
		require.NoError(t, s.MetaSet(ctx, "implicit", "write"))
	})

	t.Run("CanceledContext", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		called := false
		err := s.InTx(ctx, func(context.Context, store.Tx) error {
			called = true
			return nil
		})
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, called)
	})

	t.Run("UncommittedIsInvisible", func(t *testing.T) {
		t.Parallel()
		s, ctx := newStore(t), t.Context()
		job := Job()
		inserted := make(chan struct{})
		release := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- s.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
				if err := tx.JobInsert(ctx, job); err != nil {
					return err
				}
				close(inserted)
				<-release
				return nil
			})
		}()
		select {
		case <-inserted:
		case err := <-done:
			require.FailNow(t, "InTx ended early", "error: %v", err)
		}
		// Implicit reads do not wait for the open transaction, and do not
		// see its writes.
		_, err := s.JobGet(ctx, job.JobID)
		require.ErrorIs(t, err, gantry.ErrNotFound)
		listed, err := s.JobList(ctx, &store.JobListParams{})
		require.NoError(t, err)
		require.Empty(t, listed)
		close(release)
		require.NoError(t, <-done)
		got, err := s.JobGet(ctx, job.JobID)
		require.NoError(t, err)
		require.Equal(t, job, got)
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		s, ctx := newStore(t), t.Context()
		const (
			workers = 8
			perWork = 25
		)
		var wg sync.WaitGroup
		errs := make(chan error, workers*perWork+workers)
		stopReaders := make(chan struct{})
		var readers sync.WaitGroup
		for range 2 {
			readers.Go(func() {
				for {
					select {
					case <-stopReaders:
						return
					default:
					}
					if _, err := s.JobList(ctx, &store.JobListParams{Limit: 50}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		for w := range workers {
			wg.Go(func() {
				for i := range perWork {
					job := Job(func(j *gantry.Job) { j.JobName = "w" + strconv.Itoa(w) + "-" + strconv.Itoa(i) })
					err := s.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
						// A read-modify-write: lost updates would show in
						// the final count.
						n := 0
						v, err := tx.MetaGet(ctx, "counter")
						switch {
						case errors.Is(err, gantry.ErrNotFound):
						case err != nil:
							return err
						default:
							if n, err = strconv.Atoi(v); err != nil {
								return err
							}
						}
						if err := tx.MetaSet(ctx, "counter", strconv.Itoa(n+1)); err != nil {
							return err
						}
						if err := tx.JobInsert(ctx, job); err != nil {
							return err
						}
						return tx.EventInsert(ctx, &store.Event{Time: BaseTime, DetailType: "Batch Job State Change", Source: "aws.batch", Resources: []string{job.JobArn}})
					})
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(stopReaders)
		readers.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}

		v, err := s.MetaGet(ctx, "counter")
		require.NoError(t, err)
		require.Equal(t, strconv.Itoa(workers*perWork), v)
		counts, err := s.JobCountByQueueStatus(ctx)
		require.NoError(t, err)
		require.Len(t, counts, 1)
		require.Equal(t, int64(workers*perWork), counts[0].Count)
		events, err := s.EventList(ctx, &store.EventListParams{})
		require.NoError(t, err)
		require.Len(t, events, workers*perWork)
		for i := 1; i < len(events); i++ {
			require.Greater(t, events[i].ID, events[i-1].ID)
		}
	})
}
