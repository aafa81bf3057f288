package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/channels"
	"switchboard/conversations"
	"switchboard/httperror"
)

// mediaIDFormat is conversations.MediaID's: "md_" and 12 bytes in hex.
var mediaIDFormat = regexp.MustCompile(`^md_[0-9a-f]{24}$`)

// MediaView is a message's file in a history item: url answers its bytes
// to whoever may see the conversation. Size is absent until the file is
// kept; Error says why a file could not be (too_large, not_found, ...).
type MediaView struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type,omitempty"`
	Size     *int64 `json:"size,omitempty"`
	Filename string `json:"filename,omitempty"`
	URL      string `json:"url"`
	Error    string `json:"error,omitempty"`
}

// mediaView is m as a history item carries it; nil for no file.
func mediaView(m *conversations.Media) *MediaView {
	if m == nil {
		return nil
	}
	v := &MediaView{ID: m.ID, MimeType: m.MimeType, Filename: m.Filename, URL: "/api/v1/media/" + m.ID}
	switch m.State {
	case conversations.MediaStored:
		size := m.Size
		v.Size = &size
	case conversations.MediaFailed:
		v.Error = m.Error
	case conversations.MediaPurged:
		v.Error = "purged"
	}
	return v
}

// inboundFields sets a history item's fields of what the customer sent
// besides text and file: a location, contact cards, a reaction.
func inboundFields(v *MessageView, in *channels.Inbound) {
	v.Location, v.Contacts, v.Reaction = in.Location, in.Contacts, in.Reaction
}

// getMedia answers a file's bytes to a caller who may see its
// conversation (the rule of GET /conversations/{id}); anyone else, and
// a file not kept, gets 404.
func (a *API) getMedia(c echo.Context) error {
	ctx := c.Request().Context()
	m, err := a.conv.Media(ctx, c.Param("id"))
	if errors.Is(err, conversations.ErrNotFound) {
		return httperror.Write(c, http.StatusNotFound, "not_found", "no such media")
	}
	if err != nil {
		return a.internal(c, err)
	}
	st, err := a.conv.State(ctx, m.QueryID)
	if errors.Is(err, conversations.ErrNotFound) {
		return httperror.Write(c, http.StatusNotFound, "not_found", "no such media")
	}
	if err != nil {
		return a.internal(c, err)
	}
	if ok, err := a.visible(ctx, caller(c), st, a.settingsNow(ctx)); err != nil {
		return a.internal(c, err)
	} else if !ok {
		return httperror.Write(c, http.StatusNotFound, "not_found", "no such media")
	}
	switch m.State {
	case conversations.MediaStored:
	case conversations.MediaPending:
		return httperror.Write(c, http.StatusNotFound, "media_pending", "the file is still being fetched from the provider")
	case conversations.MediaFailed:
		return httperror.Write(c, http.StatusNotFound, "media_"+m.Error, "the file could not be kept: "+m.Error)
	default:
		return httperror.Write(c, http.StatusNotFound, "media_purged", "the file was removed by retention")
	}
	h := c.Response().Header()
	ctype, inline := servedType(m.MimeType, m.Kind)
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", contentDisposition(inline, m.Filename, m.ID, m.MimeType))
	h.Set("X-Content-Type-Options", "nosniff")
	// Whatever the browser makes of the bytes, they run nothing and
	// reach nothing of this origin.
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'")
	h.Set("Cache-Control", "private, max-age=3600")
	if sha256Hex.MatchString(m.SHA256) {
		// The bytes' own hash: a strong validator, so a player resuming
		// or seeking (If-Range) never splices two different files.
		h.Set("ETag", `"`+m.SHA256+`"`)
	}
	r := c.Request()
	if strings.Contains(r.Header.Get("Range"), ",") {
		// Several ranges are answered with the whole file, as RFC 9110
		// allows: players ask for one, and each would be a read of the
		// store of its own.
		r.Header.Del("Range")
	}
	body := &mediaBody{size: m.Size, open: func(off, n int64) (io.ReadCloser, error) {
		return a.conv.OpenMediaRange(ctx, m, off, n)
	}}
	defer body.Close()
	w := &mediaWriter{ResponseWriter: c.Response(), c: c, a: a, body: body}
	http.ServeContent(w, r, "", m.StoredAt, body)
	switch {
	case w.refused:
	case body.err != nil:
		// Headers are gone: the client sees a short body.
		a.logger.WarnContext(ctx, "media file not served whole", "media", m.ID, "err", body.err)
	case r.Method == http.MethodGet && (c.Response().Status == http.StatusOK || c.Response().Status == http.StatusPartialContent):
		a.metrics.Media.Served.Inc()
	}
	return nil
}

// sha256Hex is a stored file's hash as the media row keeps it.
var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// mediaBody is a stored file of size bytes as http.ServeContent reads
// it: seeking costs nothing, and reading opens the store at the offset
// sought, so a range (a player seeking in a video) reads only its part.
type mediaBody struct {
	open func(off, n int64) (io.ReadCloser, error)
	size int64
	pos  int64
	rc   io.ReadCloser // open at pos, or nil
	// err is the store's failure, which ends the answer.
	err error
}

func (b *mediaBody) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += b.pos
	case io.SeekEnd:
		offset += b.size
	case io.SeekStart:
	default:
		return 0, errors.New("media: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("media: negative position")
	}
	if offset != b.pos {
		b.Close()
		b.pos = offset
	}
	return offset, nil
}

