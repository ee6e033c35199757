package control

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// Event detail types.
const (
	DetailTypeJobStateChange  = "Batch Job State Change"
	DetailTypeJobQueueBlocked = "Batch Job Queue Blocked"
	EventSource               = "aws.batch"
)

// Transitioner moves jobs between states: it checks the state machine,
// writes the job with a compare-and-swap on its previous status, queues a
// job that finished for dependency resolution, and appends the state change
// event to the outbox, all in the caller's transaction. Every state change in
// Gantry goes through it.
type Transitioner struct {
	ARN    gantry.ARNBuilder
	Now    func() time.Time
	Events bool
	// Wanted, if set, is asked before each event: false means no rule
	// could match one now (see eventbus.Bus.WantsEvents), so none is
	// written.
	Wanted func() bool
	Logger *slog.Logger
	// OnTransition, if set, observes every status change (metrics). It runs
	// inside the caller's transaction, before commit.
	OnTransition func(from, to gantry.JobStatus)
	// OnQueueBlocked, if set, observes every job found blocked (metrics).
	OnQueueBlocked func(queue string)
}

// Transition writes job (already modified by the caller, with job.Status set
// to the new status) if the stored status is still from. A same-status write
// (from == job.Status) updates fields without an event. It returns
// gantry.ErrConflict if the job moved meanwhile.
func (t *Transitioner) Transition(ctx context.Context, tx store.Tx, job *gantry.Job, from gantry.JobStatus) error {
	return t.TransitionStored(ctx, tx, job, from, from)
}

// TransitionStored is Transition for a job whose row still holds an earlier
// status, stored, than the one it is leaving, from: Passing recorded the
// steps in between in the same transaction. The write is a compare-and-swap
// on stored.
func (t *Transitioner) TransitionStored(ctx context.Context, tx store.Tx, job *gantry.Job, from, stored gantry.JobStatus) error {
	if from != job.Status {
		if err := gantry.CheckTransition(from, job.Status); err != nil {
			return err
		}
	}
	job.UpdatedAt = t.Now().UnixMilli()
	// The document is encoded once, for the row and for the event.
	var detail []byte
	if t.events() && from != job.Status {
		var err error
		if detail, err = json.Marshal(job); err != nil {
			return fmt.Errorf("marshal job %s: %w", job.JobID, err)
		}
	}
	if err := tx.JobUpdate(ctx, &store.JobUpdateParams{Job: job, FromStatus: stored, Detail: detail}); err != nil {
		return err
	}
	if from == job.Status {
		return nil
	}
	if job.Status.Terminal() {
		// The scheduler resolves the job's dependents and its array parent.
		if err := tx.JobFinishedInsert(ctx, job.JobID); err != nil {
			return err
		}
	}
	if t.OnTransition != nil {
		t.OnTransition(from, job.Status)
	}
	t.Logger.DebugContext(ctx, "job transition", "job_id", job.JobID, "queue", job.JobQueue,
		"from", string(from), "to", string(job.Status), "reason", job.StatusReason)
	if detail == nil {
		return nil
	}
	return t.emitDetail(ctx, tx, detail, DetailTypeJobStateChange, []string{job.JobArn})
}

// Passing records that job (modified by the caller, with job.Status set to
// the new status) went from `from` to job.Status, without writing the row:
// a TransitionStored later in the same transaction writes where the job
// went next. It checks the state machine, observes the change and writes
// the state change event with the job as it is now. The runner uses it for
// an attempt that ended before its RUNNING was written: one write records
// both steps.
func (t *Transitioner) Passing(ctx context.Context, tx store.Tx, job *gantry.Job, from gantry.JobStatus) error {
	if err := gantry.CheckTransition(from, job.Status); err != nil {
		return err
	}
	job.UpdatedAt = t.Now().UnixMilli()
	if t.OnTransition != nil {
		t.OnTransition(from, job.Status)
	}
	t.Logger.DebugContext(ctx, "job transition", "job_id", job.JobID, "queue", job.JobQueue,
		"from", string(from), "to", string(job.Status), "reason", job.StatusReason)
	if !t.events() {
		return nil
	}
	return t.emit(ctx, tx, job, DetailTypeJobStateChange, []string{job.JobArn})
}

// Inserted records a job SubmitJob just inserted, in the same transaction:
// a job inserted past SUBMITTED (RUNNABLE, having nothing to wait for)
// emits the state change event of that transition. Metrics hooks are the
// caller's, after commit.
func (t *Transitioner) Inserted(ctx context.Context, tx store.Tx, job *gantry.Job) error {
	return t.InsertedEncoded(ctx, tx, job, nil)
}

// InsertedEncoded is Inserted with the job's document already encoded
// (json.Marshal(job)); nil: encoded here if an event is written.
func (t *Transitioner) InsertedEncoded(ctx context.Context, tx store.Tx, job *gantry.Job, detail []byte) error {
	if job.Status == gantry.JobStatusSubmitted {
		return nil
	}
	if err := gantry.CheckTransition(gantry.JobStatusSubmitted, job.Status); err != nil {
		return err
	}
	t.Logger.DebugContext(ctx, "job transition", "job_id", job.JobID, "queue", job.JobQueue,
		"from", string(gantry.JobStatusSubmitted), "to", string(job.Status), "reason", job.StatusReason)
	if !t.events() {
		return nil
	}
	if detail != nil {
		return t.emitDetail(ctx, tx, detail, DetailTypeJobStateChange, []string{job.JobArn})
	}
	return t.emit(ctx, tx, job, DetailTypeJobStateChange, []string{job.JobArn})
}

func (t *Transitioner) events() bool { return t.Events && (t.Wanted == nil || t.Wanted()) }

// QueueBlocked records a "Batch Job Queue Blocked" event for a job that cannot
// be placed.
func (t *Transitioner) QueueBlocked(ctx context.Context, tx store.Tx, job *gantry.Job) error {
	if t.OnQueueBlocked != nil {
		t.OnQueueBlocked(job.JobQueue)
	}
	if !t.events() {
		return nil
	}
	return t.emit(ctx, tx, job, DetailTypeJobQueueBlocked, []string{job.JobArn, job.JobQueue})
}

func (t *Transitioner) emit(ctx context.Context, tx store.Tx, job *gantry.Job, detailType string, resources []string) error {
	detail, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("marshal event detail: %w", err)
	}
	return t.emitDetail(ctx, tx, detail, detailType, resources)
}

func (t *Transitioner) emitDetail(ctx context.Context, tx store.Tx, detail []byte, detailType string, resources []string) error {
	return tx.EventInsert(ctx, &store.Event{
		Time: t.Now().UnixMilli(), DetailType: detailType, Source: EventSource,
		Resources: resources, Detail: detail,
	})
}
