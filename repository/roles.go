package repository

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"switchboard/auth"
)

// Roles stores the custom roles in the roles table (every write counts as
// a staff change: a role decides whether its accounts may be assigned); it is the
// auth.RoleRepository. Every write increments a role's revision, and the
// conditional writes compare it in their WHERE clause, so of two changes
// decided on one revision exactly one lands.
type Roles struct{ db *DB }

var _ auth.RoleRepository = (*Roles)(nil)

// Roles returns the custom roles' storage.
func (d *DB) Roles() *Roles { return &Roles{db: d} }

// Get returns a custom role's permissions and revision.
func (r *Roles) Get(ctx context.Context, name string) ([]auth.Permission, int64, error) {
	var raw string
	var rev int64
	err := r.db.db.QueryRowContext(ctx, `SELECT permissions, revision FROM roles WHERE name = $1`, name).Scan(&raw, &rev)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, auth.ErrUnknownRole
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read role: %w", err)
	}
	perms, err := decodePermissions(raw)
	if err != nil {
		return nil, 0, fmt.Errorf("role %s: %w", name, err)
	}
	return perms, rev, nil
}

// List returns every custom role's permissions by name.
func (r *Roles) List(ctx context.Context) (map[string][]auth.Permission, error) {
	rows, err := r.db.db.QueryContext(ctx, `SELECT name, permissions FROM roles`)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	defer rows.Close()
	out := map[string][]auth.Permission{}
	for rows.Next() {
		var name, raw string
		if err := rows.Scan(&name, &raw); err != nil {
			return nil, fmt.Errorf("list roles: %w", err)
		}
		perms, err := decodePermissions(raw)
		if err != nil {
			return nil, fmt.Errorf("role %s: %w", name, err)
		}
		out[name] = perms
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	return out, nil
}

// Put creates a role or replaces its permissions, in one upsert.
func (r *Roles) Put(ctx context.Context, name string, perms []auth.Permission) error {
	raw, err := encodeJSONList(perms)
	if err != nil {
		return err
	}
	_, err = r.db.execStaff(ctx, `INSERT INTO roles (name, permissions, revision) VALUES ($1, $2, 1)
		ON CONFLICT (name) DO UPDATE SET permissions = excluded.permissions, revision = roles.revision + 1`, name, raw)
	if err != nil {
		return fmt.Errorf("store role: %w", err)
	}
	return nil
}

// Replace writes a role only if it is still at revision; revision 0
// creates it only if there is none (ON CONFLICT DO NOTHING: a role
// created meanwhile is left alone).
func (r *Roles) Replace(ctx context.Context, name string, revision int64, perms []auth.Permission) (bool, error) {
	raw, err := encodeJSONList(perms)
	if err != nil {
		return false, err
	}
	var res sql.Result
	if revision == 0 {
		res, err = r.db.execStaff(ctx, `INSERT INTO roles (name, permissions, revision) VALUES ($1, $2, 1)
			ON CONFLICT (name) DO NOTHING`, name, raw)
	} else {
		res, err = r.db.execStaff(ctx, `UPDATE roles SET permissions = $2, revision = revision + 1
			WHERE name = $1 AND revision = $3`, name, raw, revision)
	}
	if err != nil {
		return false, fmt.Errorf("store role: %w", err)
	}
	return changedOne(res, "store role")
}

// Delete removes a role, whatever its revision.
func (r *Roles) Delete(ctx context.Context, name string) (bool, error) {
	res, err := r.db.execStaff(ctx, `DELETE FROM roles WHERE name = $1`, name)
	if err != nil {
		return false, fmt.Errorf("delete role: %w", err)
	}
	return changedOne(res, "delete role")
}

// DeleteIf removes a role only if it is still at revision.
func (r *Roles) DeleteIf(ctx context.Context, name string, revision int64) (bool, error) {
	res, err := r.db.execStaff(ctx, `DELETE FROM roles WHERE name = $1 AND revision = $2`, name, revision)
	if err != nil {
		return false, fmt.Errorf("delete role: %w", err)
	}
	return changedOne(res, "delete role")
}

// changedOne reports whether a statement meant for one row touched it.
func changedOne(res sql.Result, what string) (bool, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return n > 0, nil
}

// decodePermissions reads a role's permissions column; never nil, so a
// role without permissions shows an empty list.
func decodePermissions(raw string) ([]auth.Permission, error) {
	perms := []auth.Permission{}
	if err := json.Unmarshal([]byte(raw), &perms); err != nil {
		return nil, fmt.Errorf("decode permissions %q: %w", raw, err)
	}
	if perms == nil {
		perms = []auth.Permission{}
	}
	return perms, nil
}
