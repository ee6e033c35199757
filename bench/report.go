package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Spread is the median, minimum and maximum of one number over runs.
type Spread struct {
	Median, Min, Max float64
}

func newSpread(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Spread{Median: m, Min: s[0], Max: s[len(s)-1]}
}

// Summary folds the runs of one label.
type Summary struct {
	Scenario, Label, Mode, Target string
	Jobs, Parallelism             int
	Runs                          int
	// AllOK counts the runs in which every job succeeded.
	AllOK         int
	JobsPerSecond Spread
	WallSeconds   Spread
	// PeakRunning is the largest over runs.
	PeakRunning int
	// Phases are the medians over runs of each run's p50, by Phase* name.
	Phases map[string]float64
	// Engine holds medians over runs of the engine statistics' p50s and
	// means (nil when no run had them).
	Engine map[string]float64
	// CPUSeconds and RSSKiB are medians over runs, by process name.
	CPUSeconds map[string]float64
	RSSKiB     map[string]float64
	// Method, Metrics (by Metric* key), Series (median of each position)
	// and Notes (distinct) fold the API-level scenarios' figures.
	Method  string
	Metrics map[string]Spread
	Series  []float64
	Notes   []string
}

// Engine keys in Summary.Engine.
const (
	EngContainers      = "containers"
	EngCreateToStart   = "create_to_start"
	EngStartToDie      = "start_to_die"
	EngDieToDestroy    = "die_to_destroy"
	EngCreateToDestroy = "create_to_destroy"
	EngMeanLive        = "mean_live"
	EngPeakLive        = "peak_live"
	EngSlotGap         = "destroy_to_next_create"
	EngStartToStarted  = "start_to_started_at"
	EngDieToStopped    = "die_to_stopped_at"
)

// Aggregate folds results by label, in the order labels first appear:
// container-throughput runs by label alone, the other scenarios' by
// scenario, mode and label (so that every scenario can have a "gantry"
// and a "moto" label).
func Aggregate(results []*Result) []*Summary {
	var order []string
	by := map[string][]*Result{}
	for _, r := range results {
		key := r.Label
		if !isContainerScenario(r.Scenario) {
			key = r.Scenario + "\x00" + r.Mode + "\x00" + r.Label
		}
		if _, ok := by[key]; !ok {
			order = append(order, key)
		}
		by[key] = append(by[key], r)
	}
	out := make([]*Summary, 0, len(order))
	for _, label := range order {
		out = append(out, summarize1(by[label]))
	}
	return out
}

