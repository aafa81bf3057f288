package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"switchboard/accounts"
	"switchboard/api"
	"switchboard/auth"
	"switchboard/clock"
	"switchboard/gateway"
	"switchboard/internal/convtest"
	"switchboard/internal/dbtest"
	"switchboard/internal/logbuf"
	"switchboard/internal/redistest"
	"switchboard/metrics"
	"switchboard/repository"
)

// captured collects codes instead of sending them.
type captured struct {
	mu    sync.Mutex
	codes map[string][]string
	// wait lets the codes queued in the background arrive.
	wait func()
}

func (c *captured) settle() {
	if c.wait != nil {
		c.wait()
	}
}

func (c *captured) SendCode(_ context.Context, phone, code string, _ time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.codes[phone] = append(c.codes[phone], code)
	return nil
}

func (c *captured) last(phone string) string {
	c.settle()
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.codes[phone]); n > 0 {
		return c.codes[phone][n-1]
	}
	return ""
}

func (c *captured) count(phone string) int {
	c.settle()
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.codes[phone])
}

type harness struct {
	rdb *redis.Client
	db  *repository.DB
	// roleFaults and settingsFaults wrap the role and settings storage
	// the API uses, so a test can fail it or act between its steps.
	roleFaults     *faultyRoles
	settingsFaults *faultySettings
	srv            *httptest.Server
	echo           *echo.Echo
	users          *accounts.Store
	roles          *auth.Roles
	login          *auth.Login
	clock          *clock.Fake
	sender         auth.CodeSender
	codes          *captured
	logs           *logbuf.Buffer
	counts         map[string]int
	mu             sync.Mutex
	// conv is the conversations service the API calls, on the harness's
	// database, Redis and clock; conv.Repo fails its calls on cue.
	conv    *convtest.Env
	metrics *metrics.Metrics
	api     *api.API
	// apiOptions, if set on newHarnessOn's base, adjusts the API's options.
	apiOptions func(*api.Options)
	// groups is the agent groups' store the API uses.
	groups *accounts.Groups
}

func newHarness(t *testing.T, sender auth.CodeSender) *harness {
	t.Helper()
	return newHarnessOn(t, &harness{rdb: redistest.Client(t)}, sender)
}

