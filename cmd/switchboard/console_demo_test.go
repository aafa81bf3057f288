package main

// Issue #14's "done when", in a real browser: a newcomer runs the README's
// first command, `switchboard serve --demo`, and works a conversation
// from the customer simulator to closed with nothing but what the demo
// prints and what the pages show. Run it alone with
//
//	go test -race -count=1 -run Demo ./cmd/switchboard/

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/internal/logbuf"
)

// The newcomer opens the console's login page, follows its "Customer
// simulator" link, writes as a customer and gets the menu, chooses
// Support (a claim pool); logs in to the console as an operator the demo
// printed, with the code the terminal shows; sees the customer in the
// Pool live, opens the conversation and replies; the reply reaches the
// simulator; and closes the conversation with a reason. The console says
// it is closed, the simulator shows the whole exchange and no error, and
// the admin reads the conversation closed with that reason.
func TestDemoInBrowserSimulatorToClosed(t *testing.T) {
	demoEnv(t)
	inScratchDir(t)
	out, _ := startServe(t, "serve", "--demo")

	// What the terminal shows: the console's address and the accounts.
	base := demoConsole(t, out)
	var operator, operatorName, admin, adminName string
	for _, m := range regexp.MustCompile(`(?m)^    (\S.*?)\s+(admin|operator)\s+(\+\d+)$`).FindAllStringSubmatch(out.String(), -1) {
		switch {
		case m[2] == "operator" && operator == "":
			operatorName, operator = m[1], m[3]
		case m[2] == "admin" && admin == "":
			adminName, admin = m[1], m[3]
		}
	}
	if operator == "" || admin == "" {
		t.Fatalf("the demo notice lists no operator or no admin:\n%s", out.String())
	}
	// codeFor waits for the login code printed for name after the first
	// skip bytes of the terminal's output.
	codeFor := func(skip int, name string) string {
		t.Helper()
		line := regexp.MustCompile(`(?m)^.*login code.*` + regexp.QuoteMeta(name) + `.*\b(\d{6})\b.*$`)
		var code string
		eventually(t, "the login code for "+name+" on the terminal", func() bool {
			if m := line.FindStringSubmatch(out.String()[skip:]); m != nil {
				code = m[1]
			}
			return code != ""
		})
		return code
	}

	// The console's login page links the customer simulator. It opens in
	// a new window (target=_blank); the newcomer's second window is a
	// second tab on the link's address.
	console := newTab(t, base, "console")
	console.do("see the login page", seeRole("field", "Phone number"), seeRole("button", "Send code"),
		seeRole("link", "Customer simulator"))
	href := evalIn[string](console, "read the simulator link", `(`+string(locate("link", "Customer simulator", "", false))+`).href`)
	if u, err := url.Parse(href); err != nil || u.Path != "/simulator" {
		t.Fatalf("the link Customer simulator points at %q, want the simulator page", href)
	}
	sim := newTab(t, base, "simulator")
	sim.do("follow the Customer simulator link", chromedp.Navigate(href), seeRole("heading", "Customer simulator"),
		seeRole("field", "Message"), seeRole("button", "Send"))
	customer := evalIn[string](sim, "read the customer's name", `document.getElementById('name').value`)
	if customer == "" {
		t.Fatal("the simulator offers no customer name")
	}

	// The customer writes, gets the menu, and chooses 2, Support: a pool.
	sim.do("say hello", fill("Message", "Hello, my router keeps disconnecting"), click("button", "Send"))
	sim.do("see the menu", seeText("Reply 1 for Sales, 2 for Support or 3 for Billing."))
	sim.do("choose Support", fill("Message", "2"), click("button", "Send"))
	sim.do("see the choice sent", chromedp.WaitVisible(chromedp.JSPath(
		`[...document.querySelectorAll('#messages li.customer')].find((li) => li.firstChild && li.firstChild.textContent === '2') || null`)))

	// The operator logs in with the code the terminal printed.
	skip := len(out.String())
	console.do("ask for a code", fill("Phone number", operator), click("button", "Send code"), seeRole("field", "Code"))
	console.do("enter the code and log in", fill("Code", codeFor(skip, operatorName)), click("button", "Log in"))
	console.do("see my name once logged in", seeText(operatorName))

	// The customer is in the Pool, live; the operator opens the
	// conversation and replies (a reply to a pooled query takes it).
	inPool := locate("link", customer, "Pool", true)
	console.do("see the customer in the Pool", seeHeading("Pool"), chromedp.WaitVisible(inPool))
	console.do("open the conversation", clickOn(inPool), seeText("Hello, my router keeps disconnecting"))
	claimIfOffered(console)
	const reply = "Hi! Sorry about that. Could you tell me the router's model?"
	console.do("reply", fill("Message", reply), click("button", "Send"), outbound(reply, "sent", "Sent"))
	convID := evalIn[string](console, "read the conversation's address", `location.hash`)
	if m := regexp.MustCompile(`^#/(?:inbox|c)/([^/]+)$`).FindStringSubmatch(convID); m != nil {
		convID, _ = url.PathUnescape(m[1])
	} else {
		t.Fatalf("the conversation's address is %q, want #/inbox/ID", convID)
	}

	sim.do("see the operator's reply in the simulator", chromedp.WaitVisible(chromedp.JSPath(
		`[...document.querySelectorAll('#messages li.team')].find((li) => li.textContent.includes(`+jsString(reply)+`)) || null`)))

	// The operator closes it with a reason.
	console.do("ask to close it", click("button", "Close conversation"))
	console.do("pick the reason", choose("Resolution reason", "Customer stopped answering"))
	console.do("confirm, and be told it is closed", clickOn(dialogButton("Close")), seeText("Conversation closed."))
	console.do("see it leave the operator's list", chromedp.WaitNotPresent(locate("link", customer, "", true)),
		chromedp.WaitNotPresent(locate("button", "Close conversation", "", false)))

	// The simulator still shows the whole exchange, and no error.
	sim.do("see the exchange still whole", chromedp.Sleep(1500*time.Millisecond), seeText("Hello, my router keeps disconnecting"),
		seeText("Reply 1 for Sales"), seeText(reply), seeRole("field", "Message"), seeRole("button", "Send"))
	if msg := evalIn[string](sim, "read the simulator's error", `(() => { const e = document.getElementById('error'); return e && !e.hidden ? e.textContent : ''; })()`); msg != "" {
		t.Errorf("the simulator shows an error after the close: %q", msg)
	}

	// The admin reads it closed with that reason.
	skip = len(out.String())
	apiJSON(t, "POST", base+"/api/v1/auth/otp", "", map[string]string{"phone": admin}, http.StatusAccepted, nil)
	var login struct{ Token string }
	apiJSON(t, "POST", base+"/api/v1/auth/verify", "", map[string]string{"phone": admin, "code": codeFor(skip, adminName)}, http.StatusOK, &login)
	var conv struct {
		State       string `json:"state"`
		Resolution  string `json:"resolution"`
		QueryType   string `json:"query_type"`
		ContactName string `json:"contact_name"`
	}
	apiJSON(t, "GET", base+"/api/v1/conversations/"+url.PathEscape(convID), login.Token, nil, http.StatusOK, &conv)
	if conv.State != "closed" || conv.Resolution != "no_answer" || conv.QueryType != "support" || conv.ContactName != customer {
		t.Errorf("the conversation is %+v, want %s's support query closed as no_answer", conv, customer)
	}
}

