package telegram_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"switchboard/channels"
	"switchboard/channels/telegram"
)

// FuzzParse: whatever the body, Parse never panics, and it either rejects
// the body as malformed or returns messages a worker can route and answer
// (id, sender and type set).
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"update_id":1,"callback_query":{"id":"1","from":{"id":2},"data":"x"}}`))
	f.Add([]byte(`{"update_id":1,"message":{"chat":{"id":1,"type":"private"},"photo":[]}}`))
	f.Add([]byte(`{"update_id":3,"message":{"message_id":1,"chat":{"type":"private"},"date":1,"text":"x"}}`))
	ch := newChannel(f, "")
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ch.Parse(body, received)
		if err != nil {
			if !errors.Is(err, channels.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if len(b.Messages)+len(b.Statuses) != 0 {
				t.Fatalf("an error with a non-empty batch: %+v", b)
			}
			return
		}
		if len(b.Messages)+len(b.Unparsed) > 1 || len(b.Statuses) != 0 {
			t.Fatalf("one update gave %d messages, %d unparsed and %d statuses", len(b.Messages), len(b.Unparsed), len(b.Statuses))
		}
		for _, u := range b.Unparsed {
			if u.Reason == "" || string(u.Raw) != string(body) {
				t.Fatalf("unparsed update without its reason or bytes: %+v", u)
			}
		}
		for _, m := range b.Messages {
			if m.ID == "" || m.From == "" || m.From == "0" || m.Type == "" || m.Channel != "tg-main" || m.Kind != telegram.KindName {
				t.Fatalf("accepted an unroutable message: %+v", m)
			}
			if m.Type == channels.TypeUnknown && (len(m.Raw) == 0 || m.ProviderType == "") {
				t.Fatalf("unknown type %q queued without its raw payload", m.ProviderType)
			}
		}
	})
}

// FuzzVerify: a request is accepted exactly when its secret header is the
// configured secret_token, and every refusal wraps ErrBadSignature.
func FuzzVerify(f *testing.F) {
	body, err := os.ReadFile("testdata/message_text.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body, secret)
	f.Add(body, "")
	f.Add(body, secret+"x")
	f.Add([]byte{}, secret[:3])
	ch := newChannel(f, "")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		err := ch.Verify(&http.Request{Header: http.Header{telegram.SecretHeader: {header}}}, body)
		valid := header == secret
		if valid && err != nil {
			t.Fatalf("rejected the right secret: %v", err)
		}
		if !valid && err == nil {
			t.Fatalf("accepted %q", header)
		}
		if err != nil && !errors.Is(err, channels.ErrBadSignature) {
			t.Fatalf("error %v does not wrap ErrBadSignature", err)
		}
	})
}
