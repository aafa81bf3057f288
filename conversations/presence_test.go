package conversations_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"switchboard/clock"
	"switchboard/conversations"
	"switchboard/queue"
	"switchboard/routing"
)

// lease is how long the tests' streams hold their presence lease.
const lease = 45 * time.Second

// presenceChecks returns when account's scheduled presence checks are due, in order.
func (e *env) presenceChecks(t testing.TB, account string) []time.Time {
	t.Helper()
	tasks, err := e.Inspector.ListScheduledTasks(queue.QueueRouting)
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []time.Time
	for _, ti := range tasks {
		if ti.Type != queue.TypePresenceCheck {
			continue
		}
		if tm, err := queue.DecodeTimer(ti.Payload); err == nil && tm.Key == account {
			out = append(out, ti.NextProcessAt)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// presence reads an operator's presence.
func (e *env) presence(t testing.TB, op string) string {
	t.Helper()
	p, err := e.Presence.Presence(context.Background(), []string{op})
	if err != nil {
		t.Fatal(err)
	}
	return p[op]
}

// check runs a presence check of account as its task does.
func (e *env) check(t testing.TB, account string) {
	t.Helper()
	if err := e.Service.PresenceCheck(context.Background(), account); err != nil {
		t.Fatal(err)
	}
}

// anaWithTwo routes two customers to ana (the only one online, capacity 2)
// and has her answer the first; it returns the answered and the
// unanswered query.
func (e *env) anaWithTwo(t *testing.T, clk *clock.Fake) (answered, unanswered string) {
	t.Helper()
	e.online(t, "ana")
	e.mustDeliver(t, text("wamid.p1", "5511900000201", clk.Now(), 1))
	e.mustDeliver(t, text("wamid.p2", "5511900000202", clk.Now(), 2))
	answered, unanswered = e.openQuery(t, "5511900000201"), e.openQuery(t, "5511900000202")
	for _, id := range []string{answered, unanswered} {
		if q := e.state(t, id).Query; q.Assignee != "ana" {
			t.Fatalf("query %s = %+v, want ana's", id, q)
		}
	}
	if _, err := e.Service.Reply(context.Background(), answered, "ana", "hola"); err != nil {
		t.Fatal(err)
	}
	return answered, unanswered
}

// A console whose stream closes and does not come back within
// presence.away_after turns its operator away exactly then (a second
// earlier nothing changes); their unanswered query goes to the next
// online operator by the type's strategy, the answered one stays.
func TestClosedStreamTurnsTheOperatorAwayAfterAwayAfter(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	clk := clock.NewFake(start)
	e := newEnv(t, clk)
	ctx := context.Background()
	e.ApplyRouting(t, 2)
	answered, unanswered := e.anaWithTwo(t, clk)
	e.online(t, "bruno")

	if err := e.Service.StreamAlive(ctx, "ana", "s1", lease); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Second)
	if err := e.Service.StreamClosed(ctx, "ana", "s1"); err != nil {
		t.Fatal(err)
	}
	away := clk.Now().Add(conversations.DefaultAwayAfter)
	if !slices.ContainsFunc(e.presenceChecks(t, "ana"), away.Equal) {
		t.Fatalf("checks %v: none at away_after after the close (%v)", e.presenceChecks(t, "ana"), away)
	}

	clk.Set(away.Add(-time.Second))
	e.check(t, "ana") // an early check (a slot's) decides nothing yet
	if p := e.presence(t, "ana"); p != routing.PresenceOnline {
		t.Fatalf("a second before away_after ana is %s, want online", p)
	}
	if q := e.state(t, unanswered).Query; q.Assignee != "ana" {
		t.Fatalf("a second before away_after the unanswered query is %+v, want still ana's", q)
	}

	clk.Set(away)
	e.check(t, "ana")
	if p := e.presence(t, "ana"); p != routing.PresenceAway {
		t.Fatalf("at away_after ana is %s, want away", p)
	}
	if q := e.state(t, unanswered).Query; q.State != routing.StateAssigned || q.Assignee != "bruno" {
		t.Fatalf("unanswered query = %+v, want routed to bruno (round robin)", q)
	}
	if q := e.state(t, answered).Query; q.Assignee != "ana" {
		t.Fatalf("answered query = %+v, want still ana's", q)
	}
	e.check(t, "ana") // a retry, or a duplicate, changes nothing more
	if q := e.state(t, unanswered).Query; q.Assignee != "bruno" {
		t.Fatalf("after a second check: %+v", q)
	}
}

// A console that reconnects within away_after keeps its operator online.
func TestStreamBackWithinAwayAfterStaysOnline(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	clk := clock.NewFake(start)
	e := newEnv(t, clk)
	ctx := context.Background()
	e.ApplyRouting(t, 2)
	e.online(t, "ana")
	if err := e.Service.StreamAlive(ctx, "ana", "s1", lease); err != nil {
		t.Fatal(err)
	}
	if err := e.Service.StreamClosed(ctx, "ana", "s1"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if err := e.Service.StreamAlive(ctx, "ana", "s2", lease); err != nil {
		t.Fatal(err)
	}
	clk.Advance(conversations.DefaultAwayAfter - time.Minute) // the first close's check
	e.check(t, "ana")
	if p := e.presence(t, "ana"); p != routing.PresenceOnline {
		t.Fatalf("with a stream back ana is %s, want online", p)
	}
	if got := e.presenceChecks(t, "ana"); !slices.ContainsFunc(got, clk.Now().Before) {
		t.Fatalf("checks %v: none after now, so a later stop would go unnoticed", got)
	}
}

// A stream on a replica that dies never closes: its lease lapses, and the
// operator turns away away_after after the lapse, found by the checks the
// stream's renewals scheduled.
func TestStreamOfADeadReplicaTurnsTheOperatorAway(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	clk := clock.NewFake(start)
	e := newEnv(t, clk)
	ctx := context.Background()
	e.ApplyRouting(t, 2)
	_, unanswered := e.anaWithTwo(t, clk)
	e.online(t, "carla")
	if err := e.Service.StreamAlive(ctx, "ana", "s1", lease); err != nil {
		t.Fatal(err)
	}
	// The replica dies: no renewal, no close. The check the stream
	// scheduled, at its slot, schedules the next one, whether the lease
	// still holds then or not.
	slot := e.presenceChecks(t, "ana")
	if len(slot) != 1 || !slot[0].After(start) || slot[0].After(start.Add(conversations.DefaultAwayAfter)) {
		t.Fatalf("checks %v after the stream opened: want one within away_after", slot)
	}
	clk.Set(slot[0])
	e.check(t, "ana")
	if got := e.presenceChecks(t, "ana"); !slices.ContainsFunc(got, slot[0].Before) {
		t.Fatalf("the slot's check scheduled no later one: %v", got)
	}
	// Renewed checks while the lease holds also schedule one after now.
	clk.Set(start.Add(lease - time.Second))
	e.check(t, "ana")
	if got := e.presenceChecks(t, "ana"); !slices.ContainsFunc(got, clk.Now().Before) {
		t.Fatalf("a check with the lease alive scheduled no next one: %v", got)
	}
	lapse := start.Add(lease)
	clk.Set(lapse.Add(time.Minute))
	e.check(t, "ana")
	if p := e.presence(t, "ana"); p != routing.PresenceOnline {
		t.Fatalf("a minute after the lapse ana is %s, want online", p)
	}
	if !slices.ContainsFunc(e.presenceChecks(t, "ana"), lapse.Add(conversations.DefaultAwayAfter).Equal) {
		t.Fatalf("checks %v: none at away_after after the lapse", e.presenceChecks(t, "ana"))
	}
	clk.Set(lapse.Add(conversations.DefaultAwayAfter))
	e.check(t, "ana")
	if p := e.presence(t, "ana"); p != routing.PresenceAway {
		t.Fatalf("away_after after the lapse ana is %s, want away", p)
	}
	if q := e.state(t, unanswered).Query; q.Assignee != "carla" {
		t.Fatalf("unanswered query = %+v, want carla's", q)
	}
}

// claimDoc is a claim pool, sales; the tests give it ana and bruno.
const claimDoc = `
default_query_type: sales
query_types:
  - {id: sales, strategy: claim}
`

// Going offline (or away) queues the return of the operator's unanswered
// queries; for a claim type they go back to the pool, answered ones stay.
// Coming back online pulls nothing from a claim pool, which is claimed by
// reply.
func TestGoingOfflineReturnsUnansweredClaimsToThePool(t *testing.T) {
	clk := clock.NewFake(time.Now().Truncate(time.Second))
	e := newEnv(t, clk)
	ctx := context.Background()
	e.ApplySettings(t, claimDoc)
	e.Operators(t, 2, []string{"sales"}, "ana", "bruno")
	e.online(t, "ana", "bruno")
	e.mustDeliver(t, text("wamid.c1", "5511900000301", clk.Now(), 1))
	e.mustDeliver(t, text("wamid.c2", "5511900000302", clk.Now(), 2))
	answered, unanswered := e.openQuery(t, "5511900000301"), e.openQuery(t, "5511900000302")
	if _, err := e.Service.Reply(ctx, answered, "ana", "hola"); err != nil { // claims it
		t.Fatal(err)
	}
	if _, err := e.Service.Claim(ctx, unanswered, "ana"); err != nil {
		t.Fatal(err)
	}

	for _, p := range []string{routing.PresenceOffline, routing.PresenceAway} {
		if err := e.Service.SetPresence(ctx, "ana", p); err != nil {
			t.Fatal(err)
		}
		if n := e.pendingTasks(t, queue.TypeReturn, "ana"); n < 1 {
			t.Fatalf("going %s queued %d returns for ana, want one", p, n)
		}
		if err := e.Service.ReturnUnanswered(ctx, "ana"); err != nil { // as the task does
			t.Fatal(err)
		}
		if q := e.state(t, unanswered).Query; q.State != routing.StatePending || q.Assignee != "" || q.Type != "sales" {
			t.Fatalf("after going %s the unanswered query is %+v, want back in the sales pool", p, q)
		}
		if q := e.state(t, answered).Query; q.Assignee != "ana" {
			t.Fatalf("after going %s the answered query is %+v, want still ana's", p, q)
		}
		if _, err := e.Service.Claim(ctx, unanswered, "ana"); err != nil {
			t.Fatal(err)
		}
	}
	// Back online before the return ran: it leaves her queries be.
	e.online(t, "ana")
	if err := e.Service.ReturnUnanswered(ctx, "ana"); err != nil {
		t.Fatal(err)
	}
	if q := e.state(t, unanswered).Query; q.Assignee != "ana" {
		t.Fatalf("a return run once she was back online took %+v", q)
	}
}

// An operator who comes back online after being turned away pulls the
// oldest waiting queries, up to capacity.
func TestBackOnlineAfterAwayPullsTheOldestWaiting(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	clk := clock.NewFake(start)
	e := newEnv(t, clk)
	ctx := context.Background()
	e.applyOneOperator(t) // ana alone, capacity 1
	e.online(t, "ana")
	if err := e.Service.StreamClosed(ctx, "ana", "s1"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(conversations.DefaultAwayAfter)
	e.check(t, "ana")
	if p := e.presence(t, "ana"); p != routing.PresenceAway {
		t.Fatalf("ana is %s, want away", p)
	}
	var qids []string
	for i, from := range []string{"5511900000401", "5511900000402"} {
		e.mustDeliver(t, text("wamid.b"+from, from, clk.Now(), int64(i)))
		qids = append(qids, e.openQuery(t, from))
		clk.Advance(time.Second)
	}
	for _, id := range qids {
		if q := e.state(t, id).Query; q.State != routing.StatePending {
			t.Fatalf("with ana away %s is %+v, want waiting", id, q)
		}
	}
	e.online(t, "ana")
	if err := e.Service.Dispatch(ctx, "ana"); err != nil { // as the dispatch task does
		t.Fatal(err)
	}
	if q := e.state(t, qids[0]).Query; q.Assignee != "ana" {
		t.Fatalf("oldest waiting = %+v, want ana's", q)
	}
	if q := e.state(t, qids[1]).Query; q.State != routing.StatePending {
		t.Fatalf("ana (capacity 1) also got %+v", q)
	}
}

// pendingTasks counts the pending tasks of type typ whose key is key.
func (e *env) pendingTasks(t testing.TB, typ, key string) int {
	t.Helper()
	tasks, err := e.Inspector.ListPendingTasks(queue.QueueRouting)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ti := range tasks {
		if tm, err := queue.DecodeTimer(ti.Payload); err == nil && ti.Type == typ && tm.Key == key {
			n++
		}
	}
	return n
}
