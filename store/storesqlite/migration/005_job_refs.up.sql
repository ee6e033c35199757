-- The scheduler reads the head of each queue as light references (id,
-- resources, share, priority, reason) without decoding job documents:
-- scheduling priority and status reason get columns of their own.
ALTER TABLE jobs ADD COLUMN scheduling_priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';
UPDATE jobs SET
    scheduling_priority = coalesce(detail ->> '$.schedulingPriority', 0),
    status_reason = coalesce(detail ->> '$.statusReason', '');
