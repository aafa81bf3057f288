package api_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/api"
	"switchboard/auth"
	"switchboard/channels"
	"switchboard/channels/telegram"
	"switchboard/channels/twilio"
	"switchboard/channels/whatsapp"
	"switchboard/config"
	"switchboard/conversations"
	"switchboard/mediasign"
	"switchboard/routing"
	"switchboard/worker"
)

// Files as operators attach them: real magic numbers, and bytes a text
// encoding or a careless copy would mangle.
var (
	jpegFile = append([]byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F', 0}, bytes.Repeat([]byte{0, 0xff, '\r', '\n', 0x80}, 400)...)
	pdfFile  = append([]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), bytes.Repeat([]byte{0, '\r', '\n', 0xfe}, 300)...)
)

// testLimits are small media.max_bytes, so a test file can pass one.
var testLimits = config.MediaLimits{Image: 4096, Audio: 4096, Video: 4096, Document: 8192, Sticker: 1024}

// mediaSecret keys the test's signed links.
var mediaSecret = []byte("test-media-secret-0123456789")

const publicBase = "https://cs.example.com"

// fakeProvider records what a provider's API was sent.
type fakeProvider struct {
	mu   sync.Mutex
	reqs []fakeRequest
	srv  *httptest.Server
}

type fakeRequest struct {
	path   string
	header http.Header
	body   []byte
}

func newFakeProvider(t *testing.T, answer func(path string) (int, string)) *fakeProvider {
	f := &fakeProvider{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, fakeRequest{r.URL.Path, r.Header.Clone(), b})
		f.mu.Unlock()
		status, body := answer(r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProvider) all() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.reqs...)
}

// parts reads a multipart request: its text fields, and its file part's
// field name, filename and bytes.
func (r fakeRequest) parts(t *testing.T) (fields map[string]string, fileField, filename string, file []byte) {
	t.Helper()
	_, params, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("%s: Content-Type %q", r.path, r.header.Get("Content-Type"))
	}
	fields = map[string]string{}
	mr := multipart.NewReader(bytes.NewReader(r.body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", r.path, err)
		}
		b, _ := io.ReadAll(p)
		if p.FileName() != "" {
			fileField, filename, file = p.FormName(), p.FileName(), b
		} else {
			fields[p.FormName()] = string(b)
		}
	}
}

// mediaWorld is a convWorld whose API takes files, with a worker sending
// through fake Cloud API, Bot API and Twilio servers, and the signed-link
// endpoint Twilio fetches files from.
type mediaWorld struct {
	*convWorld
	graph, bot, tw *fakeProvider
	signer         *mediasign.Signer
	links          *httptest.Server
}

