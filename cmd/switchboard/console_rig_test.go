package main

// The server half of the console's end-to-end tests: a real Switchboard
// (newServer, on the test's Redis and database) with one WhatsApp Cloud
// number whose Graph API is a fake that records every send and answers
// with a message id; accounts made through the real account store;
// settings applied as `switchboard apply` applies them; customers'
// messages and delivery statuses posted as signed webhooks to the real
// endpoint.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/clock"
	"switchboard/config"
	"switchboard/internal/logbuf"
	"switchboard/internal/redistest"
	"switchboard/settings"
)

// graphAPI is a fake Graph API: it keeps each message sent and answers
// it with the id wamid.outN, so a test can post that message's statuses.
type graphAPI struct {
	mu    sync.Mutex
	sends []graphSend
	media graphMedia // files to serve and uploads received (console_media_test.go)
}

type graphSend struct {
	id, path, body string
}

func (g *graphAPI) server(t *testing.T) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.media.serve(w, r, srv.URL) {
			return
		}
		b, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		id := fmt.Sprintf("wamid.out%d", len(g.sends)+1)
		g.sends = append(g.sends, graphSend{id: id, path: r.URL.Path, body: string(b)})
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","messages":[{"id":%q}]}`, id)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (g *graphAPI) all() []graphSend {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]graphSend(nil), g.sends...)
}

// find returns the first send after the first skip ones whose body
// contains every one of parts.
func (g *graphAPI) find(skip int, parts ...string) (graphSend, bool) {
	all := g.all()
	for _, s := range all[min(skip, len(all)):] {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(s.body, p)
		}
		if ok {
			return s, true
		}
	}
	return graphSend{}, false
}

// staff is an account of the rig.
type staff struct {
	ID, Name, Phone, Role string
}

// rig is a running Switchboard for the console's tests.
type rig struct {
	t     *testing.T
	base  string
	graph *graphAPI
	staff map[string]staff // by first name, lower case
	token string           // a bearer session of the API-only admin
	logs  *logbuf.Buffer
}

// consoleSettings is the team's settings in the tests: a claim pool of
// sales served by ana and bruno, open around the clock; resolution reasons.
const consoleSettings = `timezone: UTC
default_query_type: sales
query_types:
  - {id: sales, name: Sales, strategy: claim}
resolution_reasons:
  - {id: solved, name: Solved}
  - {id: no_answer, name: Customer stopped answering}
`

// newRig starts a server on the test's own Redis database and database,
// with the team's accounts and settingsYAML applied before it starts.
func newRig(t *testing.T, settingsYAML string) *rig {
	t.Helper()
	g := &graphAPI{}
	graphSrv := g.server(t)
	rdb := redistest.Client(t)
	d := testDatabase(t)
	cfg, err := config.Parse([]byte(restartYAML(redistest.URL(rdb), graphSrv.URL+"/v21.0", d)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Media.Dir = t.TempDir() // the files the worker fetches, gone with the test
	logs := &logbuf.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx := context.Background()
	db, err := openDatabase(ctx, cfg.Database, true, logger, nil)
	if err != nil {
		t.Fatal(err)
	}

	// The team, through the role and account stores `users create` and
	// the API use. The built-in operator cannot take from a pool: ana and
	// bruno are pool operators, a custom role that also may (and return
	// and transfer), as a team that works a claim pool sets up; dora is a
	// built-in operator.
	roles := auth.NewRoles(db.Roles())
	if err := roles.Put(ctx, auth.Role{Name: "pool_operator", Permissions: []auth.Permission{
		auth.PermReply, auth.PermClose, auth.PermSelfAssign, auth.PermReturn, auth.PermTransfer,
	}}); err != nil {
		db.Close()
		t.Fatalf("create the pool_operator role: %v", err)
	}
	store := accounts.NewStore(db.Accounts(), clock.System{}, roles.Exists)
	r := &rig{t: t, graph: g, staff: map[string]staff{}, logs: logs}
	for _, u := range []accounts.User{
		{Name: "Root Admin", Phone: "+5511990000000", Role: auth.RoleAdmin},
		{Name: "Carla Coordinator", Phone: "+5511990000001", Role: auth.RoleCoordinator},
		{Name: "Ana Operator", Phone: "+5511990000002", Role: "pool_operator", QueryTypes: []string{"sales"}, Capacity: 5},
		{Name: "Bruno Operator", Phone: "+5511990000003", Role: "pool_operator", QueryTypes: []string{"sales"}, Capacity: 5},
		{Name: "Dora Operator", Phone: "+5511990000004", Role: auth.RoleOperator, QueryTypes: []string{"sales"}, Capacity: 5},
	} {
		created, err := store.Create(ctx, u)
		if err != nil {
			db.Close()
			t.Fatalf("create %s: %v", u.Name, err)
		}
		r.staff[strings.ToLower(strings.Fields(u.Name)[0])] = staff{ID: created.ID, Name: created.Name, Phone: created.Phone, Role: created.Role}
	}
	// The settings, as `switchboard apply -f` applies them.
	if _, err := settings.Apply(ctx, db.Settings(), []byte(settingsYAML), time.Now(), 0, "e2e"); err != nil {
		db.Close()
		t.Fatalf("apply the settings: %v", err)
	}
	r.base, _ = serveOn(t, cfg, db, roleAll, logger)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the server's warnings and errors:\n%s", grep(logs.String(), `"level":"WARN"|"level":"ERROR"`))
		}
	})
	r.token = r.apiLogin(r.staff["root"].Phone)
	return r
}