// ready opens the file where it will be read, or with head only checks
// it is there, so a failing store shows before a status is written.
func (b *mediaBody) ready(head bool) error {
	if head {
		rc, err := b.open(b.pos, 0)
		if err == nil {
			err = rc.Close()
		}
		return err
	}
	if b.rc == nil && b.err == nil && b.pos < b.size {
		b.rc, b.err = b.open(b.pos, b.size-b.pos)
	}
	return b.err
}

func (b *mediaBody) Read(p []byte) (int, error) {
	if b.pos >= b.size {
		return 0, io.EOF
	}
	if err := b.ready(false); err != nil {
		return 0, err
	}
	n, err := b.rc.Read(p)
	b.pos += int64(n)
	if errors.Is(err, io.EOF) && b.pos < b.size {
		err = fmt.Errorf("the store holds %d bytes of the %d recorded: %w", b.pos, b.size, io.ErrUnexpectedEOF)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		b.err = err
	}
	return n, err
}

// Close closes what the last read opened.
func (b *mediaBody) Close() error {
	if b.rc == nil {
		return nil
	}
	err := b.rc.Close()
	b.rc = nil
	return err
}

// mediaWriter is the answer http.ServeContent writes. It opens the file
// before a 200 or 206 goes out, so a failing store answers 5xx rather
// than an empty 200, and answers ServeContent's own refusals (416, 412)
// in the JSON error shape, dropping its plain-text body.
type mediaWriter struct {
	http.ResponseWriter
	c    echo.Context
	a    *API
	body *mediaBody
	// refused is set once this writer answered an error itself.
	refused bool
}

func (w *mediaWriter) WriteHeader(code int) {
	switch code {
	case http.StatusOK, http.StatusPartialContent:
		if err := w.body.ready(w.c.Request().Method == http.MethodHead); err != nil {
			w.refuse(true)
			_ = w.a.internal(w.c, err)
			return
		}
	case http.StatusRequestedRangeNotSatisfiable:
		// Content-Range (bytes */size) stays: it says what would be.
		w.refuse(false)
		_ = httperror.Write(w.c, code, "range_not_satisfiable", "the range asked for is not within the file")
		return
	case http.StatusPreconditionFailed:
		w.refuse(true)
		_ = httperror.Write(w.c, code, "precondition_failed", "the file is not the one the request's If-Match or If-Unmodified-Since names")
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

// refuse clears what was said of the file, for an error, which no cache
// keeps.
func (w *mediaWriter) refuse(contentRange bool) {
	w.refused = true
	h := w.Header()
	for _, k := range []string{"Content-Type", "Content-Length", "Content-Disposition", "Accept-Ranges", "ETag", "Last-Modified", "Cache-Control"} {
		h.Del(k)
	}
	if contentRange {
		h.Del("Content-Range")
	}
}

func (w *mediaWriter) Write(p []byte) (int, error) {
	if w.refused {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// inlineTypes are the types a browser may render in place: raster
// images, audio and video, which run nothing. Everything else (SVG,
// HTML, XML, scripts, PDFs, unknown) is served as a download.
var inlineTypes = map[string]bool{
	"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true, "image/bmp": true, "image/avif": true,
	"audio/ogg": true, "audio/mpeg": true, "audio/mp4": true, "audio/aac": true, "audio/wav": true, "audio/webm": true, "audio/amr": true,
	"video/mp4": true, "video/webm": true, "video/ogg": true, "video/3gpp": true, "video/quicktime": true,
}

// activeTypes may run script if rendered, so they are served as bytes
// only (application/octet-stream), never under their own type.
func activeType(t string) bool {
	switch {
	case t == "image/svg+xml", t == "text/html", t == "application/xhtml+xml", t == "text/xml", t == "application/xml",
		t == "text/javascript", t == "application/javascript", t == "application/x-javascript", t == "text/css",
		strings.HasSuffix(t, "+xml"), strings.HasPrefix(t, "multipart/"):
		return true
	}
	return false
}

// servedType is the Content-Type a stored file is served with, and
// whether it may be shown inline: documents are always downloads.
func servedType(stored, kind string) (string, bool) {
	t, params, err := mime.ParseMediaType(stored)
	if err != nil || t == "" || activeType(t) {
		return "application/octet-stream", false
	}
	out := mime.FormatMediaType(t, params)
	if out == "" {
		out = t
	}
	return out, kind != channels.TypeDocument && inlineTypes[t]
}

// contentDisposition is the header (RFC 6266) naming the file: its own
// name when it has one (RFC 5987's filename* for non-ASCII, beside an
// ASCII fallback), else its id with an extension of its type.
func contentDisposition(inline bool, filename, id, mimeType string) string {
	disp := "attachment"
	if inline {
		disp = "inline"
	}
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return -1
		}
		return r
	}, filename)
	if name == "" {
		name = id
		if exts, _ := mime.ExtensionsByType(mimeType); len(exts) > 0 {
			name += exts[0]
		}
	}
	ascii := strings.Map(func(r rune) rune {
		if r > 0x7e || r == '"' || r == '%' {
			return '_'
		}
		return r
	}, name)
	out := disp + `; filename="` + ascii + `"`
	if ascii != name {
		out += "; filename*=UTF-8''" + url.PathEscape(name)
	}
	return out
}
