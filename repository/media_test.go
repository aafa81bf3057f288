package repository_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/conversations"
	"switchboard/internal/dbtest"
	"switchboard/repository"
)

func imageMessage(id, from string, ts time.Time, arrival int64) *channels.Inbound {
	m := inbound(id, from, ts, arrival, "comprovante")
	m.Type = channels.TypeImage
	m.Media = &channels.Media{ID: "meta-media-" + id, MimeType: "image/jpeg", SHA256: "abc", Caption: "comprovante"}
	return m
}

// TestInboundMediaIsRecordedWithItsMessage: an inbound file gets its row
// in the message's transaction, on the first message of a conversation
// and on a continuing one alike (which would otherwise be group
// committed), and a redelivery records nothing more.
func TestInboundMediaIsRecordedWithItsMessage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		first := apply(t, r, imageMessage("wamid.m1", "5511912345678", t0, 1))
		apply(t, r, imageMessage("wamid.m2", "5511912345678", t0.Add(time.Second), 2))
		if res := apply(t, r, imageMessage("wamid.m2", "5511912345678", t0.Add(time.Second), 2)); !res.Duplicate {
			t.Fatalf("redelivery: %+v, want a duplicate", res)
		}
		if n := column[int](t, db, `SELECT count(*) FROM media WHERE contact_id = $1`, first.ContactID); n != 2 {
			t.Fatalf("%d media rows, want 2", n)
		}
		id := conversations.MediaID(first.ContactID, "wamid.m2")
		m, err := r.Media(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := conversations.Media{ID: id, ContactID: first.ContactID, QueryID: first.QueryID, MessageID: "wamid.m2",
			Channel: channel, Direction: conversations.DirectionInbound, Kind: "image", ProviderRef: "meta-media-wamid.m2",
			MimeType: "image/jpeg", Size: -1, SHA256: "abc", BlobKey: conversations.MediaBlobKey(first.ContactID, id),
			State: conversations.MediaPending, CreatedAt: t0}
		if *m != want {
			t.Fatalf("media row\n got %+v\nwant %+v", *m, want)
		}

		ok, err := r.MarkMediaStored(ctx, id, "image/png", "def", 1234, t0.Add(time.Minute))
		if err != nil || !ok {
			t.Fatalf("mark stored: %v, %v", ok, err)
		}
		if ok, err := r.MarkMediaStored(ctx, id, "image/png", "def", 1234, t0.Add(time.Minute)); err != nil || ok {
			t.Fatalf("mark stored again: %v, %v; want false (no longer pending)", ok, err)
		}
		other := conversations.MediaID(first.ContactID, "wamid.m1")
		if err := r.MarkMediaFailed(ctx, other, conversations.MediaTooLarge, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if n, err := r.CountMediaAttempt(ctx, other); err != nil || n != 1 {
			t.Fatalf("attempts %d, %v; want 1", n, err)
		}

		page, err := r.History(ctx, first.QueryID, conversations.HistoryRange{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Messages) != 2 || page.Messages[0].Media == nil || page.Messages[1].Media == nil {
			t.Fatalf("history %+v: want both messages with their media", page.Messages)
		}
		if got := page.Messages[0].Media; got.State != conversations.MediaFailed || got.Error != conversations.MediaTooLarge || got.Size != -1 {
			t.Fatalf("failed media in history: %+v", got)
		}
		if got := page.Messages[1].Media; got.State != conversations.MediaStored || got.Size != 1234 || got.MimeType != "image/png" {
			t.Fatalf("stored media in history: %+v", got)
		}
		one, err := r.Message(ctx, first.QueryID, "wamid.m2")
		if err != nil || one.Media == nil || one.Media.ID != id {
			t.Fatalf("message: %+v, %v; want its media", one, err)
		}
	})
}

// TestEraseAndPurgeQueueMediaDeletions: erasing a contact and purging a
// conversation leave their files' keys to be deleted from the store,
// until the store confirms.
func TestEraseAndPurgeQueueMediaDeletions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		old := apply(t, r, imageMessage("wamid.p1", "5511900000001", t0.Add(-48*time.Hour), 1))
		closeQuery(t, r, old.QueryID)
		gone := apply(t, r, imageMessage("wamid.e1", "5511900000002", t0, 1))
		kept := apply(t, r, imageMessage("wamid.k1", "5511900000003", t0, 1))

		if _, err := r.EraseContact(ctx, gone.ContactID); err != nil {
			t.Fatal(err)
		}
		if _, err := r.PurgeMessages(ctx, t0.Add(-24*time.Hour), 100); err != nil {
			t.Fatal(err)
		}
		keys, err := r.MediaDeletions(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		oldKey := conversations.MediaBlobKey(old.ContactID, conversations.MediaID(old.ContactID, "wamid.p1"))
		goneKey := conversations.MediaBlobKey(gone.ContactID, conversations.MediaID(gone.ContactID, "wamid.e1"))
		if len(keys) != 2 || !slices.Contains(keys, oldKey) || !slices.Contains(keys, goneKey) {
			t.Fatalf("deletions %v, want %s and %s", keys, oldKey, goneKey)
		}
		if _, err := r.Media(ctx, conversations.MediaID(gone.ContactID, "wamid.e1")); !errors.Is(err, conversations.ErrNotFound) {
			t.Fatalf("erased contact's media: %v, want ErrNotFound", err)
		}
		p, err := r.Media(ctx, conversations.MediaID(old.ContactID, "wamid.p1"))
		if err != nil || p.State != conversations.MediaPurged || p.BlobKey != "" || p.ProviderRef != "" {
			t.Fatalf("purged media: %+v, %v", p, err)
		}
		if k, err := r.Media(ctx, conversations.MediaID(kept.ContactID, "wamid.k1")); err != nil || k.State != conversations.MediaPending {
			t.Fatalf("another contact's media: %+v, %v", k, err)
		}
		if err := r.MediaDeleted(ctx, []string{oldKey}); err != nil {
			t.Fatal(err)
		}
		if keys, err := r.MediaDeletions(ctx, 10); err != nil || len(keys) != 1 || keys[0] != goneKey {
			t.Fatalf("deletions after one was done: %v, %v", keys, err)
		}
	})
}
