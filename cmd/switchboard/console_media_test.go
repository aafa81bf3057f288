package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// graphMedia is the media half of the fake Graph API: GET /{media-id}
// answers a download URL on the fake, which answers the file's bytes;
// POST /{phone-number-id}/media keeps the uploaded file and answers its
// media id. All only with the rig's access token, as Meta requires.
type graphMedia struct {
	mu      sync.Mutex
	files   map[string]graphFile
	uploads []graphUpload
	held    map[string]chan struct{} // media ids whose GET waits until closed
}

type graphFile struct {
	mime string
	data []byte
}

// graphUpload is a file an operator's reply uploaded.
type graphUpload struct {
	id, filename, mime, typ string
	data                    []byte
}

// hold makes GET /{id} wait until the returned func is called.
func (m *graphMedia) hold(id string) (release func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.held == nil {
		m.held = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	m.held[id] = ch
	return sync.OnceFunc(func() { close(ch) })
}

// add serves data as the media id.
func (m *graphMedia) add(id, mime string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.files == nil {
		m.files = map[string]graphFile{}
	}
	m.files[id] = graphFile{mime: mime, data: data}
}

func (m *graphMedia) received() []graphUpload {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]graphUpload(nil), m.uploads...)
}

// serve answers r when it is a media request, and reports whether it was.
func (m *graphMedia) serve(w http.ResponseWriter, r *http.Request, base string) bool {
	id, download := strings.CutPrefix(r.URL.Path, "/dl/")
	upload := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/media")
	if !download && r.Method == http.MethodGet {
		id = r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		m.mu.Lock()
		held := m.held[id]
		m.mu.Unlock()
		if held != nil {
			select {
			case <-held:
			case <-r.Context().Done():
				return true
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	f, known := m.files[id]
	if !upload && !known {
		return false
	}
	if r.Header.Get("Authorization") != "Bearer graph-token" {
		http.Error(w, `{"error":{"message":"no token"}}`, http.StatusUnauthorized)
		return true
	}
	switch {
	case upload:
		file, hdr, err := r.FormFile("file")
		if err != nil {
			http.Error(w, `{"error":{"message":"no file"}}`, http.StatusBadRequest)
			return true
		}
		data, _ := io.ReadAll(file)
		up := graphUpload{id: fmt.Sprintf("upload-%d", len(m.uploads)+1), filename: hdr.Filename,
			mime: hdr.Header.Get("Content-Type"), typ: r.FormValue("type"), data: data}
		m.uploads = append(m.uploads, up)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q}`, up.id)
	case download:
		w.Header().Set("Content-Type", f.mime)
		_, _ = w.Write(f.data)
	default:
		sum := sha256.Sum256(f.data)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"url": base + "/dl/" + id, "mime_type": f.mime,
			"sha256": hex.EncodeToString(sum[:]), "file_size": len(f.data), "id": id, "messaging_product": "whatsapp"})
	}
	return true
}

// sendsMedia posts, as a signed webhook, a message from c of typ (image,
// document, ...) whose object is media, as the Cloud API writes it.
func (r *rig) sendsMedia(c customer, typ string, media map[string]string) string {
	r.t.Helper()
	msgSeq.Lock()
	msgSeq.n++
	id := fmt.Sprintf("wamid.in.%d.%d", time.Now().UnixNano(), msgSeq.n)
	msgSeq.Unlock()
	obj, _ := json.Marshal(media)
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"100000000000001"},"contacts":[{"profile":{"name":"` + c.name + `"},"wa_id":"` + c.phone + `"}],"messages":[{"from":"` + c.phone + `","id":"` + id + `","timestamp":"` + nowTS() + `","type":"` + typ + `","` + typ + `":` + string(obj) + `}]}}]}]}`)
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	if code := post(r.t, r.base+"/webhooks/wa-main", body, "sha256="+hex.EncodeToString(mac.Sum(nil))); code != http.StatusOK {
		r.t.Fatalf("webhook with a %s from %s = %d", typ, c.name, code)
	}
	return id
}

// historyMedia is a history item's file as the API shows it.
type historyMedia struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	Size     *int64 `json:"size"`
	Filename string `json:"filename"`
	URL      string `json:"url"`
	Error    string `json:"error"`
}

// fetched waits until the worker kept the file of each of the messages
// ids in conversation conv, and returns the files by message id.
func (r *rig) fetched(conv string, ids ...string) map[string]historyMedia {
	r.t.Helper()
	got := map[string]historyMedia{}
	eventually(r.t, "the files fetched from the Graph API", func() bool {
		var page struct {
			Messages []struct {
				ID    string        `json:"id"`
				Media *historyMedia `json:"media"`
			} `json:"messages"`
		}
		apiJSON(r.t, "GET", r.base+"/api/v1/conversations/"+conv+"/messages?limit=50", r.token, nil, http.StatusOK, &page)
		for _, m := range page.Messages {
			if m.Media != nil && m.Media.Error != "" {
				r.t.Fatalf("the file of %s could not be kept: %s", m.ID, m.Media.Error)
			}
			if m.Media != nil && m.Media.Size != nil {
				got[m.ID] = *m.Media
			}
		}
		for _, id := range ids {
			if _, ok := got[id]; !ok {
				return false
			}
		}
		return true
	})
	return got
}

// picture is a real 4x3 PNG.
func picture(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	for x := range 4 {
		img.Set(x, 1, color.RGBA{G: 200, A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pdf is a small document that sniffs as a PDF.
func pdf(title string) []byte {
	return []byte("%PDF-1.4\n1 0 obj << /Title (" + title + ") >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
}

// A customer's photo shows inline in the conversation, its bytes loaded
// through the API with the operator's cookie session, replacing live its
// "loading" placeholder when the worker fetches it after the message is
// shown; their PDF is a
// download link with its filename that answers the document; and a file
// the operator attaches in the composer reaches the Graph API as an
// upload with the very bytes chosen, sent as a document with its name
// and caption, and shows in the history as sent.
func TestConsoleShowsInboundMediaAndSendsAttachment(t *testing.T) {
	t.Parallel()
	r := newRig(t, consoleSettings)
	pic, invoice := picture(t), pdf("invoice 2031")
	r.graph.media.add("media-img-1", "image/png", pic)
	r.graph.media.add("media-pdf-1", "application/pdf", invoice)
	// The photo is fetched only once its message is shown, to see it
	// replace the placeholder live.
	release := r.graph.media.hold("media-img-1")
	t.Cleanup(release)

	b, _ := r.openAs("ana")
	b.do("see the pool", seeHeading("Pool"))
	lia := customer{phone: "5511900000131", name: "Lia Cliente"}
	imgMsg := r.sendsMedia(lia, "image", map[string]string{"id": "media-img-1", "mime_type": "image/png", "caption": "comprovante"})
	pdfMsg := r.sendsMedia(lia, "document", map[string]string{"id": "media-pdf-1", "mime_type": "application/pdf", "filename": "invoice-2031.pdf"})
	conv := r.conversationOf(lia)
	r.fetched(conv.ID, pdfMsg)

	// The inbox redraws its list as the files' fetches are announced, and
	// a click on a row being replaced goes nowhere: click again, as a
	// person would, until the conversation opens.
	for i := 0; ; i++ {
		b.do("open Lia's conversation", clickOn(locate("link", lia.name, "", true)))
		opened := false
		for range 30 {
			if opened = evalIn[bool](b, "read the address", fmt.Sprintf(`location.hash.includes(%q)`, conv.ID)); opened {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if opened || i == 2 {
			break
		}
	}
	b.do("see the photo's caption, its file still loading", seeText("comprovante"), seeText("Loading the file…"))
	claimIfOffered(b)
	b.do("mark the page, to tell a reload", chromedp.Evaluate[chromedp.Void](`window.__e2eNoReload = true`))
	release()
	files := r.fetched(conv.ID, imgMsg, pdfMsg)

	photo := chromedp.JSPath(`document.querySelector('img[alt="comprovante"]')`)
	b.do("see the photo", chromedp.WaitVisible(photo),
		chromedp.Evaluate[chromedp.Void](string(photo)+`.scrollIntoView()`),
		chromedp.WaitVisible(chromedp.JSPath(`[...document.querySelectorAll('img[alt="comprovante"]')].find((i) => i.complete && i.naturalWidth > 0)`)))
	if !evalIn[bool](b, "check the page was not reloaded", `window.__e2eNoReload === true`) {
		t.Error("the page was reloaded: the photo did not replace its placeholder live")
	}
	if w := evalIn[int](b, "read the photo's width", string(photo)+`.naturalWidth`); w != 4 {
		t.Errorf("the photo shows %d pixels wide, want the 4 of the customer's picture", w)
	}
	if src := evalIn[string](b, "read the photo's address", string(photo)+`.getAttribute('src')`); src != files[imgMsg].URL || !strings.HasPrefix(src, "/api/v1/media/") {
		t.Errorf("the photo loads from %q, want the API's %q", src, files[imgMsg].URL)
	}

	doc := locate("link", "invoice-2031.pdf", "", true)
	b.do("see the document's download link", chromedp.WaitVisible(doc))
	if got := evalIn[string](b, "read the link's download name", `(`+string(doc)+`).getAttribute('download')`); got != "invoice-2031.pdf" {
		t.Errorf("the link downloads as %q, want invoice-2031.pdf", got)
	}
	// What the link answers, read as the browser would download it: with
	// the page's cookie session and nothing else.
	got := evalIn[string](b, "follow the link", `(() => { const x = new XMLHttpRequest();
  x.open('GET', (`+string(doc)+`).href, false); x.send();
  return x.status + ' ' + x.getResponseHeader('Content-Type') + ' ' + x.responseText; })()`)
	if want := "200 application/pdf " + string(invoice); got != want {
		t.Errorf("the download link answers %q, want %q", got, want)
	}

	// The operator attaches a PDF of their own and sends it with a caption.
	receipt := pdf("receipt for Lia")
	path := filepath.Join(t.TempDir(), "receipt.pdf")
	if err := os.WriteFile(path, receipt, 0o600); err != nil {
		t.Fatal(err)
	}
	skip := len(r.graph.all())
	b.do("choose the file", chromedp.SetUploadFiles(chromedp.JSPath(`document.querySelector(".composer input[type=file]")`), []string{path}),
		seeText("receipt.pdf"))
	b.do("write a caption and send", fill("Message", "Here is your receipt"), click("button", "Send"))
	var up graphUpload
	eventually(t, "the file at the Graph API", func() bool {
		ups := r.graph.media.received()
		if len(ups) > 0 {
			up = ups[0]
		}
		return len(ups) > 0
	})
	if !bytes.Equal(up.data, receipt) || up.filename != "receipt.pdf" || up.typ != "application/pdf" {
		t.Errorf("the Graph API got %q (%d bytes, type %q), want receipt.pdf's %d bytes as application/pdf",
			up.filename, len(up.data), up.typ, len(receipt))
	}
	eventually(t, "the document message at the Graph API", func() bool {
		_, ok := r.graph.find(skip, `"to":"`+lia.phone+`"`, `"type":"document"`, `"id":"`+up.id+`"`, `"filename":"receipt.pdf"`, `"caption":"Here is your receipt"`)
		return ok
	})
	b.do("see the document sent in the history", outbound("Here is your receipt", "sent", "Sent"),
		chromedp.WaitVisible(locate("link", "receipt.pdf", "", true)))
	if n := len(r.graph.media.received()); n != 1 {
		t.Errorf("the file was uploaded %d times, want once", n)
	}
}
