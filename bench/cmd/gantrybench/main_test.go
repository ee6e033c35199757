package main

import (
	"bytes"
	"os"
	"path/filepath"
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
