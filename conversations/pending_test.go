package conversations_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/clock"
	"switchboard/conversations"
	"switchboard/internal/convtest"
	"switchboard/queue"
	"switchboard/routing"
)

// A customer's new message to a query routed before (here made inactive
// by its session's end) whose routing fails once is routed by the retry:
// the redelivery is a duplicate, but the message was never routed (the
// decision was not stored), or its decision was stored and the retry
// finishes what it left (the worker failed right after the commit).
// Either way the customer gets a new cycle with ana, once.
func TestRetriedMessageOnARoutedQueryIsRouted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(r *convtest.Faulty) *convtest.Rule
	}{
		{"decision not stored", func(r *convtest.Faulty) *convtest.Rule { return r.FailBefore("ApplyDecision", 1) }},
		{"decision stored, then the worker failed", func(r *convtest.Faulty) *convtest.Rule { return r.FailAfter("ApplyDecision", 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now().Truncate(time.Second)
			clk := clock.NewFake(start)
			e := newEnv(t, clk)
			ctx := context.Background()
			e.applyOneOperator(t)
			from := "5511900000021"
			e.mustDeliver(t, text("wamid.routed1", from, start, 1))
			qid := e.openQuery(t, from)
			if st := e.state(t, qid); st.Query.State != routing.StatePending || st.Query.Cycle != 1 {
				t.Fatalf("message 1 routed to %+v, want the pool (nobody online)", st.Query)
			}
			clk.Set(start.Add(24 * time.Hour))
			if err := e.Service.SessionEnd(ctx, qid, "1"); err != nil {
				t.Fatal(err)
			}
			if st := e.state(t, qid); st.Query.State != routing.StateInactive {
				t.Fatalf("after its session the query is %+v, want inactive", st.Query)
			}

			e.online(t, "ana")
			fault := tc.fault(e.Repo)
			m2 := text("wamid.routed2", from, clk.Now().Add(time.Second), 2)
			if err := deliver(e.Service, m2); err == nil {
				t.Fatal("message 2's routing failed, but the call did not: the task would be acknowledged")
			}
			if err := deliver(e.Service, m2); err != nil {
				t.Fatalf("the retry: %v", err)
			}
			if fault.Fired() != 1 {
				t.Fatalf("fault fired %d times, want 1", fault.Fired())
			}
			st := e.state(t, qid)
			if st.Query.State != routing.StateAssigned || st.Query.Assignee != "ana" || st.Query.Cycle != 2 {
				t.Fatalf("query = %+v, want a new cycle (2) assigned to ana", st.Query)
			}
			if load, _ := e.Service.OperatorLoad(ctx, "ana"); load != 1 {
				t.Fatalf("ana's load = %d, want 1", load)
			}
			if h := e.history(t, qid); len(h) != 2 || h[0].ID != "wamid.routed1" || h[1].ID != "wamid.routed2" {
				t.Fatalf("history = %+v, want both messages once", h)
			}
			// The new cycle's session timer, a decision's effect, is armed.
			end := m2.Timestamp.Add(24 * time.Hour)
			if due := e.timers(t, queue.TypeSessionEnd, qid)["2"]; !due.Equal(end) {
				t.Fatalf("cycle 2's session timer due %v, want %v", due, end)
			}
			if st.Effects != "" {
				t.Fatalf("pending effects left: %q", st.Effects)
			}
		})
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
			now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
			e := newEnv(t, clock.NewFake(now))
			ctx := context.Background()
			e.applyOneOperator(t)
			// The message was applied and its decision stored with a
			// reply by a worker that died before carrying it out.
			m := text("wamid.pending1", "5511900000022", now.Add(-tc.sinceInbound), 1)
			body, _ := json.Marshal(m)
			res, err := e.Repo.ApplyInbound(ctx, m, body, now.Add(-tc.sinceDecided))
			if err != nil {
				t.Fatal(err)
			}
			st := e.state(t, res.QueryID)
			q := st.Query
			q.State, q.Type, q.Cycle = routing.StatePending, "sales", 1
			eff := fmt.Sprintf(`{"decided_at":%q,"replies":[{"id":"sb-0000000000000000000000aa","text":"late","reason":"menu"}]}`,
				now.Add(-tc.sinceDecided).Format(time.RFC3339Nano))
			if _, err := e.Repo.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: st.Version,
				Effects: eff, Inbound: m.ID, Now: now.Add(-tc.sinceDecided)}); err != nil {
				t.Fatal(err)
			}
			// Any task on the query carries out what is pending first.
			if err := e.Service.Release(ctx, res.QueryID); err != nil {
				t.Fatal(err)
			}
			if got := e.outboundTexts(t, res.QueryID); len(got) != 0 {
				t.Fatalf("late pending reply recorded: %q", got)
			}
			if got := e.sends(t, res.QueryID); len(got) != 0 {
				t.Fatalf("sends queued: %v, want none", got)
			}
			if st := e.state(t, res.QueryID); st.Effects != "" {
				t.Fatalf("pending effects left: %q", st.Effects)
			}
		})
	}
}

