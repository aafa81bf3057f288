package repository_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/accounts"
	"switchboard/conversations"
	"switchboard/internal/dbtest"
	"switchboard/repository"
	"switchboard/routing"
)

// Replacing a conversation's tags reports exactly what changed, shows in
// the conversation and in its list row, and announces the conversation's
// routing fields; replacing them with the same tags changes nothing.
func TestSetTagsReplacesAndReports(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		q := apply(t, r, inbound("wamid.t1", "5511900000001", t0, 1, "hola")).QueryID
		decide(t, r, routing.Query{ID: q, State: routing.StateAssigned, Type: "payments", Assignee: "u_ana"})

		added, removed, ev, err := r.SetTags(ctx, q, []string{"billing", "urgent"})
		if err != nil || !slices.Equal(added, []string{"billing", "urgent"}) || len(removed) != 0 {
			t.Fatalf("first SetTags: added %v removed %v, %v", added, removed, err)
		}
		want := conversations.Event{Type: conversations.EventTags, QueryID: q, State: routing.StateAssigned,
			Assignee: "u_ana", QueryType: "payments", Channel: channel}
		if ev == nil || *ev != want {
			t.Fatalf("event %+v, want %+v", ev, want)
		}
		added, removed, ev, err = r.SetTags(ctx, q, []string{"urgent", "vip"})
		if err != nil || !slices.Equal(added, []string{"vip"}) || !slices.Equal(removed, []string{"billing"}) || ev == nil {
			t.Fatalf("second SetTags: added %v removed %v event %v, %v", added, removed, ev, err)
		}
		if got, err := r.Query(ctx, q); err != nil || !slices.Equal(got.Tags, []string{"urgent", "vip"}) {
			t.Fatalf("query tags %v, %v", got, err)
		}
		p, err := r.List(ctx, conversations.Filter{})
		if err != nil || len(p.Items) != 1 || !slices.Equal(p.Items[0].Tags, []string{"urgent", "vip"}) {
			t.Fatalf("list row %+v, %v", p.Items, err)
		}
		if added, removed, ev, err := r.SetTags(ctx, q, []string{"urgent", "vip"}); err != nil || added != nil || removed != nil || ev != nil {
			t.Fatalf("same tags again: added %v removed %v event %v, %v; want no change", added, removed, ev, err)
		}
		if _, removed, _, err := r.SetTags(ctx, q, nil); err != nil || !slices.Equal(removed, []string{"urgent", "vip"}) {
			t.Fatalf("clearing: removed %v, %v", removed, err)
		}
		if got, _ := r.Query(ctx, q); got.Tags == nil || len(got.Tags) != 0 {
			t.Fatalf("tags after clearing = %#v, want empty", got.Tags)
		}
		if _, _, _, err := r.SetTags(ctx, "nope-1", []string{"urgent"}); !errors.Is(err, conversations.ErrNotFound) {
			t.Fatalf("tags of no conversation: %v, want ErrNotFound", err)
		}
	})
}

// Replacements of one conversation's tags at once apply in turn: the
// tags end as the last one set, and every replacement reports against
// the tags it found.
func TestConcurrentSetTags(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		q := apply(t, r, inbound("wamid.c1", "5511900000001", t0, 1, "hola")).QueryID
		errs := make(chan error, 8)
		for i := range 8 {
			go func() {
				_, _, _, err := r.SetTags(ctx, q, []string{fmt.Sprintf("t%d", i%2), "common"})
				errs <- err
			}()
		}
		for range 8 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		got, err := r.Query(ctx, q)
		if err != nil || len(got.Tags) != 2 || got.Tags[0] != "common" {
			t.Fatalf("tags %v, %v", got.Tags, err)
		}
	})
}

