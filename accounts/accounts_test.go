package accounts_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"switchboard/accounts"
	"switchboard/clock"
	"switchboard/internal/redistest"
)

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

func TestPhoneIsUniqueAcrossCreateAndUpdate(t *testing.T) {
	ctx := context.Background()
	s := accounts.NewStore(redistest.Client(t), clock.NewFake(time.Now()), func(_ context.Context, r string) (bool, error) { return r == "operator", nil })
	a, err := s.Create(ctx, accounts.User{Name: "Ana", Phone: "+55 11 91234-5678", Role: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Phone != "+5511912345678" || a.Status != accounts.StatusActive || a.Capacity != 5 {
		t.Fatalf("created = %+v", a)
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
	b.Phone = "+5511900000003"
	if _, err := s.Update(ctx, *b); err != nil {
		t.Fatal(err)
	}
	if u, err := s.ByPhone(ctx, "+5511900000003"); err != nil || u.ID != b.ID {
		t.Fatalf("new phone not indexed: %v", err)
	}
	if _, err := s.ByPhone(ctx, "+5511900000002"); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("old phone still indexed: %v", err)
	}
	if err := s.Delete(ctx, a.ID, noRevoker{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, accounts.User{Name: "Reuse", Phone: "+5511912345678", Role: "operator"}); err != nil {
		t.Fatalf("phone of a deleted user not free again: %v", err)
	}
	users, _ := s.List(ctx)
	if len(users) != 2 {
		t.Fatalf("%d users listed, want 2", len(users))
	}
}

type noRevoker struct{}

func (noRevoker) RevokeAll(context.Context, string) error { return nil }
