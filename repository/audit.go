package repository

import (
	"context"
	"fmt"

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

// Recent returns up to n entries, newest first, read backwards along the
// (at, id) index.
func (a *Audit) Recent(ctx context.Context, n int) ([]auth.Entry, error) {
	rows, err := a.db.db.QueryContext(ctx, `SELECT at, actor, action, outcome, target, ip FROM audit_log
		ORDER BY at DESC, id DESC LIMIT $1`, n)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	out := []auth.Entry{}
	for rows.Next() {
		var e auth.Entry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.Outcome, &e.Target, &e.IP); err != nil {
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
