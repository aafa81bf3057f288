package repository_test

import (
	"context"
	"testing"
	"time"

	"switchboard/conversations"
	"switchboard/internal/dbtest"
	"switchboard/repository"
)

// outboundFile is the stored file of an operator's message msgID.
func outboundFile(contactID, queryID, msgID, kind string) *conversations.Media {
	id := conversations.MediaID(contactID, msgID)
	return &conversations.Media{ID: id, ContactID: contactID, QueryID: queryID, MessageID: msgID, Channel: channel,
		Direction: conversations.DirectionOutbound, Kind: kind, MimeType: "application/pdf", Filename: "boleto.pdf",
		Size: 2048, SHA256: "ab12", BlobKey: conversations.MediaBlobKey(contactID, id), State: conversations.MediaStored,
		CreatedAt: t0, StoredAt: t0}
}

// TestOutboundMediaIsRecordedWithItsMessageOrNotAtAll: an operator's file
// and its message are one write: both are there, the history carrying
// the file; recording again changes nothing; and a file row the database
// refuses takes its message with it.
func TestOutboundMediaIsRecordedWithItsMessageOrNotAtAll(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		in := apply(t, r, inbound("wamid.o1", "5511912340001", t0, 1, "oi"))
		m := outboundFile(in.ContactID, in.QueryID, "sb-file-1", "document")
		created, ev, err := r.RecordOutboundMedia(ctx, in.QueryID, "sb-file-1", "ana", "Segue o boleto", nil, m, t0.Add(time.Second))
		if err != nil || !created || ev == nil || ev.MessageID != "sb-file-1" || ev.Direction != conversations.DirectionOutbound {
			t.Fatalf("record: %v, %+v, %v", created, ev, err)
		}
		if created, _, err := r.RecordOutboundMedia(ctx, in.QueryID, "sb-file-1", "ana", "Segue o boleto", nil, m, t0.Add(time.Second)); err != nil || created {
			t.Fatalf("record again: created %v, %v; want nothing new", created, err)
		}
		got, err := r.Message(ctx, in.QueryID, "sb-file-1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Text != "Segue o boleto" || got.Direction != conversations.DirectionOutbound || got.Media == nil || *got.Media != *m {
			t.Fatalf("message %+v with media %+v, want the caption and\n%+v", got, got.Media, m)
		}
		if n := column[int](t, db, `SELECT count(*) FROM media WHERE contact_id = $1`, in.ContactID); n != 1 {
			t.Fatalf("%d media rows, want 1", n)
		}

		bad := outboundFile(in.ContactID, in.QueryID, "sb-file-2", "hologram") // refused by the kind's CHECK
		if _, _, err := r.RecordOutboundMedia(ctx, in.QueryID, "sb-file-2", "ana", "x", nil, bad, t0.Add(2*time.Second)); err == nil {
			t.Fatal("a file of no kind was recorded")
		}
		if _, err := r.Message(ctx, in.QueryID, "sb-file-2"); err == nil {
			t.Fatal("the message of a refused file was recorded without it")
		}

		tmpl := &conversations.TemplateRef{Name: "boleto_pronto", Language: "pt_BR", Params: []string{"Ana"}}
		head := outboundFile(in.ContactID, in.QueryID, "sb-file-3", "document")
		if _, _, err := r.RecordOutboundMedia(ctx, in.QueryID, "sb-file-3", "ana", "Olá Ana, seu boleto", tmpl, head, t0.Add(3*time.Second)); err != nil {
			t.Fatal(err)
		}
		if got, err := r.Message(ctx, in.QueryID, "sb-file-3"); err != nil || got.Template == nil || got.Template.Name != "boleto_pronto" || got.Media == nil {
			t.Fatalf("template with a header: %+v, %v", got, err)
		}
	})
}
