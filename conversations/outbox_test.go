package conversations_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/channels"
	"switchboard/clock"
	"switchboard/internal/redistest"
	"switchboard/queue"
)

// An operator's reply recorded while Redis fails to take its send is not
// lost, and not answered as a failure the operator would retry (sending
// it twice): the reply succeeds, the message waits queued in the
// history, and the outbox sweep queues its send once the grace has
// passed; sweeping again queues nothing more.
func TestAReplyWhoseSendCouldNotBeQueuedLeavesThroughTheOutbox(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	clk := clock.NewFake(start)
	e := newEnv(t, clk)
	ctx := context.Background()
	e.applyOneOperator(t)
	e.online(t, "ana")
	m := text("wamid.outbox", "5511900000031", start, 1)
	e.mustDeliver(t, m)
	qid := e.openQuery(t, m.From)

	fault := redistest.Once(redistest.ArgsContain(":t:out:wa-main:"))
	svc := e.failingService(t, fault)
	id, err := svc.Reply(ctx, qid, "ana", "segue o boleto")
	if err != nil {
		t.Fatalf("reply: %v, want it recorded and answered as done", err)
	}
	if fault.Fired() != 1 {
		t.Fatalf("fault fired %d times, want 1 (the send's enqueue)", fault.Fired())
	}
	msg, err := e.Service.Message(ctx, qid, id)
	if err != nil || msg.Status != channels.StatusQueued {
		t.Fatalf("message = %+v, %v; want it in the history, queued", msg, err)
	}
	if sends := e.sends(t, qid); len(sends) != 0 {
		t.Fatalf("sends queued %v, want none yet", sends)
	}

	// Within the grace the reply's own call may still be queuing it.
	if n, err := e.Service.RequeueUnsent(ctx); err != nil || n != 0 {
		t.Fatalf("sweep within the grace = %d, %v; want 0", n, err)
	}
	clk.Advance(2 * time.Minute)
	if n, err := e.Service.RequeueUnsent(ctx); err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v; want the one send queued", n, err)
	}
	if sends := e.sends(t, qid); len(sends) != 1 || sends[0] != id {
		t.Fatalf("sends queued %v, want [%s]", sends, id)
	}
	if n, err := e.Service.RequeueUnsent(ctx); err != nil || n != 0 {
		t.Fatalf("second sweep = %d, %v; want 0 (its task is there)", n, err)
	}
	if got := testutil.ToFloat64(e.Metrics.OutboundRequeued.WithLabelValues("wa-main")); got != 1 {
		t.Fatalf("requeued sends counted %v, want 1", got)
	}
	// A day later it is past the window: the sweep leaves it.
	clk.Advance(25 * time.Hour)
	if _, err := e.Inspector.DeleteAllPendingTasks(queue.QueueOutbound); err != nil {
		t.Fatal(err)
	}
	if n, err := e.Service.RequeueUnsent(ctx); err != nil || n != 0 {
		t.Fatalf("sweep a day later = %d, %v; want 0", n, err)
	}
}
