package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"switchboard/accounts"
	"switchboard/api"
	"switchboard/auth"
	"switchboard/channels"
	"switchboard/conversations"
	"switchboard/events"
	"switchboard/internal/redistest"
	"switchboard/queue"
	"switchboard/routing"
	"switchboard/settings"
)

// convWorld is a harness with settings, two operators serving "sales", one
// who does not, a supervisor, and helpers to make queries in given states.
type convWorld struct {
	*harness
	ana, bruno, carla, sup     *accounts.User
	anaT, brunoT, carlaT, supT string
}

func newConvWorld(t *testing.T) *convWorld {
	return newConvWorldWith(t, nil)
}

// newConvWorldWith is newConvWorld with the API's options adjusted by tweak.
func newConvWorldWith(t *testing.T, tweak func(*api.Options)) *convWorld {
	h := newHarnessOn(t, &harness{rdb: redistest.Client(t), apiOptions: tweak}, nil)
	w := &convWorld{harness: h}
	w.ana = h.createUser(t, "Ana", "+5511900000001", auth.RoleOperator)
	w.bruno = h.createUser(t, "Bruno", "+5511900000002", auth.RoleOperator)
	w.carla = h.createUser(t, "Carla", "+5511900000003", auth.RoleOperator)
	w.sup = h.createUser(t, "Sup", "+5511900000004", auth.RoleSupervisor)
	doc := fmt.Sprintf(`
default_query_type: sales
query_types:
  - {id: sales, strategy: claim, accounts: [%s, %s]}
  - {id: claims, strategy: claim, accounts: [%s]}
resolution_reasons:
  - {id: solved, name: Solved}
canned_responses:
  - {shortcut: /pix, text: "Pague por Pix com a chave pagamentos@exemplo.com."}
  - {shortcut: /horario, text: "Atendemos das 9h às 18h."}
hsm_templates:
  - {name: payment_reminder, language: es, category: utility, body: "Hola {{1}}, tu pago de {{2}} vence mañana.", provider_name: payment_reminder_v2}
`, w.ana.ID, w.bruno.ID, w.carla.ID)
	h.createGroup(t, "team", w.ana.ID, w.bruno.ID, w.carla.ID)
	if _, err := settings.Apply(context.Background(), h.db.Settings(), []byte(doc), h.clock.Now(), -1, "test"); err != nil {
		t.Fatal(err)
	}
	w.anaT = h.loginAs(t, w.ana.Phone)
	w.brunoT = h.loginAs(t, w.bruno.Phone)
	w.carlaT = h.loginAs(t, w.carla.Phone)
	w.supT = h.loginAs(t, w.sup.Phone)
	return w
}

// createGroup makes an agent group with these members straight in the
// database.
func (h *harness) createGroup(t testing.TB, id string, members ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := h.db.SQL().ExecContext(ctx, `INSERT INTO agent_groups (id, name, created_at, updated_at) VALUES ($1, $1, 0, 0)`, id); err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if _, err := h.db.SQL().ExecContext(ctx, `INSERT INTO agent_group_members (group_id, account_id) VALUES ($1, $2)`, id, m); err != nil {
			t.Fatal(err)
		}
	}
}

// query makes a query whose customer last wrote at lastInbound, in state
// with assignee, of type typ, straight in the database (routing would
// decide its own state), and announces it as the service would.
func (w *convWorld) query(t testing.TB, from string, lastInbound time.Time, typ, state, assignee string) string {
	t.Helper()
	m := &channels.Inbound{Channel: "wa-main", Kind: "whatsapp_cloud", ID: "wamid." + from, From: from, ProfileName: "Cliente " + from,
		Timestamp: lastInbound, Type: channels.TypeText, Text: "oi"}
	res := w.inbound(t, m)
	w.decide(t, routing.Query{ID: res.QueryID, Channel: "wa-main", State: state, Type: typ, Assignee: assignee, Cycle: 1})
	return res.QueryID
}

