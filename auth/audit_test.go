package auth_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"switchboard/auth"
	"switchboard/clock"
	"switchboard/internal/dbtest"
	"switchboard/internal/logbuf"
	"switchboard/repository"
)

// The audit log reads newest first, entries of one millisecond in the
// order they were recorded, at the times they were recorded.
func TestAuditReadsNewestFirst(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
		clk := clock.NewFake(t0)
		audit := auth.NewAudit(db.Audit(), clk, nil)
		for i := range 5 {
			audit.Record(ctx, auth.Entry{Actor: "u_0000000000000001", Action: fmt.Sprintf("step%d", i), Target: "+55*********78", IP: "192.0.2.1"})
		}
		clk.Advance(time.Second)
		audit.Record(ctx, auth.Entry{Action: "later", Outcome: "ok"})
		got, err := audit.Recent(ctx, 4)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range got {
			actions = append(actions, e.Action)
		}
		if strings.Join(actions, ",") != "later,step4,step3,step2" {
			t.Fatalf("Recent(4) = %v, want later,step4,step3,step2", actions)
		}
		if !got[0].At.Equal(t0.Add(time.Second)) || got[0].Outcome != "ok" || !got[1].At.Equal(t0) ||
			got[1].Actor != "u_0000000000000001" || got[1].Target != "+55*********78" || got[1].IP != "192.0.2.1" {
			t.Fatalf("entries read back as %+v", got[:2])
		}
	})
}

// failingAudit is an audit log whose every write fails.
type failingAudit struct{ auth.AuditRepository }

func (failingAudit) Append(context.Context, string, auth.Entry) error { return errDBDown }

// An entry that cannot be written does not fail the audited action; it is
// logged as a warning, with the action and the cause.
func TestAuditFailureIsLoggedNotReturned(t *testing.T) {
	logs := &logbuf.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	audit := auth.NewAudit(failingAudit{}, clock.NewFake(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)), logger)
	audit.Record(context.Background(), auth.Entry{Action: "user.delete", Target: "u_0000000000000001"})
	if l := logs.String(); !strings.Contains(l, `"level":"WARN"`) || !strings.Contains(l, `"action":"user.delete"`) || !strings.Contains(l, errDBDown.Error()) {
		t.Fatalf("log = %s", l)
	}
}

// The whole log can be read a page at a time: pages that cut through
// entries of one millisecond neither repeat nor skip one, and filters
// by action, actor, target and time combine.
func TestAuditPagesAndFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
		clk := clock.NewFake(t0)
		audit := auth.NewAudit(db.Audit(), clk, nil)
		var want []string
		for i := range 7 {
			if i == 3 || i == 5 {
				clk.Advance(time.Minute)
			}
			action, actor := "login", "u_0000000000000001"
			if i%2 == 1 {
				action, actor = "user.disable", "u_0000000000000002"
			}
			audit.Record(ctx, auth.Entry{Actor: actor, Action: action, Target: fmt.Sprintf("t%d", i)})
			want = append([]string{fmt.Sprintf("t%d", i)}, want...)
		}
		var got []string
		before := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			page, err := audit.Page(ctx, auth.AuditQuery{Limit: 2, Before: before})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				got = append(got, e.Target)
			}
			if len(page) < 2 {
				break
			}
			before = page[len(page)-1].ID
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("paged through %v, want %v", got, want)
		}
		targets := func(q auth.AuditQuery) string {
			t.Helper()
			q.Limit = 100
			page, err := audit.Page(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range page {
				out = append(out, e.Target)
			}
			return strings.Join(out, ",")
		}
		for _, c := range []struct {
			name string
			q    auth.AuditQuery
			want string
		}{
			{"action", auth.AuditQuery{Action: "user.disable"}, "t5,t3,t1"},
			{"actor", auth.AuditQuery{Actor: "u_0000000000000001"}, "t6,t4,t2,t0"},
			{"target", auth.AuditQuery{Target: "t4"}, "t4"},
			{"since", auth.AuditQuery{Since: t0.Add(time.Minute)}, "t6,t5,t4,t3"},
			{"until", auth.AuditQuery{Until: t0.Add(time.Minute)}, "t2,t1,t0"},
			{"combined", auth.AuditQuery{Action: "login", Since: t0.Add(time.Minute), Until: t0.Add(2 * time.Minute)}, "t4"},
		} {
			if got := targets(c.q); got != c.want {
				t.Errorf("%s: %s, want %s", c.name, got, c.want)
			}
		}
	})
}
