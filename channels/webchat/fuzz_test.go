package webchat_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"switchboard/channels"
	"switchboard/channels/webchat"
)

// FuzzParse: whatever the body, Parse never panics, and it either rejects
// the body as malformed or returns exactly one message a worker can route
// (id, sender and text or a file from media_origins set, within their
// limits) or one status, either of which can be queued (encodes as JSON).
func FuzzParse(f *testing.F) {
	for _, body := range []string{
		messageBody,
		`{"type": "message", "id": "m-1", "session_id": "v", "text": "hi"}`,
		`{"type": "status", "message_id": "sb-1", "status": "delivered", "timestamp": 1760000000}`,
		`{"type": "status", "message_id": "sb-1", "status": "read"}`,
		`{"type": "status", "message_id": "sb-1", "status": "failed", "timestamp": 0}`,
		`{"type": "typing", "session_id": "v"}`,
		`{"id": "m-1", "session_id": "v", "text": "hi", "timestamp": 253402300799}`,
		`{"id": "m-1", "session_id": "v", "text": "hi", "timestamp": -1}`,
		`{"id": "m-1", "session_id": "v", "text": "\ud83d\ude00 \u0000"}`,
		messageBody + `{}`,
		`{"id": "m-2", "session_id": "v", "text": "receipt", "media": {"kind": "document", "url": "https://cdn.shop.example.com/r.pdf?t=1", "mime_type": "application/pdf", "filename": "r.pdf", "size": 12, "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}`,
		`{"id": "m-2", "session_id": "v", "media": {"kind": "image", "url": "https://CDN.shop.example.com:443/a.jpg"}}`,
		`{"id": "m-2", "session_id": "v", "media": {"kind": "audio", "url": "https://u:p@cdn.shop.example.com/a.ogg"}}`,
		`{"id": "m-2", "session_id": "v", "media": {"kind": "video", "url": "https://evil.example/a.mp4"}}`,
		`{"id": "m-2", "session_id": "v", "media": null}`,
		`null`,
		``,
	} {
		f.Add([]byte(body))
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
		if len(b.Messages)+len(b.Statuses) != 1 {
			t.Fatalf("a body is one message or one status, got %d and %d", len(b.Messages), len(b.Statuses))
		}
		for _, m := range b.Messages {
			if m.ID == "" || m.From == "" || m.Channel != "web-main" || m.Kind != webchat.KindName {
				t.Fatalf("accepted an unroutable message: %+v", m)
			}
			if m.Media == nil && (m.Text == "" || m.Type != channels.TypeText) {
				t.Fatalf("accepted a message with neither text nor a file: %+v", m)
			}
			if m.Media != nil {
				checkFuzzedMedia(t, &m)
			}
			if len(m.ID) > 256 || len(m.From) > 256 || len(m.Text) > 64<<10 {
				t.Fatalf("accepted oversize fields: id %d, from %d, text %d bytes", len(m.ID), len(m.From), len(m.Text))
			}
			if _, err := json.Marshal(m); err != nil {
				t.Fatalf("accepted a message that cannot be queued: %v", err)
			}
		}
		for _, s := range b.Statuses {
			if s.MessageID == "" || len(s.MessageID) > 256 || s.Channel != "web-main" {
				t.Fatalf("accepted a status without a usable id: %+v", s)
			}
			switch s.Status {
			case channels.StatusDelivered, channels.StatusRead, channels.StatusFailed:
			default:
				t.Fatalf("accepted status %q", s.Status)
			}
			if _, err := json.Marshal(s); err != nil {
				t.Fatalf("accepted a status that cannot be queued: %v", err)
			}
		}
	})
}

