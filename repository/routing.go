package repository

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"switchboard/conversations"
	"switchboard/routing"
)

// RoutingState reads a conversation's routing state and what is needed to
// change it. A conversation never routed has a zero Query but for its ID
// and Channel: State "" tells routing it is new.
func (c *Conversations) RoutingState(ctx context.Context, queryID string) (*conversations.RoutingState, error) {
	st := &conversations.RoutingState{}
	var raw, channel string
	var outbound, assignedOutbound, lastIn int64
	err := c.d.db.QueryRowContext(ctx, `SELECT routing, version, outbound_count, assigned_outbound, last_inbound_at,
			contact_id, channel, effects
		FROM conversations WHERE id = $1`, queryID).Scan(
		&raw, &st.Version, &outbound, &assignedOutbound, &lastIn, &st.ContactID, &channel, &st.Effects)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("routing state: conversation %s: %w", queryID, conversations.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read routing state of %s: %w", queryID, err)
	}
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &st.Query); err != nil {
			return nil, fmt.Errorf("decode routing state of %s: %w", queryID, err)
		}
	}
	st.Query.ID = queryID
	if st.Query.Channel == "" {
		st.Query.Channel = channel
	}
	st.LastInboundAt = fromMS(lastIn)
	st.AnsweredSinceAssignment = outbound > assignedOutbound
	return st, nil
}

