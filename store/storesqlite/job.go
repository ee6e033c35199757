package storesqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// JobCapacityInUse sums the resources of STARTING and RUNNING jobs per
// compute environment ARN; jobs not placed in an environment are left out.
func (q *querier) JobCapacityInUse(ctx context.Context) (map[string]gantry.Resources, error) {
	rows, err := q.read.query(ctx, jobCapacityInUse)
	if err != nil {
		return nil, wrap(err, "job capacity in use")
	}
	defer rows.Close()
	out := map[string]gantry.Resources{}
	for rows.Next() {
		var ce string
		var r gantry.Resources
		if err := rows.Scan(&ce, &r.VCPUs, &r.MemoryMiB, &r.GPUs); err != nil {
			return nil, wrap(err, "job capacity in use")
		}
		out[ce] = r
	}
	return out, wrap(rows.Err(), "job capacity in use")
}

func (q *querier) JobCountActiveShares(ctx context.Context, queueArn string) (int, error) {
	var n int
	err := q.read.queryRow(ctx, jobCountActiveShares, queueArn).Scan(&n)
	return n, wrap(err, "count active shares of %q", queueArn)
}

func (q *querier) JobCountByQueueStatus(ctx context.Context) ([]*store.JobCount, error) {
	rows, err := q.read.query(ctx, jobCountByQueueStatus)
	if err != nil {
		return nil, wrap(err, "count jobs")
	}
	defer rows.Close()
	var out []*store.JobCount
	for rows.Next() {
		c := &store.JobCount{}
		if err := rows.Scan(&c.QueueArn, &c.Status, &c.Count); err != nil {
			return nil, wrap(err, "count jobs")
		}
		out = append(out, c)
	}
	return out, wrap(rows.Err(), "count jobs")
}

// JobDeleteStopped deletes up to params.Limit (0 = all) SUCCEEDED or FAILED
// jobs with stoppedAt < params.StoppedBefore, oldest first.
func (q *querier) JobDeleteStopped(ctx context.Context, params *store.JobDeleteStoppedParams) (int, error) {
	n, err := rowsAffected(q.write.exec(ctx, jobDeleteStopped, params.StoppedBefore, limit(params.Limit)))
	return int(n), wrap(err, "delete stopped jobs")
}

func (q *querier) JobGet(ctx context.Context, id string) (*gantry.Job, error) {
	job, err := scanJob(q.read.queryRow(ctx, jobGet, id))
	return job, wrap(err, "get job %q", id)
}

func (q *querier) JobGetMany(ctx context.Context, ids []string) ([]*gantry.Job, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	list, err := marshal(ids)
	if err != nil {
		return nil, wrap(err, "get jobs")
	}
	jobs, err := queryJobs(ctx, q.read, jobGetMany, list)
	return jobs, wrap(err, "get %d jobs", len(ids))
}

func (q *querier) JobInsert(ctx context.Context, job *gantry.Job) error {
	return q.JobInsertEncoded(ctx, &store.JobInsertEncodedParams{Job: job})
}

func (q *querier) JobInsertEncoded(ctx context.Context, params *store.JobInsertEncodedParams) error {
	job := params.Job
	args, err := jobArgsDetail(job, params.Detail)
	if err == nil {
		_, err = q.write.exec(ctx, jobInsert, args...)
	}
	if err == nil && len(job.Deps) > 0 {
		_, err = q.write.exec(ctx, jobDependencyInsert, job.JobID, args[21]) // deps
	}
	return wrap(err, "insert job %q", job.JobID)
}

// JobInsertMany inserts jobs one statement at a time (prepared, so cheap);
// call it inside InTx to make the batch atomic and commit it with one fsync.
func (q *querier) JobInsertMany(ctx context.Context, jobs []*gantry.Job) error {
	for _, j := range jobs {
		if err := q.JobInsert(ctx, j); err != nil {
			return err
		}
	}
	return nil
}

func (q *querier) JobDependentList(ctx context.Context, jobID string) ([]*gantry.Job, error) {
	jobs, err := queryJobs(ctx, q.read, jobDependentList, jobID)
	return jobs, wrap(err, "list dependents of %q", jobID)
}

func (q *querier) JobCountByArrayStatus(ctx context.Context, parentID string) (map[gantry.JobStatus]int64, error) {
	rows, err := q.read.query(ctx, jobCountByArrayStatus, parentID)
	if err != nil {
		return nil, wrap(err, "count children of %q", parentID)
	}
	defer rows.Close()
	out := map[gantry.JobStatus]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, wrap(err, "count children of %q", parentID)
		}
		out[gantry.JobStatus(st)] = n
	}
	return out, wrap(rows.Err(), "count children of %q", parentID)
}

func (q *querier) JobFinishedInsert(ctx context.Context, id string) error {
	_, err := q.write.exec(ctx, jobFinishedInsert, id)
	return wrap(err, "queue finished job %q", id)
}

func (q *querier) JobFinishedList(ctx context.Context, limit int) ([]string, error) {
	rows, err := q.read.query(ctx, jobFinishedList, limit)
	if err != nil {
		return nil, wrap(err, "list finished jobs")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, wrap(err, "list finished jobs")
		}
		out = append(out, id)
	}
	return out, wrap(rows.Err(), "list finished jobs")
}

