-- Conversation reports (issue 15, item 5). A report reads the
-- conversations opened in a date range, so it needs, per conversation,
-- what the schema did not keep until now:
--   (first_response_at, when a person first answered, is migration 5's.)
--   handled_by           the last operator it was assigned to: closing
--                        clears assignee, and a report of closed
--                        conversations names who had them.
--   opened_out_of_hours  its first message came while its hours were
--                        closed (routing decides it once, on the first
--                        decision; older conversations stay FALSE).
--   reopened             it was opened within 24 hours of its contact's
--                        previous conversation closing (set when opened;
--                        computed below for the conversations already kept).

-- +goose Up
ALTER TABLE conversations ADD COLUMN handled_by TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN opened_out_of_hours BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE conversations ADD COLUMN reopened BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE conversations SET handled_by = assignee WHERE assignee <> '';
-- A contact has one open conversation at a time, so any of its
-- conversations closed before this one opened is an earlier one.
UPDATE conversations SET reopened = TRUE WHERE EXISTS (
    SELECT 1 FROM conversations p
    WHERE p.contact_id = conversations.contact_id AND p.id <> conversations.id
        AND p.closed_at > 0 AND p.closed_at <= conversations.created_at
        AND p.closed_at >= conversations.created_at - 86400000);
-- Reports read the conversations opened in a range, in opening order.
CREATE INDEX conversations_opened ON conversations (created_at, id);

-- +goose Down
DROP INDEX conversations_opened;
ALTER TABLE conversations DROP COLUMN reopened;
ALTER TABLE conversations DROP COLUMN opened_out_of_hours;
ALTER TABLE conversations DROP COLUMN handled_by;
