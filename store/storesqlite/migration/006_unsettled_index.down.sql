-- Reverts 006_unsettled_index.
DROP INDEX jobs_unsettled_status_created_at;
CREATE INDEX jobs_status_created_at ON jobs (status, created_at, id);
CREATE INDEX jobs_created_at ON jobs (created_at, id);
