package runner

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/executor/execfake"
	"github.com/gantrybatch/gantry/store"
)

// TestRunningDelay checks the deferred RUNNING write: an attempt that ends
// within RunningDelay has its RUNNING recorded together with its end (both
// events, in order, and the OnStarted hook), and a longer one shows
// RUNNING while it runs.
func TestRunningDelay(t *testing.T) {
	t.Parallel()
	newRunner := func(t *testing.T, b *testBundle, delay time.Duration, started *[]string, mu *sync.Mutex) *Runner {
		b.tr.Events = true
		return b.runnerWith(t, func(c *Config) {
			c.RunningDelay = delay
			c.OnStarted = func(j *gantry.Job) {
				mu.Lock()
				*started = append(*started, string(j.Status))
				mu.Unlock()
			}
		})
	}
	statuses := func(t *testing.T, b *testBundle) []string {
		evs, err := b.store.EventList(context.Background(), &store.EventListParams{Limit: 100})
		require.NoError(t, err)
		var out []string
		for _, ev := range evs {
			var j gantry.Job
			require.NoError(t, json.Unmarshal(ev.Detail, &j))
			out = append(out, string(j.Status))
			if j.Status == gantry.JobStatusRunning {
				require.NotZero(t, j.StartedAt, "the RUNNING event carries startedAt")
				require.NotEmpty(t, j.Container.LogStreamName)
			}
		}
		return out
	}

	t.Run("an attempt ending within the delay is written once", func(t *testing.T) {
		t.Parallel()
		b := setup(t, execfake.Config{})
		var mu sync.Mutex
		var started []string
		r := newRunner(t, b, time.Hour, &started, &mu)
		job := b.startingJob(t, nil, kv(execfake.EnvExitCode, "0"))
		r.Dispatch(job)
		j := b.waitStatus(t, job.JobID, gantry.JobStatusSucceeded)
		require.NotZero(t, j.StartedAt)
		require.GreaterOrEqual(t, j.StoppedAt, j.StartedAt)
		require.NotEmpty(t, j.Container.TaskArn)
		require.NotEmpty(t, j.Container.LogStreamName)
		require.Len(t, j.Attempts, 1)
		require.Equal(t, j.StartedAt, j.Attempts[0].StartedAt)
		require.Equal(t, []string{"RUNNING", "SUCCEEDED"}, statuses(t, b))
		mu.Lock()
		require.Equal(t, []string{"RUNNING"}, started)
		mu.Unlock()
	})

	t.Run("a longer attempt shows RUNNING while it runs", func(t *testing.T) {
		t.Parallel()
		b := setup(t, execfake.Config{})
		var mu sync.Mutex
		var started []string
		r := newRunner(t, b, 10*time.Millisecond, &started, &mu)
		job := b.startingJob(t, nil, kv(execfake.EnvRunFor, "forever"))
		r.Dispatch(job)
		j := b.waitStatus(t, job.JobID, gantry.JobStatusRunning)
		require.NotEmpty(t, j.ExecutorHandle)
		r.StopJob(job.JobID)
		b.waitStatus(t, job.JobID, gantry.JobStatusFailed)
		require.Equal(t, []string{"RUNNING", "FAILED"}, statuses(t, b))
	})
}
