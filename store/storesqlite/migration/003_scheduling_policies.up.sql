-- Fair share: scheduling policies and the decayed usage of each share.

CREATE TABLE scheduling_policies (
    name   TEXT NOT NULL PRIMARY KEY,
    detail TEXT NOT NULL
) STRICT;

-- Decayed vCPU-seconds per share of a fair share queue, as of updated_at
-- (epoch milliseconds). The scheduler rewrites the rows every cycle.
CREATE TABLE share_usage (
    queue_arn        TEXT    NOT NULL,
    share_identifier TEXT    NOT NULL,
    usage            REAL    NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (queue_arn, share_identifier)
) STRICT, WITHOUT ROWID;

-- The head of one share's RUNNABLE jobs in a fair share queue (the
-- scheduler reads each known share's jobs, oldest first).
CREATE INDEX jobs_queue_status_share_created_at ON jobs (queue_arn, status, share_identifier, created_at, id);
