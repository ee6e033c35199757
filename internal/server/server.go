// Package server is Gantry's composition root: it opens the store, the log
// store and the executor named in Config, wires the control layer, the
// scheduler, the runner and the HTTP API together, recovers attempts left by
// a previous run, and serves until Close. cmd/gantry and the in-process test
// server (internal/gantrytest) both build on it; it is the only package that
// names concrete adapters.
package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/executor"
	"github.com/gantrybatch/gantry/internal/control"
	"github.com/gantrybatch/gantry/internal/eventsapi"
	"github.com/gantrybatch/gantry/internal/httpapi"
	"github.com/gantrybatch/gantry/internal/joblog"
	"github.com/gantrybatch/gantry/internal/logsapi"
	"github.com/gantrybatch/gantry/internal/maintenance"
	"github.com/gantrybatch/gantry/internal/metrics"
	"github.com/gantrybatch/gantry/internal/runner"
	"github.com/gantrybatch/gantry/internal/scheduler"
	"github.com/gantrybatch/gantry/internal/sigv4auth"
	"github.com/gantrybatch/gantry/store"
	"github.com/gantrybatch/gantry/store/storesqlite"
)

// Config is everything `gantry server` can be told.
type Config struct {
	// Addr is the listen address (default 127.0.0.1:8420; ":0" picks a port).
	Addr string
	// DataDir holds the database, job logs and work directories.
	DataDir string
	// Executor names the executor: "auto" (Docker if an engine answers,
	// else processes), "docker" or "process".
	Executor string
	// Region and AccountID appear in every ARN.
	Region    string
	AccountID string
	// CredentialsFile, when set, makes SigV4 signatures mandatory.
	CredentialsFile string
	// Policy is what job definitions may ask for.
	Policy control.Policy
	// StopGrace is the time between SIGTERM and SIGKILL (default 30s).
	StopGrace time.Duration
	// SchedulerInterval is the longest time between scheduling cycles.
	SchedulerInterval time.Duration
	// KeepWorkDirs keeps each attempt's working directory after it ends.
	KeepWorkDirs bool
	// Pprof serves net/http/pprof under /debug/pprof/ on the API port (for
	// profiling; off by default; behind SigV4 when credentials are set).
	Pprof bool
	// JobRetention is how long finished jobs stay describable after they
	// stop (0: forever; otherwise at least 24h).
	JobRetention time.Duration
	// WriterNice is the nice value of the SQLite writer's thread
	// (storesqlite.Config.WriterNice; 0 leaves it alone).
	WriterNice int
	// Docker configures the Docker executor.
	Docker DockerConfig
	// LogStreamMaxBytes caps each job log stream: past it, one marker event
	// and the rest is dropped (default 1 GiB; negative: unlimited).
	LogStreamMaxBytes int64
	// AdvertiseURL is the endpoint jobs use to call Gantry back
	// (AWS_ENDPOINT_URL). Default: the listen address for processes, the
	// Docker bridge gateway for containers.
	AdvertiseURL string
	// Events tunes event delivery and schedules (EventBridge).
	Events EventsConfig
	Logger *slog.Logger

	nodeID string // set by New for the executor
}

func (c *Config) applyDefaults() {
	c.Addr = cmp.Or(c.Addr, "127.0.0.1:8420")
	c.DataDir = cmp.Or(c.DataDir, "gantry-data")
	c.Executor = cmp.Or(c.Executor, "auto")
	c.Region = cmp.Or(c.Region, "us-east-1")
	c.AccountID = cmp.Or(c.AccountID, "000000000000")
	c.StopGrace = cmp.Or(c.StopGrace, 30*time.Second)
	c.Logger = cmp.Or(c.Logger, slog.Default())
}

// Server is a running Gantry.
type Server struct {
	cfg       Config
	store     store.Store
	logs      *joblog.Store
	exec      executor.Executor
	control   *control.Service
	scheduler *scheduler.Scheduler
	runner    *runner.Runner
	http      *http.Server
	listener  net.Listener
	ready     atomic.Bool
	serveErr  chan error
	nodeID    string
	closeOnce sync.Once
	closeErr  error
	metrics   *metrics.Metrics
	retention *maintenance.JobRetention
	events    *events
	// bridge is the extra listener on the Docker bridge (see bridgeListener).
	bridge      net.Listener
	callbackURL string
}

