package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/config"
	"switchboard/internal/logbuf"
)

// embeddedYAML is a first try-out: no Redis and no auth secret at all, one
// WhatsApp Cloud channel (whose Graph API is graphURL) that also sends the
// login codes.
func embeddedYAML(graphURL string) string {
	return fmt.Sprintf(`http:
  addr: 127.0.0.1:0
shutdown_grace: 6s
auth:
  otp: {channel: wa-main, template: login_code, language: en_US}
channels:
  - id: wa-main
    kind: whatsapp_cloud
    phone_number_id: "100000000000001"
    app_secret: %s
    verify_token: verify
    access_token: graph-token
    api_base_url: %q
`, appSecret, graphURL)
}

// closedNowSettings is a routing settings document whose only opening
// hour is on the weekday three days from now (UTC), so it is closed now
// and for the next two days whatever day and time the test runs.
func closedNowSettings(now time.Time) string {
	day := strings.ToLower(now.UTC().AddDate(0, 0, 3).Weekday().String()[:3])
	return fmt.Sprintf(`timezone: UTC
opening_hours:
  weekly: {%s: ["09:00-10:00"]}
  out_of_hours: {reply: closed, queue_until_open: true}
default_query_type: general
query_types:
  - {id: general, strategy: claim}
templates:
  - {id: closed, language: en, text: "We are closed. We open at {{next_open}}."}
`, day)
}

