package repository

import (
	"context"
	"database/sql"
	"fmt"

	"switchboard/accounts"
)

// bumpStaff counts one more change to what routing reads of the staff
// (accounts, groups, memberships, custom roles). It runs in the
// transaction of the change, so a roster read at the new version sees it.
func bumpStaff(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `UPDATE staff_version SET version = version + 1 WHERE id = 1`); err != nil {
		return fmt.Errorf("count the staff change: %w", err)
	}
	return nil
}

// execStaff runs one statement that changes the staff, and counts the
// change, in one transaction.
func (d *DB) execStaff(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := d.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if res, err = tx.ExecContext(ctx, query, args...); err != nil {
			return err
		}
		return bumpStaff(ctx, tx)
	})
	return res, err
}

// StaffVersion returns the count of changes to the staff so far: a roster
// read at this version is current.
func (a *Accounts) StaffVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := a.db.db.QueryRowContext(ctx, `SELECT version FROM staff_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read the staff version: %w", err)
	}
	return v, nil
}

// Staff returns every account with the staff version it was read at, in
// one statement, so the two agree.
func (a *Accounts) Staff(ctx context.Context) (int64, []*accounts.User, error) {
	var version int64
	users, err := a.list(ctx, `SELECT (SELECT version FROM staff_version WHERE id = 1), `+accountColumns+` FROM accounts`, &version)
	if err != nil {
		return 0, nil, fmt.Errorf("read the staff: %w", err)
	}
	return version, users, nil
}
