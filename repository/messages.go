package repository

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"switchboard/channels"
	"switchboard/conversations"
)

// statusRank orders delivery statuses so a late report never moves a
// message backwards: a "delivered" arriving after "read" changes nothing.
// A failure outranks sent and delivered; read proves delivery and
// outranks a failure. Statuses not here are recorded nowhere.
var statusRank = map[string]int{
	channels.StatusQueued:    0,
	channels.StatusSent:      1,
	channels.StatusDelivered: 2,
	channels.StatusFailed:    3,
	channels.StatusRead:      4,
}

// statusTimeColumn is the column keeping when a message first reached a
// status; statuses without one only change the current status.
var statusTimeColumn = map[string]string{
	channels.StatusSent:      "sent_at",
	channels.StatusDelivered: "delivered_at",
	channels.StatusRead:      "read_at",
	channels.StatusFailed:    "failed_at",
}

// outboundBody is an outbound message's body column.
type outboundBody struct {
	Text     string                     `json:"text"`
	Template *conversations.TemplateRef `json:"template,omitempty"`
	Question *channels.Question         `json:"question,omitempty"`
}

// RecordOutbound adds an outbound message to a conversation's history as
// queued under msgID, sent by author ("" for an automatic message). It
// reports created false, changing nothing, when msgID is recorded already
// (a decision's auto-reply carried out again). A person's first message
// in a conversation is its first response (first_response_at).
func (c *Conversations) RecordOutbound(ctx context.Context, queryID, msgID, author, text string, tmpl *conversations.TemplateRef, now time.Time) (bool, *conversations.Event, error) {
	return c.recordOutbound(ctx, queryID, msgID, author, text, tmpl, now, nil)
}

// recordOutbound is RecordOutbound, running also, when it is set, with
// in the transaction once the message is created: what must be recorded
// with the message or not at all (its file's row).
func (c *Conversations) recordOutbound(ctx context.Context, queryID, msgID, author, text string, tmpl *conversations.TemplateRef, now time.Time,
	with func(tx *sql.Tx, contactID string) error) (bool, *conversations.Event, error) {
	if msgID == "" {
		return false, nil, errors.New("record outbound message: a message id is required")
	}
	body, err := json.Marshal(outboundBody{Text: text, Template: tmpl})
	if err != nil {
		return false, nil, fmt.Errorf("record outbound message: encode: %w", err)
	}
	var ev *conversations.Event
	created := false
	err = c.d.tx(ctx, func(tx *sql.Tx) error {
		var err error
		created, ev, err = insertOutbound(ctx, tx, queryID, msgID, author, string(body), now, with)
		return err
	})
	if err != nil {
		return false, nil, fmt.Errorf("record outbound message: %w", err)
	}
	return created, ev, nil
}

// insertOutbound is RecordOutbound's work in tx, body the message's body
// column: created false, changing nothing, when msgID is recorded already.
func insertOutbound(ctx context.Context, tx *sql.Tx, queryID, msgID, author, body string, now time.Time,
	with func(tx *sql.Tx, contactID string) error) (bool, *conversations.Event, error) {
	var cid, channel string
	err := tx.QueryRowContext(ctx, `SELECT contact_id, channel FROM conversations WHERE id = $1`, queryID).Scan(&cid, &channel)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil, fmt.Errorf("conversation %s: %w", queryID, conversations.ErrNotFound)
	}
	if err != nil {
		return false, nil, err
	}
	// seq is the time in nanoseconds, as an inbound message's arrival
	// is, so messages of one millisecond keep their order.
	res, err := tx.ExecContext(ctx, `
		INSERT INTO messages (contact_id, id, conversation_id, channel, direction, at, seq, body, status, status_rank, status_at, author)
		VALUES ($1, $2, $3, $4, 'out', $5, $6, $7, $8, $9, $5, $10)
		ON CONFLICT (contact_id, id) DO NOTHING`,
		cid, msgID, queryID, channel, ms(now), now.UnixNano(), body, channels.StatusQueued, statusRank[channels.StatusQueued], author)
	if err != nil {
		return false, nil, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, nil, err
	}
	if with != nil {
		if err := with(tx, cid); err != nil {
			return false, nil, err
		}
	}
	ev := &conversations.Event{Type: conversations.EventMessage, QueryID: queryID, MessageID: msgID, Direction: conversations.DirectionOutbound}
	// A message in a closed conversation that retention finished
	// makes it unfinished again.
	err = tx.QueryRowContext(ctx, `
		UPDATE conversations SET
			outbound_count = outbound_count + 1,
			updated_at = CASE WHEN updated_at < $2 THEN $2 ELSE updated_at END,
			activity_at = CASE WHEN activity_at < $2 THEN $2 ELSE activity_at END,
			first_response_at = CASE WHEN first_response_at = 0 AND $3 <> '' THEN $2 ELSE first_response_at END,
			purged = FALSE
		WHERE id = $1
		RETURNING state, assignee, query_type, channel`, queryID, ms(now), author).Scan(&ev.State, &ev.Assignee, &ev.QueryType, &ev.Channel)
	return err == nil, ev, err
}