// On the embedded default (no Redis, no auth secret configured), the
// startup notice gives a command that creates the first account in the
// in-process Redis; that account's login code, an operator's reply and an
// out-of-hours auto-reply all reach the provider.
func TestEmbeddedDefaultReachesTheProvider(t *testing.T) {
	var graph recorder
	var sent atomic.Int32
	graphSrv := graph.server(t, func(string) string {
		return fmt.Sprintf(`{"messaging_product":"whatsapp","messages":[{"id":"wamid.out%d"}]}`, sent.Add(1))
	})

	cfg, err := config.Parse([]byte(embeddedYAML(graphSrv.URL+"/v21.0")), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	logs, notice := &logbuf.Buffer{}, &logbuf.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// serve and the commands it tells the person to run share the
	// default database (switchboard.db) in the working directory.
	inScratchDir(t)
	db, err := openDatabase(ctx, cfg.Database, true, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv, err := newServer(ctx, cfg, db, roleAll, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	srv.notice = notice
	done := make(chan error, 1)
	go func() { done <- srv.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	base := "http://" + <-srv.addr

	// The notice, written to the terminal rather than only logged, says
	// where the embedded Redis is and how to create the first account.
	eventually(t, "the embedded Redis notice", func() bool { return strings.Contains(notice.String(), "users create") })
	text := notice.String()
	if !strings.Contains(text, "NOTHING IS DURABLE") || !strings.Contains(text, "Listening on "+base) || !strings.Contains(text, "random secret") {
		t.Fatalf("startup notice lacks the warnings or the address:\n%s", text)
	}
	m := regexp.MustCompile(`(?m)^\s+` + config.EnvRedisURL + `=(redis://127\.0\.0\.1:\d+/0) ` + config.EnvAuthSecret + `=\S+ .* users create --name "Your Name" --phone \+\d+ --role admin$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("startup notice lacks the users create command:\n%s", text)
	}
	if strings.Contains(logs.String(), "+15550001234") {
		t.Fatal("the notice's example phone number went to the log")
	}

	// Run that command, as printed, with the operator's own number.
	t.Setenv(config.EnvConfigPath, "")
	t.Setenv(config.EnvRedisURL, m[1])
	t.Setenv(config.EnvAuthSecret, "any-secret-of-16-characters")
	const phone = "+5511912345678"
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"users", "create", "--name", "Ana Lima", "--phone", phone, "--role", "admin"}, &out, &errOut); code != 0 {
		t.Fatalf("users create on the embedded Redis: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	settingsFile := filepath.Join(t.TempDir(), "settings.yaml")
	if err := os.WriteFile(settingsFile, []byte(closedNowSettings(time.Now())), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errOut.Reset()
	if code := run(ctx, []string{"apply", "-f", settingsFile}, &out, &errOut); code != 0 {
		t.Fatalf("apply on the embedded Redis: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	applied := time.Now()

	// (a) A login code reaches the provider, and it logs in.
	if code, body := apiCall(t, "POST", base+"/api/v1/auth/otp", "", map[string]string{"phone": phone}); code != http.StatusAccepted {
		t.Fatalf("POST /auth/otp = %d %s", code, body)
	}
	var codeSent string
	eventually(t, "the login code at the provider", func() bool {
		for _, r := range graph.all() {
			if m := regexp.MustCompile(`"name":"login_code".*"text":"(\d{6})"`).FindStringSubmatch(r.body); m != nil && strings.Contains(r.body, `"to":"5511912345678"`) {
				codeSent = m[1]
				return true
			}
		}
		return false
	})
	code, body := apiCall(t, "POST", base+"/api/v1/auth/verify", "", map[string]string{"phone": phone, "code": codeSent})
	var login struct{ Token string }
	if code != http.StatusOK || json.Unmarshal([]byte(body), &login) != nil || login.Token == "" {
		t.Fatalf("POST /auth/verify with the code the provider got = %d %s", code, body)
	}

	// (c) A customer writing while closed gets the out-of-hours reply.
	// The worker reads settings at most a second old.
	time.Sleep(time.Until(applied.Add(1100 * time.Millisecond)))
	webhook, sig := signedTextNow("wamid.embedded1")
	if code := post(t, base+"/webhooks/wa-main", webhook, sig); code != http.StatusOK {
		t.Fatalf("webhook = %d", code)
	}
	eventually(t, "the out-of-hours reply at the provider", func() bool {
		for _, r := range graph.all() {
			if strings.Contains(r.body, `"to":"5511900000001"`) && strings.Contains(r.body, "We are closed. We open at ") {
				return true
			}
		}
		return false
	})

	// (b) The operator's reply through the API reaches the provider.
	var list struct {
		Conversations []struct{ ID string }
	}
	eventually(t, "the conversation in the API", func() bool {
		code, body := apiCall(t, "GET", base+"/api/v1/conversations", login.Token, nil)
		return code == http.StatusOK && json.Unmarshal([]byte(body), &list) == nil && len(list.Conversations) == 1
	})
	if code, body := apiCall(t, "POST", base+"/api/v1/conversations/"+list.Conversations[0].ID+"/messages", login.Token,
		map[string]string{"text": "Olá! Como posso ajudar?"}); code != http.StatusAccepted {
		t.Fatalf("reply = %d %s", code, body)
	}
	eventually(t, "the operator's reply at the provider", func() bool {
		for _, r := range graph.all() {
			if strings.Contains(r.body, `"to":"5511900000001"`) && strings.Contains(r.body, "Olá! Como posso ajudar?") {
				return true
			}
		}
		return false
	})
	for _, r := range graph.all() {
		if r.path != "/v21.0/100000000000001/messages" || r.header.Get("Authorization") != "Bearer graph-token" {
			t.Errorf("provider got %s with %q, want the channel's messages endpoint and token", r.path, r.header.Get("Authorization"))
		}
	}
}

// signedTextNow is signedText's message sent now, so the customer service
// window is open whatever day the test runs.
func signedTextNow(id string) ([]byte, string) {
	body, _ := signedText(id)
	body = bytes.Replace(body, []byte(`"timestamp":"1763900000"`), []byte(`"timestamp":"`+strconv.FormatInt(time.Now().Unix(), 10)+`"`), 1)
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return body, "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// apiCall sends a JSON request, with a bearer token unless it is empty, and
// returns the status and body.
func apiCall(t *testing.T, method, url, token string, body any) (int, string) {
	t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp.StatusCode, out.String()
}

// Startup reports the mistakes of every channel at once, each by its key
// path, not only the first channel's.
func TestEveryChannelMistakeIsReportedAtOnce(t *testing.T) {
	cfg, err := config.Parse([]byte(`channels:
  - id: tg
    kind: telegram
    bot_token: "123:abc"
  - id: tw
    kind: twilio
    account_sid: AC00000000000000000000000000000001
    auth_token: t
    fromm: "+14155238886"
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	_, err = buildChannels(cfg, slog.New(slog.DiscardHandler))
	for _, want := range []string{`channel "tg"`, "secret_token", `channel "tw"`, "channels[1].fromm: unknown key (line 9)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("buildChannels = %v, want it to mention %q", err, want)
		}
	}
}
