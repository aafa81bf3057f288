-- The monitoring table's "targets missed today" and "CSAT today" (GET
-- /reports/operators). Both read what was recorded since the last
-- midnight, whoever holds the conversation now and however old it is: a
-- conversation opened last week can miss its resolution target or be
-- rated today. Without these the table, read on every event, would scan
-- every conversation ever kept. Each is partial, holding only the
-- conversations with a miss or a rating: few, and written only when one
-- is recorded. A query uses one by repeating its condition (<> 0).

-- +goose Up
CREATE INDEX conversations_first_response_missed ON conversations (first_response_breached_at) WHERE first_response_breached_at <> 0;
CREATE INDEX conversations_resolution_missed ON conversations (resolution_breached_at) WHERE resolution_breached_at <> 0;
CREATE INDEX conversations_rated ON conversations (csat_at) WHERE csat_at <> 0;

-- +goose Down
DROP INDEX conversations_rated;
DROP INDEX conversations_resolution_missed;
DROP INDEX conversations_first_response_missed;
