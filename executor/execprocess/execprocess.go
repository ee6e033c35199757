// Package execprocess is the zero-setup executor: it runs each job attempt
// as a local process. The container image is recorded but not used.
//
// Each attempt gets:
//   - a working directory <WorkRoot>/<task ID>, also its HOME, with
//     TMPDIR=<workdir>/tmp, both empty and mode 700, removed when the
//     attempt ends unless Config.KeepWorkDirs (directories an attempt left
//     untouched are recycled for a later attempt: see spares);
//   - the environment PATH (the server's), HOME and TMPDIR, overlaid with
//     Config.BaseEnv, then with the task's Env, plus GANTRY_TASK_ID;
//   - argv exec of task.Command, no shell; argv[0] is looked up in the PATH
//     of that environment;
//   - the uid/gid of task.Container.User when set (the server must then run
//     as root, unless it names the server's own user);
//   - its own process group, so Stop signals every process of the attempt,
//     and SIGKILL if the server dies (Pdeathsig).
//
// Like a container, an attempt ends when its main process exits: the rest
// of its process group is then killed. stdout and stderr share one pipe to
// task.Output, so their order is kept.
//
// Waiting costs no OS thread: each attempt has one goroutine parked on a
// pidfd in the runtime poller (on Linux 5.4+; older kernels block a thread
// in waitid).
//
// Nothing else of the container spec applies: resource requirements,
// volumes, ulimits and the like are not enforced (no cgroups), so there is
// no OutOfMemoryError reason either.
//
// Processes cannot be reattached after a restart. Recover kills what is
// left of the attempt (checking start times, so that a reused pid is never
// signalled) and returns executor.ErrTaskLost.
package execprocess

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gantrybatch/gantry/executor"
)

// outputDrainDelay bounds how long Wait waits for the output pipe to close
// after the attempt's processes are gone (a process that left the group
// may still hold it).
const outputDrainDelay = 5 * time.Second

// groupExitDelay bounds how long Wait waits for the SIGKILLed rest of the
// process group to finish exiting (and, zombies, to be reaped by their new
// parent).
const groupExitDelay = 200 * time.Millisecond

// Config configures an Executor.
type Config struct {
	// WorkRoot holds the attempts' working directories, and in
	// .gantry-spares those waiting to be recycled. It must be traversable
	// by the users attempts run as. Default: $TMPDIR/gantry-tasks.
	WorkRoot string
	// KeepWorkDirs keeps working directories after attempts end.
	KeepWorkDirs bool
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// BaseEnv is KEY=VALUE variables every attempt gets, under the task's
	// own. Default: none beyond PATH, HOME and TMPDIR.
	BaseEnv []string
}

// Executor runs attempts as local processes. It is safe for concurrent use.
type Executor struct {
	cfg    Config
	logger *slog.Logger
	bootID string
	spares *spares // recycled working directories

	mu    sync.Mutex
	procs map[string]*proc // by task ID, until Wait returns the result
}

var _ executor.Executor = (*Executor)(nil)

// proc is one running attempt.
type proc struct {
	taskID  string
	cmd     *exec.Cmd
	pid     int
	pgid    int
	workDir string
	// dirAttrs is what the working directory was made with, if it may be
	// recycled (see spares).
	dirAttrs   dirAttrs
	recyclable bool
	out        *switchWriter
	pidfd      *os.File // nil if the kernel has no pidfds

	mu        sync.Mutex
	exited    bool // the main process has exited; pgid may be reused once reaped
	killTimer *time.Timer
	killAt    time.Time

	done   chan struct{} // closed once result is set
	result executor.ExitResult
}

// handleData is Handle.Data: enough to recognise the process group after a
// restart without mistaking a reused pid for it.
type handleData struct {
	PID       int    `json:"pid"`
	PGID      int    `json:"pgid"`
	StartTime uint64 `json:"start_time"` // /proc/<pid>/stat field 22
	BootID    string `json:"boot_id,omitempty"`
}

