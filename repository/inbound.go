package repository

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

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

// inbound is one inbound message as ApplyInbound stores it.
type inbound struct {
	m          *channels.Inbound
	body       string
	cid, order string
	at, nowMS  int64
}

// newInbound is m as ApplyInbound stores it at now.
func newInbound(m *channels.Inbound, body []byte, now time.Time) *inbound {
	return &inbound{m: m, body: string(body), cid: conversations.ContactID(m.Channel, m.From),
		order: inboundOrder(m), at: ms(m.Timestamp), nowMS: ms(now)}
}

// contactArgs are upsertContactSQL's arguments.
func (in *inbound) contactArgs() []any {
	return []any{in.cid, in.m.Channel, in.m.From, in.nowMS, in.at, in.order, in.m.ProfileName}
}

// continueArgs are continueSQL's arguments.
func (in *inbound) continueArgs() []any {
	return []any{in.cid, in.nowMS, in.at, in.order, in.m.ID}
}

// upsertContactSQL creates the message's contact or moves its newest
// message time forward, and returns what ApplyInbound needs of it.
//
// The upsert locks the contact's row (on PostgreSQL; SQLite's write lock
// is already held), so every other message of this contact waits there
// until this one commits: duplicates, the one open conversation and the
// forward-only times are decided by one transaction at a time. The
// newest message time moves only forward, so the outcome is the same
// whatever order workers apply a contact's messages in.
func (c *Conversations) upsertContactSQL() string {
	newer := c.newerSQL("excluded.last_inbound_at", "excluded.last_inbound_order",
		"contacts.last_inbound_at", "contacts.last_inbound_order")
	return `
		INSERT INTO contacts (id, channel, external_id, created_at, last_inbound_at, last_inbound_order, profile_name)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET channel = excluded.channel,
			last_inbound_at = CASE WHEN ` + newer + ` THEN excluded.last_inbound_at ELSE contacts.last_inbound_at END,
			last_inbound_order = CASE WHEN ` + newer + ` THEN excluded.last_inbound_order ELSE contacts.last_inbound_order END
		RETURNING profile_name, display_name, last_inbound_order, portfolio_owner`
}

// contactRow is what upsertContactSQL returns.
type contactRow struct {
	profile, display string
	// moved: the contact's newest message is this one afterwards (no
	// other message has the same order; a duplicate never moves it).
	moved bool
}

// scanContact reads upsertContactSQL's row, the portfolio owner into res.
func scanContact(row scanner, in *inbound, res *conversations.InboundResult) (contactRow, error) {
	var cr contactRow
	var lastOrder string
	if err := row.Scan(&cr.profile, &cr.display, &lastOrder, &res.PortfolioOwner); err != nil {
		return contactRow{}, fmt.Errorf("upsert contact: %w", err)
	}
	cr.moved = lastOrder == in.order
	return cr, nil
}

// newName is the contact's profile name after this message, and whether
// it changed: the profile name moves forward with the newest message
// time.
func (cr contactRow) newName(in *inbound) (string, bool) {
	if !cr.moved || in.m.ProfileName == "" || in.m.ProfileName == cr.profile {
		return cr.profile, false
	}
	return in.m.ProfileName, true
}

// continueSQL adds an inbound message's counts and times to the contact's
// open conversation and returns its routing state; no row when there is
// none or the message is in the contact's history already (a duplicate).
//
// Only a transaction holding the contact changes the conversation's last
// inbound message. Routing may close the conversation meanwhile (it does
// not hold the contact): then no row matches, and the message opens a new
// one. Outbound messages move activity_at too, hence the maximum in SQL.
// SET's expressions all read the row as it was, so the last inbound time
// and order move together, forward only; they are this message's
// afterwards unless it is late. The statement runs after the upsert
// locked the contact, so it sees every message applied before.
func (c *Conversations) continueSQL() string {
	return `
		UPDATE conversations SET ` + c.continueSetSQL() + `
		WHERE contact_id = $1 AND state <> 'closed'
			AND NOT EXISTS (SELECT 1 FROM messages WHERE contact_id = $1 AND id = $5)
		RETURNING ` + continueReturning
}

