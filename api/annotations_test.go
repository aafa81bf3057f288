package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/api"
	"switchboard/auth"
	"switchboard/routing"
)

// tagsDoc is convWorld's settings with tags.
const tagsDoc = `
default_query_type: sales
query_types:
  - {id: sales, strategy: claim, accounts: [ANA, BRUNO]}
  - {id: claims, strategy: claim, accounts: [CARLA]}
resolution_reasons:
  - {id: solved, name: Solved}
tags:
  - {id: urgent, name: Urgent, color: "#d93025"}
  - {id: billing, name: Billing, color: "#1a73e8"}
  - {id: vip, name: VIP, color: "#188038"}
`

// auditHas reads the audit log as an admin and fails unless it holds an
// entry with all of want.
func auditHas(t *testing.T, w *convWorld, adminT string, want ...string) {
	t.Helper()
	r := w.do(t, "GET", "/api/v1/audit", adminT, nil)
	var out struct {
		Entries []auth.Entry `json:"entries"`
	}
	r.decode(t, &out)
	for _, e := range out.Entries {
		line := fmt.Sprintf("action=%s actor=%s target=%s outcome=%s", e.Action, e.Actor, e.Target, e.Outcome)
		ok := true
		for _, s := range want {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			return
		}
	}
	t.Fatalf("no audit entry with %q in %s", want, r.body)
}