func newMediaWorld(t *testing.T) *mediaWorld {
	t.Helper()
	w := &mediaWorld{}
	w.convWorld = newConvWorldWith(t, func(o *api.Options) {
		o.Media = config.Media{MaxBytes: testLimits, PublicURL: publicBase}
	})
	w.graph = newFakeProvider(t, func(path string) (int, string) {
		if strings.HasSuffix(path, "/media") {
			return 200, `{"id":"4490709327384033"}`
		}
		return 200, `{"messaging_product":"whatsapp","messages":[{"id":"wamid.MEDIA"}]}`
	})
	w.bot = newFakeProvider(t, func(string) (int, string) {
		return 200, `{"ok":true,"result":{"message_id":91,"chat":{"id":5213748901,"type":"private"}}}`
	})
	w.tw = newFakeProvider(t, func(string) (int, string) {
		return 201, `{"sid":"MM00000000000000000000000000000001","status":"queued"}`
	})
	httpc := &http.Client{Timeout: 5 * time.Second}
	wa, err := whatsapp.New("wa-main", whatsapp.Config{PhoneNumberID: "100000000000001", AppSecret: "s", VerifyToken: "v",
		AccessToken: "graph-token", APIBaseURL: w.graph.srv.URL + "/v21.0"}, httpc)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := telegram.New("tg-main", telegram.Config{BotToken: "123456:ABC-bot-token", SecretToken: "tg-secret-token",
		APIBaseURL: w.bot.srv.URL}, httpc)
	if err != nil {
		t.Fatal(err)
	}
	tw, err := twilio.New("tw-main", twilio.Config{AccountSID: "AC00000000000000000000000000000001", AuthToken: "tw-token",
		From: "whatsapp:+14155238886", PublicURL: publicBase, APIBaseURL: w.tw.srv.URL}, httpc)
	if err != nil {
		t.Fatal(err)
	}
	w.signer = mediasign.New(mediaSecret, publicBase, w.clock)
	w.links = httptest.NewServer(w.signer.Handler(func(ctx context.Context, id string) (mediasign.File, error) {
		return w.conv.Service.SignedMediaFile(ctx, id)
	}, w.conv.Blobs, nil))
	t.Cleanup(w.links.Close)

	logger := slog.New(slog.DiscardHandler)
	srv := worker.NewServer(w.rdb, worker.ServerOptions{Concurrency: 2, ShutdownTimeout: 5 * time.Second, Logger: logger})
	wk := worker.New(worker.Options{Conversations: w.conv.Service, Channels: channels.Set{"wa-main": wa, "tg-main": tg, "tw-main": tw, "text-only": textOnly{}},
		Metrics: w.metrics, Logger: logger, Clock: w.clock, Audit: auth.NewAudit(w.db.Audit(), w.clock, logger),
		Blobs: w.conv.Blobs, MediaLinks: w.signer.URL})
	if err := srv.Start(wk.Mux()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return w
}

// conversationOn makes a conversation on channel, the customer from
// having written just now, assigned to Ana.
func (w *mediaWorld) conversationOn(t *testing.T, channel, kind, from string) string {
	t.Helper()
	res := w.inbound(t, &channels.Inbound{Channel: channel, Kind: kind, ID: "in-" + channel + "-" + from, From: from,
		ProfileName: "Cliente", Timestamp: w.clock.Now(), Type: channels.TypeText, Text: "oi"})
	w.decide(t, routing.Query{ID: res.QueryID, Channel: channel, State: routing.StateAssigned, Type: "sales", Assignee: w.ana.ID, Cycle: 1})
	return res.QueryID
}

// attach posts a multipart reply: caption (if any) then the file.
func (w *mediaWorld) attach(t *testing.T, id, token, caption, filename, declared string, file []byte) response {
	t.Helper()
	return w.postForm(t, "/api/v1/conversations/"+id+"/messages", token, func(mw *multipart.Writer) {
		if caption != "" {
			_ = mw.WriteField("text", caption)
		}
		writeFile(mw, filename, declared, file)
	})
}

// writeFile adds a "file" part to a form.
func writeFile(mw *multipart.Writer, filename, declared string, file []byte) {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, filename))
	h.Set("Content-Type", declared)
	p, _ := mw.CreatePart(h)
	_, _ = p.Write(file)
}

