package worker_test

import (
	"context"
	"testing"
	"time"

	"switchboard/clock"
	"switchboard/conversations"
	"switchboard/routing"
)

// A presence check runs through the queue: the operator whose stream
// closed away_after ago turns away and their unanswered query goes to the
// next operator. The database failing the first return fails the task;
// the queue's retry, which finds her away already, still returns it.
func TestPresenceCheckRunsThroughTheQueueAndIsRetried(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	clk := clock.NewFake(start)
	e := newEnv(t, "", clk)
	ctx := context.Background()
	e.ApplyRouting(t, 1)
	e.online(t, "ana")
	if _, err := e.Service.ApplyInbound(ctx, text("wamid.pres1", "5511900000501", start, 1), nil); err != nil {
		t.Fatal(err)
	}
	qid := e.openQuery(t, "5511900000501")
	if q := e.state(qid); q == nil || q.Assignee != "ana" {
		t.Fatalf("query = %+v, want ana's", q)
	}
	e.online(t, "bruno")
	if err := e.Service.StreamClosed(ctx, "ana", "s1"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(conversations.DefaultAwayAfter)
	fault := e.Repo.FailBefore("ApplyDecision", 1)
	e.startWorker(t, 2)
	// The check the close scheduled is due two real minutes from now;
	// the same check of another second runs now instead.
	if err := e.Queue.SchedulePresenceCheck(ctx, "ana", time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ana's unanswered query to go to bruno", func() bool {
		q := e.state(qid)
		return q != nil && q.State == routing.StateAssigned && q.Assignee == "bruno"
	})
	if p, _ := e.Presence.Presence(ctx, []string{"ana"}); p["ana"] != routing.PresenceAway {
		t.Fatalf("ana is %s, want away", p["ana"])
	}
	if fault.Fired() != 1 {
		t.Fatalf("the fault fired %d times, want once (and the retry did the rest)", fault.Fired())
	}
}