// A customer whose browser prefers Mexican Spanish reads the simulator in
// the console's Spanish: the page's title and heading, its fields, button
// and link to the console, the empty state, who wrote each message and
// why one was not sent; and the page says it is in Spanish. A language
// chosen in the console wins over the browser's.
func TestDemoInBrowserSimulatorInTheBrowsersLanguage(t *testing.T) {
	demoEnv(t)
	inScratchDir(t)
	out, _ := startServe(t, "serve", "--demo")
	base := demoConsole(t, out)

	sim := newTab(t, base, "simulator")
	sim.prefer("es-MX,es")
	sim.do("open the simulator in Spanish", chromedp.Navigate(base+"/simulator"), seeRole("heading", "Simulador de cliente"),
		seeRole("field", "Tu nombre"), seeRole("field", "Mensaje"), seeRole("button", "Enviar"),
		seeRole("link", "abre la consola"), seeText("Todavía no hay mensajes. Saluda: el menú te responde."))
	if lang := evalIn[string](sim, "read the page's language", `document.documentElement.lang`); lang != "es" {
		t.Errorf("the simulator's <html lang> is %q, want es", lang)
	}
	if title := evalIn[string](sim, "read the page's title", `document.title`); title != "Simulador de cliente · Demo de Switchboard" {
		t.Errorf("the simulator's title is %q", title)
	}
	href := evalIn[string](sim, "read the console link", `(`+string(locate("link", "abre la consola", "", false))+`).href`)
	if u, err := url.Parse(href); err != nil || u.Path != "/" {
		t.Errorf("the link to the console points at %q", href)
	}

	sim.do("say hello", fill("Mensaje", "Hola"), click("button", "Enviar"))
	sim.do("see the menu, and who wrote what", seeText("Reply 1 for Sales"), seeText("tú · "), seeText("equipo · "))
	if msg := evalIn[string](sim, "read the simulator's error", `(() => { const e = document.getElementById('error'); return e && !e.hidden ? e.textContent : ''; })()`); msg != "" {
		t.Errorf("the simulator shows an error: %q", msg)
	}
	// Why a message was not sent is said in Spanish too.
	sim.do("write as a name with no letter", fill("Tu nombre", "!!!"), fill("Mensaje", "Hola"), click("button", "Enviar"),
		seeText("No se envió: tu nombre necesita al menos una letra o un número."))

	// A language chosen in the console wins over the browser's.
	sim.do("choose Indonesian in the console, and reload the simulator",
		chromedp.Evaluate[chromedp.Void](`localStorage.setItem('switchboard.lang', 'id')`), chromedp.Reload(),
		seeRole("heading", "Simulator pelanggan"), seeRole("field", "Pesan"), seeRole("button", "Kirim"))
}

// demoConsole waits for the demo's notice on out and returns the
// console's address in it.
func demoConsole(t *testing.T, out *logbuf.Buffer) string {
	t.Helper()
	var base string
	eventually(t, "the demo notice", func() bool {
		m := regexp.MustCompile(`Console:\s+(http://127\.0\.0\.1:\d+)/\n`).FindStringSubmatch(out.String())
		if m != nil {
			base = m[1]
		}
		return m != nil && strings.Contains(out.String(), "3 Billing")
	})
	return base
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