func summarize1(rs []*Result) *Summary {
	f := rs[0]
	s := &Summary{
		Scenario: f.Scenario, Label: f.Label, Mode: f.Mode, Target: f.Target,
		Jobs: f.Jobs, Parallelism: f.Parallelism, Runs: len(rs),
		Phases: map[string]float64{}, CPUSeconds: map[string]float64{}, RSSKiB: map[string]float64{},
	}
	var jps, wall []float64
	phases := map[string][]float64{}
	eng := map[string][]float64{}
	cpu := map[string][]float64{}
	rss := map[string][]float64{}
	for _, r := range rs {
		if r.OK() {
			s.AllOK++
		}
		jps = append(jps, r.JobsPerSecond)
		wall = append(wall, r.WallSeconds)
		s.PeakRunning = max(s.PeakRunning, r.PeakRunning)
		for k, d := range r.Phases {
			if d.N > 0 {
				phases[k] = append(phases[k], d.P50)
			}
		}
		if e := r.Engine; e != nil {
			add := func(k string, v float64, ok bool) {
				if ok {
					eng[k] = append(eng[k], v)
				}
			}
			add(EngContainers, float64(e.Containers), true)
			add(EngCreateToStart, e.CreateToStart.P50, e.CreateToStart.N > 0)
			add(EngStartToDie, e.StartToDie.P50, e.StartToDie.N > 0)
			add(EngDieToDestroy, e.DieToDestroy.P50, e.DieToDestroy.N > 0)
			add(EngCreateToDestroy, e.CreateToDestroy.P50, e.CreateToDestroy.N > 0)
			add(EngMeanLive, e.MeanLive, true)
			add(EngPeakLive, float64(e.PeakLive), true)
			add(EngSlotGap, e.DestroyToNextCreate.P50, e.DestroyToNextCreate.N > 0)
			add(EngStartToStarted, e.StartToStartedAt.P50, e.StartToStartedAt.N > 0)
			add(EngDieToStopped, e.DieToStoppedAt.P50, e.DieToStoppedAt.N > 0)
		}
		for k, v := range r.CPUSeconds {
			cpu[k] = append(cpu[k], v)
		}
		for k, v := range r.RSSKiB {
			rss[k] = append(rss[k], float64(v))
		}
	}
	s.JobsPerSecond, s.WallSeconds = newSpread(jps), newSpread(wall)
	foldAPI(s, rs)
	for k, v := range phases {
		s.Phases[k] = newSpread(v).Median
	}
	if len(eng) > 0 {
		s.Engine = map[string]float64{}
		for k, v := range eng {
			s.Engine[k] = newSpread(v).Median
		}
	}
	for k, v := range cpu {
		s.CPUSeconds[k] = newSpread(v).Median
	}
	for k, v := range rss {
		s.RSSKiB[k] = newSpread(v).Median
	}
	return s
}

// WriteReport writes the summaries as Markdown tables: throughput (with
// the ratio of each label's median wall time to each baseline label's),
// per-job phases, what the engine saw, and CPU time.
func WriteReport(w io.Writer, sums []*Summary, baselines []string) {
	var ct, api []*Summary
	for _, s := range sums {
		if isContainerScenario(s.Scenario) {
			ct = append(ct, s)
		} else {
			api = append(api, s)
		}
	}
	if len(ct) > 0 {
		writeContainerReport(w, ct, baselines)
	}
	if len(api) > 0 {
		if len(ct) > 0 {
			fmt.Fprintln(w)
		}
		writeAPIReport(w, api, baselines)
	}
}

