-- The system of record. One schema for PostgreSQL and SQLite: times are
-- BIGINT milliseconds since the Unix epoch (UTC), flags are BOOLEAN, lists
-- and opaque documents are JSON in TEXT, ids are TEXT made by Switchboard,
-- so every statement here and in the repository runs on both engines.
-- docs/database.md explains each table and index.

-- +goose Up
CREATE TABLE contacts (
    id                 TEXT PRIMARY KEY,
    channel            TEXT NOT NULL,
    external_id        TEXT NOT NULL,
    profile_name       TEXT NOT NULL DEFAULT '',
    display_name       TEXT NOT NULL DEFAULT '',
    notes              TEXT NOT NULL DEFAULT '',
    portfolio_owner    TEXT NOT NULL DEFAULT '',
    -- numbers the contact's conversations: <contact id>-<query_seq>
    query_seq          BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    -- provider order (time, arrival) of the newest inbound message, so a
    -- late message never moves these backwards
    last_inbound_at    BIGINT NOT NULL DEFAULT 0,
    last_inbound_order TEXT NOT NULL DEFAULT ''
);
-- Not unique: the id is a hash of (channel, external_id), so the primary
-- key already makes a customer one contact per channel, and a second
-- unique index would make two first messages racing to create the contact
-- fail (the insert's ON CONFLICT arbitrates on the primary key only).
CREATE INDEX contacts_channel_external ON contacts (channel, external_id);
CREATE INDEX contacts_portfolio ON contacts (portfolio_owner) WHERE portfolio_owner <> '';

-- Search terms of a contact: each word of its names, folded, and every
-- suffix (4 digits or more) of its phone digits, so a prefix range scan
-- finds a name by a word's start and a number by any part of it.
-- term is the term's UTF-8 bytes (BYTEA; SQLite stores the blob as is), not
-- TEXT: bytes compare byte by byte on both engines, so the range
-- [word, word || 0xFF) is exactly the terms starting with word, whatever
-- collation the PostgreSQL database was created with (under a linguistic
-- one a text range can miss terms). Always bind []byte, never a string.
CREATE TABLE contact_terms (
    term       BYTEA NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    PRIMARY KEY (term, contact_id)
);
-- (contact_id, term), not contact_id alone: a search that walks
-- conversations by activity checks each one's contact for a word from
-- this index's range, without reading the table's rows.
CREATE INDEX contact_terms_contact ON contact_terms (contact_id, term);

-- Conversations ("queries"). routing is the routing.Query as JSON; state,
-- query_type and assignee repeat its fields for indexes and are written in
-- the same statement, never apart.
CREATE TABLE conversations (
    id                 TEXT PRIMARY KEY,
    contact_id         TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    channel            TEXT NOT NULL,
    -- pending until routed; then the routing state. The list is closed
    -- because lists filtered by type or assignee read one index range per
    -- state (repository/list.go's states): a new state needs both.
    state              TEXT NOT NULL CHECK (state IN ('pending', 'assigned', 'inactive', 'closed')),
    routed             BOOLEAN NOT NULL DEFAULT FALSE,
    query_type         TEXT NOT NULL DEFAULT '',
    assignee           TEXT NOT NULL DEFAULT '',
    resolution         TEXT NOT NULL DEFAULT '',
    routing            TEXT NOT NULL DEFAULT '',
    -- optimistic lock: every routing change increments it
    version            BIGINT NOT NULL DEFAULT 0,
    -- effects (auto-replies, timers) of the stored decision not yet carried out
    effects            TEXT NOT NULL DEFAULT '',
    -- when a pending conversation entered its type's pool (oldest first)
    pool_since         BIGINT NOT NULL DEFAULT 0,
    assigned_at        BIGINT NOT NULL DEFAULT 0,
    assigned_outbound  BIGINT NOT NULL DEFAULT 0,
    inbound_count      BIGINT NOT NULL DEFAULT 0,
    outbound_count     BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    closed_at          BIGINT NOT NULL DEFAULT 0,
    last_inbound_at    BIGINT NOT NULL DEFAULT 0,
    last_inbound_order TEXT NOT NULL DEFAULT '',
    -- newest message time, in or out: the list order (ties broken by id)
    activity_at        BIGINT NOT NULL,
    -- retention emptied every message body of this closed conversation,
    -- so later purges skip it instead of scanning its messages again
    purged             BOOLEAN NOT NULL DEFAULT FALSE
);
-- One open conversation per contact, whatever races.
CREATE UNIQUE INDEX conversations_open_per_contact ON conversations (contact_id) WHERE state <> 'closed';
CREATE INDEX conversations_contact ON conversations (contact_id, activity_at, id);
CREATE INDEX conversations_activity ON conversations (activity_at, id);
CREATE INDEX conversations_state ON conversations (state, activity_at, id);
CREATE INDEX conversations_assignee ON conversations (assignee, state, activity_at, id);
CREATE INDEX conversations_type ON conversations (query_type, state, activity_at, id);
CREATE INDEX conversations_channel ON conversations (channel, activity_at, id);
CREATE INDEX conversations_pool ON conversations (query_type, pool_since, id) WHERE state = 'pending';
-- Retention looks for closed conversations by their newest message (the
-- contract's rule), oldest first, among those it has not finished.
CREATE INDEX conversations_retention ON conversations (activity_at, id) WHERE state = 'closed' AND purged = FALSE;

-- Messages, inbound and outbound. id is the provider's id (inbound) or
-- Switchboard's sb-... id (outbound), unique per contact as providers'
-- ids are per channel. body is the message as JSON; retention empties it.
CREATE TABLE messages (
    contact_id      TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    -- provider time (inbound), acceptance time (outbound)
    at              BIGINT NOT NULL,
    -- arrival order among messages of one time
    seq             BIGINT NOT NULL,
    body            TEXT NOT NULL,
    -- a routing decision consumed this inbound message
    routed          BOOLEAN NOT NULL DEFAULT FALSE,
    status          TEXT NOT NULL DEFAULT '',
    status_rank     INTEGER NOT NULL DEFAULT -1,
    status_at       BIGINT NOT NULL DEFAULT 0,
    sent_at         BIGINT NOT NULL DEFAULT 0,
    delivered_at    BIGINT NOT NULL DEFAULT 0,
    read_at         BIGINT NOT NULL DEFAULT 0,
    failed_at       BIGINT NOT NULL DEFAULT 0,
    provider_id     TEXT NOT NULL DEFAULT '',
    error           TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (contact_id, id)
);
CREATE INDEX messages_history ON messages (conversation_id, at, seq, id);
-- Delivery reports name the provider's id.
CREATE UNIQUE INDEX messages_provider_id ON messages (channel, provider_id) WHERE provider_id <> '';

-- Operators' routing bookkeeping. An assignment locks its operator's row
-- (and counts their assigned conversations) in its transaction, so two
-- workers cannot both fill the last seat.
CREATE TABLE operator_load (
    operator         TEXT PRIMARY KEY,
    last_assigned_at BIGINT NOT NULL DEFAULT 0
);

-- CS staff accounts. phone is E.164 and unique.
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    phone       TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL,
    status      TEXT NOT NULL,
    -- lists as JSON arrays
    grants      TEXT NOT NULL DEFAULT '[]',
    group_ids   TEXT NOT NULL DEFAULT '[]',
    query_types TEXT NOT NULL DEFAULT '[]',
    capacity    INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Custom roles; the built-in ones live in the code.
CREATE TABLE roles (
    name        TEXT PRIMARY KEY,
    -- JSON array of permissions
    permissions TEXT NOT NULL,
    -- optimistic lock: every write increments it, so a change decided on
    -- one revision is refused once another write has landed
    revision    BIGINT NOT NULL DEFAULT 1
);

-- Agent groups and their members.
CREATE TABLE agent_groups (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE agent_group_members (
    group_id   TEXT NOT NULL REFERENCES agent_groups (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, account_id)
);
CREATE INDEX agent_group_members_account ON agent_group_members (account_id);

-- Every applied version of the settings document; the highest is in force.
CREATE TABLE settings_versions (
    version    BIGINT PRIMARY KEY,
    yaml       TEXT NOT NULL,
    applied_at BIGINT NOT NULL,
    applied_by TEXT NOT NULL DEFAULT ''
);

-- Who did what, when and from where. ids are time-ordered (the millisecond,
-- then a per-process sequence), so they order entries of one millisecond.
-- Kept for ever for now: retention is still to be decided.
CREATE TABLE audit_log (
    id      TEXT PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL DEFAULT '',
    action  TEXT NOT NULL,
    outcome TEXT NOT NULL DEFAULT '',
    target  TEXT NOT NULL DEFAULT '',
    ip      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at, id);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE settings_versions;
DROP TABLE agent_group_members;
DROP TABLE agent_groups;
DROP TABLE roles;
DROP TABLE accounts;
DROP TABLE operator_load;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE contact_terms;
DROP TABLE contacts;
