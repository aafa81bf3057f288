package repository_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/conversations"
	"switchboard/internal/dbtest"
	"switchboard/repository"
	"switchboard/routing"
)

func TestApplyInboundCreatesContactAndPendingQuery(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		m := inbound("wamid.1", "5511912345678", t0.Add(-time.Minute), 1, "hola")
		res := apply(t, r, m)
		if res.Duplicate || !res.NewQuery || res.Late {
			t.Fatalf("first message: got %+v, want a new query, not duplicate, not late", res)
		}
		if res.ContactID != conversations.ContactID(channel, "5511912345678") || res.QueryID != res.ContactID+"-1" {
			t.Fatalf("ids %q / %q: want the derived contact id and its first query", res.ContactID, res.QueryID)
		}
		want := conversations.Event{Type: "message", QueryID: res.QueryID, MessageID: "wamid.1", Direction: "inbound",
			State: routing.StatePending, Channel: channel}
		if res.Event == nil || *res.Event != want {
			t.Fatalf("event %+v, want %+v", res.Event, want)
		}
		c, err := r.Contact(ctx, res.ContactID)
		if err != nil {
			t.Fatal(err)
		}
		if c.ExternalID != "5511912345678" || c.Channel != channel || c.ProfileName != "Ana wamid.1" ||
			c.OpenQuery != res.QueryID || !c.CreatedAt.Equal(t0) || !c.LastInboundAt.Equal(m.Timestamp) {
			t.Fatalf("contact = %+v", c)
		}
		q, err := r.Query(ctx, res.QueryID)
		if err != nil {
			t.Fatal(err)
		}
		if q.State != routing.StatePending || q.ContactID != res.ContactID || q.InboundCount != 1 || q.Channel != channel ||
			!q.LastInboundAt.Equal(m.Timestamp) || !q.ActivityAt.Equal(m.Timestamp) || !q.CreatedAt.Equal(t0) {
			t.Fatalf("query = %+v", q)
		}
		st, err := r.RoutingState(ctx, res.QueryID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Query.State != "" || st.Query.ID != res.QueryID || st.Query.Channel != channel || st.Version != 0 {
			t.Fatalf("routing state of a new query = %+v, want never routed", st)
		}
		hist, err := r.History(ctx, res.QueryID, conversations.HistoryRange{})
		if err != nil {
			t.Fatal(err)
		}
		if len(hist.Messages) != 1 || hist.More {
			t.Fatalf("history = %+v", hist)
		}
		h := hist.Messages[0]
		if h.Direction != conversations.DirectionInbound || h.Inbound == nil || h.Inbound.Text != "hola" || h.ID != "wamid.1" ||
			h.QueryID != res.QueryID || !h.At.Equal(m.Timestamp) || h.Seq != 1 || h.Purged {
			t.Fatalf("history[0] = %+v", h)
		}

		// A second message joins the same open query.
		res2 := apply(t, r, inbound("wamid.2", "5511912345678", t0, 2, "sigo aqui"))
		if res2.NewQuery || res2.QueryID != res.QueryID || res2.Late {
			t.Fatalf("second message: %+v, want the open query %q", res2, res.QueryID)
		}
		// Another customer gets their own contact and query.
		res3 := apply(t, r, inbound("wamid.3", "5511900000000", t0, 3, "oi"))
		if res3.ContactID == res.ContactID || res3.QueryID == res.QueryID || !res3.NewQuery {
			t.Fatalf("other customer shares state: %+v vs %+v", res3, res)
		}
	})
}

func TestApplyInboundDuplicateChangesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		m := inbound("wamid.dup", "5511912345678", t0, 1, "hola")
		first := apply(t, r, m)
		before, _ := r.Query(ctx, first.QueryID)
		// Redelivered later, with a newer profile name: still nothing.
		again := *m
		again.ProfileName = "Someone else"
		dup := apply(t, r, &again)
		if !dup.Duplicate || dup.QueryID != first.QueryID || dup.Event != nil || dup.Routed || dup.NewQuery {
			t.Fatalf("redelivery: got %+v, want a duplicate of query %s without event", dup, first.QueryID)
		}
		after, _ := r.Query(ctx, first.QueryID)
		if !reflect.DeepEqual(after, before) {
			t.Fatalf("a duplicate changed the query:\n%+v\n%+v", before, after)
		}
		hist, _ := r.History(ctx, first.QueryID, conversations.HistoryRange{})
		if len(hist.Messages) != 1 {
			t.Fatalf("history has %d messages after a duplicate, want 1", len(hist.Messages))
		}
		if c, _ := r.Contact(ctx, first.ContactID); c.ProfileName != "Ana wamid.dup" {
			t.Fatalf("a duplicate changed the profile name to %q", c.ProfileName)
		}
	})
}

