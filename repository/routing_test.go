package repository_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"switchboard/conversations"
	"switchboard/internal/dbtest"
	"switchboard/repository"
	"switchboard/routing"
)

// newQueries opens n conversations of n customers and returns their ids.
func newQueries(t *testing.T, r *repository.Conversations, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		ids[i] = apply(t, r, inbound(fmt.Sprintf("wamid.q%d", i), fmt.Sprintf("551190000%04d", i), t0.Add(time.Duration(i)*time.Second), int64(i), "hola")).QueryID
	}
	return ids
}

func TestApplyDecisionStoresRoutingState(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		id := newQueries(t, r, 1)[0]
		q := routing.Query{ID: id, Channel: channel, State: routing.StateAssigned, Type: "sales", Assignee: "u_ana", Cycle: 1,
			Origin: routing.OriginKeyword, OutOfHoursNotified: t0.Add(-time.Hour)}
		if _, err := r.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: 0, Capacity: 5, Now: t0}); err != nil {
			t.Fatal(err)
		}
		st, err := r.RoutingState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Version != 1 || !st.Query.OutOfHoursNotified.Equal(q.OutOfHoursNotified) {
			t.Fatalf("routing state = %+v, want version 1 and the query as stored", st)
		}
		st.Query.OutOfHoursNotified = q.OutOfHoursNotified
		if st.Query != q || st.AnsweredSinceAssignment || !st.LastInboundAt.Equal(t0) {
			t.Fatalf("routing state = %+v, want %+v", st, q)
		}
		got, _ := r.Query(ctx, id)
		if got.State != routing.StateAssigned || got.Assignee != "u_ana" || got.QueryType != "sales" || !got.UpdatedAt.Equal(t0) {
			t.Fatalf("query columns = %+v", got)
		}
		// An operator's reply counts as answered; a new assignee starts again.
		if _, _, err := r.RecordOutbound(ctx, id, "sb-1", "", "hola", nil, t0); err != nil {
			t.Fatal(err)
		}
		if st, _ = r.RoutingState(ctx, id); !st.AnsweredSinceAssignment {
			t.Fatal("a reply after the assignment is not counted as answered")
		}
		q.Assignee, q.PreviousAssignee = "u_bruno", "u_ana"
		if _, err := r.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: 1, Capacity: 5, Now: t0}); err != nil {
			t.Fatal(err)
		}
		if st, _ = r.RoutingState(ctx, id); st.AnsweredSinceAssignment || st.Version != 2 {
			t.Fatalf("after a transfer: %+v, want not answered at version 2", st)
		}
		closeQuery(t, r, id)
		if got, _ = r.Query(ctx, id); got.State != routing.StateClosed || got.Assignee != "" || got.Resolution != "solved" {
			t.Fatalf("closed query = %+v", got)
		}
		if n := column[int64](t, db, `SELECT closed_at FROM conversations WHERE id = $1`, id); n != t0.UnixMilli() {
			t.Fatalf("closed_at = %d, want now", n)
		}
	})
}

func TestApplyDecisionVersionConflict(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		id := newQueries(t, r, 1)[0]
		q := routing.Query{ID: id, Channel: channel, State: routing.StatePending, Type: "sales"}
		if _, err := r.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: 0, Now: t0, Effects: "e1"}); err != nil {
			t.Fatal(err)
		}
		stale := q
		stale.State, stale.Assignee = routing.StateAssigned, "u_ana"
		_, err := r.ApplyDecision(ctx, conversations.Decision{Query: stale, ExpectVersion: 0, Capacity: 5, Now: t0, Effects: "e2", Inbound: "wamid.q0"})
		wantErr(t, "decision from an old version", err, conversations.ErrConflict)
		st, _ := r.RoutingState(ctx, id)
		if st.Version != 1 || st.Query.State != routing.StatePending || st.Effects != "e1" {
			t.Fatalf("a refused decision changed the state: %+v", st)
		}
		if dup := apply(t, r, inbound("wamid.q0", "5511900000000", t0, 0, "hola")); dup.Routed {
			t.Fatal("a refused decision marked its message routed")
		}
		if loads, _ := r.Loads(ctx, []string{"u_ana"}); !loads["u_ana"].LastAssigned.IsZero() {
			t.Fatalf("a refused decision counted as an assignment: %+v", loads)
		}
	})
}