// postForm posts the multipart form write makes to path.
func (w *mediaWorld) postForm(t *testing.T, path, token string, write func(mw *multipart.Writer)) response {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	write(mw)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", w.srv.URL+path, &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(body)}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAttachedImageReachesTheCloudAPIAsAnUploadThenItsID(t *testing.T) {
	w := newMediaWorld(t)
	id := w.conversationOn(t, "wa-main", whatsapp.KindName, "5511911112001")
	r := w.attach(t, id, w.anaT, "Seu comprovante", "comprovante.jpg", "image/jpeg", jpegFile)
	if r.status != http.StatusAccepted {
		t.Fatalf("attach: %d %s", r.status, r.body)
	}
	waitFor(t, "the upload and the message", func() bool { return len(w.graph.all()) == 2 })
	up, msg := w.graph.all()[0], w.graph.all()[1]
	fields, fileField, filename, file := up.parts(t)
	if up.path != "/v21.0/100000000000001/media" || fields["messaging_product"] != "whatsapp" || fields["type"] != "image/jpeg" ||
		fileField != "file" || filename != "comprovante.jpg" || !bytes.Equal(file, jpegFile) {
		t.Fatalf("upload %s: fields %v, %s %q, %d bytes", up.path, fields, fileField, filename, len(file))
	}
	want := `{"messaging_product":"whatsapp","recipient_type":"individual","to":"5511911112001","type":"image","image":{"id":"4490709327384033","caption":"Seu comprovante"}}`
	if msg.path != "/v21.0/100000000000001/messages" || string(msg.body) != want {
		t.Fatalf("message %s %s\nwant %s", msg.path, msg.body, want)
	}

	// The history keeps the sent file, with the bytes as attached.
	var last conversations.Message
	waitFor(t, "the message sent", func() bool {
		h := w.history(t, id)
		last = h[len(h)-1]
		return last.Status == channels.StatusSent
	})
	m := last.Media
	if last.Direction != conversations.DirectionOutbound || last.Text != "Seu comprovante" || last.ProviderID != "wamid.MEDIA" || m == nil ||
		m.Kind != "image" || m.MimeType != "image/jpeg" || m.Size != int64(len(jpegFile)) || m.State != conversations.MediaStored {
		t.Fatalf("history item = %+v with %+v", last, m)
	}
	var hist struct {
		Messages []struct {
			Type, Text string
			Media      *struct {
				ID       string `json:"id"`
				MimeType string `json:"mime_type"`
				Filename string `json:"filename"`
				URL      string `json:"url"`
				Size     int64  `json:"size"`
			}
		}
	}
	w.do(t, "GET", "/api/v1/conversations/"+id+"/messages", w.anaT, nil).decode(t, &hist)
	item := hist.Messages[len(hist.Messages)-1]
	if item.Type != "image" || item.Text != "Seu comprovante" || item.Media == nil || item.Media.ID != m.ID ||
		item.Media.MimeType != "image/jpeg" || item.Media.Filename != "comprovante.jpg" || item.Media.Size != int64(len(jpegFile)) ||
		item.Media.URL != "/api/v1/media/"+m.ID {
		t.Fatalf("history item %+v with %+v, want the image with its caption and media", item, item.Media)
	}
	if got := w.do(t, "GET", item.Media.URL, w.anaT, nil); got.status != 200 || got.body != string(jpegFile) {
		t.Fatalf("GET %s: %d, %d bytes, want the file as attached", item.Media.URL, got.status, len(got.body))
	}
	f, err := w.conv.Blobs.Open(context.Background(), m.BlobKey)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if kept, _ := io.ReadAll(f); !bytes.Equal(kept, jpegFile) {
		t.Fatalf("kept %d bytes, not the file", len(kept))
	}
}

func TestAttachedDocumentReachesTelegramWithIdenticalBytes(t *testing.T) {
	w := newMediaWorld(t)
	id := w.conversationOn(t, "tg-main", telegram.KindName, "5213748901")
	if r := w.attach(t, id, w.anaT, "", `C:\Users\ana\boleto março.pdf`, "application/pdf", pdfFile); r.status != http.StatusAccepted {
		t.Fatalf("attach: %d %s", r.status, r.body)
	}
	waitFor(t, "the upload", func() bool { return len(w.bot.all()) == 1 })
	req := w.bot.all()[0]
	fields, fileField, filename, file := req.parts(t)
	if req.path != "/bot123456:ABC-bot-token/sendDocument" || fields["chat_id"] != "5213748901" || len(fields) != 1 ||
		fileField != "document" || filename != "boleto março.pdf" || !bytes.Equal(file, pdfFile) {
		t.Fatalf("%s: fields %v, %s %q, %d bytes", req.path, fields, fileField, filename, len(file))
	}
}

