package repository

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"switchboard/conversations"
)

// Conversations is the conversations part of the system of record:
// contacts, their conversations with the routing state, messages and
// delivery statuses, and the lists and searches over them. It implements
// conversations.Repository on both engines.
//
// Rules that must hold whatever runs concurrently are held by the
// database: a contact's inbound messages serialize on the contact's row
// (locked by the upsert that starts ApplyInbound), routing changes are
// conditional on the conversation's version, and an assignment locks the
// operator's operator_load row while it counts their conversations. On
// SQLite every write transaction holds the database's one write lock
// (BEGIN IMMEDIATE), which serializes them all.
type Conversations struct {
	d *DB
}

var _ conversations.Repository = (*Conversations)(nil)

// Conversations returns the conversations repository on d.
func (d *DB) Conversations() *Conversations { return &Conversations{d: d} }

// ms is a time as stored: milliseconds since the epoch, 0 for the zero
// time, so "never" reads back as the zero time.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS is the time a stored millisecond count stands for, in UTC.
func fromMS(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// args collects a statement's arguments and names their placeholders, so
// statements built from parts number them right on both engines.
type args []any

// add appends v and returns its placeholder.
func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// queryColumnNames are the columns scanQuery reads, in its order.
var queryColumnNames = []string{"id", "contact_id", "channel", "state", "query_type", "assignee", "resolution",
	"created_at", "updated_at", "last_inbound_at", "activity_at", "inbound_count", "outbound_count"}

// queryColumns is queryColumnNames for a SELECT.
var queryColumns = columns("")

// columns is queryColumnNames for a SELECT, each qualified by table t
// ("" for none).
func columns(t string) string {
	if t == "" {
		return strings.Join(queryColumnNames, ", ")
	}
	return t + "." + strings.Join(queryColumnNames, ", "+t+".")
}

// scanQuery reads the queryColumns of one row into q, after extra
// destinations the caller put first.
func scanQuery(row interface{ Scan(...any) error }, q *conversations.Query, extra ...any) error {
	var created, updated, lastIn, activity int64
	dest := append(extra, &q.ID, &q.ContactID, &q.Channel, &q.State, &q.QueryType, &q.Assignee, &q.Resolution,
		&created, &updated, &lastIn, &activity, &q.InboundCount, &q.OutboundCount)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	q.CreatedAt, q.UpdatedAt, q.LastInboundAt, q.ActivityAt = fromMS(created), fromMS(updated), fromMS(lastIn), fromMS(activity)
	return nil
}

// Query reads a conversation.
func (c *Conversations) Query(ctx context.Context, id string) (*conversations.Query, error) {
	q := &conversations.Query{}
	err := scanQuery(c.d.db.QueryRowContext(ctx, `SELECT `+queryColumns+` FROM conversations WHERE id = $1`, id), q)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("conversation %s: %w", id, conversations.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read conversation %s: %w", id, err)
	}
	if q.Tags, err = tagsOf(ctx, c.d.db, id); err != nil {
		return nil, fmt.Errorf("read conversation %s: tags: %w", id, err)
	}
	return q, nil
}

// Contact reads a contact, with the id of its open conversation.
func (c *Conversations) Contact(ctx context.Context, id string) (*conversations.Contact, error) {
	k := &conversations.Contact{}
	var created, lastIn int64
	var open sql.NullString
	err := c.d.db.QueryRowContext(ctx, `
		SELECT k.id, k.channel, k.external_id, k.profile_name, k.display_name, k.notes, k.portfolio_owner,
			k.created_at, k.last_inbound_at,
			(SELECT q.id FROM conversations q WHERE q.contact_id = k.id AND q.state <> 'closed')
		FROM contacts k WHERE k.id = $1`, id).Scan(
		&k.ID, &k.Channel, &k.ExternalID, &k.ProfileName, &k.DisplayName, &k.Notes, &k.PortfolioOwner,
		&created, &lastIn, &open)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("contact %s: %w", id, conversations.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read contact %s: %w", id, err)
	}
	k.CreatedAt, k.LastInboundAt, k.OpenQuery = fromMS(created), fromMS(lastIn), open.String
	return k, nil
}

// EditContact sets the staff's display name and notes of a contact, and
// its search terms to match the new name.
func (c *Conversations) EditContact(ctx context.Context, id, displayName, notes string) error {
	err := c.d.tx(ctx, func(tx *sql.Tx) error {
		var profile, external string
		err := tx.QueryRowContext(ctx, `UPDATE contacts SET display_name = $2, notes = $3 WHERE id = $1
			RETURNING profile_name, external_id`, id, displayName, notes).Scan(&profile, &external)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("contact %s: %w", id, conversations.ErrNotFound)
		}
		if err != nil {
			return err
		}
		return setTerms(ctx, tx, id, contactTerms(profile, displayName, external))
	})
	if err != nil {
		return fmt.Errorf("edit contact: %w", err)
	}
	return nil
}

// SetPortfolioOwner puts the contact in operator's portfolio ("" removes it).
func (c *Conversations) SetPortfolioOwner(ctx context.Context, contactID, operator string) error {
	res, err := c.d.db.ExecContext(ctx, `UPDATE contacts SET portfolio_owner = $2 WHERE id = $1`, contactID, operator)
	if err != nil {
		return fmt.Errorf("set portfolio owner: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set portfolio owner: %w", err)
	} else if n == 0 {
		return fmt.Errorf("set portfolio owner: contact %s: %w", contactID, conversations.ErrNotFound)
	}
	return nil
}

// EraseContact deletes a contact with its conversations, messages, tags,
// notes and search terms, in one transaction: a customer's erasure request leaves
// nothing of theirs, or, if it fails, everything as it was.
func (c *Conversations) EraseContact(ctx context.Context, contactID string) (conversations.Erased, error) {
	var out conversations.Erased
	err := c.d.tx(ctx, func(tx *sql.Tx) error {
		// Lock the contact first, as ApplyInbound does, so a message
		// arriving meanwhile waits and then starts a new contact instead
		// of adding to one being deleted; and so conversations are
		// deleted (below) before their messages, the order routing
		// changes lock them in.
		res, err := tx.ExecContext(ctx, `UPDATE contacts SET query_seq = query_seq WHERE id = $1`, contactID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("contact %s: %w", contactID, conversations.ErrNotFound)
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE contact_id = $1`, contactID).Scan(&out.Messages); err != nil {
			return err
		}
		// The contact's files go with their rows (ON DELETE CASCADE);
		// their bytes are queued for deletion from the store.
		if err := queueMediaDeletions(ctx, tx, "contact_id = $1", args{contactID}, time.Now()); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `DELETE FROM conversations WHERE contact_id = $1`, contactID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		out.Conversations = int(n)
		// Deleting the conversations took their tags and notes (ON DELETE
		// CASCADE); the contact's cascade takes the search terms and any
		// message left.
		_, err = tx.ExecContext(ctx, `DELETE FROM contacts WHERE id = $1`, contactID)
		return err
	})
	if err != nil {
		return conversations.Erased{}, fmt.Errorf("erase contact: %w", err)
	}
	return out, nil
}
