package repository_test

import (
	"context"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/conversations"
	"switchboard/internal/dbtest"
	"switchboard/repository"
	"switchboard/routing"
)

func TestRecordOutbound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		res := apply(t, r, inbound("wamid.in", "5511912345678", t0.Add(-time.Hour), 1, "hola"))
		created, ev, err := r.RecordOutbound(ctx, res.QueryID, "sb-1", "", "¿En qué puedo ayudar?", nil, t0)
		if err != nil || !created {
			t.Fatalf("RecordOutbound = %v, %v; want created", created, err)
		}
		want := conversations.Event{Type: "message", QueryID: res.QueryID, MessageID: "sb-1", Direction: "outbound",
			State: routing.StatePending, Channel: channel}
		if ev == nil || *ev != want {
			t.Fatalf("event %+v, want %+v", ev, want)
		}
		m, err := r.Message(ctx, res.QueryID, "sb-1")
		if err != nil {
			t.Fatal(err)
		}
		if m.Direction != conversations.DirectionOutbound || m.Status != channels.StatusQueued || m.Text != "¿En qué puedo ayudar?" ||
			m.Template != nil || !m.At.Equal(t0) || !m.StatusAt.Equal(t0) || m.Inbound != nil {
			t.Fatalf("recorded outbound = %+v", m)
		}
		// Carried out again (an auto-reply after a failure): once.
		created, ev, err = r.RecordOutbound(ctx, res.QueryID, "sb-1", "", "other text", nil, t0.Add(time.Second))
		if err != nil || created || ev != nil {
			t.Fatalf("RecordOutbound again = %v, %v, %v; want not created, no event", created, ev, err)
		}
		tmpl := &conversations.TemplateRef{Name: "follow_up", Language: "es", Params: []string{"Ana"}}
		if _, _, err := r.RecordOutbound(ctx, res.QueryID, "sb-2", "", "Hola Ana", tmpl, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		q, _ := r.Query(ctx, res.QueryID)
		if q.OutboundCount != 2 || !q.ActivityAt.Equal(t0.Add(time.Minute)) || !q.LastInboundAt.Equal(t0.Add(-time.Hour)) || q.InboundCount != 1 {
			t.Fatalf("query after outbound = %+v: want 2 outbound, activity moved, customer's time kept", q)
		}
		hist, _ := r.History(ctx, res.QueryID, conversations.HistoryRange{})
		if len(hist.Messages) != 3 || hist.Messages[1].Text != "¿En qué puedo ayudar?" || hist.Messages[2].Template == nil ||
			hist.Messages[2].Template.Name != "follow_up" || hist.Messages[2].Template.Params[0] != "Ana" {
			t.Fatalf("history = %+v", hist.Messages)
		}
	})
}

func TestDeliveryStatusesMoveForwardOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		res := apply(t, r, inbound("wamid.in", "5511912345678", t0, 1, "hola"))
		if _, _, err := r.RecordOutbound(ctx, res.QueryID, "sb-1", "", "hi", nil, t0); err != nil {
			t.Fatal(err)
		}
		ev, err := r.MarkSent(ctx, res.QueryID, "sb-1", "wamid.out1", t0.Add(time.Second))
		if err != nil || ev == nil || ev.Status != channels.StatusSent {
			t.Fatalf("MarkSent = %+v, %v", ev, err)
		}
		steps := []struct {
			status      string
			wantChanged bool
			wantStatus  string
		}{
			{channels.StatusDelivered, true, channels.StatusDelivered},
			{channels.StatusSent, false, channels.StatusDelivered}, // late report: no step back
			{channels.StatusDelivered, false, channels.StatusDelivered},
			{channels.StatusRead, true, channels.StatusRead},
			{channels.StatusFailed, false, channels.StatusRead}, // read proves delivery
			{"deleted", false, channels.StatusRead},             // unknown statuses never become current
		}
		for i, st := range steps {
			at := t0.Add(time.Duration(i+2) * time.Minute)
			got, err := r.ApplyStatus(ctx, &channels.Status{Channel: channel, MessageID: "wamid.out1", Status: st.status, Timestamp: at})
			if err != nil {
				t.Fatal(err)
			}
			if !got.Found || got.Changed != st.wantChanged || got.MessageID != "sb-1" || got.QueryID != res.QueryID || (got.Event != nil) != st.wantChanged {
				t.Fatalf("status %s: got %+v, want found, changed=%v", st.status, got, st.wantChanged)
			}
			m, _ := r.Message(ctx, res.QueryID, "sb-1")
			if m.Status != st.wantStatus || m.ProviderID != "wamid.out1" {
				t.Fatalf("after %s: status %q provider id %q, want %q", st.status, m.Status, m.ProviderID, st.wantStatus)
			}
		}
		// Each status keeps its first time, also when it came too late to
		// be the current one.
		times := column[string](t, db, `SELECT sent_at || ' ' || delivered_at || ' ' || read_at || ' ' || failed_at
			FROM messages WHERE id = 'sb-1'`)
		want := func(d time.Duration) string { return itoa(t0.Add(d).UnixMilli()) }
		if w := want(time.Second) + " " + want(2*time.Minute) + " " + want(5*time.Minute) + " " + want(6*time.Minute); times != w {
			t.Fatalf("status times %s, want %s", times, w)
		}
		m, _ := r.Message(ctx, res.QueryID, "sb-1")
		if !m.StatusAt.Equal(t0.Add(5 * time.Minute)) {
			t.Fatalf("status time %v, want read's", m.StatusAt)
		}
		// The same provider id on another channel is not this message.
		got, err := r.ApplyStatus(ctx, &channels.Status{Channel: "wa-other", MessageID: "wamid.out1", Status: channels.StatusRead})
		if err != nil || got.Found {
			t.Fatalf("status on another channel: %+v, %v; want not found", got, err)
		}
		got, err = r.ApplyStatus(ctx, &channels.Status{Channel: channel, MessageID: "wamid.unknown", Status: channels.StatusRead})
		if err != nil || got.Found || got.Event != nil {
			t.Fatalf("status of an unknown message: %+v, %v; want not found", got, err)
		}
	})
}