// Many goroutines applying one contact's messages at once end with one
// query holding every message.
func TestConcurrentApplyOneContactCreatesOneQuery(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		const n = 40
		var wg sync.WaitGroup
		results := make([]conversations.InboundResult, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				results[i], errs[i] = applyErr(r, inbound(fmt.Sprintf("wamid.%d", i), "5511912345678", t0.Add(time.Duration(i)*time.Second), int64(i), "x"))
			})
		}
		wg.Wait()
		created := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if results[i].NewQuery {
				created++
			}
			if results[i].QueryID != results[0].QueryID {
				t.Fatalf("message %d went to query %s, message 0 to %s", i, results[i].QueryID, results[0].QueryID)
			}
		}
		if created != 1 {
			t.Fatalf("%d messages reported creating a query, want exactly 1", created)
		}
		hist, err := r.History(context.Background(), results[0].QueryID, conversations.HistoryRange{})
		if err != nil || len(hist.Messages) != n {
			t.Fatalf("history has %d messages (%v), want %d", len(hist.Messages), err, n)
		}
	})
}

// 8 workers applying 200 messages of 20 contacts at once, each message
// delivered twice: one open conversation per contact, every message once.
func TestConcurrentApplyManyContacts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		const contacts, perContact, workers = 20, 10, 8
		var msgs []*channels.Inbound
		for c := range contacts {
			for i := range perContact {
				msgs = append(msgs, inbound(fmt.Sprintf("wamid.%d.%d", c, i), fmt.Sprintf("55119000%05d", c),
					t0.Add(time.Duration(i)*time.Second), int64(i), "x"))
			}
		}
		// Every message twice, shuffled: duplicates race their originals.
		work := append(append([]*channels.Inbound(nil), msgs...), msgs...)
		rand.New(rand.NewPCG(3, 4)).Shuffle(len(work), func(i, j int) { work[i], work[j] = work[j], work[i] })
		feed := make(chan *channels.Inbound)
		var mu sync.Mutex
		applied := map[string]int{}
		queryOf := map[string]map[string]bool{}
		var wg sync.WaitGroup
		var failure error
		for range workers {
			wg.Go(func() {
				for m := range feed {
					res, err := applyErr(r, m)
					mu.Lock()
					if err != nil && failure == nil {
						failure = err
					}
					if err == nil {
						if !res.Duplicate {
							applied[m.ID]++
						}
						if queryOf[m.From] == nil {
							queryOf[m.From] = map[string]bool{}
						}
						queryOf[m.From][res.QueryID] = true
					}
					mu.Unlock()
				}
			})
		}
		for _, m := range work {
			feed <- m
		}
		close(feed)
		wg.Wait()
		if failure != nil {
			t.Fatal(failure)
		}
		for _, m := range msgs {
			if applied[m.ID] != 1 {
				t.Fatalf("message %s applied %d times, want once", m.ID, applied[m.ID])
			}
		}
		for from, qs := range queryOf {
			if len(qs) != 1 {
				t.Fatalf("contact %s got %d queries, want 1", from, len(qs))
			}
			for qid := range qs {
				q, err := r.Query(ctx, qid)
				if err != nil || q.InboundCount != perContact {
					t.Fatalf("query %s: %+v, %v; want %d inbound", qid, q, err, perContact)
				}
				hist, _ := r.History(ctx, qid, conversations.HistoryRange{})
				if len(hist.Messages) != perContact {
					t.Fatalf("query %s holds %d messages, want %d", qid, len(hist.Messages), perContact)
				}
			}
		}
		if n := column[int](t, db, `SELECT count(*) FROM conversations`); n != contacts {
			t.Fatalf("%d conversations, want %d", n, contacts)
		}
	})
}