// codes reads a login code out of the template the fake Graph API got.
var codes = regexp.MustCompile(`"name":"login_code".*"text":"(\d{6})"`)

// loginCode waits for the login code sent to phone after the first skip
// sends, and returns it.
func (r *rig) loginCode(skip int, phone string) string {
	r.t.Helper()
	to := `"to":"` + strings.TrimPrefix(phone, "+") + `"`
	var code string
	eventually(r.t, "the login code for "+phone+" at the Graph API", func() bool {
		for _, s := range r.graph.all()[min(skip, len(r.graph.all())):] {
			if m := codes.FindStringSubmatch(s.body); m != nil && strings.Contains(s.body, to) {
				code = m[1]
				return true
			}
		}
		return false
	})
	return code
}

// apiLogin logs phone in to the bearer API and returns the token.
func (r *rig) apiLogin(phone string) string {
	r.t.Helper()
	skip := len(r.graph.all())
	apiJSON(r.t, "POST", r.base+"/api/v1/auth/otp", "", map[string]string{"phone": phone}, http.StatusAccepted, nil)
	var v struct{ Token string }
	apiJSON(r.t, "POST", r.base+"/api/v1/auth/verify", "", map[string]string{"phone": phone, "code": r.loginCode(skip, phone)}, http.StatusOK, &v)
	if v.Token == "" {
		r.t.Fatal("verify gave no token")
	}
	return v.Token
}

// customer is a WhatsApp customer of the tests.
type customer struct {
	phone, name string // phone as WhatsApp writes it, without the +
}

var msgSeq struct {
	sync.Mutex
	n int
}

// writes posts, as a signed webhook, a message from c with text.
func (r *rig) writes(c customer, text string) {
	r.t.Helper()
	msgSeq.Lock()
	msgSeq.n++
	id := fmt.Sprintf("wamid.in.%d.%d", time.Now().UnixNano(), msgSeq.n)
	msgSeq.Unlock()
	body, sig := customerWrites(id, c.phone, c.name, text)
	if code := post(r.t, r.base+"/webhooks/wa-main", body, sig); code != http.StatusOK {
		r.t.Fatalf("webhook from %s = %d", c.name, code)
	}
}

// status posts, as a signed webhook, the provider's status of the message
// it gave id (sent, delivered, read or failed) for recipient c.
func (r *rig) status(c customer, id, status string) {
	r.t.Helper()
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"100000000000001"},"statuses":[{"id":"` + id + `","status":"` + status + `","timestamp":"` + nowTS() + `","recipient_id":"` + c.phone + `"}]}}]}]}`)
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	if code := post(r.t, r.base+"/webhooks/wa-main", body, "sha256="+hex.EncodeToString(mac.Sum(nil))); code != http.StatusOK {
		r.t.Fatalf("status webhook %s %s = %d", id, status, code)
	}
}

// conversationOf waits until c has a conversation in the API and returns it.
func (r *rig) conversationOf(c customer) convView {
	r.t.Helper()
	var found convView
	eventually(r.t, "the conversation of "+c.name, func() bool {
		for _, v := range listAll(r.t, r.base, r.token) {
			if v.ContactPhone == c.phone {
				found = v
				return true
			}
		}
		return false
	})
	return found
}

// e2eConv is a conversation as the API shows it, its resolution too.
type e2eConv struct {
	convView
	Resolution string `json:"resolution"`
}

// conversation reads a conversation by id.
func (r *rig) conversation(id string) e2eConv {
	r.t.Helper()
	var v e2eConv
	apiJSON(r.t, "GET", r.base+"/api/v1/conversations/"+id, r.token, nil, http.StatusOK, &v)
	return v
}

// login logs who in through the console in b: phone number, the code the
// fake Graph API got, and the console shows their name.
func (r *rig) login(b *tab, who string) staff {
	r.t.Helper()
	u, ok := r.staff[who]
	if !ok {
		r.t.Fatalf("no account %q", who)
	}
	skip := len(r.graph.all())
	b.do("enter the phone number", fill("Phone number", u.Phone), click("button", "Send code"))
	b.do("wait for the code field", seeRole("field", "Code"))
	code := r.loginCode(skip, u.Phone)
	b.do("enter the code", fill("Code", code), click("button", "Log in"))
	b.do("see my name once logged in", seeText(u.Name))
	return u
}

// openAs opens a tab for who and logs them in.
func (r *rig) openAs(who string) (*tab, staff) {
	r.t.Helper()
	b := newTab(r.t, r.base, who)
	return b, r.login(b, who)
}
