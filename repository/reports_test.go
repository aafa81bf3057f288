package repository_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"switchboard/conversations"
	"switchboard/internal/dbtest"
	"switchboard/reports"
	"switchboard/repository"
	"switchboard/routing"
)

// What reports read is recorded as conversations live: a person's first
// reply (never an auto-reply, never a later reply) is the first
// response; who handled a conversation outlives its closing; opened out
// of hours is the routing state's; a conversation opened within 24 hours
// of the contact's previous one closing is reopened, at 24 hours and one
// millisecond it is not.
func TestReportColumnsAreRecorded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		openAt := func(id string, now time.Time) string {
			m := inbound(id, "5511912345678", now, 1, "oi")
			body, _ := json.Marshal(m)
			res, err := r.ApplyInbound(ctx, m, body, now)
			if err != nil {
				t.Fatal(err)
			}
			return res.QueryID
		}
		q1 := openAt("wamid.1", t0)
		if _, _, err := r.RecordOutbound(ctx, q1, "sb-auto", "", "Fora do horário", nil, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		decide(t, r, routing.Query{ID: q1, State: routing.StateAssigned, Type: "sales", Assignee: "u_ana", Cycle: 1, OpenedOutOfHours: true})
		for i, at := range []time.Duration{90 * time.Second, 5 * time.Minute} {
			if _, _, err := r.RecordOutbound(ctx, q1, "sb-reply-"+itoa(int64(i)), "u_ana", "Olá", nil, t0.Add(at)); err != nil {
				t.Fatal(err)
			}
		}
		closeAt := t0.Add(time.Hour)
		st, _ := r.RoutingState(ctx, q1)
		if _, err := r.ApplyDecision(ctx, conversationsDecision(routing.Query{ID: q1, Channel: channel, State: routing.StateClosed, Resolution: "solved",
			Type: "sales", Cycle: 1, OpenedOutOfHours: true}, st.Version, closeAt)); err != nil {
			t.Fatal(err)
		}
		// Exactly 24 hours after: reopened. Then 24 hours and 1 ms after
		// the second closed: not.
		q2 := openAt("wamid.2", closeAt.Add(24*time.Hour))
		closeQuery(t, r, q2) // closed at t0 (decide's now)
		q3 := openAt("wamid.3", t0.Add(24*time.Hour+time.Millisecond))

		var got []reports.Row
		err := db.Reports().ReportRows(ctx, reports.Filter{From: t0.Add(-time.Hour), To: t0.Add(72 * time.Hour)}, func(row *reports.Row) error {
			got = append(got, *row)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].ID != q1 || got[1].ID != q3 || got[2].ID != q2 {
			t.Fatalf("rows %+v, want %s, %s, %s in opening order", got, q1, q3, q2)
		}
		a := got[0]
		if fr, ok := a.FirstResponse(); !ok || fr != 90 || a.Assignee != "u_ana" || !a.OutOfHours || a.Reopened || a.Resolution != "solved" {
			t.Errorf("first conversation %+v (first response %d)", a, fr)
		}
		if res, ok := a.ResolutionTime(); !ok || res != 3600 {
			t.Errorf("first conversation resolved in %d s, want 3600", res)
		}
		if !got[2].Reopened || got[2].OutOfHours || got[2].Assignee != "" {
			t.Errorf("opened 24 h after the first closed: %+v, want reopened", got[2])
		}
		if got[1].Reopened {
			t.Errorf("opened 24 h and 1 ms after the second closed: %+v, want not reopened", got[1])
		}
		if _, ok := got[1].FirstResponse(); ok {
			t.Errorf("an unanswered conversation has a first response")
		}
	})
}

// conversationsDecision is a decision storing q from version at now.
func conversationsDecision(q routing.Query, version int64, now time.Time) conversations.Decision {
	return conversations.Decision{Query: q, ExpectVersion: version, Capacity: 1 << 20, Now: now}
}

// A report reads the range of conversations_opened: on a population with
// statistics, neither engine reads conversations whole; SQLite reads the
// range in order, PostgreSQL may read it as a bitmap and sort it (for a
// day of 1,440 rows here it does). Run with -v to see the plans.
func TestReportPlanUsesTheOpenedIndex(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		n := 20000
		if db.Dialect() == repository.SQLite {
			n = 2000
		}
		var rows []seedRow
		for i := range n {
			cid := fmt.Sprintf("c%06d", i)
			rows = append(rows, seedRow{contactID: cid, external: fmt.Sprintf("5511%09d", i), profile: "Ana", queryID: cid + "-1",
				state: routing.StateClosed, queryType: "sales", activity: t0.Add(-time.Duration(i) * time.Minute)})
		}
		seed(t, db, rows)
		if _, err := db.SQL().Exec(`UPDATE conversations SET created_at = activity_at`); err != nil {
			t.Fatal(err)
		}
		// PostgreSQL with statistics, as autovacuum keeps them; SQLite
		// without, as Switchboard leaves it.
		if db.Dialect() == repository.Postgres {
			if _, err := db.SQL().Exec(`ANALYZE`); err != nil {
				t.Fatal(err)
			}
		}
		yes := true
		for _, f := range []reports.Filter{
			{From: t0.Add(-24 * time.Hour), To: t0},
			{From: t0.Add(-24 * time.Hour), To: t0, Channel: channel, QueryType: "sales", Operator: "u_01", Resolution: "solved", OutOfHours: &yes},
			{From: t0.Add(-24 * time.Hour), To: t0, Group: "g_night"},
		} {
			q, a := db.ReportQuery(f)
			plan := explain(t, db, q, a)
			t.Logf("%+v:\n%s", f, plan)
			if fullScan(db.Dialect(), plan, "conversations") || !strings.Contains(plan, "conversations_opened") ||
				db.Dialect() == repository.SQLite && strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("a report reads more than the range, or sorts on SQLite:\n%s", plan)
			}
		}
	})
}