// inbound records a customer message in the database, without routing
// it, and announces it.
func (w *convWorld) inbound(t testing.TB, m *channels.Inbound) conversations.InboundResult {
	t.Helper()
	ctx := context.Background()
	body, _ := json.Marshal(m)
	res, err := w.conv.DB.Conversations().ApplyInbound(ctx, m, body, w.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	w.publish(t, res.Event)
	return res
}

// decide stores q as the conversation's routing state, whatever it was,
// and announces the change.
func (w *convWorld) decide(t testing.TB, q routing.Query) {
	t.Helper()
	ctx := context.Background()
	repo := w.conv.DB.Conversations()
	st, err := repo.RoutingState(ctx, q.ID)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := repo.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: st.Version, Capacity: 1 << 30, Now: w.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	w.publish(t, ev)
}

// publish announces ev, if any, on the events channel, as the service does.
func (w *convWorld) publish(t testing.TB, ev *conversations.Event) {
	t.Helper()
	if ev == nil {
		return
	}
	if err := events.NewPublisher(w.rdb).Publish(context.Background(), *ev); err != nil {
		t.Fatal(err)
	}
}

// history reads a conversation's whole history (up to 500 messages), oldest first.
func (w *convWorld) history(t testing.TB, id string) []conversations.Message {
	t.Helper()
	h, err := w.conv.Service.History(context.Background(), id, conversations.HistoryRange{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return h.Messages
}

func (w *convWorld) listIDs(t *testing.T, token string) []string {
	t.Helper()
	r := w.do(t, "GET", "/api/v1/conversations", token, nil)
	if r.status != 200 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	var out struct {
		Conversations []struct{ ID string } `json:"conversations"`
	}
	r.decode(t, &out)
	var ids []string
	for _, c := range out.Conversations {
		ids = append(ids, c.ID)
	}
	return ids
}

// An operator sees their own queries and the pools they serve, never a
// query assigned to someone else: not by list, get or history.
func TestOperatorVisibility(t *testing.T) {
	w := newConvWorld(t)
	now := w.clock.Now()
	mine := w.query(t, "5511911110001", now.Add(-3*time.Minute), "sales", routing.StateAssigned, w.ana.ID)
	pool := w.query(t, "5511911110002", now.Add(-2*time.Minute), "sales", routing.StatePending, "")
	brunos := w.query(t, "5511911110003", now.Add(-1*time.Minute), "sales", routing.StateAssigned, w.bruno.ID)
	otherPool := w.query(t, "5511911110004", now, "claims", routing.StatePending, "")

	if got := strings.Join(w.listIDs(t, w.anaT), ","); got != pool+","+mine {
		t.Fatalf("ana lists %s, want her pool query and her own (newest first)", got)
	}
	for _, path := range []string{"/api/v1/conversations/" + brunos, "/api/v1/conversations/" + brunos + "/messages", "/api/v1/conversations/" + otherPool} {
		if r := w.do(t, "GET", path, w.anaT, nil); r.status != http.StatusNotFound {
			t.Errorf("ana GET %s: %d, want 404", path, r.status)
		}
	}
	// Replying to a taken query of a type she serves says it is taken (as
	// for the loser of a race); of a type she does not serve, it is not there.
	if r := w.do(t, "POST", "/api/v1/conversations/"+brunos+"/messages", w.anaT, map[string]string{"text": "hi"}); r.status != http.StatusConflict || strings.Contains(r.body, "Cliente") {
		t.Errorf("ana replying to bruno's sales query: %d %s, want 409 without details", r.status, r.body)
	}
	if r := w.do(t, "POST", "/api/v1/conversations/"+otherPool+"/messages", w.anaT, map[string]string{"text": "hi"}); r.status != http.StatusNotFound {
		t.Errorf("ana replying in a pool she does not serve: %d, want 404", r.status)
	}
	if got := len(w.listIDs(t, w.supT)); got != 4 {
		t.Fatalf("supervisor lists %d, want all 4", got)
	}
	r0 := w.do(t, "GET", "/api/v1/conversations?q=110002&state=pending", w.supT, nil)
	if r0.status != 200 || !strings.Contains(r0.body, pool) || strings.Contains(r0.body, mine) || strings.Contains(r0.body, otherPool) {
		t.Fatalf("search by phone and state: %s", r0.body)
	}
	r := w.do(t, "GET", "/api/v1/conversations/"+mine+"/messages", w.anaT, nil)
	if r.status != 200 || !strings.Contains(r.body, `"direction":"inbound"`) || !strings.Contains(r.body, `"text":"oi"`) {
		t.Fatalf("ana's history: %d %s", r.status, r.body)
	}
}

// The customer service window, at its edge: a reply 23:59:59 after the
// customer's last message goes; at 24:00:00 it is refused and nothing is sent.
func TestReplyWindowEdge(t *testing.T) {
	w := newConvWorld(t)
	last := w.clock.Now()
	id := w.query(t, "5511911110001", last, "sales", routing.StateAssigned, w.ana.ID)
	w.clock.Set(last.Add(24*time.Hour - time.Second))
	w.anaT = w.loginAsAfterCooldown(t, w.ana.Phone) // the morning's session has ended
	if r := w.do(t, "POST", "/api/v1/conversations/"+id+"/messages", w.anaT, map[string]string{"text": "still in time"}); r.status != http.StatusAccepted {
		t.Fatalf("reply at 23:59:59: %d %s", r.status, r.body)
	}
	w.clock.Set(last.Add(24 * time.Hour))
	r := w.do(t, "POST", "/api/v1/conversations/"+id+"/messages", w.anaT, map[string]string{"text": "too late"})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `"code":"window_closed"`) {
		t.Fatalf("reply at 24:00:00: %d %s", r.status, r.body)
	}
	hist := w.history(t, id)
	if len(hist) != 2 || hist[1].Text != "still in time" {
		t.Fatalf("history = %+v, want the inbound and the one reply in time", hist)
	}
	if info, err := asynqTasks(w, queue.QueueOutbound); err != nil || info != 1 {
		t.Fatalf("%d sends queued (%v), want 1", info, err)
	}
	if got := testutil.ToFloat64(w.metrics.WindowRejections); got != 1 {
		t.Fatalf("window rejections = %v", got)
	}
}

func asynqTasks(w *convWorld, q string) (int, error) {
	insp := newInspector(w.rdb)
	defer insp.Close()
	info, err := insp.GetQueueInfo(q)
	if err != nil {
		return 0, err
	}
	return info.Size, nil
}

// Many operators reply to one pool query at once: exactly one wins, the
// others get 409 and send nothing.
func TestConcurrentReplyClaimsOnce(t *testing.T) {
	w := newConvWorld(t)
	id := w.query(t, "5511911110001", w.clock.Now(), "sales", routing.StatePending, "")
	var ops []string
	for i := range 8 {
		u := w.createUser(t, fmt.Sprint("Op", i), fmt.Sprintf("+55119222%05d", i), auth.RoleOperator)
		u.QueryTypes = []string{"sales"}
		if _, err := w.users.Update(context.Background(), *u); err != nil {
			t.Fatal(err)
		}
		ops = append(ops, w.loginAs(t, u.Phone))
	}
	var wg sync.WaitGroup
	statuses := make([]int, len(ops))
	for i, tok := range ops {
		wg.Go(func() {
			statuses[i] = w.do(t, "POST", "/api/v1/conversations/"+id+"/messages", tok, map[string]string{"text": "eu atendo"}).status
		})
	}
	wg.Wait()
	won, lost := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusAccepted:
			won++
		case http.StatusConflict:
			lost++
		}
	}
	if won != 1 || lost != len(ops)-1 {
		t.Fatalf("statuses %v: want one 202 and %d 409", statuses, len(ops)-1)
	}
	if hist := w.history(t, id); len(hist) != 2 {
		t.Fatalf("%d messages in history, want the inbound and one reply", len(hist))
	}
}

