package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"syscall"
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
	if err != nil && err != io.EOF {
		// io.EOF stays bare: readers compare against it.
		err = readError{err}
	}
	return n, err
}

// uploadTime is how long a file's request may take to arrive: the
// server's read timeout is for small JSON bodies.
const uploadTime = 10 * time.Minute

// fileForm is a multipart form of text fields and one "file" part, as
// it is read: the fields before the file, then (once the file is
// stored) those after it. Only the fields named are taken, each up to
// maxField bytes; they are kept in memory, so all of them together are
// bounded too, or a form of many fields could fill the memory up to the
// file's limit.
type fileForm struct {
	mr     *multipart.Reader
	fields []string
	values url.Values
	size   int
}

// field reads p, a text field, into the form's values.
func (f *fileForm) field(p *multipart.Part) error {
	name := p.FormName()
	if !slices.Contains(f.fields, name) {
		return refusal(http.StatusBadRequest, "bad_request", "unknown form field "+quote(name)+": only "+strings.Join(f.fields, ", ")+" and file")
	}
	b, err := io.ReadAll(io.LimitReader(p, maxField+1))
	if err != nil {
		return readError{err}
	}
	if len(b) > maxField || !utf8.Valid(b) {
		return refusal(http.StatusBadRequest, "bad_request", "form field "+quote(name)+" must be UTF-8 text of at most 4096 bytes")
	}
	if f.size += len(b); f.size > multipartOverhead/2 {
		return refusal(http.StatusRequestEntityTooLarge, "too_large", "the form's fields are larger than this server accepts")
	}
	f.values.Add(name, string(b))
	return nil
}

// rest reads the parts after the file to the form's end: fields named
// in late, and no other part.
func (f *fileForm) rest(late []string) error {
	for {
		p, err := f.mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return readError{err}
		}
		switch name := p.FormName(); {
		case name == "file":
			return refusal(http.StatusBadRequest, "bad_request", `the form must hold one "file" part`)
		case slices.Contains(f.fields, name) && !slices.Contains(late, name):
			return refusal(http.StatusBadRequest, "bad_request", "form field "+quote(name)+` must come before the "file" part`)
		}
		if err := f.field(p); err != nil {
			return err
		}
	}
}

// withFormFile reads a multipart form's text fields (only those named in
// fields) up to its "file" part and hands both to send, which reads
// what follows the file with form.rest. The body is capped at the
// largest file any kind may be.
func (a *API) withFormFile(c echo.Context, fields []string, send func(form *fileForm, file *multipart.Part) error) error {
	r := c.Request()
	limits := a.media.MaxBytes
	largest := max(limits.Image, limits.Audio, limits.Video, limits.Document)
	r.Body = http.MaxBytesReader(c.Response(), r.Body, largest+multipartOverhead)
	// A large file on a slow link outlasts the server's read timeout;
	// where the connection cannot say, the timeout stands.
	_ = http.NewResponseController(c.Response()).SetReadDeadline(a.clock.Now().Add(uploadTime))
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	form := &fileForm{mr: multipart.NewReader(r.Body, params["boundary"]), fields: fields, values: url.Values{}}
	for {
		p, err := form.mr.NextPart()
		if errors.Is(err, io.EOF) {
			return bad(c, `the form has no "file" part`)
		}
		if err != nil {
			return a.formError(c, readError{err})
		}
		if p.FormName() == "file" {
			return send(form, p)
		}
		if err := form.field(p); err != nil {
			return a.formError(c, err)
		}
	}
}

// maxField bounds one text field of a file's form.
const maxField = 4096

