-- Array jobs and dependency tracking.
--
-- An array parent is one row (array_size > 0, array_parent = ''); the
-- scheduler materializes its children in batches, counting them in
-- array_expanded (-1 until the parent's own dependencies are met).
ALTER TABLE jobs ADD COLUMN array_parent TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN array_size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN array_expanded INTEGER NOT NULL DEFAULT -1;
-- JSON array of the ids in Job.Deps.
ALTER TABLE jobs ADD COLUMN deps TEXT NOT NULL DEFAULT '[]';

-- Children of an array by status (ListJobs arrayJobId, statusSummary).
CREATE INDEX jobs_array_parent_status ON jobs (array_parent, status, created_at, id)
    WHERE array_parent <> '';
-- Parents still materializing children.
CREATE INDEX jobs_array_expanding ON jobs (created_at, id)
    WHERE array_parent = '' AND array_size > 0 AND array_expanded >= 0 AND array_expanded < array_size;

-- Dependency edges: job_id waits for depends_on. Keyed by depends_on, so a
-- finishing job finds its dependents with one index range scan. depends_on
-- may name an array child that does not exist yet.
CREATE TABLE job_dependencies (
    depends_on TEXT NOT NULL,
    job_id     TEXT NOT NULL,
    PRIMARY KEY (depends_on, job_id)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER jobs_delete_dependencies AFTER DELETE ON jobs BEGIN
    DELETE FROM job_dependencies WHERE depends_on = old.id;
END;

-- Jobs that reached a terminal status and whose dependents (and array
-- parent) the scheduler has not looked at yet; written in the same
-- transaction as the transition.
CREATE TABLE jobs_finished (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT    NOT NULL UNIQUE
) STRICT;
