// Package metrics exposes Gantry's Prometheus metrics at /metrics
// (client_golang). Gauges that describe state (jobs by queue and status,
// compute environment capacity) are read from the store at scrape time, so
// they are right after a restart and agree with the API; counters and
// histograms (transitions, submit-to-start latency, API requests, executor
// errors, log bytes) are fed by hooks in the transitioner, the runner and the
// HTTP layer. docs/metrics.md lists every metric.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// Metrics holds Gantry's collectors.
type Metrics struct {
	registry *prometheus.Registry

	transitions    *prometheus.CounterVec
	submitToStart  prometheus.Histogram
	apiRequests    *prometheus.CounterVec
	apiDuration    *prometheus.HistogramVec
	executorErrors *prometheus.CounterVec
	logBytes       prometheus.Counter
	queueBlocked   *prometheus.CounterVec
	eventDelivery  *prometheus.CounterVec
	schedulerCycle prometheus.Histogram
}

// New registers every metric; st feeds the state gauges at scrape time.
func New(st store.Store, logger *slog.Logger) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gantry_job_transitions_total",
			Help: "Job state transitions, by previous and new status (from=\"\" for a submitted job).",
		}, []string{"from", "to"}),
		submitToStart: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gantry_job_submit_to_start_seconds",
			Help:    "Time from SubmitJob (createdAt) to the attempt running (startedAt).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}),
		apiRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gantry_api_requests_total",
			Help: "API requests by operation and result code (\"OK\" or the AWS error code).",
		}, []string{"operation", "code"}),
		apiDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gantry_api_request_duration_seconds",
			Help:    "API request handling time by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}, []string{"operation"}),
		executorErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gantry_executor_errors_total",
			Help: "Attempts the executor could not start, wait for or stop, by executor and kind.",
		}, []string{"executor", "kind"}),
		logBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gantry_log_bytes_written_total",
			Help: "Bytes of job output written to log streams.",
		}),
		queueBlocked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gantry_queue_blocked_total",
			Help: "Jobs found unable to fit any compute environment of their queue (Batch Job Queue Blocked).",
		}, []string{"queue"}),
		schedulerCycle: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gantry_scheduler_cycle_seconds",
			Help:    "Duration of scheduling cycles (promote, resolve, expand, usage, place, time limits).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		eventDelivery: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gantry_event_deliveries_total",
			Help: "EventBridge delivery attempts by target kind (batch, api-destination, webhook) and outcome (delivered, retry, dead).",
		}, []string{"target", "outcome"}),
	}
	m.registry.MustRegister(m.transitions, m.submitToStart, m.apiRequests, m.apiDuration, m.executorErrors,
		m.logBytes, m.queueBlocked, m.eventDelivery, m.schedulerCycle, &stateCollector{store: st, logger: logger},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cs, ok := st.(store.CommitStatser); ok {
		m.registry.MustRegister(commitCounters(cs)...)
	}
	return m
}

// commitCounters exports a single-writer store's group commit totals:
// rate(gantry_store_writer_busy_seconds_total[1m]) near 1 means the writer
// is the bottleneck; calls/commits is the batch size.
func commitCounters(cs store.CommitStatser) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gantry_store_commits_total",
			Help: "Transactions the store's single writer committed (each a batch of write calls: group commit).",
		}, func() float64 { return float64(cs.CommitStats().Commits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gantry_store_commit_calls_total",
			Help: "Write calls carried by those transactions; divided by gantry_store_commits_total, the batch size.",
		}, func() float64 { return float64(cs.CommitStats().Calls) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gantry_store_writer_busy_seconds_total",
			Help: "Time the store's single writer spent running batches, commits included; its rate is the writer's utilization (1: saturated).",
		}, func() float64 { return cs.CommitStats().Busy.Seconds() }),
	}
}

// SchedulerCycle records one scheduling cycle.
func (m *Metrics) SchedulerCycle(d time.Duration) { m.schedulerCycle.Observe(d.Seconds()) }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Registry is the registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Transition counts a job status change; from is "" for a new job.
func (m *Metrics) Transition(from, to gantry.JobStatus) {
	m.transitions.WithLabelValues(string(from), string(to)).Inc()
}

// Started observes a job's submit-to-start time.
func (m *Metrics) Started(job *gantry.Job) {
	if job.CreatedAt > 0 && job.StartedAt >= job.CreatedAt {
		m.submitToStart.Observe(float64(job.StartedAt-job.CreatedAt) / 1000)
	}
}

