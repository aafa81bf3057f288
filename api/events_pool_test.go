package api_test

// Every change an operator's view shows reaches them through their event
// stream, and only theirs: a query entering a pool they may claim from,
// claimed by someone else (it leaves their pool view at once), assigned,
// transferred, returned, closed. Each case asserts through the real
// stream that the operator who should be told is, and one who should not
// is not: sales is served by ana and bruno, claims by carla.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/auth"
	"switchboard/channels"
	"switchboard/routing"
	"switchboard/settings"
)

// sentinels numbers the marker events notSeen publishes.
var sentinels atomic.Int64

// notSeen fails the test if s, user's stream, is told about an event
// carrying all of forbidden before a marker published now, addressed to
// user alone: events reach a stream in the order they are published, so
// one that was to reach it would have come first.
func (w *convWorld) notSeen(t *testing.T, s *stream, user string, forbidden ...string) {
	t.Helper()
	marker := fmt.Sprintf("sentinel-%d-%d", time.Now().UnixNano(), sentinels.Add(1))
	ev := fmt.Sprintf(`{"type":"state","query_id":%q,"state":"closed","previous_assignee":%q}`, marker, user)
	if err := w.rdb.Publish(context.Background(), "{sb}:events", ev).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(within)
	for {
		select {
		case l := <-s.lines:
			if strings.Contains(l, marker) {
				return
			}
			if !strings.HasPrefix(l, "data: ") {
				continue
			}
			all := true
			for _, f := range forbidden {
				all = all && strings.Contains(l, f)
			}
			if all {
				t.Fatalf("%s was told what is not theirs to see: %s", user, l)
			}
		case <-s.ended:
			t.Fatal("the stream ended before the marker")
		case <-deadline:
			t.Fatalf("the marker did not reach %s within %v", user, within)
		}
	}
}

// deliver hands a customer message to the service, which applies it,
// routes it and publishes what changed, as the worker's task does.
func (w *convWorld) deliver(t *testing.T, id, from, text string) string {
	t.Helper()
	m := &channels.Inbound{Channel: "wa-main", Kind: "whatsapp_cloud", ID: id, From: from, ProfileName: "Cliente",
		Timestamp: w.clock.Now(), Type: channels.TypeText, Text: text}
	body, _ := json.Marshal(m)
	res, err := w.conv.Service.ApplyInbound(context.Background(), m, body)
	if err != nil {
		t.Fatal(err)
	}
	return res.QueryID
}

// applyDoc replaces the routing settings (before the streams open: a
// stream reads them when it opens).
func (w *convWorld) applyDoc(t *testing.T, doc string) {
	t.Helper()
	doc = strings.NewReplacer("ANA", w.ana.ID, "BRUNO", w.bruno.ID, "CARLA", w.carla.ID).Replace(doc)
	if _, err := settings.Apply(context.Background(), w.db.Settings(), []byte(doc), w.clock.Now(), -1, "test"); err != nil {
		t.Fatal(err)
	}
}