// FuzzVerify: a request is accepted exactly when its timestamp header is
// decimal Unix seconds less than MaxSkew from the clock, and its signature
// header is "sha256=" and the hex HMAC (either case) of that header's text,
// a dot and the body. The expectation is computed here from the contract,
// not with webchat.Sign.
func FuzzVerify(f *testing.F) {
	body := []byte(messageBody)
	ts := strconv.FormatInt(now.Unix(), 10)
	f.Add(body, ts, webchat.Sign([]byte(secret), now.Unix(), body))
	f.Add(body, "0"+ts, "sha256=")
	f.Add([]byte{}, ts, webchat.Sign([]byte(secret), now.Unix(), nil))
	f.Add(body, strconv.FormatInt(now.Unix()-300, 10), webchat.Sign([]byte(secret), now.Unix()-300, body))
	f.Add(body, strconv.FormatInt(now.Unix()+299, 10), webchat.Sign([]byte(secret), now.Unix()+299, body))
	f.Add(body, "99999999999999999999", "sha256="+string(make([]byte, 64)))
	f.Add(body, "", "")
	ch := newChannel(f, "")
	f.Fuzz(func(t *testing.T, body []byte, tsHeader, sigHeader string) {
		h := http.Header{}
		if tsHeader != "" {
			h[webchat.TimestampHeader] = []string{tsHeader}
		}
		if sigHeader != "" {
			h[webchat.SignatureHeader] = []string{sigHeader}
		}
		err := ch.Verify(&http.Request{Header: h}, body)

		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(tsHeader + "."))
		mac.Write(body)
		want := mac.Sum(nil)
		var got []byte
		if len(sigHeader) == 7+64 && sigHeader[:7] == "sha256=" {
			got, _ = hex.DecodeString(sigHeader[7:])
		}
		sigOK := got != nil && hmac.Equal(got, want)

		// The clock is a whole second, N: whole seconds strictly within
		// MaxSkew are N-299 through N+299.
		tsOK := false
		if v, ok := new(big.Int).SetString(tsHeader, 10); ok && isDigits(tsHeader) {
			d := new(big.Int).Sub(v, big.NewInt(now.Unix()))
			tsOK = d.CmpAbs(big.NewInt(300)) < 0
		}

		valid := sigOK && tsOK
		if valid && err != nil {
			t.Fatalf("rejected a correct, current request: %v", err)
		}
		if !valid && err == nil {
			t.Fatalf("accepted timestamp %q, signature %q (signature ok %v, timestamp ok %v)", tsHeader, sigHeader, sigOK, tsOK)
		}
		if err != nil && !errors.Is(err, channels.ErrBadSignature) {
			t.Fatalf("error %v does not wrap ErrBadSignature", err)
		}
	})
}

// checkFuzzedMedia: an accepted file is of a kind the console shows, at
// an http(s) URL without credentials on newChannel's one media origin,
// with its caption the message's text and its fields within bounds.
func checkFuzzedMedia(t *testing.T, m *channels.Inbound) {
	t.Helper()
	switch m.Type {
	case channels.TypeImage, channels.TypeAudio, channels.TypeVideo, channels.TypeDocument:
	default:
		t.Fatalf("accepted a file of type %q", m.Type)
	}
	u, err := url.Parse(m.Media.ID)
	if err != nil || len(m.Media.ID) > 2048 || u.Scheme != "https" || u.User != nil ||
		!strings.EqualFold(u.Hostname(), "cdn.shop.example.com") || (u.Port() != "" && u.Port() != "443") {
		t.Fatalf("accepted a file at a URL outside media_origins (%d bytes): %v", len(m.Media.ID), err)
	}
	if m.Media.Caption != m.Text || len(m.Media.Filename) > 255 || len(m.Media.MimeType) > 255 {
		t.Fatalf("accepted a file with caption %q (text %q), filename %d, type %d bytes",
			m.Media.Caption, m.Text, len(m.Media.Filename), len(m.Media.MimeType))
	}
	if sum := m.Media.SHA256; sum != "" {
		if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
			t.Fatalf("accepted sha256 %q", sum)
		}
	}
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
