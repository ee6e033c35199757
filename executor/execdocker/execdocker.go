// Package execdocker runs each job attempt as a container on a Docker
// engine, through the Engine API (never the docker CLI).
//
// Each attempt is one container named gantry-<task ID>, labelled
// gantry.managed=true plus the task's labels (job id, attempt, task id).
// The container spec maps the job's container properties (see spec.go):
// image, command (the image's default when empty; the entrypoint is left
// alone), environment, user, vCPUs as NanoCPUs, memory as a hard limit with
// no swap unless linuxParameters.maxSwap says otherwise, ulimits, read-only
// root filesystem, privileged, devices, tmpfs, shared memory size, host
// volumes as bind mounts and other volumes as anonymous volumes. Policy
// (which of these a job may use) is enforced when the job definition is
// registered; the executor applies what it is given.
//
// Attempts run under the engine's init (tini) unless Config.Init is false,
// so that SIGTERM reaches the job's process and zombies are reaped. Before
// starting, the executor checks that the command's executable exists in the
// container, as the runtime would without an init, so that a missing
// executable is a CannotStartContainerError rather than exit code 127.
//
// Output: stdout and stderr are attached before the container starts and
// copied, demultiplexed, to task.Output as they arrive; Wait returns only
// once the stream has ended. The engine carries them as two streams, so the
// order of lines between stdout and stderr is not kept (each stream's own
// order is). After a restart, Recover follows the container's logs from
// a little before task.LogsSince and drops the lines that repeat
// task.LogsTail, the stream's stored end (overlapWriter; without a tail,
// from LogsSince rounded up to the next millisecond), so output printed
// while the server was down is delivered once, and Wait reports the exit
// even if it happened while nobody was watching. A container's state lives
// in the engine, so an attempt is never started twice: Start adopts a
// container that already carries the task's id.
//
// Wait removes the container, with its anonymous volumes, once it has
// returned the exit (unless Config.KeepContainers); Cleanup removes what
// crashed servers left behind. Close stops watching and leaves containers
// running for the next server to Recover.
package execdocker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/gantrybatch/gantry/executor"
)

// LabelManaged is set to "true" on every container the executor creates.
const LabelManaged = "gantry.managed"

// ReasonOutOfMemory is the container reason of an attempt the kernel killed
// for exceeding its memory limit.
const ReasonOutOfMemory = "OutOfMemoryError: Container killed due to memory usage"

// ContainerNamePrefix starts the name of every attempt's container.
const ContainerNamePrefix = "gantry-"

const (
	// outputDrainDelay bounds how long Wait waits for the output stream to
	// end after the container has stopped.
	outputDrainDelay = 10 * time.Second
	// removeTimeout bounds a container removal done on the executor's own
	// account (after Wait, after a failed Start).
	removeTimeout = 30 * time.Second
	// waitRetryDelay spaces out retries of a container wait whose
	// connection to the engine broke.
	waitRetryDelay = time.Second
)

// Config configures an Executor.
type Config struct {
	// Host is the engine address in DOCKER_HOST form
	// (unix:///var/run/docker.sock, tcp://host:2376). Empty means the
	// environment's DOCKER_HOST, else the platform default.
	Host string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Pull pulls an image that is not present on the engine. Without it a
	// missing image fails the attempt with CannotPullContainerError.
	Pull bool
	// PullTimeout bounds one image pull. Default 5m.
	PullTimeout time.Duration
	// NetworkMode is the containers' network. Default "bridge".
	NetworkMode string
	// ExtraHosts are "host:ip" entries added to every container's
	// /etc/hosts.
	ExtraHosts []string
	// Init runs each container under the engine's init process, so that
	// signals reach the job and zombies are reaped. Default true; a job
	// definition with linuxParameters.initProcessEnabled=true forces it on.
	Init *bool
	// KeepContainers keeps containers after Wait has returned their exit
	// (for debugging); Cleanup still removes them.
	KeepContainers bool
	// NodeID, when set, limits Cleanup to containers labelled with this
	// server's instance id (the runner labels every attempt with it).
	NodeID string
}

// Executor runs attempts as Docker containers. It is safe for concurrent
// use.
type Executor struct {
	cfg    Config
	logger *slog.Logger
	cli    *client.Client

	// bg carries the executor's own work (log streams, container waits);
	// Close cancels it.
	bg     context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	warned sync.Map // engine warnings already logged

	mu     sync.Mutex
	closed bool
	// ctrs holds the attempts being watched, by task ID, until Wait returns
	// their result. A nil value reserves the ID for a Start or Recover in
	// progress.
	ctrs map[string]*ctr
}