// ApplyDecision stores a routing decision in one transaction, if the
// conversation is still at d.ExpectVersion (else ErrConflict) and a new
// assignee has room (else ErrAtCapacity), with its effects and the
// inbound message's routed mark. The event is nil when neither state nor
// assignee changed.
func (c *Conversations) ApplyDecision(ctx context.Context, d conversations.Decision) (*conversations.Event, error) {
	q := d.Query
	raw, err := json.Marshal(q)
	if err != nil {
		return nil, fmt.Errorf("apply routing decision: encode: %w", err)
	}
	now := ms(d.Now)
	// A decision that starts the targets sets them unless they started.
	var slaStart struct{ StartedAt, FirstResponseDue, ResolutionDue int64 }
	if d.SLA != nil {
		slaStart.StartedAt, slaStart.FirstResponseDue, slaStart.ResolutionDue = ms(d.SLA.StartedAt), ms(d.SLA.FirstResponseDue), ms(d.SLA.ResolutionDue)
	}
	var ev *conversations.Event
	err = c.d.tx(ctx, func(tx *sql.Tx) error {
		ev = nil
		var cur struct {
			state, assignee, queryType, channel, contactID string
			routed                                         bool
			version, poolSince                             int64
		}
		err := tx.QueryRowContext(ctx, `SELECT state, routed, assignee, query_type, pool_since, channel, contact_id, version
			FROM conversations WHERE id = $1`, q.ID).Scan(
			&cur.state, &cur.routed, &cur.assignee, &cur.queryType, &cur.poolSince, &cur.channel, &cur.contactID, &cur.version)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("conversation %s: %w", q.ID, conversations.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if cur.version != d.ExpectVersion {
			return fmt.Errorf("conversation %s at version %d, decided at %d: %w", q.ID, cur.version, d.ExpectVersion, conversations.ErrConflict)
		}
		// Before routing stored anything the state is routing's "" (new),
		// whatever the column shows lists.
		oldState := ""
		if cur.routed {
			oldState = cur.state
		}
		newAssignee := q.Assignee != "" && q.Assignee != cur.assignee
		if newAssignee {
			// The operator's row is locked until commit, so every other
			// assignment to them waits here and then counts this one:
			// two workers cannot both fill the last seat.
			if _, err := tx.ExecContext(ctx, `INSERT INTO operator_load (operator, last_assigned_at) VALUES ($1, $2)
				ON CONFLICT (operator) DO UPDATE SET last_assigned_at =
					CASE WHEN operator_load.last_assigned_at < excluded.last_assigned_at
					THEN excluded.last_assigned_at ELSE operator_load.last_assigned_at END`, q.Assignee, now); err != nil {
				return fmt.Errorf("lock operator %s: %w", q.Assignee, err)
			}
			var load int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM conversations WHERE assignee = $1 AND state = $2`,
				q.Assignee, routing.StateAssigned).Scan(&load); err != nil {
				return fmt.Errorf("count operator %s's conversations: %w", q.Assignee, err)
			}
			if load >= d.Capacity {
				return fmt.Errorf("operator %s has %d of %d: %w", q.Assignee, load, d.Capacity, conversations.ErrAtCapacity)
			}
		}
		// A pending conversation with a type waits in that type's pool
		// from when it entered it; staying there keeps its place.
		var poolSince int64
		if q.State == routing.StatePending && q.Type != "" {
			poolSince = now
			if oldState == routing.StatePending && cur.queryType == q.Type && cur.poolSince != 0 {
				poolSince = cur.poolSince
			}
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE conversations SET
				version = version + 1, routed = TRUE, routing = $3,
				state = $4, query_type = $5, assignee = $6, resolution = $7,
				pool_since = $8, effects = $9,
				updated_at = CASE WHEN updated_at < $10 THEN $10 ELSE updated_at END,
				closed_at = CASE WHEN $4 <> 'closed' THEN 0 WHEN state = 'closed' AND closed_at <> 0 THEN closed_at ELSE $10 END,
				closed_by = CASE WHEN $4 <> 'closed' THEN '' WHEN state = 'closed' THEN closed_by ELSE assignee END,
				assigned_at = CASE WHEN $11 THEN $10 ELSE assigned_at END,
				assigned_outbound = CASE WHEN $11 THEN outbound_count ELSE assigned_outbound END,
				handled_by = CASE WHEN $6 <> '' THEN $6 ELSE handled_by END,
				opened_out_of_hours = $12,
				first_response_due_at = CASE WHEN sla_started_at = 0 THEN $14 ELSE first_response_due_at END,
				resolution_due_at = CASE WHEN sla_started_at = 0 THEN $15 ELSE resolution_due_at END,
				sla_started_at = CASE WHEN sla_started_at = 0 THEN $13 ELSE sla_started_at END
			WHERE id = $1 AND version = $2`,
			q.ID, d.ExpectVersion, string(raw), q.State, q.Type, q.Assignee, q.Resolution, poolSince, d.Effects, now, newAssignee,
			q.OpenedOutOfHours, slaStart.StartedAt, slaStart.FirstResponseDue, slaStart.ResolutionDue)
		if isUniqueViolation(err) {
			return fmt.Errorf("conversation %s: its contact has another open conversation: %w", q.ID, conversations.ErrConflict)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("conversation %s changed meanwhile: %w", q.ID, conversations.ErrConflict)
		}
		if d.Inbound != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE messages SET routed = TRUE WHERE contact_id = $1 AND id = $2 AND direction = 'in'`,
				cur.contactID, d.Inbound); err != nil {
				return fmt.Errorf("mark message routed: %w", err)
			}
		}
		// A type chosen while the conversation stays pending (the
		// customer answered the menu) puts it in a pool: announced too.
		if oldState != q.State || cur.assignee != q.Assignee || cur.queryType != q.Type {
			ev = &conversations.Event{Type: conversations.EventState, QueryID: q.ID, State: q.State, Assignee: q.Assignee,
				PreviousAssignee: cur.assignee, PreviousState: oldState, QueryType: q.Type, Channel: cur.channel}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("apply routing decision: %w", err)
	}
	return ev, nil
}

// ClearEffects drops a conversation's pending effects once carried out,
// if they are still the ones carried out: newer ones stored meanwhile stay.
func (c *Conversations) ClearEffects(ctx context.Context, queryID, effects string) error {
	if _, err := c.d.db.ExecContext(ctx, `UPDATE conversations SET effects = '' WHERE id = $1 AND effects = $2`,
		queryID, effects); err != nil {
		return fmt.Errorf("clear pending effects of %s: %w", queryID, err)
	}
	return nil
}

// inList returns placeholders for vals, added to a, separated by commas.
func inList(a *args, vals []string) string {
	ps := make([]string, len(vals))
	for i, v := range vals {
		ps[i] = a.add(v)
	}
	return strings.Join(ps, ", ")
}

// Loads returns the given operators' bookkeeping: how many conversations
// are assigned to each now and when each last got one. Operators never
// assigned anything are there with zeros.
func (c *Conversations) Loads(ctx context.Context, operators []string) (map[string]conversations.OperatorLoad, error) {
	out := make(map[string]conversations.OperatorLoad, len(operators))
	if len(operators) == 0 {
		return out, nil
	}
	for _, op := range operators {
		out[op] = conversations.OperatorLoad{}
	}
	a := args{routing.StateAssigned}
	in := inList(&a, operators)
	rows, err := c.d.db.QueryContext(ctx, `
		SELECT o.operator, o.last_assigned_at, 0 FROM operator_load o WHERE o.operator IN (`+in+`)
		UNION ALL
		SELECT assignee, 0, count(*) FROM conversations WHERE state = $1 AND assignee IN (`+in+`) GROUP BY assignee`, a...)
	if err != nil {
		return nil, fmt.Errorf("read operator loads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var op string
		var last int64
		var n int
		if err := rows.Scan(&op, &last, &n); err != nil {
			return nil, fmt.Errorf("read operator loads: %w", err)
		}
		l := out[op]
		if last != 0 {
			l.LastAssigned = fromMS(last)
		}
		l.Assigned += n
		out[op] = l
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read operator loads: %w", err)
	}
	return out, nil
}

// Pool returns up to n pending conversation ids of a type, longest
// waiting first.
func (c *Conversations) Pool(ctx context.Context, queryType string, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	// state is spelled out, not bound, for both planners to see that the
	// partial index conversations_pool applies.
	ids, err := c.ids(ctx, `SELECT id FROM conversations WHERE state = 'pending' AND query_type = $1
		ORDER BY pool_since, id LIMIT $2`, queryType, n)
	if err != nil {
		return nil, fmt.Errorf("read pool %s: %w", queryType, err)
	}
	return ids, nil
}

// PoolOldest returns when the longest-waiting conversation of a type
// began waiting; false when the pool is empty.
func (c *Conversations) PoolOldest(ctx context.Context, queryType string) (time.Time, bool, error) {
	var since int64
	err := c.d.db.QueryRowContext(ctx, `SELECT pool_since FROM conversations WHERE state = 'pending' AND query_type = $1
		ORDER BY pool_since, id LIMIT 1`, queryType).Scan(&since)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read pool %s: %w", queryType, err)
	}
	return fromMS(since), true, nil
}

// QueryCounts counts routed conversations by state.
func (c *Conversations) QueryCounts(ctx context.Context) (map[string]int, error) {
	rows, err := c.d.db.QueryContext(ctx, `SELECT state, count(*) FROM conversations WHERE state IN ('pending', 'assigned', 'inactive') AND routed = TRUE GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count conversations: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("count conversations: %w", err)
		}
		out[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count conversations: %w", err)
	}
	return out, nil
}

// AssignedTo returns the ids of the conversations assigned to operator.
func (c *Conversations) AssignedTo(ctx context.Context, operator string) ([]string, error) {
	ids, err := c.ids(ctx, `SELECT id FROM conversations WHERE assignee = $1 AND state = $2 ORDER BY id`,
		operator, routing.StateAssigned)
	if err != nil {
		return nil, fmt.Errorf("list conversations assigned to %s: %w", operator, err)
	}
	return ids, nil
}

// Assignees returns everyone some conversation is assigned to now: a scan
// of the assigned conversations only (conversations_state), which are
// the ones in flight.
func (c *Conversations) Assignees(ctx context.Context) ([]string, error) {
	ids, err := c.ids(ctx, `SELECT DISTINCT assignee FROM conversations WHERE state = $1 AND assignee <> '' ORDER BY assignee`,
		routing.StateAssigned)
	if err != nil {
		return nil, fmt.Errorf("list assignees: %w", err)
	}
	return ids, nil
}

// ids runs a query of one text column and returns its values.
func (c *Conversations) ids(ctx context.Context, query string, a ...any) ([]string, error) {
	rows, err := c.d.db.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
