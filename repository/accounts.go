package repository

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"switchboard/accounts"
)

// Accounts stores CS accounts in the accounts table; it is the
// accounts.Repository.
type Accounts struct{ db *DB }

var _ accounts.Repository = (*Accounts)(nil)

// Accounts returns the CS accounts' storage.
func (d *DB) Accounts() *Accounts { return &Accounts{db: d} }

const accountColumns = `id, phone, name, email, role, status, grants, channels, query_types, capacity, created_at, updated_at`

// Insert stores a new user and their group memberships; the phone
// number's UNIQUE index refuses a second user with one number, however the
// writers race.
func (a *Accounts) Insert(ctx context.Context, u *accounts.User) error {
	lists, err := encodeAccountLists(u)
	if err != nil {
		return err
	}
	return a.write(ctx, u, `INSERT INTO accounts (`+accountColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, append([]any{u.ID, u.Phone, u.Name, u.Email, u.Role, u.Status},
		append(lists, u.Capacity, u.CreatedAt.UnixMilli(), u.UpdatedAt.UnixMilli())...), "insert account")
}

// Update replaces the user with u's id, their group memberships with it,
// so a change of phone number is refused by the UNIQUE index if another
// user took it.
func (a *Accounts) Update(ctx context.Context, u *accounts.User) error {
	lists, err := encodeAccountLists(u)
	if err != nil {
		return err
	}
	return a.write(ctx, u, `UPDATE accounts SET phone = $2, name = $3, email = $4, role = $5, status = $6,
		grants = $7, channels = $8, query_types = $9, capacity = $10, created_at = $11, updated_at = $12 WHERE id = $1`,
		append([]any{u.ID, u.Phone, u.Name, u.Email, u.Role, u.Status},
			append(lists, u.Capacity, u.CreatedAt.UnixMilli(), u.UpdatedAt.UnixMilli())...), "update account")
}

// write runs an account's INSERT or UPDATE, replaces its memberships by
// u.Groups (unless nil) and counts the staff change, in one transaction.
func (a *Accounts) write(ctx context.Context, u *accounts.User, query string, args []any, what string) error {
	return a.db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if isPhoneTaken(err) {
			return accounts.ErrPhoneTaken
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := affectedOne(res, accounts.ErrNotFound, what); err != nil {
			return err
		}
		if u.Groups == nil {
			return bumpStaff(ctx, tx) // memberships as they are
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM agent_group_members WHERE account_id = $1`, u.ID); err != nil {
			return fmt.Errorf("%s: groups: %w", what, err)
		}
		for _, g := range u.Groups {
			var ok int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM agent_groups WHERE id = $1`, g).Scan(&ok)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: %q", accounts.ErrUnknownGroup, g)
			}
			if err != nil {
				return fmt.Errorf("%s: group %s: %w", what, g, err)
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO agent_group_members (group_id, account_id) VALUES ($1, $2)
				ON CONFLICT DO NOTHING`, g, u.ID)
			if isForeignKeyViolation(err) {
				return fmt.Errorf("%w: %q", accounts.ErrUnknownGroup, g) // deleted since the check
			}
			if err != nil {
				return fmt.Errorf("%s: group %s: %w", what, g, err)
			}
		}
		return bumpStaff(ctx, tx)
	})
}

// Get returns the user with that id.
func (a *Accounts) Get(ctx context.Context, id string) (*accounts.User, error) {
	return a.one(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, id)
}

// ByPhone returns the user with that phone number: one lookup on the
// UNIQUE index, the same for numbers with and without an account.
func (a *Accounts) ByPhone(ctx context.Context, phone string) (*accounts.User, error) {
	return a.one(ctx, `SELECT `+accountColumns+` FROM accounts WHERE phone = $1`, phone)
}

// one reads the account query finds, with its groups.
func (a *Accounts) one(ctx context.Context, query string, arg string) (*accounts.User, error) {
	u, err := scanAccount(a.db.db.QueryRowContext(ctx, query, arg), nil, nil)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, accounts.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read account: %w", err)
	}
	rows, err := a.db.db.QueryContext(ctx, `SELECT group_id FROM agent_group_members WHERE account_id = $1 ORDER BY group_id`, u.ID)
	if err != nil {
		return nil, fmt.Errorf("read account %s's groups: %w", u.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, fmt.Errorf("read account %s's groups: %w", u.ID, err)
		}
		u.Groups = append(u.Groups, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read account %s's groups: %w", u.ID, err)
	}
	return u, nil
}

// List returns every user.
func (a *Accounts) List(ctx context.Context) ([]*accounts.User, error) {
	users, err := a.list(ctx, `SELECT `+accountColumns+` FROM accounts`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return users, nil
}

// list reads the accounts query finds, after the extra columns its
// first destinations take, and their groups, in one statement (one
// snapshot): a LEFT JOIN on the memberships, an account's rows together.
func (a *Accounts) list(ctx context.Context, query string, first ...any) ([]*accounts.User, error) {
	rows, err := a.db.db.QueryContext(ctx, `SELECT l.*, m.group_id FROM (`+query+`) l
		LEFT JOIN agent_group_members m ON m.account_id = l.id ORDER BY l.id, m.group_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*accounts.User
	for rows.Next() {
		var group sql.NullString
		u, err := scanAccount(rows, first, []any{&group})
		if err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].ID != u.ID {
			out = append(out, u)
		}
		if group.Valid {
			last := out[len(out)-1]
			last.Groups = append(last.Groups, group.String)
		}
	}
	return out, rows.Err()
}