// continueSetSQL is continueSQL's SET list: $2 now, $3 the message's
// provider time, $4 its provider order.
func (c *Conversations) continueSetSQL() string {
	newer := c.newerSQL("$3", "$4", "last_inbound_at", "last_inbound_order")
	return `
			inbound_count = inbound_count + 1,
			updated_at = CASE WHEN updated_at < $2 THEN $2 ELSE updated_at END,
			activity_at = CASE WHEN activity_at < $3 THEN $3 ELSE activity_at END,
			last_inbound_at = CASE WHEN ` + newer + ` THEN $3 ELSE last_inbound_at END,
			last_inbound_order = CASE WHEN ` + newer + ` THEN $4 ELSE last_inbound_order END`
}

// continueReturning is what continueSQL returns, in scanContinued's order.
const continueReturning = `id, last_inbound_at, last_inbound_order, state, assignee, query_type, channel,
			routing, version, outbound_count, assigned_outbound, effects`

// scanContinued reads continueSQL's row into res and ev; false when it
// matched none.
func scanContinued(row scanner, in *inbound, res *conversations.InboundResult, ev *conversations.Event) (bool, error) {
	st := &conversations.RoutingState{}
	var qid, lastOrder, raw string
	var lastAt, outbound, assignedOutbound int64
	err := row.Scan(&qid, &lastAt, &lastOrder, &ev.State, &ev.Assignee, &ev.QueryType, &ev.Channel,
		&raw, &st.Version, &outbound, &assignedOutbound, &st.Effects)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("update open conversation: %w", err)
	}
	res.Late = lastOrder != in.order
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
	st.ContactID = in.cid
	res.QueryID, ev.QueryID, res.Routing = qid, qid, st
	return true, nil
}

// scanner is a row of either engine's driver.
type scanner interface{ Scan(dest ...any) error }

// insertMessageSQL adds an inbound message to a conversation's history.
const insertMessageSQL = `
	INSERT INTO messages (contact_id, id, conversation_id, channel, direction, at, seq, body)
	VALUES ($1, $2, $3, $4, 'in', $5, $6, $7)`

// ApplyInbound records one inbound message in one transaction: it upserts
// the contact, finds or creates the contact's open conversation, adds the
// message to its history and moves the times forward. Applying a message
// again changes nothing and reports Duplicate. body is the message's JSON
// as queued; the returned event is to be published once this returns.
//
// On PostgreSQL the transaction may be shared: a message that continues
// its contact's open conversation is applied with those of concurrent
// calls in one group commit (groupcommit.go), with the same result and
// effect as on its own.
func (c *Conversations) ApplyInbound(ctx context.Context, m *channels.Inbound, body []byte, now time.Time) (conversations.InboundResult, error) {
	if m == nil || m.ID == "" || m.Channel == "" || m.From == "" {
		return conversations.InboundResult{}, errors.New("apply inbound message: channel, sender and message id are required")
	}
	in := newInbound(m, body, now)
	// A message with a file records the file's row too, which only the
	// general path does: group commit and the pipelined path are for
	// plain continuations.
	if c.d.dialect != Postgres || conversations.HasMedia(m) {
		return c.applyGeneral(ctx, in)
	}
	out, err := c.d.group.submit(ctx, c.d, in)
	if err != nil {
		return conversations.InboundResult{}, fmt.Errorf("apply inbound message: %w", err)
	}
	return c.afterGroup(ctx, in, out)
}

// afterGroup finishes a message on PostgreSQL once its group said what it
// did: an applied message is done, one that is not a plain continuation
// takes the general path, and one whose group failed is applied on its
// own from the start (the pipelined continuation, then the general path).
func (c *Conversations) afterGroup(ctx context.Context, in *inbound, out groupResult) (conversations.InboundResult, error) {
	switch out.outcome {
	case groupApplied:
		return out.res, nil
	case groupIneligible:
		return c.applyGeneral(ctx, in)
	}
	res, ok, err := c.continuePipelined(ctx, in)
	if err != nil {
		return conversations.InboundResult{}, fmt.Errorf("apply inbound message: %w", err)
	}
	if ok {
		return res, nil
	}
	return c.applyGeneral(ctx, in)
}

