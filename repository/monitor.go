package repository

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"switchboard/conversations"
	"switchboard/routing"
)

// Closed returns the conversations that closed at or after since while
// assigned to one of operators: a range of conversations_closed_by per
// operator.
func (c *Conversations) Closed(ctx context.Context, operators []string, since time.Time) ([]conversations.ClosedQuery, error) {
	out := []conversations.ClosedQuery{}
	if len(operators) == 0 {
		return out, nil
	}
	q, a := closedQuery(operators, since)
	rows, err := c.d.db.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("read closed conversations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var q conversations.ClosedQuery
		var opened, first, closed int64
		if err := rows.Scan(&q.ID, &q.Operator, &opened, &first, &closed); err != nil {
			return nil, fmt.Errorf("read closed conversations: %w", err)
		}
		q.OpenedAt, q.FirstResponseAt, q.ClosedAt = fromMS(opened), fromMS(first), fromMS(closed)
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read closed conversations: %w", err)
	}
	return out, nil
}

// closedQuery is Closed's statement and arguments.
func closedQuery(operators []string, since time.Time) (string, []any) {
	a := args{ms(since)}
	in := inList(&a, operators)
	return `SELECT id, closed_by, created_at, first_response_at, closed_at FROM conversations
		WHERE state = 'closed' AND closed_by IN (` + in + `) AND closed_at >= $1`, a
}

// waitingQuery is Waiting's statement and arguments.
func waitingQuery(operators []string) (string, []any) {
	a := args{routing.StateAssigned}
	in := inList(&a, operators)
	return `SELECT c.id, c.assignee, (SELECT MIN(m.at) FROM messages m
			WHERE m.conversation_id = c.id AND m.direction = 'in' AND m.at > (
				SELECT COALESCE(MAX(o.at), 0) FROM messages o WHERE o.conversation_id = c.id AND o.direction = 'out' AND o.author <> ''))
		FROM conversations c WHERE c.state = $1 AND c.assignee IN (` + in + `)`, a
}

// poolsQuery is Pools' statement: one grouped read of the partial index
// conversations_pool, which holds only pending conversations.
const poolsQuery = `SELECT query_type, COUNT(*), MIN(pool_since) FROM conversations
	WHERE state = 'pending' AND query_type <> '' GROUP BY query_type`

// Waiting returns, of the conversations assigned to operators
// (conversations_assignee), those whose customer waits for an answer,
// and since when: the first inbound message after the newest one a
// person sent (an automatic message, with no author, answers nobody: it is no
// first response either), both found in the conversation's history
// (messages_history). An operator holds at most their capacity, so this
// reads a few histories.
func (c *Conversations) Waiting(ctx context.Context, operators []string) ([]conversations.WaitingQuery, error) {
	out := []conversations.WaitingQuery{}
	if len(operators) == 0 {
		return out, nil
	}
	q, a := waitingQuery(operators)
	rows, err := c.d.db.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("read waiting conversations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var q conversations.WaitingQuery
		var since sql.NullInt64 // none: the customer wrote nothing since the last answer
		if err := rows.Scan(&q.ID, &q.Operator, &since); err != nil {
			return nil, fmt.Errorf("read waiting conversations: %w", err)
		}
		if !since.Valid {
			continue
		}
		q.Since = fromMS(since.Int64)
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read waiting conversations: %w", err)
	}
	return out, nil
}

// Pools returns the size and oldest entry of each non-empty pool, from
// the pool index (conversations_pool holds only pending conversations).
func (c *Conversations) Pools(ctx context.Context) (map[string]conversations.PoolStats, error) {
	rows, err := c.d.db.QueryContext(ctx, poolsQuery)
	if err != nil {
		return nil, fmt.Errorf("read pools: %w", err)
	}
	defer rows.Close()
	out := map[string]conversations.PoolStats{}
	for rows.Next() {
		var typ string
		var n int
		var oldest sql.NullInt64
		if err := rows.Scan(&typ, &n, &oldest); err != nil {
			return nil, fmt.Errorf("read pools: %w", err)
		}
		out[typ] = conversations.PoolStats{Size: n, Oldest: fromMS(oldest.Int64)}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read pools: %w", err)
	}
	return out, nil
}

// missedQuery is TargetsMissed's statement: one range of each partial
// index of misses (conversations_first_response_missed,
// conversations_resolution_missed, whose condition it repeats so either
// engine takes them), grouped. A target is recorded missed once, so each
// conversation counts at most once per kind. handled_by is the operator
// who holds the conversation or held it last (closing clears assignee,
// not handled_by); the miss does not record who held it then.
const missedQuery = `SELECT handled_by, query_type, COUNT(*) FROM (
		SELECT handled_by, query_type FROM conversations
			WHERE first_response_breached_at <> 0 AND first_response_breached_at >= $1
		UNION ALL
		SELECT handled_by, query_type FROM conversations
			WHERE resolution_breached_at <> 0 AND resolution_breached_at >= $1
	) missed GROUP BY handled_by, query_type`

// ratedQuery is Rated's statement: a range of the partial index
// conversations_rated, grouped by who closed the conversation.
const ratedQuery = `SELECT closed_by, query_type, COUNT(*), SUM(csat_score) FROM conversations
	WHERE csat_at <> 0 AND csat_at >= $1 AND csat_score > 0 GROUP BY closed_by, query_type`

// TargetsMissed counts the targets recorded missed at or after since, per
// operator who holds or last held the conversation ("" for nobody) and
// query type.
func (c *Conversations) TargetsMissed(ctx context.Context, since time.Time) ([]conversations.MissedCount, error) {
	return readToday(ctx, c.d.db, "missed targets", missedQuery, since, func(rows *sql.Rows, m *conversations.MissedCount) error {
		return rows.Scan(&m.Operator, &m.QueryType, &m.Count)
	})
}

// Rated sums the survey answers stored at or after since, per operator
// who closed the conversation ("" when it closed from a pool) and query
// type.
func (c *Conversations) Rated(ctx context.Context, since time.Time) ([]conversations.RatedSum, error) {
	return readToday(ctx, c.d.db, "survey answers", ratedQuery, since, func(rows *sql.Rows, r *conversations.RatedSum) error {
		return rows.Scan(&r.Operator, &r.QueryType, &r.Answered, &r.Sum)
	})
}

// readToday runs one of the monitoring table's grouped statements of
// what was recorded since and reads its rows with scan; what names them
// in an error.
func readToday[T any](ctx context.Context, db *sql.DB, what, query string, since time.Time, scan func(*sql.Rows, *T) error) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, ms(since))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return nil, fmt.Errorf("read %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return out, nil
}
