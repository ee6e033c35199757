package storesqlite

// The SQL of every static query, prepared once by Open. JobList builds its
// query from the fragments at the end of this file.
//
// Lists of values (names, ids) are bound as one JSON array and expanded
// with json_each, so each query is one statement whatever the list length.
// A nil list binds NULL, which disables the filter.
const (
	computeEnvironmentDelete = `DELETE FROM compute_environments WHERE name = ?1`
	computeEnvironmentGet    = `SELECT detail FROM compute_environments WHERE name = ?1`
	computeEnvironmentInsert = `INSERT INTO compute_environments (name, detail) VALUES (?1, ?2)`
	computeEnvironmentList   = `SELECT detail FROM compute_environments
WHERE (?1 IS NULL OR name IN (SELECT value FROM json_each(?1)))
  AND name > ?2
ORDER BY name
LIMIT ?3`
	computeEnvironmentUpdate = `UPDATE compute_environments SET detail = ?2 WHERE name = ?1`

	eventInsert = `INSERT INTO events (time, detail_type, source, resources, detail, uuid) VALUES (?1, ?2, ?3, ?4, ?5, ?6)`
	eventList   = `SELECT id, time, detail_type, source, resources, detail, coalesce(uuid, '') FROM events
WHERE id > ?1
ORDER BY id
LIMIT ?2`

	// jobInsert and jobUpdate bind jobArgs as ?1..?24; jobUpdate's ?25 is
	// the expected current status.
	jobInsert = `INSERT INTO jobs (
    id, name, queue_arn, status, created_at, updated_at, started_at, stopped_at,
    definition_arn, definition_name, share_identifier, compute_environment,
    vcpus, memory_mib, gpus, task_id, executor_handle, detail,
    array_parent, array_size, array_expanded, deps, scheduling_priority, status_reason
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)`
	jobUpdate = `UPDATE jobs SET
    name = ?2, queue_arn = ?3, status = ?4, created_at = ?5, updated_at = ?6,
    started_at = ?7, stopped_at = ?8, definition_arn = ?9, definition_name = ?10,
    share_identifier = ?11, compute_environment = ?12, vcpus = ?13,
    memory_mib = ?14, gpus = ?15, task_id = ?16, executor_handle = ?17, detail = ?18,
    array_parent = ?19, array_size = ?20, array_expanded = ?21, deps = ?22,
    scheduling_priority = ?23, status_reason = ?24
WHERE id = ?1 AND status = ?25`
	jobDependencyInsert = `INSERT OR IGNORE INTO job_dependencies (depends_on, job_id)
SELECT value, ?1 FROM json_each(?2)`
	jobDependentList = jobSelect + ` WHERE id IN (SELECT job_id FROM job_dependencies WHERE depends_on = ?1)`
	// "array_parent <> ''" lets SQLite use the partial index
	// jobs_array_parent_status (covering) instead of scanning the table.
	jobCountByArrayStatus = `SELECT status, count(*) FROM jobs WHERE array_parent = ?1 AND array_parent <> '' GROUP BY status`
	jobCountActiveShares  = `SELECT count(DISTINCT share_identifier) FROM jobs
WHERE queue_arn = ?1 AND status IN ('SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING') AND share_identifier <> ''`
	// jobFinishedInsert queues only a job something waits on: one with
	// dependents or an array parent (two index lookups); most jobs have
	// neither and cost the scheduler nothing when they finish.
	jobFinishedInsert = `INSERT OR IGNORE INTO jobs_finished (job_id)
SELECT ?1 WHERE EXISTS (SELECT 1 FROM job_dependencies WHERE depends_on = ?1)
    OR EXISTS (SELECT 1 FROM jobs WHERE id = ?1 AND array_parent <> '')`
	jobFinishedList   = `SELECT job_id FROM jobs_finished ORDER BY seq LIMIT ?1`
	jobFinishedDelete = `DELETE FROM jobs_finished WHERE job_id IN (SELECT value FROM json_each(?1))`
	jobExists         = `SELECT 1 FROM jobs WHERE id = ?1`

	// jobSelect is the projection scanned by scanJob.
	jobSelect = `SELECT detail, compute_environment, vcpus, memory_mib, gpus, task_id, executor_handle, updated_at,
    array_parent, array_size, array_expanded, deps FROM jobs`
	jobGet = jobSelect + ` WHERE id = ?1`
	// jobRefListOne walks jobs_queue_status_created_at in order and stops
	// at the limit: no sort, whatever the depth of the backlog.
	jobRefListOne = `SELECT id, status, created_at, share_identifier, vcpus, memory_mib, gpus, scheduling_priority, status_reason
FROM jobs
WHERE queue_arn = ?1 AND status = ?2
ORDER BY created_at, id
LIMIT ?3`
	jobRefListOneShare = `SELECT id, status, created_at, share_identifier, vcpus, memory_mib, gpus, scheduling_priority, status_reason
FROM jobs
WHERE queue_arn = ?1 AND status = ?2 AND share_identifier = ?4 AND share_identifier <> ''
ORDER BY created_at, id
LIMIT ?3`
	// jobRefList reads several statuses (STARTING and RUNNING: few rows)
	// and sorts them.
	jobRefList = `SELECT id, status, created_at, share_identifier, vcpus, memory_mib, gpus, scheduling_priority, status_reason
FROM jobs
WHERE queue_arn = ?1 AND status IN (SELECT value FROM json_each(?2))
ORDER BY created_at, id
LIMIT ?3`
	jobRefListShare = `SELECT id, status, created_at, share_identifier, vcpus, memory_mib, gpus, scheduling_priority, status_reason
FROM jobs
WHERE queue_arn = ?1 AND status IN (SELECT value FROM json_each(?2)) AND share_identifier = ?4 AND share_identifier <> ''
ORDER BY created_at, id
LIMIT ?3`
	jobGetMany = jobSelect + ` WHERE id IN (SELECT value FROM json_each(?1))`

	// The status lists repeat the partial indexes' WHERE clauses verbatim,
	// so that SQLite can use those indexes.
	jobCapacityInUse = `SELECT compute_environment, sum(vcpus), sum(memory_mib), sum(gpus) FROM jobs
WHERE status IN ('STARTING', 'RUNNING') AND compute_environment <> ''
GROUP BY compute_environment`
	jobCountByQueueStatus = `SELECT queue_arn, status, count(*) FROM jobs
GROUP BY queue_arn, status
ORDER BY queue_arn, status`
	// jobDeleteStopped removes finished jobs, oldest first. An array child
	// goes only with its parent deletable too, and a parent only once none
	// of its children remain, so DescribeJobs never sees half an array.
	jobDeleteStopped = `DELETE FROM jobs WHERE rowid IN (
    SELECT rowid FROM jobs j
    WHERE j.status IN ('SUCCEEDED', 'FAILED') AND j.stopped_at < ?1
      AND (j.array_parent = '' OR j.array_parent IN (
          SELECT p.id FROM jobs p WHERE p.status IN ('SUCCEEDED', 'FAILED') AND p.stopped_at < ?1))
      AND NOT EXISTS (SELECT 1 FROM jobs c WHERE c.array_parent <> '' AND c.array_parent = j.id)
    ORDER BY j.stopped_at
    LIMIT ?2
)`

	jobDefinitionGet       = `SELECT detail FROM job_definitions WHERE name = ?1 AND revision = ?2`
	jobDefinitionGetActive = `SELECT detail FROM job_definitions
WHERE name = ?1 AND status = 'ACTIVE'
ORDER BY revision DESC
LIMIT 1`
	jobDefinitionInsert         = `INSERT INTO job_definitions (name, revision, status, detail) VALUES (?1, ?2, ?3, ?4)`
	jobDefinitionLatestRevision = `SELECT latest FROM job_definition_revisions WHERE name = ?1`
	jobDefinitionList           = `SELECT detail FROM job_definitions
WHERE (?1 = '' OR name = ?1)
  AND (?2 = '' OR status = ?2)
  AND (?3 IS NULL OR (name, revision) > (?3, ?4))
ORDER BY name, revision
LIMIT ?5`
	jobDefinitionUpdate = `UPDATE job_definitions SET status = ?3, detail = ?4 WHERE name = ?1 AND revision = ?2`

	jobQueueDelete = `DELETE FROM job_queues WHERE name = ?1`
	jobQueueGet    = `SELECT detail FROM job_queues WHERE name = ?1`
	jobQueueInsert = `INSERT INTO job_queues (name, priority, detail) VALUES (?1, ?2, ?3)`
	jobQueueList   = `SELECT detail FROM job_queues
WHERE (?1 IS NULL OR name IN (SELECT value FROM json_each(?1)))
  AND name > ?2
ORDER BY name
LIMIT ?3`
	jobQueueUpdate = `UPDATE job_queues SET priority = ?2, detail = ?3 WHERE name = ?1`

	metaGet = `SELECT value FROM meta WHERE key = ?1`
	metaSet = `INSERT INTO meta (key, value) VALUES (?1, ?2)
ON CONFLICT (key) DO UPDATE SET value = excluded.value`
)

