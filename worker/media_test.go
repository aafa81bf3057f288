package worker_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/conversations"
)

// An inbound photo queued by the webhook is applied by a worker, whose
// media:fetch task then downloads it from the Cloud API (media id, then
// its URL, both with the access token) into the blob store, byte for
// byte; a file the provider no longer has is marked not_found after one
// attempt, not retried.
func TestInboundMediaIsFetchedByTheWorker(t *testing.T) {
	photo := append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bytes.Repeat([]byte{0, 1, 2, 0xfe}, 3000)...)
	sum := sha256.Sum256(photo)
	var graph *httptest.Server
	graph = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer graph-token" {
			http.Error(w, "token", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/v21.0/media-photo":
			// Meta's webhook gives the hash in base64; any form is checked.
			_ = json.NewEncoder(w).Encode(map[string]any{"url": graph.URL + "/lookaside/photo", "mime_type": "image/jpeg",
				"sha256": base64.StdEncoding.EncodeToString(sum[:]), "file_size": len(photo)})
		case "/lookaside/photo":
			_, _ = w.Write(photo)
		default:
			http.NotFound(w, r)
		}
	}))
	defer graph.Close()
	e := newEnv(t, graph.URL, nil)
	ctx := context.Background()
	for _, id := range []string{"photo", "gone"} {
		m := text("wamid."+id, "5511900000001", time.Unix(1763900000, 0), 1)
		m.Type, m.Text = channels.TypeImage, ""
		m.Media = &channels.Media{ID: "media-" + id, MimeType: "image/jpeg"}
		if err := e.Queue.EnqueueInbound(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	e.startWorker(t, 4)
	cid := conversations.ContactID("wa-main", "5511900000001")
	var photoRow, goneRow *conversations.Media
	eventually(t, "both files to be done with", func() bool {
		var err error
		if photoRow, err = e.DB.Conversations().Media(ctx, conversations.MediaID(cid, "wamid.photo")); err != nil {
			return false
		}
		if goneRow, err = e.DB.Conversations().Media(ctx, conversations.MediaID(cid, "wamid.gone")); err != nil {
			return false
		}
		return photoRow.State != conversations.MediaPending && goneRow.State != conversations.MediaPending
	})
	if photoRow.State != conversations.MediaStored || photoRow.Size != int64(len(photo)) || photoRow.MimeType != "image/jpeg" {
		t.Fatalf("photo: %+v, want stored, %d bytes, image/jpeg", photoRow, len(photo))
	}
	rc, err := e.Blobs.Open(ctx, photoRow.BlobKey)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, photo) {
		t.Fatalf("stored %d bytes differing from the %d sent", len(got), len(photo))
	}
	if goneRow.State != conversations.MediaFailed || goneRow.Error != conversations.MediaNotFound || goneRow.Attempts != 1 {
		t.Fatalf("gone: %+v, want failed not_found after 1 attempt", goneRow)
	}
}
