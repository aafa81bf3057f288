package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/api"
	"switchboard/channels"
	"switchboard/conversations"
	"switchboard/routing"
)

// convSpec is one conversation to put in the database: its customer's
// only message, and the routing state to store (none if State is "").
type convSpec struct {
	channel, from, name string
	at                  time.Time
	typ, state          string
	assignee            string
}

// seed puts conversations in the database, straight through the
// repository (routing would decide its own states), four at a time, and
// returns their ids in specs' order. Nothing is announced.
func (w *convWorld) seed(t testing.TB, specs []convSpec) []string {
	t.Helper()
	ctx := context.Background()
	repo := w.conv.DB.Conversations()
	ids := make([]string, len(specs))
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < len(specs); i += 4 {
				s := specs[i]
				ch := s.channel
				if ch == "" {
					ch = "wa-main"
				}
				m := &channels.Inbound{Channel: ch, Kind: "whatsapp_cloud", ID: fmt.Sprintf("wamid.seed.%d", i), From: s.from,
					ProfileName: s.name, Timestamp: s.at, Type: channels.TypeText, Text: "oi"}
				body, _ := json.Marshal(m)
				res, err := repo.ApplyInbound(ctx, m, body, w.clock.Now())
				if err != nil {
					errs <- err
					return
				}
				ids[i] = res.QueryID
				if s.state == "" {
					continue
				}
				q := routing.Query{ID: res.QueryID, Channel: ch, State: s.state, Type: s.typ, Assignee: s.assignee, Cycle: 1}
				if s.state == routing.StateClosed {
					q.Resolution = "solved"
				}
				if _, err := repo.ApplyDecision(ctx, conversations.Decision{Query: q, ExpectVersion: 0, Capacity: 1 << 30, Now: w.clock.Now()}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("seed: %v", err)
	}
	return ids
}

// listPage is one page of GET /conversations as a client reads it.
type listPage struct {
	Conversations []api.Conversation `json:"conversations"`
	NextCursor    string             `json:"next_cursor"`
}

// page reads one page of GET /conversations?query.
func (w *convWorld) page(t *testing.T, token, query string) listPage {
	t.Helper()
	r := w.do(t, "GET", "/api/v1/conversations?"+query, token, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /conversations?%s: %d %s", query, r.status, r.body)
	}
	var p listPage
	r.decode(t, &p)
	return p
}

// listAll follows next_cursor from the first page of GET
// /conversations?query to the last and returns every row, in the order
// given, and how many pages it took.
func (w *convWorld) listAll(t *testing.T, token, query string) ([]api.Conversation, int) {
	t.Helper()
	var rows []api.Conversation
	cursor := ""
	for pages := 1; ; pages++ {
		q := query
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		p := w.page(t, token, q)
		rows = append(rows, p.Conversations...)
		if p.NextCursor == "" {
			return rows, pages
		}
		if pages > 10000 {
			t.Fatalf("GET /conversations?%s: still a next page after %d", query, pages)
		}
		cursor = p.NextCursor
	}
}

// wantOnce fails the test unless rows are exactly the conversations want,
// each once, newest activity first.
func wantOnce(t *testing.T, what string, rows []api.Conversation, want []string) {
	t.Helper()
	seen := map[string]int{}
	for i, r := range rows {
		seen[r.ID]++
		if i > 0 && r.UpdatedAt.After(rows[i-1].UpdatedAt) {
			t.Fatalf("%s: row %d (%s, %v) is newer than the one before it (%v)", what, i, r.ID, r.UpdatedAt, rows[i-1].UpdatedAt)
		}
	}
	missing, twice := 0, 0
	for _, id := range want {
		switch seen[id] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
		delete(seen, id)
	}
	if missing > 0 || twice > 0 || len(seen) > 0 || len(rows) != len(want) {
		t.Fatalf("%s: %d rows for %d conversations: %d never reached, %d reached more than once, %d that should not be there",
			what, len(rows), len(want), missing, twice, len(seen))
	}
}

// Thousands of conversations, 3,000 of them with their last messages in
// one millisecond: paging 50 at a time reaches each exactly once, in
// order; and a search finds one customer among them on the first page,
// by a word of their name or by their phone number however it is typed.
func TestConversationListOverThousands(t *testing.T) {
	w := newConvWorld(t)
	const shared, total = 3000, 5000
	// One millisecond for the first 3,000; the others a second apart,
	// older; the customer searched for is the oldest of all.
	at := w.clock.Now().Add(-time.Hour).Add(123 * time.Millisecond)
	specs := make([]convSpec, 0, total+1)
	for i := range total {
		s := convSpec{from: fmt.Sprintf("55219%08d", i), name: fmt.Sprintf("Cliente %04d", i), at: at}
		if i >= shared {
			s.at = at.Add(-time.Duration(i-shared+1) * time.Second)
		}
		specs = append(specs, s)
	}
	specs = append(specs, convSpec{from: "5511987656789", name: "Dona Jurema Conceição", at: at.Add(-10 * 24 * time.Hour),
		typ: "sales", state: routing.StatePending})
	ids := w.seed(t, specs)
	target := ids[total]

	t.Run("every conversation once", func(t *testing.T) {
		rows, pages := w.listAll(t, w.supT, "limit=50")
		wantOnce(t, "paging 50 at a time", rows, ids)
		if pages != (total+1+49)/50 {
			t.Errorf("%d pages of 50 for %d conversations", pages, total+1)
		}
		for _, r := range rows[:shared] {
			if !r.UpdatedAt.Equal(at.UTC().Truncate(time.Millisecond)) {
				t.Fatalf("row %s updated_at %v, want the shared millisecond %v", r.ID, r.UpdatedAt, at)
			}
		}
	})

	t.Run("search", func(t *testing.T) {
		if p := w.page(t, w.supT, ""); slices.ContainsFunc(p.Conversations, func(c api.Conversation) bool { return c.ID == target }) {
			t.Fatal("the customer searched for is on the first page already: the search below would prove nothing")
		}
		for _, q := range []string{"jurema", "JUREMA", "Conceicao", "conceição", "6789", "5511987656789",
			"+55 11 98765-6789", "+55 (11) 98765 6789", " dona  jurema "} {
			for _, tok := range []string{w.supT, w.anaT} { // ana serves sales: she finds her too
				p := w.page(t, tok, "q="+url.QueryEscape(q))
				if len(p.Conversations) != 1 || p.Conversations[0].ID != target || p.NextCursor != "" ||
					p.Conversations[0].ContactName != "Dona Jurema Conceição" || p.Conversations[0].ContactPhone != "5511987656789" {
					t.Errorf("q=%q: %+v, want only %s on the first page", q, p, target)
				}
			}
		}
		for _, q := range []string{"juremas", "6780", "+55 11 98765-6788", "maria"} {
			if p := w.page(t, w.supT, "q="+url.QueryEscape(q)); len(p.Conversations) != 0 {
				t.Errorf("q=%q found %d conversations, want none", q, len(p.Conversations))
			}
		}
		// The others are nobody's pool yet: ana finds none of them.
		if p := w.page(t, w.anaT, "q=cliente"); len(p.Conversations) != 0 {
			t.Errorf("ana searching q=cliente: %d conversations, want none of the unrouted ones", len(p.Conversations))
		}
		// A search pages like the list: 5,000 customers called Cliente.
		rows, _ := w.listAll(t, w.supT, "q=cliente&limit=200")
		wantOnce(t, "q=cliente", rows, ids[:total])
	})
}

// An operator without conversations.view_all sees, across every page,
// exactly the conversations assigned to them and the pending and inactive
// ones of the types they serve: none of a colleague's, none closed, none
// of another type's pool; and an old pending conversation behind a long
// run of ones they may not see is still reached.
func TestOperatorListAcrossPages(t *testing.T) {
	w := newConvWorld(t)
	now := w.clock.Now()
	kinds := []struct {
		typ, state, assignee string
		ana, carla           bool
	}{
		{"sales", routing.StateAssigned, w.ana.ID, true, false},
		{"sales", routing.StatePending, "", true, false},
		{"sales", routing.StateAssigned, w.bruno.ID, false, false},
		{"claims", routing.StatePending, "", false, true},
		{"sales", routing.StateInactive, "", true, false},
		{"sales", routing.StateClosed, "", false, false},
		{"claims", routing.StateInactive, "", false, true},
		{"claims", routing.StateAssigned, w.ana.ID, true, false}, // hers, though she does not serve claims
		{"claims", routing.StateAssigned, w.carla.ID, false, true},
	}
	var specs []convSpec
	var kindOf []int
	add := func(k int, at time.Time) {
		specs = append(specs, convSpec{from: fmt.Sprintf("55219%08d", len(specs)), name: "Cliente", at: at,
			typ: kinds[k].typ, state: kinds[k].state, assignee: kinds[k].assignee})
		kindOf = append(kindOf, k)
	}
	for i := range 180 {
		add(i%len(kinds), now.Add(-time.Duration(i)*time.Minute))
	}
	// A long run ana may not see, then her oldest pool conversation.
	for i := range 150 {
		add(2+(i%2), now.Add(-time.Duration(200+i)*time.Minute))
	}
	add(1, now.Add(-30*24*time.Hour))
	ids := w.seed(t, specs)
	var anas, carlas, anasInactive []string
	for i, k := range kindOf {
		if kinds[k].ana {
			anas = append(anas, ids[i])
			if kinds[k].state == routing.StateInactive {
				anasInactive = append(anasInactive, ids[i])
			}
		}
		if kinds[k].carla {
			carlas = append(carlas, ids[i])
		}
	}
	old := ids[len(ids)-1]

	rows, pages := w.listAll(t, w.anaT, "limit=20")
	wantOnce(t, "ana's list", rows, anas)
	if pages < 5 || rows[len(rows)-1].ID != old {
		t.Errorf("ana's list took %d pages and ends with %s, want her old pool conversation %s last", pages, rows[len(rows)-1].ID, old)
	}
	rows, _ = w.listAll(t, w.carlaT, "limit=20")
	wantOnce(t, "carla's list", rows, carlas)
	rows, _ = w.listAll(t, w.anaT, "limit=7&state=inactive")
	wantOnce(t, "ana's inactive", rows, anasInactive)
	// A filter never widens what one sees.
	for _, q := range []string{"assignee=" + w.bruno.ID, "state=closed", "query_type=claims&state=pending"} {
		if rows, _ := w.listAll(t, w.anaT, q); len(rows) != 0 {
			t.Errorf("ana with %s: %d conversations, want none", q, len(rows))
		}
	}
	// Her own, whatever their type, by the filter for them.
	rows, _ = w.listAll(t, w.anaT, "assignee="+w.ana.ID+"&limit=9")
	if len(rows) != 40 {
		t.Errorf("ana with assignee=herself: %d, want her 40", len(rows))
	}
}

// Each filter narrows the list to what it names; updated_from is
// inclusive and updated_to exclusive.
func TestConversationListFilters(t *testing.T) {
	w := newConvWorld(t)
	base := w.clock.Now().Add(-time.Hour)
	ago := func(n int) time.Time { return base.Add(-time.Duration(n) * time.Minute) }
	ids := w.seed(t, []convSpec{
		{from: "5511911110001", name: "Um", at: ago(1), typ: "sales", state: routing.StateAssigned, assignee: w.ana.ID},
		{from: "5511911110002", name: "Dois", at: ago(2), typ: "sales", state: routing.StatePending},
		{channel: "tg-main", from: "100200300", name: "Três", at: ago(3), typ: "claims", state: routing.StateAssigned, assignee: w.bruno.ID},
		{channel: "tg-main", from: "100200400", name: "Quatro", at: ago(4), typ: "sales", state: routing.StateInactive},
		{from: "5511911110005", name: "Cinco", at: ago(5), typ: "claims", state: routing.StateClosed},
	})
	c1, c2, c3, c4, c5 := ids[0], ids[1], ids[2], ids[3], ids[4]
	ts := func(t time.Time) string { return url.QueryEscape(t.UTC().Format(time.RFC3339)) }
	for _, tc := range []struct {
		token, query string
		want         []string
	}{
		{w.supT, "", []string{c1, c2, c3, c4, c5}},
		{w.supT, "state=assigned", []string{c1, c3}},
		{w.supT, "state=closed", []string{c5}},
		{w.supT, "query_type=claims", []string{c3, c5}},
		{w.supT, "channel=tg-main", []string{c3, c4}},
		{w.supT, "assignee=" + w.ana.ID, []string{c1}},
		{w.supT, "assignee=" + w.ana.ID + "&channel=tg-main", nil},
		{w.supT, "state=pending&query_type=sales", []string{c2}},
		{w.supT, "updated_from=" + ts(ago(4)), []string{c1, c2, c3, c4}},
		{w.supT, "updated_to=" + ts(ago(2)), []string{c3, c4, c5}},
		{w.supT, "updated_from=" + ts(ago(4)) + "&updated_to=" + ts(ago(1)), []string{c2, c3, c4}},
		{w.supT, "updated_from=" + ts(ago(4)) + "&updated_to=" + ts(ago(1)) + "&channel=tg-main&state=inactive", []string{c4}},
		{w.supT, "updated_from=" + ts(base), nil},
		// An operator's filters apply within what they may see.
		{w.anaT, "", []string{c1, c2, c4}},
		{w.anaT, "channel=tg-main", []string{c4}},
		{w.anaT, "query_type=claims", nil},
		{w.anaT, "state=assigned", []string{c1}},
		{w.anaT, "updated_to=" + ts(ago(1)), []string{c2, c4}},
	} {
		var got []string
		for _, c := range w.page(t, tc.token, tc.query).Conversations {
			got = append(got, c.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("GET /conversations?%s: %v, want %v", tc.query, got, tc.want)
		}
	}
}

// A cursor the server did not make, a bad limit and a bad time are the
// caller's mistakes: 400, never a 5xx nor a page.
func TestConversationListRefusesBadParameters(t *testing.T) {
	w := newConvWorld(t)
	w.query(t, "5511911110001", w.clock.Now(), "sales", routing.StatePending, "")
	b64 := func(s string) string { return url.QueryEscape(base64.RawURLEncoding.EncodeToString([]byte(s))) }
	for _, q := range []string{
		"cursor=not*base64", "cursor=" + b64("1700000000000"), "cursor=" + b64("x.0123456789abcdef0123-1"),
		"cursor=" + b64("1700000000000.phone:+5511"), "cursor=" + b64("1700000000000.0123456789abcdef0123-0"),
		"limit=0", "limit=201", "limit=-1", "limit=ten", "limit=",
		"updated_from=yesterday", "updated_to=2026-11-30",
	} {
		r := w.do(t, "GET", "/api/v1/conversations?"+q, w.supT, nil)
		if q == "limit=" {
			// An empty limit is no limit.
			if r.status != http.StatusOK {
				t.Errorf("GET /conversations?%s: %d %s, want 200", q, r.status, r.body)
			}
			continue
		}
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, `"code":"bad_request"`) {
			t.Errorf("GET /conversations?%s: %d %s, want 400 bad_request", q, r.status, r.body)
		}
	}
	for _, q := range []string{"limit=1", "limit=200"} {
		if p := w.page(t, w.supT, q); len(p.Conversations) != 1 {
			t.Errorf("GET /conversations?%s: %d conversations, want 1", q, len(p.Conversations))
		}
	}
	// A cursor the server gave out works as often as it is used.
	w.query(t, "5511911110002", w.clock.Now().Add(-time.Minute), "sales", routing.StatePending, "")
	p := w.page(t, w.supT, "limit=1")
	for range 2 {
		if next := w.page(t, w.supT, "limit=1&cursor="+url.QueryEscape(p.NextCursor)); len(next.Conversations) != 1 || next.Conversations[0].ID == p.Conversations[0].ID {
			t.Fatalf("the second page: %+v after %+v", next, p)
		}
	}
}
