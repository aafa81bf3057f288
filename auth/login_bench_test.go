package auth_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/clock"
	"switchboard/internal/dbtest"
	"switchboard/internal/redistest"
)

// pushSender queues a code as one Redis write, like the OTP queue.
type pushSender struct{ rdb *redis.Client }

func (p pushSender) SendCode(ctx context.Context, _, code string, _ time.Time) error {
	return p.rdb.RPush(ctx, "{sb}:test:queued", code).Err()
}

// BenchmarkRequestCode times a code request for numbers with and without
// an account; the two should match (run with REDIS_URL and
// SWITCHBOARD_TEST_POSTGRES for real round trips). Each iteration uses a fresh number and client IP, so no limit
// is reached.
func BenchmarkRequestCode(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Client(b)
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	db := dbtest.Open(b)
	roles := auth.NewRoles(db.Roles())
	users := accounts.NewStore(db.Accounts(), clk, roles.Exists)
	login, err := auth.NewLogin(rdb, auth.LoginOptions{Users: users, Clock: clk, Secret: []byte("test-secret-0123456789"),
		Sender: pushSender{rdb}, Audit: auth.NewAudit(db.Audit(), clk, nil), Logger: slog.Default()})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, known := range []bool{true, false} {
		name := map[bool]string{true: "known", false: "unknown"}[known]
		b.Run(name, func(b *testing.B) {
			phones := make([]string, b.N)
			for i := range phones {
				n++
				phones[i] = fmt.Sprintf("+55119%08d", n)
				if known {
					if _, err := users.Create(ctx, accounts.User{Name: "U", Phone: phones[i], Role: auth.RoleOperator}); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ResetTimer()
			for i := range b.N {
				if _, err := login.RequestCode(ctx, phones[i], fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			login.Wait()
		})
	}
}
