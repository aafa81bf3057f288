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
