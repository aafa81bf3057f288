package worker_test

import (
	"context"
	"testing"
	"time"

	"switchboard/auth"
	"switchboard/clock"
	"switchboard/routing"
)

// An account changed outside the API (by the CLI, another replica, the
// database) reaches routing at the next decision that reads the roster,
// and that decision queues the re-check of assignments: a query whose
// operator no longer serves its type goes to one who does, and the audit
// log says routing moved it.
func TestAStaffChangeReturnsTheQueriesOfWhoNoLongerServesThem(t *testing.T) {
	clk := clock.NewFake(time.Now().Truncate(time.Second))
	e := newEnv(t, "", clk)
	ctx := context.Background()
	e.ApplySettings(t, "default_query_type: sales\nquery_types:\n  - {id: sales, strategy: round_robin}\n")
	e.Operators(t, 5, []string{"sales"}, "ana")
	e.online(t, "ana")
	e.startWorker(t, 4)
	if err := e.Queue.EnqueueInbound(ctx, text("wamid.s1", "5511900000901", clk.Now(), 1)); err != nil {
		t.Fatal(err)
	}
	var first string
	eventually(t, "ana to get the first customer", func() bool {
		first = e.contactQuery("5511900000901")
		q := e.state(first)
		return q != nil && q.Assignee == "ana"
	})

	// Ana stops serving sales; bruno starts. Nothing tells the workers
	// but the staff version.
	u, err := e.DB.Accounts().Get(ctx, "ana")
	if err != nil {
		t.Fatal(err)
	}
	u.QueryTypes = []string{"claims"}
	if err := e.DB.Accounts().Update(ctx, u); err != nil {
		t.Fatal(err)
	}
	e.Operators(t, 5, []string{"sales"}, "bruno")
	e.online(t, "bruno")
	if err := e.Queue.EnqueueInbound(ctx, text("wamid.s2", "5511900000902", clk.Now(), 2)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second customer to go to bruno", func() bool {
		q := e.state(e.contactQuery("5511900000902"))
		return q != nil && q.Assignee == "bruno"
	})
	eventually(t, "ana's query to move to bruno", func() bool {
		q := e.state(first)
		return q != nil && q.State == routing.StateAssigned && q.Assignee == "bruno"
	})
	// The audit entry follows the move, in the same task.
	eventually(t, "an audit entry for routing moving "+first, func() bool {
		entries, err := e.DB.Audit().Page(ctx, auth.AuditQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range entries {
			if en.Actor == "routing" && en.Action == "conversation.return" && en.Target == first {
				return true
			}
		}
		return false
	})
}
