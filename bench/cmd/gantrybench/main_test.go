package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/bench"
	"github.com/gantrybatch/gantry/internal/gantrytest"
)

// TestRunAndReport drives the command as the benchmark script does, with
// N=5 against an in-process Gantry running jobs as local processes, then
// folds the results. It asserts that the tool completes and reports five
// successes, never timings.
func TestRunAndReport(t *testing.T) {
	t.Parallel()
	srv := gantrytest.New(t)
	out := filepath.Join(t.TempDir(), "results.jsonl")
	for _, args := range [][]string{
		{"-target", srv.URL(), "-label", "gantry", "-jobs", "5", "-poll", "20ms", "-timeout", "1m", "-out", out, "-watch", "self=" + strconv.Itoa(os.Getpid())},
		{"-target", srv.URL(), "-label", "gantry-array", "-array", "-jobs", "5", "-poll", "20ms", "-timeout", "1m", "-out", out},
		{"-target", "docker", "-docker", "true", "-label", "docker-run", "-jobs", "5", "-out", out},
	} {
		var stdout bytes.Buffer
		require.NoError(t, runScenario(t.Context(), args, &stdout), "args %q", args)
		require.Contains(t, stdout.String(), "| 5 | 8 | 1 (1) |")
	}

	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	results, err := bench.ReadResults(f)
	require.NoError(t, err)
	require.Len(t, results, 3)
	for _, r := range results {
		require.Equal(t, 5, r.Succeeded, "%s: %v", r.Label, r.Errors)
		require.Zero(t, r.Failed)
	}
	require.Contains(t, results[0].CPUSeconds, "self")

	var report bytes.Buffer
	require.NoError(t, runReport([]string{"-runs", "-baseline", "docker-run", out}, &report))
	require.Contains(t, report.String(), "time × docker-run")
	require.Contains(t, report.String(), "| gantry-array | array | 5 | 8 | 1 (1) |")
	require.Contains(t, report.String(), "| rep | label | start (UTC) |")
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		"no target":        {},
		"unknown scenario": {"-scenario", "nope", "-target", "docker"},
		"bad watch":        {"-target", "docker", "-watch", "x"},
		"stray argument":   {"-target", "docker", "extra"},
		"submit client":    {"-scenario", "submit-throughput", "-target", "http://127.0.0.1:1", "-submit-client", "nope"},
		"container http":   {"-target", "docker", "-submit-client", "http"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var stdout bytes.Buffer
			require.Error(t, runScenario(t.Context(), args, &stdout))
		})
	}
	require.Error(t, runReport(nil, &bytes.Buffer{}))
}

