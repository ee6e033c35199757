// Package maintenance holds Gantry's background services that keep the
// database tidy. Each follows the same shape: a Config with documented
// defaults, Start(ctx)/Stop() running one pass every Interval, and RunOnce
// doing one pass and returning a result struct.
package maintenance

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gantrybatch/gantry/internal/bgloop"
	"github.com/gantrybatch/gantry/store"
)

// Job retention defaults.
const (
	DefaultRetention  = 30 * 24 * time.Hour
	DefaultInterval   = time.Minute
	DefaultBatchSize  = 500
	DefaultBatchPause = 10 * time.Millisecond
	// MinRetention is the shortest retention ValidateRetention accepts.
	MinRetention = 24 * time.Hour
)

// ValidateRetention checks a user-supplied retention (the --job-retention
// flag). 0 means keep finished jobs forever (run no JobRetention); anything
// else must be at least MinRetention. AWS keeps finished jobs describable
// for at least 7 days (reference §5.14); Gantry allows less, down to a day,
// for small disks, but not so little that clients polling DescribeJobs, or
// PENDING jobs whose dependencies finished long ago (a deleted dependency
// counts as failed), lose jobs from under them.
func ValidateRetention(d time.Duration) error {
	if d < 0 || (d > 0 && d < MinRetention) {
		return fmt.Errorf("job retention %v: must be 0 (keep forever) or at least %v", d, MinRetention)
	}
	return nil
}

// JobDeleter is what JobRetention needs of the store.
type JobDeleter interface {
	// JobDeleteStopped removes up to Limit terminal jobs that stopped
	// before StoppedBefore, oldest first, and returns how many it removed.
	JobDeleteStopped(ctx context.Context, params *store.JobDeleteStoppedParams) (int, error)
}

var _ JobDeleter = (store.Store)(nil)

// Config configures a JobRetention.
type Config struct {
	// Store is where jobs are deleted (required).
	Store JobDeleter
	// Retention is how long SUCCEEDED and FAILED jobs stay after their
	// stoppedAt (default DefaultRetention, 30 days).
	Retention time.Duration
	// Interval is the time between passes (default DefaultInterval).
	Interval time.Duration
	// BatchSize is how many jobs one delete statement removes (default
	// DefaultBatchSize), so that each write transaction stays short.
	BatchSize int
	// BatchPause is the pause between two batches of one pass (default
	// DefaultBatchPause), which lets the scheduler and the API take the
	// database's single writer in between.
	BatchPause time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives a line per pass that deleted jobs (default
	// slog.Default()).
	Logger *slog.Logger
}

func (c *Config) mustValidate() {
	switch {
	case c.Store == nil:
		panic("maintenance: JobRetention needs a Store")
	case c.Retention < 0, c.Interval < 0, c.BatchSize < 0, c.BatchPause < 0:
		panic("maintenance: JobRetention durations and sizes must not be negative")
	}
}

// RetentionResult reports one pass of JobRetention.
type RetentionResult struct {
	// StoppedBefore is the cutoff of the pass, in epoch milliseconds: jobs
	// that stopped before it were deleted.
	StoppedBefore int64
	// Deleted is how many jobs the pass deleted, in Batches statements.
	Deleted int
	Batches int
}

// JobRetention deletes finished (SUCCEEDED or FAILED) jobs whose stoppedAt
// is older than the retention, a pass every Interval.
//
// Array jobs: a parent finishes only once every child has finished
// (scheduler.finishArrayIfDone stamps its stoppedAt then), and deletion goes
// oldest stoppedAt first, so a parent is never deleted while a child that
// stopped before it remains. A child that stopped in the same millisecond
// as its parent may be deleted in the batch after it, within the same pass;
// it stays describable meanwhile. A parent stopped early (its queue was
// deleted while children ran) can go before children still stopping; those
// are deleted on their own schedule. Conversely a parent outlives the
// children that stopped well before it: until it is deleted, DescribeJobs
// counts them as FAILED in its statusSummary and describes each by id as a
// FAILED child derived from the parent. Avoiding that takes deleting each array as
// a unit, by its parent's stoppedAt, in JobDeleteStopped itself.
type JobRetention struct {
	cfg Config

	bg bgloop.Loop

	// ranOnce, if set (tests), receives every pass's result.
	ranOnce chan *RetentionResult
}

// NewJobRetention returns a JobRetention; Start runs it.
func NewJobRetention(cfg Config) *JobRetention {
	cfg.Retention = cmp.Or(cfg.Retention, DefaultRetention)
	cfg.Interval = cmp.Or(cfg.Interval, DefaultInterval)
	cfg.BatchSize = cmp.Or(cfg.BatchSize, DefaultBatchSize)
	cfg.BatchPause = cmp.Or(cfg.BatchPause, DefaultBatchPause)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	cfg.mustValidate()
	return &JobRetention{cfg: cfg}
}

// Start runs a pass at once, then one every Interval, in the background
// until Stop. It is idempotent.
func (r *JobRetention) Start(ctx context.Context) { r.bg.Start(ctx, r.loop) }

// Stop ends the loop and waits for the current pass to finish (it stops
// between batches). It is idempotent.
func (r *JobRetention) Stop() { _ = r.bg.Stop(context.Background()) }

func (r *JobRetention) loop(ctx context.Context) {
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		res, err := r.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			r.cfg.Logger.ErrorContext(ctx, "job retention failed", "error", err)
		}
		if r.ranOnce != nil {
			select {
			case r.ranOnce <- res:
			case <-ctx.Done():
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce deletes the jobs that stopped more than Retention ago, BatchSize
// at a time with BatchPause in between, until a batch comes back short. It
// returns what it deleted, also on error.
func (r *JobRetention) RunOnce(ctx context.Context) (*RetentionResult, error) {
	start := time.Now()
	res := &RetentionResult{StoppedBefore: r.cfg.Now().Add(-r.cfg.Retention).UnixMilli()}
	var err error
	for {
		var n int
		n, err = r.cfg.Store.JobDeleteStopped(ctx, &store.JobDeleteStoppedParams{StoppedBefore: res.StoppedBefore, Limit: r.cfg.BatchSize})
		res.Deleted += n
		res.Batches++
		if err != nil {
			err = fmt.Errorf("delete stopped jobs: %w", err)
			break
		}
		if n < r.cfg.BatchSize {
			break
		}
		if err = sleep(ctx, r.cfg.BatchPause); err != nil {
			break
		}
	}
	if res.Deleted > 0 {
		r.cfg.Logger.InfoContext(ctx, "job retention: deleted finished jobs", "deleted", res.Deleted, "batches", res.Batches,
			"stopped_before", time.UnixMilli(res.StoppedBefore).UTC().Format(time.RFC3339), "duration_ms", time.Since(start).Milliseconds())
	}
	return res, err
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
