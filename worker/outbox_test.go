package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/conversations"
)

// A message recorded in the history whose send task was never queued
// (Redis failed at that moment) is sent by the workers' outbox sweep:
// the maintenance task finds it and the send reaches the provider once.
func TestTheOutboxSweepSendsARecordedMessage(t *testing.T) {
	graph := newGraphFake(t, func(int) (int, string) { return 200, sentOK("wamid.lost") })
	e := newEnv(t, graph.srv.URL, nil)
	ctx := context.Background()
	now := time.Now()
	if err := e.Queue.EnqueueInbound(ctx, text("wamid.in-outbox", "5511900000041", now.Add(-5*time.Minute), 1)); err != nil {
		t.Fatal(err)
	}
	e.startWorker(t, 2)
	var qid string
	eventually(t, "the customer's conversation", func() bool {
		c, err := e.DB.Conversations().Contact(ctx, conversations.ContactID("wa-main", "5511900000041"))
		if err != nil || c.OpenQuery == "" {
			return false
		}
		qid = c.OpenQuery
		return true
	})
	// Recorded two minutes ago; its send was never queued.
	if _, _, err := e.DB.Conversations().RecordOutbound(ctx, qid, "sb-lost", "ana", "segue o boleto", nil, now.Add(-2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := e.Queue.EnqueueOutbox(ctx, now); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the recorded message sent", func() bool {
		m := e.message(t, qid, "sb-lost")
		return m.Status == channels.StatusSent
	})
	n := 0
	for _, b := range graph.sent() {
		if strings.Contains(b, "segue o boleto") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the provider got the message %d times, want 1", n)
	}
}
