package repository

import (
	"context"
	"fmt"
	"strings"

	"switchboard/auth"
)

// Audit stores the audit log in the audit_log table; it is the
// auth.AuditRepository. Nothing prunes it yet: retention is still to be
// decided.
type Audit struct{ db *DB }

var _ auth.AuditRepository = (*Audit)(nil)

// Audit returns the audit log's storage.
func (d *DB) Audit() *Audit { return &Audit{db: d} }

// Append stores an entry under id.
func (a *Audit) Append(ctx context.Context, id string, e auth.Entry) error {
	_, err := a.db.db.ExecContext(ctx, `INSERT INTO audit_log (id, at, actor, action, outcome, target, ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, e.At.UnixMilli(), e.Actor, e.Action, e.Outcome, e.Target, e.IP)
	if err != nil {
		return fmt.Errorf("append audit entry: %w", err)
	}
	return nil
}

// Page returns the entries q selects, newest first, read backwards along
// the (at, id) index; the cursor's time (its id's leading millisecond)
// keeps a later page on the index too.
func (a *Audit) Page(ctx context.Context, q auth.AuditQuery) ([]auth.Entry, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.Before != "" {
		at, ok := auth.AuditIDTime(q.Before)
		if !ok {
			return nil, fmt.Errorf("read audit log: %q is not an entry id", q.Before)
		}
		ms := arg(at.UnixMilli())
		where = append(where, fmt.Sprintf("(at < %s OR (at = %s AND id < %s))", ms, ms, arg(q.Before)))
	}
	for col, v := range map[string]string{"action": q.Action, "actor": q.Actor, "target": q.Target} {
		if v != "" {
			where = append(where, col+" = "+arg(v))
		}
	}
	if !q.Since.IsZero() {
		where = append(where, "at >= "+arg(q.Since.UnixMilli()))
	}
	if !q.Until.IsZero() {
		where = append(where, "at < "+arg(q.Until.UnixMilli()))
	}
	query := `SELECT id, at, actor, action, outcome, target, ip FROM audit_log`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY at DESC, id DESC LIMIT " + arg(q.Limit)
	rows, err := a.db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	out := []auth.Entry{}
	for rows.Next() {
		var e auth.Entry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Outcome, &e.Target, &e.IP); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		e.At = accountTime(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}
