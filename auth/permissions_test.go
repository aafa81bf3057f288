package auth_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/clock"
	"switchboard/internal/redistest"
)

// failRoles wraps the real client and fails every read of the custom roles.
type failRoles struct{}

var errDown error = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}

func (failRoles) DialHook(next redis.DialHook) redis.DialHook { return next }

func (failRoles) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "hget" && len(cmd.Args()) > 1 && cmd.Args()[1] == "{sb}:roles" {
			cmd.SetErr(errDown)
			return errDown
		}
		return next(ctx, cmd)
	}
}

func (failRoles) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// When the roles cannot be read, a user with a custom role is not told
// the role does not exist: the failure is Redis's, and says so.
func TestRoleReadFailureIsNotAnUnknownRole(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	roles := auth.NewRoles(rdb)
	if err := roles.Put(ctx, auth.Role{Name: "night-shift", Permissions: []auth.Permission{auth.PermReply}}); err != nil {
		t.Fatal(err)
	}
	rdb.AddHook(failRoles{})
	if ok, err := roles.Exists(ctx, "night-shift"); !errors.Is(err, errDown) {
		t.Errorf("Exists with Redis failing = %v, %v; want the Redis error", ok, err)
	}
	users := accounts.NewStore(rdb, clock.NewFake(time.Unix(0, 0)), roles.Exists)
	_, err := users.Create(ctx, accounts.User{Name: "Nina", Phone: "+5511900000020", Role: "night-shift"})
	if err == nil || errors.Is(err, accounts.ErrInvalidAccount) || strings.Contains(err.Error(), "unknown role") {
		t.Errorf("create with the roles unreadable: %v; want a Redis error, not a validation one", err)
	}
}
