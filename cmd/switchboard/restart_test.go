package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"switchboard/config"
	"switchboard/internal/redistest"
	"switchboard/queue"
	"switchboard/redisconn"
)

// privateRedis starts a Redis of the test's own, which it may FLUSHALL
// without emptying other tests' databases on a shared server: a
// redis-server process when REDIS_URL selects a real Redis (as in CI) and
// redis-server is installed, else the embedded server. It outlives the
// servers the test starts and stops on it.
func privateRedis(t *testing.T) (string, *redis.Client) {
	t.Helper()
	var addr string
	if _, err := exec.LookPath("redis-server"); err == nil && os.Getenv(redistest.EnvURL) != "" {
		port := freePort(t)
		redisProcess(t, "redis", "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
		addr = fmt.Sprintf("127.0.0.1:%d", port)
	} else {
		m, err := redisconn.StartEmbedded(50 * time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		addr = m.Addr()
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	waitFor(t, "the private Redis", 10*time.Second, func() bool { return c.Ping(context.Background()).Err() == nil })
	return "redis://" + addr + "/0", c
}

// customerWrites is a Cloud API webhook: the customer from (named name)
// writes text, under the provider message id id, now.
func customerWrites(id, from, name, text string) ([]byte, string) {
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"100000000000001"},"contacts":[{"profile":{"name":"` + name + `"},"wa_id":"` + from + `"}],"messages":[{"from":"` + from + `","id":"` + id + `","timestamp":"` + nowTS() + `","type":"text","text":{"body":"` + text + `"}}]}}]}]}`)
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return body, "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// restartYAML is a production-like configuration: Redis at redisURL, the
// database d, one Cloud API number (its Graph API at graphURL) that also
// sends the login codes.
func restartYAML(redisURL, graphURL string, d config.Database) string {
	return fmt.Sprintf(`http:
  addr: 127.0.0.1:0
redis:
  url: %q
shutdown_grace: 6s
auth:
  secret: restart-test-auth-secret
  otp: {channel: wa-main, template: login_code, language: en_US}
channels:
  - id: wa-main
    kind: whatsapp_cloud
    phone_number_id: "100000000000001"
    app_secret: %s
    verify_token: verify
    access_token: graph-token
    api_base_url: %q
