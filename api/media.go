package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
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
	rc, err := a.conv.OpenMedia(ctx, m)
	if err != nil {
		return a.internal(c, err)
	}
	defer rc.Close()
	h := c.Response().Header()
	ctype, inline := servedType(m.MimeType, m.Kind)
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", contentDisposition(inline, m.Filename, m.ID, m.MimeType))
	h.Set("X-Content-Type-Options", "nosniff")
	// Whatever the browser makes of the bytes, they run nothing and
	// reach nothing of this origin.
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'")
	h.Set("Cache-Control", "private, max-age=3600")
	if m.Size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(m.Size, 10))
	}
	c.Response().WriteHeader(http.StatusOK)
	if _, err := io.Copy(c.Response(), rc); err != nil {
		// Headers are gone: the client sees a short body.
		a.logger.WarnContext(ctx, "media file not served whole", "media", m.ID, "err", err)
		return nil
	}
	a.metrics.Media.Served.Inc()
	return nil
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