// Two operators claim one conversation at once: exactly one wins.
func TestOneClaimWins(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		id := newQueries(t, r, 1)[0]
		decide(t, r, routing.Query{ID: id, Channel: channel, State: routing.StatePending, Type: "sales"})
		for round := range 10 {
			st, _ := r.RoutingState(ctx, id)
			if st.Query.State != routing.StatePending {
				t.Fatalf("round %d starts from %+v", round, st.Query)
			}
			ops := []string{"u_ana", "u_bruno"}
			errs := make([]error, len(ops))
			var wg sync.WaitGroup
			for i, op := range ops {
				wg.Go(func() {
					q, _ := routing.Claim(st.Query, op)
					_, errs[i] = r.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: st.Version, Capacity: 5, Now: t0})
				})
			}
			wg.Wait()
			won := ""
			for i, err := range errs {
				switch {
				case err == nil:
					if won != "" {
						t.Fatalf("round %d: both %s and %s claimed it", round, won, ops[i])
					}
					won = ops[i]
				case !errors.Is(err, conversations.ErrConflict):
					t.Fatalf("round %d: %s: %v, want ErrConflict", round, ops[i], err)
				}
			}
			got, _ := r.Query(ctx, id)
			if won == "" || got.Assignee != won {
				t.Fatalf("round %d: winner %q, query assigned to %q", round, won, got.Assignee)
			}
			back, _ := routing.Return(func() routing.Query { s, _ := r.RoutingState(ctx, id); return s.Query }())
			decide(t, r, back)
		}
	})
}

func TestNewAssigneeAtCapacity(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		ids := newQueries(t, r, 3)
		assign := func(id, op string, capacity int) error {
			st, err := r.RoutingState(ctx, id)
			if err != nil {
				return err
			}
			q := st.Query
			q.State, q.Assignee, q.Type = routing.StateAssigned, op, "sales"
			_, err = r.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: st.Version, Capacity: capacity, Now: t0})
			return err
		}
		for _, id := range ids[:2] {
			if err := assign(id, "u_ana", 2); err != nil {
				t.Fatal(err)
			}
		}
		wantErr(t, "third query to an operator of capacity 2", assign(ids[2], "u_ana", 2), conversations.ErrAtCapacity)
		if q, _ := r.Query(ctx, ids[2]); q.Assignee != "" || q.State != routing.StatePending {
			t.Fatalf("refused assignment stored: %+v", q)
		}
		// Staying with the same operator is no new assignment: no check.
		st, _ := r.RoutingState(ctx, ids[0])
		q := st.Query
		q.Cycle++
		if _, err := r.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: st.Version, Capacity: 2, Now: t0}); err != nil {
			t.Fatalf("a decision keeping the assignee at capacity: %v", err)
		}
		// A closed conversation frees its seat.
		closeQuery(t, r, ids[0])
		if err := assign(ids[2], "u_ana", 2); err != nil {
			t.Fatalf("assignment after a seat freed: %v", err)
		}
		wantErr(t, "capacity 0", assign(ids[0], "u_bruno", 0), conversations.ErrAtCapacity)
	})
}

// 16 workers race to give 16 conversations to one operator with 3 seats:
// exactly 3 are assigned, whatever the interleaving.
func TestLastSeatRace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		ids := newQueries(t, r, 16)
		var wg sync.WaitGroup
		errs := make([]error, len(ids))
		start := make(chan struct{})
		for i, id := range ids {
			wg.Go(func() {
				q := routing.Query{ID: id, Channel: channel, State: routing.StateAssigned, Type: "sales", Assignee: "u_ana"}
				<-start
				_, errs[i] = r.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: 0, Capacity: 3, Now: t0})
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, conversations.ErrAtCapacity):
				t.Fatalf("conversation %d: %v, want ErrAtCapacity", i, err)
			}
		}
		assigned, err := r.AssignedTo(ctx, "u_ana")
		if err != nil {
			t.Fatal(err)
		}
		loads, _ := r.Loads(ctx, []string{"u_ana"})
		if won != 3 || len(assigned) != 3 || loads["u_ana"].Assigned != 3 {
			t.Fatalf("%d decisions won, %d assigned, load %d: want exactly 3", won, len(assigned), loads["u_ana"].Assigned)
		}
	})
}

