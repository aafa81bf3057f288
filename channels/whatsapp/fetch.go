package whatsapp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"switchboard/channels"
)

var _ channels.MediaFetcher = (*Channel)(nil)

// mediaInfo is the Graph API's answer to GET /{media-id}.
type mediaInfo struct {
	URL      string `json:"url"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	FileSize int64  `json:"file_size"`
}

// FetchMedia downloads an inbound file: GET /{media-id} with the access
// token answers a short-lived URL (Meta's expire within minutes), which
// is then fetched with the same token.
func (c *Channel) FetchMedia(ctx context.Context, m *channels.Media) (io.ReadCloser, channels.FetchedInfo, error) {
	bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+c.cfg.AccessToken) }
	// Both requests carry the token: neither follows a redirect with it
	// off the host it was sent to (Go's own rule keeps it for subdomains).
	client := *c.http
	client.CheckRedirect = channels.CredentialRedirects
	resp, err := channels.FetchGET(ctx, &client, c.cfg.APIBaseURL+"/"+url.PathEscape(m.ID), "media url", bearer)
	if err != nil {
		return nil, channels.FetchedInfo{}, err
	}
	var info mediaInfo
	err = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&info)
	resp.Body.Close()
	if err != nil || info.URL == "" {
		return nil, channels.FetchedInfo{}, &channels.FetchError{Reason: channels.FetchUnavailable,
			Err: fmt.Errorf("media url: unreadable answer")}
	}
	if !c.mediaHost(info.URL) {
		return nil, channels.FetchedInfo{}, &channels.FetchError{Reason: channels.FetchRefused, Permanent: true,
			Err: fmt.Errorf("media url: not on Meta's media host nor the API host")}
	}
	resp, err = channels.FetchGET(ctx, &client, info.URL, "media download", bearer)
	if err != nil {
		return nil, channels.FetchedInfo{}, err
	}
	size := int64(-1)
	if info.FileSize > 0 {
		size = info.FileSize
	}
	mime := info.MimeType
	if mime == "" {
		mime = m.MimeType
	}
	return resp.Body, channels.FetchedInfo{MimeType: mime, Size: size, Filename: m.Filename, SHA256: info.SHA256}, nil
}

// metaMediaHost serves the Cloud API's media downloads
// (https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=...).
const metaMediaHost = "lookaside.fbsbx.com"

// mediaHost reports whether the download URL Graph answered may be sent
// the access token: https on Meta's media host, or the scheme and host
// of api_base_url itself (a proxy or a test's fake). Any other host (a
// hostile or mis-set api_base_url answering one) is never fetched, so
// the token cannot leak there.
func (c *Channel) mediaHost(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Scheme, "https") && strings.EqualFold(u.Host, metaMediaHost) {
		return true
	}
	base, err := url.Parse(c.cfg.APIBaseURL)
	return err == nil && strings.EqualFold(u.Scheme, base.Scheme) && strings.EqualFold(u.Host, base.Host)
}