// MarkSent records that the provider accepted the message under
// providerID, so its delivery reports find it.
func (c *Conversations) MarkSent(ctx context.Context, queryID, msgID, providerID string, now time.Time) (*conversations.Event, error) {
	if providerID == "" {
		return nil, errors.New("mark message sent: a provider id is required")
	}
	ev, _, err := c.setStatus(ctx, byQuery(queryID, msgID), channels.StatusSent, now, providerID, nil)
	if err != nil {
		return nil, fmt.Errorf("mark message sent: %w", err)
	}
	return ev, nil
}

// MarkFailed records that the message could not be sent, and why.
func (c *Conversations) MarkFailed(ctx context.Context, queryID, msgID string, cause channels.StatusError, now time.Time) (*conversations.Event, error) {
	ev, _, err := c.setStatus(ctx, byQuery(queryID, msgID), channels.StatusFailed, now, "", &cause)
	if err != nil {
		return nil, fmt.Errorf("mark message failed: %w", err)
	}
	return ev, nil
}

// ApplyStatus applies a delivery report to the outbound message whose
// provider id it names. Statuses never move a message backwards.
func (c *Conversations) ApplyStatus(ctx context.Context, st *channels.Status) (conversations.StatusResult, error) {
	if st == nil || st.MessageID == "" {
		// Inbound messages have no provider id: "" must match nothing.
		return conversations.StatusResult{}, nil
	}
	var cid, msgID, queryID string
	// provider_id <> '' repeats the partial index's condition, which a
	// planner cannot prove from a bound parameter (SQLite would scan).
	err := c.d.db.QueryRowContext(ctx, `SELECT contact_id, id, conversation_id FROM messages
		WHERE channel = $1 AND provider_id = $2 AND provider_id <> ''`, st.Channel, st.MessageID).Scan(&cid, &msgID, &queryID)
	if errors.Is(err, sql.ErrNoRows) {
		return conversations.StatusResult{}, nil
	}
	if err != nil {
		return conversations.StatusResult{}, fmt.Errorf("apply delivery status: find message: %w", err)
	}
	var cause *channels.StatusError
	if len(st.Errors) > 0 {
		cause = &st.Errors[0]
	}
	ev, changed, err := c.setStatus(ctx, byKey(cid, msgID), st.Status, st.Timestamp, "", cause)
	if errors.Is(err, conversations.ErrNotFound) {
		return conversations.StatusResult{}, nil // erased meanwhile
	}
	if err != nil {
		return conversations.StatusResult{}, fmt.Errorf("apply delivery status: %w", err)
	}
	return conversations.StatusResult{Found: true, Changed: changed, QueryID: queryID, MessageID: msgID, Event: ev}, nil
}

// msgKey names one outbound message in a statement: a WHERE condition
// and its arguments, starting at $1.
type msgKey struct {
	where string
	args  []any
	desc  string
}

