// Package control implements the AWS Batch operations: one method per API
// call, each validating its input, resolving names and ARNs, and applying the
// change in one store transaction (with its outbox event), then waking the
// scheduler. The HTTP layer decodes requests into gantry.*Input values and
// calls these methods; the CLI and later the event targets call them too.
//
// Every error meant for the caller is a *gantry.Error (ClientException);
// anything else is an internal failure.
package control

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// Resource quotas (reference §5.14).
const (
	MaxComputeEnvironments = 50
	MaxJobQueues           = 50
)

// Policy is what the operator allows job definitions to ask for.
type Policy struct {
	// AllowPrivileged permits containerProperties.privileged=true.
	AllowPrivileged bool
	// AllowHostVolumes permits volumes with a host sourcePath.
	AllowHostVolumes bool
}

// Stopper stops the running attempt of a job (the runner implements it).
type Stopper interface {
	StopJob(jobID string)
}

// Config wires a Service.
type Config struct {
	Store store.Store
	ARN   gantry.ARNBuilder
	// Now is the clock; time.Now if nil.
	Now    func() time.Time
	Logger *slog.Logger
	Policy Policy
	// Wake nudges the scheduler after a change that may let jobs move.
	Wake func()
	// WakeForRunnable nudges it about new RUNNABLE jobs only (SubmitJob of
	// a job with nothing to wait for); Wake if nil.
	WakeForRunnable func()
	// Stopper stops STARTING and RUNNING jobs on TerminateJob or queue
	// deletion.
	Stopper Stopper
	// Events, when true, writes a job state change event to the outbox with
	// every transition.
	Events bool
}

// Service implements the AWS Batch operations.
type Service struct {
	cfg  Config
	tr   *Transitioner
	defs *defCache
}

// New returns a Service. It panics if Store is nil (a programming error).
func New(cfg Config) *Service {
	if cfg.Store == nil {
		panic("control: Config.Store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Wake == nil {
		cfg.Wake = func() {}
	}
	if cfg.WakeForRunnable == nil {
		cfg.WakeForRunnable = cfg.Wake
	}
	return &Service{
		cfg:  cfg,
		tr:   &Transitioner{ARN: cfg.ARN, Now: cfg.Now, Events: cfg.Events, Logger: cfg.Logger},
		defs: newDefCache(cfg.Now),
	}
}

// Transitioner returns the transition helper shared with the scheduler and runner.
func (s *Service) Transitioner() *Transitioner { return s.tr }

// SetStopper sets the Stopper after construction (the runner is built after
// the service).
func (s *Service) SetStopper(st Stopper) { s.cfg.Stopper = st }

func (s *Service) nowMillis() int64 { return s.cfg.Now().UnixMilli() }

// notFound turns a store ErrNotFound into a ClientException naming the field.
func notFound(err error, field, value string) error {
	if errors.Is(err, gantry.ErrNotFound) {
		return gantry.ClientErrorf("%s: %s does not exist", field, value)
	}
	return err
}

func internal(op string, err error) error {
	if err == nil {
		return nil
	}
	var ge *gantry.Error
	if errors.As(err, &ge) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Empty is the `{}` response of operations without output.
type Empty struct{}
