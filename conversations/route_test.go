package conversations_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"switchboard/channels"
	"switchboard/clock"
	"switchboard/conversations"
	"switchboard/internal/convtest"
	"switchboard/queue"
	"switchboard/routing"
)

// replicas applies the messages it is given on several services at once,
// each with its own Redis pool and several tasks in flight, as worker
// replicas do; a failed message is tried again, as the queue would.
type replicas struct {
	t    *testing.T
	work chan *channels.Inbound
	wg   sync.WaitGroup
}

func (e *env) startReplicas(t *testing.T, n, concurrency int) *replicas {
	r := &replicas{t: t, work: make(chan *channels.Inbound)}
	for range n {
		rdb := redis.NewClient(e.Redis.Options())
		t.Cleanup(func() { rdb.Close() })
		svc := e.NewService(rdb)
		for range concurrency {
			r.wg.Go(func() {
				for m := range r.work {
					var err error
					for range maxTries {
						if err = deliver(svc, m); err == nil {
							break
						}
					}
					if err != nil {
						t.Errorf("message %s: %v", m.ID, err)
					}
				}
			})
		}
	}
	return r
}

// wait lets the replicas finish what they were given and stops them.
func (r *replicas) wait() {
	close(r.work)
	r.wg.Wait()
}

// checkOwners asserts one owner per query, loads equal to what is
// assigned, and nobody over capacity; it returns how many are assigned.
func (e *env) checkOwners(t *testing.T, qids []string, capacity int) int {
	t.Helper()
	perOp := map[string]int{}
	for _, id := range qids {
		st := e.state(t, id)
		switch st.Query.State {
		case routing.StateAssigned:
			if st.Query.Assignee == "" {
				t.Fatalf("query %s assigned to nobody", id)
			}
			perOp[st.Query.Assignee]++
		case routing.StatePending:
			if st.Query.Assignee != "" {
				t.Fatalf("pending query %s has an assignee %s", id, st.Query.Assignee)
			}
		default:
			t.Fatalf("query %s in state %q, want routed", id, st.Query.State)
		}
	}
	total := 0
	for _, op := range []string{"ana", "bruno", "carla"} {
		load, err := e.Service.OperatorLoad(context.Background(), op)
		if err != nil {
			t.Fatal(err)
		}
		if load != perOp[op] {
			t.Fatalf("%s: load %d but %d queries assigned", op, load, perOp[op])
		}
		if perOp[op] > capacity {
			t.Fatalf("%s has %d queries, capacity %d", op, perOp[op], capacity)
		}
		total += perOp[op]
	}
	return total
}

