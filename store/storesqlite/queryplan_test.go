package storesqlite

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// TestJobListQueryPlans checks that every shape of JobList the server
// issues is answered through an index (SQLite's plan has no full "SCAN
// jobs"), so that none grows with the number of jobs stored: the
// scheduler's lists without a queue use the partial index of unsettled
// jobs (migration 006), which needs its condition stated in the query.
func TestJobListQueryPlans(t *testing.T) {
	t.Parallel()
	s := openTestStore(t)
	const q = "arn:aws:batch:us-east-1:000000000000:job-queue/q"
	tests := map[string]struct {
		params    store.JobListParams
		wantIndex string
	}{
		"promote: SUBMITTED, oldest first": {
			store.JobListParams{Statuses: []gantry.JobStatus{gantry.JobStatusSubmitted}, Order: store.JobListOldestFirst, Limit: 1000},
			"jobs_unsettled_status_created_at"},
		"recover: STARTING and RUNNING": {
			store.JobListParams{Statuses: []gantry.JobStatus{gantry.JobStatusStarting, gantry.JobStatusRunning}, Order: store.JobListOldestFirst},
			"jobs_unsettled_status_created_at"},
		"ListJobs: queue and status": {
			store.JobListParams{QueueArn: q, Statuses: []gantry.JobStatus{gantry.JobStatusRunnable}, Limit: 100},
			"jobs_queue_status"},
		"ListJobs: queue, status and name filter": {
			store.JobListParams{QueueArn: q, Statuses: []gantry.JobStatus{gantry.JobStatusSucceeded}, NameLike: "etl*", Limit: 100},
			"jobs_queue_status"},
		"time limits: queue, RUNNABLE, oldest first": {
			store.JobListParams{QueueArn: q, Statuses: []gantry.JobStatus{gantry.JobStatusRunnable}, Order: store.JobListOldestFirst, Limit: 1000},
			"jobs_queue_status"},
		"fair share: queue, share, statuses": {
			store.JobListParams{QueueArn: q, ShareIdentifier: "a", Limit: 1, Statuses: []gantry.JobStatus{
				gantry.JobStatusSubmitted, gantry.JobStatusPending, gantry.JobStatusRunnable, gantry.JobStatusStarting, gantry.JobStatusRunning}},
			"jobs_queue_status_share_created_at"},
		"fair share: one share's RUNNABLE head": {
			store.JobListParams{QueueArn: q, ShareIdentifier: "a", Statuses: []gantry.JobStatus{gantry.JobStatusRunnable}, Order: store.JobListOldestFirst, Limit: 100},
			"jobs_queue_status_share_created_at"},
		"array children by status": {
			store.JobListParams{ArrayParentID: "p", Statuses: []gantry.JobStatus{gantry.JobStatusRunnable}},
			"jobs_array_parent_status"},
		"array parents to expand": {
			store.JobListParams{ArrayExpanding: true, Order: store.JobListOldestFirst, Limit: 100},
			"jobs_array_expanding"},
	}
	type planCase struct {
		query     string
		args      []any
		wantIndex string
	}
	cases := map[string]planCase{
		"active shares of a queue":        {jobCountActiveShares, []any{q}, "jobs_queue_status_share_created_at"},
		"refs: one share's RUNNABLE head": {jobRefListOneShare, []any{q, "RUNNABLE", 100, "a"}, "jobs_queue_status_share_created_at"},
		"refs: one share, statuses":       {jobRefListShare, []any{q, `["STARTING","RUNNING"]`, 100, "a"}, "jobs_queue_status_share_created_at"},
	}
	for name, tc := range tests {
		query, args := buildJobList(&tc.params)
		cases[name] = planCase{query, args, tc.wantIndex}
	}
	for name, tc := range cases {
		query, args := tc.query, tc.args
		rows, err := s.reader.db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
		require.NoError(t, err, name)
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &notused, &detail), name)
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Close(), name)
		joined := strings.Join(plan, "; ")
		require.Contains(t, joined, tc.wantIndex, "%s: %s", name, joined)
		for _, step := range plan {
			// A scan is only allowed through the expected index (the
			// expanding parents' partial index is small by nature).
			require.False(t, step == "SCAN jobs" || (strings.HasPrefix(step, "SCAN jobs ") && !strings.Contains(step, tc.wantIndex)),
				"%s: full scan in %s", name, joined)
		}
		t.Logf("%s: %s", name, joined)
	}
}