// Whatever order workers apply a contact's messages in, the history reads
// in provider order (timestamp, then arrival) and the contact keeps the
// newest message's time and profile name.
func TestApplyInboundOrderIsProviderOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		var msgs []*channels.Inbound
		for i := range 20 {
			// Pairs share a timestamp: arrival breaks the tie.
			ts := t0.Add(time.Duration(i/2) * time.Second)
			msgs = append(msgs, inbound(fmt.Sprintf("wamid.%02d", i), "5511912345678", ts, int64(1000+i), fmt.Sprint(i)))
		}
		shuffled := append([]*channels.Inbound(nil), msgs...)
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		var qid string
		lateSeen := false
		for _, m := range shuffled {
			res := apply(t, r, m)
			qid = res.QueryID
			lateSeen = lateSeen || res.Late
		}
		if !lateSeen {
			t.Fatal("no message was reported late although they were applied shuffled")
		}
		hist, err := r.History(ctx, qid, conversations.HistoryRange{})
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range hist.Messages {
			if h.ID != msgs[i].ID {
				t.Fatalf("history[%d] = %s, want %s (provider order)", i, h.ID, msgs[i].ID)
			}
		}
		last := msgs[len(msgs)-1]
		c, err := r.Contact(ctx, conversations.ContactID(channel, "5511912345678"))
		if err != nil {
			t.Fatal(err)
		}
		if !c.LastInboundAt.Equal(last.Timestamp) || c.ProfileName != last.ProfileName {
			t.Fatalf("contact kept %v / %q, want the newest message's %v / %q", c.LastInboundAt, c.ProfileName, last.Timestamp, last.ProfileName)
		}
		q, _ := r.Query(ctx, qid)
		if !q.LastInboundAt.Equal(last.Timestamp) || !q.ActivityAt.Equal(last.Timestamp) || q.InboundCount != 20 {
			t.Fatalf("query = %+v, want the newest message's time and 20 messages", q)
		}
	})
}

// A late message is placed by its time and leaves the newer name and
// times; a message without a profile name does not clear it; a message of
// the same second that arrived later is newer.
func TestLateMessageKeepsNewerProfileAndTimes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		newest := inbound("wamid.b", "5511912345678", t0, 50, "b")
		newest.ProfileName = "Ana Nova"
		res := apply(t, r, newest)
		old := inbound("wamid.a", "5511912345678", t0.Add(-time.Hour), 10, "a")
		old.ProfileName = "Ana Velha"
		if late := apply(t, r, old); !late.Late || late.QueryID != res.QueryID {
			t.Fatalf("older message: %+v, want late in the same query", late)
		}
		c, _ := r.Contact(ctx, res.ContactID)
		q, _ := r.Query(ctx, res.QueryID)
		if c.ProfileName != "Ana Nova" || !c.LastInboundAt.Equal(t0) || !q.LastInboundAt.Equal(t0) || !q.ActivityAt.Equal(t0) {
			t.Fatalf("a late message moved things back: contact %+v, query %+v", c, q)
		}
		// Same second, arrived later: newer, but without a name.
		tie := inbound("wamid.c", "5511912345678", t0, 60, "c")
		tie.ProfileName = ""
		if res := apply(t, r, tie); res.Late {
			t.Fatalf("a message of the same second arriving later was reported late: %+v", res)
		}
		if c, _ := r.Contact(ctx, res.ContactID); c.ProfileName != "Ana Nova" {
			t.Fatalf("a message without a profile name cleared it: %q", c.ProfileName)
		}
		// Same second, arrived earlier: late.
		if res := apply(t, r, inbound("wamid.d", "5511912345678", t0, 55, "d")); !res.Late {
			t.Fatalf("a message of the same second arriving earlier was not late: %+v", res)
		}
		hist, _ := r.History(ctx, res.QueryID, conversations.HistoryRange{})
		var order []string
		for _, m := range hist.Messages {
			order = append(order, m.ID)
		}
		if fmt.Sprint(order) != "[wamid.a wamid.b wamid.d wamid.c]" {
			t.Fatalf("history order %v, want provider order a b d c", order)
		}
	})
}

