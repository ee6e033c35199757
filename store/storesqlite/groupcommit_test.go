package storesqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
	"github.com/gantrybatch/gantry/store/storetest"
)

// TestGroupCommitIsolatesCallbacks runs many concurrent transactions, every
// third of which fails after writing, and checks that exactly the
// successful ones are stored, whatever batches they were folded into.
func TestGroupCommitIsolatesCallbacks(t *testing.T) {
	s := openTestStore(t)
	ctx := t.Context()
	errBoom := errors.New("boom")
	const n = 300
	var wg sync.WaitGroup
	errs := make([]error, n)
	ids := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := storetest.Job()
			ids[i] = j.JobID
			errs[i] = s.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
				if err := tx.JobInsert(ctx, j); err != nil {
					return err
				}
				if i%3 == 0 {
					return errBoom
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i := range n {
		_, err := s.JobGet(ctx, ids[i])
		if i%3 == 0 {
			require.ErrorIs(t, errs[i], errBoom)
			require.ErrorIs(t, err, gantry.ErrNotFound, "job %d of a failed transaction was stored", i)
		} else {
			require.NoError(t, errs[i])
			require.NoError(t, err, "job %d of a committed transaction is missing", i)
		}
	}
}

// TestGroupCommitBatches checks that transactions waiting together share
// one commit: while one transaction holds the writer, others queue; they
// then run as one batch in arrival order, each seeing the writes of the
// ones before it.
func TestGroupCommitBatches(t *testing.T) {
	s := openTestStore(t)
	ctx := t.Context()
	release := make(chan struct{})
	holding := make(chan struct{})
	before, start := s.CommitStats(), time.Now()
	go func() {
		_ = s.InTx(ctx, func(context.Context, store.Tx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
				return tx.MetaSet(ctx, fmt.Sprintf("k%02d", i), "v")
			}))
		}()
	}
	require.Eventually(t, func() bool { return len(s.commits.reqs) == n }, 10*time.Second, time.Millisecond,
		"the %d transactions never queued behind the holder", n)
	// Not a wait for anything to happen: the holder's batch is kept
	// running this long, so the busy time has a known floor.
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	after, elapsed := s.CommitStats(), time.Since(start)
	// The holder's own commit, then one commit for all n.
	require.Equal(t, int64(2), after.Commits-before.Commits, "the queued transactions were not folded into one commit")
	require.Equal(t, int64(n+1), after.Calls-before.Calls)
	busy := after.Busy - before.Busy
	require.GreaterOrEqual(t, busy, 20*time.Millisecond, "the writer's busy time counts the holder's batch")
	require.LessOrEqual(t, busy, elapsed)
	for i := range n {
		v, err := s.MetaGet(ctx, fmt.Sprintf("k%02d", i))
		require.NoError(t, err)
		require.Equal(t, "v", v)
	}
}

// TestGroupCommitPanicReachesCaller checks that a panicking callback panics
// in its own caller and does not disturb a concurrent transaction.
func TestGroupCommitPanicReachesCaller(t *testing.T) {
	s := openTestStore(t)
	ctx := t.Context()
	require.PanicsWithValue(t, "callback panic", func() {
		_ = s.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
			if err := tx.MetaSet(ctx, "lost", "x"); err != nil {
				return err
			}
			panic("callback panic")
		})
	})
	_, err := s.MetaGet(ctx, "lost")
	require.ErrorIs(t, err, gantry.ErrNotFound)
	require.NoError(t, s.MetaSet(ctx, "after", "y"))
}

// TestGroupCommitCancelledWhileQueued checks that a caller whose context
// ends while it waits for the writer gets the context's error and that its
// callback never runs.
func TestGroupCommitCancelledWhileQueued(t *testing.T) {
	s := openTestStore(t)
	release := make(chan struct{})
	holding := make(chan struct{})
	go func() {
		_ = s.InTx(t.Context(), func(context.Context, store.Tx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	ran := false
	go func() {
		errc <- s.InTx(ctx, func(context.Context, store.Tx) error { ran = true; return nil })
	}()
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	close(release)
	require.NoError(t, s.InTx(t.Context(), func(context.Context, store.Tx) error { return nil }))
	require.False(t, ran)
}

// TestInTxAfterClose checks that InTx fails cleanly once the store is closed.
func TestInTxAfterClose(t *testing.T) {
	s, err := Open(t.Context(), Config{Path: t.TempDir() + "/g.db"})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.InTx(t.Context(), func(context.Context, store.Tx) error { return nil }), errClosed)
}

// BenchmarkJobInsertConcurrent measures committed single-job transactions
// from 16 concurrent callers (SubmitJob's shape): group commit folds them
// into shared commits. ns/op is per job. Compare BenchmarkJobInsert/PerInTx=1.
func BenchmarkJobInsertConcurrent(b *testing.B) {
	for _, maxBatch := range []int{1, 256} {
		b.Run(fmt.Sprintf("MaxBatch=%d", maxBatch), func(b *testing.B) {
			s, err := Open(b.Context(), Config{Path: b.TempDir() + "/g.db", MaxBatch: maxBatch})
			require.NoError(b, err)
			b.Cleanup(func() { _ = s.Close() })
			b.SetParallelism(8) // 8 x GOMAXPROCS(2) = 16 callers
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					j := storetest.Job()
					if err := s.InTx(b.Context(), func(ctx context.Context, tx store.Tx) error {
						return tx.JobInsert(ctx, j)
					}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
