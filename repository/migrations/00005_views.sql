-- Saved views and the monitoring table (issue 15, items 3 and 4).
--
-- saved_views keeps each user's named list filters; a view goes with its
-- user. The filter is JSON read and written whole (the list's filter is
-- built from it in Go), never searched inside.
--
-- The monitoring table reads what the schema did not record before:
-- who held a conversation when it closed (closing clears the assignee),
-- when a person first answered it (auto-replies are outbound too), and
-- which person sent an outbound message.

-- +goose Up
CREATE TABLE saved_views (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    filter     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
-- A user's views in the order they were made.
CREATE INDEX saved_views_user ON saved_views (user_id, created_at, id);

-- the operator who held the conversation when it closed ('' while open,
-- or when it closed from a pool)
ALTER TABLE conversations ADD COLUMN closed_by TEXT NOT NULL DEFAULT '';
-- when the first outbound message a person sent was recorded (0: none
-- yet); automatic messages (menus, out-of-hours replies) do not set it
ALTER TABLE conversations ADD COLUMN first_response_at BIGINT NOT NULL DEFAULT 0;
-- the account that sent an outbound message ('' for an automatic one and
-- for inbound messages)
ALTER TABLE messages ADD COLUMN author TEXT NOT NULL DEFAULT '';
-- An operator's conversations closed since a time: the monitoring
-- table's "handled today" and its medians, a range of this index.
CREATE INDEX conversations_closed_by ON conversations (closed_by, closed_at) WHERE state = 'closed';

-- +goose Down
DROP INDEX conversations_closed_by;
ALTER TABLE messages DROP COLUMN author;
ALTER TABLE conversations DROP COLUMN first_response_at;
ALTER TABLE conversations DROP COLUMN closed_by;
DROP TABLE saved_views;
