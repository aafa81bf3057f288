package conversations_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/clock"
	"switchboard/internal/convtest"
	"switchboard/internal/redistest"
	"switchboard/queue"
	"switchboard/routing"
)

// fired is a fault that says how often it fired: a repository Rule or a
// Redis Limit.
type fired interface{ Fired() int }

// A failure while storing or carrying out a decision (recording its
// auto-reply, queueing its send, scheduling its release, clearing what
// was carried out), whether before the database or Redis did it or right
// after, as when a worker dies, loses nothing and doubles nothing: the
// retry of the failed task, or the next task on the query, carries out
// what is still pending, each effect exactly once.
func TestRoutingEffectsSurviveAFault(t *testing.T) {
	for _, tc := range []struct {
		name string
		// redis fails the first command of the service's own Redis
		// client it matches; db arms a repository fault instead.
		redis redistest.Match
		db    func(r *convtest.Faulty) *convtest.Rule
		// failed is how many deliveries fail: the fault fails its task,
		// or (0) is absorbed and made good by a later task.
		failed int
		// uncounted: the reply was recorded by a call that then failed,
		// so no process counted it in switchboard_auto_replies_total
		// (as when the worker that recorded it died); it is never
		// counted twice.
		uncounted bool
	}{
		{name: "auto-reply not queued", redis: redistest.ArgsContain(":t:out:wa-main:"), failed: 1},
		{name: "release timer not scheduled", redis: redistest.ArgsContain(":t:" + queue.TypeRelease + ":"), failed: 1},
		{name: "decision not stored", db: func(r *convtest.Faulty) *convtest.Rule { return r.FailBefore("ApplyDecision", 1) }, failed: 1},
		{name: "decision stored, then the worker failed", db: func(r *convtest.Faulty) *convtest.Rule { return r.FailAfter("ApplyDecision", 1) }, failed: 1},
		{name: "auto-reply not recorded", db: func(r *convtest.Faulty) *convtest.Rule { return r.FailBefore("RecordOutbound", 1) }, failed: 1},
		{name: "auto-reply recorded, then the worker failed", db: func(r *convtest.Faulty) *convtest.Rule { return r.FailAfter("RecordOutbound", 1) }, failed: 1, uncounted: true},
		{name: "effects carried out but not cleared", db: func(r *convtest.Faulty) *convtest.Rule { return r.FailBefore("ClearEffects", 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noon := noonAfter(time.Now())
			e := newEnv(t, clock.NewFake(noon))
			e.ApplySettings(t, convtest.OutOfHoursDoc)
			svc := e.Service
			var fault fired
			if tc.redis != nil {
				l := redistest.Once(tc.redis)
				svc, fault = e.failingService(t, l), l
			} else {
				fault = tc.db(e.Repo)
			}
			failed := 0
			for i := range 3 {
				m := text(fmt.Sprintf("wamid.fault%d", i), "5511900000009", noon.Add(time.Duration(i)*time.Minute), int64(i))
				failed += retried(t, "message "+m.ID, func() error { return deliver(svc, m) })
			}
			if fault.Fired() != 1 || failed != tc.failed {
				t.Fatalf("fault fired %d times, %d deliveries failed; want 1 and %d", fault.Fired(), failed, tc.failed)
			}
			qid := e.openQuery(t, "5511900000009")
			opens := openingAfter(noon)
			replies := e.outbound(t, qid)
			if len(replies) != 1 || replies[0].Text != "We are closed. We open at "+opens.Format("Mon 02/01 15:04")+"." {
				t.Fatalf("history has outbound messages %+v, want the one out-of-hours reply", replies)
			}
			if got := e.sends(t, qid); !slices.Equal(got, []string{replies[0].ID}) {
				t.Fatalf("sends queued = %v, want the reply's once", got)
			}
			if !e.scheduledAt(t, queue.TypeRelease, qid, opens) {
				t.Fatalf("no release scheduled for %v: %v", opens, e.timers(t, queue.TypeRelease, qid))
			}
			want := 1.0
			if tc.uncounted {
				want = 0
			}
			if got := testutil.ToFloat64(e.Metrics.AutoReplies.WithLabelValues("out_of_hours")); got != want {
				t.Fatalf("auto-replies counted = %v, want %v", got, want)
			}
			if got := len(e.history(t, qid)); got != 4 {
				t.Fatalf("history has %d messages, want the 3 inbound and the reply", got)
			}
			st := e.state(t, qid)
			if st.Effects != "" || !st.Query.QueuedUntilOpen {
				t.Fatalf("query %+v with pending effects %q, want queued until open, nothing pending", st.Query, st.Effects)
			}
		})
	}
}

// A redelivered message is not acknowledged while reading its query's
// routing state fails: not when its query was applied but never routed
// (its worker died in between), nor when its decision was stored with
// effects still to carry out. The next redelivery finishes the job.
func TestRedeliveryRoutesDespiteARoutingStateReadFault(t *testing.T) {
	for _, routed := range []bool{false, true} {
		name := map[bool]string{false: "applied, never routed", true: "routed, its effects pending"}[routed]
		t.Run(name, func(t *testing.T) {
			noon := noonAfter(time.Now())
			e := newEnv(t, clock.NewFake(noon))
			ctx := context.Background()
			e.ApplySettings(t, convtest.OutOfHoursDoc)
			m := text("wamid.redeliver", "5511900000011", noon, 1)
			if routed {
				e.Repo.FailAfter("ApplyDecision", 1)
				if err := deliver(e.Service, m); err == nil {
					t.Fatal("the decision's worker failed, but the call did not")
				}
			} else {
				body, _ := json.Marshal(m)
				if _, err := e.Repo.ApplyInbound(ctx, m, body, noon); err != nil {
					t.Fatal(err)
				}
			}
			qid := e.openQuery(t, m.From)
			fault := e.Repo.FailBefore("RoutingState", 1)
			if err := deliver(e.Service, m); err == nil {
				t.Fatal("the redelivery was acknowledged though its routing state could not be read")
			}
			if err := deliver(e.Service, m); err != nil {
				t.Fatalf("the next redelivery: %v", err)
			}
			if fault.Fired() != 1 {
				t.Fatalf("fault fired %d times, want 1", fault.Fired())
			}
			st := e.state(t, qid)
			if st.Query.State != routing.StatePending || !st.Query.QueuedUntilOpen || st.Effects != "" {
				t.Fatalf("query = %+v, pending effects %q; want queued until open, nothing pending", st.Query, st.Effects)
			}
			replies := e.outbound(t, qid)
			if len(replies) != 1 || !slices.Equal(e.sends(t, qid), []string{replies[0].ID}) {
				t.Fatalf("replies %+v, sends %v; want the out-of-hours reply recorded and queued once", replies, e.sends(t, qid))
			}
			if h := e.history(t, qid); len(h) != 2 {
				t.Fatalf("history has %d messages, want the message and the reply", len(h))
			}
		})
	}
}

// A session timer that fires early re-arms itself for the session's end;
// when Redis fails that once, the timer task fails, and its retry re-arms it.
func TestSessionTimerReArmSurvivesARedisFault(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	clk := clock.NewFake(start)
	e := newEnv(t, clk)
	ctx := context.Background()
	e.applyOneOperator(t)
	e.online(t, "ana")
	m := text("wamid.rearm", "5511900000012", start, 1)
	end := start.Add(24 * time.Hour)
	rearm := fmt.Sprintf("1:%d", end.Unix())
	// Only the re-arm for the session's end carries the end in its id.
	fault := redistest.Once(redistest.ArgsContain(":t:"+queue.TypeSessionEnd+":", ":"+rearm))
	svc := e.failingService(t, fault)
	e.mustDeliver(t, m)
	qid := e.openQuery(t, m.From)
	if st := e.state(t, qid); st.Query.Assignee != "ana" {
		t.Fatalf("query = %+v, want assigned to ana", st.Query)
	}
	clk.Set(end.Add(-time.Minute))
	if failed := retried(t, "the early timer", func() error { return svc.SessionEnd(ctx, qid, "1:early") }); failed != 1 {
		t.Fatalf("%d timer runs failed, want 1", failed)
	}
	if fault.Fired() != 1 {
		t.Fatalf("fault fired %d times, want 1", fault.Fired())
	}
	if due := e.timers(t, queue.TypeSessionEnd, qid)[rearm]; !due.Equal(end) {
		t.Fatalf("re-armed timer due %v, want the session's end %v", due, end)
	}
	if st := e.state(t, qid); st.Query.State != routing.StateAssigned || st.Query.Assignee != "ana" {
		t.Fatalf("query = %+v, want still assigned to ana", st.Query)
	}
}

// An auto-reply is a free-form message: outside the 24-hour window (here a
// message redelivered 25 hours late) it is not sent at all, while the
// decision itself still applies.
func TestAutoReplyOutsideTheWindowIsNotSent(t *testing.T) {
	noon := noonAfter(time.Now())
	e := newEnv(t, clock.NewFake(noon))
	m := text("wamid.late", "5511900000013", noon.Add(-25*time.Hour), 1)
	e.ApplySettings(t, convtest.OutOfHoursDoc)
	e.mustDeliver(t, m)
	qid := e.openQuery(t, m.From)
	if st := e.state(t, qid); !st.Query.QueuedUntilOpen {
		t.Fatalf("query = %+v, want queued until open", st.Query)
	}
	if got := e.outboundTexts(t, qid); len(got) != 0 {
		t.Fatalf("auto-replies %q sent outside the window", got)
	}
	if got := e.sends(t, qid); len(got) != 0 {
		t.Fatalf("sends queued: %v, want none", got)
	}
	if got := testutil.ToFloat64(e.Metrics.AutoReplies.WithLabelValues("out_of_hours")); got != 0 {
		t.Fatalf("auto-replies counted = %v, want 0", got)
	}
	if got := testutil.ToFloat64(e.Metrics.WindowRejections); got != 1 {
		t.Fatalf("window rejections = %v, want 1", got)
	}
}
