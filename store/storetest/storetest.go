// Package storetest is the conformance suite of store.Store: every backend
// (storesqlite, storepg, fakes) runs Exercise from its own tests, so they
// all honour the same behaviour and error contract.
//
//	func TestStore(t *testing.T) {
//		storetest.Exercise(t, func(t *testing.T) store.Store {
//			s, err := storesqlite.Open(t.Context(), storesqlite.Config{Path: filepath.Join(t.TempDir(), "db")})
//			require.NoError(t, err)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The Tx methods are exercised twice: through the Store, each call in its
// own implicit transaction, and inside one InTx transaction (TestTx). The
// package also exports fixture builders (Job, JobQueue, ...) for other
// packages' tests.
package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/store"
)

// NewStoreFunc returns a fresh, empty store and registers its Close with
// t.Cleanup. It is called once per test, possibly from parallel tests.
type NewStoreFunc func(t *testing.T) store.Store

// newTxFunc returns the Tx a test runs its calls on.
type newTxFunc func(t *testing.T) store.Tx

// Exercise runs the conformance suite against the stores newStore returns.
func Exercise(t *testing.T, newStore NewStoreFunc) {
	t.Helper()
	modes := []struct {
		name  string
		newTx newTxFunc
	}{
		{"Store", func(t *testing.T) store.Tx { return newStore(t) }},
		{"InTx", func(t *testing.T) store.Tx { return TestTx(t, newStore(t)) }},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			exerciseComputeEnvironments(t, mode.newTx)
			exerciseJobQueues(t, mode.newTx)
			exerciseJobDefinitions(t, mode.newTx)
			exerciseJobs(t, mode.newTx)
			exerciseJobList(t, mode.newTx)
			exerciseEvents(t, mode.newTx)
			exerciseMeta(t, mode.newTx)
			exerciseSchedulingPolicies(t, mode.newTx)
			exerciseEventBridge(t, mode.newTx)
		})
	}
	t.Run("Transactions", func(t *testing.T) {
		t.Parallel()
		exerciseInTx(t, newStore)
	})
}

var errRollback = errors.New("storetest: rollback")

// TestTx opens a transaction on s that stays open until the test ends and
// is then rolled back, and returns it. While it is open, a single-writer
// backend may block other writes to s, so the test should use only the Tx.
func TestTx(t *testing.T, s store.Store) store.Tx {
	t.Helper()
	txc := make(chan store.Tx)
	release := make(chan struct{})
	result := make(chan error, 1)
	go func() {
		// Not t.Context(): it is cancelled before cleanups run, and the
		// rollback below must be deliberate.
		result <- s.InTx(context.Background(), func(_ context.Context, tx store.Tx) error {
			txc <- tx
			<-release
			return errRollback
		})
	}()
	select {
	case tx := <-txc:
		t.Cleanup(func() {
			close(release)
			require.ErrorIs(t, <-result, errRollback)
		})
		return tx
	case err := <-result:
		require.FailNow(t, "InTx returned before running fn", "error: %v", err)
		return nil
	}
}
