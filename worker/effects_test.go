package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"switchboard/channels"
	"switchboard/clock"
	"switchboard/internal/redistest"
	"switchboard/queue"
	"switchboard/routing"
	"switchboard/store"
)

// openQuery returns the open query of the customer from on wa-main.
func (e *env) openQuery(t *testing.T, from string) string {
	t.Helper()
	c, err := e.store.Contact(context.Background(), store.ContactID("wa-main", from))
	if err != nil {
		t.Fatal(err)
	}
	return c.OpenQuery
}

// failing returns a hook for the worker's Redis client that fails the
// commands fault lets through (with Once, only the first command, script
// calls included, that it matches), as if Redis had dropped the
// connection. Everything else goes through.
func failing(fault *redistest.Limit) redis.Hook {
	i := &redistest.Interceptor{}
	i.Fail(fault.Match)
	return i
}

// A Redis failure while carrying out a decision (queueing its auto-reply,
// scheduling its release) fails the task; its retry sends the reply and
// schedules the timer, each exactly once.
func TestRoutingEffectsSurviveARedisFault(t *testing.T) {
	for _, tc := range []struct {
		name  string
		match []string
	}{
		{"auto-reply not queued", []string{":t:out:wa-main:"}},
		{"release timer not scheduled", []string{":t:" + queue.TypeRelease + ":"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newGraphFake(t, func(int) (int, string) { return 200, sentOK("wamid.closed1") })
			e := newEnv(t, fake.srv.URL)
			ctx := context.Background()
			applySettings(t, e.db.Settings(), outOfHoursDoc)
			noon := noonAfter(time.Now())
			fault := redistest.Once(redistest.ArgsContain(tc.match...))
			e.startRoutingWorker(t, 4, clock.NewFake(noon), failing(fault))
			for i := range 3 {
				if err := e.queue.EnqueueInbound(ctx, text(fmt.Sprintf("wamid.fault%d", i), "5511900000009", noon.Add(time.Duration(i)*time.Minute), int64(i))); err != nil {
					t.Fatal(err)
				}
			}
			opens := time.Date(noon.Year(), noon.Month(), noon.Day()+1, 0, 0, 0, 0, time.UTC)
			eventually(t, "the reply to reach the provider", func() bool { return fake.calls.Load() >= 1 })
			eventually(t, "the release to be scheduled", func() bool { return e.scheduled(t, queue.TypeRelease, opens) })
			if fault.Fired() != 1 {
				t.Fatalf("fault fired %d times, want 1", fault.Fired())
			}
			time.Sleep(1500 * time.Millisecond) // room for a wrong second send
			if got := fake.calls.Load(); got != 1 {
				t.Fatalf("provider got %d sends, want exactly 1", got)
			}
			qid := e.openQuery(t, "5511900000009")
			if got := e.outboundTexts(t, qid); len(got) != 1 {
				t.Fatalf("history has %d outbound messages %q, want the one reply", len(got), got)
			}
			if got := testutil.ToFloat64(e.metrics.AutoReplies.WithLabelValues("out_of_hours")); got != 1 {
				t.Fatalf("auto-replies counted = %v, want 1", got)
			}
			st, err := e.store.RoutingState(ctx, qid)
			if err != nil || st.Effects != "" {
				t.Fatalf("pending effects left: %q, %v", st.Effects, err)
			}
		})
	}
}

// A redelivered message whose query was applied but never routed (its
// worker died) is routed by the redelivery, even when reading the routing
// state fails once: the task is retried, not acknowledged.
func TestRedeliveryRoutesDespiteARoutingStateReadFault(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	applySettings(t, e.db.Settings(), outOfHoursDoc)
	noon := noonAfter(time.Now())
	m := text("wamid.redeliver", "5511900000011", noon, 1)
	body, _ := json.Marshal(m)
	if _, err := store.New(e.rdb, clock.NewFake(noon)).ApplyInbound(ctx, m, body); err != nil {
		t.Fatal(err)
	}
	qid := e.openQuery(t, m.From)
	fault := redistest.Once(redistest.ArgsContain("hmget", qid, "routing", "rv"))
	e.startRoutingWorker(t, 2, clock.NewFake(noon), failing(fault))
	if err := e.queue.EnqueueInbound(ctx, m); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the redelivered message's query to be routed", func() bool {
		st, err := e.store.RoutingState(ctx, qid)
		return err == nil && st.Query.State == routing.StatePending && st.Query.QueuedUntilOpen
	})
	if fault.Fired() != 1 {
		t.Fatalf("fault fired %d times, want 1", fault.Fired())
	}
}