// newHarnessOn builds a harness on base's Redis and database (a fresh
// database if base has none).
func newHarnessOn(t *testing.T, base *harness, sender auth.CodeSender) *harness {
	t.Helper()
	if base.db == nil {
		base.db = dbtest.Open(t)
	}
	h := &harness{rdb: base.rdb, db: base.db, clock: clock.NewFake(time.Now().Truncate(time.Second)),
		codes: &captured{codes: map[string][]string{}}, logs: &logbuf.Buffer{}, counts: map[string]int{}}
	if sender == nil {
		sender = h.codes
	}
	h.sender = sender
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.roleFaults = &faultyRoles{RoleRepository: h.db.Roles()}
	h.settingsFaults = &faultySettings{Repository: h.db.Settings()}
	h.roles = auth.NewRoles(h.roleFaults)
	h.users = accounts.NewStore(h.db.Accounts(), h.clock, h.roles.Exists)
	audit := auth.NewAudit(h.db.Audit(), h.clock, logger)
	var err error
	h.login, err = auth.NewLogin(h.rdb, auth.LoginOptions{Users: h.users, Clock: h.clock, Secret: []byte("test-secret-0123456789"),
		SessionTTL: 12 * time.Hour, Sender: sender, Audit: audit, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	h.codes.wait = h.login.Wait
	h.login.Observe = func(kind, outcome string) {
		h.mu.Lock()
		h.counts[kind+":"+outcome]++
		h.mu.Unlock()
	}
	h.metrics = metrics.New(prometheus.NewRegistry())
	h.conv = convtest.New(t, convtest.Options{DB: h.db, Redis: h.rdb, Clock: h.clock, Metrics: h.metrics})
	h.groups = accounts.NewGroups(h.db.Groups(), h.clock)
	opts := api.Options{Users: h.users, Roles: h.roles, Login: h.login, Audit: audit, Logger: logger,
		Conversations: h.conv.Service, Redis: h.rdb, SettingsVersions: h.settingsFaults, Clock: h.clock, Metrics: h.metrics,
		Groups: h.groups, Reports: h.db.Reports()}
	if base.apiOptions != nil {
		base.apiOptions(&opts)
	}
	a := api.New(opts)
	h.api = a
	h.echo = gateway.New(gateway.Options{API: a, Redis: pinger{h.rdb}, Gatherer: prometheus.NewRegistry(), Logger: logger})
	h.srv = httptest.NewServer(h.echo)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *harness) count(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[key]
}

type pinger struct{ rdb *redis.Client }

func (p pinger) Ping(ctx context.Context) error { return p.rdb.Ping(ctx).Err() }

type response struct {
	status int
	body   string
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

func (h *harness) do(t *testing.T, method, path, token string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(b)}
}

func (h *harness) createUser(t *testing.T, name, phone, role string, grants ...string) *accounts.User {
	t.Helper()
	u, err := h.users.Create(context.Background(), accounts.User{Name: name, Phone: phone, Role: role, Grants: grants})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// loginAs walks the login for a user with a captured code.
func (h *harness) loginAs(t *testing.T, phone string) string {
	t.Helper()
	if r := h.do(t, "POST", "/api/v1/auth/otp", "", map[string]string{"phone": phone}); r.status != http.StatusAccepted {
		t.Fatalf("request code: %d %s", r.status, r.body)
	}
	r := h.do(t, "POST", "/api/v1/auth/verify", "", map[string]string{"phone": phone, "code": h.codes.last(phone)})
	if r.status != http.StatusOK {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	var s struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	r.decode(t, &s)
	if len(s.Token) < 40 || !s.ExpiresAt.Equal(h.clock.Now().Add(12*time.Hour)) {
		t.Fatalf("session = %+v", s)
	}
	return s.Token
}

func TestCodeIsSingleUseAndTokenWorksUntilLogout(t *testing.T) {
	h := newHarness(t, nil)
	h.createUser(t, "Ana Lima", "+55 11 91234-5678", auth.RoleAdmin)
	token := h.loginAs(t, "+5511912345678")
	code := h.codes.last("+5511912345678")
	if r := h.do(t, "POST", "/api/v1/auth/verify", "", map[string]string{"phone": "+5511912345678", "code": code}); r.status != http.StatusUnauthorized {
		t.Fatalf("second use of a code: %d, want 401", r.status)
	}
	r := h.do(t, "GET", "/api/v1/me", token, nil)
	var me struct {
		User        accounts.User `json:"user"`
		Permissions []string      `json:"permissions"`
	}
	r.decode(t, &me)
	if r.status != 200 || me.User.Name != "Ana Lima" || !strings.Contains(strings.Join(me.Permissions, ","), "users.manage") {
		t.Fatalf("/me = %d %s", r.status, r.body)
	}
	// Presence is in-flight state, set through /me/presence and shown
	// beside the account (/me's own presence, the roster), never a field
	// of the account itself.
	var raw struct {
		User map[string]json.RawMessage `json:"user"`
	}
	r.decode(t, &raw)
	if _, ok := raw.User["presence"]; ok {
		t.Errorf("/me shows a presence on the account: %s", r.body)
	}
	if r := h.do(t, "POST", "/api/v1/auth/logout", token, nil); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d", r.status)
	}
	if r := h.do(t, "GET", "/api/v1/me", token, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("/me after logout: %d, want 401", r.status)
	}
	// The session also ends with its TTL (injected clock).
	token = h.loginAsAfterCooldown(t, "+5511912345678")
	h.clock.Advance(12 * time.Hour)
	if r := h.do(t, "GET", "/api/v1/me", token, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("/me after 12h: %d, want 401", r.status)
	}
}

// loginAsAfterCooldown lets the per-phone cooldown pass (it is a Redis TTL,
// so the key is removed rather than waiting 30s) and logs in again.
func (h *harness) loginAsAfterCooldown(t *testing.T, phone string) string {
	t.Helper()
	h.clearCooldowns()
	return h.loginAs(t, phone)
}

// clearCooldowns lets every phone number request a code at once again.
func (h *harness) clearCooldowns() {
	keys, _ := h.rdb.Keys(context.Background(), "{sb}:otp:cool:*").Result()
	for _, k := range keys {
		h.rdb.Del(context.Background(), k)
	}
}

func TestCodeExpiresAtFiveMinutes(t *testing.T) {
	h := newHarness(t, nil)
	h.createUser(t, "Ana", "+5511900000001", auth.RoleOperator)
	h.createUser(t, "Bia", "+5511900000002", auth.RoleOperator)
	for _, tc := range []struct {
		phone  string
		after  time.Duration
		status int
	}{
		{"+5511900000001", 5*time.Minute - time.Millisecond, http.StatusOK},
		{"+5511900000002", 5 * time.Minute, http.StatusUnauthorized},
	} {
		start := h.clock.Now()
		h.do(t, "POST", "/api/v1/auth/otp", "", map[string]string{"phone": tc.phone})
		h.clock.Set(start.Add(tc.after))
		r := h.do(t, "POST", "/api/v1/auth/verify", "", map[string]string{"phone": tc.phone, "code": h.codes.last(tc.phone)})
		if r.status != tc.status {
			t.Fatalf("verify %v after the request: %d, want %d", tc.after, r.status, tc.status)
		}
		h.clock.Set(start)
	}
	if h.count("verify:expired") != 1 || h.count("verify:ok") != 1 {
		t.Fatalf("outcomes = %v", h.counts)
	}
}

func TestFiveWrongCodesBurnTheCode(t *testing.T) {
	h := newHarness(t, nil)
	h.createUser(t, "Ana", "+5511900000001", auth.RoleOperator)
	h.do(t, "POST", "/api/v1/auth/otp", "", map[string]string{"phone": "+5511900000001"})
	right := h.codes.last("+5511900000001")
	wrong := "000000"
	if right == wrong {
		wrong = "111111"
	}
	for i := range 5 {
		if r := h.do(t, "POST", "/api/v1/auth/verify", "", map[string]string{"phone": "+5511900000001", "code": wrong}); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: %d", i+1, r.status)
		}
	}
	if r := h.do(t, "POST", "/api/v1/auth/verify", "", map[string]string{"phone": "+5511900000001", "code": right}); r.status != http.StatusUnauthorized {
		t.Fatalf("the right code after 5 wrong ones: %d, want 401 (burnt)", r.status)
	}
	if h.count("verify:wrong") != 4 || h.count("verify:locked") != 1 {
		t.Fatalf("outcomes = %v, want 4 wrong then locked", h.counts)
	}
}

func TestRateLimits(t *testing.T) {
	h := newHarness(t, nil)
	h.createUser(t, "Ana", "+5511900000001", auth.RoleOperator)
	first := h.do(t, "POST", "/api/v1/auth/otp", "", map[string]string{"phone": "+5511900000001"})
	again := h.do(t, "POST", "/api/v1/auth/otp", "", map[string]string{"phone": "+5511900000001"})
	if again != first || h.codes.count("+5511900000001") != 1 || h.count("request:rate_limited") != 1 {
		t.Fatalf("second request within 30s: %v vs %v, %d codes sent", again, first, h.codes.count("+5511900000001"))
	}
	// Five codes an hour per phone, however the cooldown is spaced.
	for range 6 {
		h.rdb.Del(context.Background(), mustKeys(t, h.rdb, "{sb}:otp:cool:*")...)
		h.do(t, "POST", "/api/v1/auth/otp", "", map[string]string{"phone": "+5511900000001"})
	}
	if n := h.codes.count("+5511900000001"); n != 5 {
		t.Fatalf("%d codes sent in an hour, want 5", n)
	}
	// Twenty requests an hour per client IP, whatever the numbers.
	before := h.count("request:rate_limited")
	for i := range 25 {
		h.do(t, "POST", "/api/v1/auth/otp", "", map[string]string{"phone": fmt.Sprintf("+55119100%05d", i)})
	}
	// This IP already made 8 requests above: 12 more pass, 13 are limited.
	if got := h.count("request:rate_limited") - before; got != 13 {
		t.Fatalf("%d requests limited by IP, want 13", got)
	}
}

func mustKeys(t *testing.T, rdb *redis.Client, pattern string) []string {
	keys, err := rdb.Keys(context.Background(), pattern).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		return []string{"{sb}:none"}
	}
	return keys
}

func TestUnknownAndDisabledLookTheSame(t *testing.T) {
	h := newHarness(t, nil)
	h.createUser(t, "Ana", "+5511900000001", auth.RoleOperator)
	dis := h.createUser(t, "Bia", "+5511900000002", auth.RoleOperator)
	dis.Status = accounts.StatusDisabled
	if _, err := h.users.Update(context.Background(), *dis); err != nil {
		t.Fatal(err)
	}
	var answers []response
	for _, phone := range []string{"+5511900000001", "+5511900000002", "+5511900000003", "not a phone"} {
		answers = append(answers, h.do(t, "POST", "/api/v1/auth/otp", "", map[string]string{"phone": phone}))
	}
	for i, a := range answers {
		if a != answers[0] {
			t.Fatalf("answer %d = %+v, answer 0 = %+v: they must be identical", i, a, answers[0])
		}
	}
	if answers[0].status != http.StatusAccepted {
		t.Fatalf("status %d, want 202", answers[0].status)
	}
	if h.codes.count("+5511900000001") != 1 || h.codes.count("+5511900000002") != 0 || h.codes.count("+5511900000003") != 0 {
		t.Fatalf("codes sent: %v", h.codes.codes)
	}
	if h.count("request:unknown_or_disabled") != 3 || h.count("request:sent") != 1 {
		t.Fatalf("outcomes = %v", h.counts)
	}
}

func TestDisablingAndDeletingRevokeTokens(t *testing.T) {
	h := newHarness(t, nil)
	h.createUser(t, "Admin", "+5511900000001", auth.RoleAdmin)
	op := h.createUser(t, "Op", "+5511900000002", auth.RoleOperator)
	op2 := h.createUser(t, "Op2", "+5511900000003", auth.RoleOperator)
	admin := h.loginAs(t, "+5511900000001")
	opToken := h.loginAs(t, "+5511900000002")
	op2Token := h.loginAs(t, "+5511900000003")
	if r := h.do(t, "POST", "/api/v1/users/"+op.ID+"/disable", admin, nil); r.status != http.StatusNoContent {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/api/v1/me", opToken, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("disabled user's token: %d, want 401", r.status)
	}
	if r := h.do(t, "DELETE", "/api/v1/users/"+op2.ID, admin, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/api/v1/me", op2Token, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("deleted user's token: %d, want 401", r.status)
	}
	r := h.do(t, "GET", "/api/v1/audit", admin, nil)
	if r.status != 200 || !strings.Contains(r.body, `"action":"user.disable"`) || !strings.Contains(r.body, `"action":"login"`) || !strings.Contains(r.body, `"target":"+55*********02"`) {
		t.Fatalf("audit log: %d %s", r.status, r.body)
	}
}

// A coordinator who disabled an operator for a leave enables them again:
// the operator logs in with a new code, while the session they held before
// stays dead. Only users.manage may, and not on someone who may do more.
func TestEnablingADisabledUser(t *testing.T) {
	h := newHarness(t, nil)
	h.createUser(t, "Admin", "+5511900000001", auth.RoleAdmin)
	coord := h.createUser(t, "Coord", "+5511900000002", auth.RoleCoordinator, string(auth.PermUsers))
	op := h.createUser(t, "Op", "+5511900000003", auth.RoleOperator)
	h.createUser(t, "Other op", "+5511900000004", auth.RoleOperator)
	admin2 := h.createUser(t, "Admin 2", "+5511900000005", auth.RoleAdmin)
	adminT := h.loginAs(t, "+5511900000001")
	coordT := h.loginAs(t, "+5511900000002")
	opT := h.loginAs(t, "+5511900000003")
	otherT := h.loginAs(t, "+5511900000004")
	status := func(id string) string {
		t.Helper()
		r := h.do(t, "GET", "/api/v1/users/"+id, adminT, nil)
		var u accounts.User
		r.decode(t, &u)
		return u.Status
	}
	for _, id := range []string{op.ID, admin2.ID} {
		if r := h.do(t, "POST", "/api/v1/users/"+id+"/disable", adminT, nil); r.status != http.StatusNoContent {
			t.Fatalf("disable: %d %s", r.status, r.body)
		}
	}
	codes := h.codes.count("+5511900000003")
	h.clearCooldowns() // else the request is held back by the cooldown, and would send nothing anyway
	if r := h.do(t, "POST", "/api/v1/auth/otp", "", map[string]string{"phone": "+5511900000003"}); r.status != http.StatusAccepted {
		t.Fatalf("request code while disabled: %d %s", r.status, r.body)
	}
	if n := h.codes.count("+5511900000003"); n != codes {
		t.Fatalf("a disabled user was sent a code (%d codes, had %d)", n, codes)
	}

	if r := h.do(t, "POST", "/api/v1/users/"+op.ID+"/enable", otherT, nil); r.status != http.StatusForbidden {
		t.Fatalf("an operator without users.manage enabling: %d %s, want 403", r.status, r.body)
	}
	if r := h.do(t, "POST", "/api/v1/users/"+admin2.ID+"/enable", coordT, nil); r.status != http.StatusForbidden {
		t.Fatalf("a coordinator enabling an admin: %d %s, want 403", r.status, r.body)
	}
	if s := status(op.ID); s != accounts.StatusDisabled {
		t.Fatalf("after refused enables, the operator is %q", s)
	}
	if s := status(admin2.ID); s != accounts.StatusDisabled {
		t.Fatalf("after a refused enable, the admin is %q", s)
	}
	for _, id := range []string{"u_0123456789abcdef", "nobody"} {
		if r := h.do(t, "POST", "/api/v1/users/"+id+"/enable", coordT, nil); r.status != http.StatusNotFound {
			t.Fatalf("enable %s: %d %s, want 404", id, r.status, r.body)
		}
	}

	if r := h.do(t, "POST", "/api/v1/users/"+op.ID+"/enable", coordT, nil); r.status != http.StatusNoContent {
		t.Fatalf("enable: %d %s", r.status, r.body)
	}
	if s := status(op.ID); s != accounts.StatusActive {
		t.Fatalf("after enable, the operator is %q", s)
	}
	if r := h.do(t, "GET", "/api/v1/me", opT, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("the session held before the disable: %d, want 401", r.status)
	}
	newT := h.loginAsAfterCooldown(t, "+5511900000003")
	if r := h.do(t, "GET", "/api/v1/me", newT, nil); r.status != http.StatusOK || !strings.Contains(r.body, op.ID) {
		t.Fatalf("/me after logging in again: %d %s", r.status, r.body)
	}
	// Again: nothing to do, still 204, and no second audit entry.
	if r := h.do(t, "POST", "/api/v1/users/"+op.ID+"/enable", coordT, nil); r.status != http.StatusNoContent {
		t.Fatalf("enabling an active user: %d %s", r.status, r.body)
	}

	var log struct{ Entries []auth.Entry }
	h.do(t, "GET", "/api/v1/audit", adminT, nil).decode(t, &log)
	var enables []auth.Entry
	for _, e := range log.Entries {
		if e.Action == "user.enable" {
			enables = append(enables, e)
		}
	}
	if len(enables) != 1 || enables[0].Target != op.ID || enables[0].Actor != coord.ID {
		t.Fatalf("user.enable entries = %+v, want one, by the coordinator, on %s", enables, op.ID)
	}
}

// Nobody gives more than they have: a coordinator allowed to manage users
// can create operators, but not admins, and cannot touch an admin.
func TestNoPrivilegeEscalation(t *testing.T) {
	h := newHarness(t, nil)
	admin := h.createUser(t, "Admin", "+5511900000001", auth.RoleAdmin)
	h.createUser(t, "Coord", "+5511900000002", auth.RoleCoordinator, string(auth.PermUsers))
	coord := h.loginAs(t, "+5511900000002")
	if r := h.do(t, "POST", "/api/v1/users", coord, map[string]any{"name": "New op", "phone": "+5511900000010", "role": "operator"}); r.status != http.StatusCreated {
		t.Fatalf("coordinator creating an operator: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/api/v1/users", coord, map[string]any{"name": "New admin", "phone": "+5511900000011", "role": "admin"}); r.status != http.StatusForbidden {
		t.Fatalf("coordinator creating an admin: %d, want 403", r.status)
	}
	if r := h.do(t, "POST", "/api/v1/users", coord, map[string]any{"name": "Sneaky", "phone": "+5511900000012", "role": "operator", "grants": []string{"audit.view"}}); r.status != http.StatusForbidden {
		t.Fatalf("coordinator granting audit.view: %d, want 403", r.status)
	}
	if r := h.do(t, "POST", "/api/v1/users/"+admin.ID+"/disable", coord, nil); r.status != http.StatusForbidden {
		t.Fatalf("coordinator disabling an admin: %d, want 403", r.status)
	}
	if r := h.do(t, "PUT", "/api/v1/roles/auditor", coord, map[string]any{"permissions": []string{"audit.view"}}); r.status != http.StatusForbidden {
		t.Fatalf("coordinator defining a role: %d, want 403", r.status)
	}
}

func TestUserValidation(t *testing.T) {
	h := newHarness(t, nil)
	h.createUser(t, "Admin", "+5511900000001", auth.RoleAdmin)
	admin := h.loginAs(t, "+5511900000001")
	for _, tc := range []struct {
		body   map[string]any
		status int
		code   string
	}{
		{map[string]any{"name": "X", "phone": "11 91234-5678", "role": "operator"}, 422, "invalid_user"},
		{map[string]any{"name": "X", "phone": "+5511900000001", "role": "operator"}, 409, "phone_taken"},
		{map[string]any{"name": "X", "phone": "+5511900000099", "role": "wizard"}, 422, "invalid_user"},
	} {
		r := h.do(t, "POST", "/api/v1/users", admin, tc.body)
		if r.status != tc.status || !strings.Contains(r.body, `"code":"`+tc.code+`"`) {
			t.Errorf("create %v: %d %s, want %d %s", tc.body, r.status, r.body, tc.status, tc.code)
		}
	}
	r := h.do(t, "PUT", "/api/v1/roles/night-shift", admin, map[string]any{"permissions": []string{"conversations.reply", "conversations.self_assign"}})
	if r.status != 200 {
		t.Fatalf("custom role: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/api/v1/users", admin, map[string]any{"name": "Nina", "phone": "+5511900000020", "role": "night-shift"}); r.status != 201 {
		t.Fatalf("user with a custom role: %d %s", r.status, r.body)
	}
	if r := h.do(t, "PUT", "/api/v1/roles/admin", admin, map[string]any{"permissions": []string{}}); r.status != http.StatusConflict {
		t.Fatalf("changing a built-in role: %d, want 409", r.status)
	}
}

// The audit log answers a page at a time and filters on the server: an
// auditor finds last month's disable, not only the newest 200 entries.
func TestAuditPagesThroughTheAPI(t *testing.T) {
	h := newHarness(t, nil)
	h.createUser(t, "Admin", "+5511900000001", auth.RoleAdmin)
	op := h.createUser(t, "Op", "+5511900000002", auth.RoleOperator)
	admin := h.loginAs(t, "+5511900000001")
	h.loginAs(t, "+5511900000002")
	if r := h.do(t, "POST", "/api/v1/users/"+op.ID+"/disable", admin, nil); r.status != http.StatusNoContent {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	type page struct {
		Entries []struct {
			ID, Action, Target string
		} `json:"entries"`
		Next string `json:"next_cursor"`
	}
	var all []string
	cursor := ""
	for n := 0; ; n++ {
		if n > 10 {
			t.Fatal("paging does not end")
		}
		var p page
		r := h.do(t, "GET", "/api/v1/audit?limit=1&cursor="+cursor, admin, nil)
		if r.status != http.StatusOK {
			t.Fatalf("page %d: %d %s", n, r.status, r.body)
		}
		r.decode(t, &p)
		for _, e := range p.Entries {
			all = append(all, e.Action)
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	var full page
	h.do(t, "GET", "/api/v1/audit", admin, nil).decode(t, &full)
	if len(all) != len(full.Entries) || len(all) < 3 || full.Next != "" {
		t.Fatalf("paged one at a time: %v; the first page holds %d entries (next %q)", all, len(full.Entries), full.Next)
	}
	var only page
	h.do(t, "GET", "/api/v1/audit?action=user.disable&target="+op.ID, admin, nil).decode(t, &only)
	if len(only.Entries) != 1 || only.Entries[0].Action != "user.disable" {
		t.Fatalf("filtered: %+v, want the one disable", only.Entries)
	}
	for _, q := range []string{"limit=0", "limit=501", "cursor=nope", "since=yesterday"} {
		if r := h.do(t, "GET", "/api/v1/audit?"+q, admin, nil); r.status != http.StatusBadRequest {
			t.Errorf("?%s: %d, want 400", q, r.status)
		}
	}
}