// New returns a process executor.
func New(cfg Config) *Executor {
	cfg.WorkRoot = cmp.Or(cfg.WorkRoot, filepath.Join(os.TempDir(), "gantry-tasks"))
	if abs, err := filepath.Abs(cfg.WorkRoot); err == nil {
		cfg.WorkRoot = abs
	}
	return &Executor{
		cfg:    cfg,
		logger: cmp.Or(cfg.Logger, slog.Default()),
		bootID: bootID(),
		spares: newSpares(cfg.WorkRoot),
		procs:  map[string]*proc{},
	}
}

// Name returns "process".
func (e *Executor) Name() string { return "process" }

// validTaskID keeps task IDs usable as one path element.
func validTaskID(id string) error {
	if id == "" || id == "." || id == ".." || len(id) > 255 || strings.ContainsAny(id, "/\x00") {
		return fmt.Errorf("execprocess: invalid task id %q", id)
	}
	return nil
}

// Start launches the attempt. It returns a *executor.StartError for an
// empty or missing command or an unusable user.
func (e *Executor) Start(ctx context.Context, task *executor.Task) (*executor.Handle, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := validTaskID(task.ID); err != nil {
		return nil, err
	}
	if len(task.Command) == 0 {
		return nil, &executor.StartError{Reason: "CannotStartContainerError: no command to run (the process executor does not use the image's default command)"}
	}
	var userSpec string
	if task.Container != nil {
		userSpec = task.Container.User
	}
	cred, err := resolveUser(userSpec)
	if err != nil {
		return nil, err
	}
	workDir := filepath.Join(e.cfg.WorkRoot, task.ID)
	tmpDir := filepath.Join(workDir, "tmp")
	env := buildEnv(e.cfg.BaseEnv, workDir, tmpDir, task.ID, task.Env)
	path, err := lookPath(task.Command[0], getenv(env, "PATH"))
	if err != nil {
		return nil, err
	}
	attrs, recyclable, err := e.makeWorkDir(workDir, tmpDir, cred)
	if err != nil {
		return nil, fmt.Errorf("execprocess: task %s: %w", task.ID, err)
	}

	out := &switchWriter{w: task.Output}
	pidfd := -1
	attr := &syscall.SysProcAttr{
		Setpgid: true,
		// Sent when the thread that forked dies; Go only ends threads
		// locked by a goroutine that exits, never the one running Start.
		Pdeathsig:  syscall.SIGKILL,
		Credential: cred,
	}
	if pidfdWorks() {
		attr.PidFD = &pidfd
	}
	cmd := &exec.Cmd{
		Path: path,
		Args: task.Command,
		Env:  env,
		Dir:  workDir,
		// The same comparable writer for both: os/exec gives them one pipe.
		Stdout:      out,
		Stderr:      out,
		SysProcAttr: attr,
		WaitDelay:   outputDrainDelay,
	}
	if null, err := devNull(); err == nil {
		cmd.Stdin = null // else os/exec opens it
	}
	e.mu.Lock()
	if _, dup := e.procs[task.ID]; dup {
		e.mu.Unlock()
		return nil, fmt.Errorf("execprocess: task %s is already running", task.ID)
	}
	e.procs[task.ID] = nil // reserved
	e.mu.Unlock()

	if err := cmd.Start(); err != nil {
		e.mu.Lock()
		delete(e.procs, task.ID)
		e.mu.Unlock()
		if pidfd >= 0 {
			syscall.Close(pidfd)
		}
		e.removeWorkDir(task.ID, workDir)
		return nil, startError(err)
	}

	p := &proc{
		taskID:     task.ID,
		cmd:        cmd,
		pid:        cmd.Process.Pid,
		pgid:       cmd.Process.Pid, // Setpgid with Pgid 0
		workDir:    workDir,
		dirAttrs:   attrs,
		recyclable: recyclable,
		out:        out,
		done:       make(chan struct{}),
	}
	if pidfd >= 0 {
		// Non-blocking first, so that os.NewFile registers it with the poller.
		if err := syscall.SetNonblock(pidfd, true); err == nil {
			p.pidfd = os.NewFile(uintptr(pidfd), "pidfd")
		} else {
			syscall.Close(pidfd)
		}
	}
	data := handleData{PID: p.pid, PGID: p.pgid, BootID: e.bootID}
	// The process is at worst an unreaped zombie, so its stat is readable.
	if st, err := readProcStat(p.pid); err == nil {
		data.StartTime = st.StartTime
	} else {
		e.logger.WarnContext(ctx, "execprocess: cannot read process start time", "task_id", task.ID, "pid", p.pid, "error", err)
	}
	raw, _ := json.Marshal(data)

	e.mu.Lock()
	e.procs[task.ID] = p
	e.mu.Unlock()
	go e.reap(p)

	e.logger.DebugContext(ctx, "execprocess: started", "task_id", task.ID, "pid", p.pid, "path", path)
	return &executor.Handle{TaskID: task.ID, Data: string(raw)}, nil
}

