package events_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"switchboard/auth"
	"switchboard/events"
	"switchboard/internal/redistest"
	"switchboard/store"
)

// A stream that stops reading is dropped once its buffer is full; the
// others get every event, in order, without waiting for it.
func TestSlowStreamIsDroppedAndDoesNotStallOthers(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	h := events.NewHub(rdb, events.Options{Buffer: 8})
	defer h.Close()
	slow, err := h.Subscribe(ctx, "u_slow")
	if err != nil {
		t.Fatal(err)
	}
	fast, err := h.Subscribe(ctx, "u_fast")
	if err != nil {
		t.Fatal(err)
	}
	// A run id keeps other tests' events (pub/sub spans databases) apart.
	run := fmt.Sprintf("q%d-", time.Now().UnixNano())
	// In lockstep: each event is published once the reading stream got
	// the previous one, so only the stream that never reads falls behind.
	const n = 100
	for i := range n {
		want := fmt.Sprintf("%s%d", run, i)
		if err := rdb.Publish(ctx, store.EventsChannel, fmt.Sprintf(`{"type":"state","query_id":"%s"}`, want)).Err(); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(5 * time.Second)
	recv:
		for {
			select {
			case ev := <-fast.Events():
				if !strings.HasPrefix(ev.QueryID, run) {
					continue
				}
				if ev.QueryID != want {
					t.Fatalf("event %d is %s, want %s", i, ev.QueryID, want)
				}
				break recv
			case <-fast.Done():
				t.Fatalf("the reading stream was dropped at event %d", i)
			case <-deadline:
				t.Fatalf("the reading stream did not get event %d of %d", i, n)
			}
		}
	}
	select {
	case <-slow.Done():
		if !slow.Dropped() {
			t.Fatal("the slow stream ended, but not as dropped")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the slow stream was not dropped")
	}
	// Its place is free again.
	again, err := h.Subscribe(ctx, "u_slow")
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
}

// A revocation reaches the streams of that user only.
func TestRevocationReachesTheUsersStreams(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	h := events.NewHub(rdb, events.Options{})
	defer h.Close()
	ana, _ := h.Subscribe(ctx, "u_ana_rev")
	bruno, _ := h.Subscribe(ctx, "u_bruno_rev")
	if err := rdb.Publish(ctx, auth.RevocationsChannel, "u_ana_rev").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ana.Recheck():
	case <-time.After(5 * time.Second):
		t.Fatal("ana's stream was not told to re-check")
	}
	select {
	case <-bruno.Recheck():
		t.Fatal("bruno's stream was told to re-check for ana's revocation")
	default:
	}
}

// The per-user cap refuses one stream too many, and closing frees a place;
// after Close nothing subscribes.
func TestCapAndClose(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	h := events.NewHub(rdb, events.Options{MaxPerUser: 2})
	a, _ := h.Subscribe(ctx, "u_cap")
	if _, err := h.Subscribe(ctx, "u_cap"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe(ctx, "u_cap"); !errors.Is(err, events.ErrTooManyStreams) {
		t.Fatalf("third stream: %v, want ErrTooManyStreams", err)
	}
	a.Close()
	a.Close() // twice is harmless
	if _, err := h.Subscribe(ctx, "u_cap"); err != nil {
		t.Fatalf("after a close: %v", err)
	}
	h.Close()
	select {
	case <-a.Done():
	default:
		t.Fatal("a closed subscription is not done")
	}
	if _, err := h.Subscribe(ctx, "u_other"); !errors.Is(err, events.ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}