func TestAttachedImageReachesTwilioAsASignedLink(t *testing.T) {
	w := newMediaWorld(t)
	id := w.conversationOn(t, "tw-main", twilio.KindName, "5511911112003")
	if r := w.attach(t, id, w.anaT, "Segue a foto", "foto.jpg", "image/jpeg", jpegFile); r.status != http.StatusAccepted {
		t.Fatalf("attach: %d %s", r.status, r.body)
	}
	waitFor(t, "the send", func() bool { return len(w.tw.all()) == 1 })
	form, err := url.ParseQuery(string(w.tw.all()[0].body))
	if err != nil || form.Get("Body") != "Segue a foto" || form.Get("To") != "whatsapp:+5511911112003" {
		t.Fatalf("Twilio got %v (%v)", form, err)
	}
	link := form.Get("MediaUrl")
	path, ok := strings.CutPrefix(link, publicBase)
	if !ok || !strings.HasPrefix(path, mediasign.Path) {
		t.Fatalf("MediaUrl %q is not a signed link under the public URL", link)
	}
	// Twilio fetches the link: the bytes as attached.
	resp, err := http.Get(w.links.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, jpegFile) || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("GET the link: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	// Ten minutes later the link opens nothing, nor does a tampered one.
	tampered := path[:len(path)-3] + "AAA"
	if resp, _ := http.Get(w.links.URL + tampered); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("tampered link: %d", resp.StatusCode)
	}
	w.clock.Set(w.clock.Now().Add(mediasign.TTL))
	if resp, _ := http.Get(w.links.URL + path); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("expired link: %d", resp.StatusCode)
	}
}

