package accounts_test

import (
	"context"
	"slices"
	"testing"

	"switchboard/accounts"
	"switchboard/clock"
	"switchboard/internal/dbtest"
	"switchboard/repository"
)

// A user read before a coordinator added them to a group, then written
// back for another field (a capacity change, disabling them), stays in
// the group: memberships change only when the caller changes them.
func TestAnUpdateOfAnotherFieldKeepsTheMemberships(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		ctx := context.Background()
		clk := clock.NewFake(t0)
		s := accounts.NewStore(db.Accounts(), clk, operatorsOnly)
		groups := accounts.NewGroups(db.Groups(), clk)
		u, err := s.Create(ctx, accounts.User{Name: "Ana", Phone: "+5511912345601", Role: "operator"})
		if err != nil {
			t.Fatal(err)
		}
		stale := *u // read by an admin's request, before the group change
		if _, err := groups.CreateWithID(ctx, "billing", "Billing", []string{u.ID}); err != nil {
			t.Fatal(err)
		}
		stale.Capacity, stale.Groups = 3, nil // the request changes capacity only
		if _, err := s.Update(ctx, stale); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, u.ID)
		if err != nil || got.Capacity != 3 || !slices.Equal(got.Groups, []string{"billing"}) {
			t.Fatalf("after the capacity change: %+v, %v; want capacity 3, still in billing", got, err)
		}
		// Written back whole, as read, it keeps them too.
		got.Capacity = 4
		if _, err := s.Update(ctx, *got); err != nil {
			t.Fatal(err)
		}
		// An explicit empty list takes them out.
		got.Groups = []string{}
		if _, err := s.Update(ctx, *got); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.Get(ctx, u.ID); len(again.Groups) != 0 || again.Capacity != 4 {
			t.Fatalf("after removing the groups: %+v", again)
		}
	})
}

// An account stored before the list rules existed (a query type in
// capitals) can still be edited otherwise and disabled; a new bad value
// is still refused.
func TestAnAccountFromBeforeTheListRulesCanBeChanged(t *testing.T) {
	db := dbtest.Open(t)
	ctx := context.Background()
	clk := clock.NewFake(t0)
	legacy := &accounts.User{ID: "u_00000000000000e1", Name: "Eva", Phone: "+5511912345602", Role: "operator",
		Status: accounts.StatusActive, QueryTypes: []string{"Payments"}, Capacity: 5, CreatedAt: t0, UpdatedAt: t0}
	if err := db.Accounts().Insert(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	s := accounts.NewStore(db.Accounts(), clk, operatorsOnly)
	u, err := s.Get(ctx, legacy.ID)
	if err != nil {
		t.Fatal(err)
	}
	u.Status = accounts.StatusDisabled
	if _, err := s.Update(ctx, *u); err != nil {
		t.Fatalf("disabling an account with a legacy query type: %v", err)
	}
	u.QueryTypes = append(u.QueryTypes, "New Type")
	if _, err := s.Update(ctx, *u); err == nil {
		t.Fatal("a new malformed query type was accepted")
	}
}