// Pools hold pending conversations of a type, longest waiting first; a
// conversation keeps its place while it stays pending with its type.
func TestPoolOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		ids := newQueries(t, r, 4)
		pend := func(id, typ string, at time.Time) {
			st, _ := r.RoutingState(ctx, id)
			q := st.Query
			q.State, q.Type, q.Assignee = routing.StatePending, typ, ""
			if _, err := r.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: st.Version, Now: at}); err != nil {
				t.Fatal(err)
			}
		}
		pool := func(typ string, n int) []string {
			ids, err := r.Pool(ctx, typ, n)
			if err != nil {
				t.Fatal(err)
			}
			return ids
		}
		if _, ok, err := r.PoolOldest(ctx, "sales"); ok || err != nil {
			t.Fatalf("empty pool has an oldest: %v, %v", ok, err)
		}
		pend(ids[2], "sales", t0)
		pend(ids[0], "sales", t0.Add(time.Minute))
		pend(ids[1], "sales", t0.Add(time.Minute)) // same time: id decides
		pend(ids[3], "support", t0)
		if got := pool("sales", 10); !slices.Equal(got, []string{ids[2], ids[0], ids[1]}) {
			t.Fatalf("pool = %v, want %v", got, []string{ids[2], ids[0], ids[1]})
		}
		if got := pool("sales", 2); len(got) != 2 || got[0] != ids[2] {
			t.Fatalf("pool of 2 = %v", got)
		}
		// Decided again, still pending with its type: keeps its place.
		pend(ids[2], "sales", t0.Add(time.Hour))
		if since, ok, _ := r.PoolOldest(ctx, "sales"); !ok || !since.Equal(t0) {
			t.Fatalf("oldest of sales = %v, %v; want t0 kept", since, ok)
		}
		// Another type: waits there from now.
		pend(ids[2], "support", t0.Add(2*time.Hour))
		if got := pool("support", 10); !slices.Equal(got, []string{ids[3], ids[2]}) {
			t.Fatalf("support pool = %v", got)
		}
		if got := pool("sales", 10); !slices.Equal(got, []string{ids[0], ids[1]}) {
			t.Fatalf("sales pool = %v", got)
		}
		// Assigned leaves the pool; back to pending re-enters at the end.
		decide(t, r, routing.Query{ID: ids[0], State: routing.StateAssigned, Type: "sales", Assignee: "u_ana"})
		if got := pool("sales", 10); !slices.Equal(got, []string{ids[1]}) {
			t.Fatalf("pool after an assignment = %v", got)
		}
		pend(ids[0], "sales", t0.Add(3*time.Hour))
		if got := pool("sales", 10); !slices.Equal(got, []string{ids[1], ids[0]}) {
			t.Fatalf("pool after a return = %v", got)
		}
		if since, ok, _ := r.PoolOldest(ctx, "sales"); !ok || !since.Equal(t0.Add(time.Minute)) {
			t.Fatalf("oldest = %v, want t0+1m", since)
		}
		if got := pool("sales", 0); len(got) != 0 {
			t.Fatalf("pool of 0 = %v", got)
		}
	})
}

