package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"switchboard/channels"
	"switchboard/config"
	"switchboard/conversations"
	"switchboard/httperror"
)

// multipartOverhead is what a reply's form may hold besides its file:
// the caption, the part headers, the boundaries.
const multipartOverhead = 64 << 10

// maxCaption bounds a file's caption, WhatsApp's and Telegram's limit.
const maxCaption = 1024

// isMultipart reports whether r's body is a multipart form.
func isMultipart(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

// fileRoutes are the routes whose multipart bodies limitBody leaves to
// their handlers, which cap them per kind of file while streaming them.
var fileRoutes = map[string]bool{
	"/api/v1/conversations/:id/messages":  true,
	"/api/v1/conversations/:id/templates": true,
}

// errTooLarge fails a file larger than its kind's media.max_bytes.
var errTooLarge = errors.New("file too large")

// capReader fails with errTooLarge once more than max bytes were read,
// so the blob store's atomic Put keeps nothing of a file too large.
type capReader struct {
	r   io.Reader
	max int64
	n   int64
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return n, errTooLarge
	}
	return n, err
}

// uploadTime is how long a file's request may take to arrive: the
// server's read timeout is for small JSON bodies.
const uploadTime = 10 * time.Minute

// withFormFile reads a multipart form's text fields (only those named in
// fields; each up to maxField bytes), up to its "file" part, which must
// come last, and hands both to send. The body is capped at the largest
// file any kind may be.
func (a *API) withFormFile(c echo.Context, fields []string, send func(form url.Values, file *multipart.Part) error) error {
	r := c.Request()
	limits := a.media.MaxBytes
	largest := max(limits.Image, limits.Audio, limits.Video, limits.Document)
	r.Body = http.MaxBytesReader(c.Response(), r.Body, largest+multipartOverhead)
	// A large file on a slow link outlasts the server's read timeout;
	// where the connection cannot say, the timeout stands.
	_ = http.NewResponseController(c.Response()).SetReadDeadline(a.clock.Now().Add(uploadTime))
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	mr := multipart.NewReader(r.Body, params["boundary"])
	form := url.Values{}
	// The fields are kept in memory: all of them together are bounded,
	// not only each one, or a form of many fields could fill the memory
	// up to the file's limit.
	fieldBytes := 0
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return bad(c, `the form must end with a "file" part`)
		}
		if err != nil {
			return a.formError(c, err)
		}
		name := p.FormName()
		if name == "file" {
			return send(form, p)
		}
		if !slices.Contains(fields, name) {
			return bad(c, "unknown form field "+quote(name)+": only "+strings.Join(fields, ", ")+" and file")
		}
		b, err := io.ReadAll(io.LimitReader(p, maxField+1))
		if err != nil {
			return a.formError(c, err)
		}
		if len(b) > maxField || !utf8.Valid(b) {
			return bad(c, "form field "+quote(name)+" must be UTF-8 text of at most 4096 bytes")
		}
		if fieldBytes += len(b); fieldBytes > multipartOverhead/2 {
			return httperror.Write(c, http.StatusRequestEntityTooLarge, "too_large", "the form's fields are larger than this server accepts")
		}
		form.Add(name, string(b))
	}
}

// maxField bounds one text field of a file's form.
const maxField = 4096

// replyWithFile sends the multipart form's file, with its optional "text"
// caption, as a media message.
func (a *API) replyWithFile(c echo.Context) error {
	return a.withFormFile(c, []string{"text"}, func(form url.Values, p *multipart.Part) error {
		caption := form.Get("text")
		if len(form["text"]) > 1 || utf8.RuneCountInString(caption) > maxCaption {
			return bad(c, "text must be one caption of at most 1024 characters")
		}
		return a.sendFile(c, p, func(ctx context.Context, queryID string, f conversations.OutboundFile) (string, error) {
			f.Caption = caption
			return a.conv.ReplyMedia(ctx, queryID, caller(c).ID, f)
		})
	})
}

// quote bounds and quotes a caller's field name for an error message.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return `"` + strings.ToValidUTF8(s, "") + `"`
}

// formError answers a multipart body that could not be read.
func (a *API) formError(c echo.Context, err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) || errors.Is(err, errTooLarge) {
		return httperror.Write(c, http.StatusRequestEntityTooLarge, "too_large", "the file is larger than this server accepts")
	}
	return bad(c, "the multipart body could not be read")
}

// sendFile sniffs the file part's type, refuses what cannot be sent,
// and hands the rest of the part, capped at its kind's limit, to submit.
// The conversation is loaded (and the caller's right to it checked)
// before the file is read further.
func (a *API) sendFile(c echo.Context, p *multipart.Part, submit func(ctx context.Context, queryID string, f conversations.OutboundFile) (string, error)) error {
	br := bufio.NewReaderSize(p, 512)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return a.formError(c, err)
	}
	if len(head) == 0 {
		return bad(c, "the file is empty")
	}
	kind, mimeType, ok := sniff(head, p.Header.Get("Content-Type"))
	if !ok {
		return httperror.Write(c, http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send an image (JPEG, PNG), audio (MP3, AAC, OGG, AMR, M4A), a video (MP4) or a document (PDF, text, office files)")
	}
	limit := a.media.MaxBytes.For(kind)
	st, err := a.loadToClaim(c)
	if err != nil {
		return a.loadError(c, err)
	}
	id, err := submit(c.Request().Context(), st.Query.ID, conversations.OutboundFile{
		Kind: kind, MimeType: mimeType, Filename: filename(p.FileName(), mimeType),
		Body: &capReader{r: br, max: limit},
	})
	if errors.Is(err, errHeaderKind) {
		return httperror.Write(c, http.StatusUnsupportedMediaType, "unsupported_media_type", err.Error())
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.Is(err, errTooLarge) || errors.As(err, &tooLarge) {
			return httperror.Write(c, http.StatusRequestEntityTooLarge, "too_large",
				"the "+kind+" is larger than "+humanBytes(limit)+", this server's limit for one")
		}
		return a.actionError(c, err)
	}
	return queued(c, id)
}

