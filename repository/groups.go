package repository

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"switchboard/accounts"
)

// Groups stores agent groups in agent_groups and their members in
// agent_group_members; it is the accounts.GroupRepository. Every write
// counts a staff change in its transaction (see bumpStaff).
type Groups struct{ db *DB }

var _ accounts.GroupRepository = (*Groups)(nil)

// Groups returns the agent groups' storage.
func (d *DB) Groups() *Groups { return &Groups{db: d} }

// groupRows reads groups with their members: one row per membership (a
// NULL account for a group without members), a group's rows together.
const groupRows = `SELECT g.id, g.name, g.created_at, g.updated_at, m.account_id
	FROM agent_groups g LEFT JOIN agent_group_members m ON m.group_id = g.id`

// List returns every group with its members, in one statement (one
// snapshot).
func (r *Groups) List(ctx context.Context) ([]*accounts.Group, error) {
	groups, err := scanGroups(r.db.db.QueryContext(ctx, groupRows+` ORDER BY g.id, m.account_id`))
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return groups, nil
}

// Get returns the group with that id and its members.
func (r *Groups) Get(ctx context.Context, id string) (*accounts.Group, error) {
	return getGroup(ctx, r.db.db, id)
}

// querier is what getGroup reads through: the pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// getGroup reads one group and its members in one statement.
func getGroup(ctx context.Context, q querier, id string) (*accounts.Group, error) {
	groups, err := scanGroups(q.QueryContext(ctx, groupRows+` WHERE g.id = $1 ORDER BY m.account_id`, id))
	if err != nil {
		return nil, fmt.Errorf("read group %s: %w", id, err)
	}
	if len(groups) == 0 {
		return nil, accounts.ErrGroupNotFound
	}
	return groups[0], nil
}

// scanGroups reads groupRows' rows, ordered by group.
func scanGroups(rows *sql.Rows, err error) ([]*accounts.Group, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*accounts.Group
	for rows.Next() {
		var g accounts.Group
		var created, updated int64
		var member sql.NullString
		if err := rows.Scan(&g.ID, &g.Name, &created, &updated, &member); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].ID != g.ID {
			g.CreatedAt, g.UpdatedAt = accountTime(created), accountTime(updated)
			g.Members = []string{}
			out = append(out, &g)
		}
		if member.Valid {
			last := out[len(out)-1]
			last.Members = append(last.Members, member.String)
		}
	}
	return out, rows.Err()
}

// Insert stores a new group and its members in one transaction; the
// name's UNIQUE index refuses a second group with one name, however the
// writers race.
func (r *Groups) Insert(ctx context.Context, g *accounts.Group) error {
	return r.db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO agent_groups (id, name, created_at, updated_at) VALUES ($1, $2, $3, $4)`,
			g.ID, g.Name, g.CreatedAt.UnixMilli(), g.UpdatedAt.UnixMilli())
		if isGroupNameTaken(err) {
			return accounts.ErrGroupNameTaken
		}
		if isUniqueViolation(err) {
			return accounts.ErrGroupIDTaken // the primary key: the name's index is the other
		}
		if err != nil {
			return fmt.Errorf("insert group: %w", err)
		}
		if err := setMembers(ctx, tx, g.ID, g.Members); err != nil {
			return err
		}
		return bumpStaff(ctx, tx)
	})
}

// Update renames the group and/or replaces its members, as ch says, and
// returns it as the transaction leaves it. The row's UPDATE comes first,
// so on PostgreSQL it holds the group's row lock while the memberships
// change: two changes to one group apply one after the other.
func (r *Groups) Update(ctx context.Context, id string, ch accounts.GroupChange, at time.Time) (*accounts.Group, error) {
	var out *accounts.Group
	err := r.db.tx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if ch.Name != nil {
			res, err = tx.ExecContext(ctx, `UPDATE agent_groups SET name = $2, updated_at = $3 WHERE id = $1`, id, *ch.Name, at.UnixMilli())
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE agent_groups SET updated_at = $2 WHERE id = $1`, id, at.UnixMilli())
		}
		if isGroupNameTaken(err) {
			return accounts.ErrGroupNameTaken
		}
		if err != nil {
			return fmt.Errorf("update group: %w", err)
		}
		if err := affectedOne(res, accounts.ErrGroupNotFound, "update group"); err != nil {
			return err
		}
		if ch.Members != nil {
			if _, err := tx.ExecContext(ctx, `DELETE FROM agent_group_members WHERE group_id = $1`, id); err != nil {
				return fmt.Errorf("update group %s: members: %w", id, err)
			}
			if err := setMembers(ctx, tx, id, *ch.Members); err != nil {
				return err
			}
		}
		if err := bumpStaff(ctx, tx); err != nil {
			return err
		}
		out, err = getGroup(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// setMembers adds members to a group that has none, refusing an id no
// account has with an error wrapping accounts.ErrUnknownMember that names
// it. An account deleted between the check and the insert is refused by
// the foreign key, and named the same way.
func setMembers(ctx context.Context, tx *sql.Tx, group string, members []string) error {
	for _, m := range members {
		var ok int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE id = $1`, m).Scan(&ok)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w %q", accounts.ErrUnknownMember, m)
		}
		if err != nil {
			return fmt.Errorf("group %s: member %s: %w", group, m, err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO agent_group_members (group_id, account_id) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, group, m)
		if isForeignKeyViolation(err) {
			return fmt.Errorf("%w %q", accounts.ErrUnknownMember, m)
		}
		if err != nil {
			return fmt.Errorf("group %s: add member %s: %w", group, m, err)
		}
	}
	return nil
}

// Delete removes the group with that id; its memberships go with it (ON
// DELETE CASCADE). Nothing is counted when there was no such group.
func (r *Groups) Delete(ctx context.Context, id string) error {
	return r.db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM agent_groups WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		if err := affectedOne(res, accounts.ErrGroupNotFound, "delete group"); err != nil {
			return err
		}
		return bumpStaff(ctx, tx)
	})
}

// isGroupNameTaken reports whether err is the group name's UNIQUE index
// refusing a row. Both engines name the column or its constraint in the
// message ("agent_groups_name_key", "agent_groups.name"); the primary
// key's says "pkey" or "agent_groups.id".
func isGroupNameTaken(err error) bool {
	return isUniqueViolation(err) && strings.Contains(err.Error(), "name")
}

// isForeignKeyViolation reports whether err is a foreign key refusing a
// row on either engine.
func isForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "SQLSTATE 23503") || strings.Contains(s, "FOREIGN KEY constraint failed")
}
