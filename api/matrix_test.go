package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"switchboard/auth"
	"switchboard/channels"
	"switchboard/channels/whatsapp"
	"switchboard/internal/logbuf"
	"switchboard/metrics"
	"switchboard/queue"
	"switchboard/worker"
)

// routePermissions is what every /api/v1 route requires: "public" for
// none, "authenticated" for any valid token, else a permission. A route
// missing here fails the test, so new routes get a row.
var routePermissions = map[string]string{
	"GET /api/v1/openapi.yaml":                       "public",
	"POST /api/v1/auth/otp":                          "public",
	"POST /api/v1/auth/verify":                       "public",
	"POST /api/v1/auth/logout":                       "authenticated",
	"GET /api/v1/me":                                 "authenticated",
	"GET /api/v1/users":                              string(auth.PermUsers),
	"POST /api/v1/users":                             string(auth.PermUsers),
	"GET /api/v1/users/:id":                          string(auth.PermUsers),
	"PATCH /api/v1/users/:id":                        string(auth.PermUsers),
	"POST /api/v1/users/:id/disable":                 string(auth.PermUsers),
	"POST /api/v1/users/:id/enable":                  string(auth.PermUsers),
	"DELETE /api/v1/users/:id":                       string(auth.PermUsers),
	"GET /api/v1/groups":                             string(auth.PermGroups),
	"POST /api/v1/groups":                            string(auth.PermGroups),
	"GET /api/v1/groups/:id":                         string(auth.PermGroups),
	"PATCH /api/v1/groups/:id":                       string(auth.PermGroups),
	"DELETE /api/v1/groups/:id":                      string(auth.PermGroups),
	"GET /api/v1/permissions":                        string(auth.PermUsers),
	"GET /api/v1/roles":                              string(auth.PermUsers),
	"PUT /api/v1/roles/:name":                        string(auth.PermRoles),
	"DELETE /api/v1/roles/:name":                     string(auth.PermRoles),
	"GET /api/v1/audit":                              string(auth.PermAudit),
	"GET /api/v1/conversations":                      "authenticated",
	"GET /api/v1/conversations/:id":                  "authenticated",
	"GET /api/v1/conversations/:id/messages":         "authenticated",
	"GET /api/v1/media/:id":                          "authenticated",
	"HEAD /api/v1/media/:id":                         "authenticated",
	"POST /api/v1/conversations/:id/messages":        string(auth.PermReply),
	"POST /api/v1/conversations/:id/claim":           string(auth.PermSelfAssign),
	"POST /api/v1/conversations/:id/return":          string(auth.PermReturn),
	"POST /api/v1/conversations/:id/transfer":        string(auth.PermTransfer),
	"POST /api/v1/conversations/:id/close":           string(auth.PermClose),
	"PUT /api/v1/conversations/:id/tags":             string(auth.PermTags),
	"GET /api/v1/conversations/:id/notes":            "authenticated",
	"POST /api/v1/conversations/:id/notes":           string(auth.PermNotes),
	"GET /api/v1/conversations/:id/mention-targets":  string(auth.PermNotes),
	"PUT /api/v1/me/presence":                        "authenticated",
	"GET /api/v1/settings":                           string(auth.PermSettings),
	"GET /api/v1/events":                             "authenticated",
	"PUT /api/v1/contacts/:id":                       string(auth.PermEditContacts),
	"PUT /api/v1/contacts/:id/portfolio":             string(auth.PermPortfolio),
	"DELETE /api/v1/contacts/:id/portfolio":          string(auth.PermPortfolio),
	"POST /api/v1/contacts/:id/erase":                string(auth.PermErase),
	"PUT /api/v1/settings":                           string(auth.PermSettings),
	"GET /api/v1/canned-responses":                   "authenticated",
	"POST /api/v1/conversations/:id/templates":       string(auth.PermReply),
	"POST /api/v1/derivations":                       string(auth.PermDeriveBulk),
	"GET /api/v1/team":                               "authenticated",
	"GET /api/v1/conversations/:id/transfer-targets": string(auth.PermTransfer),
	"GET /api/v1/me/views":                           string(auth.PermViews),
	"POST /api/v1/me/views":                          string(auth.PermViews),
	"DELETE /api/v1/me/views/:id":                    string(auth.PermViews),
	"GET /api/v1/reports/operators":                  string(auth.PermReports),
	"GET /api/v1/reports/conversations":              string(auth.PermReports),
}