// Every decision replaces the pending effects: one without any clears
// what an older one left, so it is never carried out later; ClearEffects
// only clears the effects it was given.
func TestEffectsAndRoutedMarks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		res := apply(t, r, inbound("wamid.eff1", "5511912340001", t0.Add(-time.Minute), 1, "hola"))
		q := routing.Query{ID: res.QueryID, Channel: channel, State: routing.StatePending, Type: "sales", Cycle: 1}
		if _, err := r.ApplyDecision(ctx, conversations.Decision{Query: q, Now: t0, Effects: `{"replies":[{"id":"sb-1"}]}`, Inbound: "wamid.eff1"}); err != nil {
			t.Fatal(err)
		}
		st, err := r.RoutingState(ctx, res.QueryID)
		if err != nil || st.Effects != `{"replies":[{"id":"sb-1"}]}` {
			t.Fatalf("effects not kept: %q, %v", st.Effects, err)
		}
		if again := apply(t, r, inbound("wamid.eff1", "5511912340001", t0.Add(-time.Minute), 1, "hola")); !again.Duplicate || !again.Routed {
			t.Fatalf("redelivery = %+v, want a duplicate marked routed", again)
		}
		// A message no decision consumed is not routed.
		apply(t, r, inbound("wamid.eff2", "5511912340001", t0, 2, "sigo"))
		if again := apply(t, r, inbound("wamid.eff2", "5511912340001", t0, 2, "sigo")); !again.Duplicate || again.Routed {
			t.Fatalf("redelivery of an unrouted message = %+v", again)
		}
		// Clearing other effects than the pending ones keeps them.
		if err := r.ClearEffects(ctx, res.QueryID, `{"older":true}`); err != nil {
			t.Fatal(err)
		}
		if st, _ = r.RoutingState(ctx, res.QueryID); st.Effects == "" {
			t.Fatal("ClearEffects dropped newer effects than it was given")
		}
		if err := r.ClearEffects(ctx, res.QueryID, st.Effects); err != nil {
			t.Fatal(err)
		}
		if st, _ = r.RoutingState(ctx, res.QueryID); st.Effects != "" {
			t.Fatalf("effects after ClearEffects: %q", st.Effects)
		}
		if _, err := r.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: st.Version, Now: t0, Effects: "again"}); err != nil {
			t.Fatal(err)
		}
		q.State = routing.StateInactive
		if _, err := r.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: st.Version + 1, Now: t0}); err != nil {
			t.Fatal(err)
		}
		if st, _ = r.RoutingState(ctx, res.QueryID); st.Effects != "" {
			t.Fatalf("older effects left after a decision without any: %q", st.Effects)
		}
	})
}

func TestLoadsCountsAndAssigned(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		ids := newQueries(t, r, 5)
		if counts, err := r.QueryCounts(ctx); err != nil || len(counts) != 0 {
			t.Fatalf("counts before routing = %v, %v; want none (never-routed queries are not counted)", counts, err)
		}
		for i, id := range ids[:3] {
			st, _ := r.RoutingState(ctx, id)
			q := routing.Query{ID: id, Channel: channel, State: routing.StateAssigned, Type: "sales", Assignee: "u_ana"}
			if _, err := r.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: st.Version, Capacity: 10, Now: t0.Add(time.Duration(i) * time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		decide(t, r, routing.Query{ID: ids[3], State: routing.StatePending, Type: "sales"})
		closeQuery(t, r, ids[2])
		loads, err := r.Loads(ctx, []string{"u_ana", "u_nobody"})
		if err != nil {
			t.Fatal(err)
		}
		if loads["u_ana"].Assigned != 2 || !loads["u_ana"].LastAssigned.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("u_ana's load = %+v, want 2 assigned, last at t0+2h", loads["u_ana"])
		}
		if l, ok := loads["u_nobody"]; !ok || l.Assigned != 0 || !l.LastAssigned.IsZero() {
			t.Fatalf("an operator never assigned: %+v, %v; want zeros", l, ok)
		}
		assigned, _ := r.AssignedTo(ctx, "u_ana")
		if want := []string{ids[0], ids[1]}; !slices.Equal(assigned, want) {
			t.Fatalf("assigned to u_ana = %v, want %v", assigned, want)
		}
		counts, _ := r.QueryCounts(ctx)
		if want := map[string]int{routing.StateAssigned: 2, routing.StatePending: 1}; fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Fatalf("counts = %v, want %v", counts, want)
		}
	})
}
