package whatsmeow

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"switchboard/channels"
)

var (
	_ channels.MediaFetcher = (*Channel)(nil)
	_ downloader            = (*wm.Client)(nil)
)

// downloader is what the channel needs of a whatsmeow client to fetch a
// customer's file; *whatsmeow.Client has it. It downloads to a file, not
// to memory: a document may be 100 MB, and decrypting in memory would
// hold it twice.
type downloader interface {
	DownloadToFile(ctx context.Context, msg wm.DownloadableMessage, file wm.File) error
}

// refPrefix starts a linked device's file reference and names its
// encoding's version, so a later encoding can be told apart.
const refPrefix = "wm1:"

// maxRefBytes bounds a reference: the fields it keeps are a URL, a path,
// two hashes, a key and a length, well under a kilobyte.
const maxRefBytes = 8 << 10

// mediaParts are the fields of a message that hold a file, in the order
// Inbound looks at them; downloadFields are the fields of each that say
// where the file is and how to decrypt and check it.
var (
	mediaParts     = []protoreflect.Name{"imageMessage", "videoMessage", "audioMessage", "documentMessage", "stickerMessage"}
	downloadFields = []protoreflect.Name{"URL", "directPath", "mediaKey", "fileEncSHA256", "fileSHA256", "fileLength", "mimetype"}
)

// mediaRef is a file's reference (channels.Media.ID): the message's
// download fields alone (URL, direct path, media key, hashes, length,
// type), without caption, thumbnail or context, as protobuf in base64url.
// WhatsApp keeps the file encrypted; these are what it takes to fetch
// and decrypt it later, in the worker's task.
func mediaRef(m *waE2E.Message) string {
	src := m.ProtoReflect()
	var ref waE2E.Message
	dst := ref.ProtoReflect()
	for _, name := range mediaParts {
		fd := src.Descriptor().Fields().ByName(name)
		if !src.Has(fd) {
			continue
		}
		part, keep := src.Get(fd).Message(), dst.Mutable(fd).Message()
		for _, f := range downloadFields {
			if ffd := part.Descriptor().Fields().ByName(f); ffd != nil && part.Has(ffd) {
				keep.Set(ffd, part.Get(ffd))
			}
		}
		break
	}
	b, err := proto.Marshal(&ref)
	if err != nil {
		// Marshalling fields just read from a decoded message cannot
		// fail; an empty reference is refused by FetchMedia, for good.
		return ""
	}
	return refPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// parseRef reads a reference back into the message part to download.
func parseRef(ref string) (wm.DownloadableMessage, error) {
	enc, ok := strings.CutPrefix(ref, refPrefix)
	if !ok || len(ref) > maxRefBytes {
		return nil, errors.New("not a linked-device file reference")
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("file reference: %w", err)
	}
	var m waE2E.Message
	if err := proto.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("file reference: %w", err)
	}
	var d wm.DownloadableMessage
	switch {
	case m.ImageMessage != nil:
		d = m.ImageMessage
	case m.VideoMessage != nil:
		d = m.VideoMessage
	case m.AudioMessage != nil:
		d = m.AudioMessage
	case m.DocumentMessage != nil:
		d = m.DocumentMessage
	case m.StickerMessage != nil:
		d = m.StickerMessage
	default:
		return nil, errors.New("file reference names no file")
	}
	if len(d.GetMediaKey()) == 0 {
		return nil, errors.New("file reference lacks the key")
	}
	return d, nil
}

// urlOf is a downloadable part's URL ("" when it has none).
func urlOf(d wm.DownloadableMessage) string {
	if u, ok := d.(interface{ GetURL() string }); ok {
		return u.GetURL()
	}
	return ""
}

// whatsAppMediaHost reports whether host is one of WhatsApp's media
// servers (mmg.whatsapp.net, media-*.cdn.whatsapp.net).
func whatsAppMediaHost(host string) bool {
	return host == "whatsapp.net" || strings.HasSuffix(host, ".whatsapp.net")
}

// dropForeignURL clears d's URL unless it is https on one of WhatsApp's
// media servers. The URL is the sender's word: a tampered client could
// name an address inside our network, and whatsmeow would GET it.
// Without the URL, whatsmeow uses the direct path on the media hosts
// WhatsApp itself names over the connection.
func (c *Channel) dropForeignURL(d wm.DownloadableMessage) {
	raw := urlOf(d)
	if raw == "" {
		return
	}
	if u, err := url.Parse(raw); err == nil && u.Scheme == "https" && c.mediaHost(u.Hostname()) {
		return
	}
	m := d.(proto.Message).ProtoReflect()
	if fd := m.Descriptor().Fields().ByName("URL"); fd != nil {
		m.Clear(fd)
	}
}

