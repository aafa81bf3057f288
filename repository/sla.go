package repository

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"switchboard/conversations"
)

// slaColumns are the targets' columns of a conversation, in the order
// scanSLA reads them.
const slaColumns = "sla_started_at, first_response_due_at, resolution_due_at, first_response_breached_at, resolution_breached_at, first_response_at"

// slaDest returns the scan destinations of slaColumns and a function
// that fills s from them once scanned.
func slaDest(s *conversations.SLA) ([]any, func()) {
	var v [6]int64
	return []any{&v[0], &v[1], &v[2], &v[3], &v[4], &v[5]}, func() {
		s.StartedAt, s.FirstResponseDue, s.ResolutionDue = fromMS(v[0]), fromMS(v[1]), fromMS(v[2])
		s.FirstResponseBreachedAt, s.ResolutionBreachedAt, s.FirstResponseAt = fromMS(v[3]), fromMS(v[4]), fromMS(v[5])
	}
}

// slaKindColumns are a target kind's due and breached columns, and the
// condition under which it is missed, given the due time as $3: the rule
// of conversations.SLAState.Missed.
func slaKindColumns(kind string) (due, breached, missed string, err error) {
	switch kind {
	case conversations.SLAFirstResponse:
		return "first_response_due_at", "first_response_breached_at",
			"(first_response_at = 0 OR first_response_at > $3) AND (first_response_at <> 0 OR closed_at = 0 OR closed_at > $3)", nil
	case conversations.SLAResolution:
		return "resolution_due_at", "resolution_breached_at", "(closed_at = 0 OR closed_at > $3)", nil
	}
	return "", "", "", fmt.Errorf("unknown target kind %q", kind)
}

// SLAState reads a conversation's targets and routing fields.
func (c *Conversations) SLAState(ctx context.Context, queryID string) (*conversations.SLAState, error) {
	st := &conversations.SLAState{ID: queryID}
	dest, fill := slaDest(&st.SLA)
	var opened, assigned, closed int64
	err := c.d.db.QueryRowContext(ctx, `SELECT `+slaColumns+`, created_at, state, query_type, assignee, assigned_at, closed_at
		FROM conversations WHERE id = $1`, queryID).Scan(append(dest, &opened, &st.State, &st.QueryType, &st.Assignee, &assigned, &closed)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("targets: conversation %s: %w", queryID, conversations.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read the targets of %s: %w", queryID, err)
	}
	fill()
	st.OpenedAt, st.AssignedAt, st.ClosedAt = fromMS(opened), fromMS(assigned), fromMS(closed)
	return st, nil
}

// SetSLADue moves a target's due time, unless it was recorded missed.
func (c *Conversations) SetSLADue(ctx context.Context, queryID, kind string, due time.Time) error {
	dueCol, breachedCol, _, err := slaKindColumns(kind)
	if err != nil {
		return fmt.Errorf("move a target of %s: %w", queryID, err)
	}
	if _, err := c.d.db.ExecContext(ctx, `UPDATE conversations SET `+dueCol+` = $2 WHERE id = $1 AND `+breachedCol+` = 0`,
		queryID, ms(due)); err != nil {
		return fmt.Errorf("move the %s target of %s: %w", kind, queryID, err)
	}
	return nil
}

// RecordSLABreach records a missed target, if still missed and not
// recorded, and returns its event; nil when nothing was recorded. One
// conditional UPDATE is the transaction: two timers running at once
// record it once.
func (c *Conversations) RecordSLABreach(ctx context.Context, queryID, kind string, due, now time.Time) (*conversations.Event, error) {
	dueCol, breachedCol, missed, err := slaKindColumns(kind)
	if err != nil {
		return nil, fmt.Errorf("record a missed target of %s: %w", queryID, err)
	}
	ev := &conversations.Event{Type: conversations.EventSLA, QueryID: queryID, Kind: kind}
	err = c.d.db.QueryRowContext(ctx, `UPDATE conversations SET `+breachedCol+` = $2, `+dueCol+` = $3
		WHERE id = $1 AND sla_started_at <> 0 AND `+breachedCol+` = 0 AND `+missed+`
		RETURNING state, assignee, query_type, channel`, queryID, ms(now), ms(due)).Scan(&ev.State, &ev.Assignee, &ev.QueryType, &ev.Channel)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("record the missed %s target of %s: %w", kind, queryID, err)
	}
	return ev, nil
}