// byQuery names a message by its conversation and id.
func byQuery(queryID, msgID string) msgKey {
	return msgKey{
		where: `contact_id = (SELECT contact_id FROM conversations WHERE id = $1) AND conversation_id = $1 AND id = $2 AND direction = 'out'`,
		args:  []any{queryID, msgID},
		desc:  "message " + msgID + " of conversation " + queryID,
	}
}

// byKey names a message by its primary key.
func byKey(contactID, msgID string) msgKey {
	return msgKey{
		where: `contact_id = $1 AND id = $2 AND direction = 'out'`,
		args:  []any{contactID, msgID},
		desc:  "message " + msgID,
	}
}

// setStatus moves a message's status forward to status, never back, and
// keeps the first time of each status; providerID, when not "", is
// recorded whatever the status does. The event is nil, and changed
// false, when the message already had this or a later status.
func (c *Conversations) setStatus(ctx context.Context, k msgKey, status string, at time.Time, providerID string, cause *channels.StatusError) (*conversations.Event, bool, error) {
	rank, known := statusRank[status]
	var errJSON string
	if cause != nil {
		raw, err := json.Marshal(cause)
		if err != nil {
			return nil, false, fmt.Errorf("encode status error: %w", err)
		}
		errJSON = string(raw)
	}
	var ev *conversations.Event
	changed := false
	err := c.d.tx(ctx, func(tx *sql.Tx) error {
		ev, changed = nil, false
		// First what is kept whatever the rank: the provider id and the
		// status's first time. Its row count says whether the message exists.
		a := args(slices.Clone(k.args))
		set := "id = id"
		if col := statusTimeColumn[status]; col != "" {
			set = col + " = CASE WHEN " + col + " = 0 THEN " + a.add(ms(at)) + " ELSE " + col + " END"
		}
		if providerID != "" {
			set += ", provider_id = " + a.add(providerID)
		}
		res, err := tx.ExecContext(ctx, `UPDATE messages SET `+set+` WHERE `+k.where, a...)
		if err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("%s: provider id %s is another message's already", k.desc, providerID)
			}
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%s: %w", k.desc, conversations.ErrNotFound)
		}
		if !known {
			return nil
		}
		// Then the status, only upwards: the condition is checked on the
		// row as it is when this statement gets it, so two reports
		// racing cannot move it back.
		a = args(slices.Clone(k.args))
		set = "status = " + a.add(status) + ", status_at = " + a.add(ms(at))
		r := a.add(rank)
		set += ", status_rank = " + r
		if errJSON != "" {
			set += ", error = " + a.add(errJSON)
		}
		var queryID, msgID string
		err = tx.QueryRowContext(ctx, `UPDATE messages SET `+set+` WHERE `+k.where+` AND status_rank < `+r+`
			RETURNING conversation_id, id`, a...).Scan(&queryID, &msgID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		changed = true
		ev = &conversations.Event{Type: conversations.EventStatus, QueryID: queryID, MessageID: msgID, Status: status}
		return tx.QueryRowContext(ctx, `SELECT state, assignee, query_type, channel FROM conversations WHERE id = $1`,
			queryID).Scan(&ev.State, &ev.Assignee, &ev.QueryType, &ev.Channel)
	})
	if err != nil {
		return nil, false, err
	}
	return ev, changed, nil
}

// messageColumns are the columns scanMessage reads, in its order.
const messageColumns = `id, conversation_id, direction, at, seq, body, status, status_at, provider_id, error`

