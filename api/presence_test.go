package api_test

import (
	"context"
	"testing"
	"time"

	"switchboard/api"
	"switchboard/conversations"
	"switchboard/queue"
)

// An open event stream holds a presence lease, renewed while it lives;
// closing it ends the lease at the close and schedules the presence check
// that decides away_after later.
func TestEventStreamHoldsAPresenceLease(t *testing.T) {
	w := newConvWorldWith(t, func(o *api.Options) { o.PresenceRenew = time.Hour })
	ctx := context.Background()
	s := openStream(t, w.harness, w.anaT)
	opened := w.clock.Now()
	last, seen, err := w.conv.Presence.LastLease(ctx, w.ana.ID)
	if err != nil || !seen || !last.Equal(opened.Add(3*time.Hour)) {
		t.Fatalf("lease of an open stream: %v (%v, %v), want three renewals ahead", last, seen, err)
	}
	w.clock.Advance(time.Minute)
	s.cancel()
	closed := w.clock.Now()
	deadline := time.Now().Add(within)
	for {
		last, _, err = w.conv.Presence.LastLease(ctx, w.ana.ID)
		if err == nil && last.Equal(closed) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease after the stream closed: %v (%v), want ended at the close %v", last, err, closed)
		}
		time.Sleep(20 * time.Millisecond)
	}
	due := closed.Add(conversations.DefaultAwayAfter)
	tasks, err := w.conv.Inspector.ListScheduledTasks(queue.QueueRouting)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range tasks {
		if tm, err := queue.DecodeTimer(ti.Payload); err == nil && ti.Type == queue.TypePresenceCheck && tm.Key == w.ana.ID && ti.NextProcessAt.Equal(due) {
			return
		}
	}
	t.Fatalf("no presence check of ana at %v", due)
}