// A session timer that fires early re-arms itself for the session's end;
// when Redis fails that once, the timer task is retried and re-arms it.
func TestSessionTimerReArmSurvivesARedisFault(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	applySettings(t, e.db.Settings(), `
default_query_type: sales
query_types:
  - {id: sales, operators: [ana], strategy: round_robin}
operators:
  - {id: ana, capacity: 1}
`)
	e.online(t, "ana")
	start := time.Now().Truncate(time.Second)
	clk := clock.NewFake(start)
	m := text("wamid.rearm", "5511900000012", start, 1)
	end := start.Add(24 * time.Hour)
	// Only the re-arm for the session's end carries the end in its id.
	fault := redistest.Once(redistest.ArgsContain(":t:"+queue.TypeSessionEnd+":", fmt.Sprintf(":1:%d", end.Unix())))
	e.startRoutingWorker(t, 2, clk, failing(fault))
	if err := e.queue.EnqueueInbound(ctx, m); err != nil {
		t.Fatal(err)
	}
	eventually(t, "assignment to ana", func() bool {
		c, err := e.store.Contact(ctx, store.ContactID("wa-main", m.From))
		if err != nil {
			return false
		}
		st, err := e.store.RoutingState(ctx, c.OpenQuery)
		return err == nil && st.Query.Assignee == "ana"
	})
	qid := e.openQuery(t, m.From)
	rearmed := fmt.Sprintf("%s:%s:1:%d", queue.TypeSessionEnd, qid, end.Unix())
	clk.Set(end.Add(-time.Minute))
	if err := e.queue.ScheduleTimer(ctx, queue.TypeSessionEnd, queue.Timer{QueryID: qid, Key: "1:early"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the early timer to re-arm for the session end", func() bool {
		ti, err := e.insp.GetTaskInfo(queue.QueueRouting, rearmed)
		return err == nil && ti.NextProcessAt.Equal(end)
	})
	if fault.Fired() != 1 {
		t.Fatalf("fault fired %d times, want 1", fault.Fired())
	}
}

// An auto-reply is a free-form message: outside the 24-hour window (here a
// message redelivered 25 hours late) it is not sent at all, while the
// decision itself still applies.
func TestAutoReplyOutsideTheWindowIsNotSent(t *testing.T) {
	fake := newGraphFake(t, func(int) (int, string) { return 200, sentOK("wamid.never") })
	e := newEnv(t, fake.srv.URL)
	ctx := context.Background()
	applySettings(t, e.db.Settings(), outOfHoursDoc)
	noon := noonAfter(time.Now())
	e.startRoutingWorker(t, 2, clock.NewFake(noon))
	if err := e.queue.EnqueueInbound(ctx, text("wamid.late", "5511900000013", noon.Add(-25*time.Hour), 1)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the message", func() bool { return e.inboundProcessed() == 1 })
	qid := e.openQuery(t, "5511900000013")
	eventually(t, "the decision", func() bool {
		st, err := e.store.RoutingState(ctx, qid)
		return err == nil && st.Query.QueuedUntilOpen
	})
	time.Sleep(500 * time.Millisecond) // room for a wrong reply
	if got := e.outboundTexts(t, qid); len(got) != 0 {
		t.Fatalf("auto-replies %q sent outside the window", got)
	}
	if fake.calls.Load() != 0 || testutil.ToFloat64(e.metrics.AutoReplies.WithLabelValues("out_of_hours")) != 0 {
		t.Fatalf("provider got %d sends, want none", fake.calls.Load())
	}
	if got := testutil.ToFloat64(e.metrics.WindowRejections); got != 1 {
		t.Fatalf("window rejections = %v, want 1", got)
	}
}

// A text recorded inside the window but still waiting when it closed is
// failed as window_closed at send time, never sent.
func TestQueuedTextWhoseWindowClosedIsNotSent(t *testing.T) {
	fake := newGraphFake(t, func(int) (int, string) { return 200, sentOK("wamid.never") })
	e := newEnv(t, fake.srv.URL)
	qid, msgID := e.newQueryWithReply(t, "late reply")
	st, err := e.store.RoutingState(context.Background(), qid)
	if err != nil {
		t.Fatal(err)
	}
	e.startRoutingWorker(t, 2, clock.NewFake(st.LastInboundAt.Add(routing.ServiceWindow)))
	eventually(t, "the send to fail", func() bool {
		m, err := e.store.Message(context.Background(), qid, msgID)
		return err == nil && m.Status == channels.StatusFailed
	})
	m, _ := e.store.Message(context.Background(), qid, msgID)
	if m.Error == nil || m.Error.Title != channels.WindowClosedTitle {
		t.Fatalf("error = %+v, want window_closed", m.Error)
	}
	if fake.calls.Load() != 0 {
		t.Fatalf("provider got %d sends, want none", fake.calls.Load())
	}
	if got := testutil.ToFloat64(e.metrics.WindowRejections); got != 1 {
		t.Fatalf("window rejections = %v, want 1", got)
	}
}
