package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/executor"
	"github.com/gantrybatch/gantry/store"
)

// RecoverResult counts what Recover did.
type RecoverResult struct {
	Reattached int // attempts the executor still had; now waited on again
	Lost       int // attempts closed out as host-terminated
}

// Recover runs once at server start, before the scheduler: for every job
// left STARTING or RUNNING by the previous run it asks the executor to
// reattach. Attempts the executor lost are recorded as ended with
// "Host EC2 (instance ...) terminated." and retried or failed by the job's
// retry strategy; attempts it still has are waited on as usual.
func (r *Runner) Recover(ctx context.Context) (*RecoverResult, error) {
	jobs, err := r.cfg.Store.JobList(ctx, &store.JobListParams{
		Statuses: []gantry.JobStatus{gantry.JobStatusStarting, gantry.JobStatusRunning},
		Order:    store.JobListOldestFirst,
	})
	if err != nil {
		return nil, fmt.Errorf("list active jobs: %w", err)
	}
	res := &RecoverResult{}
	for _, job := range jobs {
		h := &executor.Handle{TaskID: job.TaskID, Data: job.ExecutorHandle}
		group, stream := logTarget(job)
		out, err := r.cfg.OpenLog(group, stream)
		if err != nil {
			return res, fmt.Errorf("open log stream of job %s: %w", job.JobID, err)
		}
		task := r.buildTask(job, syncWriter(out))
		if r.cfg.LastLogTime != nil {
			task.LogsSince = r.cfg.LastLogTime(group, stream)
			if !task.LogsSince.IsZero() && r.cfg.LogTail != nil {
				task.LogsTail = r.cfg.LogTail(group, stream, task.LogsSince.Add(-executor.LogsTailWindow))
			}
		}
		err = r.cfg.Executor.Recover(ctx, h, task)
		if err != nil || h.Data == "" {
			// The executor has no such attempt (processes die with the
			// server). A STARTING job without a handle may or may not have
			// started; it is never started a second time.
			out.Close()
			if err != nil && !errors.Is(err, executor.ErrTaskLost) {
				r.cfg.Logger.ErrorContext(ctx, "recover attempt", "job_id", job.JobID, "error", err)
			}
			r.finish(ctx, job.JobID, outcome{lost: true})
			res.Lost++
			continue
		}
		if job.Status == gantry.JobStatusStarting {
			// Found by its labels: the attempt started but its RUNNING was
			// never recorded.
			if err := r.recordRunning(ctx, job, &started{handle: h, stream: stream, at: r.cfg.Now().UnixMilli()}); err != nil {
				return res, err
			}
		}
		a := &attempt{jobID: job.JobID, taskID: job.TaskID, handle: h}
		r.mu.Lock()
		r.running[job.JobID] = a
		r.mu.Unlock()
		res.Reattached++
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer r.forget(a)
			r.wait(r.ctx, job, a, h, out, nil)
		}()
		if job.IsTerminated != nil && *job.IsTerminated {
			r.StopJob(job.JobID)
		}
	}
	if len(jobs) > 0 {
		r.cfg.Logger.InfoContext(ctx, "recovered attempts", "reattached", res.Reattached, "lost", res.Lost)
	}
	if c, ok := r.cfg.Executor.(executor.Cleaner); ok {
		keep := map[string]bool{}
		r.mu.Lock()
		for _, a := range r.running {
			if a.handle != nil {
				keep[a.handle.TaskID] = true
			}
		}
		r.mu.Unlock()
		n, err := c.Cleanup(ctx, func(taskID string) bool { return keep[taskID] })
		if err != nil {
			r.cfg.Logger.ErrorContext(ctx, "clean up leftover attempts", "error", err)
		} else if n > 0 {
			r.cfg.Logger.InfoContext(ctx, "removed leftovers of finished attempts", "count", n)
		}
	}
	return res, nil
}
