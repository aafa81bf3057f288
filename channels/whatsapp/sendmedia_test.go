package whatsapp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sync/atomic"
	"testing"

	"switchboard/channels"
)

// pdf stands in for an operator's document: binary, with bytes a text
// encoding would mangle.
var pdf = append([]byte("%PDF-1.4\n"), 0, 0xff, '\r', '\n', 0x80, 'E', 'O', 'F')

// upload is what the fake's media endpoint received.
type upload struct {
	fields   map[string]string
	file     []byte
	filename string
	partType string
}

// mediaGraph fakes the media and messages endpoints: an upload answers
// media id "MEDIA-1", a message wamid.SENT.
func mediaGraph(t *testing.T, up *upload, message *map[string]any) string {
	return graph(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer EAAG-token" {
			w.WriteHeader(401)
			return
		}
		switch r.URL.Path {
		case "/v21.0/" + phoneNumberID + "/media":
			_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || (r.ContentLength >= 0 && r.ContentLength != int64(len(body))) {
				t.Errorf("upload Content-Type %q, Content-Length %d for %d bytes", r.Header.Get("Content-Type"), r.ContentLength, len(body))
			}
			up.fields = map[string]string{}
			mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
			for {
				p, err := mr.NextPart()
				if err != nil {
					break
				}
				b, _ := io.ReadAll(p)
				if p.FileName() != "" {
					up.file, up.filename, up.partType = b, p.FileName(), p.Header.Get("Content-Type")
					up.fields["file"] = p.FormName()
				} else {
					up.fields[p.FormName()] = string(b)
				}
			}
			fmt.Fprint(w, `{"id":"MEDIA-1"}`)
		case "/v21.0/" + phoneNumberID + "/messages":
			_ = json.Unmarshal(body, message)
			fmt.Fprint(w, `{"messages":[{"id":"wamid.SENT"}]}`)
		default:
			w.WriteHeader(404)
		}
	})
}

func TestSendMediaUploadsThenSendsTheMediaID(t *testing.T) {
	var up upload
	var msg map[string]any
	base := mediaGraph(t, &up, &msg)
	id, err := newChannel(t, base).SendMedia(context.Background(), "16505551234", channels.OutboundMedia{
		Kind: channels.TypeDocument, MimeType: "application/pdf", Filename: "boleto.pdf",
		Caption: "Segue o boleto", Size: int64(len(pdf)), Open: channels.FileBytes(pdf),
	})
	if err != nil || id != "wamid.SENT" {
		t.Fatalf("SendMedia = %q, %v", id, err)
	}
	if up.fields["messaging_product"] != "whatsapp" || up.fields["type"] != "application/pdf" || up.fields["file"] != "file" {
		t.Fatalf("upload fields = %v", up.fields)
	}
	if !bytes.Equal(up.file, pdf) || up.filename != "boleto.pdf" || up.partType != "application/pdf" {
		t.Fatalf("uploaded %q as %q (%s), want the document's bytes", up.file, up.filename, up.partType)
	}
	doc, _ := msg["document"].(map[string]any)
	if msg["messaging_product"] != "whatsapp" || msg["to"] != "16505551234" || msg["type"] != "document" ||
		doc["id"] != "MEDIA-1" || doc["caption"] != "Segue o boleto" || doc["filename"] != "boleto.pdf" || len(doc) != 3 {
		t.Fatalf("message = %v", msg)
	}
}

func TestSendMediaImageHasNoFilename(t *testing.T) {
	var up upload
	var msg map[string]any
	base := mediaGraph(t, &up, &msg)
	png := []byte("\x89PNG\r\n\x1a\nrest")
	if _, err := newChannel(t, base).SendMedia(context.Background(), "16505551234", channels.OutboundMedia{
		Kind: channels.TypeImage, MimeType: "image/png", Filename: "x.png", Size: -1, Open: channels.FileBytes(png),
	}); err != nil {
		t.Fatal(err)
	}
	img, _ := msg["image"].(map[string]any)
	if msg["type"] != "image" || img["id"] != "MEDIA-1" || len(img) != 1 || !bytes.Equal(up.file, png) {
		t.Fatalf("message = %v, uploaded %q", msg, up.file)
	}
}

func TestSendMediaTemplateHeader(t *testing.T) {
	var up upload
	var msg map[string]any
	base := mediaGraph(t, &up, &msg)
	id, err := newChannel(t, base).SendMediaTemplate(context.Background(), "16505551234", "boleto_pronto", "pt_BR", []string{"Ana"},
		channels.OutboundMedia{Kind: channels.TypeDocument, MimeType: "application/pdf", Filename: "boleto.pdf", Size: int64(len(pdf)), Open: channels.FileBytes(pdf)})
	if err != nil || id != "wamid.SENT" || !bytes.Equal(up.file, pdf) {
		t.Fatalf("SendMediaTemplate = %q, %v", id, err)
	}
	got, _ := json.Marshal(msg["template"])
	want := `{"components":[{"parameters":[{"document":{"filename":"boleto.pdf","id":"MEDIA-1"},"type":"document"}],"type":"header"},` +
		`{"parameters":[{"text":"Ana","type":"text"}],"type":"body"}],"language":{"code":"pt_BR"},"name":"boleto_pronto"}`
	if string(got) != want || msg["type"] != "template" {
		t.Fatalf("template = %s\nwant       %s", got, want)
	}
}

func TestSendMediaFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		retryable bool
	}{
		{"upload server error", 500, true},
		{"upload throttled", 429, true},
		{"upload unsupported type", 400, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var messages atomic.Int32
			base := graph(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				if r.URL.Path != "/v21.0/"+phoneNumberID+"/media" {
					messages.Add(1)
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, `{"error":{"message":"(#131053) Media upload error","code":131053}}`)
			})
			_, err := newChannel(t, base).SendMedia(context.Background(), "1", channels.OutboundMedia{
				Kind: channels.TypeImage, MimeType: "image/jpeg", Size: 3, Open: channels.FileBytes([]byte("abc")),
			})
			var se *channels.SendError
			if !errors.As(err, &se) || se.Retryable != tc.retryable || se.HTTPStatus != tc.status || se.Code != 131053 {
				t.Fatalf("err = %#v", err)
			}
			if messages.Load() != 0 {
				t.Fatal("a message was sent after the upload failed")
			}
		})
	}
	t.Run("audio with a caption", func(t *testing.T) {
		var calls atomic.Int32
		base := graph(t, func(http.ResponseWriter, *http.Request, []byte) { calls.Add(1) })
		_, err := newChannel(t, base).SendMedia(context.Background(), "1", channels.OutboundMedia{
			Kind: channels.TypeAudio, MimeType: "audio/ogg", Caption: "ouça", Size: 3, Open: channels.FileBytes([]byte("Ogg")),
		})
		var se *channels.SendError
		if !errors.As(err, &se) || se.Retryable || calls.Load() != 0 {
			t.Fatalf("err = %v after %d calls, want a permanent refusal before any", err, calls.Load())
		}
	})
}