var (
	_ executor.Executor  = (*Executor)(nil)
	_ executor.Capacitor = (*Executor)(nil)
	_ executor.Cleaner   = (*Executor)(nil)
)

// ctr is one watched container.
type ctr struct {
	taskID string
	id     string
	out    *switchWriter
	stream io.Closer      // the attach connection or the log stream
	copied chan struct{}  // closed when the output copy has ended
	replay *overlapWriter // on a replay after a restart: told when it ends

	mu        sync.Mutex
	exited    bool
	killTimer *time.Timer
	killAt    time.Time

	done   chan struct{} // closed once result or err is set
	result executor.ExitResult
	err    error
}

// New connects to the engine and checks that it answers.
func New(ctx context.Context, cfg Config) (*Executor, error) {
	cfg.PullTimeout = cmp.Or(cfg.PullTimeout, 5*time.Minute)
	cfg.NetworkMode = cmp.Or(cfg.NetworkMode, "bridge")
	if cfg.Init == nil {
		on := true
		cfg.Init = &on
	}
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if cfg.Host != "" {
		opts = append(opts, client.WithHost(cfg.Host))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("execdocker: %w", err)
	}
	ping, err := cli.Ping(ctx)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("execdocker: docker engine at %s does not answer: %w", cli.DaemonHost(), err)
	}
	// Negotiate now: the client's lazy negotiation races when its first
	// requests are concurrent.
	cli.NegotiateAPIVersionPing(ping)
	bg, cancel := context.WithCancel(context.Background())
	return &Executor{
		cfg:    cfg,
		logger: cmp.Or(cfg.Logger, slog.Default()),
		cli:    cli,
		bg:     bg,
		cancel: cancel,
		ctrs:   map[string]*ctr{},
	}, nil
}

// Name returns "docker".
func (e *Executor) Name() string { return "docker" }

// Close stops watching containers and closes the connection to the engine.
// Containers keep running, for a later Recover; Waits in progress return
// an error.
func (e *Executor) Close() error {
	e.mu.Lock()
	e.closed = true
	var streams []io.Closer
	for _, c := range e.ctrs {
		if c != nil {
			streams = append(streams, c.stream)
		}
	}
	e.mu.Unlock()
	e.cancel()
	for _, s := range streams {
		s.Close()
	}
	e.wg.Wait()
	return e.cli.Close()
}

var errClosed = errors.New("execdocker: executor closed")

// validName matches what the engine accepts as a container name.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

func validTaskID(id string) error {
	if len(id) > 200 || !validName.MatchString(id) {
		return fmt.Errorf("execdocker: invalid task id %q", id)
	}
	return nil
}

// claim returns the watched container of a task, or reserves the task for
// the caller (reserved true), who must then call settle.
func (e *Executor) claim(taskID string) (c *ctr, reserved bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, false, errClosed
	}
	c, ok := e.ctrs[taskID]
	switch {
	case ok && c == nil:
		return nil, false, fmt.Errorf("execdocker: task %s is already being started or recovered", taskID)
	case ok:
		return c, false, nil
	}
	e.ctrs[taskID] = nil
	return nil, true, nil
}

// settle ends a reservation: c is watched from now on, or, if nil, the
// task is released.
func (e *Executor) settle(taskID string, c *ctr) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c == nil {
		delete(e.ctrs, taskID)
		return
	}
	e.ctrs[taskID] = c
}

func (e *Executor) watched(taskID string) *ctr {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ctrs[taskID]
}

// Start creates and starts the attempt's container, or adopts the one an
// earlier Start created for the same task. It returns a
// *executor.StartError with a CannotPullContainerError reason when the
// image is missing and cannot be pulled, and a CannotStartContainerError
// one when the engine refuses the container (missing executable, unknown
// user, bad limits); other errors (the engine is unreachable) are plain.
func (e *Executor) Start(ctx context.Context, task *executor.Task) (*executor.Handle, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := validTaskID(task.ID); err != nil {
		return nil, err
	}
	c, reserved, err := e.claim(task.ID)
	if c != nil {
		c.out.set(task.Output)
		return &executor.Handle{TaskID: task.ID, Data: c.id}, nil
	}
	if !reserved {
		return nil, err
	}
	defer func() { e.settle(task.ID, c) }()

	// An attempt never gets a second container.
	info, err := e.find(ctx, task.ID, "")
	switch {
	case err == nil:
		e.logger.InfoContext(ctx, "execdocker: adopting the existing container of the task", "task_id", task.ID, "container_id", info.ID)
		c, err = e.adopt(ctx, info, task.Output, task.LogsSince, task.LogsTail)
	case errors.Is(err, executor.ErrTaskLost):
		c, err = e.create(ctx, task)
	}
	if err != nil {
		return nil, err
	}
	return &executor.Handle{TaskID: task.ID, Data: c.id}, nil
}

