package repository_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/conversations"
	"switchboard/internal/dbtest"
	"switchboard/repository"
	"switchboard/routing"
)

// listAll pages through a list and returns every id in order, failing
// on a repeated row.
func listAll(t *testing.T, r *repository.Conversations, f conversations.Filter) []string {
	t.Helper()
	var ids []string
	seen := map[string]bool{}
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("list does not end")
		}
		p, err := r.List(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		limit := f.Limit
		if limit == 0 {
			limit = 50
		}
		if len(p.Items) > limit {
			t.Fatalf("page of %d rows, limit %d", len(p.Items), limit)
		}
		for _, it := range p.Items {
			if seen[it.ID] {
				t.Fatalf("row %s listed twice", it.ID)
			}
			seen[it.ID] = true
			ids = append(ids, it.ID)
		}
		if p.Next == nil {
			return ids
		}
		if len(p.Items) != limit {
			t.Fatalf("a page of %d rows before the end, limit %d", len(p.Items), limit)
		}
		f.After = p.Next
	}
}

// The Redis cursor was the activity time alone: paging through rows of
// one millisecond lost all but the first page. Ties are broken by id.
func TestListKeysetReachesEveryRowOfOneMillisecond(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		const n = 3000
		var rows []seedRow
		for i := range n {
			cid := fmt.Sprintf("c%05d", i)
			rows = append(rows, seedRow{contactID: cid, external: fmt.Sprintf("55%011d", i), profile: "Cliente",
				queryID: cid + "-1", state: routing.StatePending, activity: t0})
		}
		// One row either side of the tie.
		rows = append(rows,
			seedRow{contactID: "newer", external: "1", queryID: "newer-1", state: routing.StatePending, activity: t0.Add(time.Millisecond)},
			seedRow{contactID: "older", external: "2", queryID: "older-1", state: routing.StatePending, activity: t0.Add(-time.Millisecond)})
		seed(t, db, rows)
		ids := listAll(t, r, conversations.Filter{Limit: 50})
		if len(ids) != n+2 || ids[0] != "newer-1" || ids[len(ids)-1] != "older-1" {
			t.Fatalf("listed %d rows (first %s, last %s), want %d from newer-1 to older-1", len(ids), ids[0], ids[len(ids)-1], n+2)
		}
		tied := ids[1 : n+1]
		if !slices.IsSortedFunc(tied, func(a, b string) int { return -cmpString(a, b) }) {
			t.Fatal("rows of one millisecond are not in descending id order")
		}
	})
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestListLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		var rows []seedRow
		for i := range 250 {
			cid := fmt.Sprintf("c%03d", i)
			rows = append(rows, seedRow{contactID: cid, external: cid, queryID: cid + "-1", state: routing.StatePending, activity: t0.Add(time.Duration(i) * time.Second)})
		}
		seed(t, db, rows)
		for _, c := range []struct{ limit, want int }{{0, 50}, {-1, 50}, {1, 1}, {200, 200}, {1000, 200}} {
			p, err := r.List(ctx, conversations.Filter{Limit: c.limit})
			if err != nil || len(p.Items) != c.want || p.Next == nil {
				t.Fatalf("Limit %d: %d rows, next %v, %v; want %d and more", c.limit, len(p.Items), p.Next, err, c.want)
			}
		}
		p, _ := r.List(ctx, conversations.Filter{Limit: 10, After: &conversations.Cursor{At: t0.Add(10 * time.Second), ID: "c010-1"}})
		if len(p.Items) != 10 || p.Next != nil || p.Items[0].ID != "c009-1" {
			t.Fatalf("last page: %d rows from %s, next %v; want exactly the 10 older, no next", len(p.Items), p.Items[0].ID, p.Next)
		}
	})
}

// listFixture is a small population for filter and viewer tests:
// conversations of several states, types, channels and assignees.
func listFixture(t *testing.T, db *repository.DB) {
	t.Helper()
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	row := func(id, state, typ, assignee string, m int) seedRow {
		return seedRow{contactID: "k" + id, external: "55110000" + id, profile: "Cliente " + id, queryID: id,
			state: state, queryType: typ, assignee: assignee, activity: at(m)}
	}
	rows := []seedRow{
		row("a1", routing.StateAssigned, "sales", "u_ana", 10),
		row("a2", routing.StateAssigned, "support", "u_ana", 9),
		row("b1", routing.StateAssigned, "sales", "u_bruno", 8),
		row("p1", routing.StatePending, "sales", "", 7),
		row("p2", routing.StatePending, "support", "", 6),
		row("p3", routing.StatePending, "claims", "", 5),
		row("i1", routing.StateInactive, "sales", "", 4),
		row("i2", routing.StateInactive, "claims", "", 3),
		row("c1", routing.StateClosed, "sales", "", 2),
		row("n1", routing.StatePending, "", "", 1), // never routed
	}
	seed(t, db, rows)
	if _, err := db.SQL().Exec(`UPDATE conversations SET channel = 'tg-main' WHERE id IN ('p1', 'c1')`); err != nil {
		t.Fatal(err)
	}
}

func TestListFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		listFixture(t, db)
		at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
		cases := []struct {
			name string
			f    conversations.Filter
			want string
		}{
			{"all", conversations.Filter{}, "[a1 a2 b1 p1 p2 p3 i1 i2 c1 n1]"},
			{"state", conversations.Filter{State: routing.StatePending}, "[p1 p2 p3 n1]"},
			{"type", conversations.Filter{QueryType: "sales"}, "[a1 b1 p1 i1 c1]"},
			{"type and state", conversations.Filter{QueryType: "sales", State: routing.StateAssigned}, "[a1 b1]"},
			{"channel", conversations.Filter{Channel: "tg-main"}, "[p1 c1]"},
			{"assignee", conversations.Filter{Assignee: "u_ana"}, "[a1 a2]"},
			{"updated range", conversations.Filter{UpdatedFrom: at(3), UpdatedTo: at(7)}, "[p2 p3 i1 i2]"},
			{"range and type", conversations.Filter{UpdatedFrom: at(3), QueryType: "claims"}, "[p3 i2]"},
			{"channel and state", conversations.Filter{Channel: "tg-main", State: routing.StateClosed}, "[c1]"},
			{"nothing", conversations.Filter{State: routing.StateClosed, QueryType: "support"}, "[]"},
		}
		for _, c := range cases {
			c.f.Limit = 3 // several pages, so cursors combine with every filter
			if got := fmt.Sprint(listAll(t, r, c.f)); got != c.want {
				t.Errorf("%s: %s, want %s", c.name, got, c.want)
			}
		}
	})
}

// An operator sees their assigned conversations and the pending and
// inactive ones of the types they serve; never someone else's, never
// closed ones.
func TestListViewer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		listFixture(t, db)
		ana := &conversations.Viewer{ID: "u_ana", Types: []string{"sales", "claims", "sales"}}
		cases := []struct {
			name string
			f    conversations.Filter
			want string
		}{
			{"ana", conversations.Filter{Viewer: ana}, "[a1 a2 p1 p3 i1 i2]"},
			{"ana, one page", conversations.Filter{Viewer: ana, Limit: 50}, "[a1 a2 p1 p3 i1 i2]"},
			{"ana's pending", conversations.Filter{Viewer: ana, State: routing.StatePending}, "[p1 p3]"},
			{"ana's assigned", conversations.Filter{Viewer: ana, State: routing.StateAssigned}, "[a1 a2]"},
			{"ana's closed", conversations.Filter{Viewer: ana, State: routing.StateClosed}, "[]"},
			{"ana's sales", conversations.Filter{Viewer: ana, QueryType: "sales"}, "[a1 p1 i1]"},
			{"ana's, on tg-main", conversations.Filter{Viewer: ana, Channel: "tg-main"}, "[p1]"},
			{"ana asking for bruno's", conversations.Filter{Viewer: ana, Assignee: "u_bruno"}, "[]"},
			{"no types: only one's own", conversations.Filter{Viewer: &conversations.Viewer{ID: "u_bruno"}}, "[b1]"},
			{"support", conversations.Filter{Viewer: &conversations.Viewer{ID: "u_carla", Types: []string{"support"}}}, "[p2]"},
		}
		for _, c := range cases {
			if c.f.Limit == 0 {
				c.f.Limit = 2
			}
			if got := fmt.Sprint(listAll(t, r, c.f)); got != c.want {
				t.Errorf("%s: %s, want %s", c.name, got, c.want)
			}
		}
	})
}