// TestAPIScenarios runs every API-level scenario once at a tiny size
// against one in-process Gantry (process executor), as the benchmark
// script does, then folds the results with a baseline. It asserts that
// each run completes and accounts for every job, never timings.
func TestAPIScenarios(t *testing.T) {
	t.Parallel()
	srv := gantrytest.New(t)
	out := filepath.Join(t.TempDir(), "results.jsonl")
	pid := strconv.Itoa(os.Getpid())
	common := []string{"-target", srv.URL(), "-poll", "10ms", "-timeout", "1m", "-out", out, "-server-pid", pid, "-log-level", "warn"}
	runs := map[string][]string{
		"submit-throughput 1":  {"-scenario", "submit-throughput", "-label", "gantry", "-jobs", "20", "-submit-clients", "1"},
		"submit-throughput 4":  {"-scenario", "submit-throughput", "-label", "gantry", "-jobs", "20", "-submit-clients", "4"},
		"submit-throughput 4b": {"-scenario", "submit-throughput", "-label", "other", "-jobs", "20", "-submit-clients", "4", "-hold", "oversize"},
		"submit-throughput 4h": {"-scenario", "submit-throughput", "-label", "gantry", "-jobs", "20", "-submit-clients", "4", "-submit-client", "http"},
		"e2e-throughput":       {"-scenario", "e2e-throughput", "-label", "gantry", "-jobs", "10", "-submit-clients", "2"},
		"e2e-throughput http":  {"-scenario", "e2e-throughput", "-label", "gantry", "-jobs", "10", "-submit-clients", "2", "-submit-client", "http"},
		"chain http":           {"-scenario", "chain-10k", "-label", "gantry", "-jobs", "3", "-submit-client", "http"},
		"fan-in http":          {"-scenario", "fan-in", "-label", "gantry", "-jobs", "3", "-submit-client", "http"},
		"submit-latency":       {"-scenario", "submit-latency", "-label", "gantry", "-samples", "3"},
		"describe-list":        {"-scenario", "describe-list-latency", "-label", "gantry", "-jobs", "120", "-submit-clients", "4", "-samples", "3"},
		"array":                {"-scenario", "array-10k", "-label", "gantry", "-jobs", "10"},
		"chain":                {"-scenario", "chain-10k", "-label", "gantry", "-jobs", "4"},
		"fan-in":               {"-scenario", "fan-in", "-label", "gantry", "-jobs", "5"},
		"queued":               {"-scenario", "queued-1m", "-label", "gantry", "-jobs", "40", "-block", "10", "-samples", "2"},
		"machine-limit":        {"-scenario", "machine-limit", "-label", "machine-limit", "-duration", "100ms", "-submit-clients", "1"},
	}
	t.Run("runs", func(t *testing.T) {
		for name, args := range runs {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				var stdout bytes.Buffer
				require.NoError(t, runScenario(t.Context(), append(slices.Clone(common), args...), &stdout), "args %q\n%s", args, stdout.String())
				require.Contains(t, stdout.String(), "| label | method | N | runs (all ok) |")
			})
		}
	})

	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	results, err := bench.ReadResults(f)
	require.NoError(t, err)
	require.Len(t, results, len(runs))
	wantJobs := map[string]int{
		bench.ScenarioE2EThroughput: 10, bench.ScenarioSubmitLatency: 3, bench.ScenarioDescribeListLatency: 120,
		bench.ScenarioArray: 10, bench.ScenarioChain: 4, bench.ScenarioFanIn: 6, bench.ScenarioQueued: 42,
	}
	httpJobs := map[string]int{bench.ScenarioChain: 3, bench.ScenarioFanIn: 4} // the http runs' sizes, where they differ
	clients := map[string]int{}
	for _, r := range results {
		clients[r.SubmitClient]++
		if r.Scenario != bench.ScenarioMachineLimit {
			require.Contains(t, r.Mode, "client="+r.SubmitClient, r.Scenario)
		}
		require.True(t, r.OK(), "%s %s %s: %d of %d, errors %v", r.Scenario, r.Mode, r.Label, r.Succeeded, r.Jobs, r.Errors)
		require.Positive(t, r.Jobs, r.Scenario)
		n, ok := wantJobs[r.Scenario]
		if m, hok := httpJobs[r.Scenario]; hok && r.SubmitClient == bench.SubmitClientHTTP {
			n = m
		}
		if ok {
			require.Equal(t, n, r.Jobs, r.Scenario)
		}
		if r.Scenario == bench.ScenarioSubmitThroughput {
			require.Equal(t, 20, r.Jobs)
			// Gantry's /metrics: the store writer's share of the run and
			// the calls per commit. (The share is no bounded fraction here:
			// the runs share one server and last milliseconds.)
			require.Greater(t, r.Metrics[bench.MetricWriterBusy], 0.0, r.Mode)
			require.GreaterOrEqual(t, r.Metrics[bench.MetricCallsPerCommit], 1.0, r.Mode)
		}
		if r.Scenario != bench.ScenarioMachineLimit {
			require.Contains(t, r.Metrics, bench.MetricRSSPeak, r.Scenario)
		}
		switch r.Scenario {
		case bench.ScenarioSubmitThroughput, bench.ScenarioE2EThroughput, bench.ScenarioArray, bench.ScenarioChain, bench.ScenarioMachineLimit:
			require.Positive(t, r.Metrics[bench.MetricJobsPerSecond], r.Scenario)
		case bench.ScenarioSubmitLatency:
			require.Equal(t, 3, r.Phases[bench.PhaseObservedRunning].N)
			require.Equal(t, 3, r.Phases[bench.PhaseCreatedToStartedAt].N)
		case bench.ScenarioDescribeListLatency:
			require.Equal(t, 3, r.Phases[bench.PhaseDescribe100].N)
			require.Equal(t, 3, r.Phases[bench.PhaseList100].N)
		case bench.ScenarioQueued:
			require.Len(t, r.Series, 4)
			require.Contains(t, r.Metrics, bench.MetricSettle)
			require.Equal(t, 2, r.Phases[bench.PhaseObservedRunning].N)
		case bench.ScenarioFanIn:
			require.Positive(t, r.Metrics[bench.MetricJobsPerSecond], r.Scenario)
			require.Contains(t, r.Metrics, bench.MetricFanInGap)
		}
	}

	require.Equal(t, map[string]int{"": 1, bench.SubmitClientSDK: len(runs) - 5, bench.SubmitClientHTTP: 4}, clients)

	var report bytes.Buffer
	require.NoError(t, runReport([]string{"-runs", "-baseline", "other", "-baseline", "machine-limit", out}, &report))
	for _, want := range []string{
		"### submit-throughput (clients=4 client=sdk)", "jobs_per_s vs other", "### queued-1m (clients=16 client=sdk)",
		"### e2e-throughput (jobs client=sdk)", "jobs_per_s vs machine-limit", "submit rate of each block",
		"### submit-throughput (clients=4 client=http)", "### e2e-throughput (jobs client=http)", "### chain-10k (chain client=http)",
		"### describe-list-latency (client=sdk)",
	} {
		require.Contains(t, report.String(), want)
	}

	// Everything the scenarios created was removed.
	qs, err := srv.Batch.DescribeJobQueues(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, qs.JobQueues)
}
