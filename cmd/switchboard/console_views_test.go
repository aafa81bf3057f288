package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A coordinator saves a view of the waiting sales conversations from the
// inbox, sees its count and its conversations, watches the count follow a
// new customer live, reads the monitoring table, watches an urgent
// conversation's missed target reach it live, and deletes the view. A
// pool operator, whose role lacks views.customize, is offered no views;
// a built-in operator, without reports.view, no monitoring.
func TestConsoleSavedViewsAndMonitoring(t *testing.T) {
	t.Parallel()
	r := newRig(t, strings.Replace(consoleSettings, "  - {id: sales, name: Sales, strategy: claim}\n",
		"  - {id: sales, name: Sales, strategy: claim}\n"+
			"  - {id: urgent, name: Urgent, strategy: claim, keywords: [urgent], targets: {first_response: 1s}}\n", 1))
	c, _ := r.openAs("carla")
	c.do("see the saved views, none yet", seeHeading("Saved views"), seeText("No saved views yet."))

	gil := customer{phone: "5511900000111", name: "Gil Cliente"}
	r.writes(gil, "Do you deliver on Sundays?")
	c.do("see Gil in the pool", chromedp.WaitVisible(locate("link", gil.name, "Pool", true)))
	c.do("open the new view's form", click("button", "New view"))
	c.do("choose the filter", choose("State", "Waiting"), choose("Query type", "Sales"))
	c.do("name it and save it", fill("Name", "Waiting sales"), click("button", "Save view"))
	c.do("see the view with its count", seeRole("button", "Waiting sales 1"))
	c.do("see its conversation", chromedp.WaitVisible(locate("link", gil.name, "Conversations in this view", true)))

	hana := customer{phone: "5511900000112", name: "Hana Cliente"}
	r.writes(hana, "Is the blue one back in stock?")
	c.do("see the count follow live", seeRole("button", "Waiting sales 2"),
		chromedp.WaitVisible(locate("link", hana.name, "Conversations in this view", true)))

	c.do("open the monitoring table", click("link", "Monitoring"), seeHeading("Monitoring"), seeText("Ana Operator"))
	rows := evalIn[[]string](c, "read the pools' rows", `[...document.querySelectorAll('table.monitor tbody tr')].map((r) => [...r.cells].map((c) => c.textContent.trim()).join('|'))`)
	found := false
	for _, row := range rows {
		if strings.HasPrefix(row, "Sales|2|") {
			found = true
		}
		// Nothing held, handled, missed or rated.
		if strings.HasPrefix(row, "Ana Operator|") && !strings.Contains(row, "|0 / 5|0|—|—|0|—|") {
			t.Errorf("Ana's row = %q, want nothing assigned, handled, missed or rated", row)
		}
	}
	if !found {
		t.Errorf("the monitoring table's rows %q have no Sales pool of 2", rows)
	}
	// Urgent's first response is due within a second: nobody answers,
	// and the table, open, shows the pool's target missed.
	ivo := customer{phone: "5511900000113", name: "Ivo Cliente"}
	r.writes(ivo, "Urgent: my card was charged twice")
	c.do("see the urgent pool's target missed", seeRow("Urgent|1|", "|1|—"))

	c.do("go back to the inbox", click("link", "Inbox"), seeRole("button", "Waiting sales 2"))
	c.do("delete the view", click("button", "Delete view Waiting sales"), clickOn(dialogButton("Delete")))
	c.do("see it gone", seeText("No saved views yet."))

	a, _ := r.openAs("ana")
	a.do("see the inbox", seeHeading("My conversations"))
	if a.shown("heading", "Saved views", "", false) {
		t.Error("a pool operator without views.customize is offered saved views")
	}
	d, _ := r.openAs("dora")
	d.do("see the inbox", seeHeading("My conversations"), seeHeading("Saved views"))
	if d.shown("link", "Monitoring", "", false) {
		t.Error("an operator without reports.view has a link to the monitoring table")
	}
	d.do("go to #/monitor", chromedp.Evaluate[chromedp.Void](`location.hash = '#/monitor'`), seeRole("heading", "Not allowed"))
}

// The Reports screen narrows by the settings' tags, as the list does: the
// report and its downloads carry the tag chosen.
func TestConsoleReportsByTag(t *testing.T) {
	t.Parallel()
	r := newRig(t, consoleSettings+"tags:\n  - {id: urgent, name: Urgent, color: \"#d93025\"}\n")
	c, _ := r.openAs("carla")
	c.do("open the reports", click("link", "Reports"), seeHeading("Reports"))
	c.do("narrow to a tag", choose("Filter by tag", "Urgent (urgent)"), click("button", "Show report"))
	href := evalIn[string](c, "read the CSV download's address", `[...document.querySelectorAll('a[download]')].map((a) => a.href).join(' ')`)
	if !strings.Contains(href, "tag=urgent") || !strings.Contains(href, "format=csv") {
		t.Errorf("the downloads %q do not carry tag=urgent", href)
	}
}

// A saved view may keep a tag, as the list's filter does.
func TestConsoleSavedViewByTag(t *testing.T) {
	t.Parallel()
	r := newRig(t, consoleSettings+"tags:\n  - {id: urgent, name: Urgent, color: \"#d93025\"}\n")
	c, _ := r.openAs("carla")
	c.do("see the saved views", seeHeading("Saved views"), seeText("No saved views yet."))
	c.do("open the new view's form", click("button", "New view"))
	c.do("choose a tag", choose("Tag", "Urgent"))
	c.do("name it and save it", fill("Name", "Urgent ones"), click("button", "Save view"))
	c.do("see the view", seeRole("button", "Urgent ones 0"))
	title := evalIn[string](c, "read the view's description", `[...document.querySelectorAll('button.view')].map((b) => b.title).join('|')`)
	if title != "Urgent" {
		t.Errorf("the view's description %q, want Urgent", title)
	}
}

// seeRow waits until a row of the monitoring table, its cells' texts
// joined by "|", starts with prefix and ends with suffix.
func seeRow(prefix, suffix string) chromedp.Action[chromedp.Void] {
	const cells = `[...document.querySelectorAll('table.monitor tbody tr')].map((r) => [...r.cells].map((c) => c.textContent.trim()).join('|'))`
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.PollFunction[bool](`(p, s) => `+cells+`.some((r) => r.startsWith(p) && r.endsWith(s))`,
			chromedp.WithPollingArgs(prefix, suffix), chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout-time.Second))(ctx, t)
		if err != nil { // a second left in the step to read what the rows are
			rows, _ := chromedp.Evaluate[[]string](cells)(ctx, t)
			return fmt.Errorf("no row %q…%q among %q: %w", prefix, suffix, rows, err)
		}
		return nil
	})
}
