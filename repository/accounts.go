package repository

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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

const accountColumns = `id, phone, name, email, role, status, grants, group_ids, query_types, capacity, created_at, updated_at`

// Insert stores a new user; the phone number's UNIQUE index refuses a
// second user with one number, however the writers race.
func (a *Accounts) Insert(ctx context.Context, u *accounts.User) error {
	grants, groups, types, err := encodeAccountLists(u)
	if err != nil {
		return err
	}
	_, err = a.db.db.ExecContext(ctx, `INSERT INTO accounts (`+accountColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		u.ID, u.Phone, u.Name, u.Email, u.Role, u.Status, grants, groups, types, u.Capacity,
		u.CreatedAt.UnixMilli(), u.UpdatedAt.UnixMilli())
	if isPhoneTaken(err) {
		return accounts.ErrPhoneTaken
	}
	if err != nil {
		return fmt.Errorf("insert account: %w", err)
	}
	return nil
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

func (a *Accounts) one(ctx context.Context, query string, arg string) (*accounts.User, error) {
	u, err := scanAccount(a.db.db.QueryRowContext(ctx, query, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, accounts.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read account: %w", err)
	}
	return u, nil
}

// List returns every user.
func (a *Accounts) List(ctx context.Context) ([]*accounts.User, error) {
	rows, err := a.db.db.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	var out []*accounts.User
	for rows.Next() {
		u, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return out, nil
}

// Update replaces the user with u's id in one statement, so a change of
// phone number is refused by the UNIQUE index if another user took it.
func (a *Accounts) Update(ctx context.Context, u *accounts.User) error {
	grants, groups, types, err := encodeAccountLists(u)
	if err != nil {
		return err
	}
	res, err := a.db.db.ExecContext(ctx, `UPDATE accounts SET phone = $2, name = $3, email = $4, role = $5, status = $6,
		grants = $7, group_ids = $8, query_types = $9, capacity = $10, created_at = $11, updated_at = $12 WHERE id = $1`,
		u.ID, u.Phone, u.Name, u.Email, u.Role, u.Status, grants, groups, types, u.Capacity,
		u.CreatedAt.UnixMilli(), u.UpdatedAt.UnixMilli())
	if isPhoneTaken(err) {
		return accounts.ErrPhoneTaken
	}
	if err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	return affectedOne(res, accounts.ErrNotFound, "update account")
}

// Delete removes the user with that id; their group memberships go with
// them (ON DELETE CASCADE).
func (a *Accounts) Delete(ctx context.Context, id string) error {
	res, err := a.db.db.ExecContext(ctx, `DELETE FROM accounts WHERE id = $1`, id)
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

// scanAccount reads one account from a *sql.Row or *sql.Rows.
func scanAccount(s interface{ Scan(dest ...any) error }) (*accounts.User, error) {
	var u accounts.User
	var grants, groups, types string
	var created, updated int64
	if err := s.Scan(&u.ID, &u.Phone, &u.Name, &u.Email, &u.Role, &u.Status, &grants, &groups, &types, &u.Capacity, &created, &updated); err != nil {
		return nil, err
	}
	for _, l := range []struct {
		raw string
		dst *[]string
	}{{grants, &u.Grants}, {groups, &u.Groups}, {types, &u.QueryTypes}} {
		if err := decodeJSONList(l.raw, l.dst); err != nil {
			return nil, fmt.Errorf("account %s: %w", u.ID, err)
		}
	}
	u.CreatedAt, u.UpdatedAt = accountTime(created), accountTime(updated)
	return &u, nil
}

func encodeAccountLists(u *accounts.User) (grants, groups, types string, err error) {
	if grants, err = encodeJSONList(u.Grants); err != nil {
		return "", "", "", err
	}
	if groups, err = encodeJSONList(u.Groups); err != nil {
		return "", "", "", err
	}
	if types, err = encodeJSONList(u.QueryTypes); err != nil {
		return "", "", "", err
	}
	return grants, groups, types, nil
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
