-- First-response and resolution targets per query type (issue 15, item 6).
--
-- A conversation's targets start once, when routing first puts it in
-- service with a type that has targets (see docs/operations.md, "Service-level
-- targets"); the due times are kept as they were set then (a timer
-- that finds the settings' target made longer moves them), so the API and
-- the console show the deadline the timers work to.
--   sla_started_at             when its clock started (0: no targets)
--   first_response_due_at      when a person must have answered (0: no target)
--   resolution_due_at          when it must be closed (0: no target)
--   first_response_breached_at when the first-response target was recorded missed (0: not)
--   resolution_breached_at     when the resolution target was recorded missed (0: not)

-- +goose Up
ALTER TABLE conversations ADD COLUMN sla_started_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN first_response_due_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN resolution_due_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN first_response_breached_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN resolution_breached_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE conversations DROP COLUMN resolution_breached_at;
ALTER TABLE conversations DROP COLUMN first_response_breached_at;
ALTER TABLE conversations DROP COLUMN resolution_due_at;
ALTER TABLE conversations DROP COLUMN first_response_due_at;
ALTER TABLE conversations DROP COLUMN sla_started_at;
