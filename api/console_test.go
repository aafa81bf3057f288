package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"switchboard/api"
	"switchboard/auth"
	"switchboard/routing"
)

// An operator, who may not read the settings, gets from /team what they
// need to work, and nothing of routing's internals.
func TestTeamForAnOperator(t *testing.T) {
	w := newConvWorldWith(t, func(o *api.Options) {
		o.Channels = []api.Channel{{ID: "wa-main", Kind: "whatsapp_cloud"}}
	})
	if r := w.do(t, "GET", "/api/v1/settings", w.anaT, nil); r.status != http.StatusForbidden {
		t.Fatalf("operator GET /settings: %d, want 403", r.status)
	}
	r := w.do(t, "GET", "/api/v1/team", w.anaT, nil)
	if r.status != 200 {
		t.Fatalf("operator GET /team: %d %s", r.status, r.body)
	}
	var team api.Team
	r.decode(t, &team)
	want := api.Team{
		Timezone:          "UTC",
		QueryTypes:        []api.TeamQueryType{{ID: "sales", Name: "sales"}, {ID: "claims", Name: "claims"}},
		ResolutionReasons: []api.TeamReason{{ID: "solved", Name: "Solved"}},
		Tags:              []api.TeamTag{},
		Templates: []api.TeamTemplate{{Name: "payment_reminder", Language: "es", Category: "utility", Params: 2,
			Body: "Hola {{1}}, tu pago de {{2}} vence mañana."}},
		Channels: []api.Channel{{ID: "wa-main", Kind: "whatsapp_cloud"}},
	}
	got, _ := json.Marshal(team)
	exp, _ := json.Marshal(want)
	if string(got) != string(exp) {
		t.Fatalf("/team =\n%s\nwant\n%s", got, exp)
	}
	// Who serves what, and the provider's template names, are not staff's business.
	for _, secret := range []string{w.ana.ID, "payment_reminder_v2", "accounts", "strategy"} {
		if strings.Contains(r.body, secret) {
			t.Errorf("/team shows %q: %s", secret, r.body)
		}
	}
	if r := w.do(t, "GET", "/api/v1/team", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("anonymous GET /team: %d, want 401", r.status)
	}
}

type targetList struct {
	Targets []api.TransferTarget `json:"targets"`
}

func (l targetList) find(id string) *api.TransferTarget {
	for i := range l.Targets {
		if l.Targets[i].ID == id {
			return &l.Targets[i]
		}
	}
	return nil
}

// The transfer targets are whom the transfer route would accept: a
// colleague serving the type, with their presence and load, and not one
// who does not serve it, nor someone who may not answer customers, nor the
// assignee; a supervisor, who may refer to anyone, also sees those who do
// not serve it, marked so.
func TestTransferTargets(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	col := w.createUser(t, "Col", "+5511900000009", auth.RoleCollaborator)
	col.QueryTypes = []string{"sales"}
	if _, err := w.users.Update(ctx, *col); err != nil {
		t.Fatal(err)
	}
	id := w.query(t, "5511911110001", w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)
	w.query(t, "5511911110002", w.clock.Now(), "sales", routing.StateAssigned, w.bruno.ID)
	path := "/api/v1/conversations/" + id + "/transfer-targets"
	if r := w.do(t, "GET", path, w.anaT, nil); r.status != http.StatusForbidden {
		t.Fatalf("transfer targets without conversations.transfer: %d, want 403", r.status)
	}
	w.ana.Grants = []string{string(auth.PermTransfer)}
	if _, err := w.users.Update(ctx, *w.ana); err != nil {
		t.Fatal(err)
	}
	if r := w.do(t, "PUT", "/api/v1/me/presence", w.brunoT, map[string]string{"presence": "online"}); r.status != 200 {
		t.Fatalf("bruno online: %d", r.status)
	}
	// The console's presence switch starts where routing is.
	if r := w.do(t, "GET", "/api/v1/me", w.brunoT, nil); r.status != 200 || !strings.Contains(r.body, `"presence":"online"`) {
		t.Fatalf("bruno's /me after going online: %d %s", r.status, r.body)
	}
	r := w.do(t, "GET", path, w.anaT, nil)
	var mine targetList
	r.decode(t, &mine)
	if r.status != 200 || len(mine.Targets) != 1 {
		t.Fatalf("ana's transfer targets: %d %s, want bruno only", r.status, r.body)
	}
	if b := mine.find(w.bruno.ID); b == nil || *b != (api.TransferTarget{ID: w.bruno.ID, Name: "Bruno", Presence: "online", Load: 1, Capacity: 5, ServesType: true}) {
		t.Fatalf("bruno as a target = %+v", b)
	}
	// What the list offers, the transfer takes; what it leaves out, not.
	if r := w.do(t, "POST", "/api/v1/conversations/"+id+"/transfer", w.anaT, map[string]string{"to": w.carla.ID}); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("transfer to carla, not listed: %d", r.status)
	}

	r = w.do(t, "GET", path, w.supT, nil)
	var sups targetList
	r.decode(t, &sups)
	c := sups.find(w.carla.ID)
	if r.status != 200 || c == nil || c.ServesType || sups.find(w.bruno.ID) == nil || sups.find(w.ana.ID) != nil || sups.find(col.ID) != nil {
		t.Fatalf("the supervisor's transfer targets: %d %s; want bruno and carla (not serving), not ana or the collaborator", r.status, r.body)
	}
	if sups.Targets[0].ID != w.bruno.ID {
		t.Fatalf("the supervisor's targets: %s; want those serving the type first", r.body)
	}
	// A conversation the caller may not see does not exist for them.
	other := w.query(t, "5511911110003", w.clock.Now(), "claims", routing.StateAssigned, w.carla.ID)
	if r := w.do(t, "GET", "/api/v1/conversations/"+other+"/transfer-targets", w.anaT, nil); r.status != http.StatusNotFound {
		t.Fatalf("targets of carla's conversation for ana: %d, want 404", r.status)
	}
}

