package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/config"
	"switchboard/internal/logbuf"
)

// demoEnv clears what would point serve at real storage, so the demo
// starts as on a fresh machine, and lets it listen on any free port.
func demoEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{config.EnvConfigPath, config.EnvRedisURL, config.EnvDatabaseURL, config.EnvAuthSecret} {
		t.Setenv(k, "")
	}
	t.Setenv(config.EnvHTTPAddr, "127.0.0.1:0")
}

// startServe runs `switchboard args...` until stop is called or the test
// ends, its stdout and stderr in the buffer returned.
func startServe(t *testing.T, args ...string) (out *logbuf.Buffer, stop func()) {
	t.Helper()
	out = &logbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, out, out) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("%v exited %d:\n%s", args, code, out.String())
			}
		})
	}
	t.Cleanup(stop)
	return out, stop
}

type simView struct {
	Customer string
	Messages []struct{ From, Text string }
}

func simulatorView(t *testing.T, base, name string) simView {
	t.Helper()
	code, body := apiCall(t, "GET", base+"/simulator/api/messages?name="+strings.ReplaceAll(name, " ", "%20"), "", nil)
	var v simView
	if code != http.StatusOK || json.Unmarshal([]byte(body), &v) != nil {
		t.Fatalf("simulator view = %d %s", code, body)
	}
	return v
}

func (v simView) has(from, text string) bool {
	for _, m := range v.Messages {
		if m.From == from && strings.Contains(m.Text, text) {
			return true
		}
	}
	return false
}

func simulatorSend(t *testing.T, base, name, text string) {
	t.Helper()
	if code, body := apiCall(t, "POST", base+"/simulator/api/messages", "", map[string]string{"name": name, "text": text}); code != http.StatusAccepted {
		t.Fatalf("simulator send %q = %d %s", text, code, body)
	}
}