// A decision whose auto-reply the closed window holds back is counted once
// in switchboard_window_rejections_total, though a database fault makes
// the task decide twice.
func TestWindowRejectionIsCountedOncePerDecision(t *testing.T) {
	noon := noonAfter(time.Now())
	e := newEnv(t, clock.NewFake(noon))
	e.ApplySettings(t, convtest.OutOfHoursDoc)
	fault := e.Repo.FailBefore("ApplyDecision", 1)
	m := text("wamid.late2", "5511900000023", noon.Add(-25*time.Hour), 1)
	if failed := e.mustDeliver(t, m); failed != 1 {
		t.Fatalf("%d deliveries failed, want 1", failed)
	}
	if fault.Fired() != 1 {
		t.Fatalf("fault fired %d times, want 1", fault.Fired())
	}
	if st := e.state(t, e.openQuery(t, m.From)); !st.Query.QueuedUntilOpen {
		t.Fatalf("query = %+v, want queued until open", st.Query)
	}
	if got := testutil.ToFloat64(e.Metrics.WindowRejections); got != 1 {
		t.Fatalf("window rejections = %v, want 1", got)
	}
}

// A message whose routing never happened (its worker died) and whose
// conversation an operator then closed, while the customer wrote again
// and got a new conversation, is done with on its redelivery: the closed
// conversation stays closed, the new one keeps serving the customer, and
// the task succeeds instead of failing on every retry.
func TestRedeliveryToAClosedQueryLeavesTheNewOne(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	e := newEnv(t, clock.NewFake(now))
	ctx := context.Background()
	e.applyOneOperator(t)
	a := text("wamid.before-close", "5511900000024", now, 1)
	body, _ := json.Marshal(a)
	res, err := e.Repo.ApplyInbound(ctx, a, body, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service.Close(ctx, res.QueryID, "solved"); err != nil {
		t.Fatal(err)
	}
	b := text("wamid.after-close", a.From, now.Add(time.Minute), 2)
	e.mustDeliver(t, b)
	q2 := e.openQuery(t, b.From)
	if q2 == res.QueryID {
		t.Fatal("the message after the close joined the closed conversation")
	}
	before := e.state(t, q2)

	if err := deliver(e.Service, a); err != nil {
		t.Fatalf("redelivery of the message before the close: %v", err)
	}
	if st := e.state(t, res.QueryID); st.Query.State != routing.StateClosed || st.Query.Resolution != "solved" {
		t.Fatalf("closed conversation = %+v, want still closed", st.Query)
	}
	if after := e.state(t, q2); after.Query != before.Query || after.Version != before.Version {
		t.Fatalf("open conversation %+v changed to %+v", before.Query, after.Query)
	}
	if h := e.history(t, res.QueryID); len(h) != 1 || h[0].ID != a.ID {
		t.Fatalf("closed conversation's history = %+v, want its one message", h)
	}
	if h := e.history(t, q2); len(h) != 1 || h[0].ID != b.ID {
		t.Fatalf("open conversation's history = %+v, want the message after the close", h)
	}
}
