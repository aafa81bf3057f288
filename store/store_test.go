package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/clock"
	"switchboard/internal/redistest"
	"switchboard/routing"
	"switchboard/store"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func newStore(t *testing.T) *store.Store {
	return store.New(redistest.Client(t), clock.NewFake(t0))
}

func inbound(id, from string, ts time.Time, arrival int64, text string) *channels.Inbound {
	return &channels.Inbound{
		Channel: "wa-main", Kind: "whatsapp_cloud", ID: id, From: from, ProfileName: "Ana " + id,
		Timestamp: ts, Arrival: arrival, Type: channels.TypeText, Text: text,
	}
}

func apply(t *testing.T, s *store.Store, m *channels.Inbound) store.InboundResult {
	t.Helper()
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.ApplyInbound(context.Background(), m, body)
	if err != nil {
		t.Fatalf("ApplyInbound(%s): %v", m.ID, err)
	}
	return res
}

func TestApplyInboundCreatesContactAndPendingQuery(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	m := inbound("wamid.1", "5511912345678", t0.Add(-time.Minute), 1, "hola")
	res := apply(t, s, m)
	if res.Duplicate || !res.NewQuery || res.Late {
		t.Fatalf("first message: got %+v, want a new query, not duplicate, not late", res)
	}
	if res.ContactID != store.ContactID("wa-main", "5511912345678") {
		t.Fatalf("contact id %q is not derived from channel and sender", res.ContactID)
	}
	c, err := s.Contact(ctx, res.ContactID)
	if err != nil {
		t.Fatal(err)
	}
	if c.ExternalID != "5511912345678" || c.Channel != "wa-main" || c.ProfileName != "Ana wamid.1" || c.OpenQuery != res.QueryID {
		t.Fatalf("contact = %+v", c)
	}
	if !c.LastInboundAt.Equal(m.Timestamp) {
		t.Fatalf("contact last inbound = %v, want %v", c.LastInboundAt, m.Timestamp)
	}
	q, err := s.Query(ctx, res.QueryID)
	if err != nil {
		t.Fatal(err)
	}
	if q.State != routing.StatePending || q.ContactID != res.ContactID || q.InboundCount != 1 || !q.LastInboundAt.Equal(m.Timestamp) || !q.CreatedAt.Equal(t0) {
		t.Fatalf("query = %+v", q)
	}
	hist, err := s.History(ctx, res.QueryID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Direction != store.DirectionInbound || hist[0].Inbound.Text != "hola" || hist[0].ID != "wamid.1" {
		t.Fatalf("history = %+v", hist)
	}

	// A second message joins the same open query.
	res2 := apply(t, s, inbound("wamid.2", "5511912345678", t0, 2, "sigo aqui"))
	if res2.NewQuery || res2.QueryID != res.QueryID {
		t.Fatalf("second message opened %q (new=%v), want the open query %q", res2.QueryID, res2.NewQuery, res.QueryID)
	}
	// Another customer gets their own contact and query.
	res3 := apply(t, s, inbound("wamid.3", "5511900000000", t0, 3, "oi"))
	if res3.ContactID == res.ContactID || res3.QueryID == res.QueryID || !res3.NewQuery {
		t.Fatalf("other customer shares state: %+v vs %+v", res3, res)
	}
}

func TestApplyInboundDuplicateChangesNothing(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	m := inbound("wamid.dup", "5511912345678", t0, 1, "hola")
	first := apply(t, s, m)
	again := apply(t, s, m)
	if !again.Duplicate || again.QueryID != first.QueryID {
		t.Fatalf("redelivery: got %+v, want duplicate of query %s", again, first.QueryID)
	}
	q, err := s.Query(ctx, first.QueryID)
	if err != nil {
		t.Fatal(err)
	}
	if q.InboundCount != 1 {
		t.Fatalf("inbound count after duplicate = %d, want 1", q.InboundCount)
	}
	hist, _ := s.History(ctx, first.QueryID)
	if len(hist) != 1 {
		t.Fatalf("history has %d messages after a duplicate, want 1", len(hist))
	}
}

// Many goroutines applying one contact's messages at once must end with one
// query holding every message.
func TestConcurrentApplyCreatesOneQuery(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	const n = 50
	var wg sync.WaitGroup
	results := make([]store.InboundResult, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			m := inbound(fmt.Sprintf("wamid.%d", i), "5511912345678", t0.Add(time.Duration(i)*time.Second), int64(i), "x")
			body, _ := json.Marshal(m)
			results[i], errs[i] = s.ApplyInbound(ctx, m, body)
		})
	}
	wg.Wait()
	newQueries := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if results[i].NewQuery {
			newQueries++
		}
		if results[i].QueryID != results[0].QueryID {
			t.Fatalf("message %d went to query %s, message 0 to %s", i, results[i].QueryID, results[0].QueryID)
		}
	}
	if newQueries != 1 {
		t.Fatalf("%d messages reported creating a query, want exactly 1", newQueries)
	}
	hist, err := s.History(ctx, results[0].QueryID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != n {
		t.Fatalf("history has %d messages, want %d", len(hist), n)
	}
}

