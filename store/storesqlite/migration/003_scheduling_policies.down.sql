-- Reverts 003_scheduling_policies.
DROP INDEX jobs_queue_status_share_created_at;
DROP TABLE share_usage;
DROP TABLE scheduling_policies;
