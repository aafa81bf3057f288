package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/auth"
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

	for _, tc := range []struct {
		name   string
		fail   func(on bool)
		method string
		path   string
		body   any
	}{
		{"role write", w.roleFaults.failWrites.Store, "PUT", "/api/v1/roles/night-shift",
			map[string]any{"permissions": []string{"conversations.reply"}}},
		{"settings write", w.settingsFaults.failWrites.Store, "PUT", "/api/v1/settings",
			map[string]any{"version": doc.Version, "yaml": doc.YAML}},
		{"presence write", func(on bool) {
			if on {
				faults.Fail(redistest.And(redistest.Named("hset"), redistest.KeyIs("{sb}:roster:presence")))
			} else {
				faults.Fail(nil)
			}
		}, "PUT", "/api/v1/me/presence", map[string]string{"presence": routing.PresenceAway}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fail(true)
			r := w.do(t, tc.method, tc.path, adminT, tc.body)
			tc.fail(false)
			if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, `"code":"unavailable"`) {
				t.Errorf("%s %s with its storage failing: %d %s, want 503 unavailable", tc.method, tc.path, r.status, r.body)
			}
			// With the storage back, the same request succeeds: it was valid.
			if r := w.do(t, tc.method, tc.path, adminT, tc.body); r.status != http.StatusOK {
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

// A conversation that fails to load fails the list; it is never silently
// left out of it.
func TestConversationListFailsWhenARowFailsToLoad(t *testing.T) {
	w := newConvWorld(t)
	faults := redistest.Intercept(w.rdb)
	a := w.query(t, "5511911110001", w.clock.Now().Add(-time.Minute), "sales", routing.StatePending, "")
	b := w.query(t, "5511911110002", w.clock.Now(), "sales", routing.StatePending, "")
	if ids := w.listIDs(t, w.anaT); len(ids) != 2 {
		t.Fatalf("listed %v, want %s and %s", ids, a, b)
	}
	// Only b's row: its hash fails to load.
	faults.Fail(redistest.And(redistest.Named("hmget"), func(cmd redis.Cmder) bool {
		return strings.HasSuffix(redistest.FirstKey(cmd), ":q:"+b)
	}))
	r := w.do(t, "GET", "/api/v1/conversations", w.anaT, nil)
	faults.Fail(nil)
	if r.status < 500 {
		t.Fatalf("list with one row failing to load: %d %s, want a 5xx", r.status, r.body)
	}
}
