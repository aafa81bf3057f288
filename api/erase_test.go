package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/auth"
	"switchboard/channels"
	"switchboard/routing"
)

// An admin erases a customer at their request: the contact, every
// conversation and message of theirs go, the answer counts them, the
// audit log says who did it, and nobody else's data is touched. Without
// contacts.erase (every role but admin) nothing is erased.
func TestContactErasure(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	admin := w.createUser(t, "Admin", "+5511900000009", auth.RoleAdmin)
	adminT := w.loginAs(t, admin.Phone)
	coord := w.createUser(t, "Coord", "+5511900000008", auth.RoleCoordinator)
	coordT := w.loginAs(t, coord.Phone)

	// The customer: a closed conversation and an open one with a reply.
	closed := w.query(t, "5511911110001", w.clock.Now(), "sales", routing.StateClosed, "")
	cid, _, _ := strings.Cut(closed, "-")
	open := w.inbound(t, &channels.Inbound{Channel: "wa-main", Kind: "whatsapp_cloud", ID: "wamid.again", From: "5511911110001",
		ProfileName: "Cliente", Timestamp: w.clock.Now(), Type: channels.TypeText, Text: "voltei"}).QueryID
	w.decide(t, routing.Query{ID: open, Channel: "wa-main", State: routing.StateAssigned, Type: "sales", Assignee: w.ana.ID, Cycle: 2})
	if r := w.do(t, "POST", "/api/v1/conversations/"+open+"/messages", w.anaT, map[string]string{"text": "Olá de novo"}); r.status != http.StatusAccepted {
		t.Fatalf("reply: %d %s", r.status, r.body)
	}
	// Someone else.
	other := w.query(t, "5511911110002", w.clock.Now(), "sales", routing.StatePending, "")

	for _, tok := range []string{w.anaT, w.supT, coordT} {
		r := w.do(t, "POST", "/api/v1/contacts/"+cid+"/erase", tok, nil)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "contacts.erase") {
			t.Errorf("erase without contacts.erase: %d %s, want 403", r.status, r.body)
		}
	}
	if r := w.do(t, "GET", "/api/v1/conversations/"+open, w.supT, nil); r.status != http.StatusOK {
		t.Fatalf("after refused erasures the conversation is %d %s", r.status, r.body)
	}

	r := w.do(t, "POST", "/api/v1/contacts/"+cid+"/erase", adminT, nil)
	if r.status != http.StatusOK || r.body != `{"conversations":2,"messages":3}`+"\n" {
		t.Fatalf("erase: %d %s, want 200 with 2 conversations and 3 messages", r.status, r.body)
	}
	for _, path := range []string{"/api/v1/conversations/" + closed, "/api/v1/conversations/" + open, "/api/v1/conversations/" + open + "/messages"} {
		if r := w.do(t, "GET", path, adminT, nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s after the erasure: %d %s, want 404", path, r.status, r.body)
		}
	}
	if r := w.do(t, "GET", "/api/v1/conversations?q=5511911110001", adminT, nil); r.status != http.StatusOK || strings.Contains(r.body, cid) {
		t.Errorf("search by the erased phone: %d %s", r.status, r.body)
	}
	if r := w.do(t, "GET", "/api/v1/conversations?q=cliente", adminT, nil); !strings.Contains(r.body, other) || strings.Contains(r.body, cid) {
		t.Errorf("list after the erasure: %s, want only the other customer", r.body)
	}
	if r := w.do(t, "PUT", "/api/v1/contacts/"+cid, adminT, map[string]string{"display_name": "X"}); r.status != http.StatusNotFound {
		t.Errorf("editing the erased contact: %d, want 404", r.status)
	}
	for _, id := range []string{cid, "0123456789abcdef0123"} {
		r := w.do(t, "POST", "/api/v1/contacts/"+id+"/erase", adminT, nil)
		if r.status != http.StatusNotFound || !strings.Contains(r.body, `"code":"not_found"`) {
			t.Errorf("erasing %s, which is not there: %d %s, want 404", id, r.status, r.body)
		}
	}
	r = w.do(t, "GET", "/api/v1/audit", adminT, nil)
	var audit struct {
		Entries []auth.Entry `json:"entries"`
	}
	r.decode(t, &audit)
	n := 0
	for _, e := range audit.Entries {
		if e.Action == "contact.erase" {
			n++
			if e.Actor != admin.ID || e.Target != cid || e.Outcome != "erased 2 conversations, 3 messages" {
				t.Errorf("audit entry %+v", e)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d contact.erase entries in the audit log, want 1: %s", n, r.body)
	}
	if got := testutil.ToFloat64(w.metrics.ContactErasures); got != 1 {
		t.Errorf("erasures counted = %v, want 1", got)
	}

	// The customer writes again: they start afresh.
	m := &channels.Inbound{Channel: "wa-main", Kind: "whatsapp_cloud", ID: "wamid.after", From: "5511911110001", Timestamp: w.clock.Now(), Type: "text", Text: "oi"}
	body, _ := json.Marshal(m)
	res, err := w.conv.Service.ApplyInbound(ctx, m, body)
	if err != nil || !res.NewQuery {
		t.Fatalf("a message after the erasure: %+v, %v; want a new conversation", res, err)
	}
	if r := w.do(t, "GET", "/api/v1/conversations/"+res.QueryID+"/messages", adminT, nil); r.status != http.StatusOK ||
		strings.Count(r.body, `"id":`) != 1 || strings.Contains(r.body, "voltei") {
		t.Errorf("the new conversation's history: %d %s, want only the new message", r.status, r.body)
	}
}