// A report can arrive before the send's result is recorded: it finds no
// message (the worker retries it), and once MarkSent ran it applies; a
// MarkSent run again after that never moves the status back.
func TestStatusRacingAheadOfMarkSent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		res := apply(t, r, inbound("wamid.in", "5511912345678", t0, 1, "hola"))
		if _, _, err := r.RecordOutbound(ctx, res.QueryID, "sb-1", "", "hi", nil, t0); err != nil {
			t.Fatal(err)
		}
		delivered := &channels.Status{Channel: channel, MessageID: "wamid.out1", Status: channels.StatusDelivered, Timestamp: t0.Add(time.Second)}
		if got, err := r.ApplyStatus(ctx, delivered); err != nil || got.Found {
			t.Fatalf("report before MarkSent: %+v, %v; want not found yet", got, err)
		}
		if m, _ := r.Message(ctx, res.QueryID, "sb-1"); m.Status != channels.StatusQueued {
			t.Fatalf("an unmatched report changed the message: %+v", m)
		}
		if _, err := r.MarkSent(ctx, res.QueryID, "sb-1", "wamid.out1", t0.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		if got, err := r.ApplyStatus(ctx, delivered); err != nil || !got.Found || !got.Changed {
			t.Fatalf("retried report: %+v, %v; want applied", got, err)
		}
		ev, err := r.MarkSent(ctx, res.QueryID, "sb-1", "wamid.out1", t0.Add(3*time.Second))
		if err != nil || ev != nil {
			t.Fatalf("MarkSent after delivery = %+v, %v; want no change, no event", ev, err)
		}
		if m, _ := r.Message(ctx, res.QueryID, "sb-1"); m.Status != channels.StatusDelivered || m.ProviderID != "wamid.out1" {
			t.Fatalf("message = %+v, want still delivered", m)
		}
		// Another message cannot take the same provider id on the channel.
		if _, _, err := r.RecordOutbound(ctx, res.QueryID, "sb-2", "", "again", nil, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := r.MarkSent(ctx, res.QueryID, "sb-2", "wamid.out1", t0); err == nil {
			t.Fatal("two messages marked sent under one provider id")
		}
	})
}

func TestFailedSendKeepsProviderError(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		res := apply(t, r, inbound("wamid.in", "5511912345678", t0, 1, "hola"))
		if _, _, err := r.RecordOutbound(ctx, res.QueryID, "sb-1", "", "hi", nil, t0); err != nil {
			t.Fatal(err)
		}
		ev, err := r.MarkFailed(ctx, res.QueryID, "sb-1", channels.StatusError{Code: 131047, Title: channels.WindowClosedTitle, Message: "Re-engagement message"}, t0)
		if err != nil || ev == nil || ev.Status != channels.StatusFailed || ev.MessageID != "sb-1" {
			t.Fatalf("MarkFailed = %+v, %v", ev, err)
		}
		m, _ := r.Message(ctx, res.QueryID, "sb-1")
		if m.Status != channels.StatusFailed || m.Error == nil || m.Error.Code != 131047 || m.Error.Title != channels.WindowClosedTitle {
			t.Fatalf("failed message = %+v (error %+v)", m, m.Error)
		}
		// A provider's failure report carries its error too.
		if _, _, err := r.RecordOutbound(ctx, res.QueryID, "sb-2", "", "hi", nil, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := r.MarkSent(ctx, res.QueryID, "sb-2", "wamid.out2", t0); err != nil {
			t.Fatal(err)
		}
		got, err := r.ApplyStatus(ctx, &channels.Status{Channel: channel, MessageID: "wamid.out2", Status: channels.StatusFailed,
			Timestamp: t0, Errors: []channels.StatusError{{Code: 470, Message: "expired"}}})
		if err != nil || !got.Changed {
			t.Fatalf("failure report: %+v, %v", got, err)
		}
		if m, _ := r.Message(ctx, res.QueryID, "sb-2"); m.Error == nil || m.Error.Code != 470 {
			t.Fatalf("reported failure = %+v", m)
		}
	})
}

