-- Media files (issue 16): customers' photos, voice notes and documents,
-- and the files operators send. The bytes live in the blob store
-- (package blob: a local directory or an S3 bucket) under blob_key; this
-- table is what Switchboard knows of each file, one row per attachment
-- of a message, whichever direction.
--
-- An inbound file is recorded pending with its message, in the
-- message's transaction, and a worker task fetches it from the provider
-- (provider_ref says where) and marks it stored (with its size, sniffed
-- type and hash) or failed (error says why). Retention and erasure take
-- the bytes too: their blob keys go to media_deletions in the same
-- transaction that purges or deletes the rows, and the deletion of the
-- file is retried from there until the store confirms it.

-- +goose Up
CREATE TABLE media (
    id              TEXT PRIMARY KEY,
    contact_id      TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL,
    -- the messages row carrying the file (its id within the contact)
    message_id      TEXT NOT NULL,
    channel         TEXT NOT NULL,
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    kind            TEXT NOT NULL CHECK (kind IN ('image', 'audio', 'video', 'document', 'sticker')),
    -- the provider's media id or URL, for fetching an inbound file
    provider_ref    TEXT NOT NULL DEFAULT '',
    -- the provider's type until stored, then the sniffed one
    mime_type       TEXT NOT NULL DEFAULT '',
    filename        TEXT NOT NULL DEFAULT '',
    -- bytes stored; NULL until the file is kept
    size            BIGINT,
    -- hex SHA-256: the provider's until stored, then the stored bytes'
    sha256          TEXT NOT NULL DEFAULT '',
    blob_key        TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL CHECK (state IN ('pending', 'stored', 'failed', 'purged')),
    -- why a failed file is not kept (too_large, not_found, ...)
    error           TEXT NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    stored_at       BIGINT NOT NULL DEFAULT 0
);
-- History reads the files of the messages it shows.
CREATE INDEX media_message ON media (contact_id, message_id);
-- Retention takes the files of the conversations it purges.
CREATE INDEX media_conversation ON media (conversation_id);

-- Files whose rows are gone (erasure) or purged (retention) but whose
-- bytes may still be in the blob store: each is deleted from the store
-- and then from here, so a failed deletion is retried, never forgotten.
CREATE TABLE media_deletions (
    blob_key   TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX media_deletions_age ON media_deletions (created_at, blob_key);

-- +goose Down
DROP TABLE media_deletions;
DROP TABLE media;
