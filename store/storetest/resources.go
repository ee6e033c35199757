package storetest

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// This file exercises compute environments, job queues, job definitions,
// events and meta settings.

func exerciseComputeEnvironments(t *testing.T, newTx newTxFunc) {
	t.Run("ComputeEnvironment", func(t *testing.T) {
		t.Parallel()

		t.Run("InsertGetRoundTrip", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			want := ComputeEnvironment("ce-a", func(ce *gantry.ComputeEnvironment) {
				ce.UnmanagedvCpus = Ptr[int32](8)
				ce.StatusReason = "ComputeEnvironment Healthy"
				ce.ComputeResources.InstanceTypes = []string{"optimal"}
				ce.UpdatePolicy = &gantry.UpdatePolicy{JobExecutionTimeoutMinutes: Ptr[int64](30)}
			})
			require.NoError(t, tx.ComputeEnvironmentInsert(ctx, want))
			got, err := tx.ComputeEnvironmentGet(ctx, "ce-a")
			require.NoError(t, err)
			require.Equal(t, want, got)
		})

		t.Run("InsertDuplicateIsAlreadyExists", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			require.NoError(t, tx.ComputeEnvironmentInsert(ctx, ComputeEnvironment("ce-a")))
			err := tx.ComputeEnvironmentInsert(ctx, ComputeEnvironment("ce-a"))
			require.ErrorIs(t, err, gantry.ErrAlreadyExists)
		})

		t.Run("MissingIsNotFound", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			_, err := tx.ComputeEnvironmentGet(ctx, "nope")
			require.ErrorIs(t, err, gantry.ErrNotFound)
			require.ErrorIs(t, tx.ComputeEnvironmentUpdate(ctx, ComputeEnvironment("nope")), gantry.ErrNotFound)
			require.ErrorIs(t, tx.ComputeEnvironmentDelete(ctx, "nope"), gantry.ErrNotFound)
		})

		t.Run("Update", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			require.NoError(t, tx.ComputeEnvironmentInsert(ctx, ComputeEnvironment("ce-a")))
			require.NoError(t, tx.ComputeEnvironmentInsert(ctx, ComputeEnvironment("ce-b")))
			want := ComputeEnvironment("ce-a", func(ce *gantry.ComputeEnvironment) {
				ce.State = gantry.StateDisabled
				ce.ComputeResources.MaxvCpus = Ptr[int32](64)
				ce.Tags = nil
			})
			require.NoError(t, tx.ComputeEnvironmentUpdate(ctx, want))
			got, err := tx.ComputeEnvironmentGet(ctx, "ce-a")
			require.NoError(t, err)
			require.Equal(t, want, got)
			other, err := tx.ComputeEnvironmentGet(ctx, "ce-b")
			require.NoError(t, err)
			require.Equal(t, gantry.StateEnabled, other.State)
		})

		t.Run("Delete", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			require.NoError(t, tx.ComputeEnvironmentInsert(ctx, ComputeEnvironment("ce-a")))
			require.NoError(t, tx.ComputeEnvironmentInsert(ctx, ComputeEnvironment("ce-b")))
			require.NoError(t, tx.ComputeEnvironmentDelete(ctx, "ce-a"))
			_, err := tx.ComputeEnvironmentGet(ctx, "ce-a")
			require.ErrorIs(t, err, gantry.ErrNotFound)
			require.ErrorIs(t, tx.ComputeEnvironmentDelete(ctx, "ce-a"), gantry.ErrNotFound)
			_, err = tx.ComputeEnvironmentGet(ctx, "ce-b")
			require.NoError(t, err)
			// The name is free again.
			require.NoError(t, tx.ComputeEnvironmentInsert(ctx, ComputeEnvironment("ce-a")))
		})

		t.Run("List", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			got, err := tx.ComputeEnvironmentList(ctx, &store.ComputeEnvironmentListParams{})
			require.NoError(t, err)
			require.Empty(t, got)
			for _, name := range []string{"d", "b", "a", "c"} {
				require.NoError(t, tx.ComputeEnvironmentInsert(ctx, ComputeEnvironment(name)))
			}
			for name, tc := range map[string]struct {
				params    store.ComputeEnvironmentListParams
				wantNames []string
			}{
				"All":             {store.ComputeEnvironmentListParams{}, []string{"a", "b", "c", "d"}},
				"Names":           {store.ComputeEnvironmentListParams{Names: []string{"c", "zz", "a"}}, []string{"a", "c"}},
				"UnknownNames":    {store.ComputeEnvironmentListParams{Names: []string{"zz"}}, nil},
				"AfterName":       {store.ComputeEnvironmentListParams{AfterName: "b"}, []string{"c", "d"}},
				"Limit":           {store.ComputeEnvironmentListParams{Limit: 3}, []string{"a", "b", "c"}},
				"AfterNameLimit":  {store.ComputeEnvironmentListParams{AfterName: "a", Limit: 2}, []string{"b", "c"}},
				"NamesAfterLimit": {store.ComputeEnvironmentListParams{Names: []string{"a", "c", "d"}, AfterName: "a", Limit: 1}, []string{"c"}},
			} {
				got, err := tx.ComputeEnvironmentList(ctx, &tc.params)
				require.NoError(t, err, name)
				var names []string
				for _, ce := range got {
					names = append(names, ce.ComputeEnvironmentName)
				}
				require.Equal(t, tc.wantNames, names, name)
			}
		})
	})
}

