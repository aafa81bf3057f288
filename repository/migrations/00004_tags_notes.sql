-- Tags and internal notes on conversations (issue 15).
--
-- conversation_tags holds one row per tag on a conversation. The list's
-- ?tag= filter is a semi-join on its primary key (tag, conversation_id):
-- the conversations stay read in their own activity indexes, so keyset
-- pagination is the list's as before, complete and exact. The second
-- index reads a page's tags, and replaces a conversation's.
--
-- notes are staff's internal remarks on a conversation, never sent to
-- the customer: oldest first by (at, id). Both go with their
-- conversation (ON DELETE CASCADE), so erasing a contact erases them.

-- +goose Up
CREATE TABLE conversation_tags (
    tag             TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    PRIMARY KEY (tag, conversation_id)
);
CREATE INDEX conversation_tags_conversation ON conversation_tags (conversation_id, tag);

CREATE TABLE notes (
    id              TEXT NOT NULL PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    author          TEXT NOT NULL,
    at              BIGINT NOT NULL,
    text            TEXT NOT NULL,
    -- the account ids mentioned, a JSON array
    mentions        TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX notes_conversation ON notes (conversation_id, at, id);

-- +goose Down
DROP TABLE notes;
DROP TABLE conversation_tags;