// Request counts one API request.
func (m *Metrics) Request(operation, code string, d time.Duration) {
	m.apiRequests.WithLabelValues(operation, code).Inc()
	m.apiDuration.WithLabelValues(operation).Observe(d.Seconds())
}

// ExecutorError counts an executor failure of a kind ("start", "wait", "stop").
func (m *Metrics) ExecutorError(executor, kind string) {
	m.executorErrors.WithLabelValues(executor, kind).Inc()
}

// LogBytes counts job output written.
func (m *Metrics) LogBytes(n int) { m.logBytes.Add(float64(n)) }

// QueueBlocked counts a job found blocked in a queue (ARN or name).
func (m *Metrics) QueueBlocked(queue string) {
	m.queueBlocked.WithLabelValues(nameOf(queue)).Inc()
}

// EventDelivery counts one delivery attempt of an event to a rule target.
func (m *Metrics) EventDelivery(target, outcome string) {
	m.eventDelivery.WithLabelValues(target, outcome).Inc()
}

func nameOf(arn string) string {
	if p, ok := gantry.ParseARN(arn); ok {
		return p.Name
	}
	return arn
}

var (
	jobsDesc = prometheus.NewDesc("gantry_jobs",
		"Jobs by queue and status (array children included), as the console dashboard counts them.",
		[]string{"queue", "status"}, nil)
	ceVCPUsDesc = prometheus.NewDesc("gantry_compute_environment_vcpus",
		"vCPUs of a compute environment: held by STARTING and RUNNING jobs (kind=in_use), or its cap (kind=max, -1 for none).",
		[]string{"compute_environment", "kind"}, nil)
	ceMemoryDesc = prometheus.NewDesc("gantry_compute_environment_memory_mib",
		"Memory (MiB) of a compute environment: held by STARTING and RUNNING jobs (kind=in_use), or its cap (kind=max, -1 for none).",
		[]string{"compute_environment", "kind"}, nil)
	scrapeErrorsDesc = prometheus.NewDesc("gantry_metrics_store_errors",
		"1 if reading state from the store failed during this scrape.", nil, nil)
)

// stateCollector reads state gauges from the store at scrape time.
type stateCollector struct {
	store  store.Store
	logger *slog.Logger
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsDesc
	ch <- ceVCPUsDesc
	ch <- ceMemoryDesc
	ch <- scrapeErrorsDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	failed := 0.0
	fail := func(what string, err error) {
		failed = 1
		if c.logger != nil {
			c.logger.ErrorContext(ctx, "metrics: read store", "what", what, "error", err)
		}
	}
	counts, err := c.store.JobCountByQueueStatus(ctx)
	if err != nil {
		fail("job counts", err)
	}
	type key struct{ queue, status string }
	seen := map[key]float64{}
	queues := map[string]bool{}
	for _, jc := range counts {
		q := nameOf(jc.QueueArn)
		queues[q] = true
		seen[key{q, string(jc.Status)}] += float64(jc.Count)
	}
	// Every status of every queue, zeros included, so dashboards and rate()
	// see a series from the start.
	if qs, err := c.store.JobQueueList(ctx, &store.JobQueueListParams{}); err == nil {
		for _, q := range qs {
			queues[q.JobQueueName] = true
		}
	} else {
		fail("queues", err)
	}
	for q := range queues {
		for _, st := range gantry.JobStatuses {
			ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, seen[key{q, string(st)}], q, string(st))
		}
	}
	ces, err := c.store.ComputeEnvironmentList(ctx, &store.ComputeEnvironmentListParams{})
	if err != nil {
		fail("compute environments", err)
	}
	used, err := c.store.JobCapacityInUse(ctx)
	if err != nil {
		fail("capacity in use", err)
	}
	for _, ce := range ces {
		u := used[ce.ComputeEnvironmentArn]
		name := ce.ComputeEnvironmentName
		ch <- prometheus.MustNewConstMetric(ceVCPUsDesc, prometheus.GaugeValue, u.VCPUs, name, "in_use")
		ch <- prometheus.MustNewConstMetric(ceVCPUsDesc, prometheus.GaugeValue, ce.MaxVCPUs(), name, "max")
		ch <- prometheus.MustNewConstMetric(ceMemoryDesc, prometheus.GaugeValue, float64(u.MemoryMiB), name, "in_use")
		ch <- prometheus.MustNewConstMetric(ceMemoryDesc, prometheus.GaugeValue, float64(ce.MaxMemoryMiB()), name, "max")
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrorsDesc, prometheus.GaugeValue, failed)
}
