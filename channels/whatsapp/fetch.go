package whatsapp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

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
	resp, err := channels.FetchGET(ctx, c.http, c.cfg.APIBaseURL+"/"+url.PathEscape(m.ID), "media url", bearer)
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
	if u, err := url.Parse(info.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, channels.FetchedInfo{}, &channels.FetchError{Reason: channels.FetchRefused, Permanent: true,
			Err: fmt.Errorf("media url: not an http(s) URL")}
	}
	resp, err = channels.FetchGET(ctx, c.http, info.URL, "media download", bearer)
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
