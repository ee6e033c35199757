-- Reverts 004_eventbridge.
DROP TABLE deliveries;
DROP TRIGGER rules_delete_children;
DROP TABLE schedule_states;
DROP TABLE api_destinations;
DROP TABLE connections;
DROP TABLE rule_targets;
DROP TABLE rules;
ALTER TABLE events DROP COLUMN uuid;