func (q *querier) JobFinishedDelete(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	list, err := marshal(ids)
	if err == nil {
		_, err = q.write.exec(ctx, jobFinishedDelete, list)
	}
	return wrap(err, "delete %d finished jobs", len(ids))
}

// JobList runs the one query whose text depends on its parameters: only the
// set filters appear in the WHERE clause, so SQLite can pick the index that
// fits them.
func (q *querier) JobList(ctx context.Context, params *store.JobListParams) ([]*gantry.Job, error) {
	if params == nil {
		params = &store.JobListParams{}
	}
	query, args := buildJobList(params)
	jobs, err := queryJobs(ctx, q.read, query, args...)
	return jobs, wrap(err, "list jobs")
}

// JobUpdate stores params.Job, every column and the whole document, if the
// stored status is params.FromStatus. When no row matched, a second query
// tells ErrNotFound from ErrConflict; outside InTx it runs in its own
// implicit transaction, which is harmless since it only picks the error.
func (q *querier) JobUpdate(ctx context.Context, params *store.JobUpdateParams) error {
	job := params.Job
	args, err := jobArgsDetail(job, params.Detail)
	if err != nil {
		return wrap(err, "update job %q", job.JobID)
	}
	n, err := rowsAffected(q.write.exec(ctx, jobUpdate, append(args, string(params.FromStatus))...))
	if err != nil {
		return wrap(err, "update job %q", job.JobID)
	}
	if n == 1 {
		return nil
	}
	var one int
	if err := q.write.queryRow(ctx, jobExists, job.JobID).Scan(&one); err != nil {
		return wrap(err, "update job %q", job.JobID)
	}
	return fmt.Errorf("storesqlite: update job %q from %s: %w", job.JobID, params.FromStatus, gantry.ErrConflict)
}

// jobArgsDetail binds ?1..?24 of jobInsert and jobUpdate, with the job's
// document already encoded (nil: encode it here).
func jobArgsDetail(job *gantry.Job, encoded []byte) ([]any, error) {
	var detail string
	if encoded != nil {
		detail = string(encoded)
	} else {
		var err error
		if detail, err = marshal(job); err != nil {
			return nil, err
		}
	}
	deps := job.Deps
	if deps == nil {
		deps = []string{}
	}
	depsJSON, err := marshal(deps)
	if err != nil {
		return nil, err
	}
	var prio int32
	if job.SchedulingPriority != nil {
		prio = *job.SchedulingPriority
	}
	return []any{
		job.JobID, job.JobName, job.JobQueue, string(job.Status),
		job.CreatedAt, job.UpdatedAt, job.StartedAt, job.StoppedAt,
		job.JobDefinition, definitionName(job.JobDefinition), job.ShareIdentifier, job.ComputeEnvironment,
		job.Resources.VCPUs, job.Resources.MemoryMiB, job.Resources.GPUs,
		job.TaskID, job.ExecutorHandle, detail,
		job.ArrayParentID, job.ArraySize, job.ArrayExpanded, depsJSON,
		prio, job.StatusReason,
	}, nil
}

// definitionName is the name part of a job definition ARN
// (arn:...:job-definition/name:revision), or of "name:revision".
func definitionName(ref string) string {
	if a, ok := gantry.ParseARN(ref); ok {
		return a.Name
	}
	name, _, _ := strings.Cut(ref, ":")
	return name
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanJob reads one row of jobSelect: the document plus the `json:"-"`
// fields of gantry.Job, which live only in their columns.
func scanJob(row scanner) (*gantry.Job, error) {
	var (
		detail, deps []byte
		job          gantry.Job
	)
	err := row.Scan(&detail, &job.ComputeEnvironment, &job.Resources.VCPUs, &job.Resources.MemoryMiB,
		&job.Resources.GPUs, &job.TaskID, &job.ExecutorHandle, &job.UpdatedAt,
		&job.ArrayParentID, &job.ArraySize, &job.ArrayExpanded, &deps)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(detail, &job); err != nil {
		return nil, fmt.Errorf("decode job: %w", err)
	}
	if len(deps) > 2 { // "[]"
		if err := json.Unmarshal(deps, &job.Deps); err != nil {
			return nil, fmt.Errorf("decode job deps: %w", err)
		}
	}
	return &job, nil
}

func queryJobs(ctx context.Context, h handle, query string, args ...any) ([]*gantry.Job, error) {
	rows, err := h.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var jobs []*gantry.Job
	for rows.Next() {
		job, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, job)
	}
	return jobs, rows.Err()
}

