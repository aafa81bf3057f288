package api_test

import (
	"context"
	"net/http"
	"testing"

	"switchboard/auth"
)

// rosterDoc names no one: the accounts say who serves what.
const rosterDoc = `
default_query_type: payments
query_types:
  - {id: payments, keywords: [pago], strategy: round_robin}
  - {id: refunds, keywords: [reembolso], strategy: least_loaded}
`

// An operator created through the API with query types and a capacity is
// assigned their types' queries, by round robin and by least loaded, up to
// capacity, with no settings edit.
func TestAnOperatorCreatedByTheAPIIsAssignedTheirTypes(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	admin := w.createUser(t, "Admin", "+5511900000009", auth.RoleAdmin)
	adminT := w.loginAs(t, admin.Phone)
	w.applyDoc(t, rosterDoc)
	create := func(name, phone string, types []string, capacity int) string {
		var u struct {
			ID string `json:"id"`
		}
		r := w.do(t, "POST", "/api/v1/users", adminT, map[string]any{"name": name, "phone": phone, "role": "operator",
			"query_types": types, "capacity": capacity})
		if r.status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", name, r.status, r.body)
		}
		r.decode(t, &u)
		tok := w.loginAs(t, phone)
		w.ok(t, "PUT", "/api/v1/me/presence", tok, map[string]string{"presence": "online"})
		return u.ID
	}
	dani := create("Dani", "+5511900000010", []string{"payments", "refunds"}, 2)
	assignee := func(id string) string {
		q, err := w.conv.Service.Query(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return q.Assignee
	}
	p1 := w.deliver(t, "wamid.r1", "5511977771001", "pago")
	p2 := w.deliver(t, "wamid.r2", "5511977771002", "pago")
	p3 := w.deliver(t, "wamid.r3", "5511977771003", "pago")
	if a1, a2, a3 := assignee(p1), assignee(p2), assignee(p3); a1 != dani || a2 != dani || a3 != "" {
		t.Fatalf("payments went to %q, %q, %q; want Dani twice (capacity 2), then the pool", a1, a2, a3)
	}

	// A second operator for refunds only: least loaded gives her the
	// refund, as Dani is full; payments are not hers.
	eli := create("Eli", "+5511900000011", []string{"refunds"}, 1)
	if err := w.conv.Service.Dispatch(ctx, eli); err != nil { // as the dispatch task does
		t.Fatal(err)
	}
	if a := assignee(p3); a != "" {
		t.Fatalf("the waiting payment went to %q, who does not serve payments", a)
	}
	r1 := w.deliver(t, "wamid.r4", "5511977771004", "reembolso")
	if a := assignee(r1); a != eli {
		t.Fatalf("the refund went to %q, want Eli (Dani is at capacity)", a)
	}
	r2 := w.deliver(t, "wamid.r5", "5511977771005", "reembolso")
	if a := assignee(r2); a != "" {
		t.Fatalf("a second refund went to %q, want the pool: both are at capacity", a)
	}

	// Dani's capacity raised through the API: the waiting payment is hers
	// when she is dispatched, no settings edit.
	w.ok(t, "PATCH", "/api/v1/users/"+dani, adminT, map[string]any{"capacity": 3})
	if err := w.conv.Service.Dispatch(ctx, dani); err != nil {
		t.Fatal(err)
	}
	if a := assignee(p3); a != dani {
		t.Fatalf("after Dani's capacity went to 3 the waiting payment is with %q", a)
	}
}
