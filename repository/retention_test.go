package repository_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/conversations"
	"switchboard/internal/dbtest"
	"switchboard/repository"
)

// Retention empties the bodies of closed conversations whose newest
// message is older than the cut-off, in batches; open and recent ones
// keep theirs.
func TestPurgeOnlyTouchesClosedAndOld(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		old := t0.Add(-100 * 24 * time.Hour)
		cut := t0.Add(-90 * 24 * time.Hour)
		// closedOld: 3 inbound and 2 outbound (one failed), closed.
		var closedOld string
		for i := range 3 {
			closedOld = apply(t, r, inbound(fmt.Sprintf("wamid.co%d", i), "5511900000001", old.Add(time.Duration(i)*time.Minute), int64(i), "secreto")).QueryID
		}
		for i := range 2 {
			if _, _, err := r.RecordOutbound(ctx, closedOld, fmt.Sprintf("sb-co%d", i), "", "respuesta", nil, old.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.MarkFailed(ctx, closedOld, "sb-co1", channels.StatusError{Code: 131047, Message: "provider text"}, old.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		closeQuery(t, r, closedOld)
		// openOld: as old, never closed.
		openOld := apply(t, r, inbound("wamid.oo", "5511900000002", old, 1, "abierto")).QueryID
		// closedNew: closed, but recent.
		closedNew := apply(t, r, inbound("wamid.cn", "5511900000003", cut.Add(time.Hour), 1, "reciente")).QueryID
		closeQuery(t, r, closedNew)
		// closedOld2: another old closed one, 2 messages.
		closedOld2 := apply(t, r, inbound("wamid.c2a", "5511900000004", old, 1, "otro")).QueryID
		apply(t, r, inbound("wamid.c2b", "5511900000004", old, 2, "otro"))
		closeQuery(t, r, closedOld2)

		var batches []int
		for {
			n, err := r.PurgeMessages(ctx, cut, 2)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			if n > 2 || len(batches) > 10 {
				t.Fatalf("batches %v: a batch over its size, or no end", batches)
			}
			batches = append(batches, n)
		}
		if total := sum(batches); total != 7 {
			t.Fatalf("purged %d messages in batches %v, want the 7 of the old closed conversations", total, batches)
		}
		hist, _ := r.History(ctx, closedOld, conversations.HistoryRange{})
		if len(hist.Messages) != 5 {
			t.Fatalf("purged history has %d messages, want all 5 kept, emptied", len(hist.Messages))
		}
		for _, m := range hist.Messages {
			if !m.Purged || m.Inbound != nil || m.Text != "" || m.Error != nil {
				t.Fatalf("purged message still shows content: %+v", m)
			}
		}
		if m, _ := r.Message(ctx, closedOld, "sb-co1"); m.Status != channels.StatusFailed {
			t.Fatalf("purge changed the delivery status: %+v", m)
		}
		for _, id := range []string{openOld, closedNew} {
			hist, _ := r.History(ctx, id, conversations.HistoryRange{})
			if m := hist.Messages[0]; m.Purged || m.Inbound == nil || m.Inbound.Text == "" {
				t.Fatalf("conversation %s purged though open or recent: %+v", id, m)
			}
		}
		if n, err := r.PurgeMessages(ctx, t0, 100); err != nil || n != 1 {
			t.Fatalf("purge up to now: %d, %v; want the recent closed one's 1 message", n, err)
		}
		// A message added to a finished conversation is purged too.
		if _, _, err := r.RecordOutbound(ctx, closedOld2, "sb-late", "", "tarde", nil, old.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if n, err := r.PurgeMessages(ctx, cut, 100); err != nil || n != 1 {
			t.Fatalf("purge after a late message: %d, %v; want 1", n, err)
		}
	})
}

func sum(ns []int) int {
	s := 0
	for _, n := range ns {
		s += n
	}
	return s
}

func TestEraseContactRemovesEverything(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		m := inbound("wamid.e1", "5511912345678", t0, 1, "hola")
		m.ProfileName = "Erika Mustermann"
		first := apply(t, r, m)
		if _, _, err := r.RecordOutbound(ctx, first.QueryID, "sb-1", "", "hi", nil, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := r.MarkSent(ctx, first.QueryID, "sb-1", "wamid.out1", t0); err != nil {
			t.Fatal(err)
		}
		closeQuery(t, r, first.QueryID)
		second := apply(t, r, inbound("wamid.e2", "5511912345678", t0.Add(time.Minute), 2, "otra"))
		keep := apply(t, r, inbound("wamid.k1", "5511900000000", t0, 1, "me quedo"))

		erased, err := r.EraseContact(ctx, first.ContactID)
		if err != nil {
			t.Fatal(err)
		}
		if erased != (conversations.Erased{Conversations: 2, Messages: 3}) {
			t.Fatalf("erased %+v, want 2 conversations and 3 messages", erased)
		}
		if _, err := r.Contact(ctx, first.ContactID); !errors.Is(err, conversations.ErrNotFound) {
			t.Fatalf("contact after erasure: %v", err)
		}
		for _, id := range []string{first.QueryID, second.QueryID} {
			if _, err := r.Query(ctx, id); !errors.Is(err, conversations.ErrNotFound) {
				t.Fatalf("query %s after erasure: %v", id, err)
			}
		}
		for _, table := range []string{"contact_terms", "conversations", "messages"} {
			if n := column[int](t, db, `SELECT count(*) FROM `+table+` WHERE contact_id = $1`, first.ContactID); n != 0 {
				t.Fatalf("%d rows of the erased contact left in %s", n, table)
			}
		}
		if p, _ := r.List(ctx, conversations.Filter{Search: "erika"}); len(p.Items) != 0 {
			t.Fatalf("erased contact still found: %+v", p.Items)
		}
		if st, err := r.ApplyStatus(ctx, &channels.Status{Channel: channel, MessageID: "wamid.out1", Status: channels.StatusRead}); err != nil || st.Found {
			t.Fatalf("status of an erased message: %+v, %v", st, err)
		}
		if q, err := r.Query(ctx, keep.QueryID); err != nil || q.InboundCount != 1 {
			t.Fatalf("another contact's query after erasure: %+v, %v", q, err)
		}
		if _, err := r.EraseContact(ctx, first.ContactID); !errors.Is(err, conversations.ErrNotFound) {
			t.Fatalf("erasing again: %v, want ErrNotFound", err)
		}
		// The customer writing again starts afresh.
		again := apply(t, r, inbound("wamid.e3", "5511912345678", t0.Add(time.Hour), 3, "hola de nuevo"))
		if !again.NewQuery || again.QueryID != first.ContactID+"-1" {
			t.Fatalf("after erasure: %+v, want a new contact's first query", again)
		}
	})
}
