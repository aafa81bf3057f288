package accounts_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/clock"
	"switchboard/internal/dbtest"
	"switchboard/internal/redistest"
	"switchboard/repository"
)

// A disabled user enabled again is active, in the groups they were in,
// on either engine; enabling them once more changes nothing at all. An
// account stored before the list rules existed can be enabled too: what
// it lists is not being changed.
func TestEnableUndoesDisable(t *testing.T) {
	rdb := redistest.Client(t)
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		ctx := context.Background()
		clk := clock.NewFake(t0)
		s := accounts.NewStore(db.Accounts(), clk, operatorsOnly)
		login, err := auth.NewLogin(rdb, auth.LoginOptions{Users: s, Clock: clk, Secret: []byte("test-secret-0123456789"), Sender: &codes{}})
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.Create(ctx, accounts.User{Name: "Ana", Phone: "+5511912345601", Role: "operator", Capacity: 3})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := accounts.NewGroups(db.Groups(), clk).CreateWithID(ctx, "billing", "Billing", []string{u.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Disable(ctx, u.ID, login); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
		enabled, changed, err := s.Enable(ctx, u.ID)
		if err != nil || !changed {
			t.Fatalf("enable: changed %v, %v", changed, err)
		}
		got, err := s.Get(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != accounts.StatusActive || !slices.Equal(got.Groups, []string{"billing"}) || got.Capacity != 3 ||
			!got.UpdatedAt.Equal(clk.Now().Truncate(time.Millisecond)) || enabled.Status != accounts.StatusActive {
			t.Fatalf("after enable: %+v (returned %+v); want active, in billing, capacity 3, updated now", got, enabled)
		}

		clk.Advance(time.Hour)
		if again, changed, err := s.Enable(ctx, u.ID); err != nil || changed || again.Status != accounts.StatusActive {
			t.Fatalf("enabling an active user: %+v, changed %v, %v", again, changed, err)
		}
		if still, _ := s.Get(ctx, u.ID); !still.UpdatedAt.Equal(got.UpdatedAt) {
			t.Fatalf("enabling an active user wrote it: updated %v, was %v", still.UpdatedAt, got.UpdatedAt)
		}

		if _, _, err := s.Enable(ctx, "u_0123456789abcdef"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("enabling nobody: %v, want ErrNotFound", err)
		}

		legacy := &accounts.User{ID: "u_00000000000000e1", Name: "Eva", Phone: "+5511912345602", Role: "operator",
			Status: accounts.StatusDisabled, QueryTypes: []string{"Payments"}, Capacity: 5, CreatedAt: t0, UpdatedAt: t0}
		if err := db.Accounts().Insert(ctx, legacy); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Enable(ctx, legacy.ID); err != nil {
			t.Fatalf("enabling an account with a legacy query type: %v", err)
		}
		if got, _ := s.Get(ctx, legacy.ID); got.Status != accounts.StatusActive || !slices.Equal(got.QueryTypes, []string{"Payments"}) {
			t.Fatalf("legacy account after enable: %+v", got)
		}
	})
}
