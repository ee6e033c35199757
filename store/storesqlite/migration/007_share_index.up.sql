-- 007_share_index: jobs without a share identifier (every job of a FIFO
-- queue, the common case) no longer enter the fair share index, one index
-- write fewer on every insert and status change. Lists by share state the
-- condition (buildJobList), as SQLite needs to use a partial index.
DROP INDEX jobs_queue_status_share_created_at;
CREATE INDEX jobs_queue_status_share_created_at ON jobs (queue_arn, status, share_identifier, created_at, id)
    WHERE share_identifier <> '';
