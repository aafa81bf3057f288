package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A coordinator allowed to manage users disables an operator for a leave
// and, when she is back, enables her again from the users screen: the row
// offers Enable where it offered Disable, shows her active after, and she
// logs in again.
func TestConsoleCoordinatorDisablesAndEnablesAnOperator(t *testing.T) {
	t.Parallel()
	r := newRig(t, consoleSettings)
	carla, dora := r.staff["carla"], r.staff["dora"]
	if code, body := apiCall(t, "PATCH", r.base+"/api/v1/users/"+carla.ID, r.token, map[string]any{"grants": []string{"users.manage"}}); code != http.StatusOK {
		t.Fatalf("grant Carla users.manage: %d %s", code, body)
	}
	c, _ := r.openAs("carla")
	c.do("open the Administration menu", click("button", "Administration"))
	c.do("go to the users", click("link", "Users"), seeHeading("Users"), seeText(dora.Name))
	doraRow := func() string {
		return evalIn[string](c, "read Dora's row", `(() => {
  const row = [...document.querySelectorAll('tbody tr')].find((r) => r.cells[0].textContent.includes(`+jsString(dora.Name)+`));
  return row ? [...row.cells].map((c) => c.textContent.trim()).join('|') : '';
})()`)
	}

	c.do("disable Dora", click("button", "Disable "+dora.Name), clickOn(dialogButton("Disable")), seeText(dora.Name+" is disabled."))
	c.do("be offered to enable her instead", seeRole("button", "Enable "+dora.Name),
		chromedp.WaitNotPresent(locate("button", "Disable "+dora.Name, "", false)))
	if row := doraRow(); !strings.Contains(row, "|Disabled|") {
		t.Errorf("Dora's row after the disable = %q, want her shown disabled", row)
	}

	c.do("enable Dora", click("button", "Enable "+dora.Name), clickOn(dialogButton("Enable")), seeText(dora.Name+" is active again."))
	c.do("be offered to disable her again", seeRole("button", "Disable "+dora.Name),
		chromedp.WaitNotPresent(locate("button", "Enable "+dora.Name, "", false)))
	if row := doraRow(); !strings.Contains(row, "|Active|") {
		t.Errorf("Dora's row after the enable = %q, want her shown active", row)
	}
	c.do("reload", chromedp.Reload(), seeHeading("Users"), seeRole("button", "Disable "+dora.Name))

	var u struct{ Status string }
	apiJSON(t, "GET", r.base+"/api/v1/users/"+dora.ID, r.token, nil, http.StatusOK, &u)
	if u.Status != "active" {
		t.Fatalf("GET /users/%s: status %q, want active", dora.ID, u.Status)
	}
	d, _ := r.openAs("dora") // fails unless she is sent a code and can log in
	d.do("see her inbox", seeHeading("My conversations"))
}