// applyGeneral is ApplyInbound's general path, any message on either
// engine: one transaction of separate statements.
func (c *Conversations) applyGeneral(ctx context.Context, in *inbound) (conversations.InboundResult, error) {
	m := in.m
	var res conversations.InboundResult
	err := c.d.tx(ctx, func(tx *sql.Tx) error {
		res = conversations.InboundResult{ContactID: in.cid}
		cr, err := scanContact(tx.QueryRowContext(ctx, c.upsertContactSQL(), in.contactArgs()...), in, &res)
		if err != nil {
			return err
		}
		// Most messages continue the open conversation: its UPDATE, which
		// matches no row for a message applied before, comes first, and
		// only when it matched none is the message looked up (a
		// duplicate) or a conversation opened.
		ev := &conversations.Event{Type: conversations.EventMessage, MessageID: m.ID, Direction: conversations.DirectionInbound}
		found, err := scanContinued(tx.QueryRowContext(ctx, c.continueSQL(), in.continueArgs()...), in, &res, ev)
		if err != nil {
			return err
		}
		first := false
		if !found {
			var routed bool
			err = tx.QueryRowContext(ctx, `SELECT conversation_id, routed FROM messages WHERE contact_id = $1 AND id = $2`,
				in.cid, m.ID).Scan(&res.QueryID, &routed)
			if err == nil {
				res.Duplicate, res.Routed = true, routed
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("look for a duplicate: %w", err)
			}
			seq, err := c.openConversation(ctx, tx, in, &res, ev)
			if err != nil {
				return err
			}
			// Contacts are created only here, with their first
			// conversation: the first one is the first message's.
			first = seq == 1
		}
		res.Event = ev

		if _, err := tx.ExecContext(ctx, insertMessageSQL,
			in.cid, m.ID, res.QueryID, m.Channel, in.at, m.Arrival, in.body); err != nil {
			return fmt.Errorf("insert message: %w", err)
		}
		if conversations.HasMedia(m) {
			if err := insertMedia(ctx, tx, conversations.NewInboundMedia(m, in.cid, res.QueryID, fromMS(in.nowMS))); err != nil {
				return err
			}
		}

		// A new contact has its first message's name already.
		name, renamed := cr.newName(in)
		if renamed {
			if _, err := tx.ExecContext(ctx, `UPDATE contacts SET profile_name = $2 WHERE id = $1`, in.cid, name); err != nil {
				return fmt.Errorf("update contact: %w", err)
			}
		}
		if (first && cr.moved) || renamed {
			if err := setTerms(ctx, tx, in.cid, contactTerms(name, cr.display, m.From)); err != nil {
				return fmt.Errorf("index contact: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return conversations.InboundResult{}, fmt.Errorf("apply inbound message: %w", err)
	}
	return res, nil
}

// continuePipelined applies, on its own, a message that continues its
// contact's open conversation, on PostgreSQL, when no group commit did
// (its group failed, or none took it): the same
// transaction's statements sent at once (pgx's pipeline) and then its
// COMMIT, two round trips instead of five. Anything else (no open
// conversation, a duplicate, a new profile name, a duplicate racing in)
// rolls back and reports false, for the general path to apply it: the
// statements are those of its first steps, so what it decides is the
// same.
func (c *Conversations) continuePipelined(ctx context.Context, in *inbound) (conversations.InboundResult, bool, error) {
	conn, err := c.d.db.Conn(ctx)
	if err != nil {
		return conversations.InboundResult{}, false, fmt.Errorf("get a connection: %w", err)
	}
	defer conn.Close()
	res := conversations.InboundResult{ContactID: in.cid}
	ev := &conversations.Event{Type: conversations.EventMessage, MessageID: in.m.ID, Direction: conversations.DirectionInbound}
	var cr contactRow
	var found bool
	var inserted int64
	ok := false
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		b.Queue(c.upsertContactSQL(), in.contactArgs()...).QueryRow(func(row pgx.Row) error {
			var err error
			cr, err = scanContact(row, in, &res)
			return err
		})
		b.Queue(c.continueSQL(), in.continueArgs()...).QueryRow(func(row pgx.Row) error {
			var err error
			found, err = scanContinued(row, in, &res, ev)
			return err
		})
		// The conversation continueSQL updated, if it did: the one open,
		// locked by it until this commits.
		b.Queue(`
			INSERT INTO messages (contact_id, id, conversation_id, channel, direction, at, seq, body)
			SELECT $1, $2, id, $3, 'in', $4::BIGINT, $5::BIGINT, $6::TEXT FROM conversations
			WHERE contact_id = $1 AND state <> 'closed'
				AND NOT EXISTS (SELECT 1 FROM messages WHERE contact_id = $1 AND id = $2)`,
			in.cid, in.m.ID, in.m.Channel, in.at, in.m.Arrival, in.body).Exec(func(tag pgconn.CommandTag) error {
			inserted = tag.RowsAffected()
			return nil
		})
		err := pc.SendBatch(ctx, b).Close()
		if _, renamed := cr.newName(in); err == nil && found && inserted == 1 && !renamed {
			if _, err := pc.Exec(ctx, "COMMIT"); err != nil {
				return fmt.Errorf("commit: %w", err)
			}
			ok = true
			return nil
		}
		if _, rerr := pc.Exec(ctx, "ROLLBACK"); rerr != nil {
			return errors.Join(err, fmt.Errorf("roll back: %w", rerr))
		}
		if isUniqueViolation(err) {
			return nil // a duplicate applied meanwhile: the general path says so
		}
		return err
	})
	if err != nil || !ok {
		return conversations.InboundResult{}, false, err
	}
	res.Event = ev
	return res, true, nil
}

// reopenWithin is how soon after its contact's previous conversation
// closed a new one counts as reopened (reports' "reopened within 24h").
const reopenWithin = 24 * time.Hour

// openConversation creates the contact's next conversation, pending and
// never routed, holding one inbound message; it returns its number (1 for
// the contact's first).
func (c *Conversations) openConversation(ctx context.Context, tx *sql.Tx, in *inbound,
	res *conversations.InboundResult, ev *conversations.Event) (int64, error) {
	var seq int64
	if err := tx.QueryRowContext(ctx, `UPDATE contacts SET query_seq = query_seq + 1 WHERE id = $1 RETURNING query_seq`,
		in.cid).Scan(&seq); err != nil {
		return 0, fmt.Errorf("number conversation: %w", err)
	}
	qid := fmt.Sprintf("%s-%d", in.cid, seq)
	channel := in.m.Channel
	// reopened: the contact's previous conversation (closed, as one is
	// open at a time) closed within the 24 hours before this one opens.
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO conversations (id, contact_id, channel, state, inbound_count, created_at, updated_at,
			last_inbound_at, last_inbound_order, activity_at, reopened)
		VALUES ($1, $2, $3, $4, 1, $5, $5, $6, $7, $6,
			EXISTS (SELECT 1 FROM conversations p WHERE p.id = $8 AND p.closed_at > 0 AND p.closed_at >= $9))`,
		qid, in.cid, channel, routing.StatePending, in.nowMS, in.at, in.order,
		fmt.Sprintf("%s-%d", in.cid, seq-1), in.nowMS-reopenWithin.Milliseconds()); err != nil {
		return 0, fmt.Errorf("create conversation: %w", err)
	}
	res.QueryID, res.NewQuery = qid, true
	// Never routed: RoutingState's zero state but for the id and channel.
	res.Routing = &conversations.RoutingState{Query: routing.Query{ID: qid, Channel: channel},
		LastInboundAt: fromMS(in.at), ContactID: in.cid}
	ev.QueryID, ev.State, ev.Channel = qid, routing.StatePending, channel
	return seq, nil
}
