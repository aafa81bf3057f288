package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	chansim "switchboard/channels/simulator"
	"switchboard/httperror"
)

// Each customer's view keeps its latest MaxEntries, a retried delivery
// once, and at most MaxCustomers customers, forgetting the quietest.
func TestBoxIsBounded(t *testing.T) {
	now := time.Unix(1760000000, 0)
	b := NewBox(func() time.Time { now = now.Add(time.Second); return now })
	for i := range MaxEntries + 10 {
		b.Wrote("maria", Entry{ID: fmt.Sprint("in", i), Text: fmt.Sprint(i)})
	}
	_ = b.Deliver(context.Background(), chansim.Outbound{ID: "out1", To: "maria", Text: "hello"})
	_ = b.Deliver(context.Background(), chansim.Outbound{ID: "out1", To: "maria", Text: "hello"})
	v := b.View("maria")
	if len(v) != MaxEntries || v[0].Text != "11" || v[len(v)-1].ID != "out1" || v[len(v)-1].From != FromTeam || v[len(v)-2].From != FromCustomer {
		t.Fatalf("view has %d entries, first %+v last %+v", len(v), v[0], v[len(v)-1])
	}
	for i := range MaxCustomers {
		b.Wrote(fmt.Sprint("c", i), Entry{ID: "x"})
	}
	if len(b.View("maria")) != 0 || len(b.View("c0")) != 1 || len(b.threads) != MaxCustomers {
		t.Fatalf("after %d more customers: maria has %d entries, %d customers kept", MaxCustomers, len(b.View("maria")), len(b.threads))
	}
	v = b.View("c1")
	v[0].Text = "changed"
	if b.View("c1")[0].Text == "changed" {
		t.Fatal("View returned the box's own slice")
	}
}

func TestCustomerID(t *testing.T) {
	for name, want := range map[string]string{
		"Maria Silva": "maria-silva", "  João   Souza ": "joão-souza", "Ana-Lima!": "ana-lima", "R2 D2": "r2-d2",
	} {
		if got, err := customerID(cleanName(name)); err != nil || got != want {
			t.Errorf("customerID(%q) = %q, %v, want %q", name, got, err, want)
		}
	}
	if _, err := customerID("!!!"); err == nil {
		t.Error("customerID(!!!) succeeded")
	}
	if cleanName("") != DefaultName || len(cleanName(strings.Repeat("é", 100))) > chansim.MaxNameBytes {
		t.Error("cleanName does not default or cut")
	}
}

// webhookFake stands for the gateway: it checks the channel's token and
// answers status.
type webhookFake struct {
	channel *chansim.Channel
	status  int
	got     []chansim.Message
}

func (f *webhookFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/webhooks/simulator" || f.channel.Verify(r, nil) != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var m chansim.Message
	body, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(body, &m)
	f.got = append(f.got, m)
	w.WriteHeader(f.status)
}

func newTestServer(t *testing.T) (*httptest.Server, *webhookFake, *Box) {
	t.Helper()
	box := NewBox(nil)
	ch, err := chansim.New("simulator", box, nil)
	if err != nil {
		t.Fatal(err)
	}
	fake := &webhookFake{channel: ch, status: http.StatusOK}
	e := echo.New()
	New(Options{Box: box, Channel: ch, Webhooks: fake, Logger: slog.New(slog.DiscardHandler)}).Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, fake, box
}

// post sends body and returns the status and the error's code, if any.
func post(t *testing.T, url, contentType, origin, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e httperror.Body
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error.Code
}

