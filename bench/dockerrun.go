package bench

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DockerRunConfig configures DockerRun. Zero fields take defaults.
type DockerRunConfig struct {
	// DockerCLI is the docker binary (default "docker").
	DockerCLI string
	// Label names the run in reports (default "docker-run").
	Label string
	Rep   int
	// Jobs is N, Parallel is P (default 8).
	Jobs     int
	Parallel int
	// Image and Command are the container's (defaults as for
	// ContainerThroughput); RunArgs are extra `docker run` flags, e.g.
	// "--init --cpus 0.25 --memory 512m" to match Gantry's container spec.
	Image   string
	Command []string
	RunArgs []string
	// Timeout bounds the whole run.
	Timeout time.Duration
	// EngineEvents adds what the engine saw (Result.Engine).
	EngineEvents bool
	// Watch names processes whose CPU time and memory the result records.
	Watch  map[string]int
	Logger *slog.Logger
}

// DockerRun is the container-throughput baseline: N `docker run --rm`
// processes of the same image and command, P at a time, as
// `seq N | xargs -P P -I{} docker run --rm --name X-{} IMAGE CMD` would run
// them. Wall time is the first process started to the last one exited.
func DockerRun(ctx context.Context, cfg DockerRunConfig) (*Result, error) {
	cfg.DockerCLI = cmp.Or(cfg.DockerCLI, "docker")
	cfg.Label = cmp.Or(cfg.Label, "docker-run")
	cfg.Jobs = cmp.Or(cfg.Jobs, DefaultJobs)
	cfg.Parallel = cmp.Or(cfg.Parallel, 8)
	cfg.Image = cmp.Or(cfg.Image, DefaultImage)
	if len(cfg.Command) == 0 {
		cfg.Command = []string{"true"}
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Jobs < 1 || cfg.Parallel < 1 {
		return nil, errors.New("docker run: jobs and parallel must be at least 1")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	prefix := "gb-" + randomHex(6)
	argv := func(i int) []string {
		a := []string{"run", "--rm", "--name", prefix + "-" + strconv.Itoa(i)}
		a = append(a, cfg.RunArgs...)
		a = append(a, cfg.Image)
		return append(a, cfg.Command...)
	}
	res := &Result{
		Scenario: ScenarioContainerThroughput, Label: cfg.Label, Rep: cfg.Rep, Mode: ModeDockerCLI,
		Target: strings.Join(append([]string{cfg.DockerCLI}, argv(0)...), " "),
		Jobs:   cfg.Jobs, Parallelism: cfg.Parallel, Phases: map[string]Dist{},
	}
	log := cfg.Logger.With("label", cfg.Label, "mode", res.Mode, "prefix", prefix)
	log.Info("running", "jobs", cfg.Jobs, "parallel", cfg.Parallel, "command", res.Target)

	type outcome struct {
		dur      time.Duration
		cpu      time.Duration
		from, to time.Time
		err      error
	}
	outs := make([]outcome, cfg.Jobs)
	work := make(chan int)
	var wg sync.WaitGroup
	var rec *eventRecorder
	if cfg.EngineEvents {
		var err error
		if rec, err = startEvents(ctx, cfg.DockerCLI); err != nil {
			return nil, err
		}
		defer rec.close()
	}
	sampler := newCPUSampler(cfg.Watch)
	start := time.Now()
	res.Start = start
	for range cfg.Parallel {
		wg.Go(func() {
			for i := range work {
				cmd := exec.CommandContext(ctx, cfg.DockerCLI, argv(i)...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				o := &outs[i]
				o.from = time.Now()
				err := cmd.Run()
				o.to = time.Now()
				o.dur = o.to.Sub(o.from)
				if cmd.ProcessState != nil {
					o.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				}
				if err != nil {
					o.err = fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
				}
			}
		})
	}
	for i := range cfg.Jobs {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	res.CPUSeconds, res.RSSKiB = sampler.done()
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("docker run: %w", err)
	}
	var end time.Time
	var durs []float64
	var spans []interval
	var cliCPU time.Duration
	names := map[string]bool{}
	for i, o := range outs {
		names[prefix+"-"+strconv.Itoa(i)] = true
		if o.to.After(end) {
			end = o.to
		}
		durs = append(durs, ms(o.dur))
		spans = append(spans, interval{ms(o.from.Sub(start)), ms(o.to.Sub(start))})
		cliCPU += o.cpu
		if o.err != nil {
			res.Failed++
			res.addError("docker run %d: %v", i, o.err)
		} else {
			res.Succeeded++
		}
	}
	res.CPUSeconds["docker-cli"] = cliCPU.Seconds()
	res.WallSeconds = seconds(end.Sub(start))
	res.JobsPerSecond = float64(cfg.Jobs) / res.WallSeconds
	res.Phases[PhaseDockerRun] = NewDist(durs)
	res.PeakRunning = peakOverlap(spans)
	if rec != nil {
		evs, attrs, err := rec.stop(ctx, end)
		if err != nil {
			res.addError("engine events: %v", err)
		} else {
			res.Engine = engineStats(evs, attrs, start, end, cfg.Parallel, matchByName(names), nil)
		}
	}
	log.Info("done", "succeeded", res.Succeeded, "failed", res.Failed, "wall_s", res.WallSeconds, "jobs_per_s", res.JobsPerSecond)
	return res, nil
}
