// Command gantrybench benchmarks an AWS-Batch-compatible endpoint (Gantry,
// moto, AWS Batch) through the AWS API (aws-sdk-go-v2; with -submit-client
// http or wire the API scenarios send SubmitJob as the same signed rest-json
// request on plain net/http or on connections of their own, so that the
// client's CPU cost does not cap the figure on a small machine), or runs the plain `docker run` baseline, and reports
// the results.
//
// Run one scenario once; the result is printed as Markdown tables and, with
// -out, appended to a JSON-lines file:
//
//	gantrybench -scenario container-throughput -target http://127.0.0.1:8420 -label gantry -jobs 100 -out results.jsonl
//	gantrybench -scenario container-throughput -target docker -label docker-run -parallel 8 -out results.jsonl
//
// The API-level scenarios (submit-throughput, e2e-throughput,
// submit-latency, describe-list-latency, array-10k, chain-10k, fan-in,
// queued-1m, machine-limit) take their sizes from -jobs and -samples:
//
//	gantrybench -scenario submit-throughput -target http://127.0.0.1:8420 -label gantry -submit-clients 16 -server-pid PID -out results.jsonl
//	gantrybench -scenario submit-throughput -target http://127.0.0.1:8420 -label gantry -submit-clients 16 -submit-client wire -out results.jsonl
//	gantrybench -scenario submit-throughput -target http://127.0.0.1:5000 -label moto -moto-compat -hold missing-dep -jobs 200 ... -out results.jsonl
//	gantrybench -scenario machine-limit -label machine-limit -out results.jsonl
//
// Fold the runs of a file into medians, spreads and ratios:
//
//	gantrybench report -baseline docker-run -baseline moto results.jsonl
//	gantrybench report -baseline moto -baseline machine-limit results.jsonl
//
// Record which Docker Engine API calls a client makes and what they cost,
// until SIGINT or SIGTERM (then the table is written):
//
//	gantrybench engine-proxy -listen /tmp/engine.sock -containers 100 -out calls.md &
//	gantry server --executor docker --docker-host unix:///tmp/engine.sock
//
// bench/run-docker-bench.sh starts Gantry and moto and runs the whole
// container comparison recorded in docs/benchmarks.md; bench/run-bench.sh
// runs the API-level scenarios against Gantry and moto.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gantrybatch/gantry/bench"
)

// loadGCPercent is the load generator's GOGC unless the environment sets
// one: its heap is small and short-lived, and on a machine it shares with
// the server every collection is CPU taken from the figure measured (the
// server makes the same choice, cmd/gantry).
const loadGCPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(loadGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "report":
		err = runReport(os.Args[2:], os.Stdout)
	case len(os.Args) > 1 && os.Args[1] == "engine-proxy":
		err = runEngineProxy(ctx, os.Args[2:], os.Stdout)
	default:
		err = runScenario(ctx, os.Args[1:], os.Stdout)
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "gantrybench:", err)
		}
		os.Exit(1)
	}
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// errNotAllSucceeded makes the exit status 1 after the results are written.
var errNotAllSucceeded = errors.New("not every job succeeded")