// Delete removes the user with that id; their group memberships go with
// them (ON DELETE CASCADE).
func (a *Accounts) Delete(ctx context.Context, id string) error {
	res, err := a.db.execStaff(ctx, `DELETE FROM accounts WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	return affectedOne(res, accounts.ErrNotFound, "delete account")
}

// isPhoneTaken reports whether err is the phone number's UNIQUE index
// refusing a row. Both engines name the column or its constraint in the
// message ("accounts_phone_key", "accounts.phone").
func isPhoneTaken(err error) bool {
	return isUniqueViolation(err) && strings.Contains(err.Error(), "phone")
}

// affectedOne returns none when a statement meant for one row touched none.
func affectedOne(res sql.Result, none error, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return none
	}
	return nil
}

// scanAccount reads one account from a *sql.Row or *sql.Rows, between
// the destinations of the columns a query puts before accountColumns and
// of those it puts after them.
func scanAccount(s interface{ Scan(dest ...any) error }, before, after []any) (*accounts.User, error) {
	var u accounts.User
	var grants, channels, types string
	var created, updated int64
	dest := append(slices.Clone(before), &u.ID, &u.Phone, &u.Name, &u.Email, &u.Role, &u.Status, &grants, &channels, &types, &u.Capacity, &created, &updated)
	if err := s.Scan(append(dest, after...)...); err != nil {
		return nil, err
	}
	for _, l := range []struct {
		raw string
		dst *[]string
	}{{grants, &u.Grants}, {channels, &u.Channels}, {types, &u.QueryTypes}} {
		if err := decodeJSONList(l.raw, l.dst); err != nil {
			return nil, fmt.Errorf("account %s: %w", u.ID, err)
		}
	}
	u.CreatedAt, u.UpdatedAt = accountTime(created), accountTime(updated)
	return &u, nil
}

// encodeAccountLists is an account's list columns, in accountColumns'
// order: grants, channels, query types.
func encodeAccountLists(u *accounts.User) ([]any, error) {
	var out []any
	for _, l := range [][]string{u.Grants, u.Channels, u.QueryTypes} {
		raw, err := encodeJSONList(l)
		if err != nil {
			return nil, err
		}
		out = append(out, raw)
	}
	return out, nil
}

// encodeJSONList writes a list column: a JSON array, [] when empty.
func encodeJSONList[T any](l []T) (string, error) {
	if len(l) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "", fmt.Errorf("encode list: %w", err)
	}
	return string(b), nil
}

// decodeJSONList reads a list column; an empty list is nil, as a user made
// without one has it.
func decodeJSONList(raw string, dst *[]string) error {
	var l []string
	if err := json.Unmarshal([]byte(raw), &l); err != nil {
		return fmt.Errorf("decode list %q: %w", raw, err)
	}
	if len(l) == 0 {
		l = nil
	}
	*dst = l
	return nil
}

// accountTime reads a time column (milliseconds since the epoch) as UTC.
func accountTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
