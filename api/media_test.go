package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/api"
	"switchboard/auth"
	"switchboard/blob"
	"switchboard/channels"
	"switchboard/channels/whatsapp"
	"switchboard/conversations"
	"switchboard/queue"
	"switchboard/routing"
)

// fakeGraph is a Cloud API fake serving media files: GET /{media-id}
// answers the file's URL on the fake, which answers the bytes, both only
// with the access token.
type fakeGraph struct {
	srv       *httptest.Server
	files     map[string][]byte
	types     map[string]string
	downloads atomic.Int32
}

func newFakeGraph(t *testing.T) *fakeGraph {
	f := &fakeGraph{files: map[string][]byte{}, types: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer graph-token" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		if id, ok := strings.CutPrefix(r.URL.Path, "/dl/"); ok {
			f.downloads.Add(1)
			w.Header().Set("Content-Type", f.types[id])
			_, _ = w.Write(f.files[id])
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/")
		b, ok := f.files[id]
		if !ok {
			http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
			return
		}
		sum := sha256.Sum256(b)
		_ = json.NewEncoder(w).Encode(map[string]any{"url": f.srv.URL + "/dl/" + id, "mime_type": f.types[id],
			"sha256": hex.EncodeToString(sum[:]), "file_size": len(b), "id": id})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGraph) channel(t *testing.T) *whatsapp.Channel {
	ch, err := whatsapp.New("wa-main", whatsapp.Config{PhoneNumberID: "1", AppSecret: "s", VerifyToken: "v",
		AccessToken: "graph-token", APIBaseURL: f.srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// pngBytes is a real PNG: a 2x2 picture.
func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func mediaMessage(id, typ, mediaID, mimeType, filename string) *channels.Inbound {
	return &channels.Inbound{Channel: "wa-main", Kind: "whatsapp_cloud", ID: id, From: "5511911110001", ProfileName: "Cliente",
		Type: typ, Text: "comprovante", Media: &channels.Media{ID: mediaID, MimeType: mimeType, Filename: filename}}
}

func limits(kind string) int64 {
	if kind == channels.TypeSticker {
		return 1024
	}
	return 1 << 20
}

// applyMedia applies m through the service, as the inbound worker does,
// and returns the file's id after checking its fetch was queued.
func (w *convWorld) applyMedia(t *testing.T, m *channels.Inbound) (conversations.InboundResult, string) {
	t.Helper()
	m.Timestamp = w.clock.Now()
	body, _ := json.Marshal(m)
	res, err := w.conv.Service.ApplyInbound(context.Background(), m, body)
	if err != nil {
		t.Fatal(err)
	}
	id := conversations.MediaID(res.ContactID, m.ID)
	tasks, err := w.conv.Inspector.ListPendingTasks(queue.QueueInbound)
	if err != nil {
		t.Fatal(err)
	}
	queued := false
	for _, ti := range tasks {
		if ti.Type == queue.TypeMediaFetch && strings.Contains(string(ti.Payload), id) {
			queued = true
		}
	}
	if !queued {
		t.Fatalf("no media:fetch task queued for %s", id)
	}
	return res, id
}

func (w *convWorld) mediaItem(t *testing.T, queryID, msgID string) *api.MediaView {
	t.Helper()
	for _, m := range w.historyPage(t, w.anaT, queryID, "").Messages {
		if m.ID == msgID {
			return m.Media
		}
	}
	t.Fatalf("message %s not in the history", msgID)
	return nil
}

func (w *convWorld) getMedia(t *testing.T, token, id string) (*http.Response, []byte) {
	t.Helper()
	return w.requestMedia(t, "GET", token, id)
}

// requestMedia asks for a file with method and headers given as name,
// value pairs.
func (w *convWorld) requestMedia(t *testing.T, method, token, id string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, w.srv.URL+"/api/v1/media/"+id, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// A customer's photo is fetched from the Cloud API by the worker's task
// and answered by GET /media/{id}, byte-identical, inline, to an operator
// who may see the conversation; not to one who may not, nor without a
// session.
func TestInboundImageIsFetchedAndServed(t *testing.T) {
	w := newConvWorld(t)
	g := newFakeGraph(t)
	pic := pngBytes(t)
	g.files["media-1"], g.types["media-1"] = pic, "image/png"
	res, id := w.applyMedia(t, mediaMessage("wamid.img1", channels.TypeImage, "media-1", "image/png", ""))

	before := w.mediaItem(t, res.QueryID, "wamid.img1")
	if before == nil || before.ID != id || before.Size != nil || before.URL != "/api/v1/media/"+id || before.Error != "" {
		t.Fatalf("history before the fetch: %+v, want the file without size", before)
	}
	if resp, _ := w.getMedia(t, w.anaT, id); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET before the fetch: %d, want 404 (pending)", resp.StatusCode)
	}

	if err := w.conv.Service.FetchMedia(context.Background(), id, g.channel(t), limits, false); err != nil {
		t.Fatal(err)
	}
	after := w.mediaItem(t, res.QueryID, "wamid.img1")
	if after.Size == nil || *after.Size != int64(len(pic)) || after.MimeType != "image/png" {
		t.Fatalf("history after the fetch: %+v, want size %d, image/png", after, len(pic))
	}
	resp, b := w.getMedia(t, w.anaT, id)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(b, pic) {
		t.Fatalf("GET media: %d, %d bytes; want 200 and the %d bytes sent", resp.StatusCode, len(b), len(pic))
	}
	for k, want := range map[string]string{"Content-Type": "image/png", "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "inline") {
		t.Errorf("Content-Disposition %q, want inline for a PNG", cd)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox") {
		t.Errorf("Content-Security-Policy %q, want sandbox", csp)
	}
	// carla serves claims only: the sales pool is not hers.
	if resp, _ := w.getMedia(t, w.carlaT, id); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET by an operator who may not see it: %d, want 404", resp.StatusCode)
	}
	if resp, _ := w.getMedia(t, "", id); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET without a session: %d, want 401", resp.StatusCode)
	}
	if resp, _ := w.getMedia(t, w.anaT, "md_000000000000000000000000"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET of no such file: %d, want 404", resp.StatusCode)
	}
	// The task again (a retry, a redelivery) fetches nothing more.
	if err := w.conv.Service.FetchMedia(context.Background(), id, g.channel(t), limits, false); err != nil {
		t.Fatal(err)
	}
	if n := g.downloads.Load(); n != 1 {
		t.Errorf("%d downloads, want 1", n)
	}
	if n := testutil.ToFloat64(w.metrics.Media.Fetches.WithLabelValues("wa-main", "stored")); n != 1 {
		t.Errorf("stored fetches %v, want 1", n)
	}
	if n := testutil.ToFloat64(w.metrics.Media.BytesStored.WithLabelValues("wa-main")); n != float64(len(pic)) {
		t.Errorf("bytes stored %v, want %d", n, len(pic))
	}
}

// A file larger than its kind's limit, and one the provider no longer
// has, are marked failed at once (no retry) and say why in the history.
func TestMediaTooLargeOrGoneFailsForGood(t *testing.T) {
	w := newConvWorld(t)
	g := newFakeGraph(t)
	g.files["big"], g.types["big"] = bytes.Repeat([]byte("x"), 2048), "image/webp"
	res, big := w.applyMedia(t, mediaMessage("wamid.big", channels.TypeSticker, "big", "image/webp", ""))
	_, gone := w.applyMedia(t, mediaMessage("wamid.gone", channels.TypeImage, "nope", "image/jpeg", ""))
	for _, id := range []string{big, gone} {
		if err := w.conv.Service.FetchMedia(context.Background(), id, g.channel(t), limits, false); err != nil {
			t.Fatalf("fetch %s: %v, want nil (failed for good, not retried)", id, err)
		}
	}
	if m := w.mediaItem(t, res.QueryID, "wamid.big"); m.Error != "too_large" || m.Size != nil {
		t.Errorf("too large: %+v, want error too_large", m)
	}
	if m := w.mediaItem(t, res.QueryID, "wamid.gone"); m.Error != "not_found" {
		t.Errorf("gone: %+v, want error not_found", m)
	}
	resp, b := w.getMedia(t, w.anaT, big)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "media_too_large") {
		t.Errorf("GET of a too large file: %d %s, want 404 media_too_large", resp.StatusCode, b)
	}
	if n := testutil.ToFloat64(w.metrics.Media.Fetches.WithLabelValues("wa-main", "too_large")); n != 1 {
		t.Errorf("too_large fetches %v, want 1", n)
	}
	if n := testutil.ToFloat64(w.metrics.Media.Fetches.WithLabelValues("wa-main", "failed")); n != 1 {
		t.Errorf("failed fetches %v, want 1", n)
	}
}

// An SVG a customer sends is never rendered: it is served as bytes, an
// attachment; a PDF keeps its type and its name, as a download.
func TestActiveContentAndDocumentsAreDownloads(t *testing.T) {
	w := newConvWorld(t)
	g := newFakeGraph(t)
	svg := []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	pdf := []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
	g.files["svg"], g.types["svg"] = svg, "image/svg+xml"
	g.files["pdf"], g.types["pdf"] = pdf, "application/pdf"
	_, svgID := w.applyMedia(t, mediaMessage("wamid.svg", channels.TypeImage, "svg", "image/svg+xml", ""))
	_, pdfID := w.applyMedia(t, mediaMessage("wamid.pdf", channels.TypeDocument, "pdf", "application/pdf", "recibo março.pdf"))
	for _, id := range []string{svgID, pdfID} {
		if err := w.conv.Service.FetchMedia(context.Background(), id, g.channel(t), limits, false); err != nil {
			t.Fatal(err)
		}
	}
	resp, b := w.getMedia(t, w.anaT, svgID)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(b, svg) {
		t.Fatalf("GET svg: %d", resp.StatusCode)
	}
	if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); ct != "application/octet-stream" || !strings.HasPrefix(cd, "attachment") {
		t.Errorf("svg served as %q, %q; want application/octet-stream, attachment", ct, cd)
	}
	resp, b = w.getMedia(t, w.anaT, pdfID)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(b, pdf) {
		t.Fatalf("GET pdf: %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("pdf Content-Type %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="recibo mar_o.pdf"; filename*=UTF-8''recibo%20mar%C3%A7o.pdf` {
		t.Errorf("pdf Content-Disposition %q", cd)
	}
}

// Erasing a customer deletes their files from the store.
func TestErasureDeletesFiles(t *testing.T) {
	w := newConvWorld(t)
	g := newFakeGraph(t)
	g.files["m"], g.types["m"] = pngBytes(t), "image/png"
	res, id := w.applyMedia(t, mediaMessage("wamid.e", channels.TypeImage, "m", "image/png", ""))
	if err := w.conv.Service.FetchMedia(context.Background(), id, g.channel(t), limits, false); err != nil {
		t.Fatal(err)
	}
	key := conversations.MediaBlobKey(res.ContactID, id)
	if rc, err := w.conv.Blobs.Open(context.Background(), key); err != nil {
		t.Fatalf("file before erasure: %v", err)
	} else {
		rc.Close()
	}
	admin := w.createUser(t, "Admin", "+5511900000009", auth.RoleAdmin)
	w.decide(t, routing.Query{ID: res.QueryID, Channel: "wa-main", State: routing.StateClosed, Type: "sales", Resolution: "solved", Cycle: 1})
	if r := w.do(t, "POST", "/api/v1/contacts/"+res.ContactID+"/erase", w.loginAs(t, admin.Phone), nil); r.status != http.StatusOK {
		t.Fatalf("erase: %d %s", r.status, r.body)
	}
	if _, err := w.conv.Blobs.Open(context.Background(), key); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("file after erasure: %v, want ErrNotFound", err)
	}
	if resp, _ := w.getMedia(t, w.supT, id); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET after erasure: %d, want 404", resp.StatusCode)
	}
}

// A provider failing is retried (the task's error), and on the last
// retry the file is marked unavailable instead of retried for ever.
func TestMediaRetriesThenGivesUp(t *testing.T) {
	w := newConvWorld(t)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	ch, err := whatsapp.New("wa-main", whatsapp.Config{PhoneNumberID: "1", AppSecret: "s", VerifyToken: "v",
		AccessToken: "graph-token", APIBaseURL: down.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, id := w.applyMedia(t, mediaMessage("wamid.r", channels.TypeImage, "m", "image/png", ""))
	if err := w.conv.Service.FetchMedia(context.Background(), id, ch, limits, false); err == nil {
		t.Fatal("a provider answering 503: no error, want one (retried)")
	}
	if m := w.mediaItem(t, res.QueryID, "wamid.r"); m.Error != "" || m.Size != nil {
		t.Fatalf("after a failed attempt: %+v, want still pending", m)
	}
	if err := w.conv.Service.FetchMedia(context.Background(), id, ch, limits, true); err != nil {
		t.Fatalf("last attempt: %v, want nil (given up)", err)
	}
	if m := w.mediaItem(t, res.QueryID, "wamid.r"); m.Error != "unavailable" {
		t.Fatalf("after the last attempt: %+v, want error unavailable", m)
	}
	if n := testutil.ToFloat64(w.metrics.Media.Fetches.WithLabelValues("wa-main", "retry")); n != 1 {
		t.Errorf("retry fetches %v, want 1", n)
	}
}

// mp4Bytes is the start of an MP4 (an ftyp box) and size bytes in all.
func mp4Bytes(size int) []byte {
	b := []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
	for i := len(b); i < size; i++ {
		b = append(b, byte(i*7+i/251))
	}
	return b
}

// A customer's video plays in a browser, which seeks with ranges (Safari
// plays nothing without them): HEAD says the size, a range answers 206
// with exactly its bytes, If-Range and If-None-Match go by the file's
// SHA-256, a range past the end is 416, and every answer keeps the
// safety headers and the rule of who may see the file.
func TestMediaAnswersHEADAndRanges(t *testing.T) {
	w := newConvWorld(t)
	g := newFakeGraph(t)
	video := mp4Bytes(200_000)
	g.files["v"], g.types["v"] = video, "video/mp4"
	res, id := w.applyMedia(t, mediaMessage("wamid.vid", channels.TypeVideo, "v", "video/mp4", ""))
	if err := w.conv.Service.FetchMedia(context.Background(), id, g.channel(t), limits, false); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(video)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	size := strconv.Itoa(len(video))
	safe := func(what string, resp *http.Response) {
		t.Helper()
		for k, want := range map[string]string{"Content-Type": "video/mp4", "X-Content-Type-Options": "nosniff",
			"Cache-Control": "private, max-age=3600", "ETag": etag, "Accept-Ranges": "bytes"} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s: %s %q, want %q", what, k, got, want)
			}
		}
		if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "inline") {
			t.Errorf("%s: Content-Disposition %q, want inline", what, cd)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox") {
			t.Errorf("%s: Content-Security-Policy %q, want sandbox", what, csp)
		}
	}
	served := func() float64 { return testutil.ToFloat64(w.metrics.Media.Served) }

	resp, b := w.requestMedia(t, "HEAD", w.anaT, id)
	if resp.StatusCode != http.StatusOK || len(b) != 0 || resp.Header.Get("Content-Length") != size {
		t.Fatalf("HEAD: %d, Content-Length %q, %d bytes; want 200, %s, none", resp.StatusCode, resp.Header.Get("Content-Length"), len(b), size)
	}
	safe("HEAD", resp)

	resp, b = w.requestMedia(t, "GET", w.anaT, id)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(b, video) {
		t.Fatalf("GET: %d, %d bytes; want 200 and the file", resp.StatusCode, len(b))
	}
	safe("GET", resp)

	for _, c := range []struct {
		rng, contentRange string
		want              []byte
	}{
		{"bytes=1000-1999", "bytes 1000-1999/" + size, video[1000:2000]},
		{"bytes=150000-", "bytes 150000-199999/" + size, video[150000:]},
		{"bytes=-500", "bytes 199500-199999/" + size, video[199500:]},
		{"bytes=199990-300000", "bytes 199990-199999/" + size, video[199990:]},
		{"bytes=0-0", "bytes 0-0/" + size, video[:1]},
	} {
		resp, b := w.requestMedia(t, "GET", w.anaT, id, "Range", c.rng)
		if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != c.contentRange || !bytes.Equal(b, c.want) {
			t.Fatalf("Range %s: %d, Content-Range %q, %d bytes; want 206, %q, the %d bytes there",
				c.rng, resp.StatusCode, resp.Header.Get("Content-Range"), len(b), c.contentRange, len(c.want))
		}
		safe("Range "+c.rng, resp)
	}
	resp, b = w.requestMedia(t, "HEAD", w.anaT, id, "Range", "bytes=100-199")
	if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != "bytes 100-199/"+size || len(b) != 0 {
		t.Fatalf("HEAD with a range: %d, Content-Range %q", resp.StatusCode, resp.Header.Get("Content-Range"))
	}
	safe("HEAD with a range", resp)
	if n := served(); n != 6 {
		t.Errorf("served %v, want 6 (the GET and its ranges, not the HEADs)", n)
	}

	// A range past the end, in the JSON error shape.
	resp, b = w.requestMedia(t, "GET", w.anaT, id, "Range", "bytes="+size+"-")
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable || resp.Header.Get("Content-Range") != "bytes */"+size ||
		!strings.Contains(string(b), `"code":"range_not_satisfiable"`) {
		t.Fatalf("a range past the end: %d, Content-Range %q, %s; want 416 range_not_satisfiable", resp.StatusCode, resp.Header.Get("Content-Range"), b)
	}
	// Several ranges: the whole file (players ask for one).
	if resp, b := w.requestMedia(t, "GET", w.anaT, id, "Range", "bytes=0-9,100-109"); resp.StatusCode != http.StatusOK || !bytes.Equal(b, video) {
		t.Fatalf("two ranges: %d, %d bytes; want 200 and the whole file", resp.StatusCode, len(b))
	}
	// If-Range: the same file resumes, another one comes whole.
	if resp, b := w.requestMedia(t, "GET", w.anaT, id, "Range", "bytes=10-19", "If-Range", etag); resp.StatusCode != http.StatusPartialContent || !bytes.Equal(b, video[10:20]) {
		t.Fatalf("If-Range with its ETag: %d, %d bytes; want 206 and the range", resp.StatusCode, len(b))
	}
	if resp, b := w.requestMedia(t, "GET", w.anaT, id, "Range", "bytes=10-19", "If-Range", `"other"`); resp.StatusCode != http.StatusOK || !bytes.Equal(b, video) {
		t.Fatalf("If-Range with another ETag: %d, %d bytes; want 200 and the whole file", resp.StatusCode, len(b))
	}
	if resp, b := w.requestMedia(t, "GET", w.anaT, id, "If-None-Match", etag); resp.StatusCode != http.StatusNotModified || len(b) != 0 {
		t.Fatalf("If-None-Match with its ETag: %d, %d bytes; want 304", resp.StatusCode, len(b))
	}

	// Who may not see the file learns nothing, ranges or not.
	for _, method := range []string{"GET", "HEAD"} {
		if resp, b := w.requestMedia(t, method, w.carlaT, id, "Range", "bytes=0-9"); resp.StatusCode != http.StatusNotFound || bytes.Contains(b, video[:10]) {
			t.Errorf("%s with a range by an operator who may not see it: %d, want 404", method, resp.StatusCode)
		}
		if resp, _ := w.requestMedia(t, method, "", id, "Range", "bytes=0-9"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s with a range without a session: %d, want 401", method, resp.StatusCode)
		}
	}

	// A store that lost the file answers 5xx, not an empty 200 or 206.
	if err := w.conv.Blobs.Delete(context.Background(), conversations.MediaBlobKey(res.ContactID, id)); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]string{{"GET"}, {"GET", "Range", "bytes=100-"}, {"HEAD"}} {
		resp, b := w.requestMedia(t, c[0], w.anaT, id, c[1:]...)
		if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Cache-Control") != "" || resp.Header.Get("ETag") != "" {
			t.Errorf("%v of a file the store lost: %d, Cache-Control %q, ETag %q; want 500, uncached", c, resp.StatusCode,
				resp.Header.Get("Cache-Control"), resp.Header.Get("ETag"))
		}
		if c[0] == "GET" && !strings.Contains(string(b), `"code":"internal"`) {
			t.Errorf("%v of a file the store lost: %s, want the JSON error", c, b)
		}
	}
}