// Tags as operators use them: replaced on a conversation they may see,
// shown in the conversation and the list, announced to who may see it,
// audited; refused, changing nothing, on one they may not see, for a tag
// the settings lack, and for a role without tags.update.
func TestConversationTags(t *testing.T) {
	w := newConvWorld(t)
	w.applyDoc(t, tagsDoc)
	admin := w.createUser(t, "Admin", "+5511900000009", auth.RoleAdmin)
	adminT := w.loginAs(t, admin.Phone)
	cora := w.createUser(t, "Cora", "+5511900000010", auth.RoleCollaborator)
	coraT := w.loginAs(t, cora.Phone)
	anas := w.query(t, "5511911110001", w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)
	brunos := w.query(t, "5511911110002", w.clock.Now(), "sales", routing.StateAssigned, w.bruno.ID)
	pool := w.query(t, "5511911110003", w.clock.Now(), "sales", routing.StatePending, "")

	supS, carlaS := openStream(t, w.harness, w.supT), openStream(t, w.harness, w.carlaT)
	r := w.do(t, "PUT", "/api/v1/conversations/"+anas+"/tags", w.anaT, map[string]any{"tags": []string{"urgent", "billing", "urgent"}})
	if r.status != http.StatusOK || r.body != `{"added":["billing","urgent"],"removed":[],"tags":["billing","urgent"]}`+"\n" {
		t.Fatalf("ana tagging hers: %d %s", r.status, r.body)
	}
	supS.waitData(t, `"type":"tags"`, anas, `"assignee":"`+w.ana.ID+`"`)
	w.notSeen(t, carlaS, w.carla.ID, anas)
	auditHas(t, w, adminT, "action=tags.update", "actor="+w.ana.ID, "target="+anas, "added [billing urgent] removed []")

	r = w.do(t, "PUT", "/api/v1/conversations/"+anas+"/tags", w.supT, map[string]any{"tags": []string{"vip", "urgent"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, `"added":["vip"],"removed":["billing"],"tags":["urgent","vip"]`) {
		t.Fatalf("sup retagging: %d %s", r.status, r.body)
	}
	auditHas(t, w, adminT, "action=tags.update", "actor="+w.sup.ID, "added [vip] removed [billing]")

	var cv api.Conversation
	w.do(t, "GET", "/api/v1/conversations/"+anas, w.anaT, nil).decode(t, &cv)
	if !slices.Equal(cv.Tags, []string{"urgent", "vip"}) {
		t.Fatalf("GET conversation tags %v", cv.Tags)
	}
	p := w.page(t, w.anaT, "")
	for _, c := range p.Conversations {
		want := []string{}
		if c.ID == anas {
			want = []string{"urgent", "vip"}
		}
		if !slices.Equal(c.Tags, want) {
			t.Fatalf("list row %s tags %#v, want %v", c.ID, c.Tags, want)
		}
	}
	if p := w.page(t, w.anaT, "tag=vip"); len(p.Conversations) != 1 || p.Conversations[0].ID != anas {
		t.Fatalf("ana's ?tag=vip: %+v", p.Conversations)
	}
	if p := w.page(t, w.brunoT, "tag=vip"); len(p.Conversations) != 0 {
		t.Fatalf("bruno's ?tag=vip lists ana's conversation: %+v", p.Conversations)
	}

	// Refused: each leaves the tags as they were.
	for _, tc := range []struct {
		what, id, token string
		body            any
		status          int
		code            string
	}{
		{"ana on bruno's", brunos, w.anaT, map[string]any{"tags": []string{"urgent"}}, http.StatusNotFound, "not_found"},
		{"carla on a sales pool one", pool, w.carlaT, map[string]any{"tags": []string{"urgent"}}, http.StatusNotFound, "not_found"},
		{"a collaborator", anas, coraT, map[string]any{"tags": []string{}}, http.StatusForbidden, "tags.update"},
		{"an unknown tag", anas, w.anaT, map[string]any{"tags": []string{"urgent", "nope"}}, http.StatusUnprocessableEntity, `no tag \"nope\"`},
		{"no tags key", anas, w.anaT, map[string]any{"tag": "urgent"}, http.StatusBadRequest, "bad_request"},
		{"a conversation that does not exist", "0123456789abcdef0123-9", w.supT, map[string]any{"tags": []string{"urgent"}}, http.StatusNotFound, "not_found"},
	} {
		r := w.do(t, "PUT", "/api/v1/conversations/"+tc.id+"/tags", tc.token, tc.body)
		if r.status != tc.status || !strings.Contains(r.body, tc.code) {
			t.Errorf("%s: %d %s, want %d with %s", tc.what, r.status, r.body, tc.status, tc.code)
		}
	}
	for id, want := range map[string][]string{anas: {"urgent", "vip"}, brunos: {}, pool: {}} {
		q, err := w.conv.Service.Query(context.Background(), id)
		if err != nil || !slices.Equal(q.Tags, want) {
			t.Errorf("%s after the refusals: tags %v, %v; want %v", id, q.Tags, err, want)
		}
	}

	// /team lists the tags for the console.
	r = w.do(t, "GET", "/api/v1/team", w.anaT, nil)
	if !strings.Contains(r.body, `"tags":[{"id":"urgent","name":"Urgent","color":"#d93025"},{"id":"billing"`) {
		t.Fatalf("team: %s", r.body)
	}
}

// ?tag= pages through every tagged conversation the caller may see,
// exactly once, across pages of conversations sharing a millisecond.
func TestListByTagAcrossPages(t *testing.T) {
	w := newConvWorld(t)
	w.applyDoc(t, tagsDoc)
	ctx := context.Background()
	at := w.clock.Now().Add(-time.Hour)
	var specs []convSpec
	for i := range 90 {
		s := convSpec{from: fmt.Sprintf("55119222%05d", i), name: "Cliente", at: at.Add(time.Duration(i/3) * time.Millisecond),
			typ: "sales", state: routing.StatePending}
		switch i % 3 {
		case 1:
			s.state, s.assignee = routing.StateAssigned, w.ana.ID
		case 2:
			s.state, s.assignee = routing.StateAssigned, w.bruno.ID
		}
		specs = append(specs, s)
	}
	ids := w.seed(t, specs)
	var all, anas []string
	for i, id := range ids {
		if i%5 == 4 {
			continue
		}
		if _, _, err := w.conv.Service.SetTags(ctx, id, []string{"urgent"}); err != nil {
			t.Fatal(err)
		}
		all = append(all, id)
		if i%3 != 2 {
			anas = append(anas, id)
		}
	}
	for _, limit := range []int{1, 7, 200} {
		rows, pages := w.listAll(t, w.supT, fmt.Sprintf("tag=urgent&limit=%d", limit))
		wantOnce(t, fmt.Sprintf("sup, limit %d", limit), rows, all)
		if limit == 7 && pages != (len(all)+6)/7 {
			t.Errorf("%d pages of 7 for %d rows", pages, len(all))
		}
		for _, c := range rows {
			if !slices.Contains(c.Tags, "urgent") {
				t.Fatalf("listed %s without the tag: %v", c.ID, c.Tags)
			}
		}
	}
	rows, _ := w.listAll(t, w.anaT, "tag=urgent&limit=5")
	wantOnce(t, "ana", rows, anas)
	// A saved view by tag counts what the list shows its owner.
	var view struct {
		Count int `json:"count"`
	}
	r := w.do(t, "POST", "/api/v1/me/views", w.anaT, map[string]any{"name": "Urgent", "filter": map[string]string{"tag": "urgent"}})
	r.decode(t, &view)
	if r.status != http.StatusCreated || view.Count != len(anas) {
		t.Fatalf("ana's view of urgent: %d %s, want 201 counting %d", r.status, r.body, len(anas))
	}
	rows, _ = w.listAll(t, w.anaT, "tag=urgent&state=pending&limit=5")
	for _, c := range rows {
		if c.State != routing.StatePending {
			t.Fatalf("ana's pending urgent lists %s in %s", c.ID, c.State)
		}
	}
}

// Notes: written by whoever may see a conversation and holds
// notes.write (a collaborator too), read by whoever may see it, oldest
// first; a mention reaches the mentioned colleague's stream, without the
// text, and nobody else's; nothing reaches the customer.
func TestConversationNotes(t *testing.T) {
	w := newConvWorld(t)
	admin := w.createUser(t, "Admin", "+5511900000009", auth.RoleAdmin)
	adminT := w.loginAs(t, admin.Phone)
	cora := w.createUser(t, "Cora", "+5511900000010", auth.RoleCollaborator)
	coraT := w.loginAs(t, cora.Phone)
	gone := w.createUser(t, "Gone", "+5511900000011", auth.RoleOperator)
	if r := w.do(t, "POST", "/api/v1/users/"+gone.ID+"/disable", adminT, nil); r.status != http.StatusOK && r.status != http.StatusNoContent {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	anas := w.query(t, "5511911110001", w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)

	// Whom ana may usefully mention: those who may see hers.
	var mt struct{ Colleagues []api.Colleague }
	w.do(t, "GET", "/api/v1/conversations/"+anas+"/mention-targets", w.anaT, nil).decode(t, &mt)
	var names []string
	for _, c := range mt.Colleagues {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"Admin", "Cora", "Sup"}) {
		t.Fatalf("ana's mention targets %v, want those who see hers: Admin, Cora, Sup", names)
	}
	if r := w.do(t, "GET", "/api/v1/conversations/"+anas+"/mention-targets", w.brunoT, nil); r.status != http.StatusNotFound {
		t.Fatalf("bruno's mention targets on ana's: %d, want 404", r.status)
	}

	supS, brunoS, carlaS, anaS := openStream(t, w.harness, w.supT), openStream(t, w.harness, w.brunoT),
		openStream(t, w.harness, w.carlaT), openStream(t, w.harness, w.anaT)
	secret := "cliente pediu reembolso em dobro"
	r := w.do(t, "POST", "/api/v1/conversations/"+anas+"/notes", w.anaT,
		map[string]any{"text": secret, "mentions": []string{w.sup.ID, w.bruno.ID}})
	if r.status != http.StatusCreated {
		t.Fatalf("ana's note: %d %s", r.status, r.body)
	}
	var note api.NoteView
	r.decode(t, &note)
	mentioned := []string{w.bruno.ID, w.sup.ID}
	slices.Sort(mentioned)
	if note.Author != w.ana.ID || note.AuthorName != "Ana" || note.Text != secret || !slices.Equal(note.Mentions, mentioned) {
		t.Fatalf("note %+v", note)
	}
	// The supervisor sees the conversation: told, with the note's id and
	// never its text. Bruno is mentioned but may not see ana's: not told.
	l := supS.waitData(t, `"type":"note"`, anas, `"note_id":"`+note.ID+`"`, `"to":"`+w.sup.ID+`"`)
	if strings.Contains(l, "reembolso") {
		t.Fatalf("the note event carries the text: %s", l)
	}
	w.notSeen(t, brunoS, w.bruno.ID, `"type":"note"`)
	w.notSeen(t, carlaS, w.carla.ID, `"type":"note"`)
	w.notSeen(t, anaS, w.ana.ID, `"type":"note"`)
	auditHas(t, w, adminT, "action=notes.write", "actor="+w.ana.ID, "target="+anas, note.ID)

	w.clock.Advance(time.Second)
	if r := w.do(t, "POST", "/api/v1/conversations/"+anas+"/notes", coraT, map[string]any{"text": "visto pelo jurídico"}); r.status != http.StatusCreated {
		t.Fatalf("collaborator's note: %d %s", r.status, r.body)
	}
	for _, tok := range []string{w.supT, coraT, w.anaT} {
		var out struct{ Notes []api.NoteView }
		w.do(t, "GET", "/api/v1/conversations/"+anas+"/notes", tok, nil).decode(t, &out)
		if len(out.Notes) != 2 || out.Notes[0].Text != secret || out.Notes[1].AuthorName != "Cora" || !out.Notes[1].At.After(out.Notes[0].At) {
			t.Fatalf("notes %+v", out.Notes)
		}
	}

	// Refused, storing nothing.
	long := strings.Repeat("á", 4001)
	for _, tc := range []struct {
		what, method, token string
		body                any
		status              int
		code                string
	}{
		{"bruno reading ana's", "GET", w.brunoT, nil, http.StatusNotFound, "not_found"},
		{"bruno writing on ana's", "POST", w.brunoT, map[string]any{"text": "x"}, http.StatusNotFound, "not_found"},
		{"carla writing on ana's", "POST", w.carlaT, map[string]any{"text": "x"}, http.StatusNotFound, "not_found"},
		{"an empty note", "POST", w.anaT, map[string]any{"text": "  "}, http.StatusBadRequest, "bad_request"},
		{"4001 characters", "POST", w.anaT, map[string]any{"text": long}, http.StatusBadRequest, "bad_request"},
		{"a mention of nobody", "POST", w.anaT, map[string]any{"text": "x", "mentions": []string{"u_0000000000000bad"}}, http.StatusUnprocessableEntity, `u_0000000000000bad`},
		{"a mention of a disabled user", "POST", w.anaT, map[string]any{"text": "x", "mentions": []string{gone.ID}}, http.StatusUnprocessableEntity, "invalid_mention"},
	} {
		r := w.do(t, tc.method, "/api/v1/conversations/"+anas+"/notes", tc.token, tc.body)
		if r.status != tc.status || !strings.Contains(r.body, tc.code) {
			t.Errorf("%s: %d %s, want %d with %s", tc.what, r.status, r.body, tc.status, tc.code)
		}
	}
	if r := w.do(t, "POST", "/api/v1/conversations/"+anas+"/notes", w.anaT, map[string]any{"text": strings.Repeat("á", 4000)}); r.status != http.StatusCreated {
		t.Fatalf("4000 characters: %d", r.status)
	}
	notes, err := w.conv.Service.Notes(context.Background(), anas)
	if err != nil || len(notes) != 3 {
		t.Fatalf("%d notes stored after the refusals, want 3: %v", len(notes), err)
	}
	// Notes are not messages: the customer's history holds only their
	// own message, and nothing was queued to send.
	if hist := w.history(t, anas); len(hist) != 1 {
		t.Fatalf("history %+v", hist)
	}
	if n := outboundQueued(t, w); n != 0 {
		t.Fatalf("%d sends queued by notes", n)
	}

	// Erasing the contact erases its notes.
	cid, _, _ := strings.Cut(anas, "-")
	if r := w.do(t, "POST", "/api/v1/contacts/"+cid+"/erase", adminT, nil); r.status != http.StatusOK {
		t.Fatalf("erase: %d %s", r.status, r.body)
	}
	if r := w.do(t, "GET", "/api/v1/conversations/"+anas+"/notes", adminT, nil); r.status != http.StatusNotFound {
		t.Fatalf("notes after the erasure: %d %s", r.status, r.body)
	}
	var n int
	if err := w.db.SQL().QueryRow(`SELECT count(*) FROM notes WHERE conversation_id = $1`, anas).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d notes left after the erasure, %v", n, err)
	}
}

// A tag the coordinator removes from the settings stays on the
// conversations carrying it, and does not lock their tags: a replacement
// may keep it (the console sends the tags shown plus the one added), but
// no conversation gets it anew.
func TestTagRemovedFromSettings(t *testing.T) {
	w := newConvWorld(t)
	w.applyDoc(t, tagsDoc)
	anas := w.query(t, "5511911110001", w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)
	other := w.query(t, "5511911110002", w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)
	if r := w.do(t, "PUT", "/api/v1/conversations/"+anas+"/tags", w.anaT, map[string]any{"tags": []string{"vip"}}); r.status != http.StatusOK {
		t.Fatalf("tagging vip: %d %s", r.status, r.body)
	}
	w.applyDoc(t, strings.Replace(tagsDoc, `  - {id: vip, name: VIP, color: "#188038"}`+"\n", "", 1))

	r := w.do(t, "PUT", "/api/v1/conversations/"+anas+"/tags", w.anaT, map[string]any{"tags": []string{"vip", "urgent"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, `"added":["urgent"],"removed":[],"tags":["urgent","vip"]`) {
		t.Fatalf("adding urgent beside the removed vip: %d %s", r.status, r.body)
	}
	r = w.do(t, "PUT", "/api/v1/conversations/"+anas+"/tags", w.anaT, map[string]any{"tags": []string{"urgent"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, `"removed":["vip"]`) {
		t.Fatalf("removing the removed vip: %d %s", r.status, r.body)
	}
	for _, id := range []string{anas, other} {
		r = w.do(t, "PUT", "/api/v1/conversations/"+id+"/tags", w.anaT, map[string]any{"tags": []string{"urgent", "vip"}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `no tag \"vip\"`) {
			t.Fatalf("putting the removed vip anew on %s: %d %s, want 422", id, r.status, r.body)
		}
	}
}