func runScenario(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gantrybench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: gantrybench [flags]\n       gantrybench report [-runs] [-baseline LABEL]... FILE...\n       gantrybench engine-proxy -listen SOCKET [-upstream SOCKET] [-containers N] [-out FILE]\n\nscenarios: %s\n\nflags:\n", strings.Join(bench.Scenarios, ", "))
		fs.PrintDefaults()
	}
	scenario := fs.String("scenario", bench.ScenarioContainerThroughput, "scenario to run")
	target := fs.String("target", "", `Batch endpoint URL, or "docker" for the docker run baseline (required)`)
	label := fs.String("label", "", "name of the run in reports (default: the target)")
	rep := fs.Int("rep", 0, "repetition number recorded in the result")
	jobs := fs.Int("jobs", bench.DefaultJobs, "number of jobs (containers); the other scenarios' N, K, W or Q, defaulting to their own sizes (submit-throughput 10000, e2e-throughput 1000, describe-list-latency 10000, array-10k 10000, chain-10k 10000, fan-in 1000, queued-1m 1000000)")
	array := fs.Bool("array", false, "submit one array job of -jobs children instead of -jobs jobs")
	clients := fs.Int("submit-clients", 1, "concurrent SubmitJob callers")
	poll := fs.Duration("poll", bench.DefaultPollInterval, "interval between DescribeJobs rounds (API scenarios: status polls, default 50ms)")
	timeout := fs.Duration("timeout", bench.DefaultTimeout, "deadline of the whole run")
	image := fs.String("image", bench.DefaultImage, "container image")
	command := fs.String("command", "true", "container command (split on spaces)")
	vcpu := fs.String("vcpu", bench.DefaultVCPU, "vCPUs per job (a Fargate step: 0.25, 0.5, 1, ...)")
	memory := fs.Int("memory", bench.DefaultMemoryMiB, "memory per job, MiB")
	maxVCPUs := fs.Int("max-vcpus", bench.DefaultMaxVCPUs, "maxvCpus of the compute environment; parallelism is max-vcpus/vcpu")
	role := fs.String("service-role", bench.DefaultServiceRole, "service role ARN of the compute environment")
	subnets := fs.String("subnets", bench.DefaultSubnet, "comma-separated subnet ids of the compute environment")
	sgs := fs.String("security-groups", bench.DefaultSecGroup, "comma-separated security group ids of the compute environment")
	accessKey := fs.String("access-key", "gantry", "access key id the requests are signed with")
	secretKey := fs.String("secret-key", "gantry", "secret access key the requests are signed with")
	parallel := fs.Int("parallel", 0, "docker baseline: containers at once (default: max-vcpus/vcpu)")
	dockerArgs := fs.String("docker-args", "", `docker baseline: extra "docker run" flags (split on spaces), e.g. "--init --cpus 0.25 --memory 512m"`)
	dockerCLI := fs.String("docker", "docker", "docker CLI binary (baseline, and -docker-events)")
	events := fs.Bool("docker-events", false, "record what the Docker engine saw of the run's containers (docker events)")
	motoCompat := fs.Bool("moto-compat", false, `truncate fractional "vcpus" numbers in responses (moto 5.x reports VCPU 0.25 as "vcpus": 0.25, which aws-sdk-go-v2 cannot decode)`)
	keep := fs.Bool("keep", false, "keep the compute environment, queue and job definition")
	out := fs.String("out", "", "append the result as a JSON line to this file")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error (logs go to stderr)")
	cpuProfile := fs.String("cpuprofile", "", "write the load generator's own CPU profile (pprof) to this file")
	var watch listFlag
	fs.Var(&watch, "watch", "name=pid of a process whose CPU time and memory to record (repeatable)")
	api := addAPIFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if !slices.Contains(bench.Scenarios, *scenario) {
		return fmt.Errorf("-scenario %q: unknown (have %s)", *scenario, strings.Join(bench.Scenarios, ", "))
	}
	if *target == "" && *scenario == bench.ScenarioMachineLimit {
		*target = "/bin/true"
	}
	if *target == "" {
		return errors.New("-target is required (an endpoint URL, or docker)")
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	pids := map[string]int{}
	for _, w := range watch {
		name, pid, err := bench.ParseWatch(w)
		if err != nil {
			return fmt.Errorf("-watch %w", err)
		}
		pids[name] = pid
	}

	if *scenario == bench.ScenarioContainerThroughput && *api.submitter != bench.SubmitClientSDK {
		return fmt.Errorf("-submit-client %s: container-throughput submits through the SDK only", *api.submitter)
	}
	if *scenario != bench.ScenarioContainerThroughput {
		return runAPI(ctx, *scenario, fs, api,
			bench.ClientConfig{Endpoint: *target, AccessKeyID: *accessKey, SecretAccessKey: *secretKey, MotoCompat: *motoCompat},
			bench.Config{
				Target: *target, Label: *label, Rep: *rep,
				Env: bench.EnvConfig{
					MaxVCPUs: int32(*maxVCPUs), ServiceRole: *role, Subnets: splitList(*subnets), SecurityGroups: splitList(*sgs),
					Image: *image, Command: strings.Fields(*command), VCPU: *vcpu, MemoryMiB: *memory,
				},
				N: *jobs, Clients: *clients, PollInterval: *poll, Timeout: *timeout, KeepResources: *keep, Logger: logger,
			}, stdout, *out)
	}
	var res *bench.Result
	var err error
	if *target == "docker" {
		p := *parallel
		if p == 0 {
			p, err = bench.Parallelism(int32(*maxVCPUs), *vcpu)
			if err != nil {
				return err
			}
		}
		res, err = bench.DockerRun(ctx, bench.DockerRunConfig{
			DockerCLI: *dockerCLI, Label: *label, Rep: *rep, Jobs: *jobs, Parallel: p,
			Image: *image, Command: strings.Fields(*command), RunArgs: strings.Fields(*dockerArgs),
			Timeout: *timeout, EngineEvents: *events, Watch: pids, Logger: logger,
		})
	} else {
		cfg := bench.ThroughputConfig{
			Client: bench.NewClient(bench.ClientConfig{Endpoint: *target, AccessKeyID: *accessKey, SecretAccessKey: *secretKey, MotoCompat: *motoCompat}), Target: *target, Label: *label, Rep: *rep,
			Env: bench.EnvConfig{
				MaxVCPUs: int32(*maxVCPUs), ServiceRole: *role, Subnets: splitList(*subnets), SecurityGroups: splitList(*sgs),
				Image: *image, Command: strings.Fields(*command), VCPU: *vcpu, MemoryMiB: *memory,
			},
			Jobs: *jobs, Array: *array, SubmitClients: *clients, PollInterval: *poll, Timeout: *timeout,
			KeepResources: *keep, Watch: pids, Logger: logger,
		}
		if *events {
			cfg.DockerCLI = *dockerCLI
		}
		res, err = bench.ContainerThroughput(ctx, cfg)
	}
	if err != nil {
		if res != nil && len(res.Errors) > 0 {
			err = fmt.Errorf("%w (first error: %s)", err, res.Errors[0])
		}
		return err
	}
	bench.WriteReport(stdout, bench.Aggregate([]*bench.Result{res}), nil)
	for _, e := range res.Errors {
		fmt.Fprintln(stdout, "error:", e)
	}
	if *out != "" {
		if err := appendResult(*out, res); err != nil {
			return err
		}
	}
	if !res.OK() {
		return fmt.Errorf("%w: %d of %d succeeded, %d failed", errNotAllSucceeded, res.Succeeded, res.Jobs, res.Failed)
	}
	return nil
}

