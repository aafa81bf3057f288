package worker_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"switchboard/channels"
	"switchboard/clock"
	"switchboard/queue"
	"switchboard/routing"
	"switchboard/settings"
	"switchboard/store"
	"switchboard/worker"
)

const routingDoc = `
default_query_type: sales
query_types:
  - id: sales
    keywords: [comprar]
    operators: [ana, bruno, carla]
    strategy: round_robin
operators:
  - {id: ana, capacity: CAP}
  - {id: bruno, capacity: CAP}
  - {id: carla, capacity: CAP}
`

func applySettings(t testing.TB, repo settings.Repository, doc string) {
	t.Helper()
	if _, err := settings.Apply(context.Background(), repo, []byte(doc), time.Now(), -1, "test"); err != nil {
		t.Fatal(err)
	}
}

// startRoutingWorker runs a worker replica with routing on its own pool.
// hooks, if any, wrap the Redis client its handlers use (store and the
// queue they enqueue on), not the one asynq dequeues with, so a fault hits
// the handler's own work. Settings come from the database.
func (e *env) startRoutingWorker(t testing.TB, concurrency int, clk clock.Clock, hooks ...redis.Hook) {
	t.Helper()
	rdb := redis.NewClient(e.rdb.Options())
	srv := worker.NewServer(rdb, worker.ServerOptions{Concurrency: concurrency, ShutdownTimeout: 5 * time.Second, Logger: logger})
	wrdb, q := rdb, e.queue
	if len(hooks) > 0 {
		wrdb = redis.NewClient(e.rdb.Options())
		for _, h := range hooks {
			wrdb.AddHook(h)
		}
		client := asynq.NewClientFromRedisClient(wrdb)
		t.Cleanup(func() { client.Close() })
		q = queue.NewClient(client, time.Hour)
	}
	w := worker.New(worker.Options{
		Store: store.New(wrdb, clk), Channels: e.chans, Metrics: e.metrics, Logger: logger,
		Settings: settings.NewWatcher(e.db.Settings(), 50*time.Millisecond), Queue: q, Clock: clk,
	})
	if err := srv.Start(w.Mux()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); rdb.Close(); wrdb.Close() })
}

func (e *env) online(t testing.TB, ops ...string) {
	t.Helper()
	st := store.New(e.rdb, clock.System{})
	for _, op := range ops {
		if err := st.SetPresence(context.Background(), op, routing.PresenceOnline); err != nil {
			t.Fatal(err)
		}
	}
}

// routedQueries reads every contact's open query's routing state.
func (e *env) routedQueries(t *testing.T, contacts []string) []*store.RoutingState {
	t.Helper()
	ctx := context.Background()
	var out []*store.RoutingState
	for _, from := range contacts {
		c, err := e.store.Contact(ctx, store.ContactID("wa-main", from))
		if err != nil {
			t.Fatalf("contact %s: %v", from, err)
		}
		st, err := e.store.RoutingState(ctx, c.OpenQuery)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, st)
	}
	return out
}

// checkOwners asserts one owner per query, loads equal to what is
// assigned, and nobody over capacity; it returns how many are assigned.
func (e *env) checkOwners(t *testing.T, qs []*store.RoutingState, capacity int) int {
	t.Helper()
	perOp := map[string]int{}
	for _, st := range qs {
		switch st.Query.State {
		case routing.StateAssigned:
			if st.Query.Assignee == "" {
				t.Fatalf("query %s assigned to nobody", st.Query.ID)
			}
			perOp[st.Query.Assignee]++
		case routing.StatePending:
			if st.Query.Assignee != "" {
				t.Fatalf("pending query %s has an assignee %s", st.Query.ID, st.Query.Assignee)
			}
		default:
			t.Fatalf("query %s in state %q, want routed", st.Query.ID, st.Query.State)
		}
	}
	total := 0
	for _, op := range []string{"ana", "bruno", "carla"} {
		load, err := e.store.OperatorLoad(context.Background(), op)
		if err != nil {
			t.Fatal(err)
		}
		if load != perOp[op] {
			t.Fatalf("%s: load counter %d but %d queries assigned", op, load, perOp[op])
		}
		if perOp[op] > capacity {
			t.Fatalf("%s has %d queries, capacity %d", op, perOp[op], capacity)
		}
		total += perOp[op]
	}
	return total
}

