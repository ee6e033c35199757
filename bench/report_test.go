package bench

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAggregate(t *testing.T) {
	t.Parallel()
	run := func(label string, wall float64, ok bool) *Result {
		r := &Result{Scenario: ScenarioContainerThroughput, Label: label, Mode: ModeJobs, Jobs: 100, Parallelism: 8,
			Succeeded: 100, WallSeconds: wall, JobsPerSecond: 100 / wall,
			Phases:     map[string]Dist{PhaseStartedToStopped: {N: 100, P50: wall * 10}},
			CPUSeconds: map[string]float64{MachineCPU: wall * 2, "dockerd": 1},
		}
		if !ok {
			r.Succeeded, r.Failed = 99, 1
		}
		return r
	}
	results := []*Result{
		run("gantry", 12, true), run("docker-run", 10, true), run("moto", 40, true),
		run("gantry", 10, true), run("docker-run", 11, true), run("moto", 20, false),
		run("gantry", 11, true), run("docker-run", 9, true),
	}
	var buf bytes.Buffer
	var totalJSON bytes.Buffer
	for _, r := range results {
		require.NoError(t, WriteJSONLine(&totalJSON, r))
	}
	back, err := ReadResults(&totalJSON)
	require.NoError(t, err)
	sums := Aggregate(back)
	require.Len(t, sums, 3)
	require.Equal(t, []string{"gantry", "docker-run", "moto"}, []string{sums[0].Label, sums[1].Label, sums[2].Label})
	require.Equal(t, Spread{Median: 11, Min: 10, Max: 12}, sums[0].WallSeconds)
	require.Equal(t, Spread{Median: 30, Min: 20, Max: 40}, sums[2].WallSeconds) // even count: mean of the middle two
	require.Equal(t, 3, sums[0].AllOK)
	require.Equal(t, 1, sums[2].AllOK)
	require.Equal(t, 110.0, sums[0].Phases[PhaseStartedToStopped])
	require.Equal(t, 22.0, sums[0].CPUSeconds[MachineCPU])

	WriteReport(&buf, sums, []string{"docker-run", "moto", "absent"})
	out := buf.String()
	require.Contains(t, out, "| label | mode | N | P | runs (all ok) | jobs/s median | jobs/s min–max | wall s median | wall spread | peak running (API) | time × docker-run | time × moto |")
	require.Contains(t, out, "| gantry | jobs | 100 | 8 | 3 (3) | 9.09 | 8.33–10.00 | 11.00 | 18% | 0 | 1.10 | 0.37 |")
	require.Contains(t, out, "| moto | jobs | 100 | 8 | 2 (1) |")
	require.Contains(t, out, "| label | machine | dockerd |")
	require.False(t, strings.Contains(out, "Docker engine events"), "no engine table without engine data")
}
