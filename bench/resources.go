package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rssSampler reads a process's VmRSS every rssInterval and keeps the most.
type rssSampler struct {
	pid  int
	quit chan struct{}
	wg   sync.WaitGroup
	peak int64 // KiB
}

const rssInterval = 100 * time.Millisecond

func startRSSSampler(pid int) *rssSampler {
	s := &rssSampler{pid: pid, quit: make(chan struct{})}
	s.sample()
	s.wg.Go(func() {
		t := time.NewTicker(rssInterval)
		defer t.Stop()
		for {
			select {
			case <-s.quit:
				return
			case <-t.C:
				s.sample()
			}
		}
	})
	return s
}

func (s *rssSampler) sample() {
	if v, err := procStatusKiB(s.pid, "VmRSS:"); err == nil {
		s.peak = max(s.peak, v)
	}
}

// stop ends the sampling and records the peak, final and high-water-mark
// RSS in res (MiB).
func (s *rssSampler) stop(res *Result) {
	close(s.quit)
	s.wg.Wait()
	s.sample()
	if s.peak > 0 {
		res.Metrics[MetricRSSPeak] = float64(s.peak) / 1024
	}
	if v, err := procStatusKiB(s.pid, "VmRSS:"); err == nil {
		res.Metrics[MetricRSSFinal] = float64(v) / 1024
		if res.RSSKiB == nil {
			res.RSSKiB = map[string]int64{}
		}
		res.RSSKiB["server"] = v
	}
	if v, err := procStatusKiB(s.pid, "VmHWM:"); err == nil {
		res.Metrics[MetricRSSHWM] = float64(v) / 1024
	}
}

// procStatusKiB reads a "Key:   123 kB" line of /proc/pid/status.
func procStatusKiB(pid int, key string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, key); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, key)
}

// The counters of a single-writer store's group commit (Gantry on SQLite).
const (
	WriterBusyMetric  = "gantry_store_writer_busy_seconds_total"
	CommitsMetric     = "gantry_store_commits_total"
	CommitCallsMetric = "gantry_store_commit_calls_total"
)

// scrapeCounters reads the named counters (without labels) at url; a
// counter the server does not export is absent from the map.
func scrapeCounters(ctx context.Context, url string, names ...string) (map[string]float64, error) {
	body, err := getMetrics(ctx, url)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return parseCounters(body, names...)
}

// getMetrics GETs a Prometheus text exposition; the caller closes it.
func getMetrics(ctx context.Context, url string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp.Body, nil
}

func parseCounters(r io.Reader, names ...string) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !slices.Contains(names, f[0]) {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", f[0], err)
		}
		out[f[0]] = v
	}
	return out, sc.Err()
}

// CycleMetric is the Prometheus histogram of scheduling cycle durations
// (seconds) that queued-1m reads, if the server has it.
const CycleMetric = "gantry_scheduler_cycle_seconds"

// histogram is one Prometheus histogram without labels.
type histogram struct {
	sum, count float64
	buckets    map[float64]float64 // le -> cumulative count
}

// scrapeHistogram reads the text exposition at url and returns the
// histogram name (summed over label sets), or nil if it is absent.
func scrapeHistogram(ctx context.Context, url, name string) (*histogram, error) {
	body, err := getMetrics(ctx, url)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return parseHistogram(body, name)
}

func parseHistogram(r io.Reader, name string) (*histogram, error) {
	h := &histogram{buckets: map[float64]float64{}}
	found := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"_") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		metric, labels, _ := strings.Cut(f[0], "{")
		switch metric {
		case name + "_sum":
			h.sum += v
			found = true
		case name + "_count":
			h.count += v
			found = true
		case name + "_bucket":
			_, le, ok := strings.Cut(labels, `le="`)
			if !ok {
				continue
			}
			le, _, _ = strings.Cut(le, `"`)
			b, err := strconv.ParseFloat(le, 64) // "+Inf" parses
			if err == nil {
				h.buckets[b] += v
				found = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !found {
		return nil, nil
	}
	return h, nil
}

// cycleStats records in res the mean and the bound of the largest cycle
// between two scrapes of the cycle histogram (a max is not in a
// histogram: the upper bound of the highest bucket that grew is).
func cycleStats(res *Result, before, after *histogram) {
	n := after.count - before.count
	res.Metrics[MetricCycles] = n
	if n <= 0 {
		return
	}
	res.Metrics[MetricCycleMean] = 1000 * (after.sum - before.sum) / n
	les := make([]float64, 0, len(after.buckets))
	for le := range after.buckets {
		les = append(les, le)
	}
	sort.Float64s(les)
	for _, le := range les { // cumulative: the first bucket holding all n bounds the largest
		if after.buckets[le]-before.buckets[le] >= n {
			if math.IsInf(le, 1) {
				res.Notes = append(res.Notes, "the largest scheduling cycle was above the histogram's highest bucket")
				return
			}
			res.Metrics[MetricCycleMax] = 1000 * le
			return
		}
	}
}
