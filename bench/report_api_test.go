package bench

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAPIReport(t *testing.T) {
	t.Parallel()
	run := func(scenario, mode, label string, metrics map[string]float64) *Result {
		return &Result{Scenario: scenario, Mode: mode, Label: label, Jobs: 10, Succeeded: 10, Method: "hold=x", Metrics: metrics}
	}
	results := []*Result{
		run(ScenarioSubmitThroughput, "clients=16", "gantry", map[string]float64{MetricJobsPerSecond: 1000, MetricCallP99: 5}),
		run(ScenarioSubmitThroughput, "clients=16", "gantry", map[string]float64{MetricJobsPerSecond: 3000, MetricCallP99: 3}),
		run(ScenarioSubmitThroughput, "clients=16", "moto", map[string]float64{MetricJobsPerSecond: 400, MetricCallP99: 40}),
		run(ScenarioSubmitThroughput, "clients=1", "gantry", map[string]float64{MetricJobsPerSecond: 700}),
		run(ScenarioE2EThroughput, "jobs", "gantry", map[string]float64{MetricJobsPerSecond: 500}),
		run(ScenarioMachineLimit, "parallel=2", "machine-limit", map[string]float64{MetricJobsPerSecond: 2000}),
		{Scenario: ScenarioQueued, Mode: "clients=16", Label: "gantry", Jobs: 4, Succeeded: 4, Series: []float64{100, 50},
			Metrics: map[string]float64{MetricFirstBlock: 100}, Notes: []string{"no cycles"}},
		{Scenario: ScenarioContainerThroughput, Label: "gantry", Mode: ModeJobs, Jobs: 5, Succeeded: 5, WallSeconds: 1, JobsPerSecond: 5},
	}
	sums := Aggregate(results)
	require.Len(t, sums, 7) // the two gantry submit-throughput runs fold, the container run keeps its own group
	require.Equal(t, Spread{Median: 2000, Min: 1000, Max: 3000}, sums[0].Metrics[MetricJobsPerSecond])

	var buf bytes.Buffer
	WriteReport(&buf, sums, []string{"moto", "machine-limit"})
	out := buf.String()
	require.Contains(t, out, "| label | mode | N | P |") // the container-throughput table comes first
	require.Contains(t, out, "### submit-throughput (clients=16)")
	require.Contains(t, out, "| gantry | hold=x | 10 | 2 (2) | 2000 (1000–3000) | 4 (3–5) | 5.00 | 10.00 |")
	require.Contains(t, out, "| moto | hold=x | 10 | 1 (1) | 400 | 40 | 1.00 | 1.00 |")
	require.Contains(t, out, "| gantry | hold=x | 10 | 1 (1) | 700 |\n")      // no moto run with 1 client: no ratio
	require.Contains(t, out, "| gantry | hold=x | 10 | 1 (1) | 500 | 0.25 |") // e2e vs the machine's fork rate
	require.Contains(t, out, "gantry: submit rate of each block of jobs (block size in the method), jobs/s: 100, 50 (first / last: 2.00)")
	require.Contains(t, out, "gantry: note: no cycles")
	require.Equal(t, 1, strings.Count(out, "### submit-throughput (clients=16)"))
}

func TestCycleStats(t *testing.T) {
	t.Parallel()
	const before = `# HELP gantry_scheduler_cycle_seconds x
gantry_scheduler_cycle_seconds_bucket{le="0.005"} 10
gantry_scheduler_cycle_seconds_bucket{le="0.05"} 12
gantry_scheduler_cycle_seconds_bucket{le="0.5"} 12
gantry_scheduler_cycle_seconds_bucket{le="+Inf"} 12
gantry_scheduler_cycle_seconds_sum 0.04
gantry_scheduler_cycle_seconds_count 12
other_metric 1
`
	const after = `gantry_scheduler_cycle_seconds_bucket{le="0.005"} 11
gantry_scheduler_cycle_seconds_bucket{le="0.05"} 14
gantry_scheduler_cycle_seconds_bucket{le="0.5"} 16
gantry_scheduler_cycle_seconds_bucket{le="+Inf"} 16
gantry_scheduler_cycle_seconds_sum 0.44
gantry_scheduler_cycle_seconds_count 16
`
	b, err := parseHistogram(strings.NewReader(before), CycleMetric)
	require.NoError(t, err)
	a, err := parseHistogram(strings.NewReader(after), CycleMetric)
	require.NoError(t, err)
	res := &Result{Metrics: map[string]float64{}}
	cycleStats(res, b, a)
	require.Equal(t, 4.0, res.Metrics[MetricCycles])
	require.InDelta(t, 100, res.Metrics[MetricCycleMean], 1e-9)
	require.InDelta(t, 500, res.Metrics[MetricCycleMax], 1e-9)

	none, err := parseHistogram(strings.NewReader("other_metric 1\n"), CycleMetric)
	require.NoError(t, err)
	require.Nil(t, none)
}

func TestParseCounters(t *testing.T) {
	const text = `# HELP gantry_store_commits_total x
# TYPE gantry_store_commits_total counter
gantry_store_commits_total 42
gantry_store_commit_calls_total 1.5e+02
gantry_store_writer_busy_seconds_total{shard="a"} 3
other_total 7
`
	m, err := parseCounters(strings.NewReader(text), CommitsMetric, CommitCallsMetric, WriterBusyMetric)
	require.NoError(t, err)
	require.Equal(t, map[string]float64{CommitsMetric: 42, CommitCallsMetric: 150}, m, "labelled series and other names are left out")
	_, err = parseCounters(strings.NewReader("gantry_store_commits_total x\n"), CommitsMetric)
	require.ErrorContains(t, err, "gantry_store_commits_total")
}
