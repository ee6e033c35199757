package storetest

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// This file exercises the job methods other than JobList (job_list.go).

func exerciseJobs(t *testing.T, newTx newTxFunc) {
	t.Run("Job", func(t *testing.T) {
		t.Parallel()

		t.Run("InsertGetRoundTrip", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			want := fullJob()
			require.NoError(t, tx.JobInsert(ctx, want))
			got, err := tx.JobGet(ctx, want.JobID)
			require.NoError(t, err)
			require.Equal(t, want, got)

			minimal := &gantry.Job{JobID: "minimal", JobName: "m", JobQueue: "q", Status: gantry.JobStatusSubmitted, JobDefinition: "d:1"}
			require.NoError(t, tx.JobInsert(ctx, minimal))
			got, err = tx.JobGet(ctx, "minimal")
			require.NoError(t, err)
			require.Equal(t, minimal, got)
		})

		t.Run("InsertEncoded", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			want := fullJob()
			detail, err := json.Marshal(want)
			require.NoError(t, err)
			require.NoError(t, tx.JobInsertEncoded(ctx, &store.JobInsertEncodedParams{Job: want, Detail: detail}))
			got, err := tx.JobGet(ctx, want.JobID)
			require.NoError(t, err)
			require.Equal(t, want, got)
			// Without a document the store encodes the job; dependency
			// edges are stored either way.
			dep := Job(func(j *gantry.Job) { j.Deps = []string{want.JobID} })
			require.NoError(t, tx.JobInsertEncoded(ctx, &store.JobInsertEncodedParams{Job: dep}))
			got, err = tx.JobGet(ctx, dep.JobID)
			require.NoError(t, err)
			require.Equal(t, dep, got)
			dependents, err := tx.JobDependentList(ctx, want.JobID)
			require.NoError(t, err)
			require.Len(t, dependents, 1)
			require.Equal(t, dep.JobID, dependents[0].JobID)
		})

		t.Run("InsertDuplicateIsAlreadyExists", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			job := Job()
			require.NoError(t, tx.JobInsert(ctx, job))
			require.ErrorIs(t, tx.JobInsert(ctx, Job(func(j *gantry.Job) { j.JobID = job.JobID })), gantry.ErrAlreadyExists)
			// Names are not unique.
			require.NoError(t, tx.JobInsert(ctx, Job(func(j *gantry.Job) { j.JobName = job.JobName })))
		})

		t.Run("FinishedQueue", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			// Only jobs something waits on are queued.
			waitedOn, plain := Job(), Job()
			child := Job(func(j *gantry.Job) { j.ArrayParentID = "parent-" + waitedOn.JobID })
			dependent := Job(func(j *gantry.Job) { j.Deps = []string{waitedOn.JobID} })
			for _, j := range []*gantry.Job{waitedOn, plain, child, dependent} {
				require.NoError(t, tx.JobInsert(ctx, j))
			}
			for _, id := range []string{waitedOn.JobID, plain.JobID, child.JobID, waitedOn.JobID} {
				require.NoError(t, tx.JobFinishedInsert(ctx, id))
			}
			ids, err := tx.JobFinishedList(ctx, 100)
			require.NoError(t, err)
			require.ElementsMatch(t, []string{waitedOn.JobID, child.JobID}, ids)
			require.NoError(t, tx.JobFinishedDelete(ctx, []string{waitedOn.JobID}))
			ids, err = tx.JobFinishedList(ctx, 100)
			require.NoError(t, err)
			require.Contains(t, ids, child.JobID)
			require.NotContains(t, ids, waitedOn.JobID)
		})

		t.Run("RefList", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			q := ARNs.ARN(gantry.ResourceJobQueue, "refs-"+Job().JobID)
			in := func(share string, st gantry.JobStatus, mods ...func(*gantry.Job)) *gantry.Job {
				return Job(append([]func(*gantry.Job){func(j *gantry.Job) { j.JobQueue, j.ShareIdentifier, j.Status = q, share, st }}, mods...)...)
			}
			a := in("a", gantry.JobStatusRunnable, func(j *gantry.Job) {
				j.SchedulingPriority = Ptr[int32](7)
				j.StatusReason = "waiting"
				j.Resources = gantry.Resources{VCPUs: 0.5, MemoryMiB: 256, GPUs: 1}
			})
			b := in("b", gantry.JobStatusRunnable)
			running := in("a", gantry.JobStatusRunning, func(j *gantry.Job) { j.Resources = gantry.Resources{VCPUs: 2, MemoryMiB: 64} })
			for _, j := range []*gantry.Job{
				a, b, running, in("a", gantry.JobStatusSucceeded),
				Job(func(j *gantry.Job) { j.Status = gantry.JobStatusRunnable }), // another queue
			} {
				require.NoError(t, tx.JobInsert(ctx, j))
			}
			refs, err := tx.JobRefList(ctx, &store.JobRefListParams{QueueArn: q, Statuses: []gantry.JobStatus{gantry.JobStatusRunnable}})
			require.NoError(t, err)
			require.Equal(t, []*store.JobRef{
				{ID: a.JobID, Status: gantry.JobStatusRunnable, CreatedAt: a.CreatedAt, ShareIdentifier: "a", Resources: a.Resources, SchedulingPriority: 7, StatusReason: "waiting"},
				{ID: b.JobID, Status: gantry.JobStatusRunnable, CreatedAt: b.CreatedAt, ShareIdentifier: "b"},
			}, refs)

			refs, err = tx.JobRefList(ctx, &store.JobRefListParams{QueueArn: q, Statuses: []gantry.JobStatus{gantry.JobStatusRunnable}, Limit: 1})
			require.NoError(t, err)
			require.Len(t, refs, 1)
			require.Equal(t, a.JobID, refs[0].ID)

			refs, err = tx.JobRefList(ctx, &store.JobRefListParams{QueueArn: q, Statuses: []gantry.JobStatus{gantry.JobStatusRunnable, gantry.JobStatusRunning}, ShareIdentifier: "a"})
			require.NoError(t, err)
			require.Len(t, refs, 2)
			require.Equal(t, []string{a.JobID, running.JobID}, []string{refs[0].ID, refs[1].ID})
			require.Equal(t, gantry.JobStatusRunning, refs[1].Status)
			require.Equal(t, running.Resources, refs[1].Resources)

			// An update keeps the columns current.
			cp := *b
			cp.StatusReason = "now blocked"
			cp.SchedulingPriority = Ptr[int32](3)
			require.NoError(t, tx.JobUpdate(ctx, &store.JobUpdateParams{Job: &cp, FromStatus: gantry.JobStatusRunnable}))
			refs, err = tx.JobRefList(ctx, &store.JobRefListParams{QueueArn: q, Statuses: []gantry.JobStatus{gantry.JobStatusRunnable}, ShareIdentifier: "b"})
			require.NoError(t, err)
			require.Len(t, refs, 1)
			require.Equal(t, "now blocked", refs[0].StatusReason)
			require.Equal(t, int32(3), refs[0].SchedulingPriority)
		})

		t.Run("CountActiveShares", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			q := ARNs.ARN(gantry.ResourceJobQueue, "shares-"+Job().JobID)
			in := func(share string, st gantry.JobStatus) *gantry.Job {
				return Job(func(j *gantry.Job) { j.JobQueue, j.ShareIdentifier, j.Status = q, share, st })
			}
			for _, j := range []*gantry.Job{
				in("a", gantry.JobStatusRunnable), in("a", gantry.JobStatusRunning), in("b", gantry.JobStatusPending),
				in("c", gantry.JobStatusSucceeded), in("", gantry.JobStatusRunnable),
				Job(func(j *gantry.Job) { j.ShareIdentifier, j.Status = "d", gantry.JobStatusRunnable }), // another queue
			} {
				require.NoError(t, tx.JobInsert(ctx, j))
			}
			n, err := tx.JobCountActiveShares(ctx, q)
			require.NoError(t, err)
			require.Equal(t, 2, n, "a and b; c has finished, d is in another queue")
		})

		t.Run("GetMissingIsNotFound", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			_, err := tx.JobGet(ctx, "00000000-0000-0000-0000-000000000000")
			require.ErrorIs(t, err, gantry.ErrNotFound)
		})

		t.Run("GetMany", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			a, b, c := Job(), fullJob(), Job()
			for _, j := range []*gantry.Job{a, b, c} {
				require.NoError(t, tx.JobInsert(ctx, j))
			}
			got, err := tx.JobGetMany(ctx, []string{c.JobID, "missing", b.JobID})
			require.NoError(t, err)
			require.ElementsMatch(t, []*gantry.Job{b, c}, got)

			got, err = tx.JobGetMany(ctx, []string{a.JobID, a.JobID})
			require.NoError(t, err)
			require.Equal(t, []*gantry.Job{a}, got, "each job at most once")

			got, err = tx.JobGetMany(ctx, nil)
			require.NoError(t, err)
			require.Empty(t, got)
			got, err = tx.JobGetMany(ctx, []string{"missing"})
			require.NoError(t, err)
			require.Empty(t, got)
		})

		t.Run("GetManyLarge", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			const n = 1100 // more than any sane bind-parameter chunk
			ids := make([]string, 0, n+1)
			for range n {
				j := Job()
				require.NoError(t, tx.JobInsert(ctx, j))
				ids = append(ids, j.JobID)
			}
			got, err := tx.JobGetMany(ctx, append(ids, "missing"))
			require.NoError(t, err)
			require.Len(t, got, n)
			gotIDs := make([]string, len(got))
			for i, j := range got {
				gotIDs[i] = j.JobID
			}
			require.ElementsMatch(t, ids, gotIDs)
		})

		t.Run("UpdateCAS", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			job := Job()
			bystander := Job()
			require.NoError(t, tx.JobInsert(ctx, job))
			require.NoError(t, tx.JobInsert(ctx, bystander))

			runnable := *job
			runnable.Status = gantry.JobStatusRunnable
			runnable.UpdatedAt = job.UpdatedAt + 10
			require.NoError(t, tx.JobUpdate(ctx, &store.JobUpdateParams{Job: &runnable, FromStatus: gantry.JobStatusSubmitted}))
			got, err := tx.JobGet(ctx, job.JobID)
			require.NoError(t, err)
			require.Equal(t, &runnable, got)

			// The same transition again loses the compare-and-swap and
			// changes nothing.
			stale := runnable
			stale.Status = gantry.JobStatusFailed
			stale.StatusReason = "should not be written"
			err = tx.JobUpdate(ctx, &store.JobUpdateParams{Job: &stale, FromStatus: gantry.JobStatusSubmitted})
			require.ErrorIs(t, err, gantry.ErrConflict)
			got, err = tx.JobGet(ctx, job.JobID)
			require.NoError(t, err)
			require.Equal(t, &runnable, got)

			missing := Job()
			err = tx.JobUpdate(ctx, &store.JobUpdateParams{Job: missing, FromStatus: gantry.JobStatusSubmitted})
			require.ErrorIs(t, err, gantry.ErrNotFound)

			// Every mutable field, including the json:"-" ones, is written.
			running := cloneJob(&runnable)
			Placed(gantry.JobStatusRunning, "ce-1", gantry.Resources{VCPUs: 2, MemoryMiB: 4096, GPUs: 1})(running)
			running.UpdatedAt += 10
			running.StatusReason = "started"
			running.Attempts = []gantry.AttemptDetail{{StartedAt: 1, StoppedAt: 2, StatusReason: "retry",
				Container: &gantry.AttemptContainerDetail{ExitCode: Ptr[int32](1), TaskArn: "arn:task/1", LogStreamName: "def/default/1"}}}
			running.Container.TaskArn = "arn:task/2"
			running.Container.LogStreamName = "def/default/2"
			running.Tags = map[string]string{"owner": "someone-else"}
			running.IsTerminated = Ptr(false)
			require.NoError(t, tx.JobUpdate(ctx, &store.JobUpdateParams{Job: running, FromStatus: gantry.JobStatusRunnable}))
			got, err = tx.JobGet(ctx, job.JobID)
			require.NoError(t, err)
			require.Equal(t, running, got)

			// Queries on columns see the new values.
			listed, err := tx.JobList(ctx, &store.JobListParams{
				Statuses:           []gantry.JobStatus{gantry.JobStatusRunning},
				ComputeEnvironment: running.ComputeEnvironment,
			})
			require.NoError(t, err)
			require.Equal(t, []*gantry.Job{running}, listed)
			capacity, err := tx.JobCapacityInUse(ctx)
			require.NoError(t, err)
			require.Equal(t, map[string]gantry.Resources{running.ComputeEnvironment: running.Resources}, capacity)

			got, err = tx.JobGet(ctx, bystander.JobID)
			require.NoError(t, err)
			require.Equal(t, bystander, got, "other jobs are untouched")
		})

		t.Run("CapacityInUse", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			got, err := tx.JobCapacityInUse(ctx)
			require.NoError(t, err)
			require.Empty(t, got)

			for _, j := range []*gantry.Job{
				Job(Placed(gantry.JobStatusRunning, "ce-1", gantry.Resources{VCPUs: 1, MemoryMiB: 1024})),
				Job(Placed(gantry.JobStatusStarting, "ce-1", gantry.Resources{VCPUs: 0.5, MemoryMiB: 512, GPUs: 1})),
				Job(Placed(gantry.JobStatusRunning, "ce-2", gantry.Resources{VCPUs: 4})),
				// Jobs that hold nothing any more.
				Job(Placed(gantry.JobStatusRunning, "ce-3", gantry.Resources{VCPUs: 8}), Stopped(gantry.JobStatusSucceeded, BaseTime)),
				Job(Placed(gantry.JobStatusStarting, "ce-1", gantry.Resources{VCPUs: 8}), func(j *gantry.Job) { j.Status = gantry.JobStatusRunnable }),
				Job(),
			} {
				require.NoError(t, tx.JobInsert(ctx, j))
			}
			got, err = tx.JobCapacityInUse(ctx)
			require.NoError(t, err)
			require.Equal(t, map[string]gantry.Resources{
				ARNs.ARN(gantry.ResourceComputeEnvironment, "ce-1"): {VCPUs: 1.5, MemoryMiB: 1536, GPUs: 1},
				ARNs.ARN(gantry.ResourceComputeEnvironment, "ce-2"): {VCPUs: 4},
			}, got)
		})

		t.Run("CountByQueueStatus", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			got, err := tx.JobCountByQueueStatus(ctx)
			require.NoError(t, err)
			require.Empty(t, got)

			q1, q2 := ARNs.ARN(gantry.ResourceJobQueue, "q1"), ARNs.ARN(gantry.ResourceJobQueue, "q2")
			inQueue := func(q string) func(*gantry.Job) { return func(j *gantry.Job) { j.JobQueue = q } }
			for _, j := range []*gantry.Job{
				Job(inQueue(q1)), Job(inQueue(q1)),
				Job(inQueue(q1), Placed(gantry.JobStatusRunning, "ce", gantry.Resources{VCPUs: 1})),
				Job(inQueue(q2), Stopped(gantry.JobStatusFailed, BaseTime)),
			} {
				require.NoError(t, tx.JobInsert(ctx, j))
			}
			got, err = tx.JobCountByQueueStatus(ctx)
			require.NoError(t, err)
			require.ElementsMatch(t, []*store.JobCount{
				{QueueArn: q1, Status: gantry.JobStatusSubmitted, Count: 2},
				{QueueArn: q1, Status: gantry.JobStatusRunning, Count: 1},
				{QueueArn: q2, Status: gantry.JobStatusFailed, Count: 1},
			}, got)
		})

		t.Run("DeleteStopped", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			old1 := Job(Stopped(gantry.JobStatusSucceeded, 100))
			old2 := Job(Stopped(gantry.JobStatusFailed, 200))
			old3 := Job(Stopped(gantry.JobStatusSucceeded, 300))
			recent := Job(Stopped(gantry.JobStatusSucceeded, 500))
			atCutoff := Job(Stopped(gantry.JobStatusFailed, 400))
			running := Job(Placed(gantry.JobStatusRunning, "ce", gantry.Resources{VCPUs: 1}), func(j *gantry.Job) { j.StoppedAt = 1 })
			submitted := Job()
			all := []*gantry.Job{old1, old2, old3, recent, atCutoff, running, submitted}
			for _, j := range all {
				require.NoError(t, tx.JobInsert(ctx, j))
			}

			n, err := tx.JobDeleteStopped(ctx, &store.JobDeleteStoppedParams{StoppedBefore: 400, Limit: 2})
			require.NoError(t, err)
			require.Equal(t, 2, n, "at most Limit")
			n, err = tx.JobDeleteStopped(ctx, &store.JobDeleteStoppedParams{StoppedBefore: 400, Limit: 10})
			require.NoError(t, err)
			require.Equal(t, 1, n)
			n, err = tx.JobDeleteStopped(ctx, &store.JobDeleteStoppedParams{StoppedBefore: 400, Limit: 10})
			require.NoError(t, err)
			require.Zero(t, n)

			for _, j := range []*gantry.Job{old1, old2, old3} {
				_, err := tx.JobGet(ctx, j.JobID)
				require.ErrorIs(t, err, gantry.ErrNotFound)
			}
			for _, j := range []*gantry.Job{recent, atCutoff, running, submitted} {
				_, err := tx.JobGet(ctx, j.JobID)
				require.NoError(t, err)
			}
		})
	})
}

