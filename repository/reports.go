package repository

import (
	"context"
	"fmt"
	"strings"

	"switchboard/reports"
)

// Reports reads the conversations of reports.
type Reports struct {
	d *DB
}

var _ reports.Source = (*Reports)(nil)

// Reports returns the reports' reader of d.
func (d *DB) Reports() *Reports { return &Reports{d: d} }

// reportQuery is ReportRows' statement for f and its arguments: one
// statement for both engines, a range of conversations_opened
// (created_at, id), each row checked against the filter. SQLite reads the
// range in the index's order; PostgreSQL reads it in order or, for a
// range it finds small, as a bitmap that it sorts (in work_mem, or its
// temporary files for a big one: the server's memory, never the
// process's). A 30-day range of a busy team is tens of thousands of rows
// (BENCHMARKS.md, reports).
//
// On SQLite the statement names the index (INDEXED BY): without
// statistics (Switchboard never runs ANALYZE there) its planner prefers
// an equality of another index's first column, such as query_type's,
// over the range, and read a type's whole history to sort it (190 ms
// instead of 65 ms for a month of 300,000 a year, BENCHMARKS.md).
func reportQuery(d Dialect, f reports.Filter) (string, []any) {
	var a args
	conds := []string{"created_at >= " + a.add(ms(f.From)), "created_at < " + a.add(ms(f.To))}
	eq := func(col, v string) {
		if v != "" {
			conds = append(conds, col+" = "+a.add(v))
		}
	}
	eq("channel", f.Channel)
	eq("query_type", f.QueryType)
	eq("handled_by", f.Operator)
	eq("resolution", f.Resolution)
	if f.Group != "" {
		conds = append(conds, "handled_by IN (SELECT account_id FROM agent_group_members WHERE group_id = "+a.add(f.Group)+")")
	}
	if f.OutOfHours != nil {
		conds = append(conds, "opened_out_of_hours = "+a.add(*f.OutOfHours))
	}
	if f.Tag != "" {
		// A probe of conversation_tags' (conversation_id, tag) index per
		// conversation of the range, which the opening order walks.
		conds = append(conds, "EXISTS (SELECT 1 FROM conversation_tags t WHERE t.conversation_id = conversations.id AND t.tag = "+a.add(f.Tag)+")")
	}
	from := "conversations"
	if d == SQLite {
		from += " INDEXED BY conversations_opened"
	}
	return `SELECT id, created_at, closed_at, channel, query_type, handled_by, resolution, first_response_at,
			reopened, opened_out_of_hours, csat_requested_at > 0, csat_score
		FROM ` + from + ` WHERE ` + strings.Join(conds, " AND ") + `
		ORDER BY created_at, id`, a
}

// ReportRows calls fn with each conversation f selects, in opening
// order, as the database's rows are read: nothing is gathered, so an
// export of a year costs the memory of one row.
func (r *Reports) ReportRows(ctx context.Context, f reports.Filter, fn func(*reports.Row) error) error {
	query, a := reportQuery(r.d.dialect, f)
	rows, err := r.d.db.QueryContext(ctx, query, a...)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer rows.Close()
	var row reports.Row
	var opened, closed, first int64
	for rows.Next() {
		if err := rows.Scan(&row.ID, &opened, &closed, &row.Channel, &row.QueryType, &row.Assignee, &row.Resolution,
			&first, &row.Reopened, &row.OutOfHours, &row.CSATRequested, &row.CSATScore); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		row.OpenedAt, row.ClosedAt, row.FirstResponseAt = fromMS(opened), fromMS(closed), fromMS(first)
		if err := fn(&row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
