package bench

import (
	"context"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
)

// queued fills a held queue with N jobs from Clients submitters, recording
// the submit rate of every Block jobs (Result.Series), waits until none is
// SUBMITTED any more, then probes submit-to-RUNNING (Samples jobs, one at a
// time) in a second queue of higher priority whose jobs run. With
// MetricsURL it reads the scheduler's cycle time from the server's
// Prometheus histogram CycleMetric, scraped before and after.
func queued(ctx context.Context, r *run) error {
	cfg := r.cfg
	r.res.Mode = "clients=" + strconv.Itoa(cfg.Clients)
	r.res.Jobs, r.res.Parallelism = cfg.N+cfg.Samples, cfg.Clients
	held, hold, err := r.heldEnv(ctx, "-held")
	if err != nil {
		return err
	}
	runnable, err := r.env(ctx, "-run", func(e *EnvConfig) { e.Priority = 100 })
	if err != nil {
		return err
	}
	before := r.scrapeCycles(ctx)
	r.log.Info("filling", "jobs", cfg.N, "clients", cfg.Clients, "block", cfg.Block, "hold", cfg.Hold)
	s := r.submitMany(ctx, cfg.N, cfg.Clients, cfg.Block, func(i int) *batch.SubmitJobInput {
		in := jobInput(held, cfg.Env.Prefix+"-"+strconv.Itoa(i))
		hold(in)
		return in
	})
	r.addCleanup(func() { r.terminateHeld(s.ids) })
	r.res.Method += ", block=" + strconv.Itoa(cfg.Block)
	r.recordSubmits(s)
	r.res.Metrics[MetricWallSeconds] = r.res.WallSeconds
	prev := s.start
	for _, t := range s.blockAt {
		if t.IsZero() {
			break
		}
		r.res.Series = append(r.res.Series, float64(cfg.Block)/t.Sub(prev).Seconds())
		prev = t
	}
	if n := len(r.res.Series); n > 0 {
		r.res.Metrics[MetricFirstBlock] = r.res.Series[0]
		r.res.Metrics[MetricLastBlock] = r.res.Series[n-1]
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	settled, err := r.waitEmpty(ctx, held.Queue, "", []types.JobStatus{types.JobStatusSubmitted})
	if err != nil {
		return err
	}
	r.res.Metrics[MetricSettle] = seconds(settled.Sub(s.end))
	if err := r.probe(ctx, runnable, cfg.Samples); err != nil {
		return err
	}
	if before != nil {
		if after := r.scrapeCycles(ctx); after != nil {
			cycleStats(r.res, before, after)
		}
	}
	return nil
}

// scrapeCycles reads the cycle histogram at MetricsURL, noting in the
// result why there is none.
func (r *run) scrapeCycles(ctx context.Context) *histogram {
	if r.cfg.MetricsURL == "" {
		return nil
	}
	h, err := scrapeHistogram(ctx, r.cfg.MetricsURL, CycleMetric)
	switch {
	case err != nil:
		r.res.Notes = append(r.res.Notes, "scraping "+r.cfg.MetricsURL+": "+err.Error())
	case h == nil:
		r.res.Notes = append(r.res.Notes, "the server has no "+CycleMetric+" histogram: no scheduling cycle time")
	}
	return h
}

// machineLimit forks /bin/true from Clients loops (default: one per CPU)
// for Duration: the machine's ceiling for trivial jobs.
func machineLimit(ctx context.Context, r *run) error {
	cfg := r.cfg
	p := cfg.Clients
	r.res.Mode = "parallel=" + strconv.Itoa(p)
	r.res.Parallelism = p
	r.res.Target = "/bin/true"
	r.res.Method = "fork+exec+wait /bin/true in a loop (os/exec)"
	var ok, failed atomic.Int64
	deadline := time.Now().Add(cfg.Duration)
	start := time.Now()
	var wg sync.WaitGroup
	for range p {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if err := exec.CommandContext(ctx, "/bin/true").Run(); err != nil {
					failed.Add(1)
				} else {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	r.res.Succeeded, r.res.Failed = int(ok.Load()), int(failed.Load())
	r.res.Jobs = r.res.Succeeded + r.res.Failed
	r.res.WallSeconds = seconds(wall)
	r.res.JobsPerSecond = float64(r.res.Succeeded) / wall.Seconds()
	r.res.Metrics[MetricJobsPerSecond] = r.res.JobsPerSecond
	r.res.Metrics[MetricWallSeconds] = r.res.WallSeconds
	return ctx.Err()
}
