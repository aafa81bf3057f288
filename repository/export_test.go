package repository

import (
	"context"
	"time"

	"switchboard/channels"
	"switchboard/conversations"
	"switchboard/reports"
)

// ListQuery exposes List's statement, for tests that EXPLAIN it.
func ListQuery(f conversations.Filter) (string, []any) {
	q, a, _ := listQuery(f, false)
	return q, a
}

// ContactTerms exposes the search terms of a contact, for tests that
// seed contacts in bulk.
var ContactTerms = contactTerms

// ListQueryWalk is List's statement for a search commonSearch finds
// common.
func ListQueryWalk(f conversations.Filter) (string, []any) {
	q, a, _ := listQuery(f, true)
	return q, a
}

// MigrateTo applies the migrations up to version v only, for tests of an
// upgrade from a database an older binary left.
func (d *DB) MigrateTo(ctx context.Context, v int64) error {
	p, err := d.provider(nil)
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, v)
	return err
}

// ApplyInboundGroup applies ms (bodies[i] for ms[i]) as one group commit
// would, then each message its group did not apply as ApplyInbound would
// after it. applied says which ones the group itself applied. PostgreSQL
// only.
func (c *Conversations) ApplyInboundGroup(ctx context.Context, ms []*channels.Inbound, bodies [][]byte, now time.Time) (
	res []conversations.InboundResult, applied []bool, errs []error) {
	ins := make([]*inbound, len(ms))
	for i, m := range ms {
		ins[i] = newInbound(m, bodies[i], now)
	}
	outs := c.applyGroup(ctx, ins)
	res, applied, errs = make([]conversations.InboundResult, len(ms)), make([]bool, len(ms)), make([]error, len(ms))
	for i, in := range ins {
		applied[i] = outs[i].outcome == groupApplied
		res[i], errs[i] = c.afterGroup(ctx, in, outs[i])
	}
	return res, applied, errs
}

// ApplyInboundAlone applies m as ApplyInbound does when no group takes it
// (PostgreSQL only): the reference the group's results must equal.
func (c *Conversations) ApplyInboundAlone(ctx context.Context, m *channels.Inbound, body []byte, now time.Time) (conversations.InboundResult, error) {
	return c.afterGroup(ctx, newInbound(m, body, now), groupResult{})
}

// CountQuery exposes Count's statement, for tests that EXPLAIN it.
func CountQuery(f conversations.Filter) (string, []any) { return countQuery(f) }

// ClosedQuery, WaitingQuery and PoolsQuery expose the monitoring table's
// statements, for tests that EXPLAIN them.
func ClosedQuery(operators []string, since time.Time) (string, []any) {
	return closedQuery(operators, since)
}

// WaitingQuery: see ClosedQuery.
func WaitingQuery(operators []string) (string, []any) { return waitingQuery(operators) }

// PoolsQuery: see ClosedQuery.
const PoolsQuery = poolsQuery

// MissedQuery: see ClosedQuery.
const MissedQuery = missedQuery

// RatedQuery: see ClosedQuery.
const RatedQuery = ratedQuery

// MigrationCount is how many migrations the binary carries (versions may
// skip numbers: one kept for work landing on another branch).
func (d *DB) MigrationCount() (int, error) {
	p, err := d.provider(nil)
	if err != nil {
		return 0, err
	}
	return len(p.ListSources()), nil
}

// ReportQuery exposes ReportRows' statement on d, for tests that EXPLAIN it.
func (d *DB) ReportQuery(f reports.Filter) (string, []any) { return reportQuery(d.dialect, f) }
