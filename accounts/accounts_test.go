package accounts_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"switchboard/accounts"
	"switchboard/clock"
	"switchboard/internal/dbtest"
	"switchboard/repository"
)

// t0 is the tests' fixed time: never the day they run.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 123_456_789, time.UTC)

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"+55 (11) 91234-5678": "+5511912345678",
		"+1 415.555.0100":     "+14155550100",
		" +447911123456 ":     "+447911123456",
	} {
		if got, err := accounts.NormalizePhone(in); err != nil || got != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"11912345678", "+0123456789", "+55 11 9123x5678", "+123", "+1234567890123456", ""} {
		if _, err := accounts.NormalizePhone(bad); !errors.Is(err, accounts.ErrInvalidPhone) {
			t.Errorf("NormalizePhone(%q) accepted", bad)
		}
	}
	if got := accounts.MaskPhone("+5511912345678"); got != "+55*********78" {
		t.Errorf("MaskPhone = %q", got)
	}
}

func operatorsOnly(_ context.Context, r string) (bool, error) { return r == "operator", nil }

func TestPhoneIsUniqueAcrossCreateAndUpdate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		ctx := context.Background()
		clk := clock.NewFake(t0)
		s := accounts.NewStore(db.Accounts(), clk, operatorsOnly)
		a, err := s.Create(ctx, accounts.User{Name: "Ana", Phone: "+55 11 91234-5678", Role: "operator", Grants: []string{"b", "a", "b"}})
		if err != nil {
			t.Fatal(err)
		}
		if a.Phone != "+5511912345678" || a.Status != accounts.StatusActive || a.Capacity != 5 {
			t.Fatalf("created = %+v", a)
		}
		// What Create answered is what is stored, to the millisecond.
		got, err := s.Get(ctx, a.ID)
		if err != nil || got.Name != "Ana" || got.Phone != a.Phone || !got.CreatedAt.Equal(t0.Truncate(time.Millisecond)) ||
			!got.CreatedAt.Equal(a.CreatedAt) || len(got.Grants) != 2 || got.Grants[0] != "a" {
			t.Fatalf("Get = %+v, %v; Create answered %+v", got, err, a)
		}
		if _, err := s.Create(ctx, accounts.User{Name: "Other", Phone: "+5511912345678", Role: "operator"}); !errors.Is(err, accounts.ErrPhoneTaken) {
			t.Fatalf("duplicate phone: %v", err)
		}
		if _, err := s.Create(ctx, accounts.User{Name: "X", Phone: "+5511900000000", Role: "wizard"}); !errors.Is(err, accounts.ErrInvalidAccount) {
			t.Fatalf("unknown role: %v", err)
		}
		b, err := s.Create(ctx, accounts.User{Name: "Bia", Phone: "+5511900000002", Role: "operator"})
		if err != nil {
			t.Fatal(err)
		}
		b.Phone = "+5511912345678"
		if _, err := s.Update(ctx, *b); !errors.Is(err, accounts.ErrPhoneTaken) {
			t.Fatalf("update to a taken phone: %v", err)
		}
		if u, _ := s.Get(ctx, b.ID); u.Phone != "+5511900000002" {
			t.Fatalf("a refused update changed the phone to %s", u.Phone)
		}
		clk.Advance(time.Hour)
		b.Phone = "+5511900000003"
		updated, err := s.Update(ctx, *b)
		if err != nil {
			t.Fatal(err)
		}
		if !updated.CreatedAt.Equal(b.CreatedAt) || !updated.UpdatedAt.Equal(t0.Add(time.Hour).Truncate(time.Millisecond)) {
			t.Fatalf("updated times: created %v, updated %v", updated.CreatedAt, updated.UpdatedAt)
		}
		if u, err := s.ByPhone(ctx, "+5511900000003"); err != nil || u.ID != b.ID {
			t.Fatalf("new phone not found: %v", err)
		}
		if _, err := s.ByPhone(ctx, "+5511900000002"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("old phone still found: %v", err)
		}
		if err := s.Delete(ctx, a.ID, noRevoker{}); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, a.ID, noRevoker{}); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("deleting again: %v", err)
		}
		if _, err := s.Create(ctx, accounts.User{Name: "Reuse", Phone: "+5511912345678", Role: "operator"}); err != nil {
			t.Fatalf("phone of a deleted user not free again: %v", err)
		}
		users, err := s.List(ctx)
		if err != nil || len(users) != 2 || users[0].Name != "Bia" || users[1].Name != "Reuse" {
			t.Fatalf("List = %v, %v; want Bia and Reuse, by name", users, err)
		}
	})
}

// Creations racing for one phone number: the database lets exactly one
// through, on both engines.
func TestConcurrentCreatesTakeAPhoneOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		ctx := context.Background()
		s := accounts.NewStore(db.Accounts(), clock.NewFake(t0), operatorsOnly)
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, errs[i] = s.Create(ctx, accounts.User{Name: "Racer", Phone: "+5511955550000", Role: "operator"})
			})
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, accounts.ErrPhoneTaken):
				t.Errorf("creation %d: %v, want ErrPhoneTaken", i, err)
			}
		}
		if won != 1 {
			t.Fatalf("%d creations took the phone number, want 1", won)
		}
		if users, _ := s.List(ctx); len(users) != 1 {
			t.Fatalf("%d users stored, want 1", len(users))
		}
	})
}

type noRevoker struct{}

func (noRevoker) RevokeAll(context.Context, string) error { return nil }
