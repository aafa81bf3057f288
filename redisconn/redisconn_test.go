package redisconn_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/config"
	"switchboard/internal/redistest"
	"switchboard/redisconn"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var incr = redis.NewScript(`return redis.call("INCR", KEYS[1])`)

// With redis.wait_replicas, a script's write is acknowledged only once
// that many replicas have it: on a Redis without replicas, never.
func TestWaitReplicasRefusesAnUnreplicatedWrite(t *testing.T) {
	rdb := redistest.Client(t)
	url := redistest.URL(rdb)
	ctx := context.Background()
	conn, err := redisconn.Open(ctx, config.Redis{URL: url, WaitReplicas: 1, WaitTimeout: 50 * time.Millisecond}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = incr.Run(ctx, conn.Acked, []string{"{sb}:test:n"}).Err()
	if !errors.Is(err, redisconn.ErrNotReplicated) {
		t.Fatalf("write on a primary without replicas: %v, want ErrNotReplicated", err)
	}
	// The write happened; only its acknowledgment was refused (a retry of
	// an idempotent enqueue then finds it).
	if n, _ := rdb.Get(ctx, "{sb}:test:n").Int(); n != 1 {
		t.Fatalf("counter = %d", n)
	}
	// Without the setting, the same write is acknowledged at once.
	plain, err := redisconn.Open(ctx, config.Redis{URL: url}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := incr.Run(ctx, plain.Acked, []string{"{sb}:test:n"}).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestNoRedisConfiguredIsEmbedded(t *testing.T) {
	conn, err := redisconn.Open(context.Background(), config.Redis{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if !conn.Embedded || conn.Ping(context.Background()) != nil {
		t.Fatal("no Redis configured should start a working embedded one")
	}
}

// The embedded server expires keys with the wall clock: a dedupe window or
// a lease that never ended would silently break the product.
func TestEmbeddedKeysExpireWithTheWallClock(t *testing.T) {
	conn, err := redisconn.Open(context.Background(), config.Redis{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	if err := conn.Client.Set(ctx, "k", "v", 100*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	// Aged every redisconn.EmbeddedTick: gone within a few ticks.
	deadline := time.Now().Add(5 * redisconn.EmbeddedTick)
	for {
		n, err := conn.Client.Exists(ctx, "k").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a key with a 100ms TTL still exists %v later", 5*redisconn.EmbeddedTick)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