func appendResult(path string, res *bench.Result) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := bench.WriteJSONLine(f, res); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func runReport(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gantrybench report", flag.ContinueOnError)
	var baselines listFlag
	fs.Var(&baselines, "baseline", "label to compare every label's median wall time with (repeatable)")
	runs := fs.Bool("runs", false, "also list every run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("report: name at least one results file")
	}
	var all []*bench.Result
	for _, name := range fs.Args() {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		rs, err := bench.ReadResults(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		all = append(all, rs...)
	}
	if len(all) == 0 {
		return errors.New("report: no results")
	}
	fmt.Fprintf(stdout, "%d runs, %s\n\n", len(all), time.Now().UTC().Format(time.RFC3339))
	bench.WriteReport(stdout, bench.Aggregate(all), baselines)
	if *runs {
		fmt.Fprintln(stdout)
		bench.WriteRuns(stdout, all)
	}
	return nil
}

func runEngineProxy(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gantrybench engine-proxy", flag.ContinueOnError)
	listen := fs.String("listen", "", "unix socket to listen on (required)")
	upstream := fs.String("upstream", "/var/run/docker.sock", "the engine's unix socket")
	containers := fs.Int("containers", 0, "containers the client will run, for the calls-per-container column")
	out := fs.String("out", "", "write the table here instead of stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *listen == "" {
		return errors.New("engine-proxy: -listen is required")
	}
	_ = os.Remove(*listen)
	ln, err := net.Listen("unix", *listen)
	if err != nil {
		return err
	}
	p := bench.NewEngineProxy(*upstream)
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return err
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx) // upgraded (attach) connections are not waited for
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bench.WriteEngineCalls(w, p.Calls(), *containers)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