// Whatever order workers apply a contact's messages in, the history reads in
// provider order (timestamp, then arrival) and the contact keeps the newest
// message's time and profile name.
func TestApplyInboundOrderIsProviderOrder(t *testing.T) {
	s := newStore(t)
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
		res := apply(t, s, m)
		qid = res.QueryID
		lateSeen = lateSeen || res.Late
	}
	if !lateSeen {
		t.Fatal("no message was reported late although they were applied shuffled")
	}
	hist, err := s.History(ctx, qid)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hist {
		if h.ID != msgs[i].ID {
			t.Fatalf("history[%d] = %s, want %s (provider order)", i, h.ID, msgs[i].ID)
		}
	}
	last := msgs[len(msgs)-1]
	c, err := s.Contact(ctx, store.ContactID("wa-main", "5511912345678"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.LastInboundAt.Equal(last.Timestamp) || c.ProfileName != last.ProfileName {
		t.Fatalf("contact kept %v / %q, want the newest message's %v / %q", c.LastInboundAt, c.ProfileName, last.Timestamp, last.ProfileName)
	}
	q, _ := s.Query(ctx, qid)
	if !q.LastInboundAt.Equal(last.Timestamp) {
		t.Fatalf("query last inbound = %v, want %v", q.LastInboundAt, last.Timestamp)
	}
}

func TestOutboundDeliveryStatusesMoveForwardOnly(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	res := apply(t, s, inbound("wamid.in", "5511912345678", t0, 1, "hola"))
	msgID, err := s.RecordOutbound(ctx, res.QueryID, "¿En qué puedo ayudar?")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Message(ctx, res.QueryID, msgID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Direction != store.DirectionOutbound || m.Status != channels.StatusQueued || m.Text != "¿En qué puedo ayudar?" {
		t.Fatalf("recorded outbound = %+v", m)
	}
	if err := s.MarkSent(ctx, "wa-main", res.QueryID, msgID, "wamid.out1"); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		status      string
		wantChanged bool
		wantStatus  string
	}{
		{channels.StatusDelivered, true, channels.StatusDelivered},
		{channels.StatusSent, false, channels.StatusDelivered}, // late report: no step back
		{channels.StatusRead, true, channels.StatusRead},
		{channels.StatusFailed, false, channels.StatusRead}, // read proves delivery
		{"deleted", false, channels.StatusRead},             // unknown statuses never become current
	}
	for _, st := range steps {
		r, err := s.ApplyStatus(ctx, &channels.Status{Channel: "wa-main", MessageID: "wamid.out1", Status: st.status, Timestamp: t0.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Found || r.Changed != st.wantChanged || r.MessageID != msgID {
			t.Fatalf("status %s: got %+v, want found, changed=%v", st.status, r, st.wantChanged)
		}
		m, _ := s.Message(ctx, res.QueryID, msgID)
		if m.Status != st.wantStatus || m.ProviderID != "wamid.out1" {
			t.Fatalf("after %s: status %q provider id %q, want %q", st.status, m.Status, m.ProviderID, st.wantStatus)
		}
	}

	// The same provider id on another channel is not this message.
	r, err := s.ApplyStatus(ctx, &channels.Status{Channel: "wa-other", MessageID: "wamid.out1", Status: channels.StatusRead})
	if err != nil || r.Found {
		t.Fatalf("status on another channel: %+v, %v; want not found", r, err)
	}

	hist, _ := s.History(ctx, res.QueryID)
	if len(hist) != 2 || hist[1].ID != msgID {
		t.Fatalf("history = %+v, want inbound then outbound", hist)
	}
	q, _ := s.Query(ctx, res.QueryID)
	if q.OutboundCount != 1 || !q.LastInboundAt.Equal(t0) {
		t.Fatalf("outbound changed the customer's last message time or count: %+v", q)
	}
}

func TestFailedSendKeepsProviderError(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	res := apply(t, s, inbound("wamid.in", "5511912345678", t0, 1, "hola"))
	msgID, err := s.RecordOutbound(ctx, res.QueryID, "hi")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailed(ctx, res.QueryID, msgID, channels.StatusError{Code: 131047, Message: "Re-engagement message"}); err != nil {
		t.Fatal(err)
	}
	m, _ := s.Message(ctx, res.QueryID, msgID)
	if m.Status != channels.StatusFailed || m.Error == nil || m.Error.Code != 131047 {
		t.Fatalf("failed message = %+v (error %+v)", m, m.Error)
	}
}

func TestUnknownIDsAreNotFound(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for _, id := range []string{"", "nodash", "abc-", "abc-x", "0000000000-1"} {
		if _, err := s.Query(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Query(%q) = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := s.RecordOutbound(ctx, "0000000000-1", "hi"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RecordOutbound on a missing query = %v, want ErrNotFound", err)
	}
	if _, err := s.Contact(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Contact(nope) = %v, want ErrNotFound", err)
	}
}

// Applying a message puts its query first in the activity index, in the
// same script; a late message does not move it back.
func TestApplyInboundIndexesActivity(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ana := apply(t, s, inbound("wamid.a1", "5511900000001", t0, 1, "hola")).QueryID
	bruno := apply(t, s, inbound("wamid.b1", "5511900000002", t0.Add(time.Minute), 2, "oi")).QueryID
	page, err := s.RecentQueries(ctx, "", 10)
	if err != nil || len(page.IDs) != 2 || page.IDs[0] != bruno || page.IDs[1] != ana {
		t.Fatalf("activity = %v (%v), want bruno's query then ana's", page.IDs, err)
	}
	// Ana's message from before Bruno's, delivered late: the order stays.
	apply(t, s, inbound("wamid.a0", "5511900000001", t0.Add(-time.Hour), 3, "antes"))
	if page, _ = s.RecentQueries(ctx, "", 10); page.IDs[0] != bruno {
		t.Fatalf("a late message moved its query first: %v", page.IDs)
	}
	apply(t, s, inbound("wamid.a2", "5511900000001", t0.Add(2*time.Minute), 4, "de nuevo"))
	if page, _ = s.RecentQueries(ctx, "", 10); page.IDs[0] != ana {
		t.Fatalf("a new message did not move its query first: %v", page.IDs)
	}
}

// Every applied decision replaces the pending effects: one without effects
// (here an API change through ApplyRouting) clears what an older decision
// left, so it is never carried out later.
func TestDecisionWithoutEffectsClearsOlderOnes(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	res := apply(t, s, inbound("wamid.eff1", "5511912340001", t0.Add(-time.Minute), 1, "hola"))
	q := routing.Query{ID: res.QueryID, Channel: "wa-main", State: routing.StatePending, Type: "sales", Cycle: 1}
	if err := s.ApplyDecision(ctx, q, 0, 0, t0, `{"replies":[{"id":"sb-1"}]}`, "wamid.eff1"); err != nil {
		t.Fatal(err)
	}
	st, err := s.RoutingState(ctx, res.QueryID)
	if err != nil || st.Effects == "" {
		t.Fatalf("effects not kept: %q, %v", st.Effects, err)
	}
	if again := apply(t, s, inbound("wamid.eff1", "5511912340001", t0.Add(-time.Minute), 1, "hola")); !again.Duplicate || !again.Routed {
		t.Fatalf("redelivery = %+v, want a duplicate marked routed", again)
	}
	q.State = routing.StateInactive
	if err := s.ApplyRouting(ctx, q, st.Version, 0, t0); err != nil {
		t.Fatal(err)
	}
	st, err = s.RoutingState(ctx, res.QueryID)
	if err != nil || st.Effects != "" {
		t.Fatalf("older effects left after a decision without any: %q, %v", st.Effects, err)
	}
}