func TestAttachRefusals(t *testing.T) {
	w := newMediaWorld(t)
	id := w.conversationOn(t, "wa-main", whatsapp.KindName, "5511911112004")

	big := append(append([]byte(nil), jpegFile[:16]...), make([]byte, testLimits.Image)...)
	if r := w.attach(t, id, w.anaT, "", "big.jpg", "image/jpeg", big); r.status != http.StatusRequestEntityTooLarge ||
		!strings.Contains(r.body, `"code":"too_large"`) || !strings.Contains(r.body, "4 KB") {
		t.Fatalf("an image over its limit: %d %s", r.status, r.body)
	}
	// A document may be larger than an image: the limit is the kind's.
	doc := append(append([]byte(nil), pdfFile...), make([]byte, testLimits.Image)...)
	if r := w.attach(t, id, w.anaT, "", "big.pdf", "application/pdf", doc); r.status != http.StatusAccepted {
		t.Fatalf("a document within its limit: %d %s", r.status, r.body)
	}
	for name, file := range map[string][]byte{
		"page.html": []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"),
		"logo.svg":  []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`),
		"tool.exe":  append([]byte("MZ\x90\x00"), make([]byte, 64)...),
	} {
		// Declared as an image: the bytes decide.
		if r := w.attach(t, id, w.anaT, "", name, "image/png", file); r.status != http.StatusUnsupportedMediaType {
			t.Errorf("%s: %d %s, want 415", name, r.status, r.body)
		}
	}

	// A collaborator may read but not reply.
	collab := w.createUser(t, "Col", "+5511900000009", auth.RoleCollaborator)
	colT := w.loginAs(t, collab.Phone)
	if r := w.attach(t, id, colT, "", "foto.jpg", "image/jpeg", jpegFile); r.status != http.StatusForbidden {
		t.Fatalf("collaborator: %d %s", r.status, r.body)
	}

	// Outside the window a file is refused as a text is.
	w.clock.Set(w.clock.Now().Add(24 * time.Hour))
	w.anaT = w.loginAsAfterCooldown(t, w.ana.Phone)
	if r := w.attach(t, id, w.anaT, "", "foto.jpg", "image/jpeg", jpegFile); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, `"code":"window_closed"`) {
		t.Fatalf("outside the window: %d %s", r.status, r.body)
	}

	// Only the one document was recorded, and only its file kept.
	var files int
	for _, m := range w.history(t, id) {
		if m.Media != nil {
			files++
		}
	}
	if files != 1 {
		t.Fatalf("%d files in the history, want the one accepted", files)
	}
	if n := w.blobCount(t); n != 1 {
		t.Fatalf("%d files in the store, want 1", n)
	}
}

func TestAttachNothingHalfWrittenWhenTheDatabaseFails(t *testing.T) {
	w := newMediaWorld(t)
	id := w.conversationOn(t, "wa-main", whatsapp.KindName, "5511911112005")
	rule := w.conv.Repo.FailBefore("RecordOutboundMedia", 1)
	if r := w.attach(t, id, w.anaT, "", "foto.jpg", "image/jpeg", jpegFile); r.status < 500 {
		t.Fatalf("attach with the database failing: %d %s, want 5xx", r.status, r.body)
	}
	if rule.Fired() != 1 || w.blobCount(t) != 0 {
		t.Fatalf("fired %d, %d files left in the store; want none", rule.Fired(), w.blobCount(t))
	}
	if len(w.graph.all()) != 0 {
		t.Fatal("something was sent")
	}
}

// textOnly is a channel that sends text and nothing else.
type textOnly struct{}

func (textOnly) ID() string   { return "text-only" }
func (textOnly) Kind() string { return "text_only" }
func (textOnly) SendText(context.Context, string, string) (string, error) {
	return "t-1", nil
}

func TestAFileOnAChannelThatCannotSendFilesFailsSayingSo(t *testing.T) {
	w := newMediaWorld(t)
	id := w.conversationOn(t, "text-only", "text_only", "5511911112006")
	r := w.attach(t, id, w.anaT, "", "foto.jpg", "image/jpeg", jpegFile)
	if r.status != http.StatusAccepted {
		t.Fatalf("attach: %d %s", r.status, r.body)
	}
	var msg conversations.Message
	waitFor(t, "the send to fail", func() bool {
		h := w.history(t, id)
		msg = h[len(h)-1]
		return msg.Status == channels.StatusFailed
	})
	if msg.Error == nil || !strings.Contains(msg.Error.Message, "cannot send files") {
		t.Fatalf("failed with %+v, want the reason", msg.Error)
	}
}

// blobCount is how many files the store holds.
func (w *mediaWorld) blobCount(t *testing.T) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(w.conv.BlobDir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Many text fields before the file are refused once they add up past
// what a form may hold besides its file, each one small as it is: they
// are kept in memory, so their sum is bounded, not only each field.
func TestAttachRefusesAFormOfTooManyFields(t *testing.T) {
	w := newMediaWorld(t)
	id := w.conversationOn(t, "wa-main", whatsapp.KindName, "5511911112006")
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for range 12 {
		_ = mw.WriteField("text", strings.Repeat("a", 4000))
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", w.srv.URL+"/api/v1/conversations/"+id+"/messages", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+w.anaT)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), `"code":"too_large"`) {
		t.Fatalf("12 fields of 4000 bytes: %d %s, want 413 too_large", resp.StatusCode, body)
	}
}

// A caption sent after its file (the order a form's fields come in is
// the client's) goes with the file, not dropped; a caption both before
// and after, a second file, or a template's field after its file is
// refused, and refused with nothing sent or kept although the file was
// stored by then.
func TestAttachCaptionAfterTheFile(t *testing.T) {
	w := newMediaWorld(t)
	id := w.conversationOn(t, "wa-main", whatsapp.KindName, "5511911112007")
	msgs := "/api/v1/conversations/" + id + "/messages"
	r := w.postForm(t, msgs, w.anaT, func(mw *multipart.Writer) {
		writeFile(mw, "foto.jpg", "image/jpeg", jpegFile)
		_ = mw.WriteField("text", "Legenda depois")
	})
	if r.status != http.StatusAccepted {
		t.Fatalf("caption after the file: %d %s", r.status, r.body)
	}
	waitFor(t, "the upload and the message", func() bool { return len(w.graph.all()) == 2 })
	if msg := w.graph.all()[1]; !strings.Contains(string(msg.body), `"caption":"Legenda depois"`) {
		t.Fatalf("the Cloud API got %s, want the caption", msg.body)
	}
	h := w.history(t, id)
	if last := h[len(h)-1]; last.Media == nil || last.Text != "Legenda depois" {
		t.Fatalf("history: %+v, want the file with its caption", last)
	}

	for name, c := range map[string]struct {
		path  string
		write func(mw *multipart.Writer)
		want  string
	}{
		"a caption before and after": {msgs, func(mw *multipart.Writer) {
			_ = mw.WriteField("text", "antes")
			writeFile(mw, "foto.jpg", "image/jpeg", jpegFile)
			_ = mw.WriteField("text", "depois")
		}, "one caption"},
		"a caption too long, after": {msgs, func(mw *multipart.Writer) {
			writeFile(mw, "foto.jpg", "image/jpeg", jpegFile)
			_ = mw.WriteField("text", strings.Repeat("a", 1025))
		}, "at most 1024 characters"},
		"two files": {msgs, func(mw *multipart.Writer) {
			writeFile(mw, "foto.jpg", "image/jpeg", jpegFile)
			writeFile(mw, "outra.jpg", "image/jpeg", jpegFile)
		}, `one \"file\" part`},
		"a template's parameter after its file": {"/api/v1/conversations/" + id + "/templates", func(mw *multipart.Writer) {
			_ = mw.WriteField("template", "payment_reminder")
			_ = mw.WriteField("language", "es")
			_ = mw.WriteField("params", "Ana")
			_ = mw.WriteField("params", "$120")
			writeFile(mw, "foto.jpg", "image/jpeg", jpegFile)
			_ = mw.WriteField("params", "extra")
		}, `form field \"params\" must come before the \"file\" part`},
	} {
		if r := w.postForm(t, c.path, w.anaT, c.write); r.status != http.StatusBadRequest || !strings.Contains(r.body, c.want) {
			t.Errorf("%s: %d %s, want 400 saying %s", name, r.status, r.body, c.want)
		}
	}
	var files int
	for _, m := range w.history(t, id) {
		if m.Media != nil {
			files++
		}
	}
	if files != 1 || w.blobCount(t) != 1 || len(w.graph.all()) != 2 {
		t.Fatalf("%d files in the history, %d in the store, %d requests to the Cloud API; want only the first sent and kept",
			files, w.blobCount(t), len(w.graph.all()))
	}
}

