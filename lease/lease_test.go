package lease_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/internal/redistest"
	"switchboard/lease"
)

func TestLeaseIsExclusiveRenewableAndReleasable(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	a, _ := lease.New(rdb, "channel:wa", "pod-a", time.Minute)
	b, _ := lease.New(rdb, "channel:wa", "pod-b", time.Minute)
	if ok, err := a.Acquire(ctx); !ok || err != nil {
		t.Fatalf("a: %v %v", ok, err)
	}
	if ok, err := a.Acquire(ctx); !ok || err != nil {
		t.Fatalf("a again: %v %v, want still held", ok, err)
	}
	if ok, _ := b.Acquire(ctx); ok {
		t.Fatal("b acquired a held lease")
	}
	if err := b.Renew(ctx); !errors.Is(err, lease.ErrLost) {
		t.Fatalf("b renewed a lease it does not hold: %v", err)
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if h, _ := lease.Holder(ctx, rdb, "channel:wa"); !strings.HasPrefix(h, "pod-a/") {
		t.Fatalf("holder = %q: b's release removed a's lease", h)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.Acquire(ctx); !ok {
		t.Fatal("b could not acquire a released lease")
	}
}

func TestLeaseExpiresWithoutRenewal(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	a, _ := lease.New(rdb, "channel:wa", "pod-a", 200*time.Millisecond)
	b, _ := lease.New(rdb, "channel:wa", "pod-b", 200*time.Millisecond)
	if ok, _ := a.Acquire(ctx); !ok {
		t.Fatal("a")
	}
	time.Sleep(300 * time.Millisecond)
	if ok, _ := b.Acquire(ctx); !ok {
		t.Fatal("b could not take over an expired lease")
	}
	if err := a.Renew(ctx); !errors.Is(err, lease.ErrLost) {
		t.Fatalf("a renewed after losing the lease: %v", err)
	}
}

// Keep renews a held lease, and its context ends with ErrLost once another
// process has taken the lease.
func TestKeepEndsWhenTheLeaseIsLost(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	l, _ := lease.New(rdb, "channel:wa", "pod-a", 300*time.Millisecond)
	if ok, err := l.Acquire(ctx); !ok || err != nil {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	held, stop := lease.Keep(ctx, l, slog.New(slog.DiscardHandler))
	defer stop()
	time.Sleep(500 * time.Millisecond) // past the TTL: only renewals keep it
	if held.Err() != nil {
		t.Fatalf("kept lease ended: %v", context.Cause(held))
	}
	if h, _ := lease.Holder(ctx, rdb, "channel:wa"); h != l.Owner() {
		t.Fatalf("lease held by %q after its TTL, want renewed by %q", h, l.Owner())
	}
	if err := rdb.Set(ctx, lease.Prefix+"channel:wa", "pod-b/x", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held.Done():
		if !errors.Is(context.Cause(held), lease.ErrLost) {
			t.Fatalf("cause = %v, want ErrLost", context.Cause(held))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Keep's context did not end after the lease was lost")
	}
}

// failRenewals fails the next n lease renewals (script calls) on the
// client it is added to, as a Redis blip would; n < 0 fails them all.
type failRenewals struct {
	mu    sync.Mutex
	n     int
	tries int
}

func (f *failRenewals) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f *failRenewals) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if name := cmd.Name(); name == "evalsha" || name == "eval" {
			f.mu.Lock()
			f.tries++
			fail := f.n != 0
			if f.n > 0 {
				f.n--
			}
			f.mu.Unlock()
			if fail {
				err := errors.New("injected: connection reset")
				cmd.SetErr(err)
				return err
			}
		}
		return next(ctx, cmd)
	}
}

func (f *failRenewals) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// One failed renewal is retried within the third of the TTL still safe,
// so a Redis blip does not cost a linked device its lease.
func TestKeepSurvivesOneFailedRenewal(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	const ttl = 1500 * time.Millisecond
	l, _ := lease.New(rdb, "channel:wa", "pod-a", ttl)
	if ok, err := l.Acquire(ctx); !ok || err != nil {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	fail := &failRenewals{n: 1}
	rdb.AddHook(fail)
	held, stop := lease.Keep(ctx, l, slog.New(slog.DiscardHandler))
	defer stop()
	time.Sleep(2 * ttl)
	if held.Err() != nil {
		t.Fatalf("lease given up after one failed renewal: %v", context.Cause(held))
	}
	if h, _ := lease.Holder(ctx, rdb, "channel:wa"); h != l.Owner() {
		t.Fatalf("lease held by %q, want renewed by %q", h, l.Owner())
	}
}

// A lasting failure still ends the lease, before it could expire in Redis
// and another process take it over.
func TestKeepGivesUpBeforeTheLeaseCouldExpire(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	const ttl = 1500 * time.Millisecond
	l, _ := lease.New(rdb, "channel:wa", "pod-a", ttl)
	acquired := time.Now()
	if ok, err := l.Acquire(ctx); !ok || err != nil {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	fail := &failRenewals{n: -1}
	rdb.AddHook(fail)
	held, stop := lease.Keep(ctx, l, slog.New(slog.DiscardHandler))
	defer stop()
	select {
	case <-held.Done():
		if since := time.Since(acquired); since >= ttl {
			t.Fatalf("lease given up %v after it was taken, at or past its TTL %v", since, ttl)
		}
		if !errors.Is(context.Cause(held), lease.ErrLost) {
			t.Fatalf("cause = %v, want ErrLost", context.Cause(held))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Keep's context did not end while renewals kept failing")
	}
	fail.mu.Lock()
	defer fail.mu.Unlock()
	if fail.tries < 2 {
		t.Fatalf("%d renewal tries before giving up, want retries", fail.tries)
	}
}