func writeContainerReport(w io.Writer, sums []*Summary, baselines []string) {
	byLabel := map[string]*Summary{}
	for _, s := range sums {
		byLabel[s.Label] = s
	}
	var bases []*Summary
	for _, b := range baselines {
		if s := byLabel[b]; s != nil {
			bases = append(bases, s)
		}
	}

	head := []string{"label", "mode", "N", "P", "runs (all ok)", "jobs/s median", "jobs/s min–max", "wall s median", "wall spread", "peak running (API)"}
	for _, b := range bases {
		head = append(head, "time × "+b.Label)
	}
	var rows [][]string
	for _, s := range sums {
		row := []string{
			s.Label, s.Mode, fmt.Sprint(s.Jobs), fmt.Sprint(s.Parallelism),
			fmt.Sprintf("%d (%d)", s.Runs, s.AllOK),
			fmt.Sprintf("%.2f", s.JobsPerSecond.Median),
			fmt.Sprintf("%.2f–%.2f", s.JobsPerSecond.Min, s.JobsPerSecond.Max),
			fmt.Sprintf("%.2f", s.WallSeconds.Median),
			pct((s.WallSeconds.Max - s.WallSeconds.Min) / s.WallSeconds.Median),
			fmt.Sprint(s.PeakRunning),
		}
		for _, b := range bases {
			row = append(row, fmt.Sprintf("%.2f", s.WallSeconds.Median/b.WallSeconds.Median))
		}
		rows = append(rows, row)
	}
	fmt.Fprintln(w, "Throughput (wall: first submit to the last job seen finished; spread: (max−min)/median; time × X: median wall / X's median wall;")
	fmt.Fprintln(w, "peak running (API): most jobs whose [startedAt, stoppedAt] overlap, or docker run processes at once)")
	fmt.Fprintln(w)
	writeTable(w, head, rows)

	phaseCols := []string{PhaseSubmitCall, PhaseCreatedToStarted, PhaseStartedToStopped, PhaseStoppedToSeen, PhaseDockerRun}
	rows = nil
	for _, s := range sums {
		row := []string{s.Label}
		for _, p := range phaseCols {
			row = append(row, num(s.Phases, p, "%.0f"))
		}
		rows = append(rows, row)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Per-job phases, ms (median over runs of each run's p50)")
	fmt.Fprintln(w)
	writeTable(w, append([]string{"label"}, phaseCols...), rows)

	engCols := []string{EngContainers, EngCreateToStart, EngStartToDie, EngDieToDestroy, EngCreateToDestroy, EngMeanLive, EngPeakLive, EngSlotGap, EngStartToStarted, EngDieToStopped}
	rows = nil
	for _, s := range sums {
		if s.Engine == nil {
			continue
		}
		row := []string{s.Label}
		for _, c := range engCols {
			f := "%.0f"
			if c == EngMeanLive {
				f = "%.2f"
			}
			row = append(row, num(s.Engine, c, f))
		}
		rows = append(rows, row)
	}
	if len(rows) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Docker engine events, ms (median over runs of each run's p50; mean_live: containers existing on average)")
		fmt.Fprintln(w)
		writeTable(w, append([]string{"label"}, engCols...), rows)
	}

	names := map[string]bool{}
	for _, s := range sums {
		for k := range s.CPUSeconds {
			names[k] = true
		}
	}
	if len(names) > 0 {
		cols := slices.Sorted(maps.Keys(names))
		if names[MachineCPU] { // the machine first
			cols = append([]string{MachineCPU}, slices.DeleteFunc(cols, func(s string) bool { return s == MachineCPU })...)
		}
		rows = nil
		for _, s := range sums {
			row := []string{s.Label}
			for _, c := range cols {
				row = append(row, num(s.CPUSeconds, c, "%.2f"))
			}
			rows = append(rows, row)
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "CPU seconds used during a run (median over runs; machine: all processes)")
		fmt.Fprintln(w)
		writeTable(w, append([]string{"label"}, cols...), rows)
	}
}

// WriteRuns writes one row per run, in the order given: when it ran, its
// wall time and jobs/s, and the machine's CPU use (which shows noise from
// other work on the machine).
func WriteRuns(w io.Writer, results []*Result) {
	var rows [][]string
	for _, r := range results {
		machine := "–"
		v, ok := r.CPUSeconds[MachineCPU]
		if !ok {
			v, ok = r.Metrics[MetricMachineCPU]
		}
		if ok && r.WallSeconds > 0 {
			machine = fmt.Sprintf("%.1f (%.2f cores)", v, v/r.WallSeconds)
		}
		rows = append(rows, []string{
			fmt.Sprint(r.Rep), r.Label, r.Start.UTC().Format("15:04:05"),
			fmt.Sprintf("%.2f", r.WallSeconds), fmt.Sprintf("%.2f", r.JobsPerSecond),
			fmt.Sprintf("%d/%d", r.Succeeded, r.Jobs), machine, r.Scenario + " " + r.Mode,
		})
	}
	fmt.Fprintln(w, "Runs, in the order they ran (machine: CPU seconds all processes used during the run)")
	fmt.Fprintln(w)
	writeTable(w, []string{"rep", "label", "start (UTC)", "wall s", "jobs/s", "succeeded", "machine CPU s", "scenario"}, rows)
}

func num(m map[string]float64, k, format string) string {
	v, ok := m[k]
	if !ok {
		return "–"
	}
	return fmt.Sprintf(format, v)
}

func pct(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) }

// writeTable writes a Markdown table.
func writeTable(w io.Writer, head []string, rows [][]string) {
	line := func(cells []string) { fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |") }
	line(head)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
}
