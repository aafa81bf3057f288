package channels

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"strings"
)

// OutboundMedia is a file an operator sends: its bytes stay in the blob
// store until a provider needs them, so a retried send reads them again
// instead of holding them in the queue.
type OutboundMedia struct {
	// Kind is TypeImage, TypeAudio, TypeVideo or TypeDocument: which of the
	// provider's message types carries the file.
	Kind string
	// MimeType is the file's sniffed type ("image/jpeg").
	MimeType string
	// Filename is what the customer sees a document called.
	Filename string
	// Caption is the operator's text sent with the file, possibly empty.
	Caption string
	// Size is the file's length in bytes, -1 when unknown.
	Size int64
	// Open reads the file; each call starts from its first byte, so every
	// attempt of a send uploads the whole file.
	Open func(ctx context.Context) (io.ReadCloser, error)
	// PublicURL is a short-lived link the provider can fetch the file
	// from, for providers that take a link rather than an upload (Twilio);
	// empty when media.public_url is not configured.
	PublicURL string
}

// MediaSender is a channel that can send a file (an image, a voice note,
// a video or a document) with an optional caption.
type MediaSender interface {
	Channel
	// SendMedia sends m to the customer `to` and returns the provider's
	// message id. A failure is a *SendError that says whether retrying
	// could help.
	SendMedia(ctx context.Context, to string, m OutboundMedia) (providerID string, err error)
}

// MediaTemplateSender is a TemplateSender whose templates may have a media
// header (an image, a video or a document), the only way to send a file
// to a WhatsApp customer whose 24-hour window has closed.
type MediaTemplateSender interface {
	Channel
	// SendMediaTemplate sends template in language with header as its
	// header's media and params as its body parameters, in order.
	SendMediaTemplate(ctx context.Context, to, template, language string, params []string, header OutboundMedia) (providerID string, err error)
}

// ErrNoMediaFile means an OutboundMedia's file is not there to read (no
// Open, or a file the store no longer has): no retry can send it.
var ErrNoMediaFile = errors.New("outbound media has no file")

// MultipartUpload is a multipart/form-data request body holding text
// fields and one file, the last part. It streams the file rather than
// buffering it, and knows its length when the file's is known, so a
// provider that refuses chunked uploads still gets a Content-Length.
type MultipartUpload struct {
	// Body is the encoded form.
	Body io.Reader
	// ContentType is the request's Content-Type, with its boundary.
	ContentType string
	// Length is Body's length in bytes, -1 when the file's is unknown.
	Length int64
}

// Field is one text field of a multipart form, in the order sent.
type Field struct {
	Name, Value string
}

// NewMultipartUpload encodes fields, then the file as the part named
// fileField with filename and mimeType, reading it from file (size bytes,
// or -1 when unknown).
func NewMultipartUpload(fields []Field, fileField, filename, mimeType string, file io.Reader, size int64) (*MultipartUpload, error) {
	var head bytes.Buffer
	w := multipart.NewWriter(&head)
	for _, f := range fields {
		if err := w.WriteField(f.Name, f.Value); err != nil {
			return nil, fmt.Errorf("encode field %s: %w", f.Name, err)
		}
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, quoteEscaper.Replace(fileField), quoteEscaper.Replace(filename)))
	if mimeType == "" {
		mimeType = "application/octet-stream"
	}
	h.Set("Content-Type", mimeType)
	if _, err := w.CreatePart(h); err != nil {
		return nil, fmt.Errorf("encode file part: %w", err)
	}
	// Only the closing boundary follows the file's bytes: a second writer
	// on the same boundary writes it ("\r\n--boundary--\r\n") to a buffer
	// of its own, so the file streams between the two.
	var tail bytes.Buffer
	closer := multipart.NewWriter(&tail)
	if err := closer.SetBoundary(w.Boundary()); err != nil {
		return nil, fmt.Errorf("encode closing boundary: %w", err)
	}
	if err := closer.Close(); err != nil {
		return nil, fmt.Errorf("encode closing boundary: %w", err)
	}
	trailer := tail.Bytes()
	length := int64(-1)
	if size >= 0 {
		length = int64(head.Len()) + size + int64(len(trailer))
	}
	return &MultipartUpload{
		Body:        io.MultiReader(&head, file, bytes.NewReader(trailer)),
		ContentType: w.FormDataContentType(),
		Length:      length,
	}, nil
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"", "\r", "", "\n", "")

// FileBytes is an OutboundMedia.Open for a file already in memory (a
// simulator's, a test's).
func FileBytes(b []byte) func(context.Context) (io.ReadCloser, error) {
	return func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}
}

// OpenFailed is the SendError of a file that could not be opened:
// permanent when it is gone (ErrNoMediaFile), retryable otherwise, as a
// store that fails now may not later.
func OpenFailed(err error) *SendError {
	return &SendError{Retryable: !errors.Is(err, ErrNoMediaFile), Message: "open media file: " + err.Error(), Err: err}
}

// OpenMedia opens m's file, or fails with OpenFailed's error.
func OpenMedia(ctx context.Context, m OutboundMedia) (io.ReadCloser, error) {
	if m.Open == nil {
		return nil, OpenFailed(ErrNoMediaFile)
	}
	f, err := m.Open(ctx)
	if err != nil {
		return nil, OpenFailed(err)
	}
	return f, nil
}
