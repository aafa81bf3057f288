package repository

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"switchboard/channels"
	"switchboard/conversations"
	"switchboard/routing"
)

// inboundOrder is a message's place in provider order, as stored in
// last_inbound_order beside its time: the arrival (zero-padded, so text
// order is number order) and then the id, so no two messages tie.
func inboundOrder(m *channels.Inbound) string {
	return fmt.Sprintf("%019d:%s", m.Arrival, m.ID)
}

// newerSQL is the SQL condition that a message at (at, order) comes after
// the newest one seen, (lastAt, lastOrder), in provider order: the orders
// compare byte by byte, as the "C" collation does on PostgreSQL and
// SQLite's default (BINARY) does, never by the database's text collation.
func (c *Conversations) newerSQL(at, order, lastAt, lastOrder string) string {
	if c.d.dialect == Postgres {
		lastOrder += ` COLLATE "C"`
	}
	return "(" + lastAt + " < " + at + " OR (" + lastAt + " = " + at + " AND " + lastOrder + " < " + order + "))"
}

// ApplyInbound records one inbound message in one transaction: it upserts
// the contact, finds or creates the contact's open conversation, adds the
// message to its history and moves the times forward. Applying a message
// again changes nothing and reports Duplicate. body is the message's JSON
// as queued; the returned event is to be published once this returns.
func (c *Conversations) ApplyInbound(ctx context.Context, m *channels.Inbound, body []byte, now time.Time) (conversations.InboundResult, error) {
	if m == nil || m.ID == "" || m.Channel == "" || m.From == "" {
		return conversations.InboundResult{}, errors.New("apply inbound message: channel, sender and message id are required")
	}
	cid := conversations.ContactID(m.Channel, m.From)
	at, order, nowMS := ms(m.Timestamp), inboundOrder(m), ms(now)
	res := conversations.InboundResult{ContactID: cid}
	err := c.d.tx(ctx, func(tx *sql.Tx) error {
		res = conversations.InboundResult{ContactID: cid}
		// The upsert locks the contact's row (on PostgreSQL; SQLite's
		// write lock is already held), so every other message of this
		// contact waits here until this one commits: duplicates, the one
		// open conversation and the forward-only times are decided by one
		// transaction at a time.
		//
		// The contact's newest message time moves only forward, so the
		// outcome is the same whatever order workers apply a contact's
		// messages in. It moved when it is this message's afterwards (no
		// other message has the same order); a duplicate never moves it.
		newer := c.newerSQL("excluded.last_inbound_at", "excluded.last_inbound_order",
			"contacts.last_inbound_at", "contacts.last_inbound_order")
		var profile, display, lastOrder string
		err := tx.QueryRowContext(ctx, `
			INSERT INTO contacts (id, channel, external_id, created_at, last_inbound_at, last_inbound_order, profile_name)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (id) DO UPDATE SET channel = excluded.channel,
				last_inbound_at = CASE WHEN `+newer+` THEN excluded.last_inbound_at ELSE contacts.last_inbound_at END,
				last_inbound_order = CASE WHEN `+newer+` THEN excluded.last_inbound_order ELSE contacts.last_inbound_order END
			RETURNING profile_name, display_name, last_inbound_order, portfolio_owner`,
			cid, m.Channel, m.From, nowMS, at, order, m.ProfileName).Scan(&profile, &display, &lastOrder, &res.PortfolioOwner)
		if err != nil {
			return fmt.Errorf("upsert contact: %w", err)
		}
		moved := lastOrder == order

		// Most messages continue the open conversation: its UPDATE, which
		// matches no row for a message applied before, comes first, and
		// only when it matched none is the message looked up (a
		// duplicate) or a conversation opened.
		ev := &conversations.Event{Type: conversations.EventMessage, MessageID: m.ID, Direction: conversations.DirectionInbound}
		found, err := c.addToOpen(ctx, tx, cid, m.ID, at, order, nowMS, &res, ev)
		if err != nil {
			return err
		}
		first := false
		if !found {
			var routed bool
			err = tx.QueryRowContext(ctx, `SELECT conversation_id, routed FROM messages WHERE contact_id = $1 AND id = $2`,
				cid, m.ID).Scan(&res.QueryID, &routed)
			if err == nil {
				res.Duplicate, res.Routed = true, routed
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("look for a duplicate: %w", err)
			}
			seq, err := c.openConversation(ctx, tx, cid, m.Channel, at, order, nowMS, &res, ev)
			if err != nil {
				return err
			}
			// Contacts are created only here, with their first
			// conversation: the first one is the first message's.
			first = seq == 1
		}
		res.Event = ev

		if _, err := tx.ExecContext(ctx, `
			INSERT INTO messages (contact_id, id, conversation_id, channel, direction, at, seq, body)
			VALUES ($1, $2, $3, $4, 'in', $5, $6, $7)`,
			cid, m.ID, res.QueryID, m.Channel, at, m.Arrival, string(body)); err != nil {
			return fmt.Errorf("insert message: %w", err)
		}

		// The profile name moves forward with the newest message time (a
		// new contact has its first message's already).
		if moved {
			name := profile
			if m.ProfileName != "" {
				name = m.ProfileName
			}
			if name != profile {
				if _, err := tx.ExecContext(ctx, `UPDATE contacts SET profile_name = $2 WHERE id = $1`, cid, name); err != nil {
					return fmt.Errorf("update contact: %w", err)
				}
			}
			if first || name != profile {
				if err := setTerms(ctx, tx, cid, contactTerms(name, display, m.From)); err != nil {
					return fmt.Errorf("index contact: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return conversations.InboundResult{}, fmt.Errorf("apply inbound message: %w", err)
	}
	return res, nil
}

// addToOpen adds an inbound message's counts and times to the contact's
// open conversation, filling res and ev; false when there is none or the
// message is in the contact's history already (a duplicate).
func (c *Conversations) addToOpen(ctx context.Context, tx *sql.Tx, cid, msgID string, at int64, order string, nowMS int64,
	res *conversations.InboundResult, ev *conversations.Event) (bool, error) {
	st := &conversations.RoutingState{}
	// Only this transaction (holding the contact) changes the
	// conversation's last inbound message. Routing may close the
	// conversation meanwhile (it does not hold the contact): then no row
	// matches, and the message opens a new one. Outbound messages move
	// activity_at too, hence the maximum in SQL. SET's expressions all
	// read the row as it was, so the last inbound time and order move
	// together, forward only; they are this message's afterwards unless
	// it is late. The statement starts after the upsert locked the
	// contact, so it sees every message applied before.
	newer := c.newerSQL("$4", "$5", "last_inbound_at", "last_inbound_order")
	var qid, lastOrder, raw string
	var lastAt, outbound, assignedOutbound int64
	err := tx.QueryRowContext(ctx, `
		UPDATE conversations SET
			inbound_count = inbound_count + 1,
			updated_at = CASE WHEN updated_at < $2 THEN $2 ELSE updated_at END,
			activity_at = CASE WHEN activity_at < $3 THEN $3 ELSE activity_at END,
			last_inbound_at = CASE WHEN `+newer+` THEN $4 ELSE last_inbound_at END,
			last_inbound_order = CASE WHEN `+newer+` THEN $5 ELSE last_inbound_order END
		WHERE contact_id = $1 AND state <> 'closed'
			AND NOT EXISTS (SELECT 1 FROM messages WHERE contact_id = $1 AND id = $6)
		RETURNING id, last_inbound_at, last_inbound_order, state, assignee, query_type, channel,
			routing, version, outbound_count, assigned_outbound, effects`,
		cid, nowMS, at, at, order, msgID).Scan(&qid, &lastAt, &lastOrder, &ev.State, &ev.Assignee, &ev.QueryType, &ev.Channel,
		&raw, &st.Version, &outbound, &assignedOutbound, &st.Effects)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("update open conversation: %w", err)
	}
	res.Late = lastOrder != order
	// The routing state as RoutingState would read it after commit.
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &st.Query); err != nil {
			return false, fmt.Errorf("decode routing state of %s: %w", qid, err)
		}
	}
	st.Query.ID = qid
	if st.Query.Channel == "" {
		st.Query.Channel = ev.Channel
	}
	st.LastInboundAt = fromMS(lastAt)
	st.AnsweredSinceAssignment = outbound > assignedOutbound
	st.ContactID = cid
	res.QueryID, ev.QueryID, res.Routing = qid, qid, st
	return true, nil
}

// openConversation creates the contact's next conversation, pending and
// never routed, holding one inbound message; it returns its number (1 for
// the contact's first).
func (c *Conversations) openConversation(ctx context.Context, tx *sql.Tx, cid, channel string, at int64, order string, nowMS int64,
	res *conversations.InboundResult, ev *conversations.Event) (int64, error) {
	var seq int64
	if err := tx.QueryRowContext(ctx, `UPDATE contacts SET query_seq = query_seq + 1 WHERE id = $1 RETURNING query_seq`,
		cid).Scan(&seq); err != nil {
		return 0, fmt.Errorf("number conversation: %w", err)
	}
	qid := fmt.Sprintf("%s-%d", cid, seq)
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO conversations (id, contact_id, channel, state, inbound_count, created_at, updated_at,
			last_inbound_at, last_inbound_order, activity_at)
		VALUES ($1, $2, $3, $4, 1, $5, $5, $6, $7, $6)`,
		qid, cid, channel, routing.StatePending, nowMS, at, order); err != nil {
		return 0, fmt.Errorf("create conversation: %w", err)
	}
	res.QueryID, res.NewQuery = qid, true
	// Never routed: RoutingState's zero state but for the id and channel.
	res.Routing = &conversations.RoutingState{Query: routing.Query{ID: qid, Channel: channel},
		LastInboundAt: fromMS(at), ContactID: cid}
	ev.QueryID, ev.State, ev.Channel = qid, routing.StatePending, channel
	return seq, nil
}
