package repository

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"switchboard/conversations"
)

// lockQuery reads the routing fields of a conversation that events carry,
// locking its row on PostgreSQL (SQLite's write transaction excludes
// every other writer already), so a change of its tags or notes is
// announced with the state it was made in.
func (c *Conversations) lockQuery(ctx context.Context, tx *sql.Tx, queryID string) (*conversations.Event, error) {
	q := `SELECT state, assignee, query_type, channel FROM conversations WHERE id = $1`
	if c.d.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	ev := &conversations.Event{QueryID: queryID}
	err := tx.QueryRowContext(ctx, q, queryID).Scan(&ev.State, &ev.Assignee, &ev.QueryType, &ev.Channel)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("conversation %s: %w", queryID, conversations.ErrNotFound)
	}
	return ev, err
}

// SetTags replaces a conversation's tags with tags (sorted, without
// repeats, as the service gives them), in one transaction with the
// conversation's row locked, so two replacements at once apply in turn
// and each reports what it changed.
func (c *Conversations) SetTags(ctx context.Context, queryID string, tags []string) (added, removed []string, ev *conversations.Event, err error) {
	err = c.d.tx(ctx, func(tx *sql.Tx) error {
		ev, err = c.lockQuery(ctx, tx, queryID)
		if err != nil {
			return err
		}
		old, err := tagsOf(ctx, tx, queryID)
		if err != nil {
			return err
		}
		for _, t := range old {
			if !slices.Contains(tags, t) {
				removed = append(removed, t)
				if _, err := tx.ExecContext(ctx, `DELETE FROM conversation_tags WHERE tag = $1 AND conversation_id = $2`, t, queryID); err != nil {
					return err
				}
			}
		}
		for _, t := range tags {
			if !slices.Contains(old, t) {
				added = append(added, t)
				if _, err := tx.ExecContext(ctx, `INSERT INTO conversation_tags (tag, conversation_id) VALUES ($1, $2)`, t, queryID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("set tags: %w", err)
	}
	if len(added) == 0 && len(removed) == 0 {
		return nil, nil, nil, nil
	}
	ev.Type = conversations.EventTags
	return added, removed, ev, nil
}

// tagsOf reads one conversation's tags, sorted.
func tagsOf(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, queryID string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT tag FROM conversation_tags WHERE conversation_id = $1 ORDER BY tag`, queryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	tags := []string{}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		tags = append(tags, t)
	}
	return tags, rows.Err()
}

// fillTags sets the tags of a page of conversations, with one read of
// conversation_tags_conversation.
func (c *Conversations) fillTags(ctx context.Context, items []conversations.Summary) error {
	if len(items) == 0 {
		return nil
	}
	var a args
	in := make([]string, len(items))
	at := make(map[string]int, len(items))
	for i := range items {
		in[i] = a.add(items[i].ID)
		at[items[i].ID] = i
		items[i].Tags = []string{}
	}
	rows, err := c.d.db.QueryContext(ctx, `SELECT conversation_id, tag FROM conversation_tags
		WHERE conversation_id IN (`+strings.Join(in, ", ")+`) ORDER BY conversation_id, tag`, a...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, t string
		if err := rows.Scan(&id, &t); err != nil {
			return err
		}
		if i, ok := at[id]; ok {
			items[i].Tags = append(items[i].Tags, t)
		}
	}
	return rows.Err()
}

// AddNote stores a note on its conversation. The event carries the
// conversation's routing fields, so a mentioned account's stream decides
// from it whether they may see the conversation.
func (c *Conversations) AddNote(ctx context.Context, n conversations.Note) (*conversations.Event, error) {
	mentions := n.Mentions
	if mentions == nil {
		mentions = []string{}
	}
	ment, err := json.Marshal(mentions)
	if err != nil {
		return nil, fmt.Errorf("add note: %w", err)
	}
	var ev *conversations.Event
	err = c.d.tx(ctx, func(tx *sql.Tx) error {
		if ev, err = c.lockQuery(ctx, tx, n.QueryID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO notes (id, conversation_id, author, at, text, mentions) VALUES ($1, $2, $3, $4, $5, $6)`,
			n.ID, n.QueryID, n.Author, ms(n.At), n.Text, string(ment))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("add note: %w", err)
	}
	ev.Type, ev.NoteID = conversations.EventNote, n.ID
	return ev, nil
}

// Notes returns a conversation's notes, oldest first, with their authors'
// names as they are now.
func (c *Conversations) Notes(ctx context.Context, queryID string) ([]conversations.Note, error) {
	rows, err := c.d.db.QueryContext(ctx, `SELECT n.id, n.author, COALESCE(a.name, ''), n.at, n.text, n.mentions
		FROM notes n LEFT JOIN accounts a ON a.id = n.author
		WHERE n.conversation_id = $1 ORDER BY n.at, n.id`, queryID)
	if err != nil {
		return nil, fmt.Errorf("read notes: %w", err)
	}
	defer rows.Close()
	out := []conversations.Note{}
	for rows.Next() {
		n := conversations.Note{QueryID: queryID}
		var at int64
		var ment string
		if err := rows.Scan(&n.ID, &n.Author, &n.AuthorName, &at, &n.Text, &ment); err != nil {
			return nil, fmt.Errorf("read notes: %w", err)
		}
		n.At = fromMS(at)
		if err := json.Unmarshal([]byte(ment), &n.Mentions); err != nil {
			return nil, fmt.Errorf("read notes: note %s: mentions: %w", n.ID, err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read notes: %w", err)
	}
	return out, nil
}
