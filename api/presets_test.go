package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/auth"
	"switchboard/conversations"
	"switchboard/queue"
	"switchboard/routing"
)

// outboundQueued counts the sends waiting in the outbound queue; a queue
// nothing was ever put in does not exist yet, and holds none.
func outboundQueued(t *testing.T, w *convWorld) int {
	t.Helper()
	insp := newInspector(w.rdb)
	defer insp.Close()
	names, err := insp.Queues()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, queue.QueueOutbound) {
		return 0
	}
	n, err := asynqTasks(w, queue.QueueOutbound)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// sendCase is one attempt to message a customer: a route, the
// conversation it is tried on, and the body.
type sendCase struct {
	name, route, id string
	body            map[string]any
}

// A collaborator reads every conversation and its history, of any type
// and whoever holds it, and can never message a customer: every route
// that sends (a reply, which also claims a pool conversation; a template,
// the only send outside the window) answers 403 and sends nothing, even
// for a conversation handed to them. Every other route they might try
// leaves the customers unmessaged and the conversations as they were.
func TestCollaboratorNeverMessagesCustomers(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	cora := w.createUser(t, "Cora", "+5511900000005", auth.RoleCollaborator)
	coraT := w.loginAs(t, cora.Phone)
	now := w.clock.Now()
	pool := w.query(t, "5511911110001", now.Add(-4*time.Minute), "sales", routing.StatePending, "")
	anas := w.query(t, "5511911110002", now.Add(-3*time.Minute), "sales", routing.StateAssigned, w.ana.ID)
	// Assigned to her while she had another role, say: holding it is no
	// licence to send.
	hers := w.query(t, "5511911110003", now.Add(-2*time.Minute), "claims", routing.StateAssigned, cora.ID)
	// Outside the window only a template may go: the one send left there.
	lapsed := w.query(t, "5511911110004", now.Add(-25*time.Hour), "claims", routing.StateInactive, "")
	queries := []string{pool, anas, hers, lapsed}

	// She reads everything: the list, each conversation, each history.
	listed := w.listIDs(t, coraT)
	for _, id := range queries {
		if !slices.Contains(listed, id) {
			t.Errorf("collaborator's list %v lacks %s", listed, id)
		}
		if r := w.do(t, "GET", "/api/v1/conversations/"+id, coraT, nil); r.status != http.StatusOK || !strings.Contains(r.body, `"id":"`+id+`"`) {
			t.Errorf("collaborator GET %s: %d %s", id, r.status, r.body)
		}
		r := w.do(t, "GET", "/api/v1/conversations/"+id+"/messages", coraT, nil)
		if r.status != http.StatusOK || !strings.Contains(r.body, `"direction":"inbound"`) || !strings.Contains(r.body, `"text":"oi"`) {
			t.Errorf("collaborator reading %s's history: %d %s", id, r.status, r.body)
		}
	}
	before := w.do(t, "GET", "/api/v1/conversations", coraT, nil).body
	if !strings.Contains(before, `"id":"`+lapsed+`"`) || strings.Count(before, `"window_open":false`) != 1 {
		t.Fatalf("the lapsed conversation should be the one outside the window: %s", before)
	}

	text := map[string]any{"text": "Olá, posso ajudar?"}
	tmpl := map[string]any{"template": "payment_reminder", "language": "es", "params": []string{"Ana", "$120"}}
	sends := []sendCase{
		{"reply to a pool conversation (would claim it)", "POST /api/v1/conversations/:id/messages", pool, text},
		{"reply to a colleague's conversation", "POST /api/v1/conversations/:id/messages", anas, text},
		{"reply to a conversation handed to her", "POST /api/v1/conversations/:id/messages", hers, text},
		{"template to a pool conversation (would claim it)", "POST /api/v1/conversations/:id/templates", pool, tmpl},
		{"template to a colleague's conversation", "POST /api/v1/conversations/:id/templates", anas, tmpl},
		{"template to a conversation handed to her", "POST /api/v1/conversations/:id/templates", hers, tmpl},
		{"template outside the window", "POST /api/v1/conversations/:id/templates", lapsed, tmpl},
	}
	// Every route that sends is guarded by conversations.reply; one added
	// later gets rows here, or this fails.
	for route, need := range routePermissions {
		if need == string(auth.PermReply) && !slices.ContainsFunc(sends, func(s sendCase) bool { return s.route == route }) {
			t.Errorf("sending route %s is not tried as a collaborator", route)
		}
	}
	for _, s := range sends {
		t.Run(s.name, func(t *testing.T) {
			method, path, _ := strings.Cut(s.route, " ")
			r := w.do(t, method, strings.ReplaceAll(path, ":id", s.id), coraT, s.body)
			if r.status != http.StatusForbidden || !strings.Contains(r.body, `"code":"forbidden"`) || !strings.Contains(r.body, string(auth.PermReply)) {
				t.Errorf("%d %s, want 403 forbidden naming %s", r.status, r.body, auth.PermReply)
			}
		})
	}

	// Every other route that acts, with a body any of them would take, on
	// each conversation, contact and a colleague.
	contacts := map[string]bool{}
	for _, id := range queries {
		q, err := w.conv.Service.Query(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		contacts[q.ContactID] = true
	}
	body := map[string]any{"text": "Olá", "template": "payment_reminder", "language": "es", "params": []string{"Ana", "$120"},
		"to": cora.ID, "from": w.ana.ID, "operator": cora.ID, "reason": "solved", "presence": "online", "display_name": "X",
		"name": "X", "phone": "+5511900000099", "role": auth.RoleAdmin, "permissions": []string{string(auth.PermReply)}}
	for _, rt := range w.echo.Routes() {
		route := rt.Method + " " + rt.Path
		need, ok := routePermissions[route]
		if !ok || rt.Method == http.MethodGet || need == "public" || route == "POST /api/v1/auth/logout" {
			continue // reads, logging in and out: not acting on anyone
		}
		var ids []string
		switch {
		case !strings.Contains(rt.Path, ":id"):
			ids = []string{""}
		case strings.HasPrefix(rt.Path, "/api/v1/conversations/"):
			ids = queries
		case strings.HasPrefix(rt.Path, "/api/v1/contacts/"):
			for id := range contacts {
				ids = append(ids, id)
			}
		default:
			ids = []string{w.ana.ID}
		}
		for _, id := range ids {
			path := strings.ReplaceAll(strings.ReplaceAll(rt.Path, ":id", id), ":name", "collaborators")
			r := w.do(t, rt.Method, path, coraT, body)
			allowed := need == "authenticated" || slices.Contains(auth.BuiltIn[auth.RoleCollaborator].Permissions, auth.Permission(need))
			if !allowed && r.status != http.StatusForbidden {
				t.Errorf("%s as a collaborator: %d %s, want 403", path, r.status, r.body)
			}
		}
	}

	if n := outboundQueued(t, w); n != 0 {
		t.Errorf("%d sends queued after a collaborator's requests, want none", n)
	}
	for _, id := range queries {
		hist := w.history(t, id)
		if len(hist) != 1 || hist[0].Direction != conversations.DirectionInbound {
			t.Errorf("%s's history after a collaborator's requests = %+v, want only the customer's message", id, hist)
		}
	}
	if after := w.do(t, "GET", "/api/v1/conversations", coraT, nil).body; after != before {
		t.Errorf("conversations changed by a collaborator's requests:\nbefore %s\nafter  %s", before, after)
	}

	// The same checks see a send when one happens: Ana answers hers.
	if r := w.do(t, "POST", "/api/v1/conversations/"+anas+"/messages", w.anaT, text); r.status != http.StatusAccepted {
		t.Fatalf("ana's reply: %d %s", r.status, r.body)
	}
	if n := outboundQueued(t, w); n != 1 {
		t.Errorf("%d sends queued after ana's reply, want 1", n)
	}
	if hist := w.history(t, anas); len(hist) != 2 {
		t.Errorf("ana's conversation has %d messages after her reply, want 2", len(hist))
	}
}

// A supervisor sees every conversation, assigns any of them to anyone
// (a pool one, a colleague's, to someone outside the type), closes one
// they do not hold, and edits contacts.
func TestSupervisorAssignsClosesAndEditsContacts(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	now := w.clock.Now()
	pool := w.query(t, "5511911110001", now, "sales", routing.StatePending, "")
	anas := w.query(t, "5511911110002", now, "sales", routing.StateAssigned, w.ana.ID)
	brunos := w.query(t, "5511911110003", now, "claims", routing.StateAssigned, w.bruno.ID)

	listed := w.listIDs(t, w.supT)
	for _, id := range []string{pool, anas, brunos} {
		if !slices.Contains(listed, id) {
			t.Errorf("supervisor's list %v lacks %s", listed, id)
		}
	}
	r := w.do(t, "POST", "/api/v1/conversations/"+pool+"/transfer", w.supT, map[string]string{"to": w.bruno.ID})
	if r.status != http.StatusOK || !strings.Contains(r.body, `"assignee":"`+w.bruno.ID+`"`) {
		t.Errorf("supervisor assigning a pool conversation: %d %s", r.status, r.body)
	}
	// Carla does not serve sales: a supervisor may still give her Ana's.
	r = w.do(t, "POST", "/api/v1/conversations/"+anas+"/transfer", w.supT, map[string]string{"to": w.carla.ID})
	if r.status != http.StatusOK || !strings.Contains(r.body, `"assignee":"`+w.carla.ID+`"`) {
		t.Errorf("supervisor reassigning ana's conversation to carla: %d %s", r.status, r.body)
	}
	if ids := w.listIDs(t, w.carlaT); !slices.Contains(ids, anas) {
		t.Errorf("carla's list %v lacks the conversation assigned to her", ids)
	}
	r = w.do(t, "POST", "/api/v1/conversations/"+brunos+"/close", w.supT, map[string]string{"reason": "solved"})
	if r.status != http.StatusOK || !strings.Contains(r.body, `"state":"closed"`) {
		t.Errorf("supervisor closing bruno's conversation: %d %s", r.status, r.body)
	}
	q, err := w.conv.Service.Query(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	r = w.do(t, "PUT", "/api/v1/contacts/"+q.ContactID, w.supT, map[string]string{"display_name": "Dona Maria", "notes": "prefers mornings"})
	if r.status != http.StatusOK || !strings.Contains(r.body, `"display_name":"Dona Maria"`) {
		t.Errorf("supervisor editing a contact: %d %s", r.status, r.body)
	}
	r = w.do(t, "GET", "/api/v1/conversations/"+pool, w.supT, nil)
	if !strings.Contains(r.body, `"contact_name":"Dona Maria"`) {
		t.Errorf("the conversation does not show the edited name: %s", r.body)
	}
}

// Nobody hands a conversation to a collaborator: the customer would wait
// on someone who can never reply. A transfer to one, or a derivation
// naming one, is refused and moves nothing; a derivation over a group
// passes its collaborators over and spreads the load on the rest.
func TestNobodyHandsConversationsToACollaborator(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	cora := w.createUser(t, "Cora", "+5511900000005", auth.RoleCollaborator)
	admin := w.createUser(t, "Admin", "+5511900000009", auth.RoleAdmin)
	adminT := w.loginAs(t, admin.Phone)
	w.conv.ApplySettings(t, fmt.Sprintf(`
default_query_type: sales
query_types:
  - {id: sales, strategy: claim, accounts: [%[1]s, %[2]s]}
resolution_reasons:
  - {id: solved, name: Solved}
`, w.ana.ID, w.bruno.ID))
	w.createGroup(t, "helpers", w.bruno.ID, cora.ID)
	now := w.clock.Now()
	first := w.query(t, "5511911110001", now, "sales", routing.StateAssigned, w.ana.ID)
	second := w.query(t, "5511911110002", now, "sales", routing.StateAssigned, w.ana.ID)

	r := w.do(t, "POST", "/api/v1/conversations/"+first+"/transfer", w.supT, map[string]string{"to": cora.ID})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `"code":"invalid_target"`) || !strings.Contains(r.body, string(auth.PermReply)) {
		t.Errorf("supervisor handing a conversation to a collaborator: %d %s, want 422 invalid_target", r.status, r.body)
	}
	r = w.do(t, "POST", "/api/v1/derivations", adminT, map[string]string{"from": w.ana.ID, "to": cora.ID})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `"code":"invalid_target"`) {
		t.Errorf("deriving to a collaborator: %d %s, want 422 invalid_target", r.status, r.body)
	}
	if ids, _ := w.conv.DB.Conversations().AssignedTo(ctx, w.ana.ID); len(ids) != 2 {
		t.Fatalf("ana holds %v after the refusals, want both of hers", ids)
	}
	r = w.do(t, "POST", "/api/v1/derivations", adminT, map[string]string{"from": w.ana.ID, "group": "helpers"})
	if r.status != http.StatusOK || r.body != `{"moved":2}`+"\n" {
		t.Fatalf("deriving over a team with a collaborator: %d %s", r.status, r.body)
	}
	for _, id := range []string{first, second} {
		q, err := w.conv.Service.Query(ctx, id)
		if err != nil || q.Assignee != w.bruno.ID {
			t.Errorf("%s went to %q (%v), want bruno, the team's one operator", id, q.Assignee, err)
		}
	}
	// With no one left who may answer, nothing moves.
	r = w.do(t, "POST", "/api/v1/derivations", adminT, map[string]string{"from": w.bruno.ID, "group": "helpers"})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `"code":"invalid_target"`) {
		t.Errorf("deriving bruno's over a team of only a collaborator: %d %s, want 422", r.status, r.body)
	}
}
