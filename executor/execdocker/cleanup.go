package execdocker

import (
	"context"
	"errors"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/executor"
)

// Capacity reports the engine's CPUs and memory.
func (e *Executor) Capacity(ctx context.Context) (gantry.Resources, error) {
	info, err := e.cli.Info(ctx)
	if err != nil {
		return gantry.Resources{}, fmt.Errorf("execdocker: engine info: %w", err)
	}
	return gantry.Resources{VCPUs: float64(info.NCPU), MemoryMiB: info.MemTotal >> 20}, nil
}

// Cleanup removes (killing them first if running) the containers of every
// attempt for which keep returns false, with their anonymous volumes, and
// reports how many it removed. With Config.NodeID set it considers only the
// containers of that server (label gantry.node-id): another Gantry sharing
// the engine keeps its own.
func (e *Executor) Cleanup(ctx context.Context, keep func(taskID string) bool) (int, error) {
	args := filters.NewArgs(filters.Arg("label", LabelManaged+"=true"))
	if e.cfg.NodeID != "" {
		args.Add("label", executor.LabelNodeID+"="+e.cfg.NodeID)
	}
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return 0, fmt.Errorf("execdocker: list containers: %w", err)
	}
	n := 0
	var errs []error
	for _, s := range list {
		taskID := s.Labels[executor.LabelTaskID]
		if keep(taskID) {
			continue
		}
		err := e.cli.ContainerRemove(ctx, s.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		switch {
		case err == nil:
			n++
			e.logger.DebugContext(ctx, "execdocker: removed a leftover container", "task_id", taskID, "container_id", s.ID, "state", s.State)
		case cerrdefs.IsNotFound(err), cerrdefs.IsConflict(err): // gone, or already being removed
		default:
			errs = append(errs, fmt.Errorf("remove container %s: %w", s.ID, err))
		}
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("execdocker: cleanup: %w", errors.Join(errs...))
	}
	return n, nil
}
