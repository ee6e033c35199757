-- Reverts 007_share_index.
DROP INDEX jobs_queue_status_share_created_at;
CREATE INDEX jobs_queue_status_share_created_at ON jobs (queue_arn, status, share_identifier, created_at, id);
