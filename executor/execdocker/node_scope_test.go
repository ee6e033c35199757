package execdocker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/executor"
	"github.com/gantrybatch/gantry/executor/execdocker"
	"github.com/gantrybatch/gantry/executor/execdocker/dockertest"
)

// TestCleanupKeepsOtherServersContainers: two Gantry servers share one
// engine; a server's startup cleanup must never touch the other's attempts.
func TestCleanupKeepsOtherServersContainers(t *testing.T) {
	t.Parallel()
	dockertest.RequireEngine(t)
	a := newExecutor(t, execdocker.Config{NodeID: "i-aaaaaaaaaaaaaaaaa"})
	b := newExecutor(t, execdocker.Config{NodeID: "i-bbbbbbbbbbbbbbbbb"})
	taskA, _ := testTask(t, "sleep", "30")
	taskA.Labels[executor.LabelNodeID] = "i-aaaaaaaaaaaaaaaaa"
	h := start(t, a, taskA)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := b.Cleanup(ctx, func(string) bool { return false })
	require.NoError(t, err)
	require.Zero(t, n, "server b removed server a's container")
	require.Len(t, taskContainers(t, ctx, taskA.ID), 1)

	// Server a's own cleanup still removes what it no longer tracks.
	n, err = a.Cleanup(ctx, func(id string) bool { return id != taskA.ID })
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Empty(t, taskContainers(t, ctx, taskA.ID))
	// Wait returns (the container was killed) rather than hang.
	if res, err := a.Wait(ctx, h); err == nil {
		require.Equal(t, 137, res.ExitCode)
	}
}
