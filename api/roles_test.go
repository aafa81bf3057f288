package api_test

import (
	"net/http"
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