// scanMessage reads the messageColumns of one row.
func scanMessage(row interface{ Scan(...any) error }) (*conversations.Message, error) {
	m := &conversations.Message{}
	var dir, body, errJSON string
	var at, statusAt int64
	if err := row.Scan(&m.ID, &m.QueryID, &dir, &at, &m.Seq, &body, &m.Status, &statusAt, &m.ProviderID, &errJSON); err != nil {
		return nil, err
	}
	m.At, m.StatusAt = fromMS(at), fromMS(statusAt)
	m.Purged = body == ""
	switch dir {
	case "in":
		m.Direction = conversations.DirectionInbound
		if !m.Purged {
			m.Inbound = &channels.Inbound{}
			if err := json.Unmarshal([]byte(body), m.Inbound); err != nil {
				return nil, fmt.Errorf("decode message %s: %w", m.ID, err)
			}
		}
	default:
		m.Direction = conversations.DirectionOutbound
		if !m.Purged {
			var ob outboundBody
			if err := json.Unmarshal([]byte(body), &ob); err != nil {
				return nil, fmt.Errorf("decode message %s: %w", m.ID, err)
			}
			m.Text, m.Template, m.Question = ob.Text, ob.Template, ob.Question
		}
	}
	if errJSON != "" {
		m.Error = &channels.StatusError{}
		if err := json.Unmarshal([]byte(errJSON), m.Error); err != nil {
			return nil, fmt.Errorf("decode message %s error: %w", m.ID, err)
		}
	}
	return m, nil
}

// Message reads one message of a conversation.
func (c *Conversations) Message(ctx context.Context, queryID, msgID string) (*conversations.Message, error) {
	m, err := scanMessage(c.d.db.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE contact_id = (SELECT contact_id FROM conversations WHERE id = $1) AND id = $2 AND conversation_id = $1`,
		queryID, msgID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("message %s of conversation %s: %w", msgID, queryID, conversations.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	one := []conversations.Message{*m}
	if err := c.attachMedia(ctx, queryID, one); err != nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	return &one[0], nil
}

// History limits.
const (
	defaultHistory = 100
	maxHistory     = 500
)

// History returns part of a conversation's history, oldest first, in
// provider order: (at, seq, id). With both Before and After it returns
// the messages between them, from After on, and More says whether more
// remain before Before.
func (c *Conversations) History(ctx context.Context, queryID string, r conversations.HistoryRange) (conversations.HistoryPage, error) {
	limit := r.Limit
	if limit <= 0 {
		limit = defaultHistory
	}
	limit = min(limit, maxHistory)
	var cid string
	err := c.d.db.QueryRowContext(ctx, `SELECT contact_id FROM conversations WHERE id = $1`, queryID).Scan(&cid)
	if errors.Is(err, sql.ErrNoRows) {
		return conversations.HistoryPage{}, fmt.Errorf("history: conversation %s: %w", queryID, conversations.ErrNotFound)
	}
	if err != nil {
		return conversations.HistoryPage{}, fmt.Errorf("history of %s: %w", queryID, err)
	}
	a := args{queryID}
	where := "conversation_id = $1"
	// A cursor is a message's place (at, seq, id). The conditions are
	// spelled out, not row values compared, so both engines' planners
	// start the scan of messages_history there.
	for _, cur := range []struct {
		id string
		op string
	}{{r.After, ">"}, {r.Before, "<"}} {
		if cur.id == "" {
			continue
		}
		var at, seq int64
		err := c.d.db.QueryRowContext(ctx, `SELECT at, seq FROM messages WHERE contact_id = $1 AND id = $2 AND conversation_id = $3`,
			cid, cur.id, queryID).Scan(&at, &seq)
		if errors.Is(err, sql.ErrNoRows) {
			return conversations.HistoryPage{}, fmt.Errorf("history of %s: message %s: %w", queryID, cur.id, conversations.ErrBadCursor)
		}
		if err != nil {
			return conversations.HistoryPage{}, fmt.Errorf("history of %s: %w", queryID, err)
		}
		pa, ps, pi := a.add(at), a.add(seq), a.add(cur.id)
		where += fmt.Sprintf(" AND at %[1]s= %[2]s AND (at %[1]s %[2]s OR seq %[1]s %[3]s OR (seq = %[3]s AND id %[1]s %[4]s))", cur.op, pa, ps, pi)
	}
	// From After on the page reads forwards; otherwise it is the newest
	// part of the range, read backwards and turned round.
	forward := r.After != ""
	order := "at DESC, seq DESC, id DESC"
	if forward {
		order = "at, seq, id"
	}
	rows, err := c.d.db.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE `+where+
		` ORDER BY `+order+` LIMIT `+a.add(limit+1), a...)
	if err != nil {
		return conversations.HistoryPage{}, fmt.Errorf("history of %s: %w", queryID, err)
	}
	defer rows.Close()
	var page conversations.HistoryPage
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return conversations.HistoryPage{}, fmt.Errorf("history of %s: %w", queryID, err)
		}
		page.Messages = append(page.Messages, *m)
	}
	if err := rows.Err(); err != nil {
		return conversations.HistoryPage{}, fmt.Errorf("history of %s: %w", queryID, err)
	}
	if len(page.Messages) > limit {
		page.Messages, page.More = page.Messages[:limit], true
	}
	if !forward {
		slices.Reverse(page.Messages)
	}
	if err := c.attachMedia(ctx, queryID, page.Messages); err != nil {
		return conversations.HistoryPage{}, fmt.Errorf("history of %s: %w", queryID, err)
	}
	return page, nil
}