// A closed conversation stops being the contact's open one: the next
// message opens the next, and the closed one keeps its history.
func TestMessageAfterCloseOpensNextQuery(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		first := apply(t, r, inbound("wamid.1", "5511912345678", t0, 1, "hola"))
		closeQuery(t, r, first.QueryID)
		if c, _ := r.Contact(ctx, first.ContactID); c.OpenQuery != "" {
			t.Fatalf("closed query still open: contact %+v", c)
		}
		next := apply(t, r, inbound("wamid.2", "5511912345678", t0.Add(time.Minute), 2, "otra vez"))
		if !next.NewQuery || next.QueryID != first.ContactID+"-2" || next.Late {
			t.Fatalf("message after close: %+v, want new query %s-2", next, first.ContactID)
		}
		if next.Event.State != routing.StatePending || next.Event.Assignee != "" || next.Event.QueryType != "" {
			t.Fatalf("event of the new query = %+v", next.Event)
		}
		if c, _ := r.Contact(ctx, first.ContactID); c.OpenQuery != next.QueryID {
			t.Fatalf("contact open query = %q, want %q", c.OpenQuery, next.QueryID)
		}
		old, _ := r.Query(ctx, first.QueryID)
		if old.State != routing.StateClosed || old.InboundCount != 1 || old.Resolution != "solved" {
			t.Fatalf("closed query = %+v", old)
		}
		// A redelivery of the closed query's message is its duplicate.
		if dup := apply(t, r, inbound("wamid.1", "5511912345678", t0, 1, "hola")); !dup.Duplicate || dup.QueryID != first.QueryID {
			t.Fatalf("redelivery of an old message: %+v", dup)
		}
	})
}

func TestUnknownIDsAreNotFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		nf := conversations.ErrNotFound
		for _, id := range []string{"", "nodash", "0000000000-1"} {
			_, err := r.Query(ctx, id)
			wantErr(t, "Query("+id+")", err, nf)
		}
		_, err := r.Contact(ctx, "nope")
		wantErr(t, "Contact", err, nf)
		wantErr(t, "EditContact", r.EditContact(ctx, "nope", "x", "y"), nf)
		wantErr(t, "SetPortfolioOwner", r.SetPortfolioOwner(ctx, "nope", "u_ana"), nf)
		_, err = r.EraseContact(ctx, "nope")
		wantErr(t, "EraseContact", err, nf)
		_, err = r.RoutingState(ctx, "0000000000-1")
		wantErr(t, "RoutingState", err, nf)
		_, err = r.ApplyDecision(ctx, conversations.Decision{Query: routing.Query{ID: "0000000000-1", State: routing.StatePending}})
		wantErr(t, "ApplyDecision", err, nf)
		_, _, err = r.RecordOutbound(ctx, "0000000000-1", "sb-1", "", "hi", nil, t0)
		wantErr(t, "RecordOutbound", err, nf)
		_, err = r.History(ctx, "0000000000-1", conversations.HistoryRange{})
		wantErr(t, "History", err, nf)
		res := apply(t, r, inbound("wamid.1", "5511912345678", t0, 1, "hola"))
		_, err = r.Message(ctx, res.QueryID, "wamid.nope")
		wantErr(t, "Message", err, nf)
		_, err = r.Message(ctx, "0000000000-1", "wamid.1")
		wantErr(t, "Message of another query", err, nf)
		_, err = r.MarkSent(ctx, res.QueryID, "sb-nope", "wamid.x", t0)
		wantErr(t, "MarkSent", err, nf)
		// An inbound message is not an outbound one to mark.
		_, err = r.MarkFailed(ctx, res.QueryID, "wamid.1", channels.StatusError{Code: 1}, t0)
		wantErr(t, "MarkFailed of an inbound message", err, nf)
		if st, err := r.ApplyStatus(ctx, &channels.Status{Channel: channel, MessageID: "", Status: channels.StatusRead}); err != nil || st.Found {
			t.Errorf("status without provider id: %+v, %v; want not found", st, err)
		}
	})
}

// A new customer's first messages arriving together all apply at once,
// none failing on the contact's creation: round after round of fresh
// contacts, each created by several transactions racing.
func TestFirstMessagesOfANewContactRacingAllApply(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		for round := range 30 {
			from := fmt.Sprintf("55119%08d", round)
			var wg sync.WaitGroup
			errs := make([]error, 6)
			for i := range errs {
				wg.Go(func() {
					_, errs[i] = applyErr(r, inbound(fmt.Sprintf("wamid.r%d.%d", round, i), from, t0, int64(i), "oi"))
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d, message %d: %v", round, i, err)
				}
			}
		}
	})
}

