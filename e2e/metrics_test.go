package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/gantrytest"
)

// scrape reads /metrics and returns the value of the series of name whose
// labels include want (0 if absent), summing histograms' sample counts.
func scrape(t *testing.T, url string) func(name string, want map[string]string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return func(name string, want map[string]string) float64 {
		f, ok := families[name]
		if !ok {
			return 0
		}
		total := 0.0
	metrics:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue metrics
				}
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				total += m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				total += m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				total += float64(m.GetHistogram().GetSampleCount())
			}
		}
		return total
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	started := time.Now()
	srv := gantrytest.New(t)
	c := srv.Batch
	env := gantrytest.Setup(t, c, "m", 4, "echo", "hello")
	var ids []string
	for range 3 {
		ids = append(ids, submit(t, c, &batch.SubmitJobInput{JobName: aws.String("ok"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition)}))
	}
	failing := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("bad"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"/no/such/binary"}}})
	for _, id := range ids {
		wait(t, c, id, types.JobStatusSucceeded)
	}
	wait(t, c, failing, types.JobStatusFailed)
	_, err := c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("x"), JobQueue: aws.String("nope"), JobDefinition: aws.String(env.JobDefinition)})
	requireClientException(t, err, "does not exist")
	_, release := blockCE(t, c, env)
	defer release()

	m := scrape(t, srv.URL())
	q := map[string]string{"queue": env.Queue}
	with := func(kv ...string) map[string]string {
		out := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	require.Equal(t, 3.0, m("gantry_jobs", with("queue", env.Queue, "status", "SUCCEEDED")))
	require.Equal(t, 1.0, m("gantry_jobs", with("queue", env.Queue, "status", "FAILED")))
	require.Equal(t, 1.0, m("gantry_jobs", with("queue", env.Queue, "status", "RUNNING")))
	require.Equal(t, 5.0, m("gantry_jobs", q))
	require.Equal(t, 5.0, m("gantry_job_transitions_total", with("from", "", "to", "SUBMITTED")))
	require.Equal(t, 3.0, m("gantry_job_transitions_total", with("from", "RUNNING", "to", "SUCCEEDED")))
	require.Equal(t, 1.0, m("gantry_job_transitions_total", with("from", "STARTING", "to", "FAILED")))
	require.Equal(t, 4.0, m("gantry_job_submit_to_start_seconds", nil), "3 successes and the blocker ran")
	require.Equal(t, 5.0, m("gantry_api_requests_total", with("operation", "SubmitJob", "code", "OK")))
	require.Equal(t, 1.0, m("gantry_api_requests_total", with("operation", "SubmitJob", "code", "ClientException")))
	require.Equal(t, 6.0, m("gantry_api_request_duration_seconds", with("operation", "SubmitJob")))
	require.Equal(t, 1.0, m("gantry_executor_errors_total", with("kind", "start")))
	require.Equal(t, 4.0, m("gantry_compute_environment_vcpus", with("compute_environment", env.CE, "kind", "max")))
	require.Equal(t, 1.0, m("gantry_compute_environment_vcpus", with("compute_environment", env.CE, "kind", "in_use")))
	require.Equal(t, 128.0, m("gantry_compute_environment_memory_mib", with("compute_environment", env.CE, "kind", "in_use")))
	require.Equal(t, float64(3*len("hello\n")), m("gantry_log_bytes_written_total", nil))
	require.Equal(t, 0.0, m("gantry_metrics_store_errors", nil))
	// Group commit: every write went through the writer, several to a commit
	// at most; the writer was busy for some of the time, never more.
	commits, calls := m("gantry_store_commits_total", nil), m("gantry_store_commit_calls_total", nil)
	require.GreaterOrEqual(t, commits, 5.0, "at least the five submits committed")
	require.GreaterOrEqual(t, calls, commits)
	busy := m("gantry_store_writer_busy_seconds_total", nil)
	require.Greater(t, busy, 0.0)
	require.Less(t, busy, time.Since(started).Seconds())

	// A job too large for the queue is counted as blocked.
	submit(t, c, &batch.SubmitJobInput{JobName: aws.String("huge"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ContainerOverrides: &types.ContainerOverrides{ResourceRequirements: []types.ResourceRequirement{{Type: types.ResourceTypeVcpu, Value: aws.String("64")}}}})
	require.Eventually(t, func() bool {
		return scrape(t, srv.URL())("gantry_queue_blocked_total", q) == 1
	}, jobTimeout, 20*time.Millisecond)
}
