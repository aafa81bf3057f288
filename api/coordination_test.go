package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/auth"
	"switchboard/queue"
	"switchboard/reports"
	"switchboard/routing"
	"switchboard/settings"
)

// A template goes outside the customer service window, where a reply is
// refused; its parameter count is checked.
func TestTemplateSendOutsideTheWindow(t *testing.T) {
	w := newConvWorld(t)
	last := w.clock.Now()
	id := w.query(t, "5511911110001", last, "sales", routing.StateAssigned, w.ana.ID)
	w.clock.Set(last.Add(24*time.Hour + time.Second))
	w.anaT = w.loginAsAfterCooldown(t, w.ana.Phone)
	path := "/api/v1/conversations/" + id
	if r := w.do(t, "POST", path+"/messages", w.anaT, map[string]string{"text": "oi"}); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("reply at 24:00:01: %d", r.status)
	}
	r := w.do(t, "POST", path+"/templates", w.anaT, map[string]any{"template": "payment_reminder", "language": "es", "params": []string{"Ana"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `"code":"template_params"`) {
		t.Fatalf("one parameter for two: %d %s", r.status, r.body)
	}
	if r := w.do(t, "POST", path+"/templates", w.anaT, map[string]any{"template": "nope", "language": "es", "params": []string{}}); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("unknown template: %d", r.status)
	}
	r = w.do(t, "POST", path+"/templates", w.anaT, map[string]any{"template": "payment_reminder", "language": "es", "params": []string{"Ana", "$120"}})
	if r.status != http.StatusAccepted {
		t.Fatalf("template at 24:00:01: %d %s", r.status, r.body)
	}
	hist := w.history(t, id)
	last2 := hist[len(hist)-1]
	if last2.Template == nil || last2.Template.Name != "payment_reminder_v2" || strings.Join(last2.Template.Params, "|") != "Ana|$120" ||
		last2.Text != "Hola Ana, tu pago de $120 vence mañana." {
		t.Fatalf("recorded template send = %+v (%+v)", last2, last2.Template)
	}
	if n, err := asynqTasks(w, queue.QueueOutbound); err != nil || n != 1 {
		t.Fatalf("%d sends queued (%v), want 1", n, err)
	}
	// A template is a person's answer: the conversation's first response
	// (which only a message with an author records).
	var first time.Time
	err := w.conv.DB.Reports().ReportRows(context.Background(), reports.Filter{From: last.Add(-time.Hour), To: w.clock.Now().Add(time.Hour)},
		func(r *reports.Row) error {
			if r.ID == id {
				first = r.FirstResponseAt
			}
			return nil
		})
	if err != nil || !first.Equal(w.clock.Now().Truncate(time.Millisecond)) {
		t.Fatalf("first response after the template = %v (%v), want %v", first, err, w.clock.Now())
	}
}

// Bulk derivation of 1,000 queries moves each once, spread least-loaded
// over the group, and a second call moves none.
func TestBulkDerivation(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	admin := w.createUser(t, "Admin", "+5511900000009", auth.RoleAdmin)
	adminT := w.loginAs(t, admin.Phone)
	const n = 1000
	for i := range n {
		w.query(t, fmt.Sprintf("55119333%05d", i), w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)
	}
	if r := w.do(t, "POST", "/api/v1/derivations", w.supT, map[string]string{"from": w.ana.ID, "group": "team"}); r.status != http.StatusForbidden {
		t.Fatalf("supervisor deriving: %d, want 403", r.status)
	}
	r := w.do(t, "POST", "/api/v1/derivations", adminT, map[string]string{"from": w.ana.ID, "group": "team"})
	if r.status != 200 || r.body != `{"moved":1000}`+"\n" {
		t.Fatalf("derivation: %d %s", r.status, r.body)
	}
	seen := map[string]string{}
	for _, op := range []string{w.bruno.ID, w.carla.ID} {
		ids, _ := w.conv.DB.Conversations().AssignedTo(ctx, op)
		load, _ := w.conv.Service.OperatorLoad(ctx, op)
		if len(ids) != n/2 || load != n/2 {
			t.Fatalf("%s has %d queries (load %d), want %d", op, len(ids), load, n/2)
		}
		for _, id := range ids {
			if other, dup := seen[id]; dup {
				t.Fatalf("query %s assigned to %s and %s", id, other, op)
			}
			seen[id] = op
		}
	}
	if ids, _ := w.conv.DB.Conversations().AssignedTo(ctx, w.ana.ID); len(ids) != 0 {
		t.Fatalf("ana still has %d", len(ids))
	}
	if r := w.do(t, "POST", "/api/v1/derivations", adminT, map[string]string{"from": w.ana.ID, "group": "team"}); r.body != `{"moved":0}`+"\n" {
		t.Fatalf("second derivation: %s", r.body)
	}
	if got := testutil.ToFloat64(w.metrics.Derivations); got != n {
		t.Fatalf("derivations counted = %v", got)
	}
}

