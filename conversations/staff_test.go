package conversations_test

import (
	"context"
	"testing"
	"time"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/channels"
	"switchboard/clock"
	"switchboard/routing"
)

// groupsDoc routes payments round robin over the billing group and claims
// over whoever lists the type themselves.
const groupsDoc = `
default_query_type: payments
query_types:
  - {id: payments, keywords: [pago], groups: [billing], strategy: round_robin}
  - {id: claims, keywords: [reclamo], strategy: least_loaded}
`

// The people a coordinator creates are the people routing assigns: a
// group's members get its type's queries, an account its own types'; a
// member who leaves the group, a deleted group or a disabled account
// disappears from routing at once, and their queries go to whoever still
// serves them.
func TestGroupsAndAccountsAreTheRoster(t *testing.T) {
	clk := clock.NewFake(time.Now().Truncate(time.Second))
	e := newEnv(t, clk)
	ctx := context.Background()
	const ana, bruno, carla = "u_00000000000000a1", "u_00000000000000b2", "u_00000000000000c3"
	e.Operators(t, 5, nil, ana, bruno)
	e.Operators(t, 5, []string{"claims"}, carla)
	groups := accounts.NewGroups(e.DB.Groups(), clk)
	if _, err := groups.CreateWithID(ctx, "billing", "Billing", []string{ana, bruno}); err != nil {
		t.Fatal(err)
	}
	e.ApplySettings(t, groupsDoc)
	e.online(t, ana, bruno, carla)

	owner := func(from string) (string, string) {
		st := e.state(t, e.openQuery(t, from))
		return st.Query.Type, st.Query.Assignee
	}
	e.mustDeliver(t, text("wamid.p1", "5511900000701", clk.Now(), 1))
	e.mustDeliver(t, text("wamid.p2", "5511900000702", clk.Now(), 2))
	e.mustDeliver(t, text("wamid.c1", "5511900000703", clk.Now(), 3))
	e.mustDeliver(t, textSaying("wamid.c2", "5511900000704", "reclamo", clk.Now(), 4))
	got := map[string]bool{}
	for _, from := range []string{"5511900000701", "5511900000702"} {
		typ, who := owner(from)
		if typ != "payments" || (who != ana && who != bruno) {
			t.Fatalf("%s: %s to %q, want payments to a billing member", from, typ, who)
		}
		got[who] = true
	}
	if !got[ana] || !got[bruno] {
		t.Fatalf("round robin over billing gave %v, want both members", got)
	}
	if typ, who := owner("5511900000704"); typ != "claims" || who != carla {
		t.Fatalf("claim: %s to %q, want claims to carla, who lists it herself", typ, who)
	}

	// Ana leaves billing: her payments query goes to bruno, who still
	// serves it; nothing else moves.
	var anas string
	for _, from := range []string{"5511900000701", "5511900000702", "5511900000703"} {
		if _, who := owner(from); who == ana {
			anas = e.openQuery(t, from)
		}
	}
	if _, err := groups.SetMembers(ctx, "billing", []string{bruno}); err != nil {
		t.Fatal(err)
	}
	released, err := e.Service.ReleaseUnserved(ctx)
	if err != nil || len(released) == 0 || released[0].From != ana {
		t.Fatalf("released %+v, %v; want ana's payments", released, err)
	}
	if st := e.state(t, anas); st.Query.Assignee != bruno || st.Query.State != routing.StateAssigned {
		t.Fatalf("ana's payments query after she left billing: %+v, want bruno's", st.Query)
	}
	for _, r := range released {
		if r.From != ana {
			t.Fatalf("released %+v: only ana's queries should move", released)
		}
	}
	if again, err := e.Service.ReleaseUnserved(ctx); err != nil || len(again) != 0 {
		t.Fatalf("a second re-check released %+v, %v", again, err)
	}

	// The group is deleted: nobody serves payments, bruno's go back to the
	// pool; a new payments customer waits there too.
	if err := groups.Delete(ctx, "billing"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service.ReleaseUnserved(ctx); err != nil {
		t.Fatal(err)
	}
	if st := e.state(t, anas); st.Query.Assignee != "" || st.Query.State != routing.StatePending {
		t.Fatalf("after billing was deleted: %+v, want back in the pool", st.Query)
	}
	e.mustDeliver(t, text("wamid.p3", "5511900000705", clk.Now(), 5))
	if typ, who := owner("5511900000705"); typ != "payments" || who != "" {
		t.Fatalf("a new payments customer went to %q (%s), want the pool", who, typ)
	}

	// Carla is disabled: her claim goes back to the pool.
	u, err := e.DB.Accounts().Get(ctx, carla)
	if err != nil {
		t.Fatal(err)
	}
	u.Status = accounts.StatusDisabled
	if err := e.DB.Accounts().Update(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service.ReleaseUnserved(ctx); err != nil {
		t.Fatal(err)
	}
	if _, who := owner("5511900000704"); who != "" {
		t.Fatalf("a disabled account kept claim: %q", who)
	}
}

// textSaying is text with the customer's words.
func textSaying(id, from, words string, ts time.Time, arrival int64) *channels.Inbound {
	m := text(id, from, ts, arrival)
	m.Text = words
	return m
}

// A staff change takes back only what nobody is working on: a query a
// supervisor transferred to someone outside its type stays with them, and
// so does one its operator has answered; the one left unanswered goes to
// whoever still serves the type.
func TestAStaffChangeLeavesTransfersAndConversationsUnderWay(t *testing.T) {
	clk := clock.NewFake(time.Now().Truncate(time.Second))
	e := newEnv(t, clk)
	ctx := context.Background()
	e.ApplySettings(t, "default_query_type: payments\nquery_types:\n  - {id: payments, strategy: round_robin}\n  - {id: claims, strategy: claim}\n")
	e.Operators(t, 5, []string{"payments"}, "ana", "bruno")
	e.Operators(t, 5, []string{"claims"}, "carla")
	e.online(t, "ana")
	var qs []string
	for i, from := range []string{"5511900000801", "5511900000802", "5511900000803"} {
		e.mustDeliver(t, text("wamid.u"+from, from, clk.Now(), int64(i)))
		qs = append(qs, e.openQuery(t, from))
	}
	for _, q := range qs {
		if a := e.state(t, q).Query.Assignee; a != "ana" {
			t.Fatalf("%s went to %q, want ana, the one online", q, a)
		}
	}
	transferred, answered, waiting := qs[0], qs[1], qs[2]
	if _, err := e.Service.Transfer(ctx, transferred, "carla"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service.Reply(ctx, answered, "ana", "Olá, já vejo"); err != nil {
		t.Fatal(err)
	}
	// Ana stops serving payments; carla never did.
	e.online(t, "bruno")
	u, err := e.DB.Accounts().Get(ctx, "ana")
	if err != nil {
		t.Fatal(err)
	}
	u.QueryTypes = nil
	if err := e.DB.Accounts().Update(ctx, u); err != nil {
		t.Fatal(err)
	}
	released, err := e.Service.ReleaseUnserved(ctx)
	if err != nil || len(released) != 1 || released[0].QueryID != waiting {
		t.Fatalf("released %+v, %v; want only the unanswered %s", released, err, waiting)
	}
	for q, want := range map[string]string{transferred: "carla", answered: "ana", waiting: "bruno"} {
		if a := e.state(t, q).Query.Assignee; a != want {
			t.Errorf("%s is with %q, want %q", q, a, want)
		}
	}
}

// Who gets a new payments customer on wa-main, by who the accounts and
// groups say serves payments, against the real store: one table row per
// rule of the roster.
func TestRosterScenarios(t *testing.T) {
	const u1, u2 = "u_00000000000000d1", "u_00000000000000d2"
	doc := func(extra string) string {
		return "default_query_type: payments\nquery_types:\n  - {id: payments, strategy: round_robin" + extra + "}\n  - {id: claims, strategy: claim}\n"
	}
	for _, tc := range []struct {
		name    string
		doc     string
		account accounts.User // u1, online; u2 serves nothing
		group   []string      // billing's members, when set
		want    string
	}{
		{"serves the type itself", doc(""), accounts.User{QueryTypes: []string{"payments"}}, nil, u1},
		{"member of a group the type names", doc(", groups: [billing]"), accounts.User{}, []string{u1}, u1},
		{"named by the type", doc(", accounts: [" + u1 + "]"), accounts.User{}, nil, u1},
		{"serves another type only", doc(""), accounts.User{QueryTypes: []string{"claims"}}, nil, ""},
		{"in a group the type does not name", doc(""), accounts.User{}, []string{u1}, ""},
		{"disabled", doc(""), accounts.User{QueryTypes: []string{"payments"}, Status: accounts.StatusDisabled}, nil, ""},
		{"a collaborator, in the group", doc(", groups: [billing]"), accounts.User{Role: auth.RoleCollaborator}, []string{u1}, ""},
		{"serves another channel only", doc(""), accounts.User{QueryTypes: []string{"payments"}, Channels: []string{"wa-other"}}, nil, ""},
		{"serves this channel", doc(""), accounts.User{QueryTypes: []string{"payments"}, Channels: []string{"wa-main"}}, nil, u1},
		{"at capacity", doc(""), accounts.User{QueryTypes: []string{"payments"}, Capacity: 1}, nil, "full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(time.Now().Truncate(time.Second))
			e := newEnv(t, clk)
			ctx := context.Background()
			u := tc.account
			u.ID, u.Name, u.Phone, u.CreatedAt, u.UpdatedAt = u1, "Dani", "+5511900000991", clk.Now(), clk.Now()
			if u.Role == "" {
				u.Role = auth.RoleOperator
			}
			if u.Status == "" {
				u.Status = accounts.StatusActive
			}
			if u.Capacity == 0 {
				u.Capacity = 5
			}
			if err := e.DB.Accounts().Insert(ctx, &u); err != nil {
				t.Fatal(err)
			}
			e.Operators(t, 5, nil, u2)
			if _, err := accounts.NewGroups(e.DB.Groups(), clk).CreateWithID(ctx, "billing", "Billing", tc.group); err != nil {
				t.Fatal(err)
			}
			e.ApplySettings(t, tc.doc)
			e.online(t, u1, u2)
			want := tc.want
			if want == "full" {
				e.mustDeliver(t, text("wamid.full", "5511900000990", clk.Now(), 0))
				want = ""
			}
			e.mustDeliver(t, text("wamid.s", "5511900000992", clk.Now(), 1))
			st := e.state(t, e.openQuery(t, "5511900000992"))
			if st.Query.Type != "payments" || st.Query.Assignee != want {
				t.Fatalf("the customer's query: %s to %q, want payments to %q", st.Query.Type, st.Query.Assignee, want)
			}
		})
	}
}
