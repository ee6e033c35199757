// Package executor defines the seam between Gantry's runner and the systems
// that actually run job attempts: local processes (execprocess), a Docker
// engine and Kubernetes (later). One Task is one attempt of one job.
//
// The runner calls Start, persists the returned Handle with the job, then
// Wait. On Terminate or a timeout it calls Stop. After a server restart it
// calls Recover with each persisted Handle of a job that was STARTING or
// RUNNING; an executor that can reattach (Docker, Kubernetes) does so and the
// runner goes on to Wait, one that cannot (processes die with the server)
// returns ErrTaskLost and the runner fails or retries the attempt. Recover
// may fill in h.Data when it finds the task by its labels (an attempt whose
// handle was never recorded).
//
// Wait returns only after every process of the attempt is gone and its output
// has been delivered to Output. After Wait has returned a result the executor
// may forget the task. Stop reaches every process of the attempt.
package executor

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/gantrybatch/gantry"
)

// Executor runs job attempts.
//
// Errors: Start returns a *StartError when the attempt could not start for
// a reason the job owner should see (bad image, missing command); other
// errors are infrastructure failures. Wait, Stop and Recover return
// ErrTaskLost when the task no longer exists.
type Executor interface {
	// Name is the executor kind ("process", "docker", ...).
	Name() string
	// Start launches the attempt and returns once it runs.
	Start(ctx context.Context, task *Task) (*Handle, error)
	// Wait blocks until the attempt exits or ctx ends.
	Wait(ctx context.Context, h *Handle) (*ExitResult, error)
	// Stop sends SIGTERM, then SIGKILL after grace if the attempt is still
	// running. It returns once the signal is sent; Wait reports the exit.
	Stop(ctx context.Context, h *Handle, grace time.Duration) error
	// Recover reattaches to an attempt started before a restart, sending its
	// further output to task.Output. ErrTaskLost if it cannot.
	Recover(ctx context.Context, h *Handle, task *Task) error
}

// Task is one attempt of a job, fully resolved: the runner has merged the
// definition, overrides and parameters, and built the environment.
type Task struct {
	// ID is unique per attempt; it names the log stream and the task ARN.
	ID      string
	JobID   string
	JobName string
	Attempt int
	// Container is the merged container spec (image, user, limits...).
	Container *gantry.ContainerProperties
	// Command is argv; Env is KEY=VALUE, AWS_BATCH_* included.
	Command   []string
	Env       []string
	Resources gantry.Resources
	// Labels tie the attempt to Gantry's records (job id, attempt).
	Labels map[string]string
	// Output receives the attempt's stdout and stderr as they are written.
	// It is safe for concurrent use.
	Output io.Writer
	// LogsSince, on Recover, is the time of the last output already
	// captured: an executor that can replay output resumes after it.
	LogsSince time.Time
	// LogsTail, on Recover, is the captured output's last messages (one
	// per line, oldest first) from LogsTailWindow before LogsSince on: an
	// executor whose replay cannot start exactly after LogsSince (its own
	// clock for the output differs) drops what repeats them.
	LogsTail []string
}

// LogsTailWindow is how far before Task.LogsSince Task.LogsTail reaches.
const LogsTailWindow = 5 * time.Second

// Handle is what the runner stores to find an attempt again.
type Handle struct {
	TaskID string
	// Data is executor-specific and opaque to the runner (a pid and start
	// time, a container id).
	Data string
}

// ExitResult is how an attempt ended.
type ExitResult struct {
	// ExitCode is the process exit code; 128+n for death by signal n.
	ExitCode int
	// Reason is the container reason AWS reports (e.g.
	// "OutOfMemoryError: Container killed due to memory usage"); empty for
	// an ordinary exit.
	Reason string
	// FinishedAt is when the attempt ended, if the executor knows (a
	// container that exited while the server was down); zero means now.
	FinishedAt time.Time
}

// StartError is a failure to start the attempt that belongs to the job, not
// to Gantry; Reason becomes the job's container reason and status reason.
type StartError struct {
	Reason string
}

func (e *StartError) Error() string { return e.Reason }

// Capacitor is implemented by executors that know the size of what they run
// on (a Docker engine's CPUs and memory). The scheduler never places a job
// larger than this, and reports such a job as blocked.
type Capacitor interface {
	Capacity(ctx context.Context) (gantry.Resources, error)
}

// Cleaner is implemented by executors that can leave resources behind after
// a crash (stopped containers). Cleanup removes those of every attempt for
// which keep returns false, and reports how many it removed.
type Cleaner interface {
	Cleanup(ctx context.Context, keep func(taskID string) bool) (int, error)
}

// ErrTaskLost means the executor has no such task (it died with the server,
// or was removed behind Gantry's back).
var ErrTaskLost = errors.New("executor task lost")

// Labels set on every attempt.
const (
	LabelJobID   = "gantry.job-id"
	LabelAttempt = "gantry.attempt"
	LabelTaskID  = "gantry.task-id"
	// LabelNodeID names the Gantry server (its instance id) that owns the
	// attempt, so servers sharing an engine never touch each other's.
	LabelNodeID = "gantry.node-id"
)
