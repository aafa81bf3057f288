package webchat_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/channels/webchat"
)

// mediaBody is a visitor message carrying a file at url, media's other
// fields given as JSON members (`"kind": "document", ...`).
func mediaBody(text, media string) string {
	if text != "" {
		text = `"text": ` + strconv.Quote(text) + `, `
	}
	return `{"id": "m-9", "session_id": "visitor-42", "name": "Visitor", ` + text + `"media": {` + media + `}, "timestamp": 1760000000}`
}

func TestParseMediaMessage(t *testing.T) {
	const sum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	b := parse(t, mediaBody("my receipt", `"kind": "document", "url": "https://cdn.shop.example.com/u/7/receipt.pdf?token=abc",
		"mime_type": "application/pdf", "filename": "receipt.pdf", "size": 4, "sha256": "`+sum+`"`))
	want := channels.Inbound{
		Channel: "web-main", Kind: "webchat", ID: "m-9", From: "visitor-42", ProfileName: "Visitor",
		Timestamp: time.Unix(1760000000, 0).UTC(), Arrival: received.UnixNano(), Type: channels.TypeDocument,
		Text: "my receipt", Media: &channels.Media{ID: "https://cdn.shop.example.com/u/7/receipt.pdf?token=abc",
			MimeType: "application/pdf", Filename: "receipt.pdf", SHA256: sum, Caption: "my receipt"},
	}
	if len(b.Messages) != 1 {
		t.Fatalf("%d messages, want 1", len(b.Messages))
	}
	if got := b.Messages[0]; !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %+v %+v\nwant %+v %+v", got, got.Media, want, want.Media)
	}

	// Each kind, without a caption, on the origin however it is spelt.
	for kind, u := range map[string]string{
		"image":    "https://cdn.shop.example.com/a.jpg",
		"audio":    "https://CDN.Shop.Example.com:443/a.ogg",
		"video":    "HTTPS://cdn.shop.example.com/a.mp4",
		"document": "https://cdn.shop.example.com/" + strings.Repeat("d", 2048-len("https://cdn.shop.example.com/")),
	} {
		m := parse(t, mediaBody("", `"kind": "`+kind+`", "url": "`+u+`"`)).Messages[0]
		if m.Type != kind || m.Media == nil || m.Media.ID != u || m.Text != "" || m.Media.Caption != "" {
			t.Errorf("%s: %+v %+v, want type %s with the url and no caption", kind, m, m.Media, kind)
		}
	}
}

