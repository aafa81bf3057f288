package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"switchboard/conversations"
	"switchboard/routing"
)

// A conversation with targets shows them, due and whether missed, in
// GET /conversations/{id} and the list; a miss reaches the assignee's
// event stream as an sla event, and not a colleague's who may not see
// the conversation. One without targets has no sla.
func TestConversationShowsItsTargets(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	repo := w.conv.DB.Conversations()
	qid := w.query(t, "5511911110001", w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)
	plain := w.query(t, "5511911110002", w.clock.Now(), "sales", routing.StatePending, "")
	st, err := repo.RoutingState(ctx, qid)
	if err != nil {
		t.Fatal(err)
	}
	start := w.clock.Now().Truncate(time.Second)
	due := start.Add(5 * time.Minute)
	st.Query.Assignee = w.bruno.ID // a change, so the decision is stored
	if _, err := repo.ApplyDecision(ctx, conversations.Decision{Query: st.Query, ExpectVersion: st.Version, Capacity: 1 << 30,
		Now: w.clock.Now(), SLA: &conversations.SLA{StartedAt: start, FirstResponseDue: due}}); err != nil {
		t.Fatal(err)
	}
	st, _ = repo.RoutingState(ctx, qid)
	st.Query.Assignee = w.ana.ID
	if _, err := repo.ApplyDecision(ctx, conversations.Decision{Query: st.Query, ExpectVersion: st.Version, Capacity: 1 << 30, Now: w.clock.Now()}); err != nil {
		t.Fatal(err)
	}

	type view struct {
		ID  string `json:"id"`
		SLA *struct {
			FirstResponse *struct {
				Due      time.Time `json:"due"`
				Met      bool      `json:"met"`
				Breached bool      `json:"breached"`
			} `json:"first_response"`
			Resolution *struct{} `json:"resolution"`
		} `json:"sla"`
	}
	get := func(id string) view {
		t.Helper()
		r := w.do(t, "GET", "/api/v1/conversations/"+id, w.anaT, nil)
		if r.status != 200 {
			t.Fatalf("get %s: %d %s", id, r.status, r.body)
		}
		var v view
		r.decode(t, &v)
		return v
	}
	v := get(qid)
	if v.SLA == nil || v.SLA.FirstResponse == nil || !v.SLA.FirstResponse.Due.Equal(due) || v.SLA.FirstResponse.Met ||
		v.SLA.FirstResponse.Breached || v.SLA.Resolution != nil {
		t.Fatalf("conversation's sla = %+v, want first_response due %v, neither met nor breached, no resolution", v.SLA, due)
	}
	if p := w.do(t, "GET", "/api/v1/conversations/"+plain, w.anaT, nil); p.status != 200 || strings.Contains(string(p.body), `"sla"`) {
		t.Fatalf("a conversation without targets: %d %s, want no sla", p.status, p.body)
	}
	var list struct{ Conversations []view }
	w.do(t, "GET", "/api/v1/conversations", w.anaT, nil).decode(t, &list)
	found := false
	for _, c := range list.Conversations {
		if c.ID == qid {
			found = c.SLA != nil && c.SLA.FirstResponse != nil && c.SLA.FirstResponse.Due.Equal(due)
		}
	}
	if !found {
		t.Fatalf("the list does not show %s's target: %+v", qid, list.Conversations)
	}

	anas, carlas := openStream(t, w.harness, w.anaT), openStream(t, w.harness, w.carlaT)
	ev, err := repo.RecordSLABreach(ctx, qid, conversations.SLAFirstResponse, due, due)
	if err != nil || ev == nil {
		t.Fatalf("record the miss: %v, %v", ev, err)
	}
	w.publish(t, ev)
	// A marker published after the miss, of a claims pool carla serves:
	// once she is told of it, she would have been told of the miss.
	w.publish(t, &conversations.Event{Type: conversations.EventState, QueryID: plain, State: routing.StatePending, QueryType: "claims"})
	anas.waitData(t, `"type":"sla"`, `"kind":"first_response"`, qid)
	for deadline := time.After(within); ; {
		select {
		case l := <-carlas.lines:
			if strings.Contains(l, qid) {
				t.Fatalf("carla was told about ana's conversation: %s", l)
			}
			if !strings.Contains(l, plain) {
				continue
			}
		case <-deadline:
			t.Fatal("carla's stream was not told of the marker")
		}
		break
	}
	if v := get(qid); v.SLA == nil || v.SLA.FirstResponse == nil || !v.SLA.FirstResponse.Breached {
		t.Fatalf("after the miss sla = %+v, want first_response breached", v.SLA)
	}
}
