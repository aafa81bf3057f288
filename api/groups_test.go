package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/accounts"
	"switchboard/api"
	"switchboard/auth"
	"switchboard/internal/dbtest"
	"switchboard/internal/redistest"
)

// groupBody is a group as the API answers it.
type groupBody struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Members   []string  `json:"members"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// apiError is an error as the API answers it.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// wantError checks an answer's status and error code, and that its
// message says what.
func wantError(t *testing.T, what string, r response, status int, code, says string) {
	t.Helper()
	var e apiError
	r.decode(t, &e)
	if r.status != status || e.Error.Code != code || !strings.Contains(e.Error.Message, says) {
		t.Errorf("%s: %d %s; want %d %s saying %q", what, r.status, r.body, status, code, says)
	}
}

// groupsHarness is a harness whose API counts its staffChanged calls.
func groupsHarness(t *testing.T, hook func(context.Context) error) *harness {
	t.Helper()
	return newHarnessOn(t, &harness{rdb: redistest.Client(t), apiOptions: func(o *api.Options) { o.StaffChanged = hook }}, nil)
}

// Every group route, as a coordinator (who holds groups.manage) uses it:
// what each answers, what the accounts then show, what the audit log
// keeps, and that routing's re-check runs after each write and only then.
func TestGroupsAPI(t *testing.T) {
	var rechecks atomic.Int32
	h := groupsHarness(t, func(context.Context) error { rechecks.Add(1); return nil })
	h.createUser(t, "Admin", "+5511900000001", auth.RoleAdmin)
	coordUser := h.createUser(t, "Coord", "+5511900000002", auth.RoleCoordinator)
	ana := h.createUser(t, "Ana", "+5511900000003", auth.RoleOperator)
	bruno := h.createUser(t, "Bruno", "+5511900000004", auth.RoleOperator)
	admin := h.loginAs(t, "+5511900000001")
	coord := h.loginAs(t, "+5511900000002")
	wantRechecks := func(what string, n int32) {
		t.Helper()
		if got := rechecks.Load(); got != n {
			t.Fatalf("after %s: routing re-checked %d times, want %d", what, got, n)
		}
	}
	groupsOf := func(u *accounts.User) []string {
		t.Helper()
		var got accounts.User
		r := h.do(t, "GET", "/api/v1/users/"+u.ID, admin, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET user %s: %d %s", u.ID, r.status, r.body)
		}
		r.decode(t, &got)
		return got.Groups
	}

	// Create.
	r := h.do(t, "POST", "/api/v1/groups", coord, map[string]any{"name": "  Payments  ", "members": []string{bruno.ID, ana.ID}})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var pay groupBody
	r.decode(t, &pay)
	if !strings.HasPrefix(pay.ID, "g_") || pay.Name != "Payments" || !slices.Equal(pay.Members, sortedIDs(ana.ID, bruno.ID)) ||
		!pay.CreatedAt.Equal(h.clock.Now()) {
		t.Fatalf("created %s", r.body)
	}
	wantRechecks("create", 1)
	if g := groupsOf(ana); !slices.Equal(g, []string{pay.ID}) {
		t.Fatalf("Ana's groups after the create: %v", g)
	}
	r = h.do(t, "POST", "/api/v1/groups", coord, map[string]any{"name": "Claims"})
	if r.status != http.StatusCreated || !strings.Contains(r.body, `"members":[]`) {
		t.Fatalf("create without members: %d %s, want members []", r.status, r.body)
	}
	var claims groupBody
	r.decode(t, &claims)
	wantRechecks("create", 2)

	// Refused creates: taken name, unknown member, no name. Nothing is
	// stored or re-checked.
	wantError(t, "create with a taken name",
		h.do(t, "POST", "/api/v1/groups", coord, map[string]any{"name": "Payments"}), http.StatusConflict, "group_name_taken", "already has that name")
	ghost := "u_00000000000000ff"
	wantError(t, "create with an unknown member",
		h.do(t, "POST", "/api/v1/groups", coord, map[string]any{"name": "Ghosts", "members": []string{ana.ID, ghost}}),
		http.StatusUnprocessableEntity, "invalid_group", ghost)
	wantError(t, "create with a malformed member",
		h.do(t, "POST", "/api/v1/groups", coord, map[string]any{"name": "Ghosts", "members": []string{"ana"}}),
		http.StatusUnprocessableEntity, "invalid_group", `"ana"`)
	wantError(t, "create without a name",
		h.do(t, "POST", "/api/v1/groups", coord, map[string]any{"members": []string{ana.ID}}), http.StatusUnprocessableEntity, "invalid_group", "name")
	wantError(t, "create with a long name",
		h.do(t, "POST", "/api/v1/groups", coord, map[string]any{"name": strings.Repeat("é", 101)}), http.StatusUnprocessableEntity, "invalid_group", "100")
	wantError(t, "create with a body that is not JSON", h.do(t, "POST", "/api/v1/groups", coord, "not an object"), http.StatusBadRequest, "bad_request", "name")
	wantRechecks("refused creates", 2)

	// List and get.
	r = h.do(t, "GET", "/api/v1/groups", coord, nil)
	var list struct{ Groups []groupBody }
	r.decode(t, &list)
	if r.status != http.StatusOK || len(list.Groups) != 2 || list.Groups[0].Name != "Claims" || list.Groups[1].ID != pay.ID ||
		!slices.Equal(list.Groups[1].Members, pay.Members) {
		t.Fatalf("list: %d %s; want Claims and Payments, by name, no Ghosts", r.status, r.body)
	}
	r = h.do(t, "GET", "/api/v1/groups/"+pay.ID, coord, nil)
	var got groupBody
	r.decode(t, &got)
	if r.status != http.StatusOK || got.Name != "Payments" || !slices.Equal(got.Members, pay.Members) {
		t.Fatalf("get: %d %s", r.status, r.body)
	}

	// Rename: the members stay.
	h.clock.Advance(time.Minute)
	r = h.do(t, "PATCH", "/api/v1/groups/"+pay.ID, coord, map[string]any{"name": "Payments BR"})
	r.decode(t, &got)
	if r.status != http.StatusOK || got.Name != "Payments BR" || !slices.Equal(got.Members, pay.Members) ||
		!got.UpdatedAt.Equal(h.clock.Now()) || !got.CreatedAt.Equal(pay.CreatedAt) {
		t.Fatalf("rename: %d %s", r.status, r.body)
	}
	wantRechecks("rename", 3)
	wantError(t, "rename to a taken name",
		h.do(t, "PATCH", "/api/v1/groups/"+claims.ID, coord, map[string]any{"name": "Payments BR"}), http.StatusConflict, "group_name_taken", "name")
	wantError(t, "an empty change", h.do(t, "PATCH", "/api/v1/groups/"+pay.ID, coord, map[string]any{}),
		http.StatusUnprocessableEntity, "invalid_group", "name")

	// Set members: Bruno leaves; an unknown member changes nothing.
	r = h.do(t, "PATCH", "/api/v1/groups/"+pay.ID, coord, map[string]any{"members": []string{ana.ID}})
	r.decode(t, &got)
	if r.status != http.StatusOK || got.Name != "Payments BR" || !slices.Equal(got.Members, []string{ana.ID}) {
		t.Fatalf("set members: %d %s", r.status, r.body)
	}
	wantRechecks("set members", 4)
	if g := groupsOf(bruno); len(g) != 0 {
		t.Fatalf("Bruno left the group but is still in %v", g)
	}
	wantError(t, "set members with an unknown account",
		h.do(t, "PATCH", "/api/v1/groups/"+pay.ID, coord, map[string]any{"name": "Renamed too", "members": []string{bruno.ID, ghost}}),
		http.StatusUnprocessableEntity, "invalid_group", ghost)
	if r := h.do(t, "GET", "/api/v1/groups/"+pay.ID, coord, nil); !strings.Contains(r.body, `"name":"Payments BR","members":["`+ana.ID+`"]`) {
		t.Fatalf("a refused change changed the group: %s", r.body)
	}
	wantRechecks("refused changes", 4)
	// Both at once.
	r = h.do(t, "PATCH", "/api/v1/groups/"+claims.ID, coord, map[string]any{"name": "Claims BR", "members": []string{bruno.ID, ana.ID}})
	r.decode(t, &got)
	if r.status != http.StatusOK || got.Name != "Claims BR" || !slices.Equal(got.Members, sortedIDs(ana.ID, bruno.ID)) {
		t.Fatalf("rename and set members: %d %s", r.status, r.body)
	}
	wantRechecks("rename and set members", 5)

	// Delete: the group goes, its members' accounts stay without it.
	if r := h.do(t, "DELETE", "/api/v1/groups/"+pay.ID, coord, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	wantRechecks("delete", 6)
	if g := groupsOf(ana); !slices.Equal(g, []string{claims.ID}) {
		t.Fatalf("Ana's groups after the delete: %v, want only %s", g, claims.ID)
	}
	for _, tc := range []struct{ method, path string }{
		{"GET", "/api/v1/groups/" + pay.ID},
		{"PATCH", "/api/v1/groups/" + pay.ID},
		{"DELETE", "/api/v1/groups/" + pay.ID},
		{"GET", "/api/v1/groups/Not%20an%20id"},
		{"DELETE", "/api/v1/groups/g_nope%3Akey"},
	} {
		wantError(t, tc.method+" "+tc.path, h.do(t, tc.method, tc.path, coord, map[string]any{"name": "X"}), http.StatusNotFound, "not_found", "no such group")
	}
	wantRechecks("writes to a missing group", 6)

	// Every change is in the audit log, by the coordinator, newest first.
	r = h.do(t, "GET", "/api/v1/audit", admin, nil)
	var audit struct{ Entries []auth.Entry }
	r.decode(t, &audit)
	var trail []string
	for _, e := range audit.Entries {
		if strings.HasPrefix(e.Action, "group.") {
			if e.Actor != coordUser.ID {
				t.Errorf("audit entry %+v: actor %q, want the coordinator %s", e, e.Actor, coordUser.ID)
			}
			trail = append(trail, e.Action+" "+e.Target)
		}
	}
	want := []string{"group.delete " + pay.ID, "group.set_members " + claims.ID, "group.rename " + claims.ID,
		"group.set_members " + pay.ID, "group.rename " + pay.ID, "group.create " + claims.ID, "group.create " + pay.ID}
	if !slices.Equal(trail, want) {
		t.Fatalf("audit trail:\n%s\nwant:\n%s", strings.Join(trail, "\n"), strings.Join(want, "\n"))
	}
}

// An operator (no groups.manage) is refused every group route, and the
// refusal changes nothing.
func TestGroupsNeedGroupsManage(t *testing.T) {
	var rechecks atomic.Int32
	h := groupsHarness(t, func(context.Context) error { rechecks.Add(1); return nil })
	h.createUser(t, "Op", "+5511900000005", auth.RoleOperator)
	// users.manage is not enough either.
	h.createUser(t, "Users only", "+5511900000006", auth.RoleOperator, string(auth.PermUsers))
	g, err := h.groups.Create(context.Background(), "Payments", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, phone := range []string{"+5511900000005", "+5511900000006"} {
		token := h.loginAs(t, phone)
		for _, tc := range []struct{ method, path string }{
			{"GET", "/api/v1/groups"},
			{"POST", "/api/v1/groups"},
			{"GET", "/api/v1/groups/" + g.ID},
			{"PATCH", "/api/v1/groups/" + g.ID},
			{"DELETE", "/api/v1/groups/" + g.ID},
		} {
			wantError(t, phone+" "+tc.method+" "+tc.path, h.do(t, tc.method, tc.path, token, map[string]any{"name": "Mine"}),
				http.StatusForbidden, "forbidden", "groups.manage")
		}
	}
	all, err := h.groups.List(context.Background())
	if err != nil || len(all) != 1 || all[0].Name != "Payments" {
		t.Fatalf("groups after refused requests: %+v, %v", all, err)
	}
	if n := rechecks.Load(); n != 0 {
		t.Fatalf("refused requests re-checked routing %d times", n)
	}
}

// A user created or changed with a group that does not exist is a 422
// naming the group; with one that exists, they are its member.
func TestUserWithUnknownGroup(t *testing.T) {
	h := newHarness(t, nil)
	h.createUser(t, "Admin", "+5511900000001", auth.RoleAdmin)
	admin := h.loginAs(t, "+5511900000001")
	ghost := "g_00000000000000aa"
	wantError(t, "create a user in an unknown group",
		h.do(t, "POST", "/api/v1/users", admin, map[string]any{"name": "Ana", "phone": "+5511900000003", "groups": []string{ghost}}),
		http.StatusUnprocessableEntity, "invalid_user", ghost)
	if users, _ := h.users.List(context.Background()); len(users) != 1 {
		t.Fatalf("a refused create left %d users", len(users))
	}
	g, err := h.groups.Create(context.Background(), "Payments", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := h.do(t, "POST", "/api/v1/users", admin, map[string]any{"name": "Ana", "phone": "+5511900000003", "groups": []string{g.ID}})
	var ana accounts.User
	r.decode(t, &ana)
	if r.status != http.StatusCreated || !slices.Equal(ana.Groups, []string{g.ID}) {
		t.Fatalf("create a user in a group: %d %s", r.status, r.body)
	}
	wantError(t, "move a user to an unknown group",
		h.do(t, "PATCH", "/api/v1/users/"+ana.ID, admin, map[string]any{"groups": []string{g.ID, ghost}}),
		http.StatusUnprocessableEntity, "invalid_user", ghost)
	if got, _ := h.groups.Get(context.Background(), g.ID); !slices.Equal(got.Members, []string{ana.ID}) {
		t.Fatalf("a refused change moved Ana: Payments has %v", got.Members)
	}
}

// faultyGroups fails every group write as a dropped database connection.
type faultyGroups struct{ accounts.GroupRepository }

func (faultyGroups) Insert(context.Context, *accounts.Group) error { return errDBConnReset }
func (faultyGroups) Update(context.Context, string, accounts.GroupChange, time.Time) (*accounts.Group, error) {
	return nil, errDBConnReset
}
func (faultyGroups) Delete(context.Context, string) error { return errDBConnReset }

// A group write the database cannot take answers 503 (retry), is not
// audited and does not re-check routing.
func TestGroupWritesWhenTheDatabaseFails(t *testing.T) {
	var rechecks atomic.Int32
	db := dbtest.Open(t)
	h := newHarnessOn(t, &harness{rdb: redistest.Client(t), db: db, apiOptions: func(o *api.Options) {
		o.StaffChanged = func(context.Context) error { rechecks.Add(1); return nil }
		o.Groups = accounts.NewGroups(faultyGroups{db.Groups()}, o.Clock)
	}}, nil)
	h.createUser(t, "Admin", "+5511900000001", auth.RoleAdmin)
	admin := h.loginAs(t, "+5511900000001")
	g, err := h.groups.Create(context.Background(), "Payments", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path string }{
		{"POST", "/api/v1/groups"},
		{"PATCH", "/api/v1/groups/" + g.ID},
		{"DELETE", "/api/v1/groups/" + g.ID},
	} {
		wantError(t, tc.method+" "+tc.path, h.do(t, tc.method, tc.path, admin, map[string]any{"name": "Claims"}),
			http.StatusServiceUnavailable, "unavailable", "try again")
	}
	if n := rechecks.Load(); n != 0 {
		t.Fatalf("failed writes re-checked routing %d times", n)
	}
	if r := h.do(t, "GET", "/api/v1/audit", admin, nil); strings.Contains(r.body, `"group.`) {
		t.Fatalf("failed writes audited: %s", r.body)
	}
	if r := h.do(t, "GET", "/api/v1/groups/"+g.ID, admin, nil); r.status != http.StatusOK || !strings.Contains(r.body, `"name":"Payments"`) {
		t.Fatalf("reads still served: %d %s", r.status, r.body)
	}
}

