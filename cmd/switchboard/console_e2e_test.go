package main

// End-to-end tests of the web console in a real headless Chromium: each
// drives the console as its user would (labelled fields, named buttons,
// links by the customer's name) against a real server, and asserts what
// that user sees. They skip without a Chromium unless
// SWITCHBOARD_TEST_BROWSER=require (as in CI). Run them alone with
//
//	go test -race -count=1 -run Console ./cmd/switchboard/

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A user logs in with their phone number and the code WhatsApp brought
// them, sees their name, stays logged in across a reload (the session is
// a cookie no script can read), and logs out.
func TestConsoleLogin(t *testing.T) {
	t.Parallel()
	r := newRig(t, consoleSettings)
	b := newTab(t, r.base, "ana")
	b.do("see the login form", seeRole("field", "Phone number"), seeRole("button", "Send code"))
	ana := r.login(b, "ana")

	// The session is a cookie no script can read.
	cookies := b.cookies()
	readable := evalIn[string](b, "read document.cookie", `document.cookie`)
	httpOnly := 0
	for _, c := range cookies {
		if c.HTTPOnly {
			httpOnly++
			if strings.Contains(readable, c.Value) {
				t.Errorf("a script can read the HttpOnly cookie %s", c.Name)
			}
		}
	}
	if httpOnly == 0 {
		t.Errorf("no HttpOnly cookie after logging in (cookies: %d): the session is not a cookie session", len(cookies))
	}
	b.do("reload and still be logged in", chromedp.Reload(), seeText(ana.Name))
	b.do("log out", click("button", "Log out"), seeRole("field", "Phone number"))
	b.do("reload and still be logged out", chromedp.Reload(), seeRole("field", "Phone number"))
	if strings.Contains(evalIn[string](b, "read the page", `document.body.innerText`), ana.Name) {
		t.Error("the console still shows the user's name after logging out")
	}
}

// A customer's message, posted as the provider's webhook, appears in the
// operator's inbox without a reload; the operator opens it, replies in
// the box labelled Message, the reply reaches the provider, and the
// provider's delivered and read statuses turn its tick into Delivered
// then Read.
func TestConsoleLiveMessageReplyAndTicks(t *testing.T) {
	t.Parallel()
	r := newRig(t, consoleSettings)
	b, _ := r.openAs("ana")
	b.do("see the inbox", seeHeading("My conversations"), seeHeading("Pool"))
	b.do("mark the page, to tell a reload", chromedp.Evaluate[chromedp.Void](`window.__e2eNoReload = true`))

	diego := customer{phone: "5511900000101", name: "Diego Cliente"}
	r.writes(diego, "Hello, is my order on its way?")
	b.do("see Diego's conversation arrive live", chromedp.WaitVisible(locate("link", diego.name, "", true)))
	b.do("open it", clickOn(locate("link", diego.name, "", true)))
	b.do("see the customer's message", seeText("Hello, is my order on its way?"))
	claimIfOffered(b)

	const reply = "Yes, it left the warehouse this morning."
	skip := len(r.graph.all())
	b.do("type the reply and send it", fill("Message", reply), click("button", "Send"))
	var sent graphSend
	eventually(t, "the reply at the Graph API", func() bool {
		var ok bool
		sent, ok = r.graph.find(skip, `"to":"`+diego.phone+`"`, reply)
		return ok
	})
	b.do("see the reply sent", outbound(reply, "sent", "Sent"))
	r.status(diego, sent.id, "delivered")
	b.do("see the Delivered tick", outbound(reply, "delivered", "Delivered"))
	r.status(diego, sent.id, "read")
	b.do("see the Read tick", outbound(reply, "read", "Read"))
	if !evalIn[bool](b, "check the page was not reloaded", `window.__e2eNoReload === true`) {
		t.Error("the page was reloaded: the updates were not live")
	}
}

