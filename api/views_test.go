package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchboard/api"
	"switchboard/auth"
	"switchboard/routing"
)

// views reads the caller's saved views.
func (w *convWorld) views(t *testing.T, token string) []api.View {
	t.Helper()
	r := w.do(t, "GET", "/api/v1/me/views", token, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /me/views: %d %s", r.status, r.body)
	}
	var out struct {
		Views []api.View `json:"views"`
	}
	r.decode(t, &out)
	return out.Views
}

// saveView saves a view and returns it as answered.
func (w *convWorld) saveView(t *testing.T, token, name string, filter map[string]string) api.View {
	t.Helper()
	r := w.do(t, "POST", "/api/v1/me/views", token, map[string]any{"name": name, "filter": filter})
	if r.status != http.StatusCreated {
		t.Fatalf("POST /me/views %s %v: %d %s", name, filter, r.status, r.body)
	}
	var v api.View
	r.decode(t, &v)
	return v
}

// A view's count is the number of rows the list returns, over all its
// pages, for the same filter and the same user: for an operator, who sees
// their own and their pools, and for a supervisor, who sees everything.
func TestSavedViewCountsWhatTheListShows(t *testing.T) {
	w := newConvWorld(t)
	now := w.clock.Now()
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	// Ana and Bruno serve sales, Carla claims.
	w.query(t, "5511911110001", ago(5*time.Minute), "sales", routing.StatePending, "")
	w.query(t, "5511911110002", ago(40*time.Minute), "sales", routing.StatePending, "")
	w.query(t, "5511911110003", ago(3*time.Hour), "sales", routing.StateInactive, "")
	w.query(t, "5511911110004", ago(50*time.Minute), "sales", routing.StateAssigned, w.ana.ID)
	w.query(t, "5511911110005", ago(10*time.Minute), "sales", routing.StateAssigned, w.ana.ID)
	w.query(t, "5511911110006", ago(2*time.Hour), "sales", routing.StateAssigned, w.bruno.ID)
	w.query(t, "5511911110007", ago(4*time.Hour), "claims", routing.StatePending, "")
	w.query(t, "5511911110008", ago(45*time.Minute), "claims", routing.StateAssigned, w.carla.ID)
	w.query(t, "5511911110009", ago(6*time.Hour), "sales", routing.StateClosed, "")
	// Some views for each, then the list for each view's filter.
	filters := []map[string]string{
		{},
		{"state": "pending"},
		{"query_type": "sales"},
		{"state": "assigned", "assignee": w.ana.ID},
		{"assignee": w.bruno.ID},
		{"waiting_longer_than": "30m"},
		{"query_type": "sales", "waiting_longer_than": "1h"},
		{"channel": "wa-main", "state": "closed"},
		{"channel": "tg-main"},
	}
	want := map[string]map[string]int{ // user, then view index as text: the rows a person sees
		"ana": {"0": 5, "1": 2, "2": 5, "3": 2, "4": 0, "5": 3, "6": 1, "7": 0, "8": 0},
		"sup": {"0": 9, "1": 3, "2": 7, "3": 2, "4": 1, "5": 7, "6": 3, "7": 1, "8": 0},
	}
	for _, who := range []struct {
		name, token string
	}{{"ana", w.anaT}, {"sup", w.supT}} {
		index := map[string]int{} // view id: its filter's
		for i, f := range filters {
			index[w.saveView(t, who.token, "view "+string(rune('0'+i)), f).ID] = i
		}
		views := w.views(t, who.token)
		if len(views) != len(filters) {
			t.Fatalf("%s has %d views, want %d", who.name, len(views), len(filters))
		}
		for _, v := range views {
			i := index[v.ID]
			q := url.Values{}
			for k, val := range filters[i] {
				q.Set(k, val)
			}
			q.Set("limit", "2") // several pages: the count is over all of them
			rows, _ := w.listAll(t, who.token, q.Encode())
			if v.Count != len(rows) {
				t.Errorf("%s's view %v counts %d, the list shows %d", who.name, filters[i], v.Count, len(rows))
			}
			if n := want[who.name][string(rune('0'+i))]; v.Count != n {
				t.Errorf("%s's view %v counts %d, want %d", who.name, filters[i], v.Count, n)
			}
		}
	}
	// Time passes: waiting_longer_than is measured at each read.
	w.clock.Advance(30 * time.Minute)
	for _, v := range w.views(t, w.anaT) {
		if v.Filter.WaitingLongerThan == "30m" && v.Filter.QueryType == "" && v.Count != 5 {
			t.Errorf("ana's waiting-longer-than-30m view 30 minutes later counts %d, want 5", v.Count)
		}
	}
}

