-- 006_unsettled_index: fewer indexes to maintain on every job write.
-- Lists of jobs without a queue (the scheduler's SUBMITTED jobs, the
-- STARTING and RUNNING jobs recovered at start) only ever ask for the
-- statuses a job passes through quickly, so the (status, created_at)
-- index keeps only those rows: RUNNABLE, SUCCEEDED and FAILED jobs, the
-- bulk, no longer enter it. jobs_created_at served no query (every list
-- names a queue, an array parent or statuses).
DROP INDEX jobs_status_created_at;
DROP INDEX jobs_created_at;
CREATE INDEX jobs_unsettled_status_created_at ON jobs (status, created_at, id)
    WHERE status IN ('SUBMITTED', 'PENDING', 'STARTING', 'RUNNING');