func sortedIDs(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// A coordinator may choose the id the settings name a group by; a second
// group with that id is refused and the first is left as it was.
func TestGroupWithAChosenID(t *testing.T) {
	h := groupsHarness(t, nil)
	h.createUser(t, "Coord", "+5511900000002", auth.RoleCoordinator)
	admin := h.loginAs(t, "+5511900000002")
	r := h.do(t, "POST", "/api/v1/groups", admin, map[string]any{"id": "billing", "name": "Billing"})
	if r.status != http.StatusCreated || !strings.Contains(r.body, `"id":"billing"`) {
		t.Fatalf("create with an id: %d %s", r.status, r.body)
	}
	r = h.do(t, "POST", "/api/v1/groups", admin, map[string]any{"id": "billing", "name": "Other"})
	if r.status != http.StatusConflict || !strings.Contains(r.body, `"code":"group_id_taken"`) {
		t.Fatalf("second group with the id: %d %s, want 409 group_id_taken", r.status, r.body)
	}
	r = h.do(t, "POST", "/api/v1/groups", admin, map[string]any{"id": "Billing!", "name": "Bad"})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `"code":"invalid_group"`) {
		t.Fatalf("malformed id: %d %s, want 422", r.status, r.body)
	}
	r = h.do(t, "GET", "/api/v1/groups/billing", admin, nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, `"name":"Billing"`) {
		t.Fatalf("the first group: %d %s", r.status, r.body)
	}
}