// A user sees and deletes only their own views; another's is a 404, and
// a view goes with its user.
func TestSavedViewsAreTheirOwners(t *testing.T) {
	w := newConvWorld(t)
	mine := w.saveView(t, w.anaT, "Pendentes", map[string]string{"state": "pending"})
	if !strings.HasPrefix(mine.ID, "v_") || mine.Name != "Pendentes" || mine.Filter.State != "pending" || !mine.CreatedAt.Equal(w.clock.Now().UTC().Truncate(time.Millisecond)) {
		t.Fatalf("saved view = %+v", mine)
	}
	if vs := w.views(t, w.brunoT); len(vs) != 0 {
		t.Fatalf("bruno sees ana's views: %+v", vs)
	}
	if r := w.do(t, "DELETE", "/api/v1/me/views/"+mine.ID, w.brunoT, nil); r.status != http.StatusNotFound || !strings.Contains(r.body, `"code":"not_found"`) {
		t.Fatalf("bruno deleting ana's view: %d %s, want 404", r.status, r.body)
	}
	if r := w.do(t, "DELETE", "/api/v1/me/views/"+mine.ID, w.supT, nil); r.status != http.StatusNotFound {
		t.Fatalf("a supervisor deleting ana's view: %d %s, want 404", r.status, r.body)
	}
	if vs := w.views(t, w.anaT); len(vs) != 1 || vs[0].ID != mine.ID {
		t.Fatalf("ana's views after others tried to delete hers: %+v", vs)
	}
	if r := w.do(t, "DELETE", "/api/v1/me/views/not-a-view", w.anaT, nil); r.status != http.StatusNotFound {
		t.Fatalf("deleting a malformed id: %d, want 404", r.status)
	}
	if r := w.do(t, "DELETE", "/api/v1/me/views/"+mine.ID, w.anaT, nil); r.status != http.StatusNoContent {
		t.Fatalf("ana deleting her view: %d %s", r.status, r.body)
	}
	if r := w.do(t, "DELETE", "/api/v1/me/views/"+mine.ID, w.anaT, nil); r.status != http.StatusNotFound {
		t.Fatalf("deleting it again: %d, want 404", r.status)
	}
	if vs := w.views(t, w.anaT); len(vs) != 0 {
		t.Fatalf("ana's views after deleting: %+v", vs)
	}

	w.saveView(t, w.brunoT, "Minhas", map[string]string{"assignee": w.bruno.ID})
	if err := w.users.Delete(context.Background(), w.bruno.ID, w.login); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := w.db.SQL().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM saved_views WHERE user_id = $1`, w.bruno.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("bruno's views after his account was deleted: %d (%v), want 0", n, err)
	}
}

// A filter the list would not accept is refused, naming the field; a
// user without views.customize keeps none.
func TestSavedViewsRefused(t *testing.T) {
	w := newConvWorld(t)
	for _, tc := range []struct {
		body   any
		status int
		names  string
	}{
		{map[string]any{"name": "", "filter": map[string]string{}}, 422, "name:"},
		{map[string]any{"name": strings.Repeat("x", 61)}, 422, "name:"},
		{map[string]any{"name": "x", "filter": map[string]string{"state": "open"}}, 422, "filter.state:"},
		{map[string]any{"name": "x", "filter": map[string]string{"query_type": "nope"}}, 422, "filter.query_type:"},
		{map[string]any{"name": "x", "filter": map[string]string{"assignee": "u_nobody"}}, 422, "filter.assignee:"},
		{map[string]any{"name": "x", "filter": map[string]string{"waiting_longer_than": "soon"}}, 422, "filter.waiting_longer_than:"},
		{map[string]any{"name": "x", "filter": map[string]string{"waiting_longer_than": "-5m"}}, 422, "filter.waiting_longer_than:"},
		{map[string]any{"name": "x", "filter": map[string]string{"tag": "nope"}}, 422, "filter.tag:"},
		{map[string]any{"name": "x", "filter": map[string]string{"colour": "red"}}, 422, "filter.colour:"},
		{map[string]any{"name": "x", "filter": map[string]any{"state": 3}}, 422, "filter.state:"},
		{map[string]any{"name": "x", "filter": "pending"}, 422, "filter:"},
		{"not an object", 400, "body must be"},
	} {
		r := w.do(t, "POST", "/api/v1/me/views", w.anaT, tc.body)
		if r.status != tc.status || !strings.Contains(r.body, tc.names) {
			t.Errorf("POST /me/views %v: %d %s, want %d naming %q", tc.body, r.status, r.body, tc.status, tc.names)
		}
	}
	if vs := w.views(t, w.anaT); len(vs) != 0 {
		t.Fatalf("refused views were kept: %+v", vs)
	}
	if r := w.do(t, "GET", "/api/v1/conversations?waiting_longer_than=later", w.anaT, nil); r.status != http.StatusBadRequest || !strings.Contains(r.body, "waiting_longer_than") {
		t.Errorf("list with a bad waiting_longer_than: %d %s, want 400 naming it", r.status, r.body)
	}

	// A collaborator may not keep views: every route refuses, naming the
	// permission, and nothing is stored.
	col := w.createUser(t, "Col", "+5511900000009", auth.RoleCollaborator)
	colT := w.loginAs(t, col.Phone)
	for _, r := range []response{
		w.do(t, "GET", "/api/v1/me/views", colT, nil),
		w.do(t, "POST", "/api/v1/me/views", colT, map[string]any{"name": "Tudo"}),
		w.do(t, "DELETE", "/api/v1/me/views/v_0123456789abcdef", colT, nil),
	} {
		if r.status != http.StatusForbidden || !strings.Contains(r.body, string(auth.PermViews)) {
			t.Errorf("collaborator: %d %s, want 403 naming %s", r.status, r.body, auth.PermViews)
		}
	}
	var n int
	if err := w.db.SQL().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM saved_views`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("saved views stored: %d (%v)", n, err)
	}
}