// readQueries are prepared on the reader pool and on the writer (for reads
// inside InTx).
var readQueries = []string{
	computeEnvironmentGet, computeEnvironmentList,
	eventList,
	jobGet, jobGetMany, jobRefList, jobRefListShare, jobRefListOne, jobRefListOneShare, jobCapacityInUse, jobCountByQueueStatus,
	jobDependentList, jobCountByArrayStatus, jobFinishedList, jobCountActiveShares,
	jobDefinitionGet, jobDefinitionGetActive, jobDefinitionLatestRevision, jobDefinitionList,
	jobQueueGet, jobQueueList,
	metaGet,
	schedulingPolicyGet, schedulingPolicyList, shareUsageList,
	apiDestinationGet, apiDestinationList, connectionGet, connectionList,
	ruleGet, ruleList, ruleTargetList, scheduleStateGet, scheduleStateList,
}

// writeQueries are prepared on the writer only.
var writeQueries = []string{
	savepointBegin, savepointRollback, savepointRelease,
	computeEnvironmentDelete, computeEnvironmentInsert, computeEnvironmentUpdate,
	eventInsert,
	jobInsert, jobUpdate, jobExists, jobDeleteStopped,
	jobDependencyInsert, jobFinishedInsert, jobFinishedDelete,
	jobDefinitionInsert, jobDefinitionUpdate,
	jobQueueDelete, jobQueueInsert, jobQueueUpdate,
	metaSet,
	schedulingPolicyDelete, schedulingPolicyInsert, schedulingPolicyUpdate, shareUsageUpsert,
	apiDestinationDelete, apiDestinationInsert, apiDestinationUpdate,
	connectionDelete, connectionInsert, connectionUpdate,
	deliveryInsert, deliveryUpdate, deliveryDeleteFinished, eventDeleteThrough,
	ruleDelete, ruleInsert, ruleUpdate, ruleTargetDelete, ruleTargetUpsert,
	scheduleStateDelete, scheduleStateUpsert,
}

// noLimit is SQLite's LIMIT for "all rows".
const noLimit = -1

// limit maps the store's "0 = no limit" to SQLite's.
func limit(n int) int {
	if n <= 0 {
		return noLimit
	}
	return n
}
