package presence_test

import (
	"context"
	"testing"
	"time"

	"switchboard/internal/redistest"
	"switchboard/presence"
	"switchboard/routing"
)

func TestPresenceIsOfflineUntilSetAndRefusesUnknownValues(t *testing.T) {
	ctx := context.Background()
	s := presence.New(redistest.Client(t))
	got, err := s.Presence(ctx, []string{"u_a", "u_b"})
	if err != nil || got["u_a"] != routing.PresenceOffline || got["u_b"] != routing.PresenceOffline {
		t.Fatalf("never set: %v, %v; want both offline", got, err)
	}
	if err := s.SetPresence(ctx, "u_a", routing.PresenceOnline); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPresence(ctx, "u_b", "busy"); err == nil {
		t.Fatal("presence busy accepted")
	}
	got, _ = s.Presence(ctx, []string{"u_a", "u_b"})
	if got["u_a"] != routing.PresenceOnline || got["u_b"] != routing.PresenceOffline {
		t.Fatalf("after setting: %v", got)
	}
	if err := s.Forget(ctx, "u_a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Presence(ctx, []string{"u_a"}); got["u_a"] != routing.PresenceOffline {
		t.Fatalf("forgotten: %v, want offline", got)
	}
}

// Stream leases: the latest lease is when the account was last seen (in
// the future while a stream lives); a closing stream's lease ends at its
// close without cutting short another's; leases long over are forgotten,
// and the key expires once nobody renews.
func TestStreamLeases(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	s := presence.New(rdb)
	if _, seen, err := s.LastLease(ctx, "u_a"); err != nil || seen {
		t.Fatalf("no lease yet: seen %v, %v", seen, err)
	}
	t0 := time.Now().Truncate(time.Millisecond)
	keep := 3 * time.Minute
	if err := s.Lease(ctx, "u_a", "s1", t0.Add(45*time.Second), keep); err != nil {
		t.Fatal(err)
	}
	if err := s.Lease(ctx, "u_a", "s2", t0, keep); err != nil { // s2 closes now
		t.Fatal(err)
	}
	if last, seen, err := s.LastLease(ctx, "u_a"); err != nil || !seen || !last.Equal(t0.Add(45*time.Second)) {
		t.Fatalf("last lease %v (%v, %v), want s1's end", last, seen, err)
	}
	if ttl := rdb.PTTL(ctx, "{sb}:presence:streams:u_a").Val(); ttl <= keep || ttl > keep+46*time.Second {
		t.Fatalf("key TTL %v, want keep past the latest lease", ttl)
	}
	// Much later s1 closes: s2's lease, long over, is forgotten.
	later := t0.Add(time.Hour)
	if err := s.Lease(ctx, "u_a", "s1", later, keep); err != nil {
		t.Fatal(err)
	}
	if n := rdb.ZCard(ctx, "{sb}:presence:streams:u_a").Val(); n != 1 {
		t.Fatalf("%d leases kept, want only s1's", n)
	}
	if err := s.Forget(ctx, "u_a"); err != nil {
		t.Fatal(err)
	}
	if _, seen, _ := s.LastLease(ctx, "u_a"); seen {
		t.Fatal("a forgotten account still has leases")
	}
}
