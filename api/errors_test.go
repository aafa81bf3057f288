package api_test

import (
	"database/sql/driver"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"switchboard/auth"
	"switchboard/internal/convtest"
	"switchboard/internal/redistest"
	"switchboard/routing"
)

// A database or Redis outage behind a write is the server's failure
// (503), not the caller's mistake (422): the caller must not be told to
// fix a document that was fine.
func TestOutageIsNotAValidationError(t *testing.T) {
	w := newConvWorld(t)
	faults := redistest.Intercept(w.rdb)
	admin := w.createUser(t, "Admin", "+5511900000009", auth.RoleAdmin)
	adminT := w.loginAs(t, admin.Phone)
	r := w.do(t, "GET", "/api/v1/settings", adminT, nil)
	var doc struct {
		Version int64  `json:"version"`
		YAML    string `json:"yaml"`
	}
	r.decode(t, &doc)
	qid := w.query(t, "5511911110001", w.clock.Now(), "sales", routing.StatePending, "")
	cid, _, _ := strings.Cut(qid, "-")
	other := w.query(t, "5511911110002", w.clock.Now(), "sales", routing.StatePending, "")
	otherContact, _, _ := strings.Cut(other, "-")
	// failDB fails every call of a repository method as a dropped
	// database connection does.
	failDB := func(method string) func(on bool) {
		return func(on bool) {
			if on {
				w.conv.Repo.FailBefore(method, -1).With(errDBConnReset)
			} else {
				w.conv.Repo.Clear()
			}
		}
	}

	for _, tc := range []struct {
		name   string
		fail   func(on bool)
		method string
		path   string
		body   any
		// ok is the answer once the storage is back; 200 if 0.
		ok int
	}{
		{"role write", w.roleFaults.failWrites.Store, "PUT", "/api/v1/roles/night-shift",
			map[string]any{"permissions": []string{"conversations.reply"}}, 0},
		{"settings write", w.settingsFaults.failWrites.Store, "PUT", "/api/v1/settings",
			map[string]any{"version": doc.Version, "yaml": doc.YAML}, 0},
		{"presence write", func(on bool) {
			if on {
				faults.Fail(redistest.And(redistest.Named("hset"), redistest.KeyIs("{sb}:presence")))
			} else {
				faults.Fail(nil)
			}
		}, "PUT", "/api/v1/me/presence", map[string]string{"presence": routing.PresenceAway}, 0},
		{"contact edit", failDB("EditContact"), "PUT", "/api/v1/contacts/" + cid, map[string]string{"display_name": "Dona Maria"}, 0},
		{"portfolio", failDB("SetPortfolioOwner"), "PUT", "/api/v1/contacts/" + cid + "/portfolio", map[string]string{"operator": admin.ID}, 0},
		{"reply", failDB("RecordReply"), "POST", "/api/v1/conversations/" + qid + "/messages", map[string]string{"text": "Olá!"}, http.StatusAccepted},
		{"claim", failDB("ApplyDecision"), "POST", "/api/v1/conversations/" + other + "/claim", nil, 0},
		{"erase", failDB("EraseContact"), "POST", "/api/v1/contacts/" + otherContact + "/erase", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fail(true)
			r := w.do(t, tc.method, tc.path, adminT, tc.body)
			tc.fail(false)
			if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, `"code":"unavailable"`) {
				t.Errorf("%s %s with its storage failing: %d %s, want 503 unavailable", tc.method, tc.path, r.status, r.body)
			}
			// With the storage back, the same request succeeds: it was valid.
			ok := tc.ok
			if ok == 0 {
				ok = http.StatusOK
			}
			if r := w.do(t, tc.method, tc.path, adminT, tc.body); r.status != ok {
				t.Errorf("%s %s with its storage back: %d %s", tc.method, tc.path, r.status, r.body)
			}
		})
	}
	// Real mistakes stay 4xx.
	if r := w.do(t, "PUT", "/api/v1/me/presence", adminT, map[string]string{"presence": "asleep"}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("invalid presence: %d %s, want 422", r.status, r.body)
	}
	if r := w.do(t, "PUT", "/api/v1/roles/night-shift", adminT, map[string]any{"permissions": []string{"flying"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("unknown permission: %d %s, want 422", r.status, r.body)
	}
}

// A list whose database read fails is a 5xx, never a page silently
// missing rows: whether the read fails before or after the database
// answered.
func TestConversationListFailsWhenTheDatabaseDoes(t *testing.T) {
	w := newConvWorld(t)
	a := w.query(t, "5511911110001", w.clock.Now().Add(-time.Minute), "sales", routing.StatePending, "")
	b := w.query(t, "5511911110002", w.clock.Now(), "sales", routing.StatePending, "")
	if ids := w.listIDs(t, w.anaT); len(ids) != 2 {
		t.Fatalf("listed %v, want %s and %s", ids, a, b)
	}
	for _, fail := range []func(string, int) *convtest.Rule{w.conv.Repo.FailBefore, w.conv.Repo.FailAfter} {
		rule := fail("List", 1)
		r := w.do(t, "GET", "/api/v1/conversations", w.anaT, nil)
		if r.status < 500 || strings.Contains(r.body, a) || rule.Fired() != 1 {
			t.Fatalf("list with the database failing: %d %s, want a 5xx", r.status, r.body)
		}
	}
	if ids := w.listIDs(t, w.anaT); len(ids) != 2 {
		t.Fatalf("listed %v with the database back, want %s and %s", ids, a, b)
	}
}

// A read the database fails is the server's failure: 503 unavailable
// when the database says it cannot serve now (the connection dropped, the
// server shutting down in a failover, out of connections), so clients
// retry; 500 for anything else. Never a 4xx, never an empty 200.
func TestDatabaseFailuresAreTheServers(t *testing.T) {
	w := newConvWorld(t)
	id := w.query(t, "5511911110001", w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)
	reads := []struct{ method, path string }{
		{"List", "/api/v1/conversations"},
		{"RoutingState", "/api/v1/conversations/" + id},
		{"History", "/api/v1/conversations/" + id + "/messages"},
	}
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"connection reset", errDBConnReset, http.StatusServiceUnavailable, "unavailable"},
		{"bad connection", fmt.Errorf("read conversation: %w", driver.ErrBadConn), http.StatusServiceUnavailable, "unavailable"},
		{"admin shutdown", fmt.Errorf("list conversations: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P01"}), http.StatusServiceUnavailable, "unavailable"},
		{"cannot connect now", &pgconn.PgError{Severity: "FATAL", Code: "57P03"}, http.StatusServiceUnavailable, "unavailable"},
		{"connection failure", &pgconn.PgError{Severity: "FATAL", Code: "08006"}, http.StatusServiceUnavailable, "unavailable"},
		{"too many connections", &pgconn.PgError{Severity: "FATAL", Code: "53300"}, http.StatusServiceUnavailable, "unavailable"},
		{"undefined table", &pgconn.PgError{Severity: "ERROR", Code: "42P01"}, http.StatusInternalServerError, "internal"},
		{"any other failure", convtest.ErrInjected, http.StatusInternalServerError, "internal"},
	} {
		for _, rd := range reads {
			rule := w.conv.Repo.FailBefore(rd.method, 1).With(tc.err)
			r := w.do(t, "GET", rd.path, w.anaT, nil)
			if r.status != tc.status || !strings.Contains(r.body, `"code":"`+tc.code+`"`) || rule.Fired() != 1 {
				t.Errorf("GET %s with %s failing (%s): %d %s, want %d %s", rd.path, rd.method, tc.name, r.status, r.body, tc.status, tc.code)
			}
			w.conv.Repo.Clear()
		}
	}
	for _, rd := range reads {
		if r := w.do(t, "GET", rd.path, w.anaT, nil); r.status != http.StatusOK {
			t.Errorf("GET %s with the database back: %d %s", rd.path, r.status, r.body)
		}
	}
}
