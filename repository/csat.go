package repository

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"switchboard/conversations"
)

// RequestCSAT marks a closed conversation surveyed until r.Until and
// records the question as an automatic outbound message, in one
// transaction; created false, changing nothing, when it was surveyed
// already or is not closed.
func (c *Conversations) RequestCSAT(ctx context.Context, r conversations.CSATRequest) (bool, *conversations.Event, error) {
	body, err := json.Marshal(outboundBody{Text: r.Text, Template: r.Template, Question: r.Question})
	if err != nil {
		return false, nil, fmt.Errorf("request csat: encode: %w", err)
	}
	var created bool
	var ev *conversations.Event
	err = c.d.tx(ctx, func(tx *sql.Tx) error {
		created, ev = false, nil
		res, err := tx.ExecContext(ctx, `UPDATE conversations SET csat_requested_at = $2, csat_until = $3
			WHERE id = $1 AND state = 'closed' AND csat_requested_at = 0`, r.QueryID, ms(r.Now), ms(r.Until))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		created, ev, err = insertOutbound(ctx, tx, r.QueryID, r.MessageID, "", string(body), r.Now, nil)
		return err
	})
	if err != nil {
		return false, nil, fmt.Errorf("request csat of %s: %w", r.QueryID, err)
	}
	return created, ev, nil
}

// csatOf reads a conversation's survey; nil when it was never surveyed.
func csatOf(ctx context.Context, db *sql.DB, queryID string) (*conversations.CSAT, error) {
	var requested, until, at int64
	var score int
	err := db.QueryRowContext(ctx, `SELECT csat_requested_at, csat_until, csat_score, csat_at FROM conversations WHERE id = $1`,
		queryID).Scan(&requested, &until, &score, &at)
	if err != nil || requested == 0 {
		return nil, err
	}
	return &conversations.CSAT{RequestedAt: fromMS(requested), Until: fromMS(until), Score: score, AnsweredAt: fromMS(at)}, nil
}

// csatSlackMS is how much earlier than the question an answer's provider
// time may be: WhatsApp's are whole seconds, so a reply within the
// question's second can carry a time before it.
const csatSlackMS = 1000

// answerCSAT applies an inbound message that rates its contact's survey,
// in ApplyInbound's transaction (which holds the contact): the contact's
// latest conversation is closed, surveyed, and the message came within
// the answer time. The message then joins that conversation's history,
// marked routed (nothing routes it), the first rating is stored (a
// second changes nothing) and no conversation opens. false, writing
// nothing, for any other message: the survey lapses, as the message opens
// a conversation that is the contact's latest from then on.
//
// It runs on the general path only: a contact with a survey pending has
// no open conversation (its latest is the closed one), so neither the
// group commit nor the pipelined continuation, which only continue an
// open conversation, ever take its messages.
func (c *Conversations) answerCSAT(ctx context.Context, tx *sql.Tx, in *inbound, res *conversations.InboundResult, ev *conversations.Event) (bool, error) {
	score, ok := conversations.CSATScore(in.m)
	if !ok {
		return false, nil
	}
	var qid string
	var current int
	err := tx.QueryRowContext(ctx, `
		SELECT q.id, q.csat_score, q.state, q.assignee, q.query_type, q.channel
		FROM contacts k JOIN conversations q ON q.contact_id = k.id AND q.id = k.id || '-' || CAST(k.query_seq AS TEXT)
		WHERE k.id = $1 AND q.state = 'closed' AND q.csat_requested_at > 0
			AND q.csat_requested_at <= $3 AND q.csat_until >= $2`, in.cid, in.at, in.at+csatSlackMS).Scan(
		&qid, &current, &ev.State, &ev.Assignee, &ev.QueryType, &ev.Channel)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look for a survey: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET `+c.continueSetSQL()+` WHERE id = $1`,
		qid, in.nowMS, in.at, in.order); err != nil {
		return false, fmt.Errorf("add the survey's answer: %w", err)
	}
	recorded := false
	if current == 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET csat_score = $2, csat_at = $3, csat_message = $4 WHERE id = $1`,
			qid, score, in.nowMS, in.m.ID); err != nil {
			return false, fmt.Errorf("store the survey's answer: %w", err)
		}
		recorded = true
	} else {
		score = current
	}
	res.QueryID, ev.QueryID = qid, qid
	res.CSAT = &conversations.CSATAnswer{QueryID: qid, Score: score, Recorded: recorded}
	return true, nil
}

// markAnswerRouted marks a survey's answer as routed once inserted: no
// routing decision will ever consume it, and its redelivery must not be
// routed either.
func markAnswerRouted(ctx context.Context, tx *sql.Tx, in *inbound) error {
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET routed = TRUE WHERE contact_id = $1 AND id = $2`, in.cid, in.m.ID); err != nil {
		return fmt.Errorf("mark the survey's answer routed: %w", err)
	}
	return nil
}

// duplicateCSAT fills res.CSAT for a redelivered message that stored its
// conversation's rating, so the service queues its thanks if an earlier
// attempt did not.
func duplicateCSAT(ctx context.Context, tx *sql.Tx, in *inbound, res *conversations.InboundResult) error {
	var score int
	err := tx.QueryRowContext(ctx, `SELECT csat_score FROM conversations WHERE id = $1 AND csat_message = $2`,
		res.QueryID, in.m.ID).Scan(&score)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look for a survey's answer: %w", err)
	}
	res.CSAT = &conversations.CSATAnswer{QueryID: res.QueryID, Score: score, Recorded: true}
	return nil
}
