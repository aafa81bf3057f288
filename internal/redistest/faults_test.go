package redistest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"

	"switchboard/internal/redistest"
)

// A command Fail matches fails unsent with ErrConnReset, and so does the
// pipeline it is in; other commands, and every command once disarmed, go
// through.
func TestFailFailsMatchingCommandsAndTheirPipelines(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	faults := redistest.Intercept(rdb)
	faults.Fail(redistest.KeyIs("down"))
	if err := rdb.Set(ctx, "down", "v", 0).Err(); !errors.Is(err, redistest.ErrConnReset) {
		t.Fatalf("SET on the failing key: %v, want ErrConnReset", err)
	}
	if err := rdb.Set(ctx, "up", "v", 0).Err(); err != nil {
		t.Fatalf("SET on another key: %v", err)
	}
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, "up:n")
		p.Incr(ctx, "down")
		return nil
	})
	if !errors.Is(err, redistest.ErrConnReset) {
		t.Fatalf("pipeline touching the failing key: %v, want ErrConnReset", err)
	}
	faults.Fail(nil)
	if n, err := rdb.Exists(ctx, "down", "up:n").Result(); err != nil || n != 0 {
		t.Fatalf("failed commands reached Redis: exists = %d, %v", n, err)
	}
	if err := rdb.Set(ctx, "down", "v", 0).Err(); err != nil {
		t.Fatalf("SET once disarmed: %v", err)
	}
}

// After sees a command once it has taken effect, and an error from it is
// what the caller gets.
func TestAfterRunsOnceTheCommandHasTakenEffect(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	other := redis.NewClient(rdb.Options())
	defer other.Close()
	redistest.Intercept(rdb).After(func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "set" {
			return nil
		}
		if v, err := other.Get(ctx, "k").Result(); err != nil || v != "v" {
			t.Errorf("after SET, k = %q, %v", v, err)
		}
		return redistest.ErrConnReset
	})
	if err := rdb.Set(ctx, "k", "v", 0).Err(); !errors.Is(err, redistest.ErrConnReset) {
		t.Fatalf("SET with its reply lost: %v, want ErrConnReset", err)
	}
}

// Once matches the first matching command and no other, and counts it.
func TestOnceMatchesOnce(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	once := redistest.Once(redistest.And(redistest.Named("incr"), redistest.KeyPrefixed("n:")))
	redistest.Intercept(rdb).Fail(once.Match)
	if err := rdb.Incr(ctx, "other").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Incr(ctx, "n:1").Err(); !errors.Is(err, redistest.ErrConnReset) {
		t.Fatalf("first INCR: %v, want ErrConnReset", err)
	}
	if err := rdb.Incr(ctx, "n:1").Err(); err != nil {
		t.Fatalf("second INCR: %v", err)
	}
	if once.Fired() != 1 {
		t.Fatalf("fired %d times, want 1", once.Fired())
	}
}

// FirstKey finds a script's first key past the script and key count, and
// ArgsContain looks across all the arguments.
func TestFirstKeyAndArgsContain(t *testing.T) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	defer rdb.Close()
	var seen []redis.Cmder
	redistest.Intercept(rdb).Before(func(_ context.Context, cmd redis.Cmder) error {
		seen = append(seen, cmd)
		return redistest.ErrConnReset
	})
	rdb.EvalSha(ctx, "abc", []string{"k1", "k2"}, "a1")
	rdb.Eval(ctx, "return 1", nil, "a1")
	rdb.HGet(ctx, "h", "f")
	for i, want := range []string{"k1", "", "h"} {
		if got := redistest.FirstKey(seen[i]); got != want {
			t.Errorf("FirstKey(%v) = %q, want %q", seen[i].Args(), got, want)
		}
	}
	if !redistest.ArgsContain("sha abc", "k2 a1")(seen[0]) || redistest.ArgsContain("k3")(seen[0]) {
		t.Errorf("ArgsContain on %v", seen[0].Args())
	}
}