// filename is the name a document is sent under: the base of the
// caller's, or one made up from its type.
func filename(given, mimeType string) string {
	name := path.Base(strings.ReplaceAll(given, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	if name == "." || name == "/" || name == "" {
		name = "file"
		if exts, _ := mime.ExtensionsByType(mimeType); len(exts) > 0 {
			name += exts[0]
		}
	}
	if len(name) > 200 {
		name = name[len(name)-200:]
		name = strings.ToValidUTF8(name, "")
	}
	return name
}

// humanBytes says n in the largest whole unit.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return itoa(n>>20) + " MB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return itoa(n>>10) + " KB"
	}
	return itoa(n) + " bytes"
}

// officeTypes are documents that sniff as a ZIP (Office Open XML) or as
// nothing in particular (the older binary formats): the caller's type is
// believed for them, and only for them.
var officeTypes = map[string]bool{
	"application/msword":            true,
	"application/vnd.ms-excel":      true,
	"application/vnd.ms-powerpoint": true,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   true,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         true,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": true,
}

// sniff decides a file's kind and type from its first bytes (the
// caller's declared type only breaks ties the bytes cannot: an M4A from
// an MP4, an Office document from a ZIP), and refuses (ok false) what no
// provider takes as a message or what could run in a browser: HTML, SVG,
// scripts, executables.
func sniff(head []byte, declared string) (kind, mimeType string, ok bool) {
	declared, _, _ = mime.ParseMediaType(declared)
	if bytes.HasPrefix(head, []byte("#!AMR\n")) {
		return channels.TypeAudio, "audio/amr", true
	}
	sniffed := http.DetectContentType(head)
	base, _, _ := mime.ParseMediaType(sniffed)
	switch base {
	case "image/jpeg", "image/png":
		return channels.TypeImage, base, true
	case "audio/mpeg", "audio/aac":
		return channels.TypeAudio, base, true
	case "application/ogg", "audio/ogg":
		return channels.TypeAudio, "audio/ogg", true
	case "video/mp4":
		if declared == "audio/mp4" || declared == "audio/x-m4a" || declared == "audio/m4a" {
			return channels.TypeAudio, "audio/mp4", true
		}
		return channels.TypeVideo, base, true
	case "application/pdf":
		return channels.TypeDocument, base, true
	case "text/plain":
		if declared == "text/csv" {
			return channels.TypeDocument, "text/csv", true
		}
		return channels.TypeDocument, "text/plain", true
	case "application/zip":
		if officeTypes[declared] {
			return channels.TypeDocument, declared, true
		}
		return channels.TypeDocument, base, true
	case "application/octet-stream":
		if officeTypes[declared] && bytes.HasPrefix(head, []byte{0xd0, 0xcf, 0x11, 0xe0}) {
			return channels.TypeDocument, declared, true
		}
	}
	return "", "", false
}

// mediaLimitsOrDefault is the configured limits, or the defaults when the
// API was built without a media section (tests, tools).
func mediaLimitsOrDefault(m config.Media) config.Media {
	if m.MaxBytes == (config.MediaLimits{}) {
		m.MaxBytes = config.MediaLimits{Image: config.DefaultImageBytes, Audio: config.DefaultAudioBytes,
			Video: config.DefaultVideoBytes, Document: config.DefaultDocumentBytes, Sticker: config.DefaultStickerBytes}
	}
	return m
}

// errHeaderKind refuses a template header file of a kind no template
// header holds (audio).
var errHeaderKind = errors.New("a template header holds an image, a video or a document")

// templateWithFile sends an approved template whose media header is the
// form's file: the fields template, language and params (repeated, in
// order), then the file. Outside the customer service window this is
// the one way to send a customer a file.
func (a *API) templateWithFile(c echo.Context) error {
	return a.withFormFile(c, []string{"template", "language", "params"}, func(form url.Values, p *multipart.Part) error {
		if form.Get("template") == "" || form.Get("language") == "" || len(form["template"]) > 1 || len(form["language"]) > 1 {
			return bad(c, `the form must have one "template" and one "language" before its "file"`)
		}
		text, ref, ok, err := a.resolveTemplate(c, form.Get("template"), form.Get("language"), form["params"])
		if !ok {
			return err
		}
		return a.sendFile(c, p, func(ctx context.Context, queryID string, f conversations.OutboundFile) (string, error) {
			if f.Kind == channels.TypeAudio {
				return "", errHeaderKind
			}
			return a.conv.SendMediaTemplate(ctx, queryID, caller(c).ID, text, ref, f)
		})
	})
}