// ApplyInbound returns the routing state RoutingState reads right after
// it, and the contact's portfolio owner, so routing need not read them.
func TestApplyInboundReturnsRoutingState(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		same := func(what string, res conversations.InboundResult) {
			t.Helper()
			st, err := r.RoutingState(ctx, res.QueryID)
			if err != nil {
				t.Fatal(err)
			}
			if res.Routing == nil {
				t.Fatalf("%s: no routing state returned", what)
			}
			got, want := *res.Routing, *st
			if got.Query != want.Query || got.Version != want.Version || got.Effects != want.Effects ||
				!got.LastInboundAt.Equal(want.LastInboundAt) || got.ContactID != want.ContactID ||
				got.AnsweredSinceAssignment != want.AnsweredSinceAssignment {
				t.Fatalf("%s: ApplyInbound returned %+v, RoutingState reads %+v", what, got, want)
			}
		}
		const phone = "5511912349001"
		res := apply(t, r, inbound("wamid.rs1", phone, t0.Add(-time.Minute), 1, "hola"))
		same("new conversation", res)
		if res.PortfolioOwner != "" {
			t.Fatalf("portfolio owner %q, want none", res.PortfolioOwner)
		}
		if err := r.SetPortfolioOwner(ctx, res.ContactID, "ana"); err != nil {
			t.Fatal(err)
		}
		q := routing.Query{ID: res.QueryID, Channel: channel, State: routing.StateAssigned, Type: "sales", Assignee: "ana", Cycle: 1}
		if _, err := r.ApplyDecision(ctx, conversations.Decision{Query: q, Capacity: 10, Now: t0, Effects: `{"timers":[]}`}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.RecordOutbound(ctx, res.QueryID, "sb-rs1", "", "oi", nil, t0); err != nil {
			t.Fatal(err)
		}
		res = apply(t, r, inbound("wamid.rs2", phone, t0, 2, "sigo"))
		same("continued conversation", res)
		if res.PortfolioOwner != "ana" || !res.Routing.AnsweredSinceAssignment || res.Routing.Version != 1 {
			t.Fatalf("continued: owner %q, state %+v", res.PortfolioOwner, res.Routing)
		}
		// A late message keeps the newer last inbound time.
		res = apply(t, r, inbound("wamid.rs0", phone, t0.Add(-2*time.Minute), 0, "antes"))
		same("late message", res)
		if !res.Late {
			t.Fatalf("late message not late: %+v", res)
		}
		if dup := apply(t, r, inbound("wamid.rs2", phone, t0, 2, "sigo")); !dup.Duplicate || dup.Routing != nil || dup.PortfolioOwner != "ana" {
			t.Fatalf("duplicate = %+v", dup)
		}
		closeQuery(t, r, res.QueryID)
		res = apply(t, r, inbound("wamid.rs3", phone, t0.Add(time.Minute), 3, "de novo"))
		if !res.NewQuery {
			t.Fatalf("after close: %+v, want a new conversation", res)
		}
		same("conversation after a closed one", res)
	})
}

// Messages of one time and arrival are ordered by their ids byte by byte,
// whatever the database's collation ("B" before "a"), on both engines.
func TestProviderOrderTiesCompareIDsAsBytes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		if res := apply(t, r, inbound("wamid.a", "5511912349101", t0, 7, "um")); res.Late {
			t.Fatalf("first message late: %+v", res)
		}
		if res := apply(t, r, inbound("wamid.B", "5511912349101", t0, 7, "dois")); !res.Late {
			t.Fatalf("wamid.B after wamid.a not late: %+v", res)
		}
		if res := apply(t, r, inbound("wamid.B", "5511912349102", t0, 7, "um")); res.Late {
			t.Fatalf("first message late: %+v", res)
		}
		res := apply(t, r, inbound("wamid.a", "5511912349102", t0, 7, "dois"))
		if res.Late || res.Routing == nil || !res.Routing.LastInboundAt.Equal(t0) {
			t.Fatalf("wamid.a after wamid.B: %+v, want not late", res)
		}
		if got := column[string](t, db, `SELECT last_inbound_order FROM contacts WHERE id = $1`, res.ContactID); got != "0000000000000000007:wamid.a" {
			t.Fatalf("contact's last order %q, want wamid.a's", got)
		}
	})
}