// FetchMedia downloads a customer's file from WhatsApp's media servers
// and decrypts it, through the connected client (the URL in the message,
// or its direct path on the hosts WhatsApp names over the connection).
// Only the process holding the device can: the fetch task is on the
// channel's own queue, which only the holder works on, so a process
// without the client (a handover in progress) fails it to be retried.
//
// The download starts on the first read, into a temporary file removed
// on Close, so the size the message announced is checked against the
// limit before any byte is fetched.
func (c *Channel) FetchMedia(ctx context.Context, m *channels.Media) (io.ReadCloser, channels.FetchedInfo, error) {
	d, err := parseRef(m.ID)
	if err != nil {
		return nil, channels.FetchedInfo{}, &channels.FetchError{Reason: channels.FetchRefused, Permanent: true, Err: err}
	}
	box := c.client.Load()
	if box == nil {
		return nil, channels.FetchedInfo{}, &channels.FetchError{Reason: channels.FetchUnavailable, Err: channels.ErrNotConnected}
	}
	dl, ok := box.s.(downloader)
	if !ok {
		return nil, channels.FetchedInfo{}, &channels.FetchError{Reason: channels.FetchRefused, Permanent: true,
			Err: errors.New("this whatsapp session cannot download media")}
	}
	c.dropForeignURL(d)
	if urlOf(d) == "" && d.GetDirectPath() == "" {
		return nil, channels.FetchedInfo{}, &channels.FetchError{Reason: channels.FetchRefused, Permanent: true,
			Err: errors.New("file reference names no WhatsApp location")}
	}
	info := channels.FetchedInfo{MimeType: m.MimeType, Size: -1, Filename: m.Filename}
	if t := mimeOf(d); t != "" {
		info.MimeType = t
	}
	if l, ok := d.(interface{ GetFileLength() uint64 }); ok && l.GetFileLength() > 0 && l.GetFileLength() < 1<<62 {
		info.Size = int64(l.GetFileLength())
	}
	if sum := d.GetFileSHA256(); len(sum) > 0 {
		info.SHA256 = hex.EncodeToString(sum)
	}
	return &download{ctx: ctx, dl: dl, msg: d, dir: c.tempDir}, info, nil
}

// mimeOf is a downloadable part's MIME type ("" when it has none).
func mimeOf(d wm.DownloadableMessage) string {
	if u, ok := d.(interface{ GetMimetype() string }); ok {
		return u.GetMimetype()
	}
	return ""
}

// download is a file fetched on first read into a temporary file.
type download struct {
	ctx  context.Context
	dl   downloader
	msg  wm.DownloadableMessage
	dir  string
	f    *os.File
	err  error
	done bool
}

func (d *download) Read(p []byte) (int, error) {
	if !d.done {
		d.done = true
		d.f, d.err = d.fetch()
	}
	if d.err != nil {
		return 0, d.err
	}
	return d.f.Read(p)
}

// fetch downloads and decrypts the file, positioned at its start.
func (d *download) fetch() (*os.File, error) {
	f, err := os.CreateTemp(d.dir, "switchboard-wa-media-*")
	if err != nil {
		return nil, &channels.FetchError{Reason: channels.FetchUnavailable, Err: fmt.Errorf("download media: temporary file: %w", err)}
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := d.dl.DownloadToFile(d.ctx, d.msg, f); err != nil {
		return nil, downloadError(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, &channels.FetchError{Reason: channels.FetchUnavailable, Err: fmt.Errorf("download media: %w", err)}
	}
	keep = true
	return f, nil
}

// Close removes the temporary file.
func (d *download) Close() error {
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	if rmErr := os.Remove(d.f.Name()); rmErr != nil && err == nil {
		err = rmErr
	}
	d.f = nil
	return err
}

// downloadError classifies a whatsmeow download failure. A file WhatsApp
// no longer has is gone for good, and so is one whose bytes do not match
// the message's hashes or MAC (downloading it again gives the same
// bytes); the rest (the network, a 403 while the URL is refreshed, the
// connection) is retried. whatsmeow's messages may quote the URL, so
// only the kind of failure is kept.
func downloadError(err error) error {
	var httpErr wm.DownloadHTTPError
	switch {
	case errors.As(err, &httpErr):
		return channels.FetchStatus("download media", httpErr.StatusCode)
	case errors.Is(err, wm.ErrInvalidMediaHMAC), errors.Is(err, wm.ErrInvalidMediaEncSHA256),
		errors.Is(err, wm.ErrInvalidMediaSHA256), errors.Is(err, wm.ErrFileLengthMismatch), errors.Is(err, wm.ErrTooShortFile):
		return &channels.FetchError{Reason: channels.FetchCorrupt, Permanent: true, Err: fmt.Errorf("download media: %w", err)}
	case errors.Is(err, wm.ErrNoURLPresent), errors.Is(err, wm.ErrUnknownMediaType):
		return &channels.FetchError{Reason: channels.FetchRefused, Permanent: true, Err: fmt.Errorf("download media: %w", err)}
	case errors.Is(err, context.Canceled):
		return &channels.FetchError{Reason: channels.FetchUnavailable, Err: fmt.Errorf("download media: %w", context.Canceled)}
	case errors.Is(err, context.DeadlineExceeded):
		return &channels.FetchError{Reason: channels.FetchUnavailable, Err: fmt.Errorf("download media: %w", context.DeadlineExceeded)}
	}
	return &channels.FetchError{Reason: channels.FetchUnavailable, Err: errors.New("download media: " + channels.MaskDigits(redactURLs(err.Error())))}
}

// redactURLs cuts every URL out of s: a media URL carries the tokens
// that grant access to the file.
func redactURLs(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		if strings.Contains(w, "://") {
			words[i] = "<url>"
		}
	}
	return strings.Join(words, " ")
}
