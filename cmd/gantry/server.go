package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gantrybatch/gantry/internal/eventsched"
	"github.com/gantrybatch/gantry/internal/server"
)

func newServerCmd() *cobra.Command {
	var cfg server.Config
	var logLevel, logFormat string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Gantry server (AWS Batch API on --addr)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(logLevel, logFormat)
			if err != nil {
				return err
			}
			slog.SetDefault(logger)
			cfg.Logger = logger
			tuneGC(logger)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv, err := server.New(ctx, cfg)
			if err != nil {
				return err
			}
			if err := srv.Start(ctx); err != nil {
				_ = srv.Close(context.Background())
				return err
			}
			var serveErr error
			select {
			case <-ctx.Done():
				logger.Info("shutting down")
			case serveErr = <-srv.Done():
			}
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Close(shutdownCtx); err != nil && serveErr == nil {
				serveErr = err
			}
			return serveErr
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", "127.0.0.1:8420", "listen address (host:port)")
	f.StringVar(&cfg.DataDir, "data-dir", "./gantry-data", "directory for the database, job logs and work directories")
	f.StringVar(&cfg.Executor, "executor", "auto", "where jobs run: docker, process, or auto (docker if an engine answers, else process)")
	f.StringVar(&cfg.Docker.Host, "docker-host", "", "Docker engine address (default: $DOCKER_HOST or the local socket)")
	f.BoolVar(&cfg.Docker.Pull, "docker-pull", false, "pull missing images from their registry (otherwise a missing image fails the attempt with CannotPullContainerError)")
	f.DurationVar(&cfg.Docker.PullTimeout, "docker-pull-timeout", 5*time.Minute, "give up pulling an image after this long")
	f.StringVar(&cfg.Docker.Network, "docker-network", "bridge", "network mode of job containers")
	f.StringVar(&cfg.AdvertiseURL, "advertise-url", "", "endpoint URL jobs use to call Gantry back (AWS_ENDPOINT_URL); default: the listen address for processes, the Docker bridge gateway for containers")
	f.StringVar(&cfg.Region, "region", "us-east-1", "AWS region reported in ARNs")
	f.StringVar(&cfg.AccountID, "account-id", "000000000000", "AWS account id reported in ARNs")
	f.StringVar(&cfg.CredentialsFile, "credentials", "", "file of access key id / secret pairs; when set, every request must be SigV4-signed with one of them")
	f.BoolVar(&cfg.Policy.AllowPrivileged, "allow-privileged", false, "allow job definitions with privileged containers and host devices")
	f.BoolVar(&cfg.Policy.AllowHostVolumes, "allow-host-volumes", false, "allow job definitions with host path volumes")
	f.DurationVar(&cfg.StopGrace, "stop-grace", 30*time.Second, "time between SIGTERM and SIGKILL when stopping an attempt")
	f.DurationVar(&cfg.SchedulerInterval, "scheduler-interval", time.Second, "longest time between scheduling cycles")
	f.BoolVar(&cfg.KeepWorkDirs, "keep-work-dirs", false, "keep each attempt's working directory after it ends")
	f.Int64Var(&cfg.LogStreamMaxBytes, "log-stream-max-bytes", 1<<30, "cap of each job log stream; past it one truncation marker is written and further output dropped (negative: unlimited)")
	f.DurationVar(&cfg.JobRetention, "job-retention", 720*time.Hour, "how long SUCCEEDED and FAILED jobs stay describable after they stop: 0 keeps them forever, otherwise at least 24h (AWS keeps them at least 7 days)")
	f.IntVar(&cfg.WriterNice, "writer-nice", -10, "nice value of the database writer's thread, the one serial stage of every write (-20 to 19; 0 leaves it alone; below 0 needs root or CAP_SYS_NICE, else a warning and the usual priority)")
	f.BoolVar(&cfg.Pprof, "pprof", false, "serve Go profiles under /debug/pprof/ on the API port (signed requests only when --credentials is set)")
	f.DurationVar(&cfg.Events.RetryBase, "event-retry-base", server.DefaultEventRetryBase, "first delay before a failed event delivery is retried; it doubles with each attempt (with jitter) up to 5m")
	f.DurationVar(&cfg.Events.HTTPTimeout, "event-http-timeout", server.DefaultEventHTTPTimeout, "timeout of each webhook and API destination call")
	f.DurationVar(&cfg.Events.PollInterval, "event-poll-interval", server.DefaultEventPollInterval, "longest time between two scans of the event outbox and the due deliveries")
	f.DurationVar(&cfg.Events.ScheduleCatchupWindow, "schedule-catchup-window", eventsched.DefaultCatchupWindow, "after downtime, a scheduled rule fires once for its most recent missed time if that time is no older than this; older misses are skipped")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "text or json")
	return cmd
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q must be text or json", format)
}

// serverGCPercent is the server's GOGC unless the environment sets one. The
// server's live heap is small (tens of MiB, even with a million queued
// jobs: the database holds them), so collecting at 4x rather than 2x the
// live heap costs little memory and, under load, about a tenth of the CPU
// the collector and allocator took (SubmitJob: +7% throughput).
const serverGCPercent = 400

// tuneGC applies serverGCPercent when GOGC is not set.
func tuneGC(logger *slog.Logger) {
	if os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(serverGCPercent)
	logger.Debug("GC target set", "gogc", serverGCPercent)
}
