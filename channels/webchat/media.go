package webchat

import (
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"

	"switchboard/channels"
)

// Size limits of a visitor's file reference. A URL past 2048 bytes is
// past what browsers and CDNs reliably handle; a file name or type past
// 255 bytes is no real file's.
const (
	maxMediaURLBytes = 2048
	maxFilenameBytes = 255
	maxMimeTypeBytes = 255
)

// sha256HexDigits is the length of a hex SHA-256.
const sha256HexDigits = 64

// errOriginNotAllow is the refusal of a file outside media_origins.
const errOriginNotAllow = "media.url: its origin is not in the channel's media_origins"

// payloadMedia is a file a visitor sent, which the site serves at URL
// until Switchboard has fetched it (see FetchMedia). It mirrors the media
// object of replies (replyMedia), plus the file's hash.
type payloadMedia struct {
	// Kind is image, audio, video or document.
	Kind     string `json:"kind"`
	URL      string `json:"url"`
	MimeType string `json:"mime_type"`
	Filename string `json:"filename"`
	// Size is the site's announced size in bytes; informative only (the
	// download's Content-Length is what is checked).
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of the file, checked against the bytes
	// fetched when given.
	SHA256 string `json:"sha256"`
}

// media validates a message's file and returns it as the Inbound's
// Media, its ID the URL to fetch. Errors never quote the URL: sites put
// access tokens in them.
func (c *Channel) media(p *payloadMedia) (*channels.Media, error) {
	switch p.Kind {
	case channels.TypeImage, channels.TypeAudio, channels.TypeVideo, channels.TypeDocument:
	case "":
		return nil, errors.New("media.kind: required (image, audio, video or document)")
	default:
		return nil, fmt.Errorf("media.kind: %q, want image, audio, video or document", truncate(p.Kind))
	}
	if err := mediaURL(p.URL); err != nil {
		return nil, err
	}
	if !c.allowedURL(p.URL) {
		if len(c.origins) == 0 {
			return nil, errors.New(errOriginNotAllow + " (the channel has none: it takes no files)")
		}
		return nil, errors.New(errOriginNotAllow)
	}
	if len(p.MimeType) > maxMimeTypeBytes {
		return nil, fmt.Errorf("media.mime_type: longer than %d bytes", maxMimeTypeBytes)
	}
	if p.MimeType != "" {
		if _, _, err := mime.ParseMediaType(p.MimeType); err != nil {
			return nil, fmt.Errorf("media.mime_type: %q is not a MIME type", truncate(p.MimeType))
		}
	}
	if len(p.Filename) > maxFilenameBytes {
		return nil, fmt.Errorf("media.filename: longer than %d bytes", maxFilenameBytes)
	}
	if p.Size < 0 {
		return nil, fmt.Errorf("media.size: %d, want bytes (0 or more)", p.Size)
	}
	if p.SHA256 != "" {
		if _, err := hex.DecodeString(p.SHA256); err != nil || len(p.SHA256) != sha256HexDigits {
			return nil, fmt.Errorf("media.sha256: want %d hex digits", sha256HexDigits)
		}
	}
	return &channels.Media{ID: p.URL, MimeType: p.MimeType, Filename: p.Filename, SHA256: p.SHA256}, nil
}

// mediaURL checks the form of a visitor file's URL.
func mediaURL(raw string) error {
	if raw == "" {
		return errors.New("media.url: required")
	}
	if len(raw) > maxMediaURLBytes {
		return fmt.Errorf("media.url: longer than %d bytes", maxMediaURLBytes)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return errors.New("media.url: want an absolute http(s) URL")
	}
	if u.User != nil {
		return errors.New("media.url: must not carry credentials (user:password@); the fetch is signed instead")
	}
	return nil
}

// allowedURL reports whether raw is an http(s) URL, without credentials,
// on one of the configured media origins.
func (c *Channel) allowedURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Hostname() != "" &&
		u.User == nil && c.origins[originOf(u)]
}

// parseOrigin validates a media_origins entry and returns it normalized.
// An entry holds no secret, but a mistaken one may (a path with a
// token), so it is not quoted back; the error names what is wrong.
func parseOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
		return "", errors.New("want an http(s) origin, scheme://host[:port]")
	case u.User != nil:
		return "", errors.New("must not carry credentials (user:password@)")
	case u.Path != "" && u.Path != "/":
		return "", errors.New("has a path; want only scheme://host[:port]")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", errors.New("has a query or fragment; want only scheme://host[:port]")
	}
	return originOf(u), nil
}

// originOf is u's scheme and host, lower-cased and without the scheme's
// default port, so https://CDN.example.com:443/a and
// https://cdn.example.com compare equal.
func originOf(u *url.URL) string {
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	switch {
	case scheme == "https":
		host = strings.TrimSuffix(host, ":443")
	case scheme == "http":
		host = strings.TrimSuffix(host, ":80")
	}
	return scheme + "://" + host
}
