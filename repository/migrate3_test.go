package repository_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"switchboard/internal/dbtest"
	"switchboard/repository"
)

// A database an older binary left, whose accounts listed their groups
// themselves (some as free text), upgrades to groups that are rows: each
// listed group exists, manageable by an id of today's shape, named as the
// account said, with the account among its members.
func TestUpgradeMovesAccountsGroupsIntoGroups(t *testing.T) {
	for _, engine := range []repository.Dialect{repository.SQLite, repository.Postgres} {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			var o repository.Options
			if engine == repository.SQLite {
				o.Path = filepath.Join(t.TempDir(), "old.db")
			} else {
				o.URL = dbtest.Schema(t)
			}
			db, err := repository.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.MigrateTo(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if _, err := db.SQL().ExecContext(ctx, `INSERT INTO accounts (id, phone, name, role, status, group_ids, created_at, updated_at)
				VALUES ('u_00000000000000a1', '+5511900000001', 'Ana', 'operator', 'active', '["billing","Billing Team"]', 0, 0),
				       ('u_00000000000000b2', '+5511900000002', 'Bruno', 'operator', 'active', '["billing"]', 0, 0)`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Migrate(ctx, nil); err != nil {
				t.Fatalf("upgrade: %v", err)
			}
			ana, err := db.Accounts().Get(ctx, "u_00000000000000a1")
			if err != nil || !slices.Equal(ana.Groups, []string{"billing", "billing-team"}) {
				t.Fatalf("ana after the upgrade: %+v, %v", ana, err)
			}
			g, err := db.Groups().Get(ctx, "billing-team")
			if err != nil || g.Name != "Billing Team" || !slices.Equal(g.Members, []string{"u_00000000000000a1"}) {
				t.Fatalf("billing-team: %+v, %v", g, err)
			}
			if g, err := db.Groups().Get(ctx, "billing"); err != nil || len(g.Members) != 2 {
				t.Fatalf("billing: %+v, %v", g, err)
			}
		})
	}
}
