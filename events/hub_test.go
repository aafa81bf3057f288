package events_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/auth"
	"switchboard/events"
	"switchboard/internal/redistest"
	"switchboard/redisconn"
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
		if err := rdb.Publish(ctx, events.Channel, fmt.Sprintf(`{"type":"state","query_id":"%s"}`, want)).Err(); err != nil {
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

// When the one subscription loses Redis and go-redis subscribes again,
// what was published meanwhile is gone: every stream ends as dropped, so
// its client reconnects and refetches instead of showing a stale view.
// The hub itself keeps working on the new connection.
func TestStreamsEndWhenTheSubscriptionReconnects(t *testing.T) {
	m, err := redisconn.StartEmbedded(redisconn.EmbeddedTick)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	h := events.NewHub(rdb, events.Options{})
	defer h.Close()
	s, err := h.Subscribe(ctx, "u_a")
	if err != nil {
		t.Fatal(err)
	}
	m.Close() // Redis restarts: the subscription's connection drops
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
		if !s.Dropped() {
			t.Fatal("the stream ended but not as dropped: its client would not refetch")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the stream kept going after its subscription reconnected")
	}
	// A new stream gets what is published from now on.
	s2, err := h.Subscribe(ctx, "u_a")
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := rdb.Publish(ctx, events.Channel, `{"type":"state","query_id":"q-after"}`).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-s2.Events():
		if ev.QueryID != "q-after" {
			t.Fatalf("event %s, want q-after", ev.QueryID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event after the reconnect")
	}
}

// Opening the subscription holds no lock the rest of the hub needs: while
// one stream waits on a stalled Redis, another opening waits no longer
// than its own context, and Close does not wait at all.
func TestSubscribeToAStalledRedisHoldsNoLock(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Silent(t), ReadTimeout: time.Minute, MaxRetries: -1})
	defer rdb.Close()
	h := events.NewHub(rdb, events.Options{})
	first := make(chan error, 1)
	go func() {
		_, err := h.Subscribe(context.Background(), "u_a")
		first <- err
	}()
	time.Sleep(200 * time.Millisecond) // the first is now stuck on Redis
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	second := make(chan error, 1)
	go func() {
		_, err := h.Subscribe(ctx, "u_b")
		second <- err
	}()
	select {
	case err := <-second:
		if err == nil {
			t.Fatal("subscribed to a Redis that never answered")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a stream opening waited past its context behind another's stalled subscribe")
	}
	closed := make(chan struct{})
	go func() { h.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited on a stalled Redis")
	}
	select {
	case err := <-first:
		t.Fatalf("the stalled subscribe returned early: %v", err)
	default:
	}
}
