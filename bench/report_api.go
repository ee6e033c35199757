package bench

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
)

func isContainerScenario(s string) bool { return s == "" || s == ScenarioContainerThroughput }

// headline are the metrics of each scenario that get a ratio column per
// baseline.
var headline = map[string][]string{
	ScenarioSubmitThroughput:    {MetricJobsPerSecond, MetricCallP99},
	ScenarioE2EThroughput:       {MetricJobsPerSecond},
	ScenarioSubmitLatency:       {MetricStartP99, MetricObservedP99},
	ScenarioDescribeListLatency: {MetricDescribeP99, MetricListP99},
	ScenarioArray:               {MetricSubmitCall, MetricJobsPerSecond},
	ScenarioChain:               {MetricJobsPerSecond},
	ScenarioFanIn:               {MetricWallSeconds, MetricFanInGap},
	ScenarioQueued:              {MetricFirstBlock, MetricLastBlock, MetricObservedP99},
	ScenarioMachineLimit:        {MetricJobsPerSecond},
}

// vsMachine are the scenarios whose jobs/s is also compared with a
// machine-limit baseline (the machine's /bin/true fork rate).
var vsMachine = map[string]bool{ScenarioE2EThroughput: true, ScenarioArray: true, ScenarioChain: true, ScenarioFanIn: true}

// metricOrder orders the metric columns; others follow, sorted.
var metricOrder = []string{
	MetricJobsPerSecond, MetricWallSeconds, MetricSubmitSeconds, MetricLastStopSeconds, MetricSubmitCall,
	MetricCallP50, MetricCallP99, MetricStartP50, MetricStartP99, MetricObservedP50, MetricObservedP99,
	MetricDescribeP50, MetricDescribeP99, MetricListP50, MetricListP99, MetricDependentRunning, MetricFanInGap,
	MetricFirstBlock, MetricLastBlock, MetricSettle, MetricCycles, MetricCycleMean, MetricCycleMax,
	MetricRSSPeak, MetricRSSFinal, MetricRSSHWM, MetricServerCPU, MetricMachineCPU, MetricSubmitErrors,
}

// higherIsBetter reports whether a metric is a rate.
func higherIsBetter(key string) bool { return strings.HasSuffix(key, "_per_s") }

// foldAPI folds the API-level figures of one label's runs.
func foldAPI(s *Summary, rs []*Result) {
	s.Method = rs[0].Method
	vals := map[string][]float64{}
	var series [][]float64
	for _, r := range rs {
		for k, v := range r.Metrics {
			vals[k] = append(vals[k], v)
		}
		for i, v := range r.Series {
			if i >= len(series) {
				series = append(series, nil)
			}
			series[i] = append(series[i], v)
		}
		for _, n := range r.Notes {
			if !slices.Contains(s.Notes, n) {
				s.Notes = append(s.Notes, n)
			}
		}
	}
	if len(vals) > 0 {
		s.Metrics = map[string]Spread{}
		for k, v := range vals {
			s.Metrics[k] = newSpread(v)
		}
	}
	for _, v := range series {
		s.Series = append(s.Series, newSpread(v).Median)
	}
}