func TestSettingsOverTheAPI(t *testing.T) {
	w := newConvWorld(t)
	coord := w.createUser(t, "Coord", "+5511900000008", auth.RoleCoordinator)
	coordT := w.loginAs(t, coord.Phone)
	if r := w.do(t, "GET", "/api/v1/settings", w.anaT, nil); r.status != http.StatusForbidden {
		t.Fatalf("operator reading settings: %d", r.status)
	}
	r := w.do(t, "GET", "/api/v1/settings", coordT, nil)
	var doc struct {
		Version int64  `json:"version"`
		YAML    string `json:"yaml"`
	}
	r.decode(t, &doc)
	if r.status != 200 || doc.Version != 1 || !strings.Contains(doc.YAML, "payment_reminder") {
		t.Fatalf("get: %d %+v", r.status, doc)
	}
	broken := strings.Replace(doc.YAML, "strategy: claim", "strategy: fastest", 1)
	r = w.do(t, "PUT", "/api/v1/settings", coordT, map[string]any{"version": 1, "yaml": broken})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "query_types[0].strategy") {
		t.Fatalf("invalid settings: %d %s", r.status, r.body)
	}
	changed := strings.Replace(doc.YAML, "/horario", "/hours", 1)
	if r := w.do(t, "PUT", "/api/v1/settings", coordT, map[string]any{"version": 0, "yaml": changed}); r.status != http.StatusConflict {
		t.Fatalf("stale version: %d", r.status)
	}
	if r := w.do(t, "PUT", "/api/v1/settings", coordT, map[string]any{"version": 1, "yaml": changed}); r.status != 200 || !strings.Contains(r.body, `"version":2`) {
		t.Fatalf("apply: %d %s", r.status, r.body)
	}
	r = w.do(t, "GET", "/api/v1/canned-responses?q=hours", w.anaT, nil)
	if r.status != 200 || !strings.Contains(r.body, `"shortcut":"/hours"`) || strings.Contains(r.body, "/pix") {
		t.Fatalf("knowledge base after the change: %d %s", r.status, r.body)
	}
	r = w.do(t, "GET", "/api/v1/canned-responses?q=PIX", w.anaT, nil)
	if !strings.Contains(r.body, `"shortcut":"/pix"`) || strings.Contains(r.body, "/hours") {
		t.Fatalf("search by text: %s", r.body)
	}
	entries, _ := newAuditReader(w).Recent(context.Background(), 50)
	found := false
	for _, e := range entries {
		if e.Action == "settings.apply" && e.Actor == coord.ID {
			found = true
		}
	}
	if !found {
		t.Fatal("the settings change is not in the audit log")
	}
	// The version itself says who applied it.
	if st, err := settings.Load(context.Background(), w.db.Settings()); err != nil || st.Version != 2 || st.AppliedBy != coord.ID {
		t.Fatalf("stored version = %+v, %v; want version 2 applied by %s", st, err, coord.ID)
	}
}

func newAuditReader(w *convWorld) *auth.Audit { return auth.NewAudit(w.db.Audit(), w.clock, nil) }

