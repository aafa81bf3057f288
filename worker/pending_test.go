package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/clock"
	"switchboard/internal/redistest"
	"switchboard/queue"
	"switchboard/routing"
	"switchboard/store"
)

const oneOperatorDoc = `
default_query_type: sales
query_types:
  - {id: sales, operators: [ana], strategy: round_robin}
operators:
  - {id: ana, capacity: 1}
`

// A customer's new message to a query routed before (here made inactive)
// whose routing fails once is routed by the task's retry: the redelivery
// is a duplicate, but the message was never routed.
func TestRetriedMessageOnARoutedQueryIsRouted(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	applySettings(t, e.db.Settings(), oneOperatorDoc)
	start := time.Now().Truncate(time.Second)
	// Only the decision assigning ana (message 2's) carries her id.
	fault := redistest.Once(redistest.ArgsContain("evalsha", " ana "))
	e.startRoutingWorker(t, 2, clock.NewFake(start), failing(fault))
	from := "5511900000021"
	if err := e.queue.EnqueueInbound(ctx, text("wamid.routed1", from, start, 1)); err != nil {
		t.Fatal(err)
	}
	var qid string
	eventually(t, "message 1 routed to the pool", func() bool {
		c, err := e.store.Contact(ctx, store.ContactID("wa-main", from))
		if err != nil || c.OpenQuery == "" {
			return false
		}
		qid = c.OpenQuery
		st, err := e.store.RoutingState(ctx, qid)
		return err == nil && st.Version == 1 && st.Query.State == routing.StatePending
	})
	st, err := e.store.RoutingState(ctx, qid)
	if err != nil {
		t.Fatal(err)
	}
	q := st.Query
	q.State = routing.StateInactive
	if err := e.store.ApplyRouting(ctx, q, st.Version, 0, start); err != nil {
		t.Fatal(err)
	}
	e.online(t, "ana")
	if err := e.queue.EnqueueInbound(ctx, text("wamid.routed2", from, start.Add(time.Second), 2)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "message 2 to start a new cycle assigned to ana", func() bool {
		st, err := e.store.RoutingState(ctx, qid)
		return err == nil && st.Query.State == routing.StateAssigned && st.Query.Assignee == "ana" && st.Query.Cycle == 2
	})
	if fault.Fired() != 1 {
		t.Fatalf("fault fired %d times, want 1", fault.Fired())
	}
}

// A reply a decision left pending is checked when it is finally carried
// out: too long after its decision, or outside the 24-hour window, it is
// dropped without a trace in the history, and the pending effects go.
func TestLatePendingReplyIsNotSent(t *testing.T) {
	for _, tc := range []struct {
		name         string
		sinceInbound time.Duration // from the customer's message to carrying out
		sinceDecided time.Duration // from the decision to carrying out
	}{
		{"decided an hour ago", time.Hour, time.Hour},
		{"outside the window", 25 * time.Hour, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newGraphFake(t, func(int) (int, string) { return 200, sentOK("wamid.never") })
			e := newEnv(t, fake.srv.URL)
			ctx := context.Background()
			applySettings(t, e.db.Settings(), oneOperatorDoc)
			now := time.Now().Truncate(time.Second)
			m := text("wamid.pending1", "5511900000022", now.Add(-tc.sinceInbound), 1)
			body, _ := json.Marshal(m)
			res, err := e.store.ApplyInbound(ctx, m, body)
			if err != nil {
				t.Fatal(err)
			}
			st, err := e.store.RoutingState(ctx, res.QueryID)
			if err != nil {
				t.Fatal(err)
			}
			q := st.Query
			q.State, q.Type, q.Cycle = routing.StatePending, "sales", 1
			eff := fmt.Sprintf(`{"decided_at":%q,"replies":[{"id":"sb-0000000000000000000000aa","text":"late","reason":"menu"}]}`,
				now.Add(-tc.sinceDecided).Format(time.RFC3339Nano))
			if err := e.store.ApplyDecision(ctx, q, 0, 0, now, eff, ""); err != nil {
				t.Fatal(err)
			}
			e.startRoutingWorker(t, 2, clock.NewFake(now))
			// Any task on the query carries out what is pending first.
			if err := e.queue.ScheduleTimer(ctx, queue.TypeRelease, queue.Timer{QueryID: res.QueryID, Key: "late"}, time.Now()); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the release task", func() bool {
				return testutil.ToFloat64(e.metrics.TasksProcessed.WithLabelValues(queue.TypeRelease, "ok")) == 1
			})
			time.Sleep(500 * time.Millisecond) // room for a wrong send
			if got := e.outboundTexts(t, res.QueryID); len(got) != 0 {
				t.Fatalf("late pending reply recorded: %q", got)
			}
			if fake.calls.Load() != 0 {
				t.Fatalf("provider got %d sends, want none", fake.calls.Load())
			}
			st, err = e.store.RoutingState(ctx, res.QueryID)
			if err != nil || st.Effects != "" {
				t.Fatalf("pending effects left: %q, %v", st.Effects, err)
			}
		})
	}
}

// A decision whose auto-reply the closed window holds back is counted once
// in switchboard_window_rejections_total, though a Redis fault makes the
// task decide twice.
func TestWindowRejectionIsCountedOncePerDecision(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	applySettings(t, e.db.Settings(), outOfHoursDoc)
	noon := noonAfter(time.Now())
	// The routing script's keys include the assigned-set prefix.
	fault := redistest.Once(redistest.ArgsContain("evalsha", store.Prefix+"assigned:"))
	e.startRoutingWorker(t, 2, clock.NewFake(noon), failing(fault))
	if err := e.queue.EnqueueInbound(ctx, text("wamid.late2", "5511900000023", noon.Add(-25*time.Hour), 1)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the decision", func() bool {
		c, err := e.store.Contact(ctx, store.ContactID("wa-main", "5511900000023"))
		if err != nil || c.OpenQuery == "" {
			return false
		}
		st, err := e.store.RoutingState(ctx, c.OpenQuery)
		return err == nil && st.Query.QueuedUntilOpen
	})
	eventually(t, "the task to finish", func() bool {
		return testutil.ToFloat64(e.metrics.TasksProcessed.WithLabelValues(queue.TypeInbound, "ok")) == 1
	})
	if fault.Fired() != 1 {
		t.Fatalf("fault fired %d times, want 1", fault.Fired())
	}
	if got := testutil.ToFloat64(e.metrics.WindowRejections); got != 1 {
		t.Fatalf("window rejections = %v, want 1", got)
	}
}