func exerciseJobQueues(t *testing.T, newTx newTxFunc) {
	t.Run("JobQueue", func(t *testing.T) {
		t.Parallel()

		t.Run("InsertGetRoundTrip", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			want := JobQueue("q-a", func(q *gantry.JobQueue) {
				q.Priority = 500
				q.Tags = map[string]string{"k": "v"}
				q.JobStateTimeLimitActions = []gantry.JobStateTimeLimitAction{
					{Reason: "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT", State: "RUNNABLE", MaxTimeSeconds: 600, Action: "CANCEL"},
				}
			})
			require.NoError(t, tx.JobQueueInsert(ctx, want))
			got, err := tx.JobQueueGet(ctx, "q-a")
			require.NoError(t, err)
			require.Equal(t, want, got)
		})

		t.Run("InsertDuplicateIsAlreadyExists", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			require.NoError(t, tx.JobQueueInsert(ctx, JobQueue("q-a")))
			require.ErrorIs(t, tx.JobQueueInsert(ctx, JobQueue("q-a")), gantry.ErrAlreadyExists)
		})

		t.Run("MissingIsNotFound", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			_, err := tx.JobQueueGet(ctx, "nope")
			require.ErrorIs(t, err, gantry.ErrNotFound)
			require.ErrorIs(t, tx.JobQueueUpdate(ctx, JobQueue("nope")), gantry.ErrNotFound)
			require.ErrorIs(t, tx.JobQueueDelete(ctx, "nope"), gantry.ErrNotFound)
		})

		t.Run("UpdateDelete", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			require.NoError(t, tx.JobQueueInsert(ctx, JobQueue("q-a")))
			require.NoError(t, tx.JobQueueInsert(ctx, JobQueue("q-b")))
			want := JobQueue("q-a", func(q *gantry.JobQueue) {
				q.Priority = 7
				q.State = gantry.StateDisabled
			})
			require.NoError(t, tx.JobQueueUpdate(ctx, want))
			got, err := tx.JobQueueGet(ctx, "q-a")
			require.NoError(t, err)
			require.Equal(t, want, got)

			require.NoError(t, tx.JobQueueDelete(ctx, "q-a"))
			_, err = tx.JobQueueGet(ctx, "q-a")
			require.ErrorIs(t, err, gantry.ErrNotFound)
			_, err = tx.JobQueueGet(ctx, "q-b")
			require.NoError(t, err)
		})

		t.Run("List", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			for _, name := range []string{"q3", "q1", "q2"} {
				require.NoError(t, tx.JobQueueInsert(ctx, JobQueue(name)))
			}
			for name, tc := range map[string]struct {
				params    store.JobQueueListParams
				wantNames []string
			}{
				"All":       {store.JobQueueListParams{}, []string{"q1", "q2", "q3"}},
				"Names":     {store.JobQueueListParams{Names: []string{"q3", "q1"}}, []string{"q1", "q3"}},
				"AfterName": {store.JobQueueListParams{AfterName: "q1"}, []string{"q2", "q3"}},
				"Limit":     {store.JobQueueListParams{AfterName: "q1", Limit: 1}, []string{"q2"}},
				"PastEnd":   {store.JobQueueListParams{AfterName: "q3"}, nil},
			} {
				got, err := tx.JobQueueList(ctx, &tc.params)
				require.NoError(t, err, name)
				var names []string
				for _, q := range got {
					names = append(names, q.JobQueueName)
				}
				require.Equal(t, tc.wantNames, names, name)
			}
		})
	})
}

