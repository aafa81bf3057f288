package repository

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"switchboard/conversations"
)

// mediaColumns are what scanMedia reads, in its order.
const mediaColumns = `id, contact_id, conversation_id, message_id, channel, direction, kind, provider_ref,
	mime_type, filename, size, sha256, blob_key, state, error, attempts, created_at, stored_at`

// dbDirection is a conversations.Direction* as the tables spell it.
func dbDirection(d string) string {
	if d == conversations.DirectionOutbound {
		return "out"
	}
	return "in"
}

// insertMediaSQL records a file; the same id again changes nothing (a
// redelivered message, an outbound send recorded again).
const insertMediaSQL = `
	INSERT INTO media (id, contact_id, conversation_id, message_id, channel, direction, kind, provider_ref,
		mime_type, filename, size, sha256, blob_key, state, error, created_at, stored_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
	ON CONFLICT (id) DO NOTHING`

// insertMedia records m with whatever runs statements (a transaction or the pool).
func insertMedia(ctx context.Context, ex interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}, m *conversations.Media) error {
	var size any
	if m.Size >= 0 {
		size = m.Size
	}
	var storedAt int64
	if !m.StoredAt.IsZero() {
		storedAt = ms(m.StoredAt)
	}
	if _, err := ex.ExecContext(ctx, insertMediaSQL, m.ID, m.ContactID, m.QueryID, m.MessageID, m.Channel,
		dbDirection(m.Direction), m.Kind, m.ProviderRef, m.MimeType, m.Filename, size, m.SHA256, m.BlobKey,
		m.State, m.Error, ms(m.CreatedAt), storedAt); err != nil {
		return fmt.Errorf("insert media: %w", err)
	}
	return nil
}

// InsertMedia records a file (an outbound one, say); recording one
// already there changes nothing.
func (c *Conversations) InsertMedia(ctx context.Context, m *conversations.Media) error {
	if m == nil || m.ID == "" || m.ContactID == "" || m.MessageID == "" {
		return errors.New("insert media: id, contact and message are required")
	}
	return insertMedia(ctx, c.d.db, m)
}

// scanMedia reads one row of mediaColumns.
func scanMedia(row scanner) (*conversations.Media, error) {
	m := &conversations.Media{}
	var size sql.NullInt64
	var dir string
	var created, stored int64
	if err := row.Scan(&m.ID, &m.ContactID, &m.QueryID, &m.MessageID, &m.Channel, &dir, &m.Kind, &m.ProviderRef,
		&m.MimeType, &m.Filename, &size, &m.SHA256, &m.BlobKey, &m.State, &m.Error, &m.Attempts, &created, &stored); err != nil {
		return nil, err
	}
	m.Direction = conversations.DirectionInbound
	if dir == "out" {
		m.Direction = conversations.DirectionOutbound
	}
	m.Size = -1
	if size.Valid {
		m.Size = size.Int64
	}
	m.CreatedAt = fromMS(created)
	if stored > 0 {
		m.StoredAt = fromMS(stored)
	}
	return m, nil
}

