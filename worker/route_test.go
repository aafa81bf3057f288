package worker_test

// The routing rules themselves are tested on the conversations service
// (conversations/route_test.go and beside it). These tests show that the
// worker's tasks reach them: inbound messages, timers and dispatches run
// through the queue, and a failing step is retried by the queue and done
// once, down to the send reaching the provider.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"switchboard/clock"
	"switchboard/conversations"
	"switchboard/internal/convtest"
	"switchboard/internal/redistest"
	"switchboard/queue"
	"switchboard/routing"
)

// noonAfter is the first noon (UTC) after from: closed under
// convtest.OutOfHoursDoc, with the next opening at the following midnight, which is
// after from too. asynq schedules by the real clock, so a test's fake
// clock must not lie before the real now, or the release it schedules
// would already be due.
func noonAfter(from time.Time) time.Time {
	y, m, d := from.UTC().Date()
	return time.Date(y, m, d+1, 12, 0, 0, 0, time.UTC)
}

// online sets operators online, as their consoles do.
func (e *env) online(t testing.TB, ops ...string) {
	t.Helper()
	for _, op := range ops {
		if err := e.Service.SetPresence(context.Background(), op, routing.PresenceOnline); err != nil {
			t.Fatal(err)
		}
	}
}

// state reads a query's routing state; nil while it cannot be read.
func (e *env) state(queryID string) *routing.Query {
	st, err := e.Service.State(context.Background(), queryID)
	if err != nil {
		return nil
	}
	return &st.Query
}

// scheduled reports whether a routing timer of type typ is scheduled for at.
func (e *env) scheduled(t testing.TB, typ string, at time.Time) bool {
	t.Helper()
	tasks, err := e.Inspector.ListScheduledTasks(queue.QueueRouting)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range tasks {
		if ti.Type == typ && ti.NextProcessAt.Equal(at) {
			return true
		}
	}
	return false
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

// The dispatch a console's coming online queues, and a session-end timer,
// run through the queue: the operator gets the oldest waiting query, and
// when its session ends their freed seat goes to the next one.
func TestRoutingTimersAndDispatchRunThroughTheQueue(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	clk := clock.NewFake(start)
	e := newEnv(t, "", clk)
	ctx := context.Background()
	e.ApplyRouting(t, 1)
	e.startWorker(t, 4)
	froms := []string{"5511900000101", "5511900000102"}
	for i, from := range froms {
		// Each routed as it arrives, a second apart: the first waits longer.
		clk.Set(start.Add(time.Duration(i) * time.Second))
		if err := e.Queue.EnqueueInbound(ctx, text(fmt.Sprintf("wamid.wait%d", i), from, clk.Now(), int64(i))); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the query to wait in the pool", func() bool {
			q := e.state(e.contactQuery(from))
			return q != nil && q.State == routing.StatePending && q.Type == "sales"
		})
	}
	q0, q1 := e.openQuery(t, froms[0]), e.openQuery(t, froms[1])

	e.online(t, "bruno") // queues bruno's dispatch
	eventually(t, "bruno to get the oldest waiting query", func() bool {
		q := e.state(q0)
		return q != nil && q.State == routing.StateAssigned && q.Assignee == "bruno"
	})
	time.Sleep(200 * time.Millisecond)
	if q := e.state(q1); q == nil || q.State != routing.StatePending {
		t.Fatalf("bruno (capacity 1) also got the second query: %+v", q)
	}

	// The session timer the assignment armed is due at the real end, a
	// day away; the same timer (cycle 1, another key) fires now instead.
	clk.Set(start.Add(24 * time.Hour))
	if err := e.Queue.ScheduleTimer(ctx, queue.TypeSessionEnd, queue.Timer{QueryID: q0, Key: "1:now"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first query's session to end", func() bool {
		q := e.state(q0)
		return q != nil && q.State == routing.StateInactive && q.Assignee == ""
	})
	eventually(t, "bruno's freed seat to go to the waiting query", func() bool {
		q := e.state(q1)
		return q != nil && q.State == routing.StateAssigned && q.Assignee == "bruno"
	})
	if got := testutil.ToFloat64(e.Metrics.WindowExpirations); got != 1 {
		t.Fatalf("window expirations = %v, want 1", got)
	}
}

// contactQuery is the open query of the customer from on wa-main; "" until
// their first message is applied.
func (e *env) contactQuery(from string) string {
	c, err := e.Service.Contact(context.Background(), conversations.ContactID("wa-main", from))
	if err != nil {
		return ""
	}
	return c.OpenQuery
}