// devNull is every attempt's stdin, opened once rather than by os/exec for
// each attempt.
var devNull = sync.OnceValues(func() (*os.File, error) { return os.Open(os.DevNull) })

// makeWorkDir gives the attempt its directories, owned by the attempt's
// user: recycled ones if it runs as the server's user and there are some
// (see spares), else fresh ones. It reports whether they may be recycled
// after the attempt, and with which attributes.
func (e *Executor) makeWorkDir(workDir, tmpDir string, cred *syscall.Credential) (dirAttrs, bool, error) {
	recycle := cred == nil && !e.cfg.KeepWorkDirs
	if recycle {
		e.spares.init()
		attrs, ok, err := e.spares.take(workDir)
		if ok || err != nil {
			return attrs, ok, err
		}
	}
	err := os.Mkdir(workDir, 0o700) // EEXIST too: task IDs are unique per attempt
	if errors.Is(err, fs.ErrNotExist) {
		// The first attempt, or WorkRoot was removed since.
		if err := os.MkdirAll(e.cfg.WorkRoot, 0o755); err != nil {
			return dirAttrs{}, false, err
		}
		err = os.Mkdir(workDir, 0o700)
	}
	if err != nil {
		return dirAttrs{}, false, err
	}
	if err := os.Mkdir(tmpDir, 0o700); err != nil {
		return dirAttrs{}, false, err
	}
	if cred != nil {
		for _, d := range []string{workDir, tmpDir} {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return dirAttrs{}, false, err
			}
		}
	}
	if !recycle {
		return dirAttrs{}, false, nil
	}
	var attrs dirAttrs
	var werr, terr error
	attrs.work, werr = statDir(workDir)
	attrs.tmp, terr = statDir(tmpDir)
	return attrs, werr == nil && terr == nil, nil
}

// startError classifies a cmd.Start failure: exec problems belong to the
// job (StartError), anything else (fork limits, memory) to Gantry.
func startError(err error) error {
	var pe *fs.PathError
	var errno syscall.Errno
	if errors.As(err, &pe) && errors.As(pe.Err, &errno) {
		switch errno {
		case syscall.ENOENT, syscall.EACCES, syscall.EPERM, syscall.ENOEXEC, syscall.ENOTDIR,
			syscall.ELOOP, syscall.ENAMETOOLONG, syscall.E2BIG, syscall.EISDIR, syscall.ETXTBSY:
			return &executor.StartError{Reason: "CannotStartContainerError: " + err.Error()}
		}
	}
	return fmt.Errorf("execprocess: start: %w", err)
}