// Two operators serving one claim pool see the same customer in their
// Pool; one claims it: it leaves the other's Pool live, and the other
// cannot take it.
func TestConsoleClaimAgainstSecondOperator(t *testing.T) {
	t.Parallel()
	r := newRig(t, consoleSettings)
	ana, anaUser := r.openAs("ana")
	bruno, _ := r.openAs("bruno")
	for _, b := range []*tab{ana, bruno} {
		b.do("see the pool", seeHeading("Pool"))
	}

	elisa := customer{phone: "5511900000102", name: "Elisa Cliente"}
	r.writes(elisa, "I want to buy the blue one")
	inPool := locate("link", elisa.name, "Pool", true)
	for _, b := range []*tab{ana, bruno} {
		b.do("see Elisa in the pool", chromedp.WaitVisible(inPool))
	}
	// Bruno opens it too, and is offered to claim it.
	bruno.do("open Elisa's conversation from the pool", clickOn(inPool), seeRole("button", "Claim"))
	bruno.do("mark the page, to tell a reload", chromedp.Evaluate[chromedp.Void](`window.__e2eNoReload = true`))

	ana.do("open Elisa's conversation from the pool", clickOn(inPool))
	ana.do("claim it", click("button", "Claim"))
	ana.do("see the conversation become hers", seeText("The conversation is yours."), chromedp.WaitNotPresent(locate("button", "Claim", "", false)))
	conv := r.conversationOf(elisa)
	eventually(t, "the conversation assigned to Ana", func() bool { return r.conversation(conv.ID).Assignee == anaUser.ID })

	bruno.do("see Elisa leave the pool without a reload", chromedp.WaitNotPresent(inPool))
	// Bruno cannot take it: the console no longer offers Claim, or it
	// does (his view is behind) and the server refuses.
	if bruno.shown("button", "Claim", "", false) {
		bruno.do("try to claim it too, and be told a colleague took it", click("button", "Claim"), seeText("A colleague took this conversation first."))
	}
	bruno.do("lose the conversation's message box", chromedp.WaitNotPresent(locate("field", "Message", "", false)))
	if got := r.conversation(conv.ID); got.Assignee != anaUser.ID {
		t.Errorf("after Bruno's try the conversation is assigned to %q, want Ana (%s)", got.Assignee, anaUser.ID)
	}
	if !evalIn[bool](bruno, "check the page was not reloaded", `window.__e2eNoReload === true`) {
		t.Error("Bruno's page was reloaded: the pool did not change live")
	}
}

// An operator closes a conversation: the dialog asks for a resolution
// reason, the console says it is closed, it leaves the operator's list,
// and the reason is recorded.
func TestConsoleCloseWithReason(t *testing.T) {
	t.Parallel()
	r := newRig(t, consoleSettings)
	b, _ := r.openAs("ana")
	fabio := customer{phone: "5511900000103", name: "Fabio Cliente"}
	r.writes(fabio, "Thanks, that was all")
	b.do("open Fabio's conversation", clickOn(locate("link", fabio.name, "", true)))
	claimIfOffered(b)
	b.do("ask to close it", click("button", "Close conversation"))
	b.do("pick the reason", choose("Resolution reason", "Solved"))
	b.do("confirm, and be told it is closed", clickOn(dialogButton("Close")), seeText("Conversation closed."))
	conv := r.conversationOf(fabio)
	eventually(t, "the conversation closed as solved", func() bool {
		c := r.conversation(conv.ID)
		return c.State == "closed" && c.Resolution == "solved"
	})
	// Closed, it leaves the operator's list, and its view offers nothing
	// more to do. (An operator may not read a closed conversation, so the
	// view says it is no longer theirs to see.)
	b.do("see it leave My conversations", chromedp.WaitNotPresent(locate("link", fabio.name, "My conversations", true)),
		chromedp.WaitNotPresent(locate("button", "Close conversation", "", false)))
	if b.shown("field", "Message", "", false) {
		t.Error("a closed conversation still offers the message box")
	}
}

// An operator sent to the opening hours or the users screen is told it is
// not allowed, and the navigation has no link to either; a coordinator's
// has the opening hours.
func TestConsoleOperatorIsRefusedAdminScreens(t *testing.T) {
	t.Parallel()
	r := newRig(t, consoleSettings)
	for _, who := range []string{"dora", "ana"} { // a built-in operator, and a pool operator
		refusedAdminScreens(t, r, who)
	}
	c, _ := r.openAs("carla")
	c.do("see the coordinator's link to the opening hours", chromedp.WaitReady(chromedp.JSPath(
		`[...document.querySelectorAll('nav a[href]')].find((a) => a.getAttribute('href').endsWith('#/hours')) || null`)))
}

