package repository

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
)

// groupsMigration is migration 3: the groups an account listed in its
// group_ids column become rows of agent_groups (named by their id until a
// coordinator renames them) and memberships in agent_group_members, the
// one place memberships live from now on; then the column goes. It is Go,
// not SQL, because the two engines read JSON with different functions.
var groupsMigration = goose.NewGoMigration(3,
	&goose.GoFunc{RunTx: moveGroupIDs},
	&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `ALTER TABLE accounts ADD COLUMN group_ids TEXT NOT NULL DEFAULT '[]'`)
		return err
	}})

// moveGroupIDs is groupsMigration's up step.
func moveGroupIDs(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, group_ids FROM accounts`)
	if err != nil {
		return fmt.Errorf("read group ids: %w", err)
	}
	members := map[string][]string{}
	for rows.Next() {
		var id, raw string
		if err := rows.Scan(&id, &raw); err != nil {
			rows.Close()
			return fmt.Errorf("read group ids: %w", err)
		}
		var groups []string
		if err := json.Unmarshal([]byte(raw), &groups); err != nil {
			rows.Close()
			return fmt.Errorf("account %s: decode group ids %q: %w", id, raw, err)
		}
		members[id] = groups
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read group ids: %w", err)
	}
	now := time.Now().UnixMilli()
	for account, groups := range members {
		for _, name := range groups {
			// An id as groups have them now, so the group can be managed;
			// the name keeps what the account said.
			g := groupID(name)
			if _, err := tx.ExecContext(ctx, `INSERT INTO agent_groups (id, name, created_at, updated_at)
				VALUES ($1, $2, $3, $3) ON CONFLICT DO NOTHING`, g, name, now); err != nil {
				return fmt.Errorf("create group %s: %w", g, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO agent_group_members (group_id, account_id)
				VALUES ($1, $2) ON CONFLICT DO NOTHING`, g, account); err != nil {
				return fmt.Errorf("add %s to group %s: %w", account, g, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `ALTER TABLE accounts DROP COLUMN group_ids`); err != nil {
		return fmt.Errorf("drop accounts.group_ids: %w", err)
	}
	return nil
}

// groupID is a group id of today's shape (lower-case letters, digits, '-'
// and '_', at most 64) for a name an account listed before groups had
// rules: "Billing Team" becomes billing-team; one with nothing usable
// becomes g- and a hash of the name.
func groupID(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	id := strings.Trim(b.String(), "-_")
	if len(id) > 64 {
		id = strings.Trim(id[:64], "-_")
	}
	if id == "" {
		sum := sha256.Sum256([]byte(name))
		id = "g-" + hex.EncodeToString(sum[:8])
	}
	return id
}