func TestListSummaryAndSearch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		maria := inbound("wamid.m1", "5511912345678", t0, 1, "hola")
		maria.ProfileName = "María José Souza"
		mq := apply(t, r, maria)
		bruno := inbound("wamid.b1", "5521987650000", t0.Add(time.Minute), 2, "oi")
		bruno.ProfileName = "Bruno Souza"
		bq := apply(t, r, bruno)
		search := func(s string) string {
			t.Helper()
			p, err := r.List(ctx, conversations.Filter{Search: s})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, it := range p.Items {
				switch it.ID {
				case mq.QueryID:
					out = append(out, "maria")
				case bq.QueryID:
					out = append(out, "bruno")
				default:
					out = append(out, it.ID)
				}
			}
			return fmt.Sprint(out)
		}
		cases := []struct{ search, want string }{
			{"maria", "[maria]"},
			{"Mar", "[maria]"},
			{"JOSÉ", "[maria]"},
			{"souza", "[bruno maria]"},
			{"souza jo", "[maria]"},
			{"jo souza", "[maria]"},
			{"souza pedro", "[]"},
			{"ria", "[]"}, // words match by their start
			{"5678", "[maria]"},
			{"9123", "[maria]"},
			{"+55 11 91234-5678", "[maria]"},
			{"(11) 9 1234 5678", "[maria]"},
			{"5521", "[bruno]"},
			{"55", "[bruno maria]"},
			{"0000", "[bruno]"},
			{"99999", "[]"},
		}
		for _, c := range cases {
			if got := search(c.search); got != c.want {
				t.Errorf("search %q: %s, want %s", c.search, got, c.want)
			}
		}
		p, _ := r.List(ctx, conversations.Filter{Search: "maria"})
		if it := p.Items[0]; it.ContactName != "María José Souza" || it.ContactPhone != "5511912345678" || it.InboundCount != 1 || it.State != routing.StatePending {
			t.Fatalf("summary = %+v", it)
		}
		// Staff's display name: shown instead, and searchable; the
		// profile name stays searchable too.
		if err := r.EditContact(ctx, mq.ContactID, "Mazé (VIP)", "prefers mornings"); err != nil {
			t.Fatal(err)
		}
		if c, _ := r.Contact(ctx, mq.ContactID); c.DisplayName != "Mazé (VIP)" || c.Notes != "prefers mornings" {
			t.Fatalf("contact after edit = %+v", c)
		}
		if got := search("vip"); got != "[maria]" {
			t.Errorf("search by the display name: %s", got)
		}
		p, _ = r.List(ctx, conversations.Filter{Search: "maze"})
		if len(p.Items) != 1 || p.Items[0].ContactName != "Mazé (VIP)" {
			t.Fatalf("summary after edit = %+v", p.Items)
		}
		if err := r.EditContact(ctx, mq.ContactID, "", ""); err != nil {
			t.Fatal(err)
		}
		if got := search("vip"); got != "[]" {
			t.Errorf("a removed display name still found: %s", got)
		}
		// A new profile name replaces the old one's terms.
		renamed := inbound("wamid.m2", "5511912345678", t0.Add(time.Hour), 3, "de nuevo")
		renamed.ProfileName = "Mary"
		apply(t, r, renamed)
		if got := search("jose"); got != "[]" {
			t.Errorf("the old profile name still found: %s", got)
		}
		if got := search("mary 5678"); got != "[maria]" {
			t.Errorf("the new profile name: %s", got)
		}
		// Search combines with the other filters.
		decide(t, r, routing.Query{ID: bq.QueryID, State: routing.StateAssigned, Type: "sales", Assignee: "u_ana"})
		p, _ = r.List(ctx, conversations.Filter{Search: "souza", Viewer: &conversations.Viewer{ID: "u_ana"}})
		if len(p.Items) != 1 || p.Items[0].ID != bq.QueryID {
			t.Fatalf("search in ana's view = %+v", p.Items)
		}
	})
}

// An old customer among thousands of newer ones is found on the first
// page: the search narrows the contacts before the list is ordered.
func TestSearchFindsOldCustomerAmongMany(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		old := inbound("wamid.old", "5521987654321", t0.Add(-400*24*time.Hour), 1, "hola")
		old.ProfileName = "Joaquim Ferreira"
		oq := apply(t, r, old)
		names := []string{"Ana Souza", "Bruno Silva", "Carla Lima", "Diego Santos", "Elisa Costa", "Joana Ferraz"}
		var rows []seedRow
		for i := range 5000 {
			// Phones of 0, 5 and 6 only: none holds the old customer's 4321.
			d := []byte("5566")
			for n := i; len(d) < 13; n /= 3 {
				d = append(d, "056"[n%3])
			}
			cid := fmt.Sprintf("c%05d", i)
			rows = append(rows, seedRow{contactID: cid, external: string(d), profile: names[i%len(names)], queryID: cid + "-1",
				state: routing.StatePending, activity: t0.Add(-time.Duration(i) * time.Minute)})
		}
		seed(t, db, rows)
		for _, s := range []string{"joaq", "Ferreira", "ferreira joa", "4321", "+55 21 98765-4321"} {
			p, err := r.List(ctx, conversations.Filter{Search: s, Limit: 20})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Items) == 0 || !slices.ContainsFunc(p.Items, func(it conversations.Summary) bool { return it.ID == oq.QueryID }) {
				t.Errorf("search %q: the old customer is not on the first page (%d rows)", s, len(p.Items))
			}
			if (s == "4321" || s == "ferreira joa") && len(p.Items) != 1 {
				t.Errorf("search %q found %d rows, want only the old customer", s, len(p.Items))
			}
		}
		if p, _ := r.List(ctx, conversations.Filter{Search: "joana", Limit: 200}); len(p.Items) != 200 || p.Next == nil {
			t.Fatalf("search of a common name: %d rows, want a full page and more", len(p.Items))
		}
	})
}