func TestContactEditAndPortfolio(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	coord := w.createUser(t, "Coord", "+5511900000008", auth.RoleCoordinator)
	coordT := w.loginAs(t, coord.Phone)
	id := w.query(t, "5511911110001", w.clock.Now(), "sales", routing.StatePending, "")
	q, _ := w.conv.Service.Query(ctx, id)
	if r := w.do(t, "PUT", "/api/v1/contacts/"+q.ContactID, w.anaT, map[string]string{"display_name": "X"}); r.status != http.StatusForbidden {
		t.Fatalf("operator editing a contact: %d", r.status)
	}
	r := w.do(t, "PUT", "/api/v1/contacts/"+q.ContactID, coordT, map[string]string{"display_name": "Dona Maria", "notes": "prefers mornings"})
	if r.status != 200 || !strings.Contains(r.body, `"display_name":"Dona Maria"`) {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	if r := w.do(t, "PUT", "/api/v1/contacts/"+q.ContactID+"/portfolio", coordT, map[string]string{"operator": "u_nobody"}); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("portfolio to an unknown user: %d", r.status)
	}
	if r := w.do(t, "PUT", "/api/v1/contacts/"+q.ContactID+"/portfolio", coordT, map[string]string{"operator": w.bruno.ID}); r.status != 200 {
		t.Fatalf("portfolio: %d %s", r.status, r.body)
	}
	c, _ := w.conv.Service.Contact(ctx, q.ContactID)
	if c.PortfolioOwner != w.bruno.ID || c.DisplayName != "Dona Maria" {
		t.Fatalf("contact = %+v", c)
	}
	// The console's contact panel names the portfolio owner and shows the notes.
	var cv struct {
		Name      string `json:"contact_name"`
		Owner     string `json:"portfolio_owner"`
		OwnerName string `json:"portfolio_owner_name"`
		Notes     string `json:"contact_notes"`
	}
	if r := w.do(t, "GET", "/api/v1/conversations/"+id, coordT, nil); r.status != 200 || json.Unmarshal([]byte(r.body), &cv) != nil {
		t.Fatalf("get conversation: %d %s", r.status, r.body)
	}
	if cv.Name != "Dona Maria" || cv.Owner != w.bruno.ID || cv.OwnerName != w.bruno.Name || cv.Notes != "prefers mornings" {
		t.Fatalf("conversation's contact = %+v, want Dona Maria in %s's portfolio with her notes", cv, w.bruno.Name)
	}
	if r := w.do(t, "DELETE", "/api/v1/contacts/"+q.ContactID+"/portfolio", coordT, nil); r.status != 200 {
		t.Fatalf("remove from portfolio: %d", r.status)
	}
	if c, _ := w.conv.Service.Contact(ctx, q.ContactID); c.PortfolioOwner != "" {
		t.Fatalf("still in a portfolio: %+v", c)
	}
	if r := w.do(t, "PUT", "/api/v1/contacts/nope", coordT, map[string]string{"display_name": "X"}); r.status != http.StatusNotFound {
		t.Fatalf("unknown contact: %d", r.status)
	}
}

func TestClaimAndReturn(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	w.ana.Grants = []string{string(auth.PermSelfAssign), string(auth.PermReturn)}
	if _, err := w.users.Update(ctx, *w.ana); err != nil {
		t.Fatal(err)
	}
	id := w.query(t, "5511911110001", w.clock.Now(), "sales", routing.StatePending, "")
	if r := w.do(t, "POST", "/api/v1/conversations/"+id+"/claim", w.anaT, nil); r.status != 200 || !strings.Contains(r.body, `"assignee":"`+w.ana.ID+`"`) {
		t.Fatalf("claim: %d %s", r.status, r.body)
	}
	if ids, _ := w.conv.DB.Conversations().Pool(ctx, "sales", 10); len(ids) != 0 {
		t.Fatalf("claimed query still in the pool: %v", ids)
	}
	if r := w.do(t, "POST", "/api/v1/conversations/"+id+"/return", w.anaT, nil); r.status != 200 || !strings.Contains(r.body, `"state":"pending"`) {
		t.Fatalf("return: %d %s", r.status, r.body)
	}
	if ids, _ := w.conv.DB.Conversations().Pool(ctx, "sales", 10); len(ids) != 1 || ids[0] != id {
		t.Fatalf("returned query not back in the pool: %v", ids)
	}
	if n, _ := w.conv.Service.OperatorLoad(ctx, w.ana.ID); n != 0 {
		t.Fatalf("ana's load after return = %d", n)
	}
	if r := w.do(t, "POST", "/api/v1/conversations/"+id+"/return", w.anaT, nil); r.status != http.StatusForbidden {
		t.Fatalf("returning a query she no longer holds: %d, want 403", r.status)
	}
}