func TestTransferReturnClose(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	id := w.query(t, "5511911110001", w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)
	w.ana.Grants = []string{string(auth.PermTransfer)} // optional for operators
	if _, err := w.users.Update(ctx, *w.ana); err != nil {
		t.Fatal(err)
	}
	// Carla does not serve sales.
	if r := w.do(t, "POST", "/api/v1/conversations/"+id+"/transfer", w.anaT, map[string]string{"to": w.carla.ID}); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("transfer to a non-serving operator: %d %s", r.status, r.body)
	}
	if r := w.do(t, "POST", "/api/v1/conversations/"+id+"/transfer", w.anaT, map[string]string{"to": w.bruno.ID}); r.status != 200 {
		t.Fatalf("transfer to bruno: %d %s", r.status, r.body)
	}
	if r := w.do(t, "GET", "/api/v1/conversations/"+id, w.anaT, nil); r.status != http.StatusNotFound {
		t.Fatalf("ana still sees the transferred query: %d", r.status)
	}
	if n, _ := w.conv.Service.OperatorLoad(ctx, w.bruno.ID); n != 1 {
		t.Fatalf("bruno's load = %d", n)
	}
	if r := w.do(t, "POST", "/api/v1/conversations/"+id+"/close", w.brunoT, map[string]string{"reason": "because"}); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("close with an unknown reason: %d", r.status)
	}
	if r := w.do(t, "POST", "/api/v1/conversations/"+id+"/close", w.brunoT, map[string]string{"reason": "solved"}); r.status != 200 {
		t.Fatalf("close: %d %s", r.status, r.body)
	}
	if n, _ := w.conv.Service.OperatorLoad(ctx, w.bruno.ID); n != 0 {
		t.Fatalf("bruno's load after close = %d", n)
	}
	c, _ := w.conv.Service.Contact(ctx, conversations.ContactID("wa-main", "5511911110001"))
	if c.OpenQuery != "" {
		t.Fatalf("contact still has open query %s after close", c.OpenQuery)
	}
	// The customer writes again: a new query.
	m := &channels.Inbound{Channel: "wa-main", ID: "wamid.again", From: "5511911110001", Timestamp: w.clock.Now(), Type: "text", Text: "voltei"}
	body, _ := json.Marshal(m)
	res, err := w.conv.Service.ApplyInbound(ctx, m, body)
	if err != nil || !res.NewQuery || res.QueryID == id {
		t.Fatalf("after close: %+v, %v; want a new query", res, err)
	}
	// Return: only the assignee (or one who may refer conversations).
	id2 := w.query(t, "5511911110002", w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)
	// Bruno sees it and may return queries, his own: not hers.
	w.bruno.Grants = []string{string(auth.PermReturn), string(auth.PermViewAll)}
	if _, err := w.users.Update(ctx, *w.bruno); err != nil {
		t.Fatal(err)
	}
	if r := w.do(t, "POST", "/api/v1/conversations/"+id2+"/return", w.brunoT, nil); r.status != http.StatusForbidden {
		t.Fatalf("bruno returning ana's query: %d, want 403", r.status)
	}
	if r := w.do(t, "POST", "/api/v1/conversations/"+id2+"/return", w.anaT, nil); r.status != http.StatusForbidden {
		t.Fatalf("operator without conversations.return: %d, want 403", r.status)
	}
}