// TestPermissionMatrix tries every API route as every built-in role and
// without a token, and checks each refusal from the side that must be
// refused.
func TestPermissionMatrix(t *testing.T) {
	h := newHarness(t, nil)
	var routes []string
	for _, r := range h.echo.Routes() {
		if strings.HasPrefix(r.Path, "/api/v1/") && !strings.HasSuffix(r.Path, "/*") && r.Method != "echo_route_not_found" {
			routes = append(routes, r.Method+" "+r.Path)
		}
	}
	slices.Sort(routes)
	routes = slices.Compact(routes)
	for _, r := range routes {
		if _, ok := routePermissions[r]; !ok {
			t.Fatalf("route %s has no row in routePermissions", r)
		}
	}
	if len(routes) != len(routePermissions) {
		t.Fatalf("%d routes served, %d in the table", len(routes), len(routePermissions))
	}

	phone := 100
	newPhone := func() string { phone++; return fmt.Sprintf("+55119000%05d", phone) }
	for _, role := range auth.BuiltInNames {
		ph := newPhone()
		h.createUser(t, "As "+role, ph, role)
		token := h.loginAs(t, ph)
		perms := auth.BuiltIn[role].Permissions
		for _, route := range routes {
			if route == "POST /api/v1/auth/logout" || route == "GET /api/v1/events" {
				continue // logout ends the session; the stream never ends (both checked below)
			}
			method, path, _ := strings.Cut(route, " ")
			target := h.createUser(t, "Target", newPhone(), auth.RoleOperator)
			path = strings.ReplaceAll(path, ":id", target.ID)
			path = strings.ReplaceAll(path, ":name", "matrix-"+role)
			body := map[string]any{"name": "Someone", "phone": newPhone(), "role": "operator", "permissions": []string{"conversations.reply"},
				"text": "hi", "to": target.ID, "reason": "solved", "presence": "away", "from": target.ID, "template": "none", "language": "es", "operator": target.ID, "display_name": "X"}
			need := routePermissions[route]

			if need != "public" {
				if r := h.do(t, method, path, "", body); r.status != http.StatusUnauthorized {
					t.Errorf("%s without a token: %d, want 401", route, r.status)
				}
				if r := h.do(t, method, path, "not-a-token", body); r.status != http.StatusUnauthorized {
					t.Errorf("%s with a bad token: %d, want 401", route, r.status)
				}
			}
			if need == "public" {
				continue
			}
			r := h.do(t, method, path, token, body)
			allowed := need == "authenticated" || slices.Contains(perms, auth.Permission(need))
			switch {
			case allowed && (r.status == http.StatusUnauthorized || r.status == http.StatusForbidden):
				t.Errorf("%s as %s: %d %s, want it allowed", route, role, r.status, r.body)
			case !allowed && r.status != http.StatusForbidden:
				t.Errorf("%s as %s: %d, want 403", route, role, r.status)
			}
		}
		if r := h.do(t, "GET", "/api/v1/events", "", nil); r.status != http.StatusUnauthorized {
			t.Errorf("events without a token: %d, want 401", r.status)
		}
		if r := h.do(t, "POST", "/api/v1/auth/logout", token, nil); r.status != http.StatusNoContent {
			t.Errorf("logout as %s: %d", role, r.status)
		}
		if r := h.do(t, "GET", "/api/v1/me", token, nil); r.status != http.StatusUnauthorized {
			t.Errorf("%s's token after logout: %d, want 401", role, r.status)
		}
	}
}

// graphFake records template sends.
type graphFake struct {
	mu     sync.Mutex
	bodies []string
}

func (g *graphFake) last() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.bodies) == 0 {
		return ""
	}
	return g.bodies[len(g.bodies)-1]
}

// queueSender is serve's code sender: the code goes through the OTP queue.
type queueSender struct{ q *queue.Client }

