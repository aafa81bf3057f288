package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"switchboard/accounts"
	"switchboard/api"
	"switchboard/auth"
	"switchboard/channels"
	"switchboard/conversations"
	"switchboard/internal/dbtest"
	"switchboard/internal/redistest"
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

// A known day in São Paulo of targets missed and surveys answered, on
// both engines: each operator's and each pool's figures today, where a
// miss recorded yesterday and a rating given yesterday count for
// nothing, a rating given today of a conversation closed yesterday
// counts, a conversation that missed both targets counts twice, a timer
// that runs twice counts once, and a miss in the pool counts for the
// pool only.
func TestMonitoringTableTargetsAndSurveys(t *testing.T) {
	for _, e := range dbtest.Engines {
		t.Run(string(e), func(t *testing.T) {
			h := newHarnessOn(t, &harness{rdb: redistest.Client(t), db: dbtest.OpenEngine(t, e)}, nil)
			sp, err := time.LoadLocation("America/Sao_Paulo")
			if err != nil {
				t.Fatal(err)
			}
			at := func(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, sp) }
			h.clock.Set(at(9, 19, 0))
			ana := h.createUser(t, "Ana", "+5511900000001", auth.RoleOperator)
			bruno := h.createUser(t, "Bruno", "+5511900000002", auth.RoleOperator)
			carla := h.createUser(t, "Carla", "+5511900000003", auth.RoleOperator)
			sup := h.createUser(t, "Sup", "+5511900000004", auth.RoleSupervisor)
			doc := fmt.Sprintf(`
timezone: America/Sao_Paulo
default_query_type: sales
query_types:
  - {id: sales, name: Vendas, strategy: claim, accounts: [%[1]s, %[2]s, %[3]s], targets: {first_response: 5m, resolution: 1h}}
  - {id: claims, name: Sinistros, strategy: claim, keywords: [sinistro], accounts: [%[2]s], targets: {first_response: 5m, resolution: 1h}}
templates:
  - {id: rate, language: pt, text: "Como foi o atendimento?"}
csat: {enabled: true, question: rate}
resolution_reasons:
  - {id: solved, name: Solved}
`, ana.ID, bruno.ID, carla.ID)
			ctx := context.Background()
			if _, err := settings.Apply(ctx, h.db.Settings(), []byte(doc), h.clock.Now(), -1, "test"); err != nil {
				t.Fatal(err)
			}
			svc := h.conv.Service
			n := 0
			from := map[string]string{}
			write := func(phone, text string, when time.Time) conversations.InboundResult {
				n++
				h.clock.Set(when)
				m := &channels.Inbound{Channel: "wa-main", Kind: "whatsapp_cloud", ID: fmt.Sprintf("wamid.t%d", n), From: phone,
					ProfileName: "Cliente", Timestamp: when, Type: channels.TypeText, Text: text}
				body, _ := json.Marshal(m)
				res, err := svc.ApplyInbound(ctx, m, body)
				if err != nil {
					t.Fatalf("message %d: %v", n, err)
				}
				return res
			}
			// open starts a conversation that routing puts in its type's
			// pool, its targets running from now.
			open := func(text string, when time.Time) string {
				phone := fmt.Sprintf("55119800%05d", n+1)
				qid := write(phone, text, when).QueryID
				from[qid] = phone
				return qid
			}
			claim := func(qid, op string, when time.Time) {
				h.clock.Set(when)
				if _, err := svc.Claim(ctx, qid, op); err != nil {
					t.Fatalf("claim %s: %v", qid, err)
				}
			}
			reply := func(qid, op string, when time.Time) {
				h.clock.Set(when)
				if _, err := svc.Reply(ctx, qid, op, "Olá!"); err != nil {
					t.Fatalf("reply to %s: %v", qid, err)
				}
			}
			closeAt := func(qid string, when time.Time) {
				h.clock.Set(when)
				if _, err := svc.Close(ctx, qid, "solved"); err != nil {
					t.Fatalf("close %s: %v", qid, err)
				}
			}
			// fire runs a target's timer, as the worker does at its due time.
			fire := func(qid, kind string, when time.Time) {
				h.clock.Set(when)
				if err := svc.SLADeadline(ctx, kind, qid); err != nil {
					t.Fatalf("%s timer of %s: %v", kind, qid, err)
				}
			}
			rate := func(qid, score string, when time.Time) {
				if res := write(from[qid], score, when); res.CSAT == nil || !res.CSAT.Recorded || res.QueryID != qid {
					t.Fatalf("rating %s: %+v", qid, res)
				}
			}
			// finish has op answer qid at replied and close it at closed,
			// and its customer rate it score at rated.
			finish := func(qid, op string, replied, closed time.Time, score string, rated time.Time) {
				reply(qid, op, replied)
				closeAt(qid, closed)
				rate(qid, score, rated)
			}
			const fr, res = conversations.SLAFirstResponse, conversations.SLAResolution

			// Yesterday: Ana missed y1's first response and its customer
			// rated it 2, both before midnight: not today's.
			y1 := open("oi", at(9, 20, 0))
			claim(y1, ana.ID, at(9, 20, 1))
			fire(y1, fr, at(9, 20, 5))
			finish(y1, ana.ID, at(9, 20, 10), at(9, 20, 30), "2", at(9, 20, 31))
			// Closed yesterday within its targets, rated 4 after midnight:
			// today's, for Ana who closed it.
			y2 := open("oi", at(9, 23, 0))
			claim(y2, ana.ID, at(9, 23, 0))
			finish(y2, ana.ID, at(9, 23, 1), at(9, 23, 50), "4", at(10, 0, 5))

			// Today. a1 misses its first response (the timer runs twice),
			// then is answered, closed in time and rated 5.
			a1 := open("oi", at(10, 9, 0))
			claim(a1, ana.ID, at(10, 9, 1))
			fire(a1, fr, at(10, 9, 5))
			fire(a1, fr, at(10, 9, 6))
			finish(a1, ana.ID, at(10, 9, 10), at(10, 9, 20), "5", at(10, 9, 21))
			// a2 is answered in time and misses its resolution, still open.
			a2 := open("oi", at(10, 10, 0))
			claim(a2, ana.ID, at(10, 10, 1))
			reply(a2, ana.ID, at(10, 10, 2))
			fire(a2, fr, at(10, 10, 5))
			fire(a2, res, at(10, 11, 0))
			// a3 misses both: two targets.
			a3 := open("oi", at(10, 11, 0))
			claim(a3, ana.ID, at(10, 11, 1))
			fire(a3, fr, at(10, 11, 5))
			fire(a3, res, at(10, 12, 0))
			// Bruno: a claim that misses its first response, rated 3; a
			// sale in time, rated 4.
			b1 := open("sinistro", at(10, 12, 0))
			claim(b1, bruno.ID, at(10, 12, 1))
			fire(b1, fr, at(10, 12, 5))
			finish(b1, bruno.ID, at(10, 12, 10), at(10, 12, 30), "3", at(10, 12, 31))
			b2 := open("oi", at(10, 13, 0))
			claim(b2, bruno.ID, at(10, 13, 0))
			finish(b2, bruno.ID, at(10, 13, 1), at(10, 13, 10), "4", at(10, 13, 11))
			// Nobody claims p1: its miss is the sales pool's alone.
			p1 := open("oi", at(10, 14, 0))
			fire(p1, fr, at(10, 14, 5))

			h.clock.Set(at(10, 15, 0))
			r := h.do(t, "GET", "/api/v1/reports/operators", h.loginAs(t, sup.Phone), nil)
			if r.status != http.StatusOK {
				t.Fatalf("GET /reports/operators: %d %s", r.status, r.body)
			}
			var m api.Monitor
			r.decode(t, &m)
			avg := func(v float64) *float64 { return &v }
			csat := func(c api.MonitorCSAT) string {
				if c.Average == nil {
					return fmt.Sprintf("%d answered, no average", c.Answered)
				}
				return fmt.Sprintf("%d answered, average %v", c.Answered, *c.Average)
			}
			type figures struct {
				id     string
				missed int
				csat   api.MonitorCSAT
			}
			check := func(what string, got, want []figures) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s = %+v, want %+v: %s", what, got, want, r.body)
				}
				for i := range want {
					if got[i].id != want[i].id || got[i].missed != want[i].missed || csat(got[i].csat) != csat(want[i].csat) {
						t.Errorf("%s %s: %d missed, %s; want %d missed, %s", what, got[i].id, got[i].missed, csat(got[i].csat),
							want[i].missed, csat(want[i].csat))
					}
				}
			}
			var ops, pools []figures
			for _, o := range m.Operators {
				ops = append(ops, figures{o.Name, o.SLAMissedToday, o.CSATToday})
			}
			for _, p := range m.QueryTypes {
				pools = append(pools, figures{p.ID, p.SLAMissedToday, p.CSATToday})
			}
			check("operator", ops, []figures{
				{"Ana", 4, api.MonitorCSAT{Answered: 2, Average: avg(4.5)}},   // a1, a2, a3 twice; y2 and a1 rated 4 and 5
				{"Bruno", 1, api.MonitorCSAT{Answered: 2, Average: avg(3.5)}}, // b1; rated 3 and 4
				{"Carla", 0, api.MonitorCSAT{}},
				{"Sup", 0, api.MonitorCSAT{}},
			})
			check("pool", pools, []figures{
				{"sales", 5, api.MonitorCSAT{Answered: 3, Average: avg(13.0 / 3)}}, // Ana's 4 and p1; y2, a1 and b2 rated 4, 5, 4
				{"claims", 1, api.MonitorCSAT{Answered: 1, Average: avg(3)}},
			})
			// No answer, no average: the key is absent, not null or 0.
			if !strings.Contains(string(r.body), `"sla_missed_today":0,"csat_today":{"answered":0}}`) {
				t.Errorf("Carla's row without answers: %s", r.body)
			}
		})
	}
}