// A client that goes away in the middle of its form (its caption, its
// file's first bytes, further in) is answered 400 upload_incomplete (if
// it still listens), logged as no error, and leaves nothing: no message,
// no file in the store.
func TestAttachCutShortLeavesNothing(t *testing.T) {
	w := newMediaWorld(t)
	id := w.conversationOn(t, "wa-main", whatsapp.KindName, "5511911112008")
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("text", "Seu comprovante")
	writeFile(mw, "foto.jpg", "image/jpeg", jpegFile)
	_ = mw.Close()
	form := b.Bytes()
	file := bytes.Index(form, jpegFile[:11])
	for _, cut := range []int{bytes.Index(form, []byte("comprovante")), file + 100, file + 1500} {
		// The request says its whole length but stops at cut, then the
		// client closes its side.
		conn, err := net.Dial("tcp", w.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /api/v1/conversations/%s/messages HTTP/1.1\r\nHost: switchboard\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: %s\r\nContent-Length: %d\r\n\r\n", id, w.anaT, mw.FormDataContentType(), len(form))
		if _, err := conn.Write(form[:cut]); err != nil {
			t.Fatal(err)
		}
		if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("cut at %d: no answer: %v", cut, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"code":"upload_incomplete"`) {
			t.Fatalf("a body cut at %d of %d: %d %s, want 400 upload_incomplete", cut, len(form), resp.StatusCode, body)
		}
	}
	for _, m := range w.history(t, id) {
		if m.Direction == conversations.DirectionOutbound {
			t.Fatalf("a message was recorded: %+v", m)
		}
	}
	if n := w.blobCount(t); n != 0 {
		t.Fatalf("%d files left in the store, want none", n)
	}
	if !strings.Contains(w.logs.String(), `"level":"INFO","msg":"upload incomplete`) {
		t.Error("the cut uploads were not logged at info")
	}
	for _, line := range strings.Split(w.logs.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("logged as an error: %s", line)
		}
		if strings.Contains(line, "comprovante") || strings.Contains(line, "JFIF") {
			t.Errorf("the body in a log line: %s", line)
		}
	}
	if len(w.graph.all()) != 0 {
		t.Fatal("something was sent")
	}
}