// A failure in the middle of routing (Redis refusing the auto-reply's
// send task, or the database committing and the worker failing right
// after, as when it dies) fails the task; the queue's retry, or the next
// task on the query, carries out what the decision left: the customer
// gets the out-of-hours reply exactly once, the release is scheduled, and
// at opening time the release task routes the query.
func TestRoutingEffectsReachTheProviderOnceDespiteFaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		// redis, when set, fails the first command of the worker's own
		// Redis client it matches; else db arms a repository fault.
		redis redistest.Match
		db    func(e *env) interface{ Fired() int }
		// uncounted: the reply may have been recorded by the task that
		// then failed, so that no worker counted it in
		// switchboard_auto_replies_total; it is never counted twice.
		uncounted bool
	}{
		{name: "auto-reply not queued", redis: redistest.ArgsContain(":t:out:wa-main:")},
		{name: "decision stored, then the worker failed", db: func(e *env) interface{ Fired() int } {
			return e.Repo.FailAfter("ApplyDecision", 1)
		}},
		{name: "auto-reply recorded, then the worker failed", db: func(e *env) interface{ Fired() int } {
			return e.Repo.FailAfter("RecordOutbound", 1)
		}, uncounted: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newGraphFake(t, func(int) (int, string) { return 200, sentOK("wamid.closed1") })
			noon := noonAfter(time.Now())
			clk := clock.NewFake(noon)
			e := newEnv(t, fake.srv.URL, clk)
			ctx := context.Background()
			e.ApplySettings(t, convtest.OutOfHoursDoc)
			var fault interface{ Fired() int }
			if tc.redis != nil {
				l := redistest.Once(tc.redis)
				fault = l
				e.startWorker(t, 4, failing(l))
			} else {
				fault = tc.db(e)
				e.startWorker(t, 4)
			}
			for i := range 3 {
				if err := e.Queue.EnqueueInbound(ctx, text(fmt.Sprintf("wamid.fault%d", i), "5511900000009", noon.Add(time.Duration(i)*time.Minute), int64(i))); err != nil {
					t.Fatal(err)
				}
			}
			opens := time.Date(noon.Year(), noon.Month(), noon.Day()+1, 0, 0, 0, 0, time.UTC)
			eventually(t, "the reply to reach the provider", func() bool { return fake.calls.Load() >= 1 })
			eventually(t, "the release to be scheduled", func() bool { return e.scheduled(t, queue.TypeRelease, opens) })
			eventually(t, "all three messages to be done", func() bool {
				return testutil.ToFloat64(e.Metrics.TasksProcessed.WithLabelValues(queue.TypeInbound, "ok")) == 3
			})
			if fault.Fired() != 1 {
				t.Fatalf("fault fired %d times, want 1", fault.Fired())
			}
			time.Sleep(1500 * time.Millisecond) // room for a wrong second send
			if got := fake.calls.Load(); got != 1 {
				t.Fatalf("provider got %d sends, want exactly 1", got)
			}
			if !strings.Contains(fake.sent()[0], "We are closed. We open at "+opens.Format("Mon 02/01 15:04")) {
				t.Fatalf("provider got %s, want the out-of-hours reply", fake.sent()[0])
			}
			qid := e.openQuery(t, "5511900000009")
			if got := e.outboundTexts(t, qid); len(got) != 1 {
				t.Fatalf("history has %d outbound messages %q, want the one reply", len(got), got)
			}
			if got := len(e.history(t, qid)); got != 4 {
				t.Fatalf("history has %d messages, want the 3 inbound and the reply", got)
			}
			if got := testutil.ToFloat64(e.Metrics.AutoReplies.WithLabelValues("out_of_hours")); got != 1 && !(tc.uncounted && got == 0) {
				t.Fatalf("auto-replies counted = %v, want 1", got)
			}
			st, err := e.Service.State(ctx, qid)
			if err != nil || st.Effects != "" || !st.Query.QueuedUntilOpen {
				t.Fatalf("state %+v, pending effects %q, %v; want queued until open, nothing pending", st.Query, st.Effects, err)
			}

			// At opening time the release (run now, not at real midnight)
			// puts the query in its pool, for operators to claim.
			clk.Set(opens)
			if err := e.Queue.ScheduleTimer(ctx, queue.TypeRelease, queue.Timer{QueryID: qid, Key: "now"}, time.Now()); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the release", func() bool {
				q := e.state(qid)
				return q != nil && !q.QueuedUntilOpen && q.State == routing.StatePending && q.Type == "sales"
			})
		})
	}
}

// A customer message whose application fails (before the database wrote
// it, or after it committed and the worker failed) is retried by the
// queue: it is in the history and the conversation list once, and routed
// once.
func TestInboundSurvivesADatabaseFault(t *testing.T) {
	for _, after := range []bool{false, true} {
		name := map[bool]string{false: "nothing written", true: "written, then the worker failed"}[after]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, "", nil)
			ctx := context.Background()
			e.ApplyRouting(t, 1)
			fault := e.Repo.FailBefore("ApplyInbound", 1)
			if after {
				fault = e.Repo.FailAfter("ApplyInbound", 1)
			}
			e.startWorker(t, 2)
			m := text("wamid.dbfault", "5511900000031", time.Now().Truncate(time.Second), 1)
			if err := e.Queue.EnqueueInbound(ctx, m); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the retried task to complete", func() bool {
				return testutil.ToFloat64(e.Metrics.TasksProcessed.WithLabelValues(queue.TypeInbound, "ok")) == 1
			})
			if fault.Fired() != 1 {
				t.Fatalf("fault fired %d times, want 1", fault.Fired())
			}
			qid := e.openQuery(t, m.From)
			if h := e.history(t, qid); len(h) != 1 || h[0].ID != m.ID {
				t.Fatalf("history = %+v, want the message once", h)
			}
			if q := e.state(qid); q == nil || q.State != routing.StatePending || q.Type != "sales" {
				t.Fatalf("query = %+v, want routed to the sales pool", q)
			}
			// The conversation list orders by the message, whichever
			// attempt applied it.
			if q, err := e.Service.Query(ctx, qid); err != nil || !q.ActivityAt.Equal(m.Timestamp) || q.InboundCount != 1 {
				t.Fatalf("query = %+v (%v), want one message and its time as the activity", q, err)
			}
			if got := testutil.ToFloat64(e.Metrics.RoutingDecisions.WithLabelValues("sales", "round_robin", "pooled")); got != 1 {
				t.Fatalf("pooled decisions = %v, want 1", got)
			}
		})
	}
}
