package conversations_test

import (
	"context"
	"testing"
	"time"

	"switchboard/clock"
	"switchboard/queue"
	"switchboard/routing"
)

// A closed conversation's session timer is dropped at once, both the one
// its decision armed and a re-arm for the session's end: otherwise Redis
// keeps a day of timers for every conversation closed, growing with the
// history rather than the load.
func TestCloseCancelsTheSessionTimers(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	clk := clock.NewFake(start)
	e := newEnv(t, clk)
	ctx := context.Background()
	e.ApplyRouting(t, 2)
	e.online(t, "ana")

	m := text("wamid.c1", "5511900000001", start, 1)
	e.mustDeliver(t, m)
	q := e.openQuery(t, m.From)
	end := start.Add(24 * time.Hour)
	if !e.scheduledAt(t, queue.TypeSessionEnd, q, end) {
		t.Fatalf("no session timer at %v: %v", end, e.timers(t, queue.TypeSessionEnd, q))
	}
	// A timer that fired early re-armed itself for the end.
	clk.Set(end.Add(-time.Minute))
	if err := e.Service.SessionEnd(ctx, q, "1:early"); err != nil {
		t.Fatal(err)
	}
	if got := e.timers(t, queue.TypeSessionEnd, q); len(got) != 2 {
		t.Fatalf("before closing: timers %v, want the first and the re-arm", got)
	}

	closed, err := e.Service.Close(ctx, q, "solved")
	if err != nil {
		t.Fatal(err)
	}
	if closed.State != routing.StateClosed {
		t.Fatalf("closed query is %s", closed.State)
	}
	if got := e.timers(t, queue.TypeSessionEnd, q); len(got) != 0 {
		t.Fatalf("after closing, session timers still scheduled: %v", got)
	}
	// The closed conversation no longer counts against ana's capacity.
	if n, err := e.Service.OperatorLoad(ctx, "ana"); err != nil || n != 0 {
		t.Fatalf("ana's load after closing = %d, %v; want 0", n, err)
	}
}
