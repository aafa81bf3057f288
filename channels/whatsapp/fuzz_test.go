package whatsapp_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"switchboard/channels"
)

// FuzzParse: whatever the body, Parse never panics, and it either rejects
// the body as malformed or returns messages a worker can route (id, sender
// and type set).
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	ch := newChannel(f, "")
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ch.Parse(body, received)
		if err != nil {
			if !errors.Is(err, channels.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		for _, m := range b.Messages {
			if m.ID == "" || m.From == "" || m.Type == "" || m.Channel != "wa-main" {
				t.Fatalf("accepted an unroutable message: %+v", m)
			}
			if m.Type == channels.TypeUnknown && len(m.Raw) == 0 {
				t.Fatalf("unknown type %q queued without its raw payload", m.ProviderType)
			}
		}
		for _, s := range b.Statuses {
			if s.MessageID == "" || s.Status == "" {
				t.Fatalf("accepted a status without id or status: %+v", s)
			}
		}
		kept := 0
		for _, u := range b.Unparsed {
			if u.Item == "" || u.Reason == "" || len(u.Raw) == 0 {
				t.Fatalf("unparsed item without its kind, reason or bytes: %+v", u)
			}
			if u.Kept {
				kept++
			}
		}
		if kept > len(b.Messages) {
			t.Fatalf("%d unparsed messages kept, but only %d messages returned", kept, len(b.Messages))
		}
	})
}

// FuzzVerify: a signature is accepted exactly when it is "sha256=" and the
// hex HMAC of the body under the app secret (in either case).
func FuzzVerify(f *testing.F) {
	body, err := os.ReadFile("testdata/text.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body, signature(secret, body))
	f.Add(body, "sha256=")
	f.Add([]byte{}, signature(secret, nil))
	f.Add(body, "sha256="+string(make([]byte, 64)))
	ch := newChannel(f, "")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		err := ch.Verify(&http.Request{Header: http.Header{"X-Hub-Signature-256": {header}}}, body)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		want := mac.Sum(nil)
		var got []byte
		if len(header) == 7+64 && header[:7] == "sha256=" {
			got, _ = hex.DecodeString(header[7:])
		}
		valid := got != nil && hmac.Equal(got, want)
		if valid && err != nil {
			t.Fatalf("rejected a correct signature: %v", err)
		}
		if !valid && err == nil {
			t.Fatalf("accepted %q for a body whose signature is %x", header, want)
		}
		if err != nil && !errors.Is(err, channels.ErrBadSignature) {
			t.Fatalf("error %v does not wrap ErrBadSignature", err)
		}
	})
}