// writeAPIReport writes one table per scenario and mode: every metric's
// median over runs, and for each baseline label of the same scenario and
// mode (or a machine-limit label, for jobs/s) how many times better each
// label is on the scenario's headline metrics.
func writeAPIReport(w io.Writer, sums []*Summary, baselines []string) {
	type group struct {
		scenario, mode string
		sums           []*Summary
	}
	var groups []*group
	for _, s := range sums {
		i := slices.IndexFunc(groups, func(g *group) bool { return g.scenario == s.Scenario && g.mode == s.Mode })
		if i < 0 {
			groups = append(groups, &group{scenario: s.Scenario, mode: s.Mode})
			i = len(groups) - 1
		}
		groups[i].sums = append(groups[i].sums, s)
	}
	machine := map[string]*Summary{} // machine-limit summaries by label
	for _, s := range sums {
		if s.Scenario == ScenarioMachineLimit {
			machine[s.Label] = s
		}
	}
	fmt.Fprintln(w, "API scenarios: medians over runs. Keys ending in _per_s are rates (higher is better), _ms and _s times, _mib sizes (lower is better).")
	fmt.Fprintln(w, "\"K vs B\": how many times better than baseline label B on K (B's time / this time, or this rate / B's rate); > 1 is better.")
	for _, g := range groups {
		fmt.Fprintln(w)
		title := "### " + g.scenario
		if g.mode != "" && g.mode != "-" {
			title += " (" + g.mode + ")"
		}
		fmt.Fprintln(w, title)
		fmt.Fprintln(w)
		keys := map[string]bool{}
		for _, s := range g.sums {
			for k := range s.Metrics {
				keys[k] = true
			}
		}
		var cols []string
		for _, k := range metricOrder {
			if keys[k] {
				cols = append(cols, k)
				delete(keys, k)
			}
		}
		cols = append(cols, slices.Sorted(maps.Keys(keys))...)
		type ratio struct {
			key  string
			base *Summary
		}
		var ratios []ratio
		for _, b := range baselines {
			var base *Summary
			for _, s := range g.sums {
				if s.Label == b {
					base = s
				}
			}
			keys := headline[g.scenario]
			if base == nil && vsMachine[g.scenario] {
				base, keys = machine[b], []string{MetricJobsPerSecond}
			}
			if base == nil {
				continue
			}
			for _, k := range keys {
				if _, ok := base.Metrics[k]; ok {
					ratios = append(ratios, ratio{k, base})
				}
			}
		}
		head := []string{"label", "method", "N", "runs (all ok)"}
		head = append(head, cols...)
		for _, r := range ratios {
			head = append(head, r.key+" vs "+r.base.Label)
		}
		var rows [][]string
		for _, s := range g.sums {
			row := []string{s.Label, cmpOrDash(s.Method), fmt.Sprint(s.Jobs), fmt.Sprintf("%d (%d)", s.Runs, s.AllOK)}
			for _, c := range cols {
				row = append(row, spreadCell(s.Metrics, c))
			}
			for _, r := range ratios {
				row = append(row, advantage(s, r.base, r.key))
			}
			rows = append(rows, row)
		}
		writeTable(w, head, rows)
		for _, s := range g.sums {
			if len(s.Series) > 0 {
				parts := make([]string, len(s.Series))
				for i, v := range s.Series {
					parts[i] = fmtFig(v)
				}
				fmt.Fprintf(w, "\n%s: submit rate of each block of jobs (block size in the method), jobs/s: %s", s.Label, strings.Join(parts, ", "))
				if first, last := s.Series[0], s.Series[len(s.Series)-1]; last > 0 {
					fmt.Fprintf(w, " (first / last: %.2f)", first/last)
				}
				fmt.Fprintln(w)
			}
			for _, n := range s.Notes {
				fmt.Fprintf(w, "\n%s: note: %s\n", s.Label, n)
			}
		}
	}
}

func cmpOrDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// spreadCell is the median, with the range when runs disagree.
func spreadCell(m map[string]Spread, k string) string {
	v, ok := m[k]
	if !ok {
		return "–"
	}
	if v.Min == v.Max {
		return fmtFig(v.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", fmtFig(v.Median), fmtFig(v.Min), fmtFig(v.Max))
}

// advantage is how many times better s is than base on key.
func advantage(s, base *Summary, key string) string {
	v, ok1 := s.Metrics[key]
	b, ok2 := base.Metrics[key]
	if !ok1 || !ok2 || v.Median <= 0 || b.Median <= 0 {
		return "–"
	}
	x := b.Median / v.Median
	if higherIsBetter(key) {
		x = 1 / x
	}
	if x < 0.1 {
		return fmt.Sprintf("%.2g", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// fmtFig formats a figure with about three significant digits.
func fmtFig(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100 || v == math.Trunc(v) && a < 1e15:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
