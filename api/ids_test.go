package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"switchboard/auth"
)

// Ids in paths become parts of Redis keys: a malformed one must name
// nothing (404), never another key (a 500 and WRONGTYPE in the log).
func TestMalformedIDsNameNothing(t *testing.T) {
	w := newConvWorld(t)
	admin := w.createUser(t, "Admin", "+5511900000009", auth.RoleAdmin)
	adminT := w.loginAs(t, admin.Phone)
	qid := w.query(t, "5511911110001", w.clock.Now(), "sales", "pending", "")
	cid, _, _ := strings.Cut(qid, "-")
	malicious := []string{
		"phone:" + admin.Phone,          // the phone index: a string that is not JSON
		"tokens:" + admin.ID,            // a user's token set: WRONGTYPE
		admin.ID + ":x",                 // a real id with a suffix
		"{sb}:users",                    // another key outright
		cid + ":q:" + qid,               // a contact's query key
		cid + ":contact",                // a key below a contact
		"../" + admin.ID,                // a path trick
		"*",                             // a glob
		strings.ToUpper(admin.ID),       // almost right
		qid + "0x",                      // a query id with junk
		cid + "-0",                      // a query number that is never made
		strings.Repeat("a", 20) + "-1a", // digits expected
		"a b",
	}
	var routes []string
	for _, r := range w.echo.Routes() {
		if strings.HasPrefix(r.Path, "/api/v1/") && strings.Contains(r.Path, ":") && r.Method != "echo_route_not_found" {
			routes = append(routes, r.Method+" "+r.Path)
		}
	}
	if len(routes) < 10 {
		t.Fatalf("only %d routes with ids: %v", len(routes), routes)
	}
	body := map[string]any{"permissions": []string{"conversations.reply"}, "text": "hi", "to": admin.ID, "reason": "solved",
		"template": "payment_reminder", "language": "es", "params": []string{"a", "b"}, "operator": admin.ID, "display_name": "X"}
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		for _, id := range malicious {
			if strings.Contains(path, ":name") && auth.ValidRoleName(id) {
				continue // a well-formed role name, just not a key trick
			}
			p := strings.NewReplacer(":id", url.PathEscape(id), ":name", url.PathEscape(id)).Replace(path)
			r := w.do(t, method, p, adminT, body)
			want := http.StatusNotFound
			if route == "PUT /api/v1/roles/:name" {
				want = http.StatusUnprocessableEntity // a name being chosen, not looked up
			}
			if r.status != want {
				t.Errorf("%s with id %q: %d %s, want %d", route, id, r.status, r.body, want)
			}
		}
	}
	// Ids in bodies too.
	for _, id := range []string{"tokens:" + admin.ID, "phone:" + admin.Phone} {
		if r := w.do(t, "POST", "/api/v1/derivations", adminT, map[string]any{"from": id, "to": admin.ID}); r.status != http.StatusBadRequest {
			t.Errorf("derivation from %q: %d %s, want 400", id, r.status, r.body)
		}
		if r := w.do(t, "POST", "/api/v1/conversations/"+qid+"/transfer", adminT, map[string]any{"to": id}); r.status != http.StatusUnprocessableEntity {
			t.Errorf("transfer to %q: %d %s, want 422", id, r.status, r.body)
		}
		if r := w.do(t, "PUT", "/api/v1/contacts/"+cid+"/portfolio", adminT, map[string]any{"operator": id}); r.status != http.StatusUnprocessableEntity {
			t.Errorf("portfolio to %q: %d %s, want 422", id, r.status, r.body)
		}
	}
	if strings.Contains(w.logs.String(), "WRONGTYPE") || strings.Contains(w.logs.String(), `"msg":"api error"`) {
		t.Errorf("malformed ids reached Redis:\n%s", w.logs.String())
	}
}
