package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/channels/webchat"
	"switchboard/config"
	"switchboard/conversations"
	"switchboard/internal/redistest"
	"switchboard/queue"

	"github.com/hibiken/asynq"
)

// recorder is a fake provider API that keeps what it was sent.
type recorder struct {
	mu       sync.Mutex
	requests []recorded
}

type recorded struct {
	path   string
	header http.Header
	body   string
}

func (r *recorder) server(t *testing.T, answer func(path string) string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests = append(r.requests, recorded{req.URL.Path, req.Header.Clone(), string(b)})
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, answer(req.URL.Path))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests)
}

const (
	tgSecret      = "tg-secret_token-1"
	twilioToken   = "twilio-auth-token"
	webchatSecret = "webchat-shared-secret"
	twilioPublic  = "https://cs.example.com"
)

func everyChannelYAML(redisURL, tgAPI, twilioAPI, site, store string) string {
	return fmt.Sprintf(`http:
  addr: 127.0.0.1:0
redis:
  url: %q
shutdown_grace: 6s
auth:
  secret: serve-test-auth-secret
channels:
  - id: tg-support
    kind: telegram
    bot_token: "123456:ABC-bot-token"
    secret_token: %s
    api_base_url: %q
  - id: twilio-wa
    kind: twilio
    account_sid: AC00000000000000000000000000000001
    auth_token: %s
    from: "whatsapp:+14155238886"
    public_url: %q
    api_base_url: %q
  - id: web
    kind: webchat
    secret: %s
    callback_url: %q
  - id: wa-linked
    kind: whatsmeow
    store: "file:%s"
`, redisURL, tgSecret, tgAPI, twilioToken, twilioPublic, twilioAPI, webchatSecret, site+"/chat/replies", store)
}