// create creates, checks and starts a new container for task.
func (e *Executor) create(ctx context.Context, task *executor.Task) (*ctr, error) {
	sp, err := containerSpec(&e.cfg, task)
	if err != nil {
		return nil, err
	}
	name := ContainerNamePrefix + task.ID
	var id string
	for try := 0; ; try++ {
		resp, err := e.cli.ContainerCreate(ctx, sp.config, sp.host, nil, nil, name)
		if err == nil {
			id = resp.ID
			for _, w := range resp.Warnings {
				level := slog.LevelDebug
				if _, seen := e.warned.LoadOrStore(w, true); !seen {
					level = slog.LevelWarn // once per executor: they repeat for every container
				}
				e.logger.Log(ctx, level, "execdocker: engine warning", "task_id", task.ID, "warning", w)
			}
			break
		}
		switch {
		case cerrdefs.IsConflict(err):
			// Another Start won the race for the name: adopt its container.
			info, ferr := e.find(ctx, task.ID, "")
			if ferr != nil {
				return nil, fmt.Errorf("execdocker: create container %s: %w", name, err)
			}
			return e.adopt(ctx, info, task.Output, task.LogsSince, task.LogsTail)
		case cerrdefs.IsNotFound(err) && try == 0:
			if perr := e.ensureImage(ctx, sp.config.Image, err); perr != nil {
				return nil, perr
			}
			continue
		}
		return nil, startError(ctx, "create container", err)
	}
	e.logger.DebugContext(ctx, "execdocker: created", "task_id", task.ID, "container_id", id, "image", sp.config.Image)
	return e.startCreated(ctx, task.ID, id, task.Output)
}

// startCreated checks and starts a created container. If that fails it
// removes the container, so that a failed attempt leaves nothing behind.
func (e *Executor) startCreated(ctx context.Context, taskID, id string, out io.Writer) (*ctr, error) {
	err := e.checkExecutable(ctx, id)
	var c *ctr
	if err == nil {
		c, err = e.attachAndStart(ctx, taskID, id, out)
	}
	if err == nil {
		return c, nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
	defer cancel()
	if rerr := e.cli.ContainerRemove(rctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true}); rerr != nil && !cerrdefs.IsNotFound(rerr) {
		e.logger.WarnContext(ctx, "execdocker: cannot remove the container of a failed start", "task_id", taskID, "container_id", id, "error", rerr)
	}
	return nil, err
}

// attachAndStart attaches to a created container's output, starts it and
// watches it.
func (e *Executor) attachAndStart(ctx context.Context, taskID, id string, out io.Writer) (*ctr, error) {
	hj, err := e.cli.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return nil, fmt.Errorf("execdocker: attach to container %s: %w", id, err)
	}
	c := newCtr(taskID, id, out, closerFunc(func() error { hj.Close(); return nil }))
	e.copyOutput(c, hj.Reader)
	if err := e.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		hj.Close()
		<-c.copied
		return nil, startError(ctx, "start container", err)
	}
	e.logger.DebugContext(ctx, "execdocker: started", "task_id", taskID, "container_id", id)
	e.watch(c)
	return c, nil
}

