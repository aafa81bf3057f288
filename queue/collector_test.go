package queue_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"switchboard/internal/redistest"
	"switchboard/queue"
)

// A linked device's send queue is reported beside the shared queues once
// it exists, so its latency and archived sends can be alerted on.
func TestCollectorReportsLinkedDeviceQueues(t *testing.T) {
	rdb := redistest.Client(t)
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	insp := asynq.NewInspectorFromRedisClient(rdb)
	defer insp.Close()
	q := queue.NewClient(client, time.Hour)
	q.HoldChannels("wa-linked")
	if err := q.EnqueueOutbound(context.Background(), queue.Outbound{Channel: "wa-linked", QueryID: "q", MessageID: "sb-1"}); err != nil {
		t.Fatal(err)
	}
	c := queue.NewCollector(insp, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if n := testutil.CollectAndCount(c, "switchboard_queue_latency_seconds"); n != 6 {
		t.Fatalf("latency series = %d, want the five shared queues and channel:wa-linked", n)
	}
	out, err := testutil.CollectAndFormat(c, expfmt.TypeTextPlain, "switchboard_queue_tasks")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `switchboard_queue_tasks{queue="channel:wa-linked",state="pending"} 1`) {
		t.Fatalf("no pending send reported for the linked device's queue:\n%s", out)
	}
}