func send(t *testing.T, method, target string, header http.Header, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest(method, target, bytes.NewReader(body))
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// twilioSign is Twilio's documented algorithm, written out independently of
// the channel: the full URL, then each POST parameter's name and value in
// name order, HMAC-SHA1 with the auth token, base64.
func twilioSign(fullURL string, form url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range form {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range form[k] {
			b.WriteString(k + v)
		}
	}
	mac := hmac.New(sha1.New, []byte(twilioToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Each webhook channel's message, posted the way its provider posts it,
// becomes a conversation; a reply on each goes out through its provider's
// API; the linked-device channel, with no number linked, is reported as
// such and exported in the metrics.
func TestEveryChannelKindFromWebhookToReply(t *testing.T) {
	rdb := redistest.Client(t)
	var tg, tw, site recorder
	tgAPI := tg.server(t, func(string) string { return `{"ok":true,"result":{"message_id":77,"chat":{"id":5213748901}}}` })
	twAPI := tw.server(t, func(string) string { return `{"sid":"SM00000000000000000000000000000001","status":"queued"}` })
	siteSrv := site.server(t, func(string) string { return `{"id":"site-reply-1"}` })
	dir := t.TempDir()
	d := testDatabase(t)
	base, _, _ := start(t, everyChannelYAML(redistest.URL(rdb), tgAPI.URL, twAPI.URL, siteSrv.URL, filepath.Join(dir, "wa.db"))+databaseYAML(d), nil, roleAll)

	// Telegram: a private message, with the secret token header.
	update := []byte(`{"update_id":900001,"message":{"message_id":1376,"from":{"id":5213748901,"is_bot":false,"first_name":"Ana","last_name":"Lima"},"chat":{"id":5213748901,"first_name":"Ana","type":"private"},"date":` + nowTS() + `,"text":"hola, quiero pagar"}}`)
	if code := send(t, "POST", base+"/webhooks/tg-support", http.Header{"X-Telegram-Bot-Api-Secret-Token": {tgSecret}, "Content-Type": {"application/json"}}, update); code != 200 {
		t.Fatalf("telegram webhook: %d", code)
	}
	if code := send(t, "POST", base+"/webhooks/tg-support", http.Header{"X-Telegram-Bot-Api-Secret-Token": {"wrong"}}, update); code != 401 {
		t.Fatalf("telegram webhook with a wrong secret: %d, want 401", code)
	}

	// Twilio: form-encoded, signed over the public URL the proxy exposes,
	// not the address this test reaches the gateway on.
	form := url.Values{"MessageSid": {"SM11111111111111111111111111111111"}, "AccountSid": {"AC00000000000000000000000000000001"},
		"From": {"whatsapp:+5511900000002"}, "To": {"whatsapp:+14155238886"}, "Body": {"hola desde Twilio"},
		"NumMedia": {"0"}, "ProfileName": {"Bruno"}, "WaId": {"5511900000002"}}
	twHeader := http.Header{"Content-Type": {"application/x-www-form-urlencoded"},
		"X-Twilio-Signature": {twilioSign(twilioPublic+"/webhooks/twilio-wa", form)}}
	if code := send(t, "POST", base+"/webhooks/twilio-wa", twHeader, []byte(form.Encode())); code != 200 {
		t.Fatalf("twilio webhook: %d", code)
	}

	// Web chat: HMAC over "<timestamp>.<body>".
	chat := []byte(`{"id":"m-1","session_id":"visitor-42","name":"Visitor","text":"¿tienen envío?","timestamp":` + nowTS() + `}`)
	ts := time.Now().Unix()
	chatHeader := http.Header{"Content-Type": {"application/json"}, webchat.TimestampHeader: {strconv.FormatInt(ts, 10)},
		webchat.SignatureHeader: {webchat.Sign([]byte(webchatSecret), ts, chat)}}
	if code := send(t, "POST", base+"/webhooks/web", chatHeader, chat); code != 200 {
		t.Fatalf("webchat webhook: %d", code)
	}
	stale := http.Header{webchat.TimestampHeader: {strconv.FormatInt(ts-600, 10)},
		webchat.SignatureHeader: {webchat.Sign([]byte(webchatSecret), ts-600, chat)}}
	if code := send(t, "POST", base+"/webhooks/web", stale, chat); code != 401 {
		t.Fatalf("replayed webchat request: %d, want 401", code)
	}

	recs := records(t, d)
	ctx := context.Background()
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	qc := queue.NewClient(client, time.Hour)
	for _, c := range []struct{ channel, from string }{
		{"tg-support", "5213748901"}, {"twilio-wa", "5511900000002"}, {"web", "visitor-42"},
	} {
		var contact *conversations.Contact
		eventually(t, "the "+c.channel+" conversation", func() bool {
			var err error
			contact, err = recs.Contact(ctx, conversations.ContactID(c.channel, c.from))
			return err == nil && contact.OpenQuery != ""
		})
		msgID := "sb-reply-" + c.channel
		if created, _, err := recs.RecordOutbound(ctx, contact.OpenQuery, msgID, "", "Gracias, ya le ayudamos", nil, time.Now()); err != nil || !created {
			t.Fatalf("record the %s reply: created %v, %v", c.channel, created, err)
		}
		if err := qc.EnqueueOutbound(ctx, queue.Outbound{Channel: c.channel, QueryID: contact.OpenQuery, MessageID: msgID}); err != nil {
			t.Fatal(err)
		}
	}

	eventually(t, "a reply through every provider", func() bool {
		return len(tg.all()) == 1 && len(tw.all()) == 1 && len(site.all()) == 1
	})
	if r := tg.all()[0]; r.path != "/bot123456:ABC-bot-token/sendMessage" || !strings.Contains(r.body, `"chat_id":5213748901`) {
		t.Errorf("Telegram got %s %s", r.path, r.body)
	}
	if r := tw.all()[0]; !strings.HasSuffix(r.path, "/Accounts/AC00000000000000000000000000000001/Messages.json") ||
		!strings.Contains(r.body, "To=whatsapp%3A%2B5511900000002") {
		t.Errorf("Twilio got %s %s", r.path, r.body)
	}
	r := site.all()[0]
	sigTS, _ := strconv.ParseInt(r.header.Get(webchat.TimestampHeader), 10, 64)
	if r.path != "/chat/replies" || !strings.Contains(r.body, `"session_id":"visitor-42"`) ||
		r.header.Get(webchat.SignatureHeader) != webchat.Sign([]byte(webchatSecret), sigTS, []byte(r.body)) {
		t.Errorf("the site got %s %v %s, want a signed reply", r.path, r.header, r.body)
	}

	// The provider's message id is recorded for every channel.
	for _, c := range []struct{ channel, from, providerID string }{
		{"tg-support", "5213748901", "5213748901:77"}, {"twilio-wa", "5511900000002", "SM00000000000000000000000000000001"}, {"web", "visitor-42", "site-reply-1"},
	} {
		eventually(t, c.channel+" send recorded", func() bool {
			contact, err := recs.Contact(ctx, conversations.ContactID(c.channel, c.from))
			if err != nil {
				return false
			}
			msgs, err := history(ctx, recs, contact.OpenQuery)
			if err != nil {
				return false
			}
			return slices.ContainsFunc(msgs, func(m conversations.Message) bool {
				return m.ProviderID == c.providerID && m.Status == channels.StatusSent
			})
		})
	}

	// The linked device has no number yet: /readyz says so without failing,
	// and the metrics carry the channel.
	eventually(t, "the linked channel reported", func() bool {
		code, body := get(t, base+"/readyz")
		return code == 200 && strings.Contains(body, `"wa-linked":"not_linked"`)
	})
	if _, body := get(t, base+"/metrics"); !strings.Contains(body, `switchboard_whatsmeow_held{channel="wa-linked"}`) ||
		!strings.Contains(body, `switchboard_webhook_requests_total{channel="tg-support",kind="telegram",outcome="accepted"} 1`) ||
		!strings.Contains(body, `switchboard_webhook_requests_total{channel="web",kind="webchat",outcome="unauthorized"} 1`) {
		t.Errorf("/metrics lacks the channel series:\n%s", grep(body, "whatsmeow|webhook_requests_total"))
	}
}

func grep(s, pattern string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for _, p := range strings.Split(pattern, "|") {
			if strings.Contains(line, p) {
				out = append(out, line)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWhatsappStatusAndTelegramSetWebhookCommands(t *testing.T) {
	var tg recorder
	tgAPI := tg.server(t, func(string) string { return `{"ok":true,"result":true,"description":"Webhook was set"}` })
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "switchboard.yaml")
	yaml := everyChannelYAML("", tgAPI.URL, "https://api.twilio.com", "https://shop.example.com", filepath.Join(dir, "wa.db"))
	yaml = strings.Replace(yaml, "redis:\n  url: \"\"\n", "", 1)
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"whatsapp", "status", "--config", cfgPath}, &out, &errOut); code != 0 {
		t.Fatalf("whatsapp status: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "wa-linked") || !strings.Contains(out.String(), "not linked") {
		t.Fatalf("whatsapp status printed:\n%s", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"whatsapp", "pair", "--config", cfgPath, "--channel", "tg-support"}, &out, &errOut); code != 2 {
		t.Fatalf("pairing a telegram channel: exit %d, want 2", code)
	}

	out.Reset()
	errOut.Reset()
	args := []string{"telegram", "set-webhook", "--config", cfgPath, "--channel", "tg-support", "--url", "https://cs.example.com/webhooks/tg-support"}
	if code := run(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("telegram set-webhook: exit %d: %s", code, errOut.String())
	}
	reqs := tg.all()
	if len(reqs) != 1 || reqs[0].path != "/bot123456:ABC-bot-token/setWebhook" ||
		!strings.Contains(reqs[0].body, `"url":"https://cs.example.com/webhooks/tg-support"`) || !strings.Contains(reqs[0].body, `"secret_token":"`+tgSecret+`"`) {
		t.Fatalf("Bot API got %+v", reqs)
	}
	if strings.Contains(out.String()+errOut.String(), "ABC-bot-token") {
		t.Fatal("the command printed the bot token")
	}
}

// The example configuration documents every channel kind; with its
// commented entries switched on, every one of them must load and build.
func TestExampleConfigBuildsEveryChannelKind(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/switchboard.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "  # - id: "); ok {
			line = "  - id: " + rest
		} else if rest, ok := strings.CutPrefix(line, "  #   "); ok && !strings.HasPrefix(rest, " ") {
			line = "    " + rest
		}
		lines = append(lines, line)
	}
	yaml := strings.ReplaceAll(strings.Join(lines, "\n"), "/var/lib/switchboard/wa.db", filepath.Join(t.TempDir(), "wa.db"))
	env := func(k string) (string, bool) {
		if k == "SWITCHBOARD_HTTP_ADDR" || k == "SWITCHBOARD_REDIS_URL" || k == "SWITCHBOARD_DATABASE_URL" || k == "SWITCHBOARD_CONFIG" {
			return "", false // the overrides stay unset
		}
		if k == "TWILIO_ACCOUNT_SID" {
			return "AC00000000000000000000000000000001", true
		}
		return "x-secret-value-0123456789", true
	}
	cfg, err := config.Parse([]byte(yaml), env)
	if err != nil {
		t.Fatalf("example config with every channel: %v", err)
	}
	chans, err := buildChannels(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, ch := range chans {
		kinds[ch.Kind()] = true
	}
	for _, k := range []string{"whatsapp_cloud", "whatsmeow", "telegram", "twilio", "webchat"} {
		if !kinds[k] {
			t.Errorf("the example config has no %s channel", k)
		}
	}
}

// unlink must not connect with a device's keys while a serve process holds
// the device: it refuses and names the holder.
func TestWhatsappUnlinkRefusesWhileAProcessHoldsTheDevice(t *testing.T) {
	rdb := redistest.Client(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "switchboard.yaml")
	yaml := everyChannelYAML(redistest.URL(rdb), "https://api.telegram.org", "https://api.twilio.com", "https://shop.example.com", filepath.Join(dir, "wa.db"))
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(context.Background(), "{sb}:lease:channel:wa-linked", "worker-7/abc", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"whatsapp", "unlink", "--config", cfgPath, "--channel", "wa-linked"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "held by worker-7/abc") {
		t.Fatalf("unlink while held: exit %d, stderr %q", code, errOut.String())
	}
	// Released, it gets as far as the device store: nothing is linked there.
	rdb.Del(context.Background(), "{sb}:lease:channel:wa-linked")
	errOut.Reset()
	code = run(context.Background(), []string{"whatsapp", "unlink", "--config", cfgPath, "--channel", "wa-linked"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "no WhatsApp number is linked") {
		t.Fatalf("unlink of an unlinked channel: exit %d, stderr %q", code, errOut.String())
	}
	if holder, _ := rdb.Get(context.Background(), "{sb}:lease:channel:wa-linked").Result(); holder != "" {
		t.Fatalf("the command left the lease held by %q", holder)
	}
}

// Mistakes that would only show at the first login or the first linked
// message are refused at startup.
func TestChannelConfigMistakesAreRefusedAtStartup(t *testing.T) {
	base := "channels:\n" +
		"  - {id: web, kind: webchat, secret: 0123456789abcdef, callback_url: \"https://shop.example.com/r\"}\n" +
		"  - {id: wa-a, kind: whatsmeow, store: \"file:/tmp/sb-a.db\"}\n" +
		"  - {id: wa-main, kind: whatsapp_cloud, phone_number_id: \"1\", app_secret: s, verify_token: v, access_token: a}\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"two linked numbers in one store", base + "  - {id: wa-b, kind: whatsmeow, store: \"file:/tmp/sb-a.db\"}\n", `channels "wa-a" and "wa-b" have the same store`},
		{"codes on a channel that cannot send them", base + "auth:\n  otp: {channel: web}\n", `auth.otp.channel: channel "web" cannot send login codes`},
		{"a Cloud API number without a template", base + "auth:\n  otp: {channel: wa-main}\n", `auth.otp.template: required for channel "wa-main"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tc.yaml), func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatal(err)
			}
			_, err = buildChannels(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// A linked number sends codes as text: no template needed.
	cfg, err := config.Parse([]byte(base+"auth:\n  otp: {channel: wa-a}\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := buildChannels(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("codes on a linked number: %v", err)
	}
}