`, redisURL, appSecret, graphURL) + databaseYAML(d)
}

// Views of the API's answers, as a client reads them.
type (
	convView struct {
		ID           string `json:"id"`
		ContactID    string `json:"contact_id"`
		ContactName  string `json:"contact_name"`
		ContactPhone string `json:"contact_phone"`
		State        string `json:"state"`
		QueryType    string `json:"query_type"`
		Assignee     string `json:"assignee"`
	}
	msgView struct {
		ID        string `json:"id"`
		Direction string `json:"direction"`
		Text      string `json:"text"`
		Status    string `json:"status"`
	}
	settingsView struct {
		Version int64  `json:"version"`
		YAML    string `json:"yaml"`
	}
	meView struct {
		User struct{ ID, Name, Phone, Role string } `json:"user"`
	}
)

// apiJSON calls the API and decodes its JSON answer into out, failing the
// test unless the status is want.
func apiJSON(t *testing.T, method, url, token string, body any, want int, out any) {
	t.Helper()
	code, raw := apiCall(t, method, url, token, body)
	if code != want {
		t.Fatalf("%s %s = %d %s, want %d", method, url, code, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(raw), out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, raw)
		}
	}
}

// listAll reads the whole conversation list, two at a time, following
// the cursors as a client pages through it.
func listAll(t *testing.T, base, token string) []convView {
	t.Helper()
	var all []convView
	cursor := ""
	for range 20 {
		var page struct {
			Conversations []convView `json:"conversations"`
			Next          string     `json:"next_cursor"`
		}
		apiJSON(t, "GET", base+"/api/v1/conversations?limit=2&cursor="+url.QueryEscape(cursor), token, nil, http.StatusOK, &page)
		all = append(all, page.Conversations...)
		if cursor = page.Next; cursor == "" {
			return all
		}
	}
	t.Fatalf("the conversation list did not end after 20 pages: %+v", all)
	return nil
}

// messagesOf reads a conversation's history as the API shows it.
func messagesOf(t *testing.T, base, token, id string) []msgView {
	t.Helper()
	var h struct {
		Messages []msgView `json:"messages"`
	}
	apiJSON(t, "GET", base+"/api/v1/conversations/"+id+"/messages", token, nil, http.StatusOK, &h)
	return h.Messages
}

// The "done when": with a database configured, what CS staff and
// customers built up (the history of a conversation that was replied to,
// the contact as staff edited it, the account, the settings, the whole
// conversation list) is all still there after Redis is emptied
// (FLUSHALL) and the server restarted; the account still logs in; and a
// provider's redelivery of a message acknowledged before does not double
// it, though the queue's dedupe went with Redis.
func TestEverythingSurvivesRedisFlushAndRestart(t *testing.T) {
	var graph recorder
	var sent atomic.Int32
	graphSrv := graph.server(t, func(string) string {
		return fmt.Sprintf(`{"messaging_product":"whatsapp","messages":[{"id":"wamid.out%d"}]}`, sent.Add(1))
	})
	redisURL, rc := privateRedis(t)
	d := testDatabase(t)
	yaml := restartYAML(redisURL, graphSrv.URL+"/v21.0", d)
	base, stop, _ := start(t, yaml, nil, roleAll)
	ctx := context.Background()

	// The first admin, made with the command the startup notice gives, on
	// the same configuration.
	t.Setenv(config.EnvConfigPath, "")
	t.Setenv(config.EnvRedisURL, "")
	t.Setenv(config.EnvDatabaseURL, "")
	cfgPath := writeConfig(t, t.TempDir(), yaml)
	const phone = "+5511912345678"
	code, out, errOut := runCmd(t, "users", "create", "--config", cfgPath, "--name", "Ana Lima", "--phone", phone, "--role", "admin")
	if code != 0 {
		t.Fatalf("users create: exit %d\n%s%s", code, out, errOut)
	}
	userID := strings.TrimSpace(out)

	// login asks for a code, reads it at the provider, and verifies it.
	codes := regexp.MustCompile(`"name":"login_code".*"text":"(\d{6})"`)
	login := func() string {
		t.Helper()
		before := len(graph.all())
		apiJSON(t, "POST", base+"/api/v1/auth/otp", "", map[string]string{"phone": phone}, http.StatusAccepted, nil)
		var code string
		eventually(t, "the login code at the provider", func() bool {
			for _, r := range graph.all()[before:] {
				if m := codes.FindStringSubmatch(r.body); m != nil && strings.Contains(r.body, `"to":"5511912345678"`) {
					code = m[1]
					return true
				}
			}
			return false
		})
		var v struct{ Token string }
		apiJSON(t, "POST", base+"/api/v1/auth/verify", "", map[string]string{"phone": phone, "code": code}, http.StatusOK, &v)
		if v.Token == "" {
			t.Fatal("verify gave no token")
		}
		return v.Token
	}
	token := login()

	// Settings, applied through the API; the workers read them at most a
	// second old.
	const settingsYAML = "timezone: UTC\ndefault_query_type: general\nquery_types:\n  - {id: general, strategy: claim}\n"
	var applied settingsView
	apiJSON(t, "PUT", base+"/api/v1/settings", token, settingsView{Version: 0, YAML: settingsYAML}, http.StatusOK, &applied)
	if applied.Version != 1 {
		t.Fatalf("PUT /settings applied version %d, want 1", applied.Version)
	}
	time.Sleep(1100 * time.Millisecond)

	// Three customers write.
	customers := []struct{ id, from, name, text string }{
		{"wamid.restart.1", "5511900000011", "Bruno", "hola"},
		{"wamid.restart.2", "5511900000012", "Carla", "¿tienen envío?"},
		{"wamid.restart.3", "5511900000013", "Davi", "quiero pagar"},
	}
	for _, c := range customers {
		body, sig := customerWrites(c.id, c.from, c.name, c.text)
		if code := post(t, base+"/webhooks/wa-main", body, sig); code != http.StatusOK {
			t.Fatalf("webhook %s = %d", c.id, code)
		}
	}
	var list []convView
	eventually(t, "the three conversations, routed by the settings", func() bool {
		list = listAll(t, base, token)
		return len(list) == 3 && !slices.ContainsFunc(list, func(c convView) bool { return c.QueryType != "general" })
	})
	i := slices.IndexFunc(list, func(c convView) bool { return c.ContactPhone == "5511900000011" })
	if i < 0 {
		t.Fatalf("no conversation of Bruno's in %+v", list)
	}
	convID, contactID := list[i].ID, list[i].ContactID

	// Staff edit the contact and reply; the reply reaches the provider
	// and is recorded as sent.
	apiJSON(t, "PUT", base+"/api/v1/contacts/"+contactID, token,
		map[string]string{"display_name": "Bruno Souza (VIP)", "notes": "prefers mornings"}, http.StatusOK, nil)
	apiJSON(t, "POST", base+"/api/v1/conversations/"+convID+"/messages", token,
		map[string]string{"text": "Olá Bruno, como posso ajudar?"}, http.StatusAccepted, nil)
	var hist []msgView
	eventually(t, "the reply sent and recorded", func() bool {
		hist = messagesOf(t, base, token, convID)
		return len(hist) == 2 && hist[1].Status == "sent"
	})
	if hist[0].Direction != "inbound" || hist[0].Text != "hola" || hist[1].Direction != "outbound" || hist[1].Text != "Olá Bruno, como posso ajudar?" {
		t.Fatalf("history before the restart = %+v", hist)
	}
	if !slices.ContainsFunc(graph.all(), func(r recorded) bool {
		return strings.Contains(r.body, `"to":"5511900000011"`) && strings.Contains(r.body, "Olá Bruno, como posso ajudar?")
	}) {
		t.Fatal("the reply did not reach the provider")
	}
	list = listAll(t, base, token)

	// Redis loses everything; the server restarts on it.
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := rc.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := rc.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Fatalf("after FLUSHALL Redis holds %d keys (%v)", n, err)
	}
	base, _, _ = start(t, yaml, nil, roleAll)

	// Sessions lived in Redis: the old token is gone, which shows the
	// rest below comes from the database. The account logs in again.
	if code, body := apiCall(t, "GET", base+"/api/v1/me", token, nil); code != http.StatusUnauthorized {
		t.Fatalf("a session from before FLUSHALL: GET /me = %d %s, want 401", code, body)
	}
	token = login()
	var me meView
	apiJSON(t, "GET", base+"/api/v1/me", token, nil, http.StatusOK, &me)
	if me.User.ID != userID || me.User.Name != "Ana Lima" || me.User.Phone != phone || me.User.Role != "admin" {
		t.Fatalf("the account after the restart: %+v, want %s Ana Lima, admin", me.User, userID)
	}

	var st settingsView
	apiJSON(t, "GET", base+"/api/v1/settings", token, nil, http.StatusOK, &st)
	if st.Version != 1 || st.YAML != settingsYAML {
		t.Fatalf("settings after the restart: version %d %q, want version 1 as applied", st.Version, st.YAML)
	}

	if after := listAll(t, base, token); !slices.Equal(after, list) {
		t.Fatalf("the conversation list after the restart:\n%+v\nwant, as before:\n%+v", after, list)
	}
	var cv convView
	apiJSON(t, "GET", base+"/api/v1/conversations/"+convID, token, nil, http.StatusOK, &cv)
	if cv.ContactID != contactID || cv.ContactName != "Bruno Souza (VIP)" || cv.ContactPhone != "5511900000011" || cv.Assignee != userID {
		t.Fatalf("Bruno's conversation after the restart: %+v", cv)
	}
	if after := messagesOf(t, base, token, convID); !slices.Equal(after, hist) {
		t.Fatalf("history after the restart:\n%+v\nwant, as before:\n%+v", after, hist)
	}

	// The provider redelivers Bruno's first message (the queue's dedupe
	// went with Redis), then he writes again: the redelivery is applied
	// without a trace, the new message joins his open conversation.
	insp := asynq.NewInspectorFromRedisClient(rc)
	defer insp.Close()
	body, sig := customerWrites(customers[0].id, customers[0].from, customers[0].name, customers[0].text)
	if code := post(t, base+"/webhooks/wa-main", body, sig); code != http.StatusOK {
		t.Fatalf("redelivery after the restart = %d", code)
	}
	eventually(t, "the redelivery to be processed", func() bool {
		info, err := insp.GetTaskInfo(queue.QueueInbound, "in:wa-main:"+customers[0].id)
		return err == nil && info.State == asynq.TaskStateCompleted
	})
	body, sig = customerWrites("wamid.restart.4", customers[0].from, customers[0].name, "¿siguen ahí?")
	if code := post(t, base+"/webhooks/wa-main", body, sig); code != http.StatusOK {
		t.Fatalf("a new message after the restart = %d", code)
	}
	var now []msgView
	eventually(t, "the new message in Bruno's conversation", func() bool {
		now = messagesOf(t, base, token, convID)
		return len(now) >= 3
	})
	// WhatsApp stamps messages in whole seconds, so the new one may sort
	// before a reply made in the same second: its place is not the point.
	isNew := func(m msgView) bool { return m.ID == "wamid.restart.4" }
	if len(now) != 3 || !slices.Equal(slices.DeleteFunc(slices.Clone(now), isNew), hist) ||
		!slices.ContainsFunc(now, func(m msgView) bool { return isNew(m) && m.Direction == "inbound" && m.Text == "¿siguen ahí?" }) {
		t.Fatalf("history after a redelivery and a new message = %+v, want the two before, once each, and the new one", now)
	}
	if after := listAll(t, base, token); len(after) != 3 {
		t.Fatalf("after Bruno wrote again the list has %d conversations, want the same 3: %+v", len(after), after)
	}
}
