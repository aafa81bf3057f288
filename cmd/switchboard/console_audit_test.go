package main

import (
	"net/http"
	"strconv"
	"testing"
)

// A coordinator reading the audit log goes past the newest 200 entries: the
// screen says how many it loaded and loads the older ones on demand,
// until there are none left to load; the filter then searches them all.
func TestConsoleAuditLogLoadsOlderEntries(t *testing.T) {
	t.Parallel()
	r := newRig(t, consoleSettings)
	dora := r.staff["dora"]
	// Each change of Dora's capacity is one user.update entry; the first
	// is the oldest, behind the 200 newer ones.
	for i := range 210 {
		if code, body := apiCall(t, "PATCH", r.base+"/api/v1/users/"+dora.ID, r.token, map[string]any{"capacity": 1 + i%2}); code != http.StatusOK {
			t.Fatalf("change %d: %d %s", i, code, body)
		}
	}
	carla := r.staff["carla"]
	if code, body := apiCall(t, "PATCH", r.base+"/api/v1/users/"+carla.ID, r.token, map[string]any{"grants": []string{"audit.view"}}); code != http.StatusOK {
		t.Fatalf("grant Carla audit.view: %d %s", code, body)
	}
	c, _ := r.openAs("carla")
	c.do("open the Administration menu", click("button", "Administration"))
	c.do("go to the audit log", click("link", "Audit log"), seeHeading("Audit log"), seeText("200 entries loaded"))

	var all struct {
		Entries []struct{ ID string } `json:"entries"`
	}
	apiJSON(t, "GET", r.base+"/api/v1/audit?limit=500", r.token, nil, http.StatusOK, &all)
	if len(all.Entries) <= 211 {
		t.Fatalf("the log holds %d entries, want more than 211", len(all.Entries))
	}
	c.do("load the older entries", click("button", "Load older entries"),
		seeText(strconv.Itoa(len(all.Entries))+" entries loaded"))
	if hidden := evalIn[bool](c, "see whether more can be loaded", `(() => {
  const b = [...document.querySelectorAll('button')].find((b) => b.textContent === 'Load older entries');
  return !b || b.hidden;
})()`); !hidden {
		t.Error("Load older entries is still offered with the whole log loaded")
	}
	// All 211 changes are there now (Dora's 210, Carla's grant): 5 pages of 50 once filtered.
	c.do("filter the changes of users", fill("Filter", "user.update"), seeText("Page 1 of 5"))
}
