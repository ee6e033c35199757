package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/executor"
	"github.com/gantrybatch/gantry/executor/execdocker"
	"github.com/gantrybatch/gantry/executor/execprocess"
)

// DockerConfig configures the Docker executor.
type DockerConfig struct {
	// Host is the engine address (DOCKER_HOST form); empty uses DOCKER_HOST
	// or the local socket.
	Host string
	// Pull pulls missing images (bounded by PullTimeout); otherwise a
	// missing image fails the attempt with CannotPullContainerError.
	Pull        bool
	PullTimeout time.Duration
	// Network is the containers' network mode (default "bridge").
	Network string
}

// newExecutor builds the executor cfg.Executor names. "auto" is Docker when
// an engine answers, else local processes.
func newExecutor(ctx context.Context, cfg *Config) (executor.Executor, error) {
	switch cfg.Executor {
	case "process":
		return execprocess.New(execprocess.Config{WorkRoot: filepath.Join(cfg.DataDir, "work"), KeepWorkDirs: cfg.KeepWorkDirs, Logger: cfg.Logger}), nil
	case "docker", "auto":
		d, err := execdocker.New(ctx, execdocker.Config{
			Host: cfg.Docker.Host, Logger: cfg.Logger, Pull: cfg.Docker.Pull, PullTimeout: cfg.Docker.PullTimeout,
			NetworkMode: cfg.Docker.Network, NodeID: cfg.nodeID,
		})
		if err == nil {
			return d, nil
		}
		if cfg.Executor == "docker" {
			return nil, fmt.Errorf("docker executor: %w", err)
		}
		cfg.Logger.InfoContext(ctx, "no Docker engine answers; running jobs as local processes", "error", err)
		cfg.Executor = "process"
		return newExecutor(ctx, cfg)
	case "kubernetes":
		return nil, fmt.Errorf("the kubernetes executor is not available yet; use --executor docker or process")
	default:
		return nil, fmt.Errorf("unknown executor %q (want auto, docker or process)", cfg.Executor)
	}
}

// hostCapacity is the engine's size for executors that know it.
func hostCapacity(ctx context.Context, ex executor.Executor) (*gantry.Resources, error) {
	c, ok := ex.(executor.Capacitor)
	if !ok {
		return nil, nil
	}
	r, err := c.Capacity(ctx)
	if err != nil {
		return nil, fmt.Errorf("executor capacity: %w", err)
	}
	return &r, nil
}

// callbackEnv is what every attempt gets so that a job can call Gantry back
// with any AWS SDK (list its siblings, submit the next job): the endpoint
// for every service Gantry serves, a region, and placeholder credentials
// (with --credentials, jobs must bring their own keys).
func callbackEnv(url, region string) []string {
	return []string{
		"AWS_ENDPOINT_URL=" + url,
		"AWS_ENDPOINT_URL_BATCH=" + url,
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=" + url,
		"AWS_ENDPOINT_URL_EVENTBRIDGE=" + url,
		"AWS_ACCESS_KEY_ID=gantry",
		"AWS_SECRET_ACCESS_KEY=gantry",
		"AWS_DEFAULT_REGION=" + region,
		"AWS_REGION=" + region,
	}
}

// bridgeListener listens on the Docker bridge's gateway address (docker0) at
// the API's port, so that containers on the default bridge network can reach
// a server that otherwise listens on loopback only. The address is reachable
// from this host and its containers, not from other machines.
func bridgeListener(logger *slog.Logger, port int) (net.Listener, string) {
	ifc, err := net.InterfaceByName("docker0")
	if err != nil {
		return nil, ""
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return nil, ""
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.To4() == nil {
			continue
		}
		addr := net.JoinHostPort(ipn.IP.String(), fmt.Sprint(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			logger.Warn("cannot listen on the Docker bridge; jobs cannot call Gantry back unless --advertise-url is set", "addr", addr, "error", err)
			return nil, ""
		}
		return ln, "http://" + addr
	}
	return nil, ""
}