func exerciseJobDefinitions(t *testing.T, newTx newTxFunc) {
	inactive := func(d *gantry.JobDefinition) { d.Status = gantry.JobDefinitionInactive }

	t.Run("JobDefinition", func(t *testing.T) {
		t.Parallel()

		t.Run("InsertGetRoundTrip", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			want := JobDefinition("def", 1, func(d *gantry.JobDefinition) {
				d.Tags = map[string]string{"k": "v"}
				d.Timeout = &gantry.JobTimeout{AttemptDurationSeconds: Ptr[int32](120)}
				d.PlatformCapabilities = []string{gantry.PlatformEC2}
				d.NodeProperties = []byte(`{"numNodes":2}`)
			})
			require.NoError(t, tx.JobDefinitionInsert(ctx, want))
			got, err := tx.JobDefinitionGet(ctx, &store.JobDefinitionGetParams{Name: "def", Revision: 1})
			require.NoError(t, err)
			require.Equal(t, want, got)
		})

		t.Run("InsertDuplicateRevisionIsAlreadyExists", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			require.NoError(t, tx.JobDefinitionInsert(ctx, JobDefinition("def", 1)))
			require.ErrorIs(t, tx.JobDefinitionInsert(ctx, JobDefinition("def", 1)), gantry.ErrAlreadyExists)
			require.NoError(t, tx.JobDefinitionInsert(ctx, JobDefinition("def", 2)))
			require.NoError(t, tx.JobDefinitionInsert(ctx, JobDefinition("other", 1)))
		})

		t.Run("GetLatestActive", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			require.NoError(t, tx.JobDefinitionInsert(ctx, JobDefinition("def", 1)))
			require.NoError(t, tx.JobDefinitionInsert(ctx, JobDefinition("def", 2)))
			require.NoError(t, tx.JobDefinitionInsert(ctx, JobDefinition("def", 3, inactive)))
			require.NoError(t, tx.JobDefinitionInsert(ctx, JobDefinition("def-longer", 9)))
			require.NoError(t, tx.JobDefinitionInsert(ctx, JobDefinition("gone", 1, inactive)))

			got, err := tx.JobDefinitionGet(ctx, &store.JobDefinitionGetParams{Name: "def"})
			require.NoError(t, err)
			require.Equal(t, int32(2), got.Revision)

			// An explicit revision is returned whatever its status.
			got, err = tx.JobDefinitionGet(ctx, &store.JobDefinitionGetParams{Name: "def", Revision: 3})
			require.NoError(t, err)
			require.Equal(t, gantry.JobDefinitionInactive, got.Status)

			_, err = tx.JobDefinitionGet(ctx, &store.JobDefinitionGetParams{Name: "gone"})
			require.ErrorIs(t, err, gantry.ErrNotFound)
			_, err = tx.JobDefinitionGet(ctx, &store.JobDefinitionGetParams{Name: "nope"})
			require.ErrorIs(t, err, gantry.ErrNotFound)
			_, err = tx.JobDefinitionGet(ctx, &store.JobDefinitionGetParams{Name: "def", Revision: 4})
			require.ErrorIs(t, err, gantry.ErrNotFound)
		})

		t.Run("LatestRevision", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			rev, err := tx.JobDefinitionLatestRevision(ctx, "def")
			require.NoError(t, err)
			require.Zero(t, rev)

			require.NoError(t, tx.JobDefinitionInsert(ctx, JobDefinition("def", 1)))
			require.NoError(t, tx.JobDefinitionInsert(ctx, JobDefinition("def", 3, inactive)))
			require.NoError(t, tx.JobDefinitionInsert(ctx, JobDefinition("def", 2)))
			require.NoError(t, tx.JobDefinitionInsert(ctx, JobDefinition("other", 7)))
			rev, err = tx.JobDefinitionLatestRevision(ctx, "def")
			require.NoError(t, err)
			require.Equal(t, int32(3), rev, "the highest revision, ACTIVE or not")

			// Deregistering (INACTIVE) does not lower it.
			require.NoError(t, tx.JobDefinitionUpdate(ctx, JobDefinition("def", 2, inactive)))
			rev, err = tx.JobDefinitionLatestRevision(ctx, "def")
			require.NoError(t, err)
			require.Equal(t, int32(3), rev)
		})

		t.Run("Update", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			require.NoError(t, tx.JobDefinitionInsert(ctx, JobDefinition("def", 1)))
			require.NoError(t, tx.JobDefinitionInsert(ctx, JobDefinition("def", 2)))
			want := JobDefinition("def", 2, inactive, func(d *gantry.JobDefinition) {
				d.Tags = map[string]string{"new": "tag"}
			})
			require.NoError(t, tx.JobDefinitionUpdate(ctx, want))
			got, err := tx.JobDefinitionGet(ctx, &store.JobDefinitionGetParams{Name: "def", Revision: 2})
			require.NoError(t, err)
			require.Equal(t, want, got)
			latest, err := tx.JobDefinitionGet(ctx, &store.JobDefinitionGetParams{Name: "def"})
			require.NoError(t, err)
			require.Equal(t, int32(1), latest.Revision, "status change is seen by the latest-ACTIVE lookup")

			require.ErrorIs(t, tx.JobDefinitionUpdate(ctx, JobDefinition("def", 5)), gantry.ErrNotFound)
			require.ErrorIs(t, tx.JobDefinitionUpdate(ctx, JobDefinition("nope", 1)), gantry.ErrNotFound)
		})

		t.Run("List", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			for _, d := range []*gantry.JobDefinition{
				JobDefinition("b", 2), JobDefinition("a", 1, inactive), JobDefinition("b", 1, inactive),
				JobDefinition("a", 2), JobDefinition("c", 1), JobDefinition("b", 10),
			} {
				require.NoError(t, tx.JobDefinitionInsert(ctx, d))
			}
			for name, tc := range map[string]struct {
				params store.JobDefinitionListParams
				want   []string
			}{
				"All":          {store.JobDefinitionListParams{}, []string{"a:1", "a:2", "b:1", "b:2", "b:10", "c:1"}},
				"Name":         {store.JobDefinitionListParams{Name: "b"}, []string{"b:1", "b:2", "b:10"}},
				"Active":       {store.JobDefinitionListParams{Status: gantry.JobDefinitionActive}, []string{"a:2", "b:2", "b:10", "c:1"}},
				"Inactive":     {store.JobDefinitionListParams{Status: gantry.JobDefinitionInactive}, []string{"a:1", "b:1"}},
				"NameStatus":   {store.JobDefinitionListParams{Name: "b", Status: gantry.JobDefinitionActive}, []string{"b:2", "b:10"}},
				"After":        {store.JobDefinitionListParams{After: &store.JobDefinitionCursor{Name: "a", Revision: 2}}, []string{"b:1", "b:2", "b:10", "c:1"}},
				"AfterInName":  {store.JobDefinitionListParams{After: &store.JobDefinitionCursor{Name: "b", Revision: 1}, Limit: 2}, []string{"b:2", "b:10"}},
				"Limit":        {store.JobDefinitionListParams{Limit: 1}, []string{"a:1"}},
				"UnknownName":  {store.JobDefinitionListParams{Name: "zz"}, nil},
				"AfterNameEnd": {store.JobDefinitionListParams{Name: "a", After: &store.JobDefinitionCursor{Name: "a", Revision: 2}}, nil},
			} {
				got, err := tx.JobDefinitionList(ctx, &tc.params)
				require.NoError(t, err, name)
				var refs []string
				for _, d := range got {
					refs = append(refs, d.JobDefinitionName+":"+itoa(d.Revision))
				}
				require.Equal(t, tc.want, refs, name)
			}
		})
	})
}