func (s queueSender) SendCode(ctx context.Context, phone, code string, expires time.Time) error {
	return s.q.EnqueueOTP(ctx, queue.OTP{Channel: "wa-main", Phone: phone, Code: code}, expires)
}

// TestLoginThroughWhatsApp walks the real path: the code goes through the
// queue to a worker, which sends the authentication template to the Graph
// API; the code read from that send logs the user in, once. Nothing in the
// logs carries the phone number, the code or the token.
func TestLoginThroughWhatsApp(t *testing.T) {
	fake := &graphFake{}
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fake.mu.Lock()
		fake.bodies = append(fake.bodies, string(b))
		fake.mu.Unlock()
		fmt.Fprint(w, `{"messaging_product":"whatsapp","messages":[{"id":"wamid.code"}]}`)
	}))
	defer graph.Close()

	// The harness needs the sender before the queue exists; build both on one Redis.
	h := newHarness(t, nil)
	client := asynq.NewClientFromRedisClient(h.rdb)
	defer client.Close()
	q := queue.NewClient(client, time.Hour)
	h2 := newHarnessOn(t, h, queueSender{q})

	ch, err := whatsapp.New("wa-main", whatsapp.Config{PhoneNumberID: "100000000000001", AppSecret: "s", VerifyToken: "v",
		AccessToken: "graph-token", APIBaseURL: graph.URL + "/v21.0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	workerLogs := &logbuf.Buffer{}
	wlog := slog.New(slog.NewJSONHandler(workerLogs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := worker.NewServer(h.rdb, worker.ServerOptions{Concurrency: 2, ShutdownTimeout: 5 * time.Second, Logger: wlog})
	w := worker.New(worker.Options{Channels: channels.Set{"wa-main": ch}, Metrics: metrics.New(prometheus.NewRegistry()), Logger: wlog,
		Conversations: h.conv.Service, OTP: worker.OTPTemplate{Name: "login_code", Language: "pt_BR"}})
	if err := srv.Start(w.Mux()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()

	h2.createUser(t, "Ana Lima", "+5511912345678", auth.RoleAdmin)
	if r := h2.do(t, "POST", "/api/v1/auth/otp", "", map[string]string{"phone": "+55 11 91234-5678"}); r.status != http.StatusAccepted {
		t.Fatalf("request: %d", r.status)
	}
	deadline := time.Now().Add(20 * time.Second)
	for fake.last() == "" {
		if time.Now().After(deadline) {
			t.Fatal("no template send reached the Graph API")
		}
		time.Sleep(20 * time.Millisecond)
	}
	sent := fake.last()
	m := regexp.MustCompile(`"body","parameters":\[\{"type":"text","text":"(\d{6})"\}\]`).FindStringSubmatch(sent)
	if m == nil || !strings.Contains(sent, `"name":"login_code"`) || !strings.Contains(sent, `"code":"pt_BR"`) ||
		!strings.Contains(sent, `"to":"5511912345678"`) || !strings.Contains(sent, `"sub_type":"url","index":"0","parameters":[{"type":"text","text":"`+m[1]+`"}]`) {
		t.Fatalf("template send = %s", sent)
	}
	code := m[1]
	r := h2.do(t, "POST", "/api/v1/auth/verify", "", map[string]string{"phone": "+5511912345678", "code": code})
	if r.status != http.StatusOK {
		t.Fatalf("verify with the sent code: %d %s", r.status, r.body)
	}
	var s struct{ Token string }
	r.decode(t, &s)
	if r := h2.do(t, "GET", "/api/v1/me", s.Token, nil); r.status != 200 {
		t.Fatalf("/me: %d", r.status)
	}
	if r := h2.do(t, "POST", "/api/v1/auth/verify", "", map[string]string{"phone": "+5511912345678", "code": code}); r.status != http.StatusUnauthorized {
		t.Fatalf("the code a second time: %d, want 401", r.status)
	}
	logs := h2.logs.String() + workerLogs.String()
	for _, secret := range []string{"5511912345678", "91234-5678", code, s.Token} {
		if strings.Contains(logs, secret) {
			t.Fatalf("logs contain %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, `"path":"/api/v1/auth/verify"`) {
		t.Fatalf("request logs missing, so the check above proved nothing:\n%s", logs)
	}
}
