package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/batch"

	"github.com/gantrybatch/gantry/bench"
)

// apiFlags are the flags of the API-level scenarios (bench.Run).
type apiFlags struct {
	samples     *int
	hold        *string
	block       *int
	serverPID   *int
	metricsURL  *string
	latencyPoll *time.Duration
	duration    *time.Duration
	submitter   *string
}

func addAPIFlags(fs *flag.FlagSet) *apiFlags {
	return &apiFlags{
		samples:     fs.Int("samples", 0, "latency scenarios: M, the number of measured calls or probe jobs (default 200; queued-1m: 20)"),
		hold:        fs.String("hold", bench.HoldDisabledCE, "how jobs that must not run are held: disabled-ce (Gantry), oversize, or missing-dep (moto)"),
		block:       fs.Int("block", 0, "queued-1m: jobs per submit-rate block (default: -jobs/10)"),
		serverPID:   fs.Int("server-pid", 0, "pid of the server under test: its RSS (VmRSS peak/final, VmHWM) and CPU time are recorded"),
		metricsURL:  fs.String("metrics-url", "", "queued-1m and submit-throughput: the server's Prometheus endpoint, for the scheduler cycle time and the store writer's utilization (default: TARGET/metrics)"),
		latencyPoll: fs.Duration("latency-poll", 2*time.Millisecond, "submit-latency, queued-1m: DescribeJobs interval while waiting for a probe job to run"),
		duration:    fs.Duration("duration", 5*time.Second, "machine-limit: how long to fork /bin/true"),
		submitter: fs.String("submit-client", bench.SubmitClientSDK, "API scenarios: the client of every SubmitJob call: sdk (aws-sdk-go-v2), http "+
			"(the same signed rest-json request on plain net/http, far cheaper in CPU) or wire (the same request on HTTP/1.1 connections of its own, "+
			"cheaper still); the other calls stay on the SDK; recorded in the mode"),
	}
}

// runAPI runs one bench.Run scenario with the parsed flags.
func runAPI(ctx context.Context, scenario string, fs *flag.FlagSet, a *apiFlags, ccfg bench.ClientConfig, base bench.Config, stdout io.Writer, out string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg := base
	cfg.Samples, cfg.Hold, cfg.Block, cfg.ServerPID = *a.samples, *a.hold, *a.block, *a.serverPID
	cfg.LatencyPoll, cfg.Duration = *a.latencyPoll, *a.duration
	if !set["jobs"] {
		cfg.N = 0 // the scenario's default
	}
	if !set["poll"] {
		cfg.PollInterval = 0
	}
	if !set["submit-clients"] {
		cfg.Clients = 0
	}
	cfg.SubmitClient = *a.submitter
	if scenario != bench.ScenarioMachineLimit {
		cfg.Client = bench.NewClient(ccfg)
		cfg.NewClient = func() *batch.Client { return bench.NewClient(ccfg) }
		if cfg.SubmitClient != bench.SubmitClientSDK {
			// One client for all submitters: its pool keeps a connection each.
			sub, err := bench.NewLeanSubmitter(cfg.SubmitClient, ccfg, cfg.Clients)
			if err != nil {
				return err
			}
			cfg.Submitter = sub
			cfg.NewSubmitter = func() bench.Submitter { return sub }
		}
		cfg.MetricsURL = *a.metricsURL
		if cfg.MetricsURL == "" && (scenario == bench.ScenarioQueued || scenario == bench.ScenarioSubmitThroughput) {
			cfg.MetricsURL = strings.TrimSuffix(ccfg.Endpoint, "/") + "/metrics"
		}
	}
	res, err := bench.Run(ctx, scenario, cfg)
	if res != nil {
		bench.WriteReport(stdout, bench.Aggregate([]*bench.Result{res}), nil)
		for _, e := range res.Errors {
			fmt.Fprintln(stdout, "error:", e)
		}
	}
	if err != nil {
		if res != nil && len(res.Errors) > 0 {
			err = fmt.Errorf("%w (first error: %s)", err, res.Errors[0])
		}
		return err
	}
	if out != "" {
		if err := appendResult(out, res); err != nil {
			return err
		}
	}
	if !res.OK() {
		return fmt.Errorf("%w: %d of %d succeeded, %d failed", errNotAllSucceeded, res.Succeeded, res.Jobs, res.Failed)
	}
	return nil
}