// Replicas routing many customers' messages at once give each query one
// owner and nobody more than their capacity, and a settings change
// applied under load holds for the messages after it.
func TestManyWorkersRouteEachQueryToOneOwner(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.ApplyRouting(t, 3)
	e.online(t, "ana", "bruno", "carla")

	now := time.Now().Truncate(time.Second)
	var contacts []string
	sent := map[string]int{}
	feed := func(r *replicas, from string, n int) {
		contacts = append(contacts, from)
		for i := range n {
			r.work <- text(fmt.Sprintf("wamid.%s.%d", from, i), from, now.Add(time.Duration(i)*time.Second), int64(i))
			sent[from]++
		}
	}
	r := e.startReplicas(t, 3, 8)
	for c := range 30 {
		feed(r, fmt.Sprintf("55119000%05d", c), 3)
	}
	r.wait()
	qids := func() []string {
		var out []string
		for _, from := range contacts {
			out = append(out, e.openQuery(t, from))
		}
		return out
	}
	if got := e.checkOwners(t, qids(), 3); got != 9 {
		t.Fatalf("%d queries assigned, want 9 (three operators of capacity 3)", got)
	}

	// The accounts changed under load: capacity 5 for the next wave, seen
	// by every replica's next decision.
	r = e.startReplicas(t, 3, 8)
	for c := 30; c < 50; c++ {
		feed(r, fmt.Sprintf("55119000%05d", c), 2)
		if c == 35 {
			e.SetCapacity(t, 5, "ana", "bruno", "carla")
		}
	}
	r.wait()
	if got := e.checkOwners(t, qids(), 5); got != 15 {
		t.Fatalf("%d queries assigned after the change, want 15 (capacity 5 each)", got)
	}
	for _, from := range contacts {
		if h := e.history(t, e.openQuery(t, from)); len(h) != sent[from] {
			t.Fatalf("customer %s's query has %d messages in history, want %d", from, len(h), sent[from])
		}
	}
	pool, err := e.Service.List(ctx, conversations.Filter{State: routing.StatePending, QueryType: "sales", Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	if len(pool.Items) != len(contacts)-15 {
		t.Fatalf("%d queries in the pool, want %d", len(pool.Items), len(contacts)-15)
	}
	if got := testutil.ToFloat64(e.Metrics.RoutingDecisions.WithLabelValues("sales", "round_robin", "assigned")); got != 15 {
		t.Fatalf("assigned decisions counted = %v, want 15", got)
	}
}

// At the exact end of a session its query goes inactive, once however
// many timers fire for it, and the operator's freed seat goes to the
// customer waiting; a second earlier nothing changes and the timer
// re-arms itself for the end.
func TestSessionEndReleasesOnceAndFreesTheOperator(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	clk := clock.NewFake(start)
	e := newEnv(t, clk)
	ctx := context.Background()
	e.ApplyRouting(t, 1)
	e.online(t, "ana")

	// Two customers; ana (capacity 1) gets the first, the second waits.
	first := text("wamid.s1", "5511900000001", start, 1)
	second := text("wamid.s2", "5511900000002", start.Add(time.Second), 2)
	e.mustDeliver(t, first)
	e.mustDeliver(t, second)
	q0, q1 := e.openQuery(t, first.From), e.openQuery(t, second.From)
	if a, b := e.state(t, q0).Query, e.state(t, q1).Query; a.Assignee != "ana" || b.State != routing.StatePending {
		t.Fatalf("before expiry: %+v / %+v", a, b)
	}
	end := start.Add(24 * time.Hour)
	if !e.scheduledAt(t, queue.TypeSessionEnd, q0, end) {
		t.Fatalf("no session timer for the first query at %v: %v", end, e.timers(t, queue.TypeSessionEnd, q0))
	}

	// One second before the 24h edge a timer changes nothing and re-arms
	// itself for the edge.
	clk.Set(end.Add(-time.Second))
	if err := e.Service.SessionEnd(ctx, q0, "1:early"); err != nil {
		t.Fatal(err)
	}
	if due := e.timers(t, queue.TypeSessionEnd, q0)[fmt.Sprintf("1:%d", end.Unix())]; !due.Equal(end) {
		t.Fatalf("re-armed timer due %v, want the edge %v", due, end)
	}
	if st := e.state(t, q0); st.Query.State != routing.StateAssigned {
		t.Fatalf("at 23:59:59 the query is %s, want still assigned", st.Query.State)
	}

	// At exactly 24h the session ends. Two timers fire for it at once
	// (say a duplicate and the re-arm); it is released once.
	clk.Set(end)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, key := range []string{"1", fmt.Sprintf("1:%d", end.Unix())} {
		wg.Go(func() { errs[i] = e.Service.SessionEnd(ctx, q0, key) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := e.state(t, q0); st.Query.State != routing.StateInactive || st.Query.Assignee != "" {
		t.Fatalf("after the end the first query is %+v, want inactive and unassigned", st.Query)
	}
	// Ana's freed capacity goes to the waiting customer.
	if st := e.state(t, q1); st.Query.State != routing.StateAssigned || st.Query.Assignee != "ana" {
		t.Fatalf("waiting query = %+v, want dispatched to ana", st.Query)
	}
	if got := testutil.ToFloat64(e.Metrics.WindowExpirations); got != 1 {
		t.Fatalf("window expirations = %v, want exactly 1", got)
	}
	if load, _ := e.Service.OperatorLoad(ctx, "ana"); load != 1 {
		t.Fatalf("ana's load = %d, want 1 (released one, got one)", load)
	}
}

// The test runs from several starts, so it cannot depend on the day it runs.
func TestOutOfHoursReplyIsSentOnce(t *testing.T) {
	for _, ahead := range []int{0, 37, 400} {
		noon := noonAfter(time.Now().AddDate(0, 0, ahead))
		t.Run(noon.Format("2006-01-02"), func(t *testing.T) { testOutOfHoursReplyIsSentOnce(t, noon) })
	}
}

// Three messages out of hours, applied at once, get one auto-reply, and
// the query waits, queued, for the release at opening time.
func testOutOfHoursReplyIsSentOnce(t *testing.T, noon time.Time) {
	e := newEnv(t, clock.NewFake(noon))
	e.ApplySettings(t, convtest.OutOfHoursDoc)
	r := e.startReplicas(t, 1, 4)
	for i := range 3 {
		r.work <- text(fmt.Sprintf("wamid.ooh%d", i), "5511900000009", noon.Add(time.Duration(i)*time.Minute), int64(i))
	}
	r.wait()
	qid := e.openQuery(t, "5511900000009")
	opens := openingAfter(noon)
	want := "We are closed. We open at " + opens.Format("Mon 02/01 15:04") + "."
	replies := e.outbound(t, qid)
	if len(replies) != 1 || replies[0].Text != want || replies[0].Status != channels.StatusQueued {
		t.Fatalf("auto-replies = %+v, want exactly one, queued: %q", replies, want)
	}
	if got := e.sends(t, qid); !slices.Equal(got, []string{replies[0].ID}) {
		t.Fatalf("sends queued = %v, want the reply's once", got)
	}
	if got := testutil.ToFloat64(e.Metrics.AutoReplies.WithLabelValues("out_of_hours")); got != 1 {
		t.Fatalf("auto-replies counted = %v, want 1", got)
	}
	if st := e.state(t, qid); !st.Query.QueuedUntilOpen || st.Query.State != routing.StatePending {
		t.Fatalf("query = %+v, want queued until open", st.Query)
	}
	if !e.scheduledAt(t, queue.TypeRelease, qid, opens) {
		t.Fatalf("no release scheduled for opening time %s: %v", opens, e.timers(t, queue.TypeRelease, qid))
	}
}

// A query waiting because nobody was online goes to the first operator who
// comes online: coming online queues a dispatch, and the dispatch gives
// them the oldest waiting query, as many as their capacity.
func TestOperatorComingOnlineTakesTheOldestWaitingQuery(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clk := clock.NewFake(now)
	e := newEnv(t, clk)
	ctx := context.Background()
	e.ApplyRouting(t, 1)
	var qids []string
	for i, from := range []string{"5511900000101", "5511900000102"} {
		e.mustDeliver(t, text(fmt.Sprintf("wamid.wait%d", i), from, clk.Now(), int64(i)))
		qids = append(qids, e.openQuery(t, from))
		clk.Advance(time.Second)
	}
	pool, err := e.Service.List(ctx, conversations.Filter{State: routing.StatePending, QueryType: "sales"})
	if err != nil || len(pool.Items) != 2 {
		t.Fatalf("pool = %+v (%v), want both queries waiting", pool.Items, err)
	}

	e.online(t, "bruno")
	tasks, err := e.Inspector.ListPendingTasks(queue.QueueRouting)
	if err != nil {
		t.Fatal(err)
	}
	dispatches := 0
	for _, ti := range tasks {
		if tm, err := queue.DecodeTimer(ti.Payload); err == nil && ti.Type == queue.TypeDispatch && tm.Key == "bruno" {
			dispatches++
		}
	}
	if dispatches != 1 {
		t.Fatalf("%d dispatches queued for bruno, want 1", dispatches)
	}
	if err := e.Service.Dispatch(ctx, "bruno"); err != nil { // as the dispatch task does
		t.Fatal(err)
	}
	if st := e.state(t, qids[0]); st.Query.State != routing.StateAssigned || st.Query.Assignee != "bruno" {
		t.Fatalf("oldest waiting query = %+v, want bruno's", st.Query)
	}
	if st := e.state(t, qids[1]); st.Query.State != routing.StatePending {
		t.Fatalf("bruno (capacity 1) also got the second query: %+v", st.Query)
	}
}
