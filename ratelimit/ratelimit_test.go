package ratelimit_test

import (
	"context"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/internal/redistest"
	"switchboard/ratelimit"
)

func TestTakeStopsAtBurstAndSaysHowLongToWait(t *testing.T) {
	l := ratelimit.New(redistest.Client(t))
	ctx := context.Background()
	b := ratelimit.Bucket{Key: ratelimit.Key("wa", "send"), Count: 2, Per: time.Hour, Burst: 2}
	for i := range 2 {
		if ok, _, err := l.Take(ctx, b); err != nil || !ok {
			t.Fatalf("take %d: ok=%v err=%v, want a token", i, ok, err)
		}
	}
	ok, wait, err := l.Take(ctx, b)
	if err != nil || ok {
		t.Fatalf("third take: ok=%v err=%v, want refused", ok, err)
	}
	// Two an hour refills one token in 30 minutes.
	if wait < 29*time.Minute || wait > 30*time.Minute+time.Second {
		t.Fatalf("wait = %v, want about 30m", wait)
	}
}

func TestTakeRefills(t *testing.T) {
	l := ratelimit.New(redistest.Client(t))
	ctx := context.Background()
	b := ratelimit.Bucket{Key: ratelimit.Key("tg", "send"), Count: 20, Per: time.Second, Burst: 1}
	if ok, _, _ := l.Take(ctx, b); !ok {
		t.Fatal("first take refused")
	}
	ok, wait, _ := l.Take(ctx, b)
	if ok {
		t.Fatal("second immediate take allowed past a burst of 1")
	}
	time.Sleep(wait + 20*time.Millisecond)
	if ok, _, err := l.Take(ctx, b); !ok || err != nil {
		t.Fatalf("take after waiting %v: ok=%v err=%v", wait, ok, err)
	}
}

// Rates far from one token per microsecond are where exponent notation
// creeps in (a rate of 5e-12 tokens/µs, a level of 2e-05 tokens): every
// one must work on miniredis's Lua exactly as on Redis's.
func TestTakeAtExtremeRates(t *testing.T) {
	l := ratelimit.New(redistest.Client(t))
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		b            ratelimit.Bucket
		wantMin, max time.Duration
	}{
		{"three a week", ratelimit.Bucket{Key: "week", Count: 3, Per: 7 * 24 * time.Hour, Burst: 1}, 56*time.Hour - time.Second, 56 * time.Hour},
		{"a million a second", ratelimit.Bucket{Key: "fast", Count: 1_000_000, Per: time.Second, Burst: 1}, 0, time.Millisecond},
		{"sub-microsecond period", ratelimit.Bucket{Key: "tiny", Count: 1, Per: time.Nanosecond, Burst: 1}, 0, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ok, _, err := l.Take(ctx, tc.b); err != nil || !ok {
				t.Fatalf("first take: ok=%v err=%v, want a token", ok, err)
			}
			ok, wait, err := l.Take(ctx, tc.b)
			if err != nil {
				t.Fatalf("second take: %v", err)
			}
			if ok {
				return // a fast bucket may have refilled in between
			}
			if wait < tc.wantMin || wait > tc.max {
				t.Fatalf("wait = %v, want between %v and %v", wait, tc.wantMin, tc.max)
			}
		})
	}
}

// The stored level is plain decimal, so what redis-cli shows is readable
// and every Lua reads it back.
func TestBucketStateIsPlainDecimal(t *testing.T) {
	rdb := redistest.Client(t)
	l := ratelimit.New(rdb)
	ctx := context.Background()
	b := ratelimit.Bucket{Key: ratelimit.Key("wa", "send"), Count: 7, Per: 3 * time.Hour, Burst: 3}
	for range 3 {
		if ok, _, err := l.Take(ctx, b); err != nil || !ok {
			t.Fatalf("take: ok=%v err=%v", ok, err)
		}
	}
	state, err := rdb.HGetAll(ctx, ratelimit.Prefix+b.Key).Result()
	if err != nil {
		t.Fatal(err)
	}
	plain := regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
	for _, field := range []string{"tokens", "at"} {
		if !plain.MatchString(state[field]) {
			t.Errorf("%s = %q, want a plain decimal number", field, state[field])
		}
	}
	if tokens, _ := strconv.ParseFloat(state["tokens"], 64); tokens < 0 || tokens >= 0.01 {
		t.Errorf("tokens = %q after taking the whole burst, want about 0", state["tokens"])
	}
}

