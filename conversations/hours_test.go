package conversations_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/clock"
	"switchboard/conversations"
	"switchboard/internal/convtest"
	"switchboard/internal/dbtest"
	"switchboard/queue"
	"switchboard/repository"
	"switchboard/routing"
)

// Customers of different query types writing at the same instant, noon
// (UTC): claims is closed by its own hours, so its customer is told when
// claims opens and the query waits for that; payments (24/7) and general
// (the global plan) are open, so theirs go straight to their pools. At
// claims' opening the release puts its query in the pool too.
func TestOpeningHoursPerQueryType(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		noon := noonAfter(time.Now())
		claimsOpens := time.Date(noon.Year(), noon.Month(), noon.Day()+1, 8, 0, 0, 0, time.UTC)
		clk := clock.NewFake(noon)
		e := &env{convtest.New(t, convtest.Options{DB: db, Clock: clk})}
		e.ApplySettings(t, convtest.TypeHoursDoc)
		ctx := context.Background()

		customers := []struct {
			from, text, typ string
			replies         []string
			release         time.Time // zero: routed at once
		}{
			{from: "5511900000301", text: "quero reclamar", typ: "claims",
				replies: []string{"Claims is closed. It opens at " + claimsOpens.Format("Mon 02/01 15:04") + "."},
				release: claimsOpens},
			{from: "5511900000302", text: "quero pagar", typ: "payments"},
			{from: "5511900000303", text: "olá", typ: "general"},
		}
		qids := map[string]string{}
		for i, c := range customers {
			m := text(fmt.Sprintf("wamid.th%d", i), c.from, noon, int64(i))
			m.Text = c.text
			e.mustDeliver(t, m)
			qids[c.typ] = e.openQuery(t, c.from)
		}
		for _, c := range customers {
			qid := qids[c.typ]
			if got := e.outboundTexts(t, qid); !slices.Equal(got, c.replies) {
				t.Errorf("%s customer got %q, want %q", c.typ, got, c.replies)
			}
			st := e.state(t, qid)
			queued := !c.release.IsZero()
			if st.Query.Type != c.typ || st.Query.State != routing.StatePending || st.Query.QueuedUntilOpen != queued {
				t.Errorf("%s query = %+v, want pending in %s, queued until open %v", c.typ, st.Query, c.typ, queued)
			}
			releases := e.timers(t, queue.TypeRelease, qid)
			if queued && !e.scheduledAt(t, queue.TypeRelease, qid, c.release) {
				t.Errorf("%s query: releases %v, want one at %s", c.typ, releases, c.release)
			}
			if !queued && len(releases) > 0 {
				t.Errorf("%s query routed at once, yet releases are scheduled: %v", c.typ, releases)
			}
		}
		// The payments pool operators see holds the payments customer.
		pool, err := e.Service.List(ctx, conversations.Filter{State: routing.StatePending, QueryType: "payments"})
		if err != nil || len(pool.Items) != 1 || pool.Items[0].ID != qids["payments"] {
			t.Fatalf("payments pool = %+v (%v), want the payments query", pool.Items, err)
		}

		// Writing again while claims is still closed: no second reply,
		// though the global plan is open.
		clk.Set(noon.Add(30 * time.Minute))
		m := text("wamid.th-again", customers[0].from, clk.Now(), 10)
		m.Text = "alguém aí?"
		e.mustDeliver(t, m)
		if got := e.outboundTexts(t, qids["claims"]); len(got) != 1 {
			t.Fatalf("claims customer got %q after writing again in the same closed period, want the one reply", got)
		}
		if got := testutil.ToFloat64(e.Metrics.AutoReplies.WithLabelValues("out_of_hours")); got != 1 {
			t.Fatalf("out-of-hours replies counted = %v, want 1", got)
		}

		// A release before claims opens (the global plan is open) leaves
		// the query waiting, with no second reply.
		retried(t, "early release", func() error { return e.Service.Release(ctx, qids["claims"]) })
		if st := e.state(t, qids["claims"]); !st.Query.QueuedUntilOpen || len(e.outboundTexts(t, qids["claims"])) != 1 {
			t.Fatalf("claims query after an early release = %+v, messages %q; want still waiting, one reply", st.Query, e.outboundTexts(t, qids["claims"]))
		}

		// The release at claims' opening routes the query: into claims' pool.
		clk.Set(claimsOpens)
		retried(t, "release", func() error { return e.Service.Release(ctx, qids["claims"]) })
		if st := e.state(t, qids["claims"]); st.Query.QueuedUntilOpen || st.Query.State != routing.StatePending {
			t.Fatalf("claims query after its opening = %+v, want in the pool, no longer waiting", st.Query)
		}
		pool, err = e.Service.List(ctx, conversations.Filter{State: routing.StatePending, QueryType: "claims"})
		if err != nil || len(pool.Items) != 1 || pool.Items[0].ID != qids["claims"] {
			t.Fatalf("claims pool = %+v (%v), want the released query", pool.Items, err)
		}
		if got := e.outboundTexts(t, qids["claims"]); len(got) != 1 || !strings.Contains(got[0], "Claims is closed") {
			t.Fatalf("claims customer's messages after the release = %q, want the one reply", got)
		}
	})
}
