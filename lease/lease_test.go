package lease_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

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
