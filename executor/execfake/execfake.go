// Package execfake is a scripted executor.Executor for unit tests of the
// runner and scheduler, in the spirit of Nomad's mock driver: nothing is
// executed, the task's environment says what "happens".
//
// A task whose Env sets any FAKE_* variable is scripted and its Command is
// only recorded:
//
//	FAKE_START_ERROR=reason    Start returns *executor.StartError{Reason: reason}
//	FAKE_START_FAILURE=text    Start returns an infrastructure error (not a StartError)
//	FAKE_OUTPUT=text           written to Output when the task starts
//	FAKE_STDERR=text           written to Output after FAKE_OUTPUT
//	FAKE_RUN_FOR=duration      how long the task runs (Go duration or "forever"; default 0)
//	FAKE_EXIT_CODE=n           exit code when the run time is over (default 0)
//	FAKE_EXIT_REASON=text      ExitResult.Reason, e.g. "OutOfMemoryError: ..."
//	FAKE_IGNORE_TERM=1         Stop's SIGTERM is ignored; the task dies of SIGKILL (137) after grace
//
// Other tasks have their Command interpreted by a handful of builtins that
// behave like their busybox namesakes: true, false, echo ARGS..., env and
// sleep SECONDS. Any other command fails to start with the
// CannotStartContainerError a missing executable gives. A scripted task that
// is stopped exits 143 (SIGTERM), or 137 when it ignores SIGTERM.
//
// Time comes from Config.Clock (real time by default), or is skipped
// entirely in Immediate mode. Tests can also end a task with Finish.
package execfake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gantrybatch/gantry/executor"
)

// Script variables; see the package comment.
const (
	EnvStartError   = "FAKE_START_ERROR"
	EnvStartFailure = "FAKE_START_FAILURE"
	EnvOutput       = "FAKE_OUTPUT"
	EnvStderr       = "FAKE_STDERR"
	EnvRunFor       = "FAKE_RUN_FOR"
	EnvExitCode     = "FAKE_EXIT_CODE"
	EnvExitReason   = "FAKE_EXIT_REASON"
	EnvIgnoreTerm   = "FAKE_IGNORE_TERM"

	envPrefix = "FAKE_"
	forever   = "forever"
)

// Exit codes of stopped tasks.
const (
	ExitSIGTERM = 128 + 15
	ExitSIGKILL = 128 + 9
)

// Clock is the fake's view of time. A test clock that implements After can
// drive run times and Stop's grace period.
type Clock interface {
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config configures an Executor. The zero value runs tasks in real time.
type Config struct {
	// Clock times run durations and grace periods; nil means real time.
	Clock Clock
	// Immediate ends every task as soon as it starts, ignoring run times.
	Immediate bool
	// LoseOnRecover makes Recover always return executor.ErrTaskLost, like
	// an executor whose tasks die with the server. Otherwise Recover
	// succeeds for tasks this Executor started and nobody has waited for.
	LoseOnRecover bool
}

// Executor is the scripted fake. It is safe for concurrent use.
type Executor struct {
	cfg Config

	mu      sync.Mutex
	tasks   map[string]*task
	started []*executor.Task
}

var _ executor.Executor = (*Executor)(nil)

type task struct {
	spec       *executor.Task
	ignoreTerm bool
	killing    bool // a SIGKILL after grace is pending
	done       chan struct{}
	result     executor.ExitResult
}

// New returns a fake executor.
func New(cfg Config) *Executor {
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	return &Executor{cfg: cfg, tasks: map[string]*task{}}
}

// Name returns "fake".
func (e *Executor) Name() string { return "fake" }

// plan is what a task will do.
type plan struct {
	startErr  error
	stdout    string
	stderr    string
	runFor    time.Duration
	forever   bool
	exitCode  int
	reason    string
	ignoreTrm bool
}

// Start "launches" the task according to its script or builtin command.
func (e *Executor) Start(ctx context.Context, spec *executor.Task) (*executor.Handle, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if spec.ID == "" {
		return nil, errors.New("execfake: task has no ID")
	}
	p := planTask(spec)
	if p.startErr != nil {
		return nil, p.startErr
	}
	out := spec.Output
	if out == nil {
		out = io.Discard
	}
	t := &task{spec: spec, ignoreTerm: p.ignoreTrm, done: make(chan struct{})}

	e.mu.Lock()
	if _, dup := e.tasks[spec.ID]; dup {
		e.mu.Unlock()
		return nil, fmt.Errorf("execfake: task %s already started", spec.ID)
	}
	e.tasks[spec.ID] = t
	e.started = append(e.started, spec)
	e.mu.Unlock()

	if p.stdout != "" {
		_, _ = io.WriteString(out, p.stdout)
	}
	if p.stderr != "" {
		_, _ = io.WriteString(out, p.stderr)
	}
	switch {
	case e.cfg.Immediate || (p.runFor <= 0 && !p.forever):
		e.finish(t, p.exitCode, p.reason)
	case !p.forever:
		timer := e.cfg.Clock.After(p.runFor)
		go func() {
			select {
			case <-timer:
				e.finish(t, p.exitCode, p.reason)
			case <-t.done:
			}
		}()
	}
	return &executor.Handle{TaskID: spec.ID, Data: "fake"}, nil
}

func planTask(spec *executor.Task) plan {
	env := map[string]string{}
	scripted := false
	for _, kv := range spec.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
		if strings.HasPrefix(k, envPrefix) {
			scripted = true
		}
	}
	if scripted {
		return scriptPlan(env)
	}
	return builtinPlan(spec.Command, spec.Env)
}

