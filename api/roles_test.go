package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"switchboard/auth"
)

// A coordinator who may manage roles still cannot rewrite or delete a
// role that holds a permission they lack: everyone holding it would lose
// (or keep) powers the coordinator cannot judge.
func TestRoleManagerCannotTouchAStrongerRole(t *testing.T) {
	h := newHarness(t, nil)
	h.createUser(t, "Admin", "+5511900000001", auth.RoleAdmin)
	h.createUser(t, "Coord", "+5511900000002", auth.RoleCoordinator, string(auth.PermRoles), string(auth.PermUsers))
	admin := h.loginAs(t, "+5511900000001")
	coord := h.loginAs(t, "+5511900000002")
	if r := h.do(t, "PUT", "/api/v1/roles/auditor", admin, map[string]any{"permissions": []string{"audit.view", "conversations.reply"}}); r.status != http.StatusOK {
		t.Fatalf("admin defining auditor: %d %s", r.status, r.body)
	}
	if r := h.do(t, "PUT", "/api/v1/roles/auditor", coord, map[string]any{"permissions": []string{"conversations.reply"}}); r.status != http.StatusForbidden {
		t.Errorf("coordinator rewriting a role with audit.view: %d %s, want 403", r.status, r.body)
	}
	if r := h.do(t, "DELETE", "/api/v1/roles/auditor", coord, nil); r.status != http.StatusForbidden {
		t.Errorf("coordinator deleting a role with audit.view: %d %s, want 403", r.status, r.body)
	}
	r := h.do(t, "GET", "/api/v1/roles", admin, nil)
	if !strings.Contains(r.body, `{"name":"auditor","permissions":["audit.view","conversations.reply"]`) {
		t.Errorf("auditor changed by a refused request: %s", r.body)
	}
	// Within their own permissions, they manage roles as before.
	if r := h.do(t, "PUT", "/api/v1/roles/helpers", coord, map[string]any{"permissions": []string{"conversations.reply"}}); r.status != http.StatusOK {
		t.Errorf("coordinator defining a role within their permissions: %d %s", r.status, r.body)
	}
	if r := h.do(t, "DELETE", "/api/v1/roles/helpers", coord, nil); r.status != http.StatusNoContent {
		t.Errorf("coordinator deleting a role within their permissions: %d %s", r.status, r.body)
	}
}

// The check and the write of a role change are one: if an admin gives the
// role a permission the coordinator lacks between the coordinator's read
// and write, the coordinator's change is refused, not written over it.
func TestRoleChangeRacingAnAdminIsRefused(t *testing.T) {
	h := newHarness(t, nil)
	h.createUser(t, "Coord", "+5511900000002", auth.RoleCoordinator, string(auth.PermRoles), string(auth.PermUsers))
	coord := h.loginAs(t, "+5511900000002")
	// The admin's side, straight on the database.
	roles := auth.NewRoles(h.db.Roles())
	ctx := context.Background()
	if err := roles.Put(ctx, auth.Role{Name: "helpers", Permissions: []auth.Permission{auth.PermReply}}); err != nil {
		t.Fatal(err)
	}
	// Right after the coordinator's request first reads the role, the
	// admin's change.
	h.roleFaults.onNextGet(func() {
		if err := roles.Put(ctx, auth.Role{Name: "helpers", Permissions: []auth.Permission{auth.PermReply, auth.PermAudit}}); err != nil {
			t.Error(err)
		}
	})
	r := h.do(t, "PUT", "/api/v1/roles/helpers", coord, map[string]any{"permissions": []string{"conversations.reply", "conversations.close"}})
	if r.status != http.StatusConflict {
		t.Errorf("coordinator's change over an admin's concurrent one: %d %s, want 409", r.status, r.body)
	}
	got, err := roles.Get(ctx, "helpers")
	if err != nil || !slices.Contains(got.Permissions, auth.PermAudit) {
		t.Errorf("helpers = %+v, %v; the admin's audit.view was overwritten", got, err)
	}
}