// The tag filter pages through every tagged conversation the list would
// show, in its order, across pages and rows of one millisecond; for an
// operator, only those they may see.
func TestListByTagIsCompleteAcrossPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		var rows []seedRow
		for i := range 60 {
			st, typ, who := routing.StatePending, "payments", ""
			switch i % 3 {
			case 1:
				st, who = routing.StateAssigned, "u_ana"
			case 2:
				st, who = routing.StateAssigned, "u_bruno"
			}
			rows = append(rows, seedRow{
				contactID: fmt.Sprintf("c%03d", i), external: fmt.Sprintf("55119000%05d", i), profile: "Cliente",
				queryID: fmt.Sprintf("c%03d-1", i), state: st, queryType: typ, assignee: who,
				// Pairs share a millisecond, so pages end inside ties.
				activity: t0.Add(time.Duration(i/2) * time.Millisecond),
			})
		}
		seed(t, db, rows)
		// Three of every four tagged urgent; then every fifth retagged,
		// the even ones losing urgent (the list must follow a removal).
		for i, row := range rows {
			if i%4 != 3 {
				if _, _, _, err := r.SetTags(ctx, row.queryID, []string{"urgent"}); err != nil {
					t.Fatal(err)
				}
			}
			if i%5 == 0 {
				if _, _, _, err := r.SetTags(ctx, row.queryID, []string{"billing", "urgent"}[:1+i%2]); err != nil {
					t.Fatal(err)
				}
			}
		}
		all := listAll(t, r, conversations.Filter{Limit: 1 << 10})
		var want []string
		for _, id := range all {
			got, _ := r.Query(ctx, id)
			if slices.Contains(got.Tags, "urgent") {
				want = append(want, id)
			}
		}
		if len(want) < 40 {
			t.Fatalf("only %d conversations tagged urgent: the seed is wrong", len(want))
		}
		for _, limit := range []int{1, 7, 50} {
			if got := listAll(t, r, conversations.Filter{Tag: "urgent", Limit: limit}); !slices.Equal(got, want) {
				t.Fatalf("limit %d: urgent lists\n%v\nwant\n%v", limit, got, want)
			}
		}
		// An operator: their own assigned and the payments pool, tagged.
		ana := &conversations.Viewer{ID: "u_ana", Types: []string{"payments"}}
		var anas []string
		for _, id := range want {
			got, _ := r.Query(ctx, id)
			if got.State == routing.StatePending || got.Assignee == "u_ana" {
				anas = append(anas, id)
			}
		}
		if got := listAll(t, r, conversations.Filter{Viewer: ana, Tag: "urgent", Limit: 4}); !slices.Equal(got, anas) {
			t.Fatalf("ana's urgent:\n%v\nwant\n%v", got, anas)
		}
		// Combined with a state filter, and a tag nobody has.
		p, err := r.List(ctx, conversations.Filter{Tag: "urgent", State: routing.StatePending, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			if it.State != routing.StatePending || !slices.Contains(it.Tags, "urgent") {
				t.Fatalf("pending urgent listed %+v", it)
			}
		}
		if p, err := r.List(ctx, conversations.Filter{Tag: "nobody"}); err != nil || len(p.Items) != 0 {
			t.Fatalf("a tag nobody has: %+v, %v", p.Items, err)
		}
	})
}