func scriptPlan(env map[string]string) plan {
	var p plan
	if r, ok := env[EnvStartError]; ok {
		p.startErr = &executor.StartError{Reason: r}
		return p
	}
	if r, ok := env[EnvStartFailure]; ok {
		p.startErr = fmt.Errorf("execfake: %s", r)
		return p
	}
	p.stdout, p.stderr, p.reason = env[EnvOutput], env[EnvStderr], env[EnvExitReason]
	if v := env[EnvRunFor]; v == forever {
		p.forever = true
	} else if v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			p.startErr = fmt.Errorf("execfake: %s=%q: %w", EnvRunFor, v, err)
			return p
		}
		p.runFor = d
	}
	if v := env[EnvExitCode]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			p.startErr = fmt.Errorf("execfake: %s=%q: %w", EnvExitCode, v, err)
			return p
		}
		p.exitCode = n
	}
	p.ignoreTrm, _ = strconv.ParseBool(env[EnvIgnoreTerm])
	return p
}

func builtinPlan(argv, env []string) plan {
	var p plan
	if len(argv) == 0 {
		p.startErr = &executor.StartError{Reason: "CannotStartContainerError: no command to run"}
		return p
	}
	switch path.Base(argv[0]) {
	case "true":
	case "false":
		p.exitCode = 1
	case "echo":
		p.stdout = strings.Join(argv[1:], " ") + "\n"
	case "env":
		for _, kv := range env {
			p.stdout += kv + "\n"
		}
	case "sleep":
		secs := -1.0
		if len(argv) == 2 {
			if f, err := strconv.ParseFloat(argv[1], 64); err == nil && f >= 0 {
				secs = f
			}
		}
		if secs < 0 {
			p.stderr = "sleep: invalid arguments\n"
			p.exitCode = 1
			break
		}
		p.runFor = time.Duration(secs * float64(time.Second))
	default:
		p.startErr = &executor.StartError{Reason: fmt.Sprintf(
			"CannotStartContainerError: exec: %q: executable file not found in $PATH", argv[0])}
	}
	return p
}

// finish ends t once; later calls do nothing.
func (e *Executor) finish(t *task, code int, reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-t.done:
		return
	default:
	}
	t.result = executor.ExitResult{ExitCode: code, Reason: reason}
	close(t.done)
}

func (e *Executor) lookup(h *executor.Handle) (*task, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.tasks[h.TaskID]
	if !ok {
		return nil, fmt.Errorf("execfake: task %s: %w", h.TaskID, executor.ErrTaskLost)
	}
	return t, nil
}

// Wait blocks until the task ends or ctx is done. After it has returned a
// result the task is forgotten.
func (e *Executor) Wait(ctx context.Context, h *executor.Handle) (*executor.ExitResult, error) {
	t, err := e.lookup(h)
	if err != nil {
		return nil, err
	}
	select {
	case <-t.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tasks[h.TaskID] != t {
		return nil, fmt.Errorf("execfake: task %s already waited for: %w", h.TaskID, executor.ErrTaskLost)
	}
	delete(e.tasks, h.TaskID)
	res := t.result
	return &res, nil
}

// Stop "sends SIGTERM": the task exits 143 at once, or, if it ignores
// SIGTERM, 137 after grace.
func (e *Executor) Stop(ctx context.Context, h *executor.Handle, grace time.Duration) error {
	t, err := e.lookup(h)
	if err != nil {
		return err
	}
	if !t.ignoreTerm {
		e.finish(t, ExitSIGTERM, "")
		return nil
	}
	if grace <= 0 {
		e.finish(t, ExitSIGKILL, "")
		return nil
	}
	e.mu.Lock()
	already := t.killing
	t.killing = true
	e.mu.Unlock()
	if !already {
		timer := e.cfg.Clock.After(grace)
		go func() {
			select {
			case <-timer:
				e.finish(t, ExitSIGKILL, "")
			case <-t.done:
			}
		}()
	}
	return nil
}

// Recover succeeds for a task this Executor started and nobody has waited
// for, unless Config.LoseOnRecover is set.
func (e *Executor) Recover(ctx context.Context, h *executor.Handle, spec *executor.Task) error {
	if e.cfg.LoseOnRecover {
		return fmt.Errorf("execfake: task %s: %w", h.TaskID, executor.ErrTaskLost)
	}
	_, err := e.lookup(h)
	return err
}

// Finish ends a running task with the given exit code, as if its process
// had exited. It returns executor.ErrTaskLost for an unknown task.
func (e *Executor) Finish(taskID string, exitCode int) error {
	t, err := e.lookup(&executor.Handle{TaskID: taskID})
	if err != nil {
		return err
	}
	e.finish(t, exitCode, "")
	return nil
}

// Started returns every task passed to a successful Start, in order.
func (e *Executor) Started() []*executor.Task {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*executor.Task(nil), e.started...)
}