// adopt watches an existing container: it starts one that was only
// created, and follows the logs (from since) of one that has run.
func (e *Executor) adopt(ctx context.Context, info container.InspectResponse, out io.Writer, since time.Time, tail []string) (*ctr, error) {
	taskID := info.Config.Labels[executor.LabelTaskID]
	if info.State != nil && info.State.Status == container.StateCreated {
		return e.startCreated(ctx, taskID, info.ID, out)
	}
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true}
	var replay *overlapWriter
	switch {
	case !since.IsZero() && len(tail) > 0 && out != nil:
		// Output up to since was delivered, and tail is its end: replay
		// from a little earlier and drop what repeats tail.
		opts.Since = since.Add(-replayOverlap).Format(time.RFC3339Nano)
		replay = newOverlapWriter(out, tail)
		out = replay
	case !since.IsZero():
		// Timestamps kept to the millisecond (as log stores keep them)
		// name the millisecond of the last line, so resume after it.
		opts.Since = since.Truncate(time.Millisecond).Add(time.Millisecond).Format(time.RFC3339Nano)
	}
	logs, err := e.cli.ContainerLogs(e.bg, info.ID, opts)
	switch {
	case cerrdefs.IsNotFound(err):
		return nil, fmt.Errorf("execdocker: container %s: %w", info.ID, executor.ErrTaskLost)
	case err != nil && !engineRefused(err):
		return nil, fmt.Errorf("execdocker: follow the logs of container %s: %w", info.ID, err)
	case err != nil:
		// The container's log driver cannot be read back: watch it
		// without its output rather than lose the attempt.
		e.logger.WarnContext(ctx, "execdocker: cannot follow the container's logs; its further output is lost", "task_id", taskID, "container_id", info.ID, "error", err)
		logs = io.NopCloser(strings.NewReader(""))
	}
	c := newCtr(taskID, info.ID, out, logs)
	c.replay = replay
	e.copyOutput(c, logs)
	e.watch(c)
	return c, nil
}

func newCtr(taskID, id string, out io.Writer, stream io.Closer) *ctr {
	return &ctr{
		taskID: taskID,
		id:     id,
		out:    &switchWriter{w: out},
		stream: stream,
		copied: make(chan struct{}),
		done:   make(chan struct{}),
	}
}

// find inspects the task's container: the one with id if given, else the
// one labelled with the task's id. ErrTaskLost if there is none.
func (e *Executor) find(ctx context.Context, taskID, id string) (container.InspectResponse, error) {
	lost := fmt.Errorf("execdocker: task %s has no container: %w", taskID, executor.ErrTaskLost)
	if id == "" {
		list, err := e.cli.ContainerList(ctx, container.ListOptions{
			All:     true,
			Filters: filters.NewArgs(filters.Arg("label", executor.LabelTaskID+"="+taskID)),
		})
		if err != nil {
			return container.InspectResponse{}, fmt.Errorf("execdocker: list containers: %w", err)
		}
		if len(list) == 0 {
			return container.InspectResponse{}, lost
		}
		if len(list) > 1 {
			e.logger.WarnContext(ctx, "execdocker: several containers carry the task id; using the newest", "task_id", taskID, "count", len(list))
		}
		id = list[0].ID // newest first
	}
	info, err := e.cli.ContainerInspect(ctx, id)
	switch {
	case cerrdefs.IsNotFound(err):
		return info, lost
	case err != nil:
		return info, fmt.Errorf("execdocker: inspect container %s: %w", id, err)
	case info.Config == nil || info.Config.Labels[executor.LabelTaskID] != taskID:
		return info, lost // not the task's container
	}
	return info, nil
}