func TestManyWorkersRouteEachQueryToOneOwner(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	applySettings(t, e.db.Settings(), strings.ReplaceAll(routingDoc, "CAP", "3"))
	e.online(t, "ana", "bruno", "carla")

	now := time.Now().Truncate(time.Second)
	var contacts []string
	sent := 0
	enqueue := func(from string, n int) {
		for i := range n {
			m := text(fmt.Sprintf("wamid.%s.%d", from, i), from, now.Add(time.Duration(i)*time.Second), int64(i))
			if err := e.queue.EnqueueInbound(ctx, m); err != nil {
				t.Fatal(err)
			}
			sent++
		}
	}
	for c := range 30 {
		from := fmt.Sprintf("55119000%05d", c)
		contacts = append(contacts, from)
		enqueue(from, 3)
	}
	for range 3 {
		e.startRoutingWorker(t, 8, clock.System{})
	}
	eventually(t, "the first wave to be processed", func() bool { return e.inboundProcessed() == float64(sent) })
	qs := e.routedQueries(t, contacts)
	if got := e.checkOwners(t, qs, 3); got != 9 {
		t.Fatalf("%d queries assigned, want 9 (three operators of capacity 3)", got)
	}

	// A settings change applied under load: capacity 5 for the next wave.
	for c := 30; c < 50; c++ {
		from := fmt.Sprintf("55119000%05d", c)
		contacts = append(contacts, from)
		enqueue(from, 2)
		if c == 35 {
			applySettings(t, e.db.Settings(), strings.ReplaceAll(routingDoc, "CAP", "5"))
		}
	}
	eventually(t, "the second wave to be processed", func() bool { return e.inboundProcessed() == float64(sent) })
	qs = e.routedQueries(t, contacts)
	if got := e.checkOwners(t, qs, 5); got != 15 {
		t.Fatalf("%d queries assigned after the change, want 15 (capacity 5 each)", got)
	}
	for _, st := range qs {
		hist, err := e.store.History(ctx, st.Query.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) < 2 {
			t.Fatalf("query %s lost messages: %d in history", st.Query.ID, len(hist))
		}
	}
	pooled, err := e.store.Pool(ctx, "sales", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(pooled) != len(contacts)-15 {
		t.Fatalf("%d queries in the pool, want %d", len(pooled), len(contacts)-15)
	}
	if got := testutil.ToFloat64(e.metrics.RoutingDecisions.WithLabelValues("sales", "round_robin", "assigned")); got != 15 {
		t.Fatalf("assigned decisions counted = %v, want 15", got)
	}
}

func TestSessionEndReleasesOnceAndFreesTheOperator(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	applySettings(t, e.db.Settings(), strings.ReplaceAll(routingDoc, "CAP", "1"))
	e.online(t, "ana")
	start := time.Now().Truncate(time.Second)
	clk := clock.NewFake(start)
	e.startRoutingWorker(t, 4, clk)

	// Two customers; ana (capacity 1) gets the first, the second waits.
	first := text("wamid.s1", "5511900000001", start, 1)
	second := text("wamid.s2", "5511900000002", start.Add(time.Second), 2)
	for _, m := range []*channels.Inbound{first, second} {
		if err := e.queue.EnqueueInbound(ctx, m); err != nil {
			t.Fatal(err)
		}
		eventually(t, "routing of "+m.ID, func() bool {
			c, err := e.store.Contact(ctx, store.ContactID("wa-main", m.From))
			if err != nil {
				return false
			}
			st, err := e.store.RoutingState(ctx, c.OpenQuery)
			return err == nil && st.Query.State != ""
		})
	}
	qs := e.routedQueries(t, []string{"5511900000001", "5511900000002"})
	if qs[0].Query.Assignee != "ana" || qs[1].Query.State != routing.StatePending {
		t.Fatalf("before expiry: %+v / %+v", qs[0].Query, qs[1].Query)
	}

	// One second before the 24h edge a timer changes nothing and re-arms
	// itself for the edge.
	clk.Set(start.Add(24*time.Hour - time.Second))
	if err := e.queue.ScheduleTimer(ctx, queue.TypeSessionEnd, queue.Timer{QueryID: qs[0].Query.ID, Key: "1:early"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	rearmed := fmt.Sprintf("%s:%s:1:%d", queue.TypeSessionEnd, qs[0].Query.ID, start.Add(24*time.Hour).Unix())
	eventually(t, "the early timer to re-arm for the edge", func() bool {
		ti, err := e.insp.GetTaskInfo(queue.QueueRouting, rearmed)
		return err == nil && ti.NextProcessAt.Equal(start.Add(24*time.Hour))
	})
	if st, _ := e.store.RoutingState(ctx, qs[0].Query.ID); st.Query.State != routing.StateAssigned {
		t.Fatalf("at 23:59:59 the query is %s, want still assigned", st.Query.State)
	}

	// At exactly 24h the session ends. Two timers fire for it (say a
	// duplicate and a re-arm); it is released once.
	clk.Set(start.Add(24 * time.Hour))
	for _, key := range []string{"1", "1:x"} {
		if err := e.queue.ScheduleTimer(ctx, queue.TypeSessionEnd, queue.Timer{QueryID: qs[0].Query.ID, Key: key}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the first query to go inactive", func() bool {
		st, err := e.store.RoutingState(ctx, qs[0].Query.ID)
		return err == nil && st.Query.State == routing.StateInactive
	})
	// Ana's freed capacity goes to the waiting customer.
	eventually(t, "the waiting query to be dispatched to ana", func() bool {
		st, err := e.store.RoutingState(ctx, qs[1].Query.ID)
		return err == nil && st.Query.Assignee == "ana"
	})
	time.Sleep(300 * time.Millisecond) // let the second timer run too
	if got := testutil.ToFloat64(e.metrics.WindowExpirations); got != 1 {
		t.Fatalf("window expirations = %v, want exactly 1", got)
	}
	if load, _ := e.store.OperatorLoad(ctx, "ana"); load != 1 {
		t.Fatalf("ana's load = %d, want 1 (released one, got one)", load)
	}
	st, _ := e.store.RoutingState(ctx, qs[0].Query.ID)
	if st.Query.Assignee != "" {
		t.Fatalf("inactive query still assigned to %s", st.Query.Assignee)
	}
}

// outOfHoursDoc opens one minute a day at 00:00 UTC: closed at noon.
const outOfHoursDoc = `
timezone: UTC
opening_hours:
  weekly: {mon: ["00:00-00:01"], tue: ["00:00-00:01"], wed: ["00:00-00:01"], thu: ["00:00-00:01"], fri: ["00:00-00:01"], sat: ["00:00-00:01"], sun: ["00:00-00:01"]}
  out_of_hours: {reply: closed, queue_until_open: true}
default_query_type: sales
query_types:
  - {id: sales, strategy: claim}
templates:
  - {id: closed, language: en, text: "We are closed. We open at {{next_open}}."}
`

// noonAfter is the first noon (UTC) after from: closed under
// outOfHoursDoc, with the next opening at the following midnight, which is
// after from too. asynq schedules by the real clock, so a test's fake
// clock must not lie before the real now, or the release it schedules
// would already be due.
func noonAfter(from time.Time) time.Time {
	y, m, d := from.UTC().Date()
	return time.Date(y, m, d+1, 12, 0, 0, 0, time.UTC)
}

// The test runs from several starts, so it cannot depend on the day it runs.
func TestOutOfHoursReplyIsSentOnce(t *testing.T) {
	for _, ahead := range []int{0, 37, 400} {
		noon := noonAfter(time.Now().AddDate(0, 0, ahead))
		t.Run(noon.Format("2006-01-02"), func(t *testing.T) { testOutOfHoursReplyIsSentOnce(t, noon) })
	}
}

func testOutOfHoursReplyIsSentOnce(t *testing.T, noon time.Time) {
	e := newEnv(t, "")
	ctx := context.Background()
	applySettings(t, e.db.Settings(), outOfHoursDoc)
	e.startRoutingWorker(t, 4, clock.NewFake(noon))
	for i := range 3 {
		if err := e.queue.EnqueueInbound(ctx, text(fmt.Sprintf("wamid.ooh%d", i), "5511900000009", noon.Add(time.Duration(i)*time.Minute), int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "all three messages", func() bool { return e.inboundProcessed() == 3 })
	c, _ := e.store.Contact(ctx, store.ContactID("wa-main", "5511900000009"))
	eventually(t, "the auto-reply", func() bool {
		return testutil.ToFloat64(e.metrics.AutoReplies.WithLabelValues("out_of_hours")) >= 1
	})
	time.Sleep(300 * time.Millisecond)
	opens := time.Date(noon.Year(), noon.Month(), noon.Day()+1, 0, 0, 0, 0, time.UTC)
	if want := "We are closed. We open at " + opens.Format("Mon 02/01 15:04") + "."; !slices.Equal(e.outboundTexts(t, c.OpenQuery), []string{want}) {
		t.Fatalf("auto-replies = %q, want exactly one: %q", e.outboundTexts(t, c.OpenQuery), want)
	}
	st, _ := e.store.RoutingState(ctx, c.OpenQuery)
	if !st.Query.QueuedUntilOpen || st.Query.State != routing.StatePending {
		t.Fatalf("query = %+v, want queued until open", st.Query)
	}
	if !e.scheduled(t, queue.TypeRelease, opens) {
		t.Fatalf("no release scheduled for opening time %s", opens)
	}
}

// outboundTexts returns the texts of a query's outbound messages, oldest first.
func (e *env) outboundTexts(t *testing.T, queryID string) []string {
	t.Helper()
	hist, err := e.store.History(context.Background(), queryID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range hist {
		if m.Direction == store.DirectionOutbound {
			out = append(out, m.Text)
		}
	}
	return out
}

// scheduled reports whether a routing timer of type typ is scheduled for at.
func (e *env) scheduled(t *testing.T, typ string, at time.Time) bool {
	t.Helper()
	tasks, err := e.insp.ListScheduledTasks(queue.QueueRouting)
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

// A query waiting because nobody was online goes to the first operator who
// comes online.
func TestOperatorComingOnlineTakesTheOldestWaitingQuery(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	applySettings(t, e.db.Settings(), strings.ReplaceAll(routingDoc, "CAP", "1"))
	e.startRoutingWorker(t, 4, clock.System{})
	now := time.Now().Truncate(time.Second)
	for i, from := range []string{"5511900000101", "5511900000102"} {
		if err := e.queue.EnqueueInbound(ctx, text(fmt.Sprintf("wamid.wait%d", i), from, now.Add(time.Duration(i)*time.Second), int64(i))); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the query to wait in the pool", func() bool {
			ids, _ := e.store.Pool(ctx, "sales", 10)
			return len(ids) == i+1
		})
	}
	qs := e.routedQueries(t, []string{"5511900000101", "5511900000102"})
	e.online(t, "bruno")
	if err := e.queue.EnqueueDispatch(ctx, "bruno"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bruno to get the oldest waiting query", func() bool {
		st, err := e.store.RoutingState(ctx, qs[0].Query.ID)
		return err == nil && st.Query.Assignee == "bruno"
	})
	time.Sleep(200 * time.Millisecond)
	if st, _ := e.store.RoutingState(ctx, qs[1].Query.ID); st.Query.State != routing.StatePending {
		t.Fatalf("bruno (capacity 1) also got the second query: %+v", st.Query)
	}
}
