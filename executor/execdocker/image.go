package execdocker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/gantrybatch/gantry/executor"
)

// Reason prefixes AWS uses for attempts that could not start.
const (
	reasonCannotPull  = "CannotPullContainerError: "
	reasonCannotStart = "CannotStartContainerError: "
)

// startError classifies an engine error from creating or starting a
// container: a refusal by the engine belongs to the job (a
// CannotStartContainerError), a failure to reach the engine or a cancelled
// context to Gantry.
func startError(ctx context.Context, what string, err error) error {
	if ctx.Err() == nil && engineRefused(err) {
		return &executor.StartError{Reason: reasonCannotStart + err.Error()}
	}
	return fmt.Errorf("execdocker: %s: %w", what, err)
}

// engineRefused reports whether err is the engine's answer to a request
// (an error status), as opposed to a transport failure or a cancellation.
func engineRefused(err error) bool {
	if err == nil || client.IsErrConnectionFailed(err) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		cerrdefs.IsUnavailable(err) {
		return false
	}
	return cerrdefs.IsInvalidArgument(err) || cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err) ||
		cerrdefs.IsFailedPrecondition(err) || cerrdefs.IsPermissionDenied(err) ||
		cerrdefs.IsInternal(err) || cerrdefs.IsNotImplemented(err) || cerrdefs.IsUnknown(err)
}

// ensureImage handles a container create that failed with notFound: if the
// image is missing it is pulled (Config.Pull) or the attempt fails with
// CannotPullContainerError; otherwise notFound is the engine's refusal.
func (e *Executor) ensureImage(ctx context.Context, ref string, notFound error) error {
	if _, err := e.cli.ImageInspect(ctx, ref); err == nil {
		return startError(ctx, "create container", notFound)
	} else if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("execdocker: inspect image %s: %w", ref, err)
	}
	if !e.cfg.Pull {
		return &executor.StartError{Reason: reasonCannotPull + notFound.Error() + " (image pulls are disabled)"}
	}
	return e.pull(ctx, ref)
}

// pull pulls ref, bounded by Config.PullTimeout.
func (e *Executor) pull(ctx context.Context, ref string) error {
	pctx, cancel := context.WithTimeout(ctx, e.cfg.PullTimeout)
	defer cancel()
	fail := func(err error) error {
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("execdocker: pull %s: %w", ref, ctx.Err())
		case pctx.Err() != nil:
			return &executor.StartError{Reason: fmt.Sprintf("%spull of %s did not finish within %v", reasonCannotPull, ref, e.cfg.PullTimeout)}
		case client.IsErrConnectionFailed(err):
			return fmt.Errorf("execdocker: pull %s: %w", ref, err)
		}
		return &executor.StartError{Reason: reasonCannotPull + err.Error()}
	}
	e.logger.InfoContext(ctx, "execdocker: pulling image", "image", ref)
	rc, err := e.cli.ImagePull(pctx, ref, image.PullOptions{})
	if err != nil {
		return fail(err)
	}
	defer rc.Close()
	if err := readProgress(rc); err != nil {
		return fail(err)
	}
	e.logger.InfoContext(ctx, "execdocker: pulled image", "image", ref)
	return nil
}

// readProgress reads a JSON progress stream (pull, build) to its end and
// returns the error it reports, if any.
func readProgress(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}

// defaultPATH is the PATH the runtime uses when the container has none.
const defaultPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// checkExecutable fails with CannotStartContainerError when the command the
// created container would run does not exist in it, as the runtime would
// if there were no init in front of the command. When it cannot tell (the
// engine does not answer a stat), it lets the start go ahead.
func (e *Executor) checkExecutable(ctx context.Context, id string) error {
	info, err := e.cli.ContainerInspect(ctx, id)
	if err != nil || info.Path == "" || info.Config == nil {
		return nil
	}
	name := info.Path
	if strings.Contains(name, "/") {
		p := name
		if !path.IsAbs(p) {
			p = path.Join("/", info.Config.WorkingDir, p)
		}
		st, err := e.statExecutable(ctx, id, p)
		switch {
		case err != nil:
			return nil
		case st == statMissing:
			return &executor.StartError{Reason: fmt.Sprintf("%sexec: %q: stat %s: no such file or directory", reasonCannotStart, name, p)}
		case st == statNotExecutable:
			return &executor.StartError{Reason: fmt.Sprintf("%sexec: %q: permission denied", reasonCannotStart, name)}
		}
		return nil
	}
	pathEnv := defaultPATH
	for _, kv := range info.Config.Env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, dir := range strings.Split(pathEnv, ":") {
		if !path.IsAbs(dir) {
			continue
		}
		st, err := e.statExecutable(ctx, id, path.Join(dir, name))
		if err != nil {
			return nil
		}
		if st == statExecutable {
			return nil
		}
	}
	return &executor.StartError{Reason: fmt.Sprintf("%sexec: %q: executable file not found in $PATH", reasonCannotStart, name)}
}

type statResult int

const (
	statMissing statResult = iota
	statNotExecutable
	statExecutable
)

// statExecutable stats p in the container, following symbolic links.
func (e *Executor) statExecutable(ctx context.Context, id, p string) (statResult, error) {
	for range 8 {
		st, err := e.cli.ContainerStatPath(ctx, id, p)
		switch {
		case cerrdefs.IsNotFound(err):
			// The path, or the container itself (removed behind our back):
			// only the former is the job's fault.
			if _, ierr := e.cli.ContainerInspect(ctx, id); ierr != nil {
				return statMissing, fmt.Errorf("container %s: %w", id, ierr)
			}
			return statMissing, nil
		case err != nil:
			return statMissing, err
		case st.Mode&os.ModeSymlink != 0 && st.LinkTarget != "" && st.LinkTarget != p:
			p = st.LinkTarget // fully resolved by the engine
			continue
		case st.Mode.IsRegular() && st.Mode.Perm()&0o111 != 0:
			return statExecutable, nil
		case st.Mode&os.ModeSymlink != 0:
			return statExecutable, nil // cannot tell; let the runtime decide
		}
		return statNotExecutable, nil
	}
	return statExecutable, nil
}
