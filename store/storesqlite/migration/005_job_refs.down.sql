ALTER TABLE jobs DROP COLUMN status_reason;
ALTER TABLE jobs DROP COLUMN scheduling_priority;