// `serve --demo` starts from an empty directory with nothing configured,
// prints its accounts and URLs, and a customer writing in the simulator
// goes through routing (the menu, then the support pool, and Billing's
// out-of-hours reply) to an operator who logs in with the code printed on
// the terminal and whose reply reaches the simulator. At exit its
// temporary directory is gone and the working directory is untouched.
func TestServeDemo(t *testing.T) {
	demoEnv(t)
	cwd := inScratchDir(t)
	out, stop := startServe(t, "serve", "--demo")

	var base, dir string
	eventually(t, "the demo notice", func() bool {
		m := regexp.MustCompile(`Customer simulator: (http://127\.0\.0\.1:\d+)/simulator\n`).FindStringSubmatch(out.String())
		if m != nil {
			base = m[1]
		}
		return m != nil && strings.Contains(out.String(), "3 Billing")
	})
	text := out.String()
	if m := regexp.MustCompile(`deleted when this process stops \(([^,]+),`).FindStringSubmatch(text); m != nil {
		dir = m[1]
	}
	if dir == "" || !strings.Contains(text, "Console:            "+base+"/") {
		t.Fatalf("demo notice lacks the console or the directory:\n%s", text)
	}
	accounts := map[string]string{} // role of each phone
	names := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^    (\S.*?)\s+(admin|operator)\s+(\+\d+)$`).FindAllStringSubmatch(text, -1) {
		accounts[m[3]], names[m[3]] = m[2], m[1]
	}
	var operator, admin string
	for phone, role := range accounts {
		if role == "operator" && (operator == "" || phone < operator) {
			operator = phone
		}
		if role == "admin" {
			admin = phone
		}
	}
	if len(accounts) != 3 || operator == "" {
		t.Fatalf("demo notice lists %v, want an admin and two operators:\n%s", accounts, text)
	}

	// The customer says hello and gets the menu; chooses Support.
	const customer = "Maria Silva"
	simulatorSend(t, base, customer, "Hello!")
	eventually(t, "the menu in the simulator", func() bool {
		return simulatorView(t, base, customer).has("team", "Reply 1 for Sales")
	})
	simulatorSend(t, base, customer, "2")

	// Another customer chooses Billing, closed: the out-of-hours reply.
	simulatorSend(t, base, "João Souza", "oi")
	eventually(t, "the second customer's menu", func() bool {
		return simulatorView(t, base, "João Souza").has("team", "Reply 1 for Sales")
	})
	simulatorSend(t, base, "João Souza", "3")
	eventually(t, "the out-of-hours reply", func() bool {
		return simulatorView(t, base, "João Souza").has("team", "Billing is closed right now")
	})

	// The operator logs in with the code printed on the terminal.
	if code, body := apiCall(t, "POST", base+"/api/v1/auth/otp", "", map[string]string{"phone": operator}); code != http.StatusAccepted {
		t.Fatalf("POST /auth/otp = %d %s", code, body)
	}
	var loginCode string
	codeLine := regexp.MustCompile(`(?m)^.*login code.*` + regexp.QuoteMeta(names[operator]) + `.*\b(\d{6})\b.*$`)
	eventually(t, "the login code on the terminal", func() bool {
		if m := codeLine.FindStringSubmatch(out.String()); m != nil {
			loginCode = m[1]
		}
		return loginCode != ""
	})
	code, body := apiCall(t, "POST", base+"/api/v1/auth/verify", "", map[string]string{"phone": operator, "code": loginCode})
	var login struct{ Token string }
	if code != http.StatusOK || json.Unmarshal([]byte(body), &login) != nil || login.Token == "" {
		t.Fatalf("POST /auth/verify with the printed code = %d %s", code, body)
	}

	// The console's cookie session works over the demo's plain HTTP in
	// every browser: not Secure, which Safari refuses on http://localhost.
	if code, body := apiCall(t, "POST", base+"/api/v1/auth/otp", "", map[string]string{"phone": admin}); code != http.StatusAccepted {
		t.Fatalf("POST /auth/otp = %d %s", code, body)
	}
	var adminCode string
	adminLine := regexp.MustCompile(`(?m)^.*login code.*` + regexp.QuoteMeta(names[admin]) + `.*\b(\d{6})\b.*$`)
	eventually(t, "the admin's login code on the terminal", func() bool {
		if m := adminLine.FindStringSubmatch(out.String()); m != nil {
			adminCode = m[1]
		}
		return adminCode != ""
	})
	{
		req, _ := http.NewRequest("POST", base+"/api/v1/auth/verify", strings.NewReader(`{"phone":"`+admin+`","code":"`+adminCode+`","session":"cookie"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		set := resp.Header.Get("Set-Cookie")
		if resp.StatusCode != http.StatusOK || !strings.Contains(set, "switchboard_session=") || !strings.Contains(set, "HttpOnly") {
			t.Fatalf("cookie login = %d, Set-Cookie %q", resp.StatusCode, set)
		}
		if strings.Contains(set, "Secure") {
			t.Errorf("the demo's session cookie is Secure, which Safari drops on http://localhost: %q", set)
		}
	}

	// The operator sees Maria's query in the support pool and replies.
	var list struct {
		Conversations []struct {
			ID          string
			QueryType   string `json:"query_type"`
			ContactName string `json:"contact_name"`
		}
	}
	var queryID string
	eventually(t, "Maria's query in the operator's list", func() bool {
		code, body := apiCall(t, "GET", base+"/api/v1/conversations", login.Token, nil)
		if code != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil {
			return false
		}
		for _, c := range list.Conversations {
			if c.QueryType == "support" && c.ContactName == customer {
				queryID = c.ID
			}
		}
		return queryID != ""
	})
	if code, body := apiCall(t, "POST", base+"/api/v1/conversations/"+queryID+"/messages", login.Token,
		map[string]string{"text": "Hi Maria, Bruno here. How can I help?"}); code != http.StatusAccepted {
		t.Fatalf("reply = %d %s", code, body)
	}
	eventually(t, "the operator's reply in the simulator", func() bool {
		return simulatorView(t, base, customer).has("team", "Bruno here")
	})
	if v := simulatorView(t, base, customer); !v.has("customer", "Hello!") || !v.has("customer", "2") {
		t.Errorf("the simulator lost the customer's own messages: %+v", v)
	}

	// The page is served with a strict policy: no inline script or style.
	resp, err := http.Get(base + "/simulator")
	if err != nil {
		t.Fatal(err)
	}
	page := new(strings.Builder)
	_, _ = io.Copy(page, resp.Body)
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("simulator page CSP = %q", csp)
	}
	for _, want := range []string{`<label for="text" data-i18n="simulator.message">Message</label>`, `<button type="submit" data-i18n="simulator.send">Send</button>`, `src="/simulator/app.js"`} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("simulator page lacks %s", want)
		}
	}

	// Outside the API's sight, a post from another site is refused.
	req, _ := http.NewRequest("POST", base+"/simulator/api/messages", strings.NewReader(`{"name":"x","text":"y"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://evil.example")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin simulator post = %v %v, want 403", resp, err)
	}
	// Nor can anyone post to the channel's webhook without the
	// process's own token.
	if code, _ := apiCall(t, "POST", base+"/webhooks/simulator", "", map[string]string{"id": "x", "from": "x", "text": "x"}); code != http.StatusUnauthorized {
		t.Errorf("unsigned simulator webhook = %d, want 401", code)
	}

	stop()
	{
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("the demo's directory %s is still there after exit (%v)", dir, err)
		}
		if entries, _ := os.ReadDir(cwd); len(entries) > 0 {
			t.Errorf("the demo wrote to the working directory: %v", entries)
		}
		if _, err := os.Stat(filepath.Join(cwd, "switchboard.db")); err == nil {
			t.Error("the demo made switchboard.db in the working directory")
		}
	}
}

// The demo never runs beside a configured Redis or database, where real
// accounts are: it prints login codes.
func TestServeDemoRefusesConfiguredStorage(t *testing.T) {
	for _, tc := range []struct {
		env, value, want string
	}{
		{config.EnvRedisURL, "redis://127.0.0.1:1/0", "serve --demo refuses a configured Redis"},
		{config.EnvDatabaseURL, "postgres://switchboard@127.0.0.1:1/switchboard", "serve --demo refuses a configured database"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			demoEnv(t)
			inScratchDir(t)
			t.Setenv(config.EnvAuthSecret, "a-secret-of-16-characters")
			t.Setenv(tc.env, tc.value)
			var out logbuf.Buffer
			if code := run(context.Background(), []string{"serve", "--demo"}, &out, &out); code != 1 || !strings.Contains(out.String(), tc.want) {
				t.Fatalf("serve --demo with %s set: exit %d, want 1 and %q:\n%s", tc.env, code, tc.want, out.String())
			}
		})
	}
	t.Run("config file", func(t *testing.T) {
		demoEnv(t)
		dir := inScratchDir(t)
		file := filepath.Join(dir, "switchboard.yaml")
		if err := os.WriteFile(file, []byte("redis: {url: \"redis://127.0.0.1:1/0\"}\nauth: {secret: a-secret-of-16-characters}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var out logbuf.Buffer
		if code := run(context.Background(), []string{"serve", "--demo", "--config", file}, &out, &out); code != 1 || !strings.Contains(out.String(), "serve --demo refuses a configured Redis") {
			t.Fatalf("serve --demo with redis.url in the file: exit %d:\n%s", code, out.String())
		}
	})
	t.Run("channels", func(t *testing.T) {
		// A real channel would bring real customers to the demo's
		// made-up operators, whose login codes anyone at the terminal reads.
		demoEnv(t)
		dir := inScratchDir(t)
		file := filepath.Join(dir, "switchboard.yaml")
		conf := "auth: {secret: a-secret-of-16-characters}\nchannels:\n" +
			"  - {id: web, kind: webchat, secret: 0123456789abcdef, callback_url: \"https://shop.example.com/r\"}\n"
		if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		// Bounded: a demo that wrongly starts would serve until stopped.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var out logbuf.Buffer
		if code := run(ctx, []string{"serve", "--demo", "--config", file}, &out, &out); code != 1 || !strings.Contains(out.String(), "serve --demo refuses configured channels (web)") {
			t.Fatalf("serve --demo with a configured channel: exit %d:\n%s", code, out.String())
		}
	})
	t.Run("internal switch", func(t *testing.T) {
		// The demo's additions, asked for directly on a configured Redis,
		// are refused as well.
		cfg, err := config.Parse([]byte("auth: {secret: a-secret-of-16-characters}\n"), func(k string) (string, bool) {
			if k == config.EnvRedisURL {
				return "redis://127.0.0.1:1/0", true
			}
			return "", false
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = newServerWith(context.Background(), cfg, nil, roleAll, nil, nil, &demo{})
		if err == nil || !strings.Contains(err.Error(), "refuses a configured Redis") {
			t.Fatalf("newServerWith(demo) on a configured Redis = %v", err)
		}
	})
}

// Outside the demo no configuration can make a simulator channel, and a
// login code is never printed: with no channel to send it on it is
// given up, and only that is logged.
func TestNoLoginCodeIsPrintedOutsideDemo(t *testing.T) {
	cfg, err := config.Parse([]byte("channels:\n  - {id: sim, kind: simulator}\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := buildChannels(cfg, nil); err == nil || !strings.Contains(err.Error(), `unknown kind "simulator"`) {
		t.Fatalf("a simulator channel outside the demo = %v, want unknown kind", err)
	}

	demoEnv(t)
	inScratchDir(t)
	out, _ := startServe(t, "serve")
	var redisURL string
	eventually(t, "the embedded notice", func() bool {
		m := regexp.MustCompile(config.EnvRedisURL + `=(redis://127\.0\.0\.1:\d+/0) `).FindStringSubmatch(out.String())
		if m != nil {
			redisURL = m[1]
		}
		return m != nil && strings.Contains(out.String(), "Listening on ")
	})
	base := "http://" + regexp.MustCompile(`Listening on http://(\S+)`).FindStringSubmatch(out.String())[1]
	t.Setenv(config.EnvRedisURL, redisURL)
	t.Setenv(config.EnvAuthSecret, "any-secret-of-16-characters")
	const phone = "+15550100002"
	var cli logbuf.Buffer
	if code := run(context.Background(), []string{"users", "create", "--name", "Bruno Operator", "--phone", phone, "--role", "operator"}, &cli, &cli); code != 0 {
		t.Fatalf("users create: exit %d\n%s", code, cli.String())
	}
	if code, body := apiCall(t, "POST", base+"/api/v1/auth/otp", "", map[string]string{"phone": phone}); code != http.StatusAccepted {
		t.Fatalf("POST /auth/otp = %d %s", code, body)
	}
	eventually(t, "the code given up", func() bool { return strings.Contains(out.String(), "login code not queued") })
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "DEMO") || strings.Contains(line, "login code for") {
			t.Errorf("outside the demo a login code was printed: %s", line)
		}
		if !strings.Contains(line, "login code") {
			continue
		}
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			// The embedded notice, in words.
			if regexp.MustCompile(`\d{6}`).MatchString(line) {
				t.Errorf("a line about a login code carries six digits: %s", line)
			}
			continue
		}
		delete(entry, "time")
		delete(entry, "user")
		b, _ := json.Marshal(entry)
		if regexp.MustCompile(`\d{6}`).Match(b) {
			t.Errorf("a log line about a login code carries six digits: %s", line)
		}
	}
}
