package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/routing"
	"switchboard/store"
)

// Every event carries the query's routing state as the script left it, so
// streams decide who may see it without reading the query back.
func TestEventsCarryWhatVisibilityNeeds(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ps, err := s.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	msgs := ps.Channel()
	res := apply(t, s, inbound("wamid.ev1", "5511912340001", t0, 1, "hola"))
	// Pub/sub spans databases: on a shared Redis, other tests' events
	// arrive too, so only this query's count.
	next := func() store.Event {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case m := <-msgs:
				var ev store.Event
				if err := json.Unmarshal([]byte(m.Payload), &ev); err != nil {
					t.Fatalf("event %s: %v", m.Payload, err)
				}
				if ev.QueryID == res.QueryID {
					return ev
				}
			case <-deadline:
				t.Fatal("no event within 5s")
			}
		}
	}
	want := func(got, want store.Event) {
		t.Helper()
		if got != want {
			t.Fatalf("event\n got %+v\nwant %+v", got, want)
		}
	}
	want(next(), store.Event{Type: "message", QueryID: res.QueryID, MessageID: "wamid.ev1", Direction: "inbound",
		State: routing.StatePending, Channel: "wa-main"})

	q := routing.Query{ID: res.QueryID, Channel: "wa-main", State: routing.StateAssigned, Type: "sales", Assignee: "u_ana", Cycle: 1}
	if err := s.ApplyRouting(ctx, q, 0, 10, t0); err != nil {
		t.Fatal(err)
	}
	want(next(), store.Event{Type: "state", QueryID: res.QueryID, State: routing.StateAssigned, Assignee: "u_ana",
		QueryType: "sales", Channel: "wa-main"})

	apply(t, s, inbound("wamid.ev2", "5511912340001", t0.Add(time.Second), 2, "de nuevo"))
	want(next(), store.Event{Type: "message", QueryID: res.QueryID, MessageID: "wamid.ev2", Direction: "inbound",
		State: routing.StateAssigned, Assignee: "u_ana", QueryType: "sales", Channel: "wa-main"})

	out, err := s.RecordOutbound(ctx, res.QueryID, "hola, soy Ana")
	if err != nil {
		t.Fatal(err)
	}
	want(next(), store.Event{Type: "message", QueryID: res.QueryID, MessageID: out, Direction: "outbound",
		State: routing.StateAssigned, Assignee: "u_ana", QueryType: "sales", Channel: "wa-main"})

	if err := s.MarkSent(ctx, "wa-main", res.QueryID, out, "wamid.out1"); err != nil {
		t.Fatal(err)
	}
	want(next(), store.Event{Type: "status", QueryID: res.QueryID, MessageID: out, Status: channels.StatusSent,
		State: routing.StateAssigned, Assignee: "u_ana", QueryType: "sales", Channel: "wa-main"})

	q.State, q.Assignee = routing.StatePending, ""
	if err := s.ApplyRouting(ctx, q, 1, 10, t0); err != nil {
		t.Fatal(err)
	}
	want(next(), store.Event{Type: "state", QueryID: res.QueryID, State: routing.StatePending, PreviousAssignee: "u_ana",
		QueryType: "sales", Channel: "wa-main"})
}