// refusedAdminScreens checks who is refused the opening hours and users
// screens, and offered no link to them.
func refusedAdminScreens(t *testing.T, r *rig, who string) {
	t.Helper()
	b, _ := r.openAs(who)
	for _, screen := range []string{"hours", "users"} {
		b.do("go to #/"+screen, chromedp.Evaluate[chromedp.Void](`location.hash = '#/`+screen+`'`), seeRole("heading", "Not allowed"))
		if n := evalIn[int](b, "count the links to #/"+screen, `[...document.querySelectorAll('nav a[href], header a[href]')].filter((a) => a.getAttribute('href').endsWith('#/`+screen+`')).length`); n != 0 {
			t.Errorf("the operator's navigation has %d link(s) to #/%s", n, screen)
		}
	}
}

// A coordinator opens the opening hours from the Administration menu,
// changes Monday's closing time and adds a Saturday shift, saves, and
// after a reload sees the plan as saved; the API serves it too.
func TestConsoleCoordinatorEditsOpeningHours(t *testing.T) {
	t.Parallel()
	r := newRig(t, strings.Replace(consoleSettings, "timezone: UTC\n", "timezone: UTC\nopening_hours:\n  weekly: {mon: [\"09:00-18:00\"], tue: [\"09:00-18:00\"]}\n", 1))
	b, _ := r.openAs("carla")
	b.do("open the Administration menu", click("button", "Administration"))
	b.do("go to the opening hours", click("link", "Opening hours"), seeHeading("Opening hours"))
	b.do("see Monday as applied", valueIs("Monday, closes", "18:00"))
	b.do("close earlier on Mondays", fill("Monday, closes", "17:30"))
	b.do("add a Saturday shift", click("button", "Add shift to Saturday"), fill("Saturday, opens", "10:00"), fill("Saturday, closes", "14:00"))
	b.do("save", click("button", "Save"), seeText("Saved"))
	b.do("reload", chromedp.Reload(), seeHeading("Opening hours"))
	b.do("see the saved plan after the reload",
		valueIs("Monday, opens", "09:00"), valueIs("Monday, closes", "17:30"),
		valueIs("Tuesday, closes", "18:00"),
		valueIs("Saturday, opens", "10:00"), valueIs("Saturday, closes", "14:00"))
	code, body := apiCall(t, "GET", r.base+"/api/v1/settings", r.token, nil)
	if code != http.StatusOK || !strings.Contains(body, "09:00-17:30") || !strings.Contains(body, "10:00-14:00") || !strings.Contains(body, "09:00-18:00") {
		t.Fatalf("GET /api/v1/settings = %d, want the plan as saved (mon 09:00-17:30, tue 09:00-18:00, sat 10:00-14:00):\n%s", code, body)
	}
}

// claimIfOffered claims the open conversation when the console offers
// to: a conversation from the pool must be taken before replying.
func claimIfOffered(b *tab) {
	b.t.Helper()
	// The view's buttons follow its state, which it reads after it shows:
	// wait a while for it to offer Claim (a pool's) or Close (one's own)
	// rather than a fixed 300 ms, which a loaded machine outlasts. A claim
	// pool offers neither (a reply takes it), so the wait may run out.
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	_, _ = chromedp.Run(ctx, chromedp.WaitVisible(chromedp.JSPath(fmt.Sprintf(`(%s) || (%s)`,
		string(locate("button", "Claim", "", false)), string(locate("button", "Close conversation", "", false))))))
	cancel()
	if b.shown("button", "Claim", "", false) {
		// Taken once the console says so and offers Claim no more (the
		// message box shows before: it is no sign the claim is done).
		b.do("claim the conversation", click("button", "Claim"), seeText("The conversation is yours."),
			chromedp.WaitNotPresent(locate("button", "Claim", "", false)),
			// The toast lies over the composer's Send button for its
			// four seconds: a press there would land on the toast.
			chromedp.WaitNotPresent(chromedp.JSPath(`document.querySelector('#toast .toast')`)))
	}
}

// outbound waits until the outbound message with text has status (its
// data-status) and shows the tick named tick.
func outbound(text, status, tick string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.JSPath(fmt.Sprintf(`[...document.querySelectorAll('[data-status]')].find((el) =>
  el.innerText.includes(%q) && el.getAttribute('data-status') === %q &&
  (el.getAttribute('aria-label') === %q || [...el.querySelectorAll('[aria-label]')].some((x) => x.getAttribute('aria-label') === %q))) || null`,
		text, status, tick, tick)))
}