func exerciseEvents(t *testing.T, newTx newTxFunc) {
	t.Run("Event", func(t *testing.T) {
		t.Parallel()

		t.Run("InsertAssignsIncreasingIDs", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			var last int64
			for i := range 5 {
				ev := &store.Event{Time: BaseTime + int64(i), DetailType: "Batch Job State Change", Source: "aws.batch"}
				require.NoError(t, tx.EventInsert(ctx, ev))
				require.Greater(t, ev.ID, last)
				last = ev.ID
			}
		})

		t.Run("ListRoundTripAndPaging", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			got, err := tx.EventList(ctx, &store.EventListParams{})
			require.NoError(t, err)
			require.Empty(t, got)

			var want []*store.Event
			for i := range 6 {
				ev := &store.Event{
					Time:       BaseTime + int64(i),
					DetailType: "Batch Job State Change",
					Source:     "aws.batch",
					Resources:  []string{ARNs.ARN(gantry.ResourceJob, "job-"+itoa(int32(i)))},
					Detail:     []byte(`{"jobName":"job-` + itoa(int32(i)) + `","status":"RUNNABLE"}`),
				}
				if i == 3 {
					ev.DetailType, ev.Resources = "Job Queue Blocked", nil
				}
				require.NoError(t, tx.EventInsert(ctx, ev))
				want = append(want, ev)
			}

			got, err = tx.EventList(ctx, &store.EventListParams{})
			require.NoError(t, err)
			require.Equal(t, want, got)

			got, err = tx.EventList(ctx, &store.EventListParams{AfterID: want[1].ID, Limit: 3})
			require.NoError(t, err)
			require.Equal(t, want[2:5], got)

			got, err = tx.EventList(ctx, &store.EventListParams{AfterID: want[5].ID})
			require.NoError(t, err)
			require.Empty(t, got)
		})
	})
}

func exerciseMeta(t *testing.T, newTx newTxFunc) {
	t.Run("Meta", func(t *testing.T) {
		t.Parallel()
		tx, ctx := newTx(t), t.Context()
		_, err := tx.MetaGet(ctx, "cluster_id")
		require.ErrorIs(t, err, gantry.ErrNotFound)

		require.NoError(t, tx.MetaSet(ctx, "cluster_id", "abc"))
		require.NoError(t, tx.MetaSet(ctx, "other", ""))
		got, err := tx.MetaGet(ctx, "cluster_id")
		require.NoError(t, err)
		require.Equal(t, "abc", got)

		require.NoError(t, tx.MetaSet(ctx, "cluster_id", "def"))
		got, err = tx.MetaGet(ctx, "cluster_id")
		require.NoError(t, err)
		require.Equal(t, "def", got)

		got, err = tx.MetaGet(ctx, "other")
		require.NoError(t, err, "an empty value is set, not missing")
		require.Empty(t, got)
	})
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
