package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// Modes of a container-throughput run.
const (
	ModeJobs      = "jobs"       // N SubmitJob calls
	ModeArray     = "array"      // one array job of size N
	ModeDockerCLI = "docker-cli" // the baseline: N `docker run`, P at a time
)

// Phase names in Result.Phases (all in milliseconds).
const (
	// PhaseSubmitCall is the latency of one SubmitJob call.
	PhaseSubmitCall = "submit_call"
	// PhaseCreatedToStarted is createdAt -> startedAt of each job: queueing
	// for a slot, scheduling, and starting the container.
	PhaseCreatedToStarted = "created_to_started"
	// PhaseStartedToStopped is startedAt -> stoppedAt of each job.
	PhaseStartedToStopped = "started_to_stopped"
	// PhaseStoppedToSeen is stoppedAt -> the poll that saw the job
	// finished (jobs mode only).
	PhaseStoppedToSeen = "stopped_to_seen"
	// PhaseDockerRun is the lifetime of one `docker run` process (baseline).
	PhaseDockerRun = "docker_run"
)

// Result is one run of a scenario, written as one JSON line.
type Result struct {
	Scenario string    `json:"scenario"`
	Label    string    `json:"label"`
	Target   string    `json:"target"`
	Mode     string    `json:"mode"`
	Rep      int       `json:"rep,omitempty"`
	Start    time.Time `json:"start"`
	// Jobs is N; Parallelism is how many may run at once by the
	// configuration (maxvCpus / job vCPU, or the baseline's P). The
	// endpoint may run fewer (host capacity) or more (moto ignores
	// maxvCpus): see PeakRunning.
	Jobs        int `json:"jobs"`
	Parallelism int `json:"parallelism"`
	Succeeded   int `json:"succeeded"`
	Failed      int `json:"failed"`
	// SubmitSeconds is first SubmitJob sent -> last SubmitJob answered.
	SubmitSeconds float64 `json:"submit_seconds,omitempty"`
	// WallSeconds is first SubmitJob sent -> the poll that saw the last job
	// finished (baseline: first docker run started -> last one exited).
	WallSeconds   float64 `json:"wall_seconds"`
	JobsPerSecond float64 `json:"jobs_per_second"`
	// LastStopSeconds is first SubmitJob sent -> the latest stoppedAt the
	// endpoint reports (its clock; same machine), without polling delay.
	LastStopSeconds float64 `json:"last_stop_seconds,omitempty"`
	// PeakRunning is the most jobs whose [startedAt, stoppedAt] overlap.
	PeakRunning int `json:"peak_running,omitempty"`
	// Phases are per-job distributions, in milliseconds, by Phase* name.
	Phases map[string]Dist `json:"phases,omitempty"`
	// Engine is what the Docker engine saw of the run's containers.
	Engine *EngineStats `json:"engine,omitempty"`
	// CPUSeconds is the user+system CPU time each watched process (and,
	// for the baseline, the docker CLI processes) used during the run;
	// RSSKiB is each watched process's resident set at the end.
	CPUSeconds map[string]float64 `json:"cpu_seconds,omitempty"`
	RSSKiB     map[string]int64   `json:"rss_kib,omitempty"`
	// Method says how a scenario set things up where endpoints differ
	// (e.g. how submitted jobs are kept from running), for the report.
	Method string `json:"method,omitempty"`
	// SubmitClient is the client the API scenarios' SubmitJob calls went
	// through (SubmitClientSDK, SubmitClientHTTP or SubmitClientWire); the
	// mode says it too, so that the report keeps them apart.
	SubmitClient string `json:"submit_client,omitempty"`
	// Metrics are the figures of the API-level scenarios, by Metric* key;
	// a key ending in "_per_s" is a rate (higher is better), any other a
	// time or a size (lower is better).
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Series is a scenario's figure over time, e.g. queued-1m's submit
	// rate (jobs/s) of each block of jobs, in order.
	Series []float64 `json:"series,omitempty"`
	// Notes are remarks for the report (e.g. a metric the server lacks).
	Notes []string `json:"notes,omitempty"`
	// Errors are the first few errors and failure reasons met.
	Errors []string `json:"errors,omitempty"`
}

// maxErrors bounds Result.Errors.
const maxErrors = 10

func (r *Result) addError(format string, args ...any) {
	if len(r.Errors) < maxErrors {
		r.Errors = append(r.Errors, fmt.Sprintf(format, args...))
	}
}

// OK reports whether every job succeeded.
func (r *Result) OK() bool { return r.Succeeded == r.Jobs && r.Failed == 0 }

// Dist summarizes a sample (milliseconds unless said otherwise).
type Dist struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// NewDist summarizes xs (nearest-rank percentiles). It does not modify xs.
func NewDist(xs []float64) Dist {
	if len(xs) == 0 {
		return Dist{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return Dist{N: len(s), Mean: sum / float64(len(s)), P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: s[len(s)-1]}
}

// interval is a [from, to] span in milliseconds.
type interval struct{ from, to float64 }

// peakOverlap returns the most intervals that overlap at any instant
// (an interval ending when another starts does not overlap it).
func peakOverlap(spans []interval) int {
	type edge struct {
		t     float64
		delta int
	}
	edges := make([]edge, 0, 2*len(spans))
	for _, s := range spans {
		edges = append(edges, edge{s.from, +1}, edge{s.to, -1})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if a.t != b.t {
			if a.t < b.t {
				return -1
			}
			return 1
		}
		return a.delta - b.delta // ends before starts at the same instant
	})
	cur, peak := 0, 0
	for _, e := range edges {
		cur += e.delta
		peak = max(peak, cur)
	}
	return peak
}

// WriteJSONLine appends r to w as one JSON line.
func WriteJSONLine(w io.Writer, r *Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadResults reads JSON lines written by WriteJSONLine; blank lines are
// skipped.
func ReadResults(r io.Reader) ([]*Result, error) {
	var out []*Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var res Result
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, &res)
	}
	return out, sc.Err()
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