// buildJobList returns JobList's query and its arguments.
func buildJobList(p *store.JobListParams) (string, []any) {
	var (
		b     strings.Builder
		args  []any
		where []string
	)
	cond := func(clause string, vals ...any) {
		where = append(where, clause)
		args = append(args, vals...)
	}
	if p.QueueArn != "" {
		cond("queue_arn = ?", p.QueueArn)
	}
	if len(p.Statuses) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(p.Statuses)), ", ")
		vals := make([]any, len(p.Statuses))
		for i, s := range p.Statuses {
			vals[i] = string(s)
		}
		cond("status IN ("+marks+")", vals...)
		if p.QueueArn == "" && p.ArrayParentID == "" && allUnsettled(p.Statuses) {
			// The partial index's own condition, word for word: SQLite
			// uses a partial index only for a query that states it.
			cond(unsettledCondition)
		}
	}
	if p.ComputeEnvironment != "" {
		cond("compute_environment = ?", p.ComputeEnvironment)
	}
	if p.NameLike != "" {
		// LIKE is case-insensitive for ASCII; escape its wildcards, since
		// job names may contain '_'.
		pattern, prefix := strings.CutSuffix(p.NameLike, "*")
		pattern = likeEscaper.Replace(pattern)
		if prefix {
			pattern += "%"
		}
		cond(`name LIKE ? ESCAPE '\'`, pattern)
	}
	if p.DefinitionName != "" {
		// GLOB is case-sensitive, like definition names; escape its
		// metacharacters.
		if name, prefix := strings.CutSuffix(p.DefinitionName, "*"); prefix {
			cond("definition_name GLOB ?", globEscaper.Replace(name)+"*")
		} else {
			cond("definition_name = ?", name)
		}
	}
	if p.DefinitionArn != "" {
		cond("definition_arn = ?", p.DefinitionArn)
	}
	if p.CreatedBefore != 0 {
		cond("created_at < ?", p.CreatedBefore)
	}
	if p.CreatedAfter != 0 {
		cond("created_at > ?", p.CreatedAfter)
	}
	if p.ShareIdentifier != "" {
		// The partial share index's condition, stated (migration 007).
		cond("share_identifier = ? AND share_identifier <> ''", p.ShareIdentifier)
	}
	if p.ArrayParentID != "" {
		cond("array_parent = ? AND array_parent <> ''", p.ArrayParentID) // the partial index
	}
	if p.ExcludeArrayChildren {
		cond("array_parent = ''")
	}
	if p.ArrayExpanding {
		cond("array_parent = '' AND array_size > 0 AND array_expanded >= 0 AND array_expanded < array_size")
	}
	order := "created_at DESC, id DESC"
	cmpOp := "<"
	if p.Order == store.JobListOldestFirst {
		order, cmpOp = "created_at, id", ">"
	}
	if p.After != nil {
		cond("(created_at, id) "+cmpOp+" (?, ?)", p.After.CreatedAt, p.After.ID)
	}

	b.WriteString(jobSelect)
	for i, w := range where {
		if i == 0 {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" AND ")
		}
		b.WriteString(w)
	}
	b.WriteString(" ORDER BY ")
	b.WriteString(order)
	if p.Limit > 0 {
		b.WriteString(" LIMIT ?")
		args = append(args, p.Limit)
	}
	return b.String(), args
}

// unsettledCondition is the WHERE of the partial index
// jobs_unsettled_status_created_at (migration 006).
const unsettledCondition = "status IN ('SUBMITTED', 'PENDING', 'STARTING', 'RUNNING')"

// allUnsettled reports whether every status is one the partial index holds.
func allUnsettled(statuses []gantry.JobStatus) bool {
	for _, st := range statuses {
		switch st {
		case gantry.JobStatusSubmitted, gantry.JobStatusPending, gantry.JobStatusStarting, gantry.JobStatusRunning:
		default:
			return false
		}
	}
	return true
}

var (
	likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	globEscaper = strings.NewReplacer(`*`, `[*]`, `?`, `[?]`, `[`, `[[]`)
)

// JobRefList reads only columns, never the documents: it is the
// scheduler's per-cycle view of each queue's head.
func (q *querier) JobRefList(ctx context.Context, params *store.JobRefListParams) ([]*store.JobRef, error) {
	statuses := make([]string, len(params.Statuses))
	for i, st := range params.Statuses {
		statuses[i] = string(st)
	}
	list, err := marshal(statuses)
	if err != nil {
		return nil, wrap(err, "list job refs")
	}
	query := jobRefList
	args := []any{params.QueueArn, list, limit(params.Limit)}
	if len(statuses) == 1 {
		query, args[1] = jobRefListOne, statuses[0]
	}
	if params.ShareIdentifier != "" {
		query = map[string]string{jobRefList: jobRefListShare, jobRefListOne: jobRefListOneShare}[query]
		args = append(args, params.ShareIdentifier)
	}
	rows, err := q.read.query(ctx, query, args...)
	if err != nil {
		return nil, wrap(err, "list job refs")
	}
	defer rows.Close()
	var out []*store.JobRef
	for rows.Next() {
		r := &store.JobRef{}
		if err := rows.Scan(&r.ID, &r.Status, &r.CreatedAt, &r.ShareIdentifier, &r.Resources.VCPUs, &r.Resources.MemoryMiB,
			&r.Resources.GPUs, &r.SchedulingPriority, &r.StatusReason); err != nil {
			return nil, wrap(err, "list job refs")
		}
		out = append(out, r)
	}
	return out, wrap(rows.Err(), "list job refs")
}
