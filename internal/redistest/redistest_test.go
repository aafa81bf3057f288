package redistest_test

import (
	"context"
	"testing"
	"time"

	"switchboard/internal/redistest"
)

// A key given a TTL is gone once the TTL has passed on the wall clock, on
// the embedded server as on a real Redis: tests of dedupe windows, leases
// and code expiry rely on it.
func TestKeysExpireWithTheWallClock(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	if err := rdb.Set(ctx, "k", "v", 100*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(ctx, "k").Result(); err != nil || n != 1 {
		t.Fatalf("exists right after SET = %d (%v), want 1", n, err)
	}
	time.Sleep(300 * time.Millisecond)
	if n, err := rdb.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("exists 300ms after a SET with a 100ms TTL = %d (%v), want 0", n, err)
	}
	if ttl, err := rdb.PTTL(ctx, "k").Result(); err != nil || ttl != -2*time.Nanosecond {
		t.Fatalf("PTTL of the expired key = %v (%v), want -2 (no such key)", ttl, err)
	}
}