// PurgeMessages empties the bodies (and provider error texts) of up to
// batch messages of closed conversations whose newest message is older
// than before, and reports how many it purged. Each batch is one short
// transaction, so retention never holds locks long; call it again until
// it returns 0.
func (c *Conversations) PurgeMessages(ctx context.Context, before time.Time, batch int) (int, error) {
	if batch <= 0 {
		return 0, nil
	}
	// A round that only finds conversations already emptied (marks them
	// and purges nothing) must not end the caller's loop early.
	for {
		n, more, err := c.purgeRound(ctx, ms(before), batch)
		if err != nil {
			return 0, fmt.Errorf("purge messages: %w", err)
		}
		if n > 0 || !more {
			return n, nil
		}
	}
}

// purgeRound purges up to batch messages of the oldest unfinished closed
// conversations and marks those it finished; more says whether it found
// any conversation to work on.
func (c *Conversations) purgeRound(ctx context.Context, before int64, batch int) (n int, more bool, err error) {
	err = c.d.tx(ctx, func(tx *sql.Tx) error {
		// The conversations are taken (row-locked on PostgreSQL) before
		// their messages, the order routing decisions lock them in, so
		// the two never wait on each other in a circle.
		rows, err := tx.QueryContext(ctx, `UPDATE conversations SET purged = purged
			WHERE state = 'closed' AND id IN (SELECT id FROM conversations
				WHERE state = 'closed' AND purged = FALSE AND activity_at < $1
				ORDER BY activity_at, id LIMIT $2)
			RETURNING id`, before, batch)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		more = len(ids) > 0
		if !more {
			return nil
		}
		var a args
		in := ""
		for i, id := range ids {
			if i > 0 {
				in += ", "
			}
			in += a.add(id)
		}
		res, err := tx.ExecContext(ctx, `UPDATE messages SET body = '', error = ''
			WHERE (contact_id, id) IN (SELECT contact_id, id FROM messages
				WHERE conversation_id IN (`+in+`) AND body <> '' LIMIT `+a.add(batch)+`)`, a...)
		if err != nil {
			return err
		}
		purged, err := res.RowsAffected()
		if err != nil {
			return err
		}
		n = int(purged)
		// Files go with the messages: their bytes are queued for
		// deletion from the store, their rows kept as purged (the
		// history says a file was there) without the customer's
		// filename.
		if err := queueMediaDeletions(ctx, tx, "conversation_id IN ("+in+")", slices.Clone(a[:len(ids)]), time.Now()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE media SET state = 'purged', blob_key = '', filename = '', provider_ref = '', error = ''
			WHERE conversation_id IN (`+in+`) AND state <> 'purged'`, a[:len(ids)]...); err != nil {
			return err
		}
		// Notes are emptied with the messages: retention keeps nothing
		// staff wrote about the customer longer than what they said.
		if _, err := tx.ExecContext(ctx, `UPDATE notes SET text = '' WHERE conversation_id IN (`+in+`) AND text <> ''`, a[:len(ids)]...); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE conversations SET purged = TRUE
			WHERE id IN (`+in+`) AND state = 'closed' AND NOT EXISTS (
				SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id AND m.body <> '')`, a[:len(ids)]...)
		return err
	})
	return n, more, err
}