func TestPresenceOnlineDispatches(t *testing.T) {
	w := newConvWorld(t)
	if r := w.do(t, "PUT", "/api/v1/me/presence", w.anaT, map[string]string{"presence": "busy"}); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad presence: %d", r.status)
	}
	if r := w.do(t, "PUT", "/api/v1/me/presence", w.anaT, map[string]string{"presence": "online"}); r.status != 200 {
		t.Fatalf("online: %d", r.status)
	}
	pres, _ := w.conv.Presence.Presence(context.Background(), []string{w.ana.ID})
	if pres[w.ana.ID] != routing.PresenceOnline {
		t.Fatalf("presence = %q", pres[w.ana.ID])
	}
	if n, err := asynqTasks(w, queue.QueueRouting); err != nil || n != 1 {
		t.Fatalf("dispatch tasks queued = %d (%v), want 1", n, err)
	}
}

func newInspector(rdb *redis.Client) *asynq.Inspector { return asynq.NewInspectorFromRedisClient(rdb) }

// The event stream tells an operator about their conversations and never
// about someone else's.
func TestEventsAreFilteredByVisibility(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	req, _ := http.NewRequestWithContext(ctx, "GET", w.srv.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+w.anaT)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if first := <-lines; first != ": connected" {
		t.Fatalf("first line %q", first)
	}
	brunos := w.query(t, "5511911110003", w.clock.Now(), "claims", routing.StateAssigned, w.bruno.ID)
	mine := w.query(t, "5511911110001", w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)
	var got []string
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l := <-lines:
			got = append(got, l)
			if strings.Contains(l, brunos) {
				t.Fatalf("ana was told about bruno's conversation: %s", l)
			}
			if strings.HasPrefix(l, "data: ") && strings.Contains(l, mine) && strings.Contains(l, `"type":"state"`) {
				if !strings.Contains(strings.Join(got, "\n"), "event: state") {
					t.Fatalf("no event name before the data: %v", got)
				}
				return
			}
		case <-deadline:
			t.Fatalf("no event about ana's conversation; got %v", got)
		}
	}
}

// Shutting down ends open event streams, so shutdown does not wait on them.
func TestCloseEndsEventStreams(t *testing.T) {
	w := newConvWorld(t)
	req, _ := http.NewRequest("GET", w.srv.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+w.anaT)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ended := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		close(ended)
	}()
	w.api.Close()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream did not end after Close")
	}
}

// A reply the provider refused outside the window shows as window_closed
// in the history, so the operator knows to send a template instead.
func TestHistoryShowsAProviderWindowRefusal(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	id := w.query(t, "5511911110009", w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)
	repo := w.conv.DB.Conversations()
	for msgID, text := range map[string]string{"sb-late": "hola de nuevo", "sb-other": "otra"} {
		if _, _, err := repo.RecordOutbound(ctx, id, msgID, "", text, nil, w.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.conv.Service.MarkFailed(ctx, id, "sb-late", channels.StatusError{Code: 63016, Title: channels.WindowClosedTitle, Message: "outside the allowed window"}); err != nil {
		t.Fatal(err)
	}
	if err := w.conv.Service.MarkFailed(ctx, id, "sb-other", channels.StatusError{Code: 500, Title: "send failed", Message: "provider down"}); err != nil {
		t.Fatal(err)
	}
	r := w.do(t, "GET", "/api/v1/conversations/"+id+"/messages", w.anaT, nil)
	if r.status != 200 || !strings.Contains(r.body, `"error":"outside the allowed window","error_code":"window_closed"`) ||
		!strings.Contains(r.body, `"error":"provider down","error_code":"send_failed"`) {
		t.Fatalf("history: %d %s", r.status, r.body)
	}
}