// New opens everything and recovers the previous run's attempts, but does
// not serve or schedule yet; Start does.
func New(ctx context.Context, cfg Config) (_ *Server, err error) {
	cfg.applyDefaults()
	if err := maintenance.ValidateRetention(cfg.JobRetention); err != nil {
		return nil, err
	}
	if cfg.WriterNice < -20 || cfg.WriterNice > 19 {
		return nil, fmt.Errorf("writer nice %d: must be between -20 and 19", cfg.WriterNice)
	}
	s := &Server{cfg: cfg, serveErr: make(chan error, 1)}
	defer func() {
		if err != nil {
			for _, ln := range []net.Listener{s.listener, s.bridge} {
				if ln != nil {
					_ = ln.Close()
				}
			}
			s.closeStores()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	s.store, err = storesqlite.Open(ctx, storesqlite.Config{Path: filepath.Join(cfg.DataDir, "gantry.db"), Logger: cfg.Logger, WriterNice: cfg.WriterNice})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.logs, err = joblog.Open(filepath.Join(cfg.DataDir, "logs"), joblog.WithMaxStreamBytes(cmp.Or(cfg.LogStreamMaxBytes, joblog.DefaultMaxStreamBytes)))
	if err != nil {
		return nil, fmt.Errorf("open log store: %w", err)
	}
	s.nodeID, err = nodeID(ctx, s.store)
	if err != nil {
		return nil, err
	}
	cfg.nodeID = s.nodeID
	if s.exec, err = newExecutor(ctx, &cfg); err != nil {
		return nil, err
	}
	s.cfg.Executor = cfg.Executor // "auto" resolved
	host, err := hostCapacity(ctx, s.exec)
	if err != nil {
		return nil, err
	}
	if s.listener, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	callbackURL := cfg.AdvertiseURL
	if callbackURL == "" {
		callbackURL = "http://" + s.listener.Addr().String()
		if cfg.Executor == "docker" && cfg.Docker.Network != "host" {
			port := s.listener.Addr().(*net.TCPAddr).Port
			if s.bridge, callbackURL = bridgeListener(cfg.Logger, port); s.bridge == nil {
				callbackURL = ""
			}
		}
	}
	s.callbackURL = callbackURL
	arn := gantry.ARNBuilder{Region: cfg.Region, AccountID: cfg.AccountID}
	s.metrics = metrics.New(s.store, cfg.Logger)
	var wake, wakeRunnable func()
	s.control = control.New(control.Config{
		Store: s.store, ARN: arn, Logger: cfg.Logger, Policy: cfg.Policy,
		Wake: func() { wake() }, WakeForRunnable: func() { wakeRunnable() }, Events: true,
	})
	tr := s.control.Transitioner()
	tr.OnTransition, tr.OnQueueBlocked = s.metrics.Transition, s.metrics.QueueBlocked
	s.runner = runner.New(runner.Config{
		Store: s.store, Executor: s.exec, Transitioner: tr, ARN: arn,
		OpenLog:         s.openLog,
		OnStarted:       s.metrics.Started,
		OnExecutorError: func(kind string) { s.metrics.ExecutorError(s.exec.Name(), kind) },
		NodeID:          s.nodeID, Logger: cfg.Logger, StopGrace: cfg.StopGrace,
		Wake: func() { wake() },
		// Processes die with the server: stop them on a clean shutdown and
		// record how each attempt ended, rather than leave it to recovery.
		// Containers live on and are reattached by the next start.
		StopOnClose: cfg.Executor == "process",
		// A process that ends within a few milliseconds (a trivial job)
		// gets its RUNNING and its end written together: one write
		// instead of two. Only for processes: they die with the server,
		// so an attempt's RUNNING is never left for a restart to find.
		RunningDelay: runningDelay(cfg.Executor),
		LastLogTime:  s.lastLogTime,
		LogTail:      s.logTail,
		Env:          callbackEnvIf(callbackURL, cfg.Region),
	})
	s.control.SetStopper(s.runner)
	s.scheduler = scheduler.New(scheduler.Config{
		Store: s.store, Transitioner: s.control.Transitioner(), Dispatch: s.runner.Dispatch,
		Logger: cfg.Logger, Interval: cfg.SchedulerInterval,
		HostCapacity: host, HostName: "the Docker engine",
		OnCycle: s.metrics.SchedulerCycle,
	})
	if s.events, err = s.newEvents(cfg); err != nil {
		return nil, err
	}
	wake = func() { s.scheduler.Wake(); s.events.notify() }
	wakeRunnable = func() { s.scheduler.WakeForRunnable(); s.events.notify() }
	if cfg.JobRetention > 0 {
		s.retention = maintenance.NewJobRetention(maintenance.Config{Store: s.store, Retention: cfg.JobRetention, Logger: cfg.Logger})
	}
	if _, err := s.runner.Recover(ctx); err != nil {
		return nil, fmt.Errorf("recover attempts: %w", err)
	}
	var verifier *sigv4auth.Verifier
	if cfg.CredentialsFile != "" {
		creds, err := sigv4auth.LoadCredentials(cfg.CredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("load credentials: %w", err)
		}
		verifier = &sigv4auth.Verifier{Credentials: creds}
	}
	api := &httpapi.Server{Control: s.control, Logger: cfg.Logger, Ready: s.ready.Load, QueueSnapshots: s.scheduler}
	api.ObserveRequest = s.metrics.Request
	api.Extra = map[string]http.Handler{"GET /metrics": s.metrics.Handler()}
	if cfg.Pprof {
		api.Extra["/debug/pprof/"] = http.HandlerFunc(pprof.Index)
		api.Extra["/debug/pprof/profile"] = http.HandlerFunc(pprof.Profile)
		api.Extra["/debug/pprof/trace"] = http.HandlerFunc(pprof.Trace)
		api.Extra["/debug/pprof/symbol"] = http.HandlerFunc(pprof.Symbol)
		api.Extra["/debug/pprof/cmdline"] = http.HandlerFunc(pprof.Cmdline)
	}
	api.Targets = map[string]http.Handler{logsapi.TargetPrefix: logsapi.New(logsapi.Config{Store: s.logs, Region: cfg.Region, AccountID: cfg.AccountID, Logger: cfg.Logger})}
	api.Targets[eventsapi.TargetPrefix] = s.events.api
	maps.Copy(api.Extra, s.events.api.Routes())
	s.http = &http.Server{
		Handler:           httpapi.WithRequestID(cfg.Logger, sigv4auth.Middleware(verifier, api.Handler())),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Start listens and begins scheduling. It returns once the API is ready.
func (s *Server) Start(ctx context.Context) error {
	ln := s.listener
	s.scheduler.Start(context.WithoutCancel(ctx))
	s.events.start(context.WithoutCancel(ctx))
	if s.retention != nil {
		s.retention.Start(context.WithoutCancel(ctx))
	}
	s.logs.StartPurging(time.Hour, s.cfg.Logger) // log retention; stopped by s.logs.Close
	go func() {
		err := s.http.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.serveErr <- err
	}()
	if s.bridge != nil {
		go func() { _ = s.http.Serve(s.bridge) }()
	}
	s.ready.Store(true)
	s.cfg.Logger.InfoContext(ctx, "gantry server ready", "addr", ln.Addr().String(), "data_dir", s.cfg.DataDir,
		"executor", s.exec.Name(), "node_id", s.nodeID, "sigv4", s.cfg.CredentialsFile != "", "callback_url", s.callbackURL)
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// URL is the endpoint URL for AWS clients.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Done reports a fatal serve error, or nil after Close.
func (s *Server) Done() <-chan error { return s.serveErr }

// Close stops serving (letting in-flight requests finish within ctx), stops
// the scheduler and the runner, and closes the stores. Running attempts are
// left to the next start's recovery.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.ready.Store(false)
		var errs []error
		if s.listener != nil {
			errs = append(errs, s.http.Shutdown(ctx))
		}
		if s.events != nil {
			errs = append(errs, s.events.close(ctx))
		}
		s.scheduler.Stop()
		if s.retention != nil {
			s.retention.Stop()
		}
		s.runner.Close()
		errs = append(errs, s.closeStores())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func (s *Server) closeStores() error {
	var errs []error
	if s.store != nil {
		errs = append(errs, s.store.Close())
	}
	if s.logs != nil {
		errs = append(errs, s.logs.Close())
	}
	return errors.Join(errs...)
}

// nodeID returns this data directory's stable instance id ("i-" and 17 hex
// digits, like an EC2 instance), creating it on first start.
func nodeID(ctx context.Context, st store.Store) (string, error) {
	id, err := st.MetaGet(ctx, "node_id")
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, gantry.ErrNotFound) {
		return "", fmt.Errorf("read node id: %w", err)
	}
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	id = "i-" + hex.EncodeToString(b)[:17]
	if err := st.MetaSet(ctx, "node_id", id); err != nil {
		return "", fmt.Errorf("store node id: %w", err)
	}
	return id, nil
}

// openLog opens an attempt's log stream, counting the bytes written.
func (s *Server) openLog(group, stream string) (io.WriteCloser, error) {
	w, err := s.logs.Writer(group, stream)
	if err != nil {
		return nil, err
	}
	return countingWriter{WriteCloser: w, count: s.metrics.LogBytes}, nil
}

type countingWriter struct {
	io.WriteCloser
	count func(int)
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.WriteCloser.Write(p)
	c.count(n)
	return n, err
}

// lastLogTime is the time of the last event of a log stream, or zero.
func (s *Server) lastLogTime(group, stream string) time.Time {
	in, err := s.logs.Stream(group, stream)
	if err != nil || in.LastEventTimestamp <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(in.LastEventTimestamp)
}

// logTail is the messages of a log stream's last events (at most a page)
// from the given time on, oldest first.
func (s *Server) logTail(group, stream string, from time.Time) []string {
	res, err := s.logs.Read(context.Background(), &joblog.ReadParams{Group: group, Stream: stream, StartTime: from.UnixMilli()})
	if err != nil {
		return nil
	}
	out := make([]string, len(res.Events))
	for i, ev := range res.Events {
		out[i] = ev.Message
	}
	return out
}

// callbackEnvIf is callbackEnv, or nothing when no address is reachable.
func callbackEnvIf(url, region string) []string {
	if url == "" {
		return nil
	}
	return callbackEnv(url, region)
}

// processRunningDelay is how long the runner defers writing RUNNING for
// the process executor (runner.Config.RunningDelay).
const processRunningDelay = 10 * time.Millisecond

func runningDelay(executor string) time.Duration {
	if executor == "process" {
		return processRunningDelay
	}
	return 0
}