func (w *convWorld) grant(t *testing.T, u string, p auth.Permission) {
	t.Helper()
	ctx := context.Background()
	acc, err := w.users.Get(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	acc.Grants = append(acc.Grants, string(p))
	if _, err := w.users.Update(ctx, *acc); err != nil {
		t.Fatal(err)
	}
}

func (w *convWorld) ok(t *testing.T, method, path, token string, body any) {
	t.Helper()
	if r := w.do(t, method, path, token, body); r.status != http.StatusOK && r.status != http.StatusAccepted {
		t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
	}
}

// A new query routed to a claim pool reaches the operators of its type.
func TestEventNewPoolQueryReachesThePool(t *testing.T) {
	w := newConvWorld(t)
	anas, brunos, carlas := openStream(t, w.harness, w.anaT), openStream(t, w.harness, w.brunoT), openStream(t, w.harness, w.carlaT)
	id := w.deliver(t, "wamid.pool1", "5511977770001", "oi")
	for _, s := range []*stream{anas, brunos} {
		s.waitData(t, id, `"type":"state"`, `"state":"pending"`, `"query_type":"sales"`)
	}
	w.notSeen(t, carlas, w.carla.ID, id)
}

// menuDoc asks the customer to choose; sales is a claim pool.
const menuDoc = `
menu: {enabled: true, prompt: menu, max_attempts: 2}
default_query_type: sales
query_types:
  - {id: sales, menu_key: "1", strategy: claim, accounts: [ANA, BRUNO]}
  - {id: claims, menu_key: "2", strategy: claim, accounts: [CARLA]}
templates:
  - {id: menu, language: en, text: "1 sales, 2 claims"}
`

// The gap a new user hit: a query waiting for the customer's menu choice
// is pending with no type, and choosing one puts it in that type's pool
// without changing its state or assignee; that decision announced
// nothing, so the pool's operators never heard of it.
func TestEventQueryEnteringAPoolByTheMenuReachesThePool(t *testing.T) {
	w := newConvWorld(t)
	w.applyDoc(t, menuDoc)
	anas, carlas := openStream(t, w.harness, w.anaT), openStream(t, w.harness, w.carlaT)
	id := w.deliver(t, "wamid.menu1", "5511977770002", "oi")
	if st, _ := w.conv.Service.State(context.Background(), id); st.Query.Type != "" || !st.Query.AwaitingMenu {
		t.Fatalf("after the first message: %+v, want awaiting the menu", st.Query)
	}
	w.deliver(t, "wamid.menu2", "5511977770002", "1")
	anas.waitData(t, id, `"type":"state"`, `"state":"pending"`, `"query_type":"sales"`)
	w.notSeen(t, carlas, w.carla.ID, id)
}

// A pool query claimed by one operator (by replying) reaches the other
// operators of the pool, so it leaves their pool view at once; an operator
// of another type hears nothing.
func TestEventQueryClaimedBySomeoneElseReachesThePool(t *testing.T) {
	w := newConvWorld(t)
	id := w.deliver(t, "wamid.claim1", "5511977770003", "oi")
	anas, carlas := openStream(t, w.harness, w.anaT), openStream(t, w.harness, w.carlaT)
	w.ok(t, "POST", "/api/v1/conversations/"+id+"/messages", w.brunoT, map[string]string{"text": "eu atendo"})
	anas.waitData(t, id, `"type":"state"`, `"state":"assigned"`, `"assignee":"`+w.bruno.ID+`"`, `"previous_state":"pending"`)
	w.notSeen(t, carlas, w.carla.ID, id)
}

// roundRobinDoc assigns sales by round robin over ana and bruno.
const roundRobinDoc = `
default_query_type: sales
query_types:
  - {id: sales, strategy: round_robin, accounts: [ANA, BRUNO]}
  - {id: claims, strategy: claim, accounts: [CARLA]}
`

// A query routing assigns from the pool, as an operator comes online,
// reaches them, and the pool's other operator sees it leave; the
// operator of another type hears nothing.
func TestEventAssignedQueryReachesItsOperatorAndLeavesThePool(t *testing.T) {
	w := newConvWorld(t)
	w.applyDoc(t, roundRobinDoc)
	id := w.deliver(t, "wamid.rr1", "5511977770004", "oi") // nobody online: it waits
	anas, brunos, carlas := openStream(t, w.harness, w.anaT), openStream(t, w.harness, w.brunoT), openStream(t, w.harness, w.carlaT)
	w.ok(t, "PUT", "/api/v1/me/presence", w.anaT, map[string]string{"presence": "online"})
	if err := w.conv.Service.Dispatch(context.Background(), w.ana.ID); err != nil { // as the dispatch task does
		t.Fatal(err)
	}
	anas.waitData(t, id, `"state":"assigned"`, `"assignee":"`+w.ana.ID+`"`)
	brunos.waitData(t, id, `"state":"assigned"`, `"previous_state":"pending"`)
	w.notSeen(t, carlas, w.carla.ID, id)
}

// A transfer reaches the operator it leaves and the one it goes to, and
// nobody else.
func TestEventTransferReachesBothOperators(t *testing.T) {
	w := newConvWorld(t)
	w.grant(t, w.ana.ID, auth.PermTransfer)
	id := w.query(t, "5511977770005", w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)
	anas, brunos, carlas := openStream(t, w.harness, w.anaT), openStream(t, w.harness, w.brunoT), openStream(t, w.harness, w.carlaT)
	w.ok(t, "POST", "/api/v1/conversations/"+id+"/transfer", w.anaT, map[string]string{"to": w.bruno.ID})
	brunos.waitData(t, id, `"state":"assigned"`, `"assignee":"`+w.bruno.ID+`"`)
	anas.waitData(t, id, `"assignee":"`+w.bruno.ID+`"`, `"previous_assignee":"`+w.ana.ID+`"`)
	w.notSeen(t, carlas, w.carla.ID, id)
}

// A query returned to its pool reaches the pool's operators, and the one
// who returned it; not an operator of another type.
func TestEventReturnedQueryReachesThePool(t *testing.T) {
	w := newConvWorld(t)
	w.grant(t, w.ana.ID, auth.PermReturn)
	id := w.query(t, "5511977770006", w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)
	anas, brunos, carlas := openStream(t, w.harness, w.anaT), openStream(t, w.harness, w.brunoT), openStream(t, w.harness, w.carlaT)
	w.ok(t, "POST", "/api/v1/conversations/"+id+"/return", w.anaT, nil)
	brunos.waitData(t, id, `"state":"pending"`, `"query_type":"sales"`)
	anas.waitData(t, id, `"state":"pending"`, `"previous_assignee":"`+w.ana.ID+`"`)
	w.notSeen(t, carlas, w.carla.ID, id)
}

// Closing reaches whoever saw the query: its operator for an assigned one
// (not the pool, which never saw it), the pool for a pool query.
func TestEventClosedQueryReachesWhoSawIt(t *testing.T) {
	w := newConvWorld(t)
	w.grant(t, w.sup.ID, auth.PermRefer) // closes a query nobody holds
	mine := w.query(t, "5511977770007", w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)
	pool := w.query(t, "5511977770008", w.clock.Now(), "sales", routing.StatePending, "")
	anas, brunos, carlas := openStream(t, w.harness, w.anaT), openStream(t, w.harness, w.brunoT), openStream(t, w.harness, w.carlaT)
	w.ok(t, "POST", "/api/v1/conversations/"+mine+"/close", w.anaT, map[string]string{"reason": "solved"})
	anas.waitData(t, mine, `"state":"closed"`)
	w.notSeen(t, brunos, w.bruno.ID, mine)
	w.ok(t, "POST", "/api/v1/conversations/"+pool+"/close", w.supT, map[string]string{"reason": "solved"})
	anas.waitData(t, pool, `"state":"closed"`, `"previous_state":"pending"`)
	brunos.waitData(t, pool, `"state":"closed"`, `"previous_state":"pending"`)
	w.notSeen(t, carlas, w.carla.ID, pool)
}
