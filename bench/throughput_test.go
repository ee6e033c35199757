package bench_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/bench"
	"github.com/gantrybatch/gantry/internal/gantrytest"
)

// TestContainerThroughput runs the scenario against an in-process Gantry
// whose jobs are local processes (no Docker needed): it must create its
// environment, see every job succeed, and report it. No timing is asserted.
func TestContainerThroughput(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		array   bool
		clients int
	}{
		"jobs":            {},
		"jobs, 3 clients": {clients: 3},
		"array":           {array: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := gantrytest.New(t)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			const n = 5
			res, err := bench.ContainerThroughput(ctx, bench.ThroughputConfig{
				Client:        bench.NewClient(bench.ClientConfig{Endpoint: srv.URL(), AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}),
				Target:        srv.URL(),
				Label:         "gantry-process",
				Jobs:          n,
				Array:         tc.array,
				SubmitClients: tc.clients,
				PollInterval:  20 * time.Millisecond,
				Timeout:       time.Minute,
				Watch:         map[string]int{},
				Logger:        slog.New(slog.NewTextHandler(t.Output(), nil)),
			})
			require.NoError(t, err)
			require.Equal(t, n, res.Succeeded, "errors: %v", res.Errors)
			require.Zero(t, res.Failed)
			require.True(t, res.OK())
			require.Equal(t, 8, res.Parallelism) // 2 vCPUs / 0.25
			require.Positive(t, res.WallSeconds)
			require.Positive(t, res.JobsPerSecond)
			require.Equal(t, n, res.Phases[bench.PhaseStartedToStopped].N)
			require.Equal(t, n, res.Phases[bench.PhaseCreatedToStarted].N)
			if !tc.array {
				require.Equal(t, n, res.Phases[bench.PhaseSubmitCall].N)
				require.Equal(t, n, res.Phases[bench.PhaseStoppedToSeen].N)
			}

			// The environment was removed afterwards.
			out, err := srv.Batch.DescribeJobQueues(ctx, nil)
			require.NoError(t, err)
			require.Empty(t, out.JobQueues)
		})
	}
}

// TestDockerRun runs the baseline with stand-ins for the docker CLI: every
// "container" is counted, and failures are counted, not fatal.
func TestDockerRun(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		cli            string
		wantSucceeded  int
		wantFailed     int
		wantErrorsSome bool
	}{
		"succeeding": {cli: "true", wantSucceeded: 6},
		"failing":    {cli: "false", wantFailed: 6, wantErrorsSome: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res, err := bench.DockerRun(t.Context(), bench.DockerRunConfig{
				DockerCLI: tc.cli, Jobs: 6, Parallel: 4, RunArgs: []string{"--init"},
				Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
			})
			require.NoError(t, err)
			require.Equal(t, tc.wantSucceeded, res.Succeeded)
			require.Equal(t, tc.wantFailed, res.Failed)
			require.Equal(t, tc.wantErrorsSome, len(res.Errors) > 0)
			require.Equal(t, 6, res.Phases[bench.PhaseDockerRun].N)
			require.LessOrEqual(t, res.PeakRunning, 4)
			require.Contains(t, res.Target, " run --rm --name gb-")
			require.Contains(t, res.Target, " --init gantry-test/busybox:latest true")
		})
	}
}
