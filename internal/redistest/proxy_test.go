package redistest_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/internal/redistest"
)

// viaProxy returns a client on rdb's database through a new Proxy, that
// does not retry, so each fault shows in the call it hits.
func viaProxy(t *testing.T, rdb *redis.Client, timeout time.Duration) (*redistest.Proxy, *redis.Client) {
	p := redistest.NewProxy(t, rdb.Options().Addr)
	opts := *rdb.Options()
	opts.Addr = p.Addr()
	opts.MaxRetries = -1
	opts.ReadTimeout, opts.WriteTimeout = timeout, timeout
	c := redis.NewClient(&opts)
	t.Cleanup(func() { c.Close() })
	return p, c
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Cut fails calls at once, on pooled connections and new ones alike, and
// after Restore they reach Redis again.
func TestProxyCutFailsCallsAtOnceUntilRestored(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	p, c := viaProxy(t, rdb, 10*time.Second)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	p.Cut()
	for i := range 2 { // the pooled connection, then a new one
		begin := time.Now()
		if err := c.Get(ctx, "k").Err(); err == nil || isTimeout(err) {
			t.Fatalf("call %d while cut: %v, want a connection error", i, err)
		}
		if took := time.Since(begin); took > time.Second {
			t.Fatalf("call %d while cut took %v, want it to fail at once", i, took)
		}
	}
	p.Restore()
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("after Restore: %q, %v", v, err)
	}
}

// Silence makes calls time out without closing their connections, on
// pooled connections and new ones alike, and after Restore calls get
// their own answers again.
func TestProxySilenceTimesCallsOutUntilRestored(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	p, c := viaProxy(t, rdb, 300*time.Millisecond)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	p.Silence()
	if err := c.Set(ctx, "lost", "v", 0).Err(); !isTimeout(err) {
		t.Fatalf("call while silenced: %v, want a timeout", err)
	}
	if err := c.Get(ctx, "k").Err(); !isTimeout(err) {
		t.Fatalf("call on a new connection while silenced: %v, want a timeout", err)
	}
	if n, err := rdb.Exists(ctx, "lost").Result(); err != nil || n != 0 {
		t.Fatalf("a silenced call reached Redis: exists = %d, %v", n, err)
	}
	p.Restore()
	for range 3 {
		if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
			t.Fatalf("after Restore: %q, %v", v, err)
		}
	}
}

// A call on Silent ends only by its context.
func TestSilentNeverAnswers(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: redistest.Silent(t), MaxRetries: -1,
		ReadTimeout: time.Minute, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	begin := time.Now()
	err := c.Ping(ctx).Err()
	if !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
		t.Fatalf("ping: %v, want it to end by its context", err)
	}
	if took := time.Since(begin); took < 150*time.Millisecond {
		t.Fatalf("ping ended after %v, before its context", took)
	}
}
