package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"switchboard/accounts"
	"switchboard/api"
	"switchboard/auth"
	"switchboard/channels"
	"switchboard/routing"
	"switchboard/settings"
)

// TestMonitoringTable builds a known day in São Paulo (UTC-3) and checks
// every number of the monitoring table.
func TestMonitoringTable(t *testing.T) {
	h := newHarness(t, nil)
	sp, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	at := func(day, hour, minute, sec int) time.Time { return time.Date(2026, 11, day, hour, minute, sec, 0, sp) }
	h.clock.Set(at(9, 20, 0, 0))
	ctx := context.Background()
	ana, err := h.users.Create(ctx, accounts.User{Name: "Ana", Phone: "+5511900000001", Role: auth.RoleOperator, Capacity: 3})
	if err != nil {
		t.Fatal(err)
	}
	bruno, err := h.users.Create(ctx, accounts.User{Name: "Bruno", Phone: "+5511900000002", Role: auth.RoleOperator, Capacity: 5})
	if err != nil {
		t.Fatal(err)
	}
	h.createUser(t, "Col", "+5511900000003", auth.RoleCollaborator) // may not answer: not a row
	gone := h.createUser(t, "Gone", "+5511900000005", auth.RoleOperator)
	if _, err := h.users.Disable(ctx, gone.ID, h.login); err != nil {
		t.Fatal(err)
	}
	sup := h.createUser(t, "Sup", "+5511900000004", auth.RoleSupervisor)
	doc := fmt.Sprintf(`
timezone: America/Sao_Paulo
default_query_type: sales
query_types:
  - {id: sales, name: Vendas, strategy: claim, accounts: [%s, %s]}
  - {id: claims, name: Reclamações, strategy: claim, accounts: [%s]}
resolution_reasons:
  - {id: solved, name: Solved}
`, ana.ID, bruno.ID, bruno.ID)
	if _, err := settings.Apply(ctx, h.db.Settings(), []byte(doc), h.clock.Now(), -1, "test"); err != nil {
		t.Fatal(err)
	}
	w := &convWorld{harness: h, ana: ana, bruno: bruno, sup: sup}
	svc := h.conv.Service
	n := 0
	// open records the customer's first message at opening, now.
	open := func(opening time.Time) string {
		n++
		h.clock.Set(opening)
		return w.inbound(t, &channels.Inbound{Channel: "wa-main", Kind: "whatsapp_cloud", ID: fmt.Sprintf("wamid.m%d", n),
			From: fmt.Sprintf("55119800%05d", n), ProfileName: "Cliente", Timestamp: opening, Type: channels.TypeText, Text: "oi"}).QueryID
	}
	// again records another message of the customer of qid.
	again := func(qid string, when time.Time) {
		n++
		h.clock.Set(when)
		q, err := svc.Query(ctx, qid)
		if err != nil {
			t.Fatal(err)
		}
		c, err := svc.Contact(ctx, q.ContactID)
		if err != nil {
			t.Fatal(err)
		}
		w.inbound(t, &channels.Inbound{Channel: "wa-main", Kind: "whatsapp_cloud", ID: fmt.Sprintf("wamid.m%d", n),
			From: c.ExternalID, ProfileName: "Cliente", Timestamp: when, Type: channels.TypeText, Text: "e aí?"})
	}
	assign := func(qid, op string, when time.Time) {
		h.clock.Set(when)
		w.decide(t, routing.Query{ID: qid, Channel: "wa-main", State: routing.StateAssigned, Type: "sales", Assignee: op, Cycle: 1})
	}
	reply := func(qid, op string, when time.Time) {
		h.clock.Set(when)
		if _, err := svc.Reply(ctx, qid, op, "Olá!"); err != nil {
			t.Fatal(err)
		}
	}
	closeAt := func(qid string, when time.Time) {
		h.clock.Set(when)
		if _, err := svc.Close(ctx, qid, "solved"); err != nil {
			t.Fatal(err)
		}
	}

	// Yesterday, closed a millisecond before midnight: not today's.
	c0 := open(at(9, 20, 0, 0))
	assign(c0, ana.ID, at(9, 20, 1, 0))
	reply(c0, ana.ID, at(9, 20, 2, 0))
	closeAt(c0, time.Date(2026, 11, 9, 23, 59, 59, 999e6, sp))
	// Opened yesterday, answered 20m after opening, closed at midnight
	// exactly (50m): today's.
	c4 := open(at(9, 23, 10, 0))
	assign(c4, ana.ID, at(9, 23, 15, 0))
	reply(c4, ana.ID, at(9, 23, 30, 0))
	closeAt(c4, at(10, 0, 0, 0))
	// Answered 4m after opening, resolved in 60m.
	c1 := open(at(10, 9, 0, 0))
	assign(c1, ana.ID, at(10, 9, 1, 0))
	reply(c1, ana.ID, at(10, 9, 4, 0))
	reply(c1, ana.ID, at(10, 9, 30, 0)) // a second answer changes nothing
	closeAt(c1, at(10, 10, 0, 0))
	// Answered 10m after opening, resolved in 30m.
	c2 := open(at(10, 11, 0, 0))
	assign(c2, ana.ID, at(10, 11, 2, 0))
	reply(c2, ana.ID, at(10, 11, 10, 0))
	closeAt(c2, at(10, 11, 30, 0))
	// Only an automatic message, never a person's: resolved in 120m, no
	// first response.
	c3 := open(at(10, 12, 0, 0))
	h.clock.Set(at(10, 12, 1, 0))
	if _, _, err := h.db.Conversations().RecordOutbound(ctx, c3, "sb-auto-c3", "", "Estamos fora do horário", nil, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	assign(c3, ana.ID, at(10, 13, 0, 0))
	closeAt(c3, at(10, 14, 0, 0))
	// Closed from the pool, held by nobody: nobody's handled.
	cp := open(at(10, 12, 30, 0))
	closeAt(cp, at(10, 12, 45, 0))

	// Assigned now. Ana's customer waits since 14:30, unanswered.
	a1 := open(at(10, 14, 30, 0))
	assign(a1, ana.ID, at(10, 14, 31, 0))
	// Ana's other customer wrote at 14:20 and got only an automatic
	// message (an out-of-hours reply, say) at 14:21: an automatic message
	// answers nobody, so they wait for a person since 14:20, the longest.
	a2 := open(at(10, 14, 20, 0))
	assign(a2, ana.ID, at(10, 14, 20, 30))
	h.clock.Set(at(10, 14, 21, 0))
	if _, _, err := h.db.Conversations().RecordOutbound(ctx, a2, "sb-auto-a2", "", "Estamos fora do horário", nil, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	// Bruno answered b1 at 13:05; the customer wrote again at 13:20 and
	// 13:40: waiting since 13:20.
	b1 := open(at(10, 13, 0, 0))
	assign(b1, bruno.ID, at(10, 13, 1, 0))
	reply(b1, bruno.ID, at(10, 13, 5, 0))
	again(b1, at(10, 13, 20, 0))
	again(b1, at(10, 13, 40, 0))
	b2 := open(at(10, 14, 0, 0)) // waiting since 14:00
	assign(b2, bruno.ID, at(10, 14, 1, 0))
	b3 := open(at(10, 12, 0, 1)) // answered: not waiting
	assign(b3, bruno.ID, at(10, 12, 1, 0))
	reply(b3, bruno.ID, at(10, 12, 30, 0))

	// The sales pool: since 14:00 and 14:45.
	for _, when := range []time.Time{at(10, 14, 0, 0), at(10, 14, 45, 0)} {
		p := open(when)
		w.decide(t, routing.Query{ID: p, Channel: "wa-main", State: routing.StatePending, Type: "sales", Cycle: 1})
	}

	h.clock.Set(at(10, 15, 0, 0))
	if err := svc.SetPresence(ctx, bruno.ID, routing.PresenceOnline); err != nil {
		t.Fatal(err)
	}
	supT := h.loginAs(t, sup.Phone)
	r := h.do(t, "GET", "/api/v1/reports/operators", supT, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /reports/operators: %d %s", r.status, r.body)
	}
	var m api.Monitor
	r.decode(t, &m)
	if !m.Now.Equal(at(10, 15, 0, 0)) || !m.TodaySince.Equal(at(10, 0, 0, 0)) || m.Timezone != "America/Sao_Paulo" {
		t.Errorf("now %v, today since %v in %s; want 15:00 and midnight in São Paulo", m.Now, m.TodaySince, m.Timezone)
	}
	secs := func(d time.Duration) *float64 { s := d.Seconds(); return &s }
	want := []api.MonitorOperator{
		{ID: ana.ID, Name: "Ana", Presence: "offline", Assigned: 2, Capacity: 3, HandledToday: 4,
			// first responses 4m, 10m, 20m; resolutions 30m, 50m, 60m, 120m
			MedianFirstResponseSeconds: secs(10 * time.Minute), MedianResolutionSeconds: secs(55 * time.Minute),
			LongestWaiting: &api.MonitorWait{ConversationID: a2, Since: at(10, 14, 20, 0).UTC(), WaitSeconds: 2400}},
		{ID: bruno.ID, Name: "Bruno", Presence: "online", Assigned: 3, Capacity: 5,
			LongestWaiting: &api.MonitorWait{ConversationID: b1, Since: at(10, 13, 20, 0).UTC(), WaitSeconds: 6000}},
		{ID: sup.ID, Name: "Sup", Presence: "offline", Capacity: 5},
	}
	if len(m.Operators) != len(want) {
		t.Fatalf("operators = %s, want Ana, Bruno and Sup", r.body)
	}
	for i, o := range m.Operators {
		if show(o) != show(want[i]) {
			t.Errorf("row %d:\n got %s\nwant %s", i, show(o), show(want[i]))
		}
	}
	oldest := at(10, 14, 0, 0).UTC()
	wantPools := []api.MonitorPool{
		{ID: "sales", Name: "Vendas", Size: 2, OldestSince: &oldest, OldestWaitSeconds: 3600},
		{ID: "claims", Name: "Reclamações"},
	}
	if len(m.QueryTypes) != len(wantPools) {
		t.Fatalf("query types = %s", r.body)
	}
	for i, p := range m.QueryTypes {
		if show(p) != show(wantPools[i]) {
			t.Errorf("pool %d:\n got %s\nwant %s", i, show(p), show(wantPools[i]))
		}
	}

	// Refused from the other side: an operator may not read it.
	anaT := h.loginAs(t, ana.Phone)
	if r := h.do(t, "GET", "/api/v1/reports/operators", anaT, nil); r.status != http.StatusForbidden || !strings.Contains(r.body, string(auth.PermReports)) {
		t.Fatalf("an operator reading the monitoring table: %d %s, want 403 naming %s", r.status, r.body, auth.PermReports)
	}
}

// show prints a row with its pointers followed, for comparison.
func show(v any) string {
	switch x := v.(type) {
	case api.MonitorOperator:
		f := func(p *float64) string {
			if p == nil {
				return "null"
			}
			return fmt.Sprint(*p)
		}
		lw := "null"
		if x.LongestWaiting != nil {
			lw = fmt.Sprintf("%+v", *x.LongestWaiting)
		}
		return fmt.Sprintf("%s %s %s %d/%d handled %d first %s resolution %s waiting %s", x.ID, x.Name, x.Presence, x.Assigned, x.Capacity,
			x.HandledToday, f(x.MedianFirstResponseSeconds), f(x.MedianResolutionSeconds), lw)
	case api.MonitorPool:
		since := "null"
		if x.OldestSince != nil {
			since = x.OldestSince.String()
		}
		return fmt.Sprintf("%s %s %d since %s wait %v", x.ID, x.Name, x.Size, since, x.OldestWaitSeconds)
	}
	return fmt.Sprint(v)
}
