package presence_test

import (
	"context"
	"testing"

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
