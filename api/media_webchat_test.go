package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"switchboard/channels"
	"switchboard/channels/webchat"
)

const webchatSecret = "site-secret-0123456789"

// fakeChatSite is a site's widget backend serving its visitors' files,
// only to a request signed with the channel's secret over the URL asked
// for.
type fakeChatSite struct {
	srv       *httptest.Server
	files     map[string][]byte
	downloads atomic.Int32
}

func newFakeChatSite(t *testing.T, w *convWorld) *fakeChatSite {
	s := &fakeChatSite{files: map[string][]byte{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		ts, err := strconv.ParseInt(r.Header.Get(webchat.TimestampHeader), 10, 64)
		asked := "http://" + r.Host + r.URL.RequestURI()
		if err != nil || ts != w.clock.Now().Unix() || r.Header.Get(webchat.SignatureHeader) != webchat.Sign([]byte(webchatSecret), ts, []byte(asked)) {
			http.Error(rw, "not signed by Switchboard", http.StatusUnauthorized)
			return
		}
		b, ok := s.files[r.URL.Path]
		if !ok {
			http.NotFound(rw, r)
			return
		}
		s.downloads.Add(1)
		rw.Header().Set("Content-Type", "application/octet-stream")
		_, _ = rw.Write(b)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// A visitor's PDF, posted by the site as a media URL on its origin, is
// fetched by the worker's task from the site, signed, and answered by GET
// /media/{id} byte-identical, as a download under the visitor's file name.
func TestWebchatDocumentIsFetchedAndServed(t *testing.T) {
	w := newConvWorld(t)
	site := newFakeChatSite(t, w)
	pdf := []byte("%PDF-1.4\n1 0 obj<<>>endobj\n\x00\x01\xfe\xff\ntrailer<<>>\n%%EOF\n")
	site.files["/files/v42/pedido.pdf"] = pdf
	sum := sha256.Sum256(pdf)
	ch, err := webchat.New("web-main", webchat.Config{Secret: webchatSecret, CallbackURL: site.srv.URL + "/replies",
		MediaOrigins: []string{site.srv.URL}}, nil, w.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"id": "web-m1", "session_id": "visitor-42", "name": "Visitante", "text": "segue o pedido",
		"media": {"kind": "document", "url": "` + site.srv.URL + `/files/v42/pedido.pdf?token=s1", "mime_type": "application/pdf",
		"filename": "pedido-1234.pdf", "size": ` + strconv.Itoa(len(pdf)) + `, "sha256": "` + hex.EncodeToString(sum[:]) + `"}}`
	batch, err := ch.Parse([]byte(body), w.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	msg := batch.Messages[0]
	if msg.Type != channels.TypeDocument || msg.Media == nil || msg.Media.Caption != "segue o pedido" {
		t.Fatalf("parsed %+v, want a document with its caption", msg)
	}
	res, id := w.applyMedia(t, &msg)

	if err := w.conv.Service.FetchMedia(context.Background(), id, ch, limits, false); err != nil {
		t.Fatal(err)
	}
	item := w.mediaItem(t, res.QueryID, "web-m1")
	if item == nil || item.Size == nil || *item.Size != int64(len(pdf)) || item.MimeType != "application/pdf" ||
		item.Filename != "pedido-1234.pdf" || item.Error != "" {
		t.Fatalf("history after the fetch: %+v, want the stored PDF, its size and name", item)
	}
	resp, b := w.getMedia(t, w.anaT, id)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(b, pdf) {
		t.Fatalf("GET media: %d, %d bytes; want 200 and the %d bytes the site served", resp.StatusCode, len(b), len(pdf))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("Content-Type %q, want application/pdf", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="pedido-1234.pdf"` {
		t.Errorf("Content-Disposition %q, want a download named pedido-1234.pdf", cd)
	}
	if n := site.downloads.Load(); n != 1 {
		t.Errorf("%d downloads from the site, want 1", n)
	}
	if resp, _ := w.getMedia(t, w.carlaT, id); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET by an operator who may not see it: %d, want 404", resp.StatusCode)
	}
}