// replyWithFile sends the multipart form's file, with its optional "text"
// caption, as a media message. The caption may come before the file or
// after it: the file is stored before the message is recorded, so a
// caption read after it is still the message's.
func (a *API) replyWithFile(c echo.Context) error {
	return a.withFormFile(c, []string{"text"}, func(form *fileForm, p *multipart.Part) error {
		caption := func() (string, error) {
			text := form.values["text"]
			if len(text) > 1 || utf8.RuneCountInString(form.values.Get("text")) > maxCaption {
				return "", refusal(http.StatusBadRequest, "bad_request", "text must be one caption of at most 1024 characters")
			}
			return form.values.Get("text"), nil
		}
		before, err := caption()
		if err != nil {
			return a.formError(c, err)
		}
		return a.sendFile(c, p, func(ctx context.Context, queryID string, f conversations.OutboundFile) (string, error) {
			f.Caption = before
			f.Rest = func() (string, error) {
				if err := form.rest([]string{"text"}); err != nil {
					return "", err
				}
				return caption()
			}
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

// formRefusal is a form the caller got wrong, with its answer.
type formRefusal struct {
	status        int
	code, message string
}

func refusal(status int, code, message string) *formRefusal {
	return &formRefusal{status: status, code: code, message: message}
}

func (e *formRefusal) Error() string { return e.message }

// readError is a failure to read the request's body, told apart so that
// a client gone mid-upload is not taken for the store failing.
type readError struct{ err error }

func (e readError) Error() string { return "read the upload: " + e.err.Error() }
func (e readError) Unwrap() error { return e.err }

// formError answers a multipart form that could not be taken: refused,
// too large, cut short (the client gone or its body ended early: the
// caller's doing, so a 4xx logged at info), or unreadable.
func (a *API) formError(c echo.Context, err error) error {
	var r *formRefusal
	if errors.As(err, &r) {
		return httperror.Write(c, r.status, r.code, r.message)
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) || errors.Is(err, errTooLarge) {
		return httperror.Write(c, http.StatusRequestEntityTooLarge, "too_large", "the file is larger than this server accepts")
	}
	var ne net.Error
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne) || errors.Is(err, syscall.ECONNRESET) || clientGone(c) {
		a.logger.InfoContext(c.Request().Context(), "upload incomplete: the request's body ended before its form", "route", c.Path(), "err", err)
		return httperror.Write(c, http.StatusBadRequest, "upload_incomplete",
			"the request's body ended before its multipart form did; nothing was sent or kept")
	}
	return bad(c, "the multipart body could not be read")
}

// clientGone reports whether the request was abandoned: its client
// disconnected, which ends the request's context.
func clientGone(c echo.Context) bool {
	return c.Request().Context().Err() != nil
}

// sendFile sniffs the file part's type, refuses what cannot be sent,
// and hands the rest of the part, capped at its kind's limit, to submit.
// The conversation is loaded (and the caller's right to it checked)
// before the file is read further.
func (a *API) sendFile(c echo.Context, p *multipart.Part, submit func(ctx context.Context, queryID string, f conversations.OutboundFile) (string, error)) error {
	br := bufio.NewReaderSize(p, 512)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return a.formError(c, readError{err})
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
		if clientGone(c) {
			return a.formError(c, err)
		}
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
		var refused *formRefusal
		var unread readError
		if errors.As(err, &refused) || errors.As(err, &unread) || clientGone(c) {
			return a.formError(c, err)
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
	return a.withFormFile(c, []string{"template", "language", "params"}, func(form *fileForm, p *multipart.Part) error {
		v := form.values
		if v.Get("template") == "" || v.Get("language") == "" || len(v["template"]) > 1 || len(v["language"]) > 1 {
			return bad(c, `the form must have one "template" and one "language" before its "file"`)
		}
		text, ref, ok, err := a.resolveTemplate(c, v.Get("template"), v.Get("language"), v["params"])
		if !ok {
			return err
		}
		return a.sendFile(c, p, func(ctx context.Context, queryID string, f conversations.OutboundFile) (string, error) {
			if f.Kind == channels.TypeAudio {
				return "", errHeaderKind
			}
			// The template is resolved before the file is read, so no
			// field of it may follow the file.
			f.Rest = func() (string, error) { return "", form.rest(nil) }
			return a.conv.SendMediaTemplate(ctx, queryID, caller(c).ID, text, ref, f)
		})
	})
}