// A message posted on the page goes to the channel's webhook with the
// token, in the channel's wire format, and shows on the page once the
// webhook took it.
// A name as long as a query string may be (GET /simulator/api/messages
// ?name=...) is cut in one step, to the same whole-character prefix.
func TestCleanNameOfAHugeName(t *testing.T) {
	done := make(chan string, 1)
	go func() { done <- cleanName(strings.Repeat("é", 256<<10)) }()
	select {
	case got := <-done:
		if got != strings.Repeat("é", chansim.MaxNameBytes/2) {
			t.Fatalf("cleanName cut to %d bytes %q", len(got), got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cleanName of a 512 KB name took more than 5 s")
	}
	if got := cleanName("ab" + strings.Repeat("é", 100)); len(got) != chansim.MaxNameBytes || !utf8.ValidString(got) {
		t.Fatalf("cut mid-character: %d bytes %q", len(got), got)
	}
}

func TestSendGoesThroughTheWebhook(t *testing.T) {
	srv, fake, box := newTestServer(t)
	if code, _ := post(t, srv.URL+"/simulator/api/messages", "application/json", srv.URL, `{"name":" Maria  Silva ","text":" hi "}`); code != http.StatusAccepted {
		t.Fatalf("send = %d", code)
	}
	if len(fake.got) != 1 || fake.got[0].From != "maria-silva" || fake.got[0].Name != "Maria Silva" || fake.got[0].Text != "hi" || fake.got[0].ID == "" || fake.got[0].Timestamp == 0 {
		t.Fatalf("webhook got %+v", fake.got)
	}
	if v := box.View("maria-silva"); len(v) != 1 || v[0].From != FromCustomer || v[0].ID != fake.got[0].ID {
		t.Fatalf("view = %+v", v)
	}

	fake.status = http.StatusServiceUnavailable
	if code, errCode := post(t, srv.URL+"/simulator/api/messages", "application/json", "", `{"name":"Maria Silva","text":"again"}`); code != http.StatusServiceUnavailable || errCode != "unavailable" {
		t.Fatalf("send while the webhook refuses = %d %q, want 503 unavailable", code, errCode)
	}
	if len(box.View("maria-silva")) != 1 {
		t.Fatal("a message the webhook refused is shown as sent")
	}

	// The page tells the customer why in their language, by the code.
	for name, tc := range map[string]struct{ contentType, origin, body, code string }{
		"form":         {"application/x-www-form-urlencoded", "", "name=x&text=y", "forbidden"},
		"other origin": {"application/json", "http://evil.example", `{"text":"y"}`, "forbidden"},
		"no text":      {"application/json", "", `{"name":"x","text":"  "}`, "text_required"},
		"long text":    {"application/json", "", `{"text":"` + strings.Repeat("é", chansim.MaxTextBytes/2+1) + `"}`, "text_too_long"},
		"bad name":     {"application/json", "", `{"name":"!!!","text":"y"}`, "invalid_name"},
		"not json":     {"application/json", "", `{`, "bad_request"},
		"too large":    {"application/json", "", `{"text":"` + strings.Repeat("x", maxRequestBytes) + `"}`, "too_large"},
	} {
		if code, errCode := post(t, srv.URL+"/simulator/api/messages", tc.contentType, tc.origin, tc.body); code < 400 || code >= 500 || errCode != tc.code {
			t.Errorf("%s: send = %d %q, want a 4xx %q", name, code, errCode, tc.code)
		}
	}
	if len(fake.got) != 2 {
		t.Errorf("refused requests reached the webhook: %d posts", len(fake.got))
	}
}

// The page runs under a strict policy, so it has no inline script or
// style, and it has what the contract names: "Message" and "Send", in
// English until its script puts them in the customer's language.
func TestPageIsStrict(t *testing.T) {
	srv, _, _ := newTestServer(t)
	for _, path := range []string{"/simulator", "/simulator/", "/simulator/app.js", "/simulator/app.css"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Security-Policy") != contentSecurityPolicy {
			t.Errorf("GET %s = %d, CSP %q", path, resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
		}
		if path != "/simulator/" {
			continue
		}
		for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAll(body, -1) {
			if !bytes.Contains(tag, []byte(`src="/simulator/`)) {
				t.Errorf("the page has an inline script: %s", tag)
			}
		}
		if bytes.Contains(body, []byte("<style")) || bytes.Contains(body, []byte("style=")) || bytes.Contains(body, []byte("</script><script")) {
			t.Errorf("the page has inline style")
		}
		if n := bytes.Count(body, []byte("<script")); n != 1 || !bytes.Contains(body, []byte(`<script type="module" src="/simulator/app.js"></script>`)) {
			t.Errorf("the page has %d scripts, want one empty module tag loading app.js", n)
		}
		for _, want := range []string{`<label for="text" data-i18n="simulator.message">Message</label>`, `<button type="submit" data-i18n="simulator.send">Send</button>`, `value="` + DefaultName + `"`} {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("the page lacks %s", want)
			}
		}
	}
}
