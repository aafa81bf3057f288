package whatsmeow

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/util/cbcutil"
	"go.mau.fi/whatsmeow/util/hkdfutil"
	"google.golang.org/protobuf/proto"

	"switchboard/channels"
)

// fakeCDN stands in for WhatsApp's media servers: it serves files
// encrypted as a sender's phone uploads them (AES-CBC under keys derived
// from the message's media key, then a truncated HMAC), by path.
type fakeCDN struct {
	srv   *httptest.Server
	files map[string][]byte
	gets  atomic.Int32
}

func newFakeCDN(t *testing.T) *fakeCDN {
	f := &fakeCDN{files: map[string][]byte{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.gets.Add(1)
		b, ok := f.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// upload encrypts plain as WhatsApp does for kind and serves it at path;
// it returns the fields a message pointing to it carries.
func (f *fakeCDN) upload(t *testing.T, path string, kind wm.MediaType, plain []byte) (url string, key, encSum, sum []byte) {
	t.Helper()
	key = make([]byte, 32)
	_, _ = rand.Read(key)
	expanded := hkdfutil.SHA256(key, nil, []byte(kind), 112)
	iv, cipherKey, macKey := expanded[:16], expanded[16:48], expanded[48:80]
	enc, err := cbcutil.Encrypt(cipherKey, iv, plain)
	if err != nil {
		t.Fatal(err)
	}
	h := hmac.New(sha256.New, macKey)
	h.Write(iv)
	h.Write(enc)
	file := append(enc, h.Sum(nil)[:10]...)
	f.files[path] = file
	e, p := sha256.Sum256(file), sha256.Sum256(plain)
	return f.srv.URL + path + "?ccb=11-4&oh=token&oe=6", key, e[:], p[:]
}

// holding is a channel whose process holds a real, unconnected
// whatsmeow client: a message's URL needs no connection to download. It
// trusts the fake CDN's certificate and host as WhatsApp's.
func holding(t *testing.T, cdn *fakeCDN) *Channel {
	t.Helper()
	c := newTestChannel(t)
	dev, err := c.device(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cli := wm.NewClient(dev, nil)
	cli.SetMediaHTTPClient(cdn.srv.Client())
	c.client.Store(&senderBox{s: cli})
	c.mediaHost = func(host string) bool { return host == "127.0.0.1" }
	c.tempDir = t.TempDir()
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func fetchAll(t *testing.T, c *Channel, m *channels.Media) ([]byte, channels.FetchedInfo, error) {
	t.Helper()
	rc, info, err := c.FetchMedia(context.Background(), m)
	if err != nil {
		return nil, info, err
	}
	b, err := io.ReadAll(rc)
	if cerr := rc.Close(); cerr != nil {
		t.Errorf("close: %v", cerr)
	}
	return b, info, err
}

// A customer's document sent to a linked number is fetched by the
// message's reference alone, decrypted by whatsmeow and handed over
// byte-identical, with the size and hash the message announced; its
// temporary file is gone once closed.
func TestFetchMediaDecryptsWhatTheCustomerSent(t *testing.T) {
	cdn := newFakeCDN(t)
	c := holding(t, cdn)
	pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("boleto \x00\xff "), 5000)...)
	url, key, encSum, sum := cdn.upload(t, "/v/t62.7119-24/boleto", wm.MediaDocument, pdf)
	in, ok := Inbound("wa-linked", message("3EB0DOC", &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
		URL: proto.String(url), DirectPath: proto.String("/v/t62.7119-24/boleto?ccb=11-4"), MediaKey: key,
		FileEncSHA256: encSum, FileSHA256: sum, FileLength: proto.Uint64(uint64(len(pdf))),
		Mimetype: proto.String("application/pdf"), FileName: proto.String("boleto.pdf"), Caption: proto.String("segue"),
		JPEGThumbnail: []byte("thumbnail bytes the reference need not keep"),
	}}), received)
	if !ok || in.Media == nil || !strings.HasPrefix(in.Media.ID, refPrefix) || in.Raw != nil {
		t.Fatalf("inbound %+v: want a document whose id is a reference, and no raw copy of its keys", in)
	}
	if strings.Contains(in.Media.ID, "thumbnail") || len(in.Media.ID) > 1024 {
		t.Fatalf("reference of %d bytes keeps more than the download fields", len(in.Media.ID))
	}
	got, info, err := fetchAll(t, c, in.Media)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pdf) {
		t.Fatalf("fetched %d bytes differing from the %d sent", len(got), len(pdf))
	}
	if info.Size != int64(len(pdf)) || info.MimeType != "application/pdf" || info.SHA256 != hex.EncodeToString(sum) || info.Filename != "boleto.pdf" {
		t.Fatalf("info %+v", info)
	}
	if left, _ := os.ReadDir(c.tempDir); len(left) != 0 {
		t.Fatalf("%d temporary files left behind", len(left))
	}
}

