package conversations_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"switchboard/clock"
	"switchboard/conversations"
	"switchboard/events"
	"switchboard/queue"
	"switchboard/routing"
)

// slaDoc routes sales round robin with targets.
func slaDoc(targets string) string {
	return "default_query_type: sales\nquery_types:\n  - {id: sales, strategy: round_robin, targets: " + targets + "}\n"
}

// slaEnv is an env at a fake start with sales' targets, ops online
// serving sales, and one customer's conversation, already routed.
func slaEnv(t *testing.T, targets string, ops ...string) (*env, *clock.Fake, time.Time, string) {
	t.Helper()
	// asynq schedules by the real clock: the fake one starts at the real now.
	start := time.Now().Truncate(time.Second)
	clk := clock.NewFake(start)
	e := newEnv(t, clk)
	e.ApplySettings(t, slaDoc(targets))
	e.Operators(t, 5, []string{"sales"}, ops...)
	e.online(t, ops...)
	m := text("wamid.sla1", "5511900000001", start, 1)
	e.mustDeliver(t, m)
	return e, clk, start, e.openQuery(t, m.From)
}

// query reads a conversation as the API shows it.
func (e *env) query(t testing.TB, id string) *conversations.Query {
	t.Helper()
	q, err := e.Service.Query(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// breaches is switchboard_sla_breaches_total{query_type="sales",kind}.
func (e *env) breaches(kind string) float64 {
	return testutil.ToFloat64(e.Metrics.SLABreaches.WithLabelValues("sales", kind))
}

// replyAt has ana answer queryID at at.
func (e *env) replyAt(t testing.TB, clk *clock.Fake, at time.Time, queryID string) {
	t.Helper()
	clk.Set(at)
	if _, err := e.Service.Reply(context.Background(), queryID, "ana", "hola"); err != nil {
		t.Fatal(err)
	}
}

// fire runs a target's timer as the worker does.
func (e *env) fire(t testing.TB, kind, queryID string) {
	t.Helper()
	if err := e.Service.SLADeadline(context.Background(), kind, queryID); err != nil {
		t.Fatalf("%s timer: %v", kind, err)
	}
}

// A conversation's clock starts at the millisecond it opened, and the
// queue schedules in whole seconds: its targets' timers are scheduled for
// the second after each due time, never the one it falls in, where they
// would run before it, find nothing due, and be unable to reschedule
// under the key they hold.
func TestTargetTimersNeverRunBeforeTheirDueTime(t *testing.T) {
	// asynq schedules by the real clock: the fake one starts at the real now.
	start := time.Now().Truncate(time.Second).Add(700 * time.Millisecond)
	clk := clock.NewFake(start)
	e := newEnv(t, clk)
	e.ApplySettings(t, slaDoc("{first_response: 5m, resolution: 8h}"))
	e.Operators(t, 5, []string{"sales"}, "ana")
	e.online(t, "ana")
	m := text("wamid.sla-ms", "5511900000001", start.Truncate(time.Second), 1)
	e.mustDeliver(t, m)
	qid := e.openQuery(t, m.From)
	q := e.query(t, qid)
	if !q.SLA.StartedAt.Equal(start) {
		t.Fatalf("targets started at %v, want %v, when the conversation opened", q.SLA.StartedAt, start)
	}
	for _, k := range []struct {
		typ string
		due time.Time
	}{{queue.TypeSLAFirstResponse, q.SLA.FirstResponseDue}, {queue.TypeSLAResolution, q.SLA.ResolutionDue}} {
		at, ok := e.timers(t, k.typ, qid)[strconv.FormatInt(k.due.Unix(), 10)]
		if want := k.due.Truncate(time.Second).Add(time.Second); !ok || !at.Equal(want) {
			t.Errorf("%s timer at %v (scheduled: %v), want %v: the second after it is due at %v", k.typ, at, ok, want, k.due)
		}
	}
}

// A conversation nobody answers in 5 minutes misses its first-response
// target: recorded once, counted once with its type and kind, and told on
// the events channel the console's streams read, however often the timer
// runs. Its resolution target is still running.
func TestFirstResponseMissedIsRecordedAndCountedOnce(t *testing.T) {
	e, clk, start, qid := slaEnv(t, "{first_response: 5m, resolution: 8h}", "ana")
	q := e.query(t, qid)
	frDue, resDue := start.Add(5*time.Minute), start.Add(8*time.Hour)
	if q.Assignee != "ana" || !q.SLA.StartedAt.Equal(start) || !q.SLA.FirstResponseDue.Equal(frDue) || !q.SLA.ResolutionDue.Equal(resDue) {
		t.Fatalf("routed conversation: assignee %q, sla %+v; want ana, due %v and %v", q.Assignee, q.SLA, frDue, resDue)
	}
	if !e.scheduledAt(t, queue.TypeSLAFirstResponse, qid, frDue) || !e.scheduledAt(t, queue.TypeSLAResolution, qid, resDue) {
		t.Fatalf("timers: first response %v, resolution %v", e.timers(t, queue.TypeSLAFirstResponse, qid), e.timers(t, queue.TypeSLAResolution, qid))
	}

	sub := e.Redis.Subscribe(context.Background(), events.Channel)
	defer sub.Close()
	if _, err := sub.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.Set(frDue)
	e.fire(t, conversations.SLAFirstResponse, qid)
	e.fire(t, conversations.SLAFirstResponse, qid) // the queue ran it again
	if got := e.breaches(conversations.SLAFirstResponse); got != 1 {
		t.Fatalf("first-response breaches = %v, want 1", got)
	}
	if got := e.breaches(conversations.SLAResolution); got != 0 {
		t.Fatalf("resolution breaches = %v, want 0 (8h not passed)", got)
	}
	if q := e.query(t, qid); !q.SLA.FirstResponseBreachedAt.Equal(frDue) || !q.SLA.ResolutionBreachedAt.IsZero() {
		t.Fatalf("sla after the miss = %+v, want first response missed at %v only", q.SLA, frDue)
	}
	// The channel is the server's, shared with the tests running beside
	// this one: their conversations' events are passed over.
	for deadline := time.After(10 * time.Second); ; {
		var msg *redis.Message
		select {
		case msg = <-sub.Channel():
		case <-deadline:
			t.Fatal("no event published for the miss")
		}
		var ev conversations.Event
		if err := json.Unmarshal([]byte(msg.Payload), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.QueryID != qid {
			continue
		}
		if ev.Type != conversations.EventSLA || ev.Kind != conversations.SLAFirstResponse ||
			ev.Assignee != "ana" || ev.State != routing.StateAssigned || ev.QueryType != "sales" {
			t.Fatalf("event %+v, want an sla first_response event of %s for ana", ev, qid)
		}
		break
	}

	// At 8 hours, still open: the resolution target is missed too; a
	// notify type keeps it with ana.
	clk.Set(resDue)
	e.fire(t, conversations.SLAResolution, qid)
	if got := e.breaches(conversations.SLAResolution); got != 1 {
		t.Fatalf("resolution breaches = %v, want 1", got)
	}
	if q := e.query(t, qid); q.Assignee != "ana" || !q.SLA.ResolutionBreachedAt.Equal(resDue) {
		t.Fatalf("after the resolution miss: assignee %q, sla %+v", q.Assignee, q.SLA)
	}
}

// Answered in time and closed in time, neither target is missed when
// its timer comes.
func TestTargetsMetInTimeAreNotBreached(t *testing.T) {
	e, clk, start, qid := slaEnv(t, "{first_response: 5m, resolution: 8h}", "ana")
	ctx := context.Background()
	e.replyAt(t, clk, start.Add(4*time.Minute), qid)
	clk.Set(start.Add(5 * time.Minute))
	e.fire(t, conversations.SLAFirstResponse, qid)
	clk.Set(start.Add(7 * time.Hour))
	if _, err := e.Service.Close(ctx, qid, "solved"); err != nil {
		t.Fatal(err)
	}
	clk.Set(start.Add(8 * time.Hour))
	e.fire(t, conversations.SLAResolution, qid)
	if fr, res := e.breaches(conversations.SLAFirstResponse), e.breaches(conversations.SLAResolution); fr != 0 || res != 0 {
		t.Fatalf("breaches: first response %v, resolution %v; want none", fr, res)
	}
	q := e.query(t, qid)
	if !q.SLA.FirstResponseBreachedAt.IsZero() || !q.SLA.ResolutionBreachedAt.IsZero() || !q.SLA.FirstResponseAt.Equal(start.Add(4*time.Minute)) {
		t.Fatalf("sla = %+v, want answered at 4m and nothing missed", q.SLA)
	}
}

// on_breach: reassign moves a conversation its operator let miss the
// first response to another eligible operator, once: the timer whose
// move failed is retried, counts nothing more, and moves it; run again
// it leaves it with the new operator.
func TestMissedFirstResponseReassigns(t *testing.T) {
	e, clk, start, qid := slaEnv(t, "{first_response: 5m, on_breach: reassign}", "ana", "bruno")
	first := e.query(t, qid).Assignee
	other := map[string]string{"ana": "bruno", "bruno": "ana"}[first]
	if other == "" {
		t.Fatalf("conversation assigned to %q, want ana or bruno", first)
	}
	clk.Set(start.Add(5 * time.Minute))
	e.Repo.FailBefore("ApplyDecision", 1) // the move fails once
	if err := e.Service.SLADeadline(context.Background(), conversations.SLAFirstResponse, qid); err == nil {
		t.Fatal("the timer whose move failed succeeded; it must fail to be retried")
	}
	if q := e.query(t, qid); q.Assignee != first || q.SLA.FirstResponseBreachedAt.IsZero() {
		t.Fatalf("after the failed move: assignee %q, sla %+v; want still %s, missed", q.Assignee, q.SLA, first)
	}
	e.fire(t, conversations.SLAFirstResponse, qid) // the retry
	e.fire(t, conversations.SLAFirstResponse, qid) // and a duplicate
	if q := e.query(t, qid); q.Assignee != other || q.State != routing.StateAssigned {
		t.Fatalf("after the miss the conversation is %s with %q, want assigned to %s", q.State, q.Assignee, other)
	}
	if got := e.breaches(conversations.SLAFirstResponse); got != 1 {
		t.Fatalf("first-response breaches = %v, want 1", got)
	}
}

// A breach recorded by a run that then failed (the worker died after
// the commit) is not recorded or counted again by the retry, a minute
// later: the miss keeps its time, and nothing counts it twice.
func TestRetriedTimerDoesNotCountTwice(t *testing.T) {
	e, clk, start, qid := slaEnv(t, "{first_response: 5m}", "ana")
	ctx := context.Background()
	clk.Set(start.Add(5 * time.Minute))
	e.Repo.FailAfter("RecordSLABreach", 1)
	if err := e.Service.SLADeadline(ctx, conversations.SLAFirstResponse, qid); err == nil {
		t.Fatal("the timer whose run failed succeeded")
	}
	clk.Set(start.Add(6 * time.Minute))
	e.fire(t, conversations.SLAFirstResponse, qid)
	e.fire(t, conversations.SLAFirstResponse, qid)
	if got := e.breaches(conversations.SLAFirstResponse); got > 1 {
		t.Fatalf("first-response breaches = %v, want at most 1", got)
	}
	if q := e.query(t, qid); !q.SLA.FirstResponseBreachedAt.Equal(start.Add(5 * time.Minute)) {
		t.Fatalf("sla = %+v, want the miss as first recorded, at 5m", q.SLA)
	}
}

// A target the coordinator made longer since the clock started is moved,
// not missed; one they removed is no longer due.
func TestChangedTargetsMoveOrDropTheDeadline(t *testing.T) {
	e, clk, start, qid := slaEnv(t, "{first_response: 5m, resolution: 8h}", "ana")
	e.ApplySettings(t, slaDoc("{first_response: 10m}"))
	clk.Set(start.Add(5 * time.Minute))
	e.fire(t, conversations.SLAFirstResponse, qid)
	clk.Set(start.Add(8 * time.Hour))
	e.fire(t, conversations.SLAResolution, qid)
	if fr, res := e.breaches(conversations.SLAFirstResponse), e.breaches(conversations.SLAResolution); fr != 0 || res != 0 {
		t.Fatalf("breaches: first response %v, resolution %v; want none yet", fr, res)
	}
	moved := start.Add(10 * time.Minute)
	q := e.query(t, qid)
	if !q.SLA.FirstResponseDue.Equal(moved) || !q.SLA.ResolutionDue.IsZero() {
		t.Fatalf("sla = %+v, want first response due %v and no resolution target", q.SLA, moved)
	}
	if due := e.timers(t, queue.TypeSLAFirstResponse, qid)[strconv.FormatInt(moved.Unix(), 10)]; !due.Equal(moved) {
		t.Fatalf("first-response timers %v, want one at %v", e.timers(t, queue.TypeSLAFirstResponse, qid), moved)
	}
}

// A conversation queued until its type's hours open starts its clock
// when it opens for service, not when the customer wrote.
func TestQueuedConversationStartsAtTheOpening(t *testing.T) {
	noon := noonAfter(time.Now())
	clk := clock.NewFake(noon)
	e := newEnv(t, clk)
	e.ApplySettings(t, `
timezone: UTC
opening_hours:
  weekly: {mon: ["00:00-00:01"], tue: ["00:00-00:01"], wed: ["00:00-00:01"], thu: ["00:00-00:01"], fri: ["00:00-00:01"], sat: ["00:00-00:01"], sun: ["00:00-00:01"]}
default_query_type: sales
query_types:
  - {id: sales, strategy: claim, targets: {first_response: 5m}}
`)
	m := text("wamid.slaq", "5511900000002", noon, 1)
	e.mustDeliver(t, m)
	qid := e.openQuery(t, m.From)
	if q := e.query(t, qid); q.SLA.Active() {
		t.Fatalf("queued conversation has a running clock: %+v", q.SLA)
	}
	opens := openingAfter(noon)
	clk.Set(opens)
	if err := e.Service.Release(context.Background(), qid); err != nil {
		t.Fatal(err)
	}
	if q := e.query(t, qid); !q.SLA.StartedAt.Equal(opens) || !q.SLA.FirstResponseDue.Equal(opens.Add(5*time.Minute)) {
		t.Fatalf("released conversation's sla = %+v, want started at the opening %v", q.SLA, opens)
	}
}

// What the timer finds decides, not when it runs: an answer sent after
// the due time, before a late timer ran, is still a miss; a conversation
// closed unanswered before its due time has no first response to miss.
func TestLateTimerJudgesByTheDueTime(t *testing.T) {
	e, clk, start, qid := slaEnv(t, "{first_response: 5m, resolution: 8h}", "ana")
	ctx := context.Background()
	e.replyAt(t, clk, start.Add(6*time.Minute), qid)
	clk.Set(start.Add(7 * time.Minute))
	e.fire(t, conversations.SLAFirstResponse, qid)
	if got := e.breaches(conversations.SLAFirstResponse); got != 1 {
		t.Fatalf("an answer at 6m of a 5m target: breaches = %v, want 1", got)
	}

	clk.Set(start.Add(8 * time.Minute))
	third := text("wamid.sla3", "5511900000003", start.Add(8*time.Minute), 3)
	e.mustDeliver(t, third)
	tq := e.openQuery(t, third.From)
	clk.Set(start.Add(9 * time.Minute))
	if _, err := e.Service.Close(ctx, tq, "spam"); err != nil {
		t.Fatal(err)
	}
	clk.Set(start.Add(20 * time.Minute))
	e.fire(t, conversations.SLAFirstResponse, tq)
	if got := e.breaches(conversations.SLAFirstResponse); got != 1 {
		t.Fatalf("a conversation closed unanswered before its due time: breaches = %v, want still 1", got)
	}
	if q := e.query(t, tq); !q.SLA.FirstResponseBreachedAt.IsZero() {
		t.Fatalf("closed unanswered in time, its sla = %+v, want nothing missed", q.SLA)
	}
	if e.timers(t, queue.TypeSLAFirstResponse, tq)[strconv.FormatInt(start.Add(13*time.Minute).Unix(), 10)] != (time.Time{}) {
		t.Fatal("closing left the first-response timer scheduled")
	}
}
