package accounts_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"switchboard/accounts"
	"switchboard/clock"
	"switchboard/internal/dbtest"
	"switchboard/repository"
)

// What a group's name and members may be, and what the caller is told
// when they are not.
func TestGroupValidation(t *testing.T) {
	ctx := context.Background()
	db := dbtest.OpenEngine(t, repository.SQLite)
	groups := accounts.NewGroups(db.Groups(), clock.NewFake(t0))
	for _, tc := range []struct {
		name    string
		members []string
		says    string
	}{
		{"", nil, "name: required"},
		{" \t ", nil, "name: required"},
		{strings.Repeat("é", accounts.MaxGroupName+1), nil, "at most 100 characters"},
		{"Two\nlines", nil, "control characters"},
		{"Ok", []string{"ana"}, `no such account "ana"`},
		{"Ok", []string{"u_0123456789abcdef"}, `no such account "u_0123456789abcdef"`},
	} {
		_, err := groups.Create(ctx, tc.name, tc.members)
		if !errors.Is(err, accounts.ErrInvalidGroup) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Create(%q, %v): %v; want ErrInvalidGroup saying %q", tc.name, tc.members, err, tc.says)
		}
	}
	// 100 characters is fine, however many bytes they take.
	long := strings.Repeat("é", accounts.MaxGroupName)
	g, err := groups.Create(ctx, long, nil)
	if err != nil || g.Name != long || len(g.Members) != 0 || g.Members == nil {
		t.Fatalf("Create(100 characters) = %+v, %v", g, err)
	}
	// Ids shaped unlike any group's name nothing.
	for _, id := range []string{"", "G_1", "g_1:x", "tokens:g_1", strings.Repeat("a", 65)} {
		if _, err := groups.Get(ctx, id); !errors.Is(err, accounts.ErrGroupNotFound) {
			t.Errorf("Get(%q): %v, want ErrGroupNotFound", id, err)
		}
		if err := groups.Delete(ctx, id); !errors.Is(err, accounts.ErrGroupNotFound) {
			t.Errorf("Delete(%q): %v, want ErrGroupNotFound", id, err)
		}
	}
	if _, err := groups.Rename(ctx, g.ID, "  "); !errors.Is(err, accounts.ErrInvalidGroup) {
		t.Errorf("rename to blanks: %v", err)
	}
	if got, _ := groups.Get(ctx, g.ID); got.Name != long {
		t.Errorf("a refused rename changed the name to %q", got.Name)
	}
}
