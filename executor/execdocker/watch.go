package execdocker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/gantrybatch/gantry/executor"
)

// copyOutput copies the container's multiplexed stdout and stderr to the
// attempt's output until the stream ends.
func (e *Executor) copyOutput(c *ctr, r io.Reader) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(c.copied)
		if _, err := stdcopy.StdCopy(c.out, c.out, r); err != nil && e.bg.Err() == nil && !errors.Is(err, net.ErrClosed) {
			e.logger.Debug("execdocker: output stream ended", "task_id", c.taskID, "container_id", c.id, "error", err)
		}
		if c.replay != nil {
			c.replay.finish()
		}
	}()
}

// watch waits in the background for the container to stop, then for its
// output, and records the result.
func (e *Executor) watch(c *ctr) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		c.result, c.err = e.waitExit(c)
		c.mu.Lock()
		c.exited = true
		if c.killTimer != nil {
			c.killTimer.Stop()
		}
		c.mu.Unlock()
		drain := time.NewTimer(outputDrainDelay)
		select {
		case <-c.copied:
		case <-e.bg.Done():
		case <-drain.C:
			e.logger.Warn("execdocker: output stream still open after the container stopped; closing it", "task_id", c.taskID, "container_id", c.id)
		}
		drain.Stop()
		c.stream.Close()
		<-c.copied
		e.logger.Debug("execdocker: exited", "task_id", c.taskID, "container_id", c.id, "exit_code", c.result.ExitCode, "reason", c.result.Reason, "error", c.err)
		close(c.done)
	}()
}

// waitExit blocks until the container is not running and reports how it
// ended. It rides out broken connections to the engine.
func (e *Executor) waitExit(c *ctr) (executor.ExitResult, error) {
	for {
		okC, errC := e.cli.ContainerWait(e.bg, c.id, container.WaitConditionNotRunning)
		var err error
		select {
		case resp := <-okC:
			if resp.Error != nil && resp.Error.Message != "" {
				e.logger.Warn("execdocker: engine reported a wait error", "task_id", c.taskID, "container_id", c.id, "error", resp.Error.Message)
			}
			return e.exitResult(c, int(resp.StatusCode)), nil
		case err = <-errC:
		}
		switch {
		case e.bg.Err() != nil:
			return executor.ExitResult{}, errClosed
		case cerrdefs.IsNotFound(err):
			return executor.ExitResult{}, fmt.Errorf("execdocker: container %s is gone: %w", c.id, executor.ErrTaskLost)
		}
		e.logger.Warn("execdocker: waiting for the container failed; retrying", "task_id", c.taskID, "container_id", c.id, "error", err)
		select {
		case <-time.After(waitRetryDelay):
		case <-e.bg.Done():
			return executor.ExitResult{}, errClosed
		}
	}
}

// exitResult completes the exit code from a wait with what inspecting the
// stopped container tells.
func (e *Executor) exitResult(c *ctr, code int) executor.ExitResult {
	res := executor.ExitResult{ExitCode: code}
	ctx, cancel := context.WithTimeout(e.bg, removeTimeout)
	defer cancel()
	info, err := e.cli.ContainerInspect(ctx, c.id)
	if err != nil {
		e.logger.Warn("execdocker: cannot inspect the stopped container", "task_id", c.taskID, "container_id", c.id, "error", err)
		return res
	}
	if info.State != nil && info.State.OOMKilled {
		res.Reason = ReasonOutOfMemory
	}
	if info.State != nil {
		if t, err := time.Parse(time.RFC3339Nano, info.State.FinishedAt); err == nil && t.Year() > 1 {
			res.FinishedAt = t
		}
	}
	return res
}

// switchWriter is an attempt's Output, replaceable by Recover and Start.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return len(b), nil
	}
	// A failing Output must not stop the copy: the engine would otherwise
	// block the container on a full stream.
	_, _ = s.w.Write(b)
	return len(b), nil
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w = w
}