// fullJob returns a RUNNING job with every field set, the `json:"-"` ones
// included.
func fullJob() *gantry.Job {
	return Job(
		Placed(gantry.JobStatusRunning, "ce-full", gantry.Resources{VCPUs: 1.25, MemoryMiB: 3072, GPUs: 2}),
		func(j *gantry.Job) {
			j.ShareIdentifier = "share-a"
			j.SchedulingPriority = Ptr[int32](50)
			j.Attempts = []gantry.AttemptDetail{{
				StartedAt: j.CreatedAt + 1, StoppedAt: j.CreatedAt + 2, StatusReason: "Host terminated",
				Container: &gantry.AttemptContainerDetail{ExitCode: Ptr[int32](137), Reason: "OOM", TaskArn: "arn:task", LogStreamName: "def/default/abc"},
			}}
			j.StatusReason = "retrying"
			j.DependsOn = []gantry.JobDependency{{JobID: "parent", Type: gantry.ArrayDependencyNToN}}
			j.ArrayProperties = &gantry.ArrayPropertiesDetail{
				StatusSummary: map[string]int32{"RUNNING": 1}, StatusSummaryLastUpdatedAt: j.CreatedAt + 3, Size: Ptr[int32](4),
			}
			j.Timeout = &gantry.JobTimeout{AttemptDurationSeconds: Ptr[int32](600)}
			j.PropagateTags = Ptr(true)
			j.PlatformCapabilities = []string{gantry.PlatformEC2}
			j.IsCancelled = Ptr(false)
			j.IsTerminated = Ptr(false)
			j.ConsumableResourceProperties = []byte(`{"consumableResourceList":[]}`)
			j.Container.Environment = []gantry.KeyValuePair{{Name: "A", Value: "b"}}
			j.Container.TaskArn = "arn:task/2"
			j.Container.LogStreamName = "def/default/2"
			j.ExecutorHandle = `{"container":"c0ffee","pid":4242}`
			j.UpdatedAt = j.CreatedAt + 4
		})
}

// cloneJob copies a job deeply enough for tests to change its container,
// tags and attempts without touching the original.
func cloneJob(j *gantry.Job) *gantry.Job {
	c := *j
	if j.Container != nil {
		container := *j.Container
		c.Container = &container
	}
	c.Tags = maps.Clone(j.Tags)
	c.Attempts = slices.Clone(j.Attempts)
	return &c
}