// The size is known before any byte is fetched (the caller checks it
// against the limit), and a reader never read downloads nothing.
func TestFetchMediaDownloadsOnlyWhenRead(t *testing.T) {
	cdn := newFakeCDN(t)
	c := holding(t, cdn)
	video := bytes.Repeat([]byte{0, 0, 0, 0x18, 'f', 't', 'y', 'p'}, 1000)
	url, key, encSum, sum := cdn.upload(t, "/v/video", wm.MediaVideo, video)
	in, _ := Inbound("wa-linked", message("3EB0VID", &waE2E.Message{VideoMessage: &waE2E.VideoMessage{
		URL: proto.String(url), MediaKey: key, FileEncSHA256: encSum, FileSHA256: sum,
		FileLength: proto.Uint64(uint64(len(video))), Mimetype: proto.String("video/mp4"),
	}}), received)
	rc, info, err := c.FetchMedia(context.Background(), in.Media)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(len(video)) {
		t.Fatalf("announced size %d, want %d", info.Size, len(video))
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	if n := cdn.gets.Load(); n != 0 {
		t.Fatalf("%d downloads for a file never read", n)
	}
}

// A file WhatsApp no longer has, and one whose bytes do not match the
// message's MAC, fail for good with their reasons; a reference that is
// not one is refused; a process that does not hold the device fails the
// fetch to be retried where it does.
func TestFetchMediaFailures(t *testing.T) {
	cdn := newFakeCDN(t)
	c := holding(t, cdn)
	img := []byte("\x89PNG\r\n\x1a\n picture")
	url, key, encSum, sum := cdn.upload(t, "/v/img", wm.MediaImage, img)
	ref := func(url string, key []byte) *channels.Media {
		in, _ := Inbound("wa-linked", message("3EB0IMG", &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
			URL: proto.String(url), MediaKey: key, FileEncSHA256: encSum, FileSHA256: sum,
			FileLength: proto.Uint64(uint64(len(img))), Mimetype: proto.String("image/png"),
		}}), received)
		return in.Media
	}
	check := func(what string, m *channels.Media, reason string, permanent bool) {
		t.Helper()
		_, _, err := fetchAll(t, c, m)
		var fe *channels.FetchError
		if !errors.As(err, &fe) || fe.Reason != reason || fe.Permanent != permanent {
			t.Errorf("%s: %v, want a fetch error %s (permanent %v)", what, err, reason, permanent)
		}
		if err != nil && strings.Contains(err.Error(), "oh=token") {
			t.Errorf("%s: the error quotes the file's URL: %v", what, err)
		}
	}
	check("gone", ref(cdn.srv.URL+"/v/expired?oh=token", key), channels.FetchNotFound, true)
	wrongKey := bytes.Clone(key)
	wrongKey[0] ^= 1
	check("tampered", ref(url, wrongKey), channels.FetchCorrupt, true)
	check("not a reference", &channels.Media{ID: "3EB0IMG"}, channels.FetchRefused, true)
	// A URL off WhatsApp's media servers, as a tampered client might
	// send, is never requested.
	evil := newFakeCDN(t)
	evilURL, _, _, _ := evil.upload(t, "/latest/meta-data", wm.MediaImage, img)
	check("foreign URL", ref(strings.Replace(evilURL, "127.0.0.1", "localhost", 1), key), channels.FetchRefused, true)
	if n := evil.gets.Load(); n != 0 {
		t.Errorf("a foreign URL was requested %d times", n)
	}
	good := ref(url, key)
	c.client.Store(nil)
	check("not holding the device", good, channels.FetchUnavailable, false)
	if left, _ := os.ReadDir(c.tempDir); len(left) != 0 {
		t.Fatalf("%d temporary files left behind", len(left))
	}
}
