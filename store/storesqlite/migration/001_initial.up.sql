-- 001_initial: the first Gantry schema. Resources are JSON documents of the
-- domain types (column detail) plus the columns that queries filter, sort or
-- enforce uniqueness on. Times are epoch milliseconds.

CREATE TABLE compute_environments (
    name   TEXT NOT NULL PRIMARY KEY,
    detail TEXT NOT NULL
) STRICT;

CREATE TABLE job_queues (
    name     TEXT    NOT NULL PRIMARY KEY,
    priority INTEGER NOT NULL,
    detail   TEXT    NOT NULL
) STRICT;

CREATE TABLE job_definitions (
    name     TEXT    NOT NULL,
    revision INTEGER NOT NULL,
    status   TEXT    NOT NULL,
    detail   TEXT    NOT NULL,
    PRIMARY KEY (name, revision)
) STRICT;

-- The highest revision ever registered per name. Kept by a trigger so that
-- a revision number is never reused, even after rows are purged.
CREATE TABLE job_definition_revisions (
    name   TEXT    NOT NULL PRIMARY KEY,
    latest INTEGER NOT NULL
) STRICT;

CREATE TRIGGER job_definitions_track_revision AFTER INSERT ON job_definitions
BEGIN
    INSERT INTO job_definition_revisions (name, latest) VALUES (NEW.name, NEW.revision)
    ON CONFLICT (name) DO UPDATE SET latest = max(latest, excluded.latest);
END;

CREATE TABLE jobs (
    id                  TEXT    NOT NULL PRIMARY KEY,
    name                TEXT    NOT NULL,
    queue_arn           TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    started_at          INTEGER NOT NULL,
    stopped_at          INTEGER NOT NULL,
    definition_arn      TEXT    NOT NULL,
    definition_name     TEXT    NOT NULL,
    share_identifier    TEXT    NOT NULL,
    compute_environment TEXT    NOT NULL,
    vcpus               REAL    NOT NULL,
    memory_mib          INTEGER NOT NULL,
    gpus                INTEGER NOT NULL,
    task_id             TEXT    NOT NULL,
    executor_handle     TEXT    NOT NULL,
    detail              TEXT    NOT NULL
) STRICT;

-- The scheduler's FIFO per status.
CREATE INDEX jobs_status_created_at ON jobs (status, created_at, id);
-- ListJobs by queue and status.
CREATE INDEX jobs_queue_status_created_at ON jobs (queue_arn, status, created_at, id);
-- ListJobs without a queue, and cursor pagination.
CREATE INDEX jobs_created_at ON jobs (created_at, id);
-- Capacity in use and jobs placed in an environment.
CREATE INDEX jobs_active_compute_environment ON jobs (compute_environment)
    WHERE status IN ('STARTING', 'RUNNING');
-- Retention of finished jobs.
CREATE INDEX jobs_stopped_at ON jobs (stopped_at)
    WHERE status IN ('SUCCEEDED', 'FAILED');

-- The outbox: events to deliver, in id order.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time        INTEGER NOT NULL,
    detail_type TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    resources   TEXT    NOT NULL,
    detail      BLOB
) STRICT;

-- Server-wide settings.
CREATE TABLE meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
