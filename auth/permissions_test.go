package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/clock"
	"switchboard/internal/redistest"
)

// When the roles cannot be read, a user with a custom role is not told
// the role does not exist: the failure is Redis's, and says so.
func TestRoleReadFailureIsNotAnUnknownRole(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	roles := auth.NewRoles(rdb)
	if err := roles.Put(ctx, auth.Role{Name: "night-shift", Permissions: []auth.Permission{auth.PermReply}}); err != nil {
		t.Fatal(err)
	}
	// Every read of the custom roles fails.
	redistest.Intercept(rdb).Fail(redistest.And(redistest.Named("hget"), redistest.KeyIs("{sb}:roles")))
	if ok, err := roles.Exists(ctx, "night-shift"); !errors.Is(err, redistest.ErrConnReset) {
		t.Errorf("Exists with Redis failing = %v, %v; want the Redis error", ok, err)
	}
	users := accounts.NewStore(rdb, clock.NewFake(time.Unix(0, 0)), roles.Exists)
	_, err := users.Create(ctx, accounts.User{Name: "Nina", Phone: "+5511900000020", Role: "night-shift"})
	if err == nil || errors.Is(err, accounts.ErrInvalidAccount) || strings.Contains(err.Error(), "unknown role") {
		t.Errorf("create with the roles unreadable: %v; want a Redis error, not a validation one", err)
	}
}
