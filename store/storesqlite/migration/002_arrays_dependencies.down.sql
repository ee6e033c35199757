-- Reverts 002_arrays_dependencies.
DROP TABLE jobs_finished;
DROP TRIGGER jobs_delete_dependencies;
DROP TABLE job_dependencies;
DROP INDEX jobs_array_expanding;
DROP INDEX jobs_array_parent_status;
ALTER TABLE jobs DROP COLUMN deps;
ALTER TABLE jobs DROP COLUMN array_expanded;
ALTER TABLE jobs DROP COLUMN array_size;
ALTER TABLE jobs DROP COLUMN array_parent;