func TestParseMediaMalformed(t *testing.T) {
	ch := newChannel(t, "")
	const u = `"url": "https://cdn.shop.example.com/f?token=tok3n-secret"`
	for name, tc := range map[string]struct{ media, errPart string }{
		"no kind":              {u, "media.kind: required"},
		"kind sticker":         {`"kind": "sticker", ` + u, "media.kind"},
		"kind not a string":    {`"kind": 1, ` + u, "cannot unmarshal"},
		"no url":               {`"kind": "image"`, "media.url: required"},
		"relative url":         {`"kind": "image", "url": "/f?token=tok3n-secret"`, "absolute http(s)"},
		"ftp url":              {`"kind": "image", "url": "ftp://cdn.shop.example.com/f?token=tok3n-secret"`, "absolute http(s)"},
		"no host":              {`"kind": "image", "url": "https:///f?token=tok3n-secret"`, "absolute http(s)"},
		"unparseable url":      {`"kind": "image", "url": "https://cdn.shop.example.com/%zz?token=tok3n-secret"`, "absolute http(s)"},
		"credentials in url":   {`"kind": "image", "url": "https://me:tok3n-secret@cdn.shop.example.com/f"`, "credentials"},
		"url too long":         {`"kind": "image", "url": "https://cdn.shop.example.com/tok3n-secret` + strings.Repeat("x", 2048) + `"`, "longer than 2048"},
		"foreign origin":       {`"kind": "image", "url": "https://evil.example/f?token=tok3n-secret"`, "its origin is not in the channel's media_origins"},
		"another port":         {`"kind": "image", "url": "https://cdn.shop.example.com:8443/f?token=tok3n-secret"`, "media_origins"},
		"plain http":           {`"kind": "image", "url": "http://cdn.shop.example.com/f?token=tok3n-secret"`, "media_origins"},
		"a subdomain":          {`"kind": "image", "url": "https://x.cdn.shop.example.com/f?token=tok3n-secret"`, "media_origins"},
		"mime_type too long":   {`"kind": "image", ` + u + `, "mime_type": "image/` + strings.Repeat("p", 256) + `"`, "media.mime_type: longer"},
		"mime_type not a type": {`"kind": "image", ` + u + `, "mime_type": "a picture"`, "media.mime_type"},
		"filename too long":    {`"kind": "document", ` + u + `, "filename": "` + strings.Repeat("f", 256) + `"`, "media.filename"},
		"negative size":        {`"kind": "document", ` + u + `, "size": -1`, "media.size"},
		"sha256 not hex":       {`"kind": "document", ` + u + `, "sha256": "` + strings.Repeat("z", 64) + `"`, "media.sha256"},
		"sha256 short":         {`"kind": "document", ` + u + `, "sha256": "9f86d081"`, "media.sha256"},
	} {
		_, err := ch.Parse([]byte(mediaBody("caption", tc.media)), received)
		if !errors.Is(err, channels.ErrMalformed) || !strings.Contains(err.Error(), tc.errPart) {
			t.Errorf("%s: %v, want ErrMalformed saying %q", name, err, tc.errPart)
		} else if strings.Contains(err.Error(), "tok3n-secret") {
			t.Errorf("%s: the error quotes the URL: %v", name, err)
		}
	}
	for name, body := range map[string]string{
		"media a string":      `{"id": "m-9", "session_id": "v", "media": "https://cdn.shop.example.com/f"}`,
		"media null, no text": `{"id": "m-9", "session_id": "v", "media": null}`,
		"media, no id":        `{"session_id": "v", "media": {"kind": "image", ` + u + `}}`,
	} {
		if _, err := ch.Parse([]byte(body), received); !errors.Is(err, channels.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}

	// A channel without media_origins takes no files, and says so.
	bare, err := webchat.New("web", webchat.Config{Secret: secret, CallbackURL: "https://shop.example.com/r"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bare.Parse([]byte(mediaBody("", `"kind": "image", `+u)), received)
	if !errors.Is(err, channels.ErrMalformed) || !strings.Contains(err.Error(), "has none") {
		t.Errorf("no media_origins: %v, want ErrMalformed saying the channel has none", err)
	}
}

func TestMediaOriginsConfig(t *testing.T) {
	for name, origin := range map[string]string{
		"a path":      "https://cdn.example.com/files",
		"a query":     "https://cdn.example.com?x=1",
		"a fragment":  "https://cdn.example.com#f",
		"credentials": "https://me:pw-secret@cdn.example.com",
		"no scheme":   "cdn.example.com",
		"ftp":         "ftp://cdn.example.com",
		"no host":     "https://",
		"empty":       "",
	} {
		_, err := webchat.New("web", webchat.Config{Secret: secret, CallbackURL: "https://a.example/",
			MediaOrigins: []string{"https://ok.example.com", origin}}, nil, nil)
		if err == nil || !strings.Contains(err.Error(), "media_origins[1]:") {
			t.Errorf("%s: %v, want an error naming media_origins[1]", name, err)
		} else if strings.Contains(err.Error(), "pw-secret") {
			t.Errorf("%s: the error quotes the entry: %v", name, err)
		}
	}
	if _, err := webchat.New("web", webchat.Config{Secret: secret, CallbackURL: "https://a.example/",
		MediaOrigins: []string{"https://cdn.example.com", "http://localhost:8080", "https://files.example.com/"}}, nil, nil); err != nil {
		t.Errorf("valid origins: %v", err)
	}
}

// fakeSite serves visitors' files the way a site protecting them would:
// only to a request signed with the channel's secret over the URL asked
// for, with a current timestamp.
type fakeSite struct {
	srv      *httptest.Server
	requests atomic.Int32
	// serve answers a verified request.
	serve func(w http.ResponseWriter, r *http.Request)
}

func newFakeSite(t *testing.T) *fakeSite {
	s := &fakeSite{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		ts, err := strconv.ParseInt(r.Header.Get(webchat.TimestampHeader), 10, 64)
		asked := "http://" + r.Host + r.URL.RequestURI()
		if err != nil || ts != now.Unix() || r.Header.Get(webchat.SignatureHeader) != webchat.Sign([]byte(secret), ts, []byte(asked)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		s.serve(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// mediaChannel is a webchat channel fetching from origins.
func mediaChannel(t *testing.T, origins ...string) *webchat.Channel {
	t.Helper()
	ch, err := webchat.New("web-main", webchat.Config{Secret: secret, CallbackURL: "https://shop.example.com/r", MediaOrigins: origins},
		&http.Client{Timeout: 10 * time.Second}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// parsedMedia is the Media of a visitor message parsed by ch.
func parsedMedia(t *testing.T, ch *webchat.Channel, media string) *channels.Media {
	t.Helper()
	b, err := ch.Parse([]byte(mediaBody("", media)), received)
	if err != nil {
		t.Fatal(err)
	}
	return b.Messages[0].Media
}

func fetchAll(t *testing.T, ch *webchat.Channel, m *channels.Media) ([]byte, channels.FetchedInfo) {
	t.Helper()
	rc, info, err := ch.FetchMedia(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b, info
}

// A visitor's file is fetched, signed, byte for byte; what the payload
// says of it wins over the site's headers, which fill in what it left out.
func TestFetchMediaDownloadsSigned(t *testing.T) {
	file := []byte("%PDF-1.4\n\x00\x01\x02\xff binary \r\n%%EOF\n")
	sum := sha256.Sum256(file)
	site := newFakeSite(t)
	site.serve = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush() // no Content-Length
		}
		_, _ = w.Write(file)
	}
	ch := mediaChannel(t, site.srv.URL)

	m := parsedMedia(t, ch, `"kind": "document", "url": "`+site.srv.URL+`/u/7/receipt.pdf?token=abc&x=%20y", "mime_type": "application/pdf",
		"filename": "receipt.pdf", "size": 999, "sha256": "`+hex.EncodeToString(sum[:])+`"`)
	got, info := fetchAll(t, ch, m)
	if !bytes.Equal(got, file) {
		t.Fatalf("fetched %q, want %q", got, file)
	}
	want := channels.FetchedInfo{MimeType: "application/pdf", Size: int64(len(file)), Filename: "receipt.pdf", SHA256: hex.EncodeToString(sum[:])}
	if info != want {
		t.Errorf("info %+v, want %+v", info, want)
	}

	got, info = fetchAll(t, ch, parsedMedia(t, ch, `"kind": "document", "url": "`+site.srv.URL+`/chunked"`))
	if !bytes.Equal(got, file) || info != (channels.FetchedInfo{MimeType: "application/octet-stream", Size: -1}) {
		t.Errorf("without a type or a length: %q, %+v; want the bytes, the site's type, size -1", got, info)
	}
}

// Redirects are followed within media_origins, each hop signed over its
// own URL; one leaving them, or a chain too long, is refused for good and
// the host outside is never asked.
func TestFetchMediaRedirects(t *testing.T) {
	file := []byte("\x89PNG\r\n\x1a\n a picture")
	outside := newFakeSite(t)
	outside.serve = func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(file) }
	site := newFakeSite(t)
	site.serve = func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/here":
			http.Redirect(w, r, "/file.png", http.StatusFound)
		case "/away":
			http.Redirect(w, r, outside.srv.URL+"/file.png", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			_, _ = w.Write(file)
		}
	}
	ch := mediaChannel(t, site.srv.URL)

	if got, _ := fetchAll(t, ch, parsedMedia(t, ch, `"kind": "image", "url": "`+site.srv.URL+`/here"`)); !bytes.Equal(got, file) {
		t.Errorf("through a redirect on the origin: %q, want the file", got)
	}
	for _, path := range []string{"/away", "/loop"} {
		rc, _, err := ch.FetchMedia(context.Background(), parsedMedia(t, ch, `"kind": "image", "url": "`+site.srv.URL+path+`"`))
		if err == nil {
			rc.Close()
		}
		if r, ok := channels.PermanentFetch(err); !ok || r != channels.FetchRefused {
			t.Errorf("%s: %v, want permanently refused", path, err)
		}
	}
	if n := outside.requests.Load(); n != 0 {
		t.Errorf("the host outside media_origins got %d requests", n)
	}
	if n := site.requests.Load(); n != 2+1+4 {
		t.Errorf("the site got %d requests, want 7 (here twice, away once, loop four times)", n)
	}
}

func TestFetchMediaFailures(t *testing.T) {
	site := newFakeSite(t)
	site.serve = func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		http.Error(w, "no", code)
	}
	ch := mediaChannel(t, site.srv.URL)
	for _, tc := range []struct {
		code      int
		reason    string
		permanent bool
	}{
		{http.StatusNotFound, channels.FetchNotFound, true},
		{http.StatusGone, channels.FetchNotFound, true},
		{http.StatusServiceUnavailable, channels.FetchUnavailable, false},
		{http.StatusTooManyRequests, channels.FetchUnavailable, false},
	} {
		m := parsedMedia(t, ch, `"kind": "image", "url": "`+site.srv.URL+`/`+strconv.Itoa(tc.code)+`?token=tok3n-secret"`)
		_, _, err := ch.FetchMedia(context.Background(), m)
		var fe *channels.FetchError
		if !errors.As(err, &fe) || fe.Reason != tc.reason || fe.Permanent != tc.permanent {
			t.Errorf("HTTP %d: %v, want %s (permanent %v)", tc.code, err, tc.reason, tc.permanent)
		} else if strings.Contains(err.Error(), "tok3n-secret") {
			t.Errorf("HTTP %d: the error quotes the URL: %v", tc.code, err)
		}
	}

	// The configuration changed since the message was parsed: its origin
	// is no longer listed, and nothing is asked of it.
	m := parsedMedia(t, ch, `"kind": "image", "url": "`+site.srv.URL+`/200"`)
	before := site.requests.Load()
	_, _, err := mediaChannel(t, "https://cdn.shop.example.com").FetchMedia(context.Background(), m)
	if r, ok := channels.PermanentFetch(err); !ok || r != channels.FetchRefused {
		t.Errorf("origin no longer listed: %v, want permanently refused", err)
	}
	if site.requests.Load() != before {
		t.Error("a URL outside media_origins was fetched")
	}
}
