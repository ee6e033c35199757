package storetest

import (
	"cmp"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

func exerciseJobList(t *testing.T, newTx newTxFunc) {
	t.Run("JobList", func(t *testing.T) {
		t.Parallel()

		t.Run("Filters", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			q1, q2 := ARNs.ARN(gantry.ResourceJobQueue, "q1"), ARNs.ARN(gantry.ResourceJobQueue, "q2")
			job := func(n int64, queue, name, def, share string, mods ...func(*gantry.Job)) *gantry.Job {
				return Job(append([]func(*gantry.Job){func(j *gantry.Job) {
					j.CreatedAt = BaseTime + n
					j.JobQueue, j.JobName, j.JobDefinition, j.ShareIdentifier = queue, name, def, share
				}}, mods...)...)
			}
			def := func(name string, rev int32) string { return ARNs.JobDefinitionARN(name, rev) }
			jobs := []*gantry.Job{
				job(1, q1, "Alpha_1", def("def", 1), "s1"),
				job(2, q1, "alpha-2", def("def", 2), "", func(j *gantry.Job) { j.Status = gantry.JobStatusRunnable }),
				job(3, q1, "beta", def("other", 1), "s2", Placed(gantry.JobStatusRunning, "ce1", gantry.Resources{VCPUs: 1})),
				job(4, q2, "alphabet", def("def-x", 1), "", Placed(gantry.JobStatusRunning, "ce2", gantry.Resources{VCPUs: 1})),
				job(5, q2, "ALPHA_1", def("def", 1), "s1", Stopped(gantry.JobStatusSucceeded, BaseTime+50)),
				job(6, q2, "gamma", def("Def", 1), "", Stopped(gantry.JobStatusFailed, BaseTime+60)),
				job(7, q1, "abc", def("def", 1), ""),
				job(8, q1, "a_c", def("def", 1), ""),
			}
			for _, j := range jobs {
				require.NoError(t, tx.JobInsert(ctx, j))
			}
			for name, tc := range map[string]struct {
				params store.JobListParams
				want   []int // createdAt offsets, in the expected order
			}{
				"None":                  {store.JobListParams{}, []int{8, 7, 6, 5, 4, 3, 2, 1}},
				"Queue":                 {store.JobListParams{QueueArn: q1}, []int{8, 7, 3, 2, 1}},
				"UnknownQueue":          {store.JobListParams{QueueArn: "arn:nope"}, nil},
				"Status":                {store.JobListParams{Statuses: []gantry.JobStatus{gantry.JobStatusRunnable}}, []int{2}},
				"Statuses":              {store.JobListParams{Statuses: []gantry.JobStatus{gantry.JobStatusSucceeded, gantry.JobStatusRunning}}, []int{5, 4, 3}},
				"QueueStatus":           {store.JobListParams{QueueArn: q2, Statuses: []gantry.JobStatus{gantry.JobStatusRunning}}, []int{4}},
				"ComputeEnvironment":    {store.JobListParams{ComputeEnvironment: ARNs.ARN(gantry.ResourceComputeEnvironment, "ce1")}, []int{3}},
				"NameExactIgnoresCase":  {store.JobListParams{NameLike: "alpha_1"}, []int{5, 1}},
				"NamePrefix":            {store.JobListParams{NameLike: "alpha*"}, []int{5, 4, 2, 1}},
				"NamePrefixIgnoresCase": {store.JobListParams{NameLike: "ALPHA-*"}, []int{2}},
				"NameUnderscoreLiteral": {store.JobListParams{NameLike: "a_c"}, []int{8}},
				"NamePrefixUnderscore":  {store.JobListParams{NameLike: "a_*"}, []int{8}},
				"NamePercentLiteral":    {store.JobListParams{NameLike: "%"}, nil},
				"DefinitionName":        {store.JobListParams{DefinitionName: "def"}, []int{8, 7, 5, 2, 1}},
				"DefinitionNamePrefix":  {store.JobListParams{DefinitionName: "def*"}, []int{8, 7, 5, 4, 2, 1}},
				"DefinitionNameCase":    {store.JobListParams{DefinitionName: "Def"}, []int{6}},
				"DefinitionArn":         {store.JobListParams{DefinitionArn: def("def", 1)}, []int{8, 7, 5, 1}},
				"CreatedRange":          {store.JobListParams{CreatedAfter: BaseTime + 2, CreatedBefore: BaseTime + 5}, []int{4, 3}},
				"ShareIdentifier":       {store.JobListParams{ShareIdentifier: "s1"}, []int{5, 1}},
				"OldestFirst":           {store.JobListParams{QueueArn: q1, Order: store.JobListOldestFirst}, []int{1, 2, 3, 7, 8}},
				"Limit":                 {store.JobListParams{Limit: 2}, []int{8, 7}},
				"LimitOldestFirst":      {store.JobListParams{Limit: 2, Order: store.JobListOldestFirst}, []int{1, 2}},
				"Combined": {store.JobListParams{
					QueueArn: q1, Statuses: []gantry.JobStatus{gantry.JobStatusSubmitted}, NameLike: "a*",
					DefinitionName: "def", Order: store.JobListOldestFirst,
				}, []int{1, 7, 8}},
			} {
				got, err := tx.JobList(ctx, &tc.params)
				require.NoError(t, err, name)
				var offsets []int
				for _, j := range got {
					offsets = append(offsets, int(j.CreatedAt-BaseTime))
				}
				require.Equal(t, tc.want, offsets, name)
			}

			// Listed jobs are whole, json:"-" fields included.
			got, err := tx.JobList(ctx, &store.JobListParams{QueueArn: q2, Statuses: []gantry.JobStatus{gantry.JobStatusRunning}})
			require.NoError(t, err)
			require.Equal(t, []*gantry.Job{jobs[3]}, got)
		})

		t.Run("CursorPagination", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			var all []*gantry.Job
			for i := range 23 {
				// Groups of three share a createdAt: the id breaks ties.
				j := Job(func(j *gantry.Job) { j.CreatedAt = BaseTime + int64(i/3) })
				if i%4 == 0 {
					j.Status = gantry.JobStatusRunnable
				}
				require.NoError(t, tx.JobInsert(ctx, j))
				all = append(all, j)
			}
			oldestFirst := func(a, b *gantry.Job) int {
				return cmp.Or(cmp.Compare(a.CreatedAt, b.CreatedAt), cmp.Compare(a.JobID, b.JobID))
			}
			for name, tc := range map[string]struct {
				order    store.JobListOrder
				statuses []gantry.JobStatus
			}{
				"NewestFirst":         {store.JobListNewestFirst, nil},
				"OldestFirst":         {store.JobListOldestFirst, nil},
				"NewestFirstFiltered": {store.JobListNewestFirst, []gantry.JobStatus{gantry.JobStatusSubmitted}},
				"OldestFirstFiltered": {store.JobListOldestFirst, []gantry.JobStatus{gantry.JobStatusRunnable, gantry.JobStatusSubmitted}},
			} {
				sorted := slices.Clone(all)
				slices.SortFunc(sorted, oldestFirst)
				var want []string
				for _, j := range sorted {
					if len(tc.statuses) == 0 || slices.Contains(tc.statuses, j.Status) {
						want = append(want, j.JobID)
					}
				}
				if tc.order == store.JobListNewestFirst {
					slices.Reverse(want)
				}

				var got []string
				params := &store.JobListParams{Statuses: tc.statuses, Order: tc.order, Limit: 4}
				for page := 0; ; page++ {
					require.Less(t, page, 20, name)
					jobs, err := tx.JobList(ctx, params)
					require.NoError(t, err, name)
					require.LessOrEqual(t, len(jobs), 4, name)
					for _, j := range jobs {
						got = append(got, j.JobID)
					}
					if len(jobs) < 4 {
						break
					}
					last := jobs[len(jobs)-1]
					params.After = &store.JobCursor{CreatedAt: last.CreatedAt, ID: last.JobID}
				}
				require.Equal(t, want, got, name)
			}

			// A cursor need not name an existing job.
			jobs, err := tx.JobList(ctx, &store.JobListParams{
				Order: store.JobListOldestFirst,
				After: &store.JobCursor{CreatedAt: BaseTime + 6, ID: ""},
			})
			require.NoError(t, err)
			require.Len(t, jobs, 5, "the jobs created at +6 (3) and +7 (2)")
		})
	})
}
