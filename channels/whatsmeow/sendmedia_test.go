package whatsmeow

import (
	"bytes"
	"context"
	"errors"
	"testing"

	wm "go.mau.fi/whatsmeow"

	"switchboard/channels"
)

// uploadingSession is a connected fake session that also uploads,
// recording what it was given.
type uploadingSession struct {
	*fakeSession
	uploaded []byte
	kind     wm.MediaType
	err      error
}

func (u *uploadingSession) Upload(_ context.Context, b []byte, kind wm.MediaType) (wm.UploadResponse, error) {
	if u.err != nil {
		return wm.UploadResponse{}, u.err
	}
	u.uploaded, u.kind = b, kind
	return wm.UploadResponse{URL: "https://mmg.whatsapp.net/x", DirectPath: "/v/t62/x", MediaKey: []byte("key"),
		FileEncSHA256: []byte("enc"), FileSHA256: []byte("sha"), FileLength: uint64(len(b))}, nil
}

func connectedUploader(t *testing.T) (*Channel, *uploadingSession) {
	c := newTestChannel(t)
	f := &fakeSession{}
	f.connected.Store(true)
	u := &uploadingSession{fakeSession: f}
	c.client.Store(&senderBox{s: u})
	return c, u
}

func TestSendMediaUploadsThenSendsTheDocument(t *testing.T) {
	c, u := connectedUploader(t)
	pdf := []byte("%PDF-1.4\n\x00\xff")
	id, err := c.SendMedia(channels.WithOutboundID(context.Background(), "sb-1"), "5511900000001", channels.OutboundMedia{
		Kind: channels.TypeDocument, MimeType: "application/pdf", Filename: "boleto.pdf", Caption: "Segue",
		Size: int64(len(pdf)), Open: channels.FileBytes(pdf),
	})
	if err != nil || id != string(messageID("sb-1")) {
		t.Fatalf("SendMedia = %q, %v", id, err)
	}
	if !bytes.Equal(u.uploaded, pdf) || u.kind != wm.MediaDocument {
		t.Fatalf("uploaded %q as %q", u.uploaded, u.kind)
	}
	d := u.sent[0].GetDocumentMessage()
	if d.GetFileName() != "boleto.pdf" || d.GetCaption() != "Segue" || d.GetMimetype() != "application/pdf" ||
		d.GetDirectPath() != "/v/t62/x" || string(d.GetMediaKey()) != "key" || d.GetFileLength() != uint64(len(pdf)) {
		t.Fatalf("sent %v", u.sent[0])
	}
}

func TestSendMediaVoiceNote(t *testing.T) {
	c, u := connectedUploader(t)
	if _, err := c.SendMedia(context.Background(), "5511900000001", channels.OutboundMedia{
		Kind: channels.TypeAudio, MimeType: "audio/ogg; codecs=opus", Size: 4, Open: channels.FileBytes([]byte("OggS")),
	}); err != nil {
		t.Fatal(err)
	}
	if a := u.sent[0].GetAudioMessage(); !a.GetPTT() || u.kind != wm.MediaAudio {
		t.Fatalf("sent %v as %q", u.sent[0], u.kind)
	}
}

func TestSendMediaFailures(t *testing.T) {
	c, u := connectedUploader(t)
	u.err = wm.ErrMediaDownloadFailedWith404
	_, err := c.SendMedia(context.Background(), "5511900000001", channels.OutboundMedia{
		Kind: channels.TypeImage, MimeType: "image/jpeg", Size: 3, Open: channels.FileBytes([]byte("abc")),
	})
	var se *channels.SendError
	if !errors.As(err, &se) || !se.Retryable || len(u.sent) != 0 {
		t.Fatalf("upload failure: %v, %d sent; want a retryable error and nothing sent", err, len(u.sent))
	}
	_, err = c.SendMedia(context.Background(), "5511900000001", channels.OutboundMedia{
		Kind: channels.TypeAudio, Caption: "ouça", Open: channels.FileBytes([]byte("OggS")),
	})
	if !errors.As(err, &se) || se.Retryable {
		t.Fatalf("audio with a caption: %v, want a permanent refusal", err)
	}
	text := newTestChannel(t)
	f := &fakeSession{}
	f.connected.Store(true)
	text.client.Store(&senderBox{s: f})
	_, err = text.SendMedia(context.Background(), "5511900000001", channels.OutboundMedia{Kind: channels.TypeImage, Open: channels.FileBytes(nil)})
	if !errors.As(err, &se) || se.Retryable {
		t.Fatalf("session without uploads: %v, want a permanent refusal", err)
	}
}