// Wait blocks until the attempt's container has stopped and its output is
// delivered, or ctx is done, then removes the container (unless
// Config.KeepContainers) and forgets the task. An attempt this Executor
// does not watch yet is looked up in the engine (its output is not
// captured: use Recover for that). ErrTaskLost if the container does not
// exist or was already waited for.
func (e *Executor) Wait(ctx context.Context, h *executor.Handle) (*executor.ExitResult, error) {
	c, err := e.watchedOrAdopted(ctx, h)
	if err != nil {
		return nil, err
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	e.mu.Lock()
	if e.ctrs[h.TaskID] != c {
		e.mu.Unlock()
		return nil, fmt.Errorf("execdocker: task %s already waited for: %w", h.TaskID, executor.ErrTaskLost)
	}
	delete(e.ctrs, h.TaskID)
	e.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	if !e.cfg.KeepContainers {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
		err := e.cli.ContainerRemove(rctx, c.id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		cancel()
		if err != nil && !cerrdefs.IsNotFound(err) {
			e.logger.WarnContext(ctx, "execdocker: cannot remove the container", "task_id", c.taskID, "container_id", c.id, "error", err)
		}
	}
	res := c.result
	return &res, nil
}

// watchedOrAdopted returns the watched container of h, adopting it without
// output if it exists but is not watched.
func (e *Executor) watchedOrAdopted(ctx context.Context, h *executor.Handle) (*ctr, error) {
	c, reserved, err := e.claim(h.TaskID)
	if c != nil || !reserved {
		return c, err
	}
	defer func() { e.settle(h.TaskID, c) }()
	info, err := e.find(ctx, h.TaskID, h.Data)
	if err != nil {
		return nil, err
	}
	c, err = e.adopt(ctx, info, nil, time.Now(), nil)
	return c, err
}

// Stop sends SIGTERM to the attempt's container (its init forwards it to
// the job) and arranges a SIGKILL after grace (at once if grace <= 0). It
// does not wait. A later Stop with a shorter grace brings the SIGKILL
// forward. Stopping a container that has already stopped does nothing.
func (e *Executor) Stop(ctx context.Context, h *executor.Handle, grace time.Duration) error {
	c := e.watched(h.TaskID)
	var id string
	if c != nil {
		id = c.id
	} else {
		info, err := e.find(ctx, h.TaskID, h.Data)
		if err != nil {
			return err
		}
		id = info.ID
	}
	if grace <= 0 {
		return e.kill(ctx, h.TaskID, id, "KILL")
	}
	if c == nil {
		if err := e.kill(ctx, h.TaskID, id, "TERM"); err != nil {
			return err
		}
		time.AfterFunc(grace, func() { e.killLate(h.TaskID, id) })
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exited {
		return nil
	}
	if err := e.kill(ctx, h.TaskID, id, "TERM"); err != nil {
		return err
	}
	killAt := time.Now().Add(grace)
	if c.killTimer != nil && !killAt.Before(c.killAt) {
		return nil
	}
	if c.killTimer != nil {
		c.killTimer.Stop()
	}
	c.killAt = killAt
	c.killTimer = time.AfterFunc(grace, func() {
		c.mu.Lock()
		exited := c.exited
		c.mu.Unlock()
		if !exited {
			e.killLate(c.taskID, c.id)
		}
	})
	e.logger.DebugContext(ctx, "execdocker: stopping", "task_id", h.TaskID, "container_id", id, "grace", grace)
	return nil
}

// killLate is the SIGKILL at the end of a grace period.
func (e *Executor) killLate(taskID, id string) {
	if e.bg.Err() != nil {
		return // closed: the container is left to the next server
	}
	ctx, cancel := context.WithTimeout(context.Background(), removeTimeout)
	defer cancel()
	if err := e.kill(ctx, taskID, id, "KILL"); err != nil && !errors.Is(err, executor.ErrTaskLost) {
		e.logger.Warn("execdocker: SIGKILL after grace", "task_id", taskID, "container_id", id, "error", err)
	}
}

// kill signals the container; a container that is not running is left
// alone.
func (e *Executor) kill(ctx context.Context, taskID, id, signal string) error {
	err := e.cli.ContainerKill(ctx, id, signal)
	switch {
	case err == nil, cerrdefs.IsConflict(err): // not running
		return nil
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("execdocker: task %s: container %s: %w", taskID, id, executor.ErrTaskLost)
	}
	return fmt.Errorf("execdocker: task %s: send SIG%s to container %s: %w", taskID, signal, id, err)
}

// Recover reattaches to an attempt's container after a restart: found by
// h.Data, or by the task's label when h.Data is empty (then h.Data is set).
// Its output from task.LogsSince on goes to task.Output, and Wait reports
// its exit, also one that happened while the server was down. A container
// that was created but never started is started. ErrTaskLost if there is
// no such container.
func (e *Executor) Recover(ctx context.Context, h *executor.Handle, task *executor.Task) error {
	var out io.Writer
	var since time.Time
	var tail []string
	if task != nil {
		out, since, tail = task.Output, task.LogsSince, task.LogsTail
	}
	c, reserved, err := e.claim(h.TaskID)
	if c != nil {
		c.out.set(out)
		if h.Data == "" {
			h.Data = c.id
		}
		return nil
	}
	if !reserved {
		return err
	}
	defer func() { e.settle(h.TaskID, c) }()
	info, err := e.find(ctx, h.TaskID, h.Data)
	if err != nil {
		return err
	}
	if c, err = e.adopt(ctx, info, out, since, tail); err != nil {
		return err
	}
	h.Data = c.id
	e.logger.InfoContext(ctx, "execdocker: reattached", "task_id", h.TaskID, "container_id", c.id, "status", info.State.Status)
	return nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }
