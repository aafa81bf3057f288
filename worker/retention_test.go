package worker_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/clock"
	"switchboard/queue"
	"switchboard/worker"
)

// The retention task empties the words of closed conversations whose
// newest message is older than retention.messages, and only those: a
// recently closed conversation and an open one keep theirs.
func TestRetentionEmptiesOnlyOldClosedConversations(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	e := newEnv(t, "", clk)
	ctx := context.Background()
	apply := func(id, from string, at time.Time) string {
		t.Helper()
		m := text(id, from, at, at.UnixNano())
		body, _ := json.Marshal(m)
		if _, err := e.Service.ApplyInbound(ctx, m, body); err != nil {
			t.Fatal(err)
		}
		return e.openQuery(t, from)
	}
	old := apply("wamid.old", "5511900000001", t0)
	recent := apply("wamid.recent", "5511900000002", t0.Add(35*24*time.Hour))
	open := apply("wamid.open", "5511900000003", t0)
	for _, q := range []string{old, recent} {
		if _, err := e.Service.Close(ctx, q, "solved"); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(t0.Add(40 * 24 * time.Hour))
	w := worker.New(worker.Options{Conversations: e.Service, Channels: e.chans, Metrics: e.Metrics, Logger: logger,
		Clock: clk, RetainMessages: 30 * 24 * time.Hour})
	if err := w.Mux().ProcessTask(ctx, asynq.NewTask(queue.TypeRetention, nil)); err != nil {
		t.Fatal(err)
	}
	for q, purged := range map[string]bool{old: true, recent: false, open: false} {
		h := e.history(t, q)
		if len(h) != 1 {
			t.Fatalf("%s: %d messages, want 1 (retention keeps the row)", q, len(h))
		}
		m := h[0]
		if m.Purged != purged || (m.Inbound == nil) != purged {
			t.Fatalf("%s: purged=%v inbound=%v, want purged=%v", q, m.Purged, m.Inbound != nil, purged)
		}
		if !purged && m.Inbound.Text == "" {
			t.Fatalf("%s lost its text", q)
		}
	}
	if n := testutil.ToFloat64(e.Metrics.RetentionPurged); n != 1 {
		t.Fatalf("switchboard_retention_purged_messages_total = %v, want 1", n)
	}
}
