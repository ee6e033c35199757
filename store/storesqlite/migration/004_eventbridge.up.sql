-- EventBridge (issue 7): rules and their targets, connections, API
-- destinations, deliveries (with the dead-letter records) and the durable
-- position of scheduled rules. Times are epoch milliseconds.

-- The envelope "id" of an outbox event. Rows written before this migration
-- have NULL (read as "").
ALTER TABLE events ADD COLUMN uuid TEXT;

CREATE TABLE rules (
    name   TEXT NOT NULL PRIMARY KEY,
    detail TEXT NOT NULL
) STRICT;

CREATE TABLE rule_targets (
    rule   TEXT NOT NULL,
    id     TEXT NOT NULL,
    arn    TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (rule, id)
) STRICT, WITHOUT ROWID;

-- ListRuleNamesByTarget.
CREATE INDEX rule_targets_arn ON rule_targets (arn, rule);

CREATE TABLE connections (
    name   TEXT NOT NULL PRIMARY KEY,
    detail TEXT NOT NULL
) STRICT;

CREATE TABLE api_destinations (
    name   TEXT NOT NULL PRIMARY KEY,
    detail TEXT NOT NULL
) STRICT;

-- The position of each scheduled rule: the next time it has not fired yet.
CREATE TABLE schedule_states (
    rule         TEXT    NOT NULL PRIMARY KEY,
    next_fire_at INTEGER NOT NULL,
    last_fire_at INTEGER NOT NULL,
    expression   TEXT    NOT NULL
) STRICT;

-- A rule's targets and schedule state go with it, in the same statement.
-- Its deliveries stay: they are history.
CREATE TRIGGER rules_delete_children AFTER DELETE ON rules BEGIN
    DELETE FROM rule_targets WHERE rule = old.name;
    DELETE FROM schedule_states WHERE rule = old.name;
END;

-- One event on its way to one target of one rule, retried until DELIVERED
-- or DEAD. target and event are JSON snapshots taken when the event matched.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        INTEGER NOT NULL,
    rule            TEXT    NOT NULL,
    target_id       TEXT    NOT NULL,
    target          BLOB,
    event           BLOB,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_error      TEXT    NOT NULL,
    result          TEXT    NOT NULL
) STRICT;

-- The dispatcher's due work.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id)
    WHERE state = 'PENDING';
-- The delivery history of a rule.
CREATE INDEX deliveries_rule ON deliveries (rule, id);
-- Retention of finished deliveries.
CREATE INDEX deliveries_finished ON deliveries (updated_at)
    WHERE state IN ('DELIVERED', 'DEAD');