// Notes come back oldest first with their author's name as it is now and
// their mentions; a note on no conversation is refused.
func TestNotes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		ana := &accounts.User{ID: "u_00000000000000a1", Name: "Ana", Phone: "+5511912340001", Role: "operator",
			Status: accounts.StatusActive, Capacity: 5, CreatedAt: t0, UpdatedAt: t0}
		if err := db.Accounts().Insert(ctx, ana); err != nil {
			t.Fatal(err)
		}
		q := apply(t, r, inbound("wamid.n1", "5511900000001", t0, 1, "hola")).QueryID
		other := apply(t, r, inbound("wamid.n2", "5511900000002", t0, 1, "hola")).QueryID
		notes := []conversations.Note{
			{ID: "n_2", QueryID: q, Author: ana.ID, At: t0.Add(time.Minute), Text: "second", Mentions: []string{"u_bruno"}},
			{ID: "n_1", QueryID: q, Author: ana.ID, At: t0, Text: "first"},
			{ID: "n_3", QueryID: q, Author: "u_gone", At: t0.Add(time.Minute), Text: "third, same time"},
			{ID: "n_x", QueryID: other, Author: ana.ID, At: t0, Text: "elsewhere"},
		}
		for _, n := range notes {
			ev, err := r.AddNote(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != conversations.EventNote || ev.NoteID != n.ID || ev.QueryID != n.QueryID || ev.State != routing.StatePending || ev.Channel != channel {
				t.Fatalf("event %+v", ev)
			}
		}
		got, err := r.Notes(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, n := range got {
			seen = append(seen, n.ID+":"+n.AuthorName+":"+n.Text+":"+strings.Join(n.Mentions, ","))
		}
		want := []string{"n_1:Ana:first:", "n_2:Ana:second:u_bruno", "n_3::third, same time:"}
		if !slices.Equal(seen, want) || !got[1].At.Equal(t0.Add(time.Minute)) {
			t.Fatalf("notes %v, want %v", seen, want)
		}
		if _, err := r.AddNote(ctx, conversations.Note{ID: "n_9", QueryID: "nope-1", Author: ana.ID, At: t0, Text: "x"}); !errors.Is(err, conversations.ErrNotFound) {
			t.Fatalf("note on no conversation: %v, want ErrNotFound", err)
		}
		if got, err := r.Notes(ctx, "nope-1"); err != nil || len(got) != 0 {
			t.Fatalf("notes of no conversation: %v, %v", got, err)
		}
	})
}

// Erasing a contact erases the notes and tags of its conversations;
// another contact's stay. Retention empties the notes of the
// conversations it purges, as it does their messages.
func TestEraseAndRetentionTakeNotesAndTags(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		gone := apply(t, r, inbound("wamid.g1", "5511900000001", t0, 1, "hola"))
		keep := apply(t, r, inbound("wamid.k1", "5511900000002", t0, 1, "hola")).QueryID
		for i, q := range []string{gone.QueryID, keep} {
			if _, err := r.AddNote(ctx, conversations.Note{ID: fmt.Sprintf("n_%d", i), QueryID: q, Author: "u_ana", At: t0, Text: "customer is upset"}); err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := r.SetTags(ctx, q, []string{"urgent"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.EraseContact(ctx, gone.ContactID); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"notes", "conversation_tags"} {
			if n := column[int](t, db, `SELECT count(*) FROM `+table+` WHERE conversation_id = $1`, gone.QueryID); n != 0 {
				t.Fatalf("%d rows of the erased contact left in %s", n, table)
			}
			if n := column[int](t, db, `SELECT count(*) FROM `+table+` WHERE conversation_id = $1`, keep); n != 1 {
				t.Fatalf("%d rows of the other contact in %s, want 1", n, table)
			}
		}

		// Retention: keep's conversation closed long ago.
		old := apply(t, r, inbound("wamid.o1", "5511900000003", t0.Add(-100*24*time.Hour), 1, "viejo")).QueryID
		if _, err := r.AddNote(ctx, conversations.Note{ID: "n_old", QueryID: old, Author: "u_ana", At: t0, Text: "secret"}); err != nil {
			t.Fatal(err)
		}
		closeQuery(t, r, old)
		if _, err := r.PurgeMessages(ctx, t0.Add(-90*24*time.Hour), 10); err != nil {
			t.Fatal(err)
		}
		notes, err := r.Notes(ctx, old)
		if err != nil || len(notes) != 1 || notes[0].Text != "" {
			t.Fatalf("old notes after retention: %+v, %v; want the note kept, emptied", notes, err)
		}
		if notes, _ := r.Notes(ctx, keep); len(notes) != 1 || notes[0].Text != "customer is upset" {
			t.Fatalf("an open conversation's notes after retention: %+v", notes)
		}
	})
}
