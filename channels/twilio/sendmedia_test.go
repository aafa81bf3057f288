package twilio_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"switchboard/channels"
	"switchboard/channels/twilio"
)

const signedLink = "https://cs.example.com/media/signed/MTIz.c2ln"

func TestSendMediaGivesTwilioTheLink(t *testing.T) {
	var path string
	var form url.Values
	base := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		path, form = r.URL.Path, f
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, created)
	})
	id, err := newChannel(t, base).SendMedia(context.Background(), "5511900000001", channels.OutboundMedia{
		Kind: channels.TypeImage, MimeType: "image/jpeg", Caption: "Seu comprovante", Size: 3,
		Open: channels.FileBytes([]byte("abc")), PublicURL: signedLink,
	})
	if err != nil || id != "SMd1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6" {
		t.Fatalf("SendMedia = %q, %v", id, err)
	}
	want := url.Values{"To": {"whatsapp:+5511900000001"}, "From": {waSender}, "MediaUrl": {signedLink}, "Body": {"Seu comprovante"}}
	if path != "/2010-04-01/Accounts/"+accountSID+"/Messages.json" || form.Encode() != want.Encode() {
		t.Fatalf("POST %s %v, want %v", path, form, want)
	}
}

func TestSendMediaWithoutCaptionHasNoBody(t *testing.T) {
	var form url.Values
	base := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		form = f
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, created)
	})
	if _, err := newChannel(t, base).SendMedia(context.Background(), "5511900000001", channels.OutboundMedia{
		Kind: channels.TypeDocument, MimeType: "application/pdf", PublicURL: signedLink,
	}); err != nil {
		t.Fatal(err)
	}
	if _, has := form["Body"]; has || form.Get("MediaUrl") != signedLink {
		t.Fatalf("form = %v", form)
	}
}

func TestSendMediaWithoutPublicURLIsRefused(t *testing.T) {
	var calls atomic.Int32
	base := fakeAPI(t, func(http.ResponseWriter, *http.Request, url.Values) { calls.Add(1) })
	_, err := newChannel(t, base).SendMedia(context.Background(), "5511900000001", channels.OutboundMedia{
		Kind: channels.TypeImage, MimeType: "image/jpeg", Open: channels.FileBytes([]byte("abc")),
	})
	var se *channels.SendError
	if !errors.As(err, &se) || se.Retryable || !strings.Contains(err.Error(), "media.public_url") || calls.Load() != 0 {
		t.Fatalf("err = %v after %d calls, want a permanent refusal naming media.public_url", err, calls.Load())
	}
	if se.Message != twilio.ErrNoPublicURL {
		t.Fatalf("message = %q", se.Message)
	}
}

func TestSendMediaFailures(t *testing.T) {
	for _, tc := range []struct {
		status    int
		body      string
		retryable bool
	}{
		{500, `{"code":20500,"message":"Internal Server Error","status":500}`, true},
		{429, `{"code":20429,"message":"Too Many Requests","status":429}`, true},
		{400, `{"code":21620,"message":"Invalid media URL(s) ` + signedLink + `","status":400}`, false},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			base := fakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ url.Values) {
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			})
			_, err := newChannel(t, base).SendMedia(context.Background(), "5511900000001", channels.OutboundMedia{
				Kind: channels.TypeImage, Caption: "private words", PublicURL: signedLink,
			})
			var se *channels.SendError
			if !errors.As(err, &se) || se.Retryable != tc.retryable || se.HTTPStatus != tc.status {
				t.Fatalf("err = %v, want retryable=%v", err, tc.retryable)
			}
			if strings.Contains(err.Error(), signedLink) || strings.Contains(err.Error(), "private words") {
				t.Fatalf("error quotes the link or the caption: %v", err)
			}
		})
	}
}