// reap waits for the main process to exit, kills the rest of its group
// while the zombie still pins the group id, then reaps it and records the
// result.
func (e *Executor) reap(p *proc) {
	waitErr := waitExitedNoReap(p.pid, p.pidfd)

	p.mu.Lock()
	p.exited = true
	if p.killTimer != nil {
		p.killTimer.Stop()
	}
	if waitErr == nil {
		if err := killGroup(p.pgid, syscall.SIGKILL); err != nil {
			e.logger.Warn("execprocess: cannot kill the rest of the process group", "task_id", p.taskID, "pgid", p.pgid, "error", err)
		}
	} else {
		// Without the zombie the group id could belong to someone else.
		e.logger.Warn("execprocess: waiting without reaping failed; leaving the process group alone", "task_id", p.taskID, "pid", p.pid, "error", waitErr)
	}
	p.mu.Unlock()

	err := p.cmd.Wait()
	if p.pidfd != nil {
		p.pidfd.Close()
	}
	if waitErr == nil {
		// The output's end means the rest of the group closed it, not that
		// it has finished exiting: give it a moment, so that Wait returns
		// once they are gone.
		waitGroupGone(p.pgid, groupExitDelay)
	}
	switch {
	case errors.Is(err, exec.ErrWaitDelay):
		e.logger.Warn("execprocess: output still open after the attempt exited; a process left its group", "task_id", p.taskID)
	case err != nil && !isExitError(err):
		e.logger.Warn("execprocess: wait", "task_id", p.taskID, "error", err)
	}
	p.result = exitResult(p.cmd.ProcessState)
	// Output still open (closed by WaitDelay; os/exec reports that only
	// for a zero exit status) means a process left the group and may still
	// use the directories: they are not for another attempt then.
	escaped := !p.out.drained.Load()
	if e.cfg.KeepWorkDirs || !p.recyclable || escaped || !e.spares.give(p.workDir, p.dirAttrs) {
		e.removeWorkDir(p.taskID, p.workDir)
	}
	e.logger.Debug("execprocess: exited", "task_id", p.taskID, "pid", p.pid, "exit_code", p.result.ExitCode)
	close(p.done)
}

func isExitError(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}

// exitResult maps a wait status to an exit code, 128+n for signal n.
func exitResult(ps *os.ProcessState) executor.ExitResult {
	if ps == nil {
		return executor.ExitResult{ExitCode: -1, Reason: "exit status unavailable"}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return executor.ExitResult{ExitCode: 128 + int(ws.Signal())}
	}
	return executor.ExitResult{ExitCode: ps.ExitCode()}
}

func (e *Executor) removeWorkDir(taskID, dir string) {
	if e.cfg.KeepWorkDirs {
		return
	}
	// Most attempts leave both directories empty: two rmdirs do. Anything
	// else (files, a TMPDIR removed or replaced) takes the full walk.
	if os.Remove(filepath.Join(dir, "tmp")) == nil && os.Remove(dir) == nil {
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		e.logger.Warn("execprocess: cannot remove working directory", "task_id", taskID, "dir", dir, "error", err)
	}
}

func (e *Executor) lookup(taskID string) (*proc, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p := e.procs[taskID]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("execprocess: task %s: %w", taskID, executor.ErrTaskLost)
}

// Wait blocks until the attempt has exited, its other processes are dead
// and its output is delivered, or ctx is done. Once it has returned the
// result the task is forgotten: later calls return executor.ErrTaskLost.
func (e *Executor) Wait(ctx context.Context, h *executor.Handle) (*executor.ExitResult, error) {
	p, err := e.lookup(h.TaskID)
	if err != nil {
		return nil, err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.procs[h.TaskID] != p {
		return nil, fmt.Errorf("execprocess: task %s already waited for: %w", h.TaskID, executor.ErrTaskLost)
	}
	delete(e.procs, h.TaskID)
	res := p.result
	return &res, nil
}

// Stop sends SIGTERM to the attempt's process group and arranges a SIGKILL
// to the group after grace (at once if grace <= 0). It does not wait. A
// later Stop with a shorter grace brings the SIGKILL forward.
func (e *Executor) Stop(ctx context.Context, h *executor.Handle, grace time.Duration) error {
	p, err := e.lookup(h.TaskID)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited {
		return nil
	}
	if grace <= 0 {
		return p.signal(syscall.SIGKILL)
	}
	if err := p.signal(syscall.SIGTERM); err != nil {
		return err
	}
	killAt := time.Now().Add(grace)
	if p.killTimer != nil && !killAt.Before(p.killAt) {
		return nil
	}
	if p.killTimer != nil {
		p.killTimer.Stop()
	}
	p.killAt = killAt
	p.killTimer = time.AfterFunc(grace, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.exited {
			if err := p.signal(syscall.SIGKILL); err != nil {
				e.logger.Warn("execprocess: SIGKILL after grace", "task_id", p.taskID, "error", err)
			}
		}
	})
	e.logger.DebugContext(ctx, "execprocess: stopping", "task_id", p.taskID, "pgid", p.pgid, "grace", grace)
	return nil
}

