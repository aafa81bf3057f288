package repository_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/accounts"
	"switchboard/clock"
	"switchboard/internal/dbtest"
	"switchboard/repository"
)

// staffVersion reads the count of staff changes.
func staffVersion(t *testing.T, db *repository.DB) int64 {
	t.Helper()
	v, err := db.Accounts().StaffVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// groupsOf reads an account's groups as routing and the users API see them.
func groupsOf(t *testing.T, db *repository.DB, id string) []string {
	t.Helper()
	u, err := db.Accounts().Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	_, staff, err := db.Accounts().Staff(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range staff {
		if s.ID == id && !slices.Equal(s.Groups, u.Groups) {
			t.Fatalf("%s's groups: Get says %v, Staff says %v", id, u.Groups, s.Groups)
		}
	}
	return u.Groups
}

func newAccount(t *testing.T, users *accounts.Store, name, phone string) *accounts.User {
	t.Helper()
	u, err := users.Create(context.Background(), accounts.User{Name: name, Phone: phone, Role: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// A group's life on both engines: every write shows in its members'
// accounts and counts one staff change; a refused write changes nothing
// and counts none.
func TestGroupsLifeAndStaffVersion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		ctx := context.Background()
		clk := clock.NewFake(t0)
		users := accounts.NewStore(db.Accounts(), clk, nil)
		groups := accounts.NewGroups(db.Groups(), clk)
		ana := newAccount(t, users, "Ana", "+5511900000001")
		bruno := newAccount(t, users, "Bruno", "+5511900000002")

		// Each write counts one staff change.
		v := staffVersion(t, db)
		step := func(what string) {
			t.Helper()
			if now := staffVersion(t, db); now != v+1 {
				t.Fatalf("%s: staff version %d -> %d, want +1", what, v, now)
			}
			v++
		}
		unchanged := func(what string) {
			t.Helper()
			if now := staffVersion(t, db); now != v {
				t.Fatalf("%s (refused): staff version %d -> %d, want unchanged", what, v, now)
			}
		}

		sales, err := groups.Create(ctx, "  Sales  ", []string{bruno.ID, ana.ID, ana.ID})
		if err != nil {
			t.Fatal(err)
		}
		step("create")
		if !strings.HasPrefix(sales.ID, "g_") || len(sales.ID) != 18 || sales.Name != "Sales" ||
			!slices.Equal(sales.Members, sorted(ana.ID, bruno.ID)) || !sales.CreatedAt.Equal(t0.Truncate(time.Millisecond)) {
			t.Fatalf("created %+v", sales)
		}
		if got, err := groups.Get(ctx, sales.ID); err != nil || got.Name != "Sales" || !slices.Equal(got.Members, sales.Members) ||
			!got.CreatedAt.Equal(sales.CreatedAt) || !got.UpdatedAt.Equal(sales.UpdatedAt) {
			t.Fatalf("Get = %+v, %v; Create answered %+v", got, err, sales)
		}
		if g := groupsOf(t, db, ana.ID); !slices.Equal(g, []string{sales.ID}) {
			t.Fatalf("Ana's groups after create: %v", g)
		}

		// A second group; its name is taken, and so is Sales'.
		claims, err := groups.Create(ctx, "Claims", nil)
		if err != nil {
			t.Fatal(err)
		}
		step("create empty")
		if claims.Members == nil || len(claims.Members) != 0 {
			t.Fatalf("an empty group's members: %#v, want []", claims.Members)
		}
		if _, err := groups.Create(ctx, "Sales", nil); !errors.Is(err, accounts.ErrGroupNameTaken) {
			t.Fatalf("create with a taken name: %v", err)
		}
		unchanged("create with a taken name")
		if _, err := groups.Rename(ctx, claims.ID, "Sales"); !errors.Is(err, accounts.ErrGroupNameTaken) {
			t.Fatalf("rename to a taken name: %v", err)
		}
		unchanged("rename to a taken name")
		if got, _ := groups.Get(ctx, claims.ID); got.Name != "Claims" {
			t.Fatalf("a refused rename changed the name to %q", got.Name)
		}

		// Rename: the name changes, the members stay.
		clk.Advance(time.Minute)
		renamed, err := groups.Rename(ctx, sales.ID, "Sales BR")
		if err != nil {
			t.Fatal(err)
		}
		step("rename")
		if renamed.Name != "Sales BR" || !slices.Equal(renamed.Members, sales.Members) ||
			!renamed.CreatedAt.Equal(sales.CreatedAt) || !renamed.UpdatedAt.Equal(t0.Add(time.Minute).Truncate(time.Millisecond)) {
			t.Fatalf("renamed %+v", renamed)
		}
		// The old name is free again.
		if _, err := groups.Rename(ctx, claims.ID, "Sales"); err != nil {
			t.Fatalf("rename to a freed name: %v", err)
		}
		step("rename to a freed name")

		// Set members: an unknown account is refused, by id, and nothing
		// changes.
		ghost := "u_00000000000000ff"
		_, err = groups.SetMembers(ctx, sales.ID, []string{ana.ID, ghost})
		if !errors.Is(err, accounts.ErrInvalidGroup) || !errors.Is(err, accounts.ErrUnknownMember) || !strings.Contains(err.Error(), ghost) {
			t.Fatalf("set members with an unknown account: %v; want ErrUnknownMember naming %s", err, ghost)
		}
		unchanged("set members with an unknown account")
		if got, _ := groups.Get(ctx, sales.ID); !slices.Equal(got.Members, sorted(ana.ID, bruno.ID)) {
			t.Fatalf("a refused set-members changed the members to %v", got.Members)
		}
		if _, err := groups.Create(ctx, "Ghosts", []string{ghost}); !errors.Is(err, accounts.ErrUnknownMember) || !strings.Contains(err.Error(), ghost) {
			t.Fatalf("create with an unknown account: %v", err)
		}
		unchanged("create with an unknown account")
		if all, _ := groups.List(ctx); len(all) != 2 {
			t.Fatalf("a refused create left a group: %+v", all)
		}
		set, err := groups.SetMembers(ctx, sales.ID, []string{ana.ID})
		if err != nil {
			t.Fatal(err)
		}
		step("set members")
		if set.Name != "Sales BR" || !slices.Equal(set.Members, []string{ana.ID}) {
			t.Fatalf("after set members: %+v", set)
		}
		if g := groupsOf(t, db, bruno.ID); len(g) != 0 {
			t.Fatalf("Bruno, removed, still in %v", g)
		}
		// Name and members in one change, one staff change.
		name := "Sales LATAM"
		both, err := groups.Update(ctx, sales.ID, accounts.GroupChange{Name: &name, Members: &[]string{bruno.ID}})
		if err != nil {
			t.Fatal(err)
		}
		step("rename and set members")
		if both.Name != name || !slices.Equal(both.Members, []string{bruno.ID}) {
			t.Fatalf("after rename and set members: %+v", both)
		}
		if _, err := groups.Update(ctx, sales.ID, accounts.GroupChange{}); !errors.Is(err, accounts.ErrInvalidGroup) {
			t.Fatalf("an empty change: %v", err)
		}
		if _, err := groups.SetMembers(ctx, sales.ID, []string{ana.ID, bruno.ID}); err != nil {
			t.Fatal(err)
		}
		step("set members")
		if _, err := groups.SetMembers(ctx, claims.ID, []string{ana.ID}); err != nil {
			t.Fatal(err)
		}
		step("set members")
		if g := groupsOf(t, db, ana.ID); !slices.Equal(g, sorted(sales.ID, claims.ID)) {
			t.Fatalf("Ana's groups: %v", g)
		}

		// List: by name.
		all, err := groups.List(ctx)
		if err != nil || len(all) != 2 || all[0].Name != "Sales" || all[1].Name != "Sales LATAM" ||
			!slices.Equal(all[1].Members, sorted(ana.ID, bruno.ID)) || !slices.Equal(all[0].Members, []string{ana.ID}) {
			t.Fatalf("List = %+v, %v", all, err)
		}

		// Delete: the memberships go, the accounts stay.
		if err := groups.Delete(ctx, sales.ID); err != nil {
			t.Fatal(err)
		}
		step("delete")
		if g := groupsOf(t, db, ana.ID); !slices.Equal(g, []string{claims.ID}) {
			t.Fatalf("Ana's groups after the delete: %v, want only %s", g, claims.ID)
		}
		if g := groupsOf(t, db, bruno.ID); len(g) != 0 {
			t.Fatalf("Bruno's groups after the delete: %v", g)
		}
		if _, err := groups.Get(ctx, sales.ID); !errors.Is(err, accounts.ErrGroupNotFound) {
			t.Fatalf("Get a deleted group: %v", err)
		}
		if err := groups.Delete(ctx, sales.ID); !errors.Is(err, accounts.ErrGroupNotFound) {
			t.Fatalf("delete again: %v", err)
		}
		unchanged("delete again")
		if _, err := groups.Rename(ctx, sales.ID, "Back"); !errors.Is(err, accounts.ErrGroupNotFound) {
			t.Fatalf("rename a deleted group: %v", err)
		}
		unchanged("rename a deleted group")
		// An account that is deleted leaves its groups.
		if err := db.Accounts().Delete(ctx, ana.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := groups.Get(ctx, claims.ID); len(got.Members) != 0 {
			t.Fatalf("a deleted account still a member: %v", got.Members)
		}
		// A user given a group that does not exist is refused, naming it.
		bruno.Groups = []string{"g_00000000000000aa"}
		if _, err := users.Update(ctx, *bruno); !errors.Is(err, accounts.ErrInvalidAccount) || !strings.Contains(err.Error(), "g_00000000000000aa") {
			t.Fatalf("a user given an unknown group: %v", err)
		}
	})
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// Creations racing for one name: the database lets exactly one through;
// a rename and a change of members racing on one group both land.
func TestConcurrentGroupWrites(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		ctx := context.Background()
		clk := clock.NewFake(t0)
		groups := accounts.NewGroups(db.Groups(), clk)
		users := accounts.NewStore(db.Accounts(), clk, nil)
		ana := newAccount(t, users, "Ana", "+5511900000001")
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, errs[i] = groups.Create(ctx, "Support", nil) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, accounts.ErrGroupNameTaken):
				t.Errorf("a losing create: %v, want ErrGroupNameTaken", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d creates of one name succeeded", won)
		}
		all, err := groups.List(ctx)
		if err != nil || len(all) != 1 {
			t.Fatalf("List = %+v, %v", all, err)
		}
		id := all[0].ID
		for range 5 {
			wg.Go(func() {
				if _, err := groups.Rename(ctx, id, "Support BR"); err != nil {
					t.Error(err)
				}
			})
			wg.Go(func() {
				if _, err := groups.SetMembers(ctx, id, []string{ana.ID}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if g, err := groups.Get(ctx, id); err != nil || g.Name != "Support BR" || !slices.Equal(g.Members, []string{ana.ID}) {
			t.Fatalf("after a racing rename and set-members: %+v, %v", g, err)
		}
	})
}
