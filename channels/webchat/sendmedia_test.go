package webchat_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"switchboard/channels"
	"switchboard/channels/webchat"
)

func TestSendMediaGivesTheSiteASignedLink(t *testing.T) {
	var raw []byte
	var sig, ts string
	url := site(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		raw, sig, ts = body, r.Header.Get(webchat.SignatureHeader), r.Header.Get(webchat.TimestampHeader)
		w.WriteHeader(http.StatusAccepted)
	})
	id, err := newChannel(t, url).SendMedia(channels.WithOutboundID(context.Background(), "sb-42"), "visitor-42", channels.OutboundMedia{
		Kind: channels.TypeDocument, MimeType: "application/pdf", Filename: "invoice.pdf", Caption: "Your invoice",
		Size: 1234, PublicURL: "https://cs.example.com/media/signed/abc.def.ghi",
	})
	if err != nil || id != "sb-42" {
		t.Fatalf("SendMedia = %q, %v", id, err)
	}
	want := `{"id":"sb-42","session_id":"visitor-42","text":"Your invoice","timestamp":` + strconv.FormatInt(now.Unix(), 10) +
		`,"media":{"kind":"document","url":"https://cs.example.com/media/signed/abc.def.ghi","mime_type":"application/pdf","filename":"invoice.pdf","size":1234}}`
	if string(raw) != want {
		t.Fatalf("body = %s\nwant   %s", raw, want)
	}
	if sig != webchat.Sign([]byte(secret), now.Unix(), raw) || ts != strconv.FormatInt(now.Unix(), 10) {
		t.Fatalf("signature %q at %q does not verify", sig, ts)
	}
}

func TestSendMediaWithoutAPublicURLIsRefused(t *testing.T) {
	var calls atomic.Int32
	url := site(t, func(http.ResponseWriter, *http.Request, []byte) { calls.Add(1) })
	_, err := newChannel(t, url).SendMedia(context.Background(), "visitor-42", channels.OutboundMedia{Kind: channels.TypeImage})
	var se *channels.SendError
	if !errors.As(err, &se) || se.Retryable || calls.Load() != 0 {
		t.Fatalf("err = %v after %d calls, want a permanent refusal", err, calls.Load())
	}
}

func TestSendMediaSiteFailures(t *testing.T) {
	for status, retryable := range map[int]bool{503: true, 429: true, 400: false, 404: false} {
		url := site(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(status) })
		_, err := newChannel(t, url).SendMedia(context.Background(), "v", channels.OutboundMedia{Kind: channels.TypeImage, PublicURL: "https://x/y"})
		var se *channels.SendError
		if !errors.As(err, &se) || se.Retryable != retryable {
			t.Errorf("site answered %d: %v, want retryable=%v", status, err, retryable)
		}
	}
}