// Media reads one file's row.
func (c *Conversations) Media(ctx context.Context, id string) (*conversations.Media, error) {
	m, err := scanMedia(c.d.db.QueryRowContext(ctx, `SELECT `+mediaColumns+` FROM media WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("media %s: %w", id, conversations.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read media: %w", err)
	}
	return m, nil
}

// MarkMediaStored records a pending file as stored; false when it was no
// longer pending. The provider's reference is forgotten: it may hold the
// keys to the provider's copy, needed no more.
func (c *Conversations) MarkMediaStored(ctx context.Context, id, mimeType, sha string, size int64, now time.Time) (bool, error) {
	res, err := c.d.db.ExecContext(ctx, `UPDATE media SET state = 'stored', mime_type = $2, sha256 = $3, size = $4,
		stored_at = $5, error = '', provider_ref = '' WHERE id = $1 AND state = 'pending'`, id, mimeType, sha, size, ms(now))
	if err != nil {
		return false, fmt.Errorf("mark media stored: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("mark media stored: %w", err)
	}
	return n == 1, nil
}

// MarkMediaFailed records that a pending file cannot be kept, forgetting
// the provider's reference as MarkMediaStored does.
func (c *Conversations) MarkMediaFailed(ctx context.Context, id, reason string, now time.Time) error {
	if _, err := c.d.db.ExecContext(ctx, `UPDATE media SET state = 'failed', error = $2, stored_at = $3, provider_ref = ''
		WHERE id = $1 AND state = 'pending'`, id, reason, ms(now)); err != nil {
		return fmt.Errorf("mark media failed: %w", err)
	}
	return nil
}

// CountMediaAttempt counts one fetch attempt and returns the count (0
// for a file no longer recorded).
func (c *Conversations) CountMediaAttempt(ctx context.Context, id string) (int, error) {
	var n int
	err := c.d.db.QueryRowContext(ctx, `UPDATE media SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts`, id).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("count media attempt: %w", err)
	}
	return n, nil
}

// MessageMedia returns the files of a conversation's messages, by
// message id.
func (c *Conversations) MessageMedia(ctx context.Context, queryID string, msgIDs []string) (map[string]*conversations.Media, error) {
	out := map[string]*conversations.Media{}
	if len(msgIDs) == 0 {
		return out, nil
	}
	a := args{queryID}
	in := ""
	for i, id := range msgIDs {
		if i > 0 {
			in += ", "
		}
		in += a.add(id)
	}
	rows, err := c.d.db.QueryContext(ctx, `SELECT `+mediaColumns+` FROM media
		WHERE contact_id = (SELECT contact_id FROM conversations WHERE id = $1) AND conversation_id = $1
			AND message_id IN (`+in+`)`, a...)
	if err != nil {
		return nil, fmt.Errorf("read media of messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanMedia(rows)
		if err != nil {
			return nil, fmt.Errorf("read media of messages: %w", err)
		}
		out[m.MessageID] = m
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read media of messages: %w", err)
	}
	return out, nil
}

// attachMedia sets the Media of those of msgs that carry a file.
func (c *Conversations) attachMedia(ctx context.Context, queryID string, msgs []conversations.Message) error {
	ids := make([]string, 0, len(msgs))
	for i := range msgs {
		ids = append(ids, msgs[i].ID)
	}
	for len(ids) > 0 {
		// Chunks keep the statement's parameters within SQLite's limit.
		n := min(len(ids), 400)
		found, err := c.MessageMedia(ctx, queryID, ids[:n])
		if err != nil {
			return err
		}
		for i := range msgs {
			if m, ok := found[msgs[i].ID]; ok {
				msgs[i].Media = m
			}
		}
		ids = ids[n:]
	}
	return nil
}

// queueMediaDeletions moves the blob keys of the media rows matching
// where (over media, with a's arguments) to media_deletions, in tx: the
// rows are then purged or deleted by the caller in the same transaction,
// and the files deleted from the store later, retried until done.
func queueMediaDeletions(ctx context.Context, tx *sql.Tx, where string, a args, now time.Time) error {
	at := a.add(ms(now))
	if _, err := tx.ExecContext(ctx, `INSERT INTO media_deletions (blob_key, created_at)
		SELECT blob_key, `+at+` FROM media WHERE `+where+` AND blob_key <> ''
		ON CONFLICT (blob_key) DO NOTHING`, a...); err != nil {
		return fmt.Errorf("queue media deletions: %w", err)
	}
	return nil
}

// QueueMediaDeletion queues one blob key for deletion from the store:
// a file kept for no row (its row erased while it was fetched) that the
// store would not delete at once.
func (c *Conversations) QueueMediaDeletion(ctx context.Context, key string, now time.Time) error {
	var a args
	if _, err := c.d.db.ExecContext(ctx, `INSERT INTO media_deletions (blob_key, created_at) VALUES (`+a.add(key)+`, `+a.add(ms(now))+`)
		ON CONFLICT (blob_key) DO NOTHING`, a...); err != nil {
		return fmt.Errorf("queue media deletion: %w", err)
	}
	return nil
}

// MediaDeletions returns up to n blob keys whose files are to be deleted
// from the store, oldest first.
func (c *Conversations) MediaDeletions(ctx context.Context, n int) ([]string, error) {
	rows, err := c.d.db.QueryContext(ctx, `SELECT blob_key FROM media_deletions ORDER BY created_at, blob_key LIMIT $1`, n)
	if err != nil {
		return nil, fmt.Errorf("read media deletions: %w", err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("read media deletions: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read media deletions: %w", err)
	}
	return keys, nil
}

// MediaDeleted forgets blob keys whose files the store deleted.
func (c *Conversations) MediaDeleted(ctx context.Context, keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), 400)
		var a args
		in := ""
		for i, k := range keys[:n] {
			if i > 0 {
				in += ", "
			}
			in += a.add(k)
		}
		if _, err := c.d.db.ExecContext(ctx, `DELETE FROM media_deletions WHERE blob_key IN (`+in+`)`, a...); err != nil {
			return fmt.Errorf("forget media deletions: %w", err)
		}
		keys = keys[n:]
	}
	return nil
}