// signal signals the group; p.mu must be held and the main process not yet
// reaped, so the group id is still ours.
func (p *proc) signal(sig syscall.Signal) error {
	if err := killGroup(p.pgid, sig); err != nil {
		return fmt.Errorf("execprocess: task %s: signal %v: %w", p.taskID, sig, err)
	}
	return nil
}

// Recover cannot reattach a process started by an earlier server. It kills
// whatever is left of the attempt's process group, removes its working
// directory and returns executor.ErrTaskLost. An attempt this Executor is
// still running is kept: its further output goes to task.Output.
func (e *Executor) Recover(ctx context.Context, h *executor.Handle, task *executor.Task) error {
	if p, err := e.lookup(h.TaskID); err == nil {
		if task != nil {
			p.out.set(task.Output)
		}
		return nil
	}
	lost := fmt.Errorf("execprocess: task %s: processes do not survive a restart: %w", h.TaskID, executor.ErrTaskLost)
	if validTaskID(h.TaskID) != nil {
		return lost
	}
	var data handleData
	if err := json.Unmarshal([]byte(h.Data), &data); err != nil || data.PID <= 1 || data.PGID <= 1 {
		return lost
	}
	if n := e.killLeftovers(h.TaskID, data); n > 0 {
		e.logger.InfoContext(ctx, "execprocess: killed the leftovers of an attempt from before the restart", "task_id", h.TaskID, "pgid", data.PGID)
	}
	e.removeWorkDir(h.TaskID, filepath.Join(e.cfg.WorkRoot, h.TaskID))
	return lost
}

// killLeftovers SIGKILLs the attempt's process group if it provably still
// is the attempt's: either its leader is alive with the recorded start
// time, or a member started no earlier than the leader carries the
// attempt's GANTRY_TASK_ID. It returns 1 if it signalled the group.
func (e *Executor) killLeftovers(taskID string, data handleData) int {
	if data.BootID != "" && data.BootID != e.bootID {
		return 0 // rebooted since: nothing of it survives
	}
	if st, err := readProcStat(data.PID); err == nil {
		if st.StartTime != data.StartTime {
			// The pid was reused, so the group it led is gone (a pid is
			// not reused while a process group still carries it).
			return 0
		}
		if st.PGID == data.PGID {
			return e.killGroupLogged(taskID, data.PGID)
		}
	}
	// The leader is gone (Pdeathsig killed it) but its children may live
	// on in the group.
	marker := EnvTaskID + "=" + taskID
	for _, pid := range groupMembers(data.PGID, data.StartTime) {
		if environHas(pid, marker) {
			return e.killGroupLogged(taskID, data.PGID)
		}
	}
	return 0
}

func (e *Executor) killGroupLogged(taskID string, pgid int) int {
	if err := killGroup(pgid, syscall.SIGKILL); err != nil {
		e.logger.Warn("execprocess: cannot kill a leftover process group", "task_id", taskID, "pgid", pgid, "error", err)
		return 0
	}
	return 1
}

// switchWriter is the attempt's Output, replaceable by Recover.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
	// drained: ReadFrom saw the end of the output, every writer closed it.
	drained atomic.Bool
}

func (s *switchWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return len(b), nil
	}
	// A failing Output must not stall the process: report success to the
	// copier so the pipe keeps draining.
	_, _ = s.w.Write(b)
	return len(b), nil
}

// copyBufs are the buffers of the output copiers (os/exec's io.Copy from
// the pipe finds ReadFrom), so that an attempt does not allocate one.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// ReadFrom copies the attempt's output pipe to the Output.
func (s *switchWriter) ReadFrom(r io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var n int64
	for {
		nr, err := r.Read(buf)
		if nr > 0 {
			_, _ = s.Write(buf[:nr])
			n += int64(nr)
		}
		switch {
		case err == io.EOF:
			s.drained.Store(true)
			return n, nil
		case err != nil:
			return n, err
		}
	}
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w = w
}