func TestHistoryCursors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		var qid string
		for i := range 10 {
			// Pairs share a second: arrival orders them.
			id := fmt.Sprintf("wamid.%02d", i)
			qid = apply(t, r, inbound(id, "5511912345678", t0.Add(time.Duration(i/2)*time.Second), int64(i), "x")).QueryID
		}
		page := func(hr conversations.HistoryRange) (string, bool) {
			t.Helper()
			p, err := r.History(ctx, qid, hr)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range p.Messages {
				ids = append(ids, strings.TrimPrefix(strings.TrimPrefix(m.ID, "wamid."), "sb-"))
			}
			return fmt.Sprint(ids), p.More
		}
		cases := []struct {
			r    conversations.HistoryRange
			want string
			more bool
		}{
			{conversations.HistoryRange{}, "[00 01 02 03 04 05 06 07 08 09]", false},
			{conversations.HistoryRange{Limit: 3}, "[07 08 09]", true},
			{conversations.HistoryRange{Limit: 3, Before: "wamid.07"}, "[04 05 06]", true},
			{conversations.HistoryRange{Limit: 3, Before: "wamid.03"}, "[00 01 02]", false},
			{conversations.HistoryRange{Limit: 4, Before: "wamid.02"}, "[00 01]", false},
			{conversations.HistoryRange{Limit: 3, After: "wamid.02"}, "[03 04 05]", true},
			{conversations.HistoryRange{Limit: 3, After: "wamid.06"}, "[07 08 09]", false},
			{conversations.HistoryRange{Limit: 3, After: "wamid.09"}, "[]", false},
			{conversations.HistoryRange{Limit: 2, After: "wamid.01", Before: "wamid.05"}, "[02 03]", true},
			{conversations.HistoryRange{Limit: 5, After: "wamid.01", Before: "wamid.05"}, "[02 03 04]", false},
		}
		for _, c := range cases {
			if got, more := page(c.r); got != c.want || more != c.more {
				t.Errorf("%+v: %s more=%v, want %s more=%v", c.r, got, more, c.want, c.more)
			}
		}
		// Outbound messages take their place by time.
		if _, _, err := r.RecordOutbound(ctx, qid, "sb-reply", "", "ok", nil, t0.Add(2500*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if got, _ := page(conversations.HistoryRange{Limit: 3, After: "wamid.04"}); got != "[05 reply 06]" {
			t.Errorf("history around an outbound message: %s", got)
		}
		for _, bad := range []conversations.HistoryRange{{Before: "wamid.nope"}, {After: "sb-nope"}} {
			if _, err := r.History(ctx, qid, bad); !errors.Is(err, conversations.ErrBadCursor) {
				t.Errorf("%+v: %v, want ErrBadCursor", bad, err)
			}
		}
		// Another conversation's message is no cursor here.
		other := apply(t, r, inbound("wamid.other", "5511900000000", t0, 1, "x"))
		if _, err := r.History(ctx, other.QueryID, conversations.HistoryRange{Before: "wamid.03"}); !errors.Is(err, conversations.ErrBadCursor) {
			t.Errorf("another query's message as cursor: %v, want ErrBadCursor", err)
		}
		// Limits: 100 by default, 500 at most.
		tx, err := db.SQL().Begin()
		if err != nil {
			t.Fatal(err)
		}
		var rows [][]any
		for i := range 600 {
			rows = append(rows, []any{other.ContactID, fmt.Sprintf("sb-%03d", i), other.QueryID, channel, "out",
				t0.Add(time.Duration(i) * time.Second).UnixMilli(), int64(i), `{"text":"x"}`})
		}
		bulk(t, tx, "messages (contact_id, id, conversation_id, channel, direction, at, seq, body)", rows)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ limit, want int }{{0, 100}, {1000, 500}} {
			p, err := r.History(ctx, other.QueryID, conversations.HistoryRange{Limit: c.limit})
			if err != nil || len(p.Messages) != c.want || !p.More || p.Messages[c.want-1].ID != "sb-599" {
				t.Fatalf("history with limit %d: %d messages, more %v, %v; want the newest %d", c.limit, len(p.Messages), p.More, err, c.want)
			}
		}
	})
}