func TestTakeIsAllOrNothing(t *testing.T) {
	l := ratelimit.New(redistest.Client(t))
	ctx := context.Background()
	send := ratelimit.Bucket{Key: ratelimit.Key("wa", "send"), Count: 10, Per: time.Hour, Burst: 10}
	stranger := ratelimit.Bucket{Key: ratelimit.Key("wa", "new_contact"), Count: 1, Per: time.Hour, Burst: 1}
	if ok, _, _ := l.Take(ctx, send, stranger); !ok {
		t.Fatal("first send to a stranger refused")
	}
	if ok, _, _ := l.Take(ctx, send, stranger); ok {
		t.Fatal("second send to a stranger allowed past its limit")
	}
	// The refused take must not have spent a send token: nine are left.
	for i := range 9 {
		if ok, _, _ := l.Take(ctx, send); !ok {
			t.Fatalf("send %d refused: the refused stranger send spent a token", i+2)
		}
	}
	if ok, _, _ := l.Take(ctx, send); ok {
		t.Fatal("an eleventh send allowed")
	}
}

func TestTakeHoldsUnderConcurrency(t *testing.T) {
	rdb := redistest.Client(t)
	// Two limiters on one Redis stand for two replicas.
	limiters := []*ratelimit.Limiter{ratelimit.New(rdb), ratelimit.New(rdb)}
	b := ratelimit.Bucket{Key: ratelimit.Key("wa", "send"), Count: 1, Per: time.Hour, Burst: 10}
	var granted atomic.Int32
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			ok, _, err := limiters[i%2].Take(context.Background(), b)
			if err != nil {
				t.Error(err)
			}
			if ok {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	if got := granted.Load(); got != 10 {
		t.Fatalf("granted %d tokens from a burst of 10", got)
	}
}

func TestZeroRateIsNoLimit(t *testing.T) {
	l := ratelimit.New(redistest.Client(t))
	for range 100 {
		if ok, _, err := l.Take(context.Background(), ratelimit.Bucket{Key: "x"}); !ok || err != nil {
			t.Fatalf("unlimited bucket refused: %v", err)
		}
	}
}

func TestBucketStateExpires(t *testing.T) {
	rdb := redistest.Client(t)
	l := ratelimit.New(rdb)
	b := ratelimit.Bucket{Key: ratelimit.Key("web", "send"), Count: 100, Per: time.Second, Burst: 5}
	if _, _, err := l.Take(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	ttl, err := rdb.PTTL(context.Background(), ratelimit.Prefix+b.Key).Result()
	if err != nil || ttl <= 0 || ttl > 2*time.Second {
		t.Fatalf("bucket TTL = %v (%v), want about a refill time plus a second", ttl, err)
	}
}

// BenchmarkTake measures a send's rate-limit check against a plain PING,
// the round trip it cannot avoid: the ratio is the script's own cost.
func BenchmarkTake(b *testing.B) {
	rdb := redistest.Client(b)
	l := ratelimit.New(rdb)
	ctx := context.Background()
	send := ratelimit.Bucket{Key: ratelimit.Key("wa", "send"), Count: 1 << 30, Per: time.Second, Burst: 1 << 30}
	stranger := ratelimit.Bucket{Key: ratelimit.Key("wa", "new_contact"), Count: 1 << 30, Per: time.Second, Burst: 1 << 30}
	b.Run("ping", func(b *testing.B) {
		for b.Loop() {
			if err := rdb.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("one_bucket", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := l.Take(ctx, send); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("two_buckets", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := l.Take(ctx, send, stranger); err != nil {
				b.Fatal(err)
			}
		}
	})
}
