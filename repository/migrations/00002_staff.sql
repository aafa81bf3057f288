-- Routing's roster is the accounts (issue 13): an account says which
-- channels it serves, and staff_version counts every change to what
-- routing reads of accounts, groups, memberships and custom roles, so a
-- replica's cached roster is checked with one indexed read per decision
-- that consults it. Migration 3 (Go, in staff_migration.go) then moves
-- accounts.group_ids into agent_group_members.

-- +goose Up
ALTER TABLE accounts ADD COLUMN channels TEXT NOT NULL DEFAULT '[]';
CREATE TABLE staff_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO staff_version (id, version) VALUES (1, 1);

-- +goose Down
DROP TABLE staff_version;
ALTER TABLE accounts DROP COLUMN channels;