// Every event carries the conversation's routing fields after the change,
// so streams decide who may see it without reading it back.
func TestEventsCarryWhatVisibilityNeeds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		want := func(got *conversations.Event, want conversations.Event) {
			t.Helper()
			if got == nil || *got != want {
				t.Fatalf("event\n got %+v\nwant %+v", got, want)
			}
		}
		res := apply(t, r, inbound("wamid.ev1", "5511912340001", t0, 1, "hola"))
		want(res.Event, conversations.Event{Type: "message", QueryID: res.QueryID, MessageID: "wamid.ev1", Direction: "inbound",
			State: routing.StatePending, Channel: channel})

		q := routing.Query{ID: res.QueryID, Channel: channel, State: routing.StateAssigned, Type: "sales", Assignee: "u_ana", Cycle: 1}
		ev, err := r.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: 0, Capacity: 10, Now: t0})
		if err != nil {
			t.Fatal(err)
		}
		want(ev, conversations.Event{Type: "state", QueryID: res.QueryID, State: routing.StateAssigned, Assignee: "u_ana",
			QueryType: "sales", Channel: channel})

		res2 := apply(t, r, inbound("wamid.ev2", "5511912340001", t0.Add(time.Second), 2, "de nuevo"))
		want(res2.Event, conversations.Event{Type: "message", QueryID: res.QueryID, MessageID: "wamid.ev2", Direction: "inbound",
			State: routing.StateAssigned, Assignee: "u_ana", QueryType: "sales", Channel: channel})

		_, ev, err = r.RecordOutbound(ctx, res.QueryID, "sb-out", "", "hola, soy Ana", nil, t0)
		if err != nil {
			t.Fatal(err)
		}
		want(ev, conversations.Event{Type: "message", QueryID: res.QueryID, MessageID: "sb-out", Direction: "outbound",
			State: routing.StateAssigned, Assignee: "u_ana", QueryType: "sales", Channel: channel})

		ev, err = r.MarkSent(ctx, res.QueryID, "sb-out", "wamid.out1", t0)
		if err != nil {
			t.Fatal(err)
		}
		want(ev, conversations.Event{Type: "status", QueryID: res.QueryID, MessageID: "sb-out", Status: channels.StatusSent,
			State: routing.StateAssigned, Assignee: "u_ana", QueryType: "sales", Channel: channel})

		st, err := r.ApplyStatus(ctx, &channels.Status{Channel: channel, MessageID: "wamid.out1", Status: channels.StatusRead, Timestamp: t0})
		if err != nil {
			t.Fatal(err)
		}
		want(st.Event, conversations.Event{Type: "status", QueryID: res.QueryID, MessageID: "sb-out", Status: channels.StatusRead,
			State: routing.StateAssigned, Assignee: "u_ana", QueryType: "sales", Channel: channel})

		// A change of routing state that keeps state and assignee: no event.
		q.Cycle = 2
		if ev, err = r.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: 1, Capacity: 10, Now: t0}); err != nil || ev != nil {
			t.Fatalf("decision changing neither state nor assignee: event %+v, %v; want none", ev, err)
		}

		q.State, q.Assignee = routing.StatePending, ""
		ev, err = r.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: 2, Capacity: 10, Now: t0})
		if err != nil {
			t.Fatal(err)
		}
		want(ev, conversations.Event{Type: "state", QueryID: res.QueryID, State: routing.StatePending, PreviousAssignee: "u_ana",
			PreviousState: routing.StateAssigned, QueryType: "sales", Channel: channel})

		// A type chosen while pending (the menu answered) enters a pool:
		// announced, though neither state nor assignee changed.
		q.Type = ""
		if _, err = r.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: 3, Capacity: 10, Now: t0}); err != nil {
			t.Fatal(err)
		}
		q.Type = "sales"
		ev, err = r.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: 4, Capacity: 10, Now: t0})
		if err != nil {
			t.Fatal(err)
		}
		want(ev, conversations.Event{Type: "state", QueryID: res.QueryID, State: routing.StatePending,
			PreviousState: routing.StatePending, QueryType: "sales", Channel: channel})
	})
}
