package telegram_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"switchboard/channels"
)

// form is a multipart request the fake Bot API received.
type form struct {
	method   string
	fields   map[string]string
	fileName string // the form field holding the file
	file     []byte
	filename string
}

// mediaBotAPI fakes the Bot API's upload methods, answering status and
// body, and records each request's form.
func mediaBotAPI(t *testing.T, status int, body string, got *form) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, ok := strings.CutPrefix(r.URL.Path, "/bot"+botToken+"/")
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if !ok || r.Method != http.MethodPost || err != nil || mt != "multipart/form-data" {
			t.Errorf("unexpected request %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			w.WriteHeader(http.StatusNotFound)
			return
		}
		*got = form{method: method, fields: map[string]string{}}
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Errorf("read form: %v", err)
				break
			}
			b, _ := io.ReadAll(p)
			if p.FileName() != "" {
				got.fileName, got.file, got.filename = p.FormName(), b, p.FileName()
			} else {
				got.fields[p.FormName()] = string(b)
			}
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

const sentPhoto = `{"ok":true,"result":{"message_id":1390,"chat":{"id":5213748901,"type":"private"},"photo":[{"file_id":"AgAC","file_unique_id":"u","width":90,"height":90}]}}`

func TestSendMediaUsesEachKindsMethod(t *testing.T) {
	jpeg := append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte{0, '\r', '\n', 0xff}, 500)...)
	for _, tc := range []struct {
		kind, mimeType, filename, caption string
		method, field                     string
	}{
		{channels.TypeImage, "image/jpeg", "comprovante.jpg", "Recebido!", "sendPhoto", "photo"},
		{channels.TypeDocument, "application/pdf", "boleto.pdf", "", "sendDocument", "document"},
		{channels.TypeVideo, "video/mp4", "tutorial.mp4", "Veja", "sendVideo", "video"},
		{channels.TypeAudio, "audio/mpeg", "aviso.mp3", "", "sendAudio", "audio"},
		{channels.TypeAudio, "audio/ogg; codecs=opus", "nota.ogg", "", "sendVoice", "voice"},
	} {
		t.Run(tc.method, func(t *testing.T) {
			var got form
			base := mediaBotAPI(t, 200, sentPhoto, &got)
			id, err := newChannel(t, base).SendMedia(context.Background(), customer, channels.OutboundMedia{
				Kind: tc.kind, MimeType: tc.mimeType, Filename: tc.filename, Caption: tc.caption,
				Size: int64(len(jpeg)), Open: channels.FileBytes(jpeg),
			})
			if err != nil || id != customer+":1390" {
				t.Fatalf("SendMedia = %q, %v", id, err)
			}
			if got.method != tc.method || got.fileName != tc.field || got.filename != tc.filename || !bytes.Equal(got.file, jpeg) {
				t.Fatalf("%s with file field %q (%q, %d bytes), want %s with %q and the file's bytes",
					got.method, got.fileName, got.filename, len(got.file), tc.method, tc.field)
			}
			want := map[string]string{"chat_id": customer}
			if tc.caption != "" {
				want["caption"] = tc.caption
			}
			if fmt.Sprint(got.fields) != fmt.Sprint(want) {
				t.Fatalf("fields = %v, want %v", got.fields, want)
			}
		})
	}
}

func TestSendMediaFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		body      string
		retryable bool
	}{
		{"server error", 502, `{"ok":false,"error_code":502,"description":"Bad Gateway"}`, true},
		{"flood control", 429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}`, true},
		{"photo invalid", 400, `{"ok":false,"error_code":400,"description":"Bad Request: PHOTO_INVALID_DIMENSIONS"}`, false},
		{"blocked", 403, `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got form
			base := mediaBotAPI(t, tc.status, tc.body, &got)
			_, err := newChannel(t, base).SendMedia(context.Background(), customer, channels.OutboundMedia{
				Kind: channels.TypeImage, MimeType: "image/png", Size: 4, Open: channels.FileBytes([]byte("\x89PNG")),
			})
			var se *channels.SendError
			if !errors.As(err, &se) || se.Retryable != tc.retryable || se.HTTPStatus != tc.status {
				t.Fatalf("err = %v, want retryable=%v", err, tc.retryable)
			}
			assertNoToken(t, err)
		})
	}
}