// dialogButton is the button named name in the open dialog: its
// confirming one (a submit) when several share the name.
func dialogButton(name string) chromedp.JSPath {
	return chromedp.JSPath(fmt.Sprintf(`(() => {
  const d = [...document.querySelectorAll('dialog[open], [role=dialog], [role=alertdialog]')].find((d) => d.getClientRects().length > 0);
  if (!d) return null;
  const named = [...d.querySelectorAll('button, input[type=submit]')].filter((b) =>
    (b.getAttribute('aria-label') || b.textContent || b.value || '').replace(/\s+/g, ' ').trim() === %q);
  return named.find((b) => b.type === 'submit') || named[0] || null;
})()`, name))
}

// The screenshots in docs/screenshots, taken when SWITCHBOARD_SCREENSHOTS=1:
// the login, the inbox, a conversation and the opening hours.
func TestConsoleScreenshots(t *testing.T) {
	if os.Getenv("SWITCHBOARD_SCREENSHOTS") != "1" {
		t.Skip("set SWITCHBOARD_SCREENSHOTS=1 to write docs/screenshots/*.png")
	}
	r := newRig(t, consoleSettings)
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shoot := func(b *tab, name string) {
		t.Helper()
		// Let the screen settle and its notices fade.
		b.do("wait for the notices to fade", chromedp.Sleep(500*time.Millisecond), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`!document.querySelector('#toast') || document.querySelector('#toast').children.length === 0`,
				chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(12*time.Second))(ctx, tg)
			return err
		}))
		// Quality 100 makes a PNG; any other, a JPEG.
		shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			b.fail("screenshot "+name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	b := newTab(t, r.base, "ana")
	b.do("see the login form", seeRole("field", "Phone number"))
	shoot(b, "login")
	r.login(b, "ana")
	if b.shown("button", "Go online", "", false) {
		b.do("go online", click("button", "Go online"), chromedp.WaitNotPresent(locate("button", "Go online", "", false)))
	}
	for i, c := range []customer{
		{phone: "5511900000201", name: "Gabriela Souza"},
		{phone: "5511900000202", name: "Henrique Lima"},
		{phone: "5511900000203", name: "Isabel Rocha"},
	} {
		r.writes(c, []string{"Hi! Where is my order #4512?", "Do you deliver to Campinas?", "I'd like to change my address"}[i])
		b.do("see "+c.name, chromedp.WaitVisible(locate("link", c.name, "", true)))
	}
	shoot(b, "inbox")
	b.do("open a conversation", clickOn(locate("link", "Gabriela Souza", "", true)))
	claimIfOffered(b)
	b.do("reply", fill("Message", "Hi Gabriela! It left our warehouse this morning; it arrives tomorrow."), click("button", "Send"))
	b.do("see the reply", seeText("it arrives tomorrow"))
	shoot(b, "conversation")

	// A team's plan with split shifts and a holiday, for the hours screen.
	apiJSON(t, "PUT", r.base+"/api/v1/settings", r.token, settingsView{Version: 1, YAML: strings.Replace(consoleSettings, "timezone: UTC\n", `timezone: America/Sao_Paulo
opening_hours:
  weekly:
    mon: ["09:00-13:00", "14:00-18:00"]
    tue: ["09:00-13:00", "14:00-18:00"]
    wed: ["09:00-13:00", "14:00-18:00"]
    thu: ["09:00-13:00", "14:00-18:00"]
    fri: ["09:00-17:00"]
    sat: ["09:00-12:00"]
  special:
    - {date: "2026-12-25", closed: true}
    - {date: "2026-12-24", hours: ["09:00-12:00"]}
  out_of_hours: {reply: closed, queue_until_open: true}
templates:
  - {id: closed, language: en, text: "We are closed now. We open at {{next_open}}."}
`, 1)}, http.StatusOK, nil)
	c, _ := r.openAs("carla")
	c.do("open the opening hours", chromedp.Evaluate[chromedp.Void](`location.hash = '#/hours'`), chromedp.Sleep(time.Second))
	shoot(c, "hours")
}