type settingsAnswer struct {
	Version  int64          `json:"version"`
	YAML     string         `json:"yaml"`
	Document map[string]any `json:"document"`
}

// The coordinator's screens read and write the settings as JSON: GET
// gives the document as an object, PUT takes one back with the version it
// was read at, validated and stored as YAML is; a mistake is 422 naming
// the key.
func TestSettingsAsJSON(t *testing.T) {
	w := newConvWorld(t)
	w.createUser(t, "Coord", "+5511900000008", auth.RoleCoordinator)
	coord := w.loginAs(t, "+5511900000008")
	r := w.do(t, "GET", "/api/v1/settings", coord, nil)
	var got settingsAnswer
	r.decode(t, &got)
	types, _ := got.Document["query_types"].([]any)
	if r.status != 200 || got.YAML == "" || len(types) != 2 || types[0].(map[string]any)["id"] != "sales" {
		t.Fatalf("GET /settings: %d %s", r.status, r.body)
	}
	// An edit as the screen makes it: a reason added, a text that looks
	// like a number kept a string, a duration as YAML writes it.
	doc := got.Document
	doc["resolution_reasons"] = append(doc["resolution_reasons"].([]any), map[string]any{"id": "duplicate", "name": "Duplicate"})
	doc["canned_responses"] = append(doc["canned_responses"].([]any), map[string]any{"shortcut": "/code", "text": "0800"})
	doc["session"] = map[string]any{"window": "12h"}
	r = w.do(t, "PUT", "/api/v1/settings", coord, map[string]any{"version": got.Version, "document": doc})
	var put settingsAnswer
	r.decode(t, &put)
	if r.status != 200 || put.Version <= got.Version || !strings.Contains(put.YAML, "duplicate") {
		t.Fatalf("PUT /settings document: %d %s", r.status, r.body)
	}
	r = w.do(t, "GET", "/api/v1/settings", coord, nil)
	var again settingsAnswer
	r.decode(t, &again)
	a, _ := json.Marshal(again.Document)
	b, _ := json.Marshal(doc)
	if again.Version != put.Version || string(a) != string(b) {
		t.Fatalf("the document read back:\n%s\nwant what was put:\n%s", a, b)
	}
	// The change is in force: staff see the new reason.
	if r := w.do(t, "GET", "/api/v1/team", w.anaT, nil); !strings.Contains(r.body, `"id":"duplicate"`) {
		t.Fatalf("/team after the change: %s", r.body)
	}
	// YAML still works, from the version now in force.
	if r := w.do(t, "PUT", "/api/v1/settings", coord, map[string]any{"version": again.Version, "yaml": again.YAML}); r.status != 200 {
		t.Fatalf("PUT /settings yaml: %d %s", r.status, r.body)
	}

	bad := again.Document
	bad["query_types"].([]any)[0].(map[string]any)["stratgy"] = "claim"
	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		want   string
	}{
		{"a misspelt key", map[string]any{"version": -1, "document": bad}, 422, "query_types[0].stratgy"},
		{"a bad value", map[string]any{"version": -1, "document": map[string]any{"session": map[string]any{"window": "1s"}}}, 422, "session.window"},
		{"an array", map[string]any{"version": -1, "document": []any{1}}, 400, "JSON object"},
		{"yaml and document", map[string]any{"version": -1, "yaml": "timezone: UTC", "document": map[string]any{}}, 400, "not both"},
		{"a stale version", map[string]any{"version": got.Version, "document": doc}, 409, "conflict"},
	} {
		r := w.do(t, "PUT", "/api/v1/settings", coord, tc.body)
		if r.status != tc.status || !strings.Contains(r.body, tc.want) {
			t.Errorf("PUT with %s: %d %s, want %d naming %q", tc.name, r.status, r.body, tc.status, tc.want)
		}
		if tc.status == 422 && strings.Contains(r.body, "(line ") {
			t.Errorf("PUT with %s names lines of YAML the caller never wrote: %s", tc.name, r.body)
		}
	}
	if r := w.do(t, "GET", "/api/v1/settings", coord, nil); !strings.Contains(r.body, `"version":`+strconv.FormatInt(again.Version+1, 10)) {
		t.Fatalf("a refused PUT changed the settings: %s", r.body)
	}
}
