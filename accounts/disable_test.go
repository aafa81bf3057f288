package accounts_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/clock"
	"switchboard/internal/dbtest"
	"switchboard/internal/redistest"
)

// errDBDown is what faultyAccounts fails with: the database connection lost.
var errDBDown = errors.New("database connection reset")

// faultyAccounts wraps the real repository and fails its writes while
// failing is set, as a database going away would.
type faultyAccounts struct {
	accounts.Repository
	failing atomic.Bool
}

func (f *faultyAccounts) Update(ctx context.Context, u *accounts.User) error {
	if f.failing.Load() {
		return errDBDown
	}
	return f.Repository.Update(ctx, u)
}

func (f *faultyAccounts) Delete(ctx context.Context, id string) error {
	if f.failing.Load() {
		return errDBDown
	}
	return f.Repository.Delete(ctx, id)
}

type codes struct {
	mu   sync.Mutex
	last string
}

func (c *codes) SendCode(_ context.Context, _, code string, _ time.Time) error {
	c.mu.Lock()
	c.last = code
	c.mu.Unlock()
	return nil
}

// Disabling or deleting a user revokes their tokens first: when the store
// fails after that, the user's tokens are already dead, and when all goes
// well the user is disabled (or gone) with no session left.
func TestDisableAndDeleteRevokeTokensFirst(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	faults := redistest.Intercept(rdb)
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	db := dbtest.Open(t)
	repo := &faultyAccounts{Repository: db.Accounts()}
	roles := auth.NewRoles(db.Roles())
	users := accounts.NewStore(repo, clk, roles.Exists)
	sent := &codes{}
	login, err := auth.NewLogin(rdb, auth.LoginOptions{Users: users, Clock: clk, Secret: []byte("test-secret-0123456789"), Sender: sent})
	if err != nil {
		t.Fatal(err)
	}
	token := func(u *accounts.User) string {
		t.Helper()
		rdb.Del(ctx, mustKeys(t, rdb, "{sb}:otp:cool:*")...)
		if _, err := login.RequestCode(ctx, u.Phone, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		login.Wait() // the code is queued in the background
		s, _, err := login.Verify(ctx, u.Phone, sent.last, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		return s.Token
	}
	live := func(tok string) bool {
		_, err := login.Authenticate(ctx, tok)
		if err != nil && !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatal(err)
		}
		return err == nil
	}
	ana, err := users.Create(ctx, accounts.User{Name: "Ana", Phone: "+5511900000001", Role: auth.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}

	for _, op := range []struct {
		name string
		run  func(id string) error
	}{
		{"disable", func(id string) error { _, err := users.Disable(ctx, id, login); return err }},
		{"delete", func(id string) error { return users.Delete(ctx, id, login) }},
	} {
		tok := token(ana)
		// The user's record cannot be written.
		repo.failing.Store(true)
		if err := op.run(ana.ID); !errors.Is(err, errDBDown) {
			t.Fatalf("%s with the user's record failing: %v", op.name, err)
		}
		repo.failing.Store(false)
		if live(tok) {
			t.Fatalf("%s failed midway and left the user's token live", op.name)
		}
		// The revocation fails: the user must not end up disabled (or
		// gone) with their token still stored.
		tok = token(ana)
		faults.Fail(redistest.KeyIs("{sb}:user:tokens:" + ana.ID))
		if err := op.run(ana.ID); !errors.Is(err, redistest.ErrConnReset) {
			t.Fatalf("%s with revocation failing: %v", op.name, err)
		}
		faults.Fail(nil)
		if u, err := users.Get(ctx, ana.ID); err != nil || u.Status != accounts.StatusActive {
			t.Fatalf("%s failed to revoke, yet the user is %+v, %v: stopped with a live token", op.name, u, err)
		}
		if !live(tok) {
			t.Fatalf("%s: revocation failed, yet the token is gone", op.name)
		}
		if err := op.run(ana.ID); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		if live(tok) {
			t.Fatalf("after %s, the token still works", op.name)
		}
		switch u, err := users.Get(ctx, ana.ID); {
		case op.name == "disable" && (err != nil || u.Status != accounts.StatusDisabled):
			t.Fatalf("after disable: %+v, %v", u, err)
		case op.name == "delete" && !errors.Is(err, accounts.ErrNotFound):
			t.Fatalf("after delete: %+v, %v", u, err)
		}
		if op.name == "disable" { // active again, for the delete round
			u, _ := users.Get(ctx, ana.ID)
			u.Status = accounts.StatusActive
			if _, err := users.Update(ctx, *u); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func mustKeys(t *testing.T, rdb *redis.Client, pattern string) []string {
	t.Helper()
	keys, err := rdb.Keys(context.Background(), pattern).Result()
	if err != nil {
		t.Fatal(err)
	}
	return append(keys, "{sb}:none")
}
