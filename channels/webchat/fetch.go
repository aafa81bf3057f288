package webchat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"switchboard/channels"
)

var _ channels.MediaFetcher = (*Channel)(nil)

// errRedirectRefused stops a redirect FetchMedia will not follow; which
// one is recorded beside it, as the client's error only says it failed.
var errRedirectRefused = errors.New("redirect refused")

// FetchMedia downloads a visitor's file from the URL the site gave
// (m.ID). The GET is signed as the site's webhooks are, over the URL
// instead of a body (TimestampHeader, and SignatureHeader =
// Sign(secret, timestamp, url)), so the site can serve private files to
// Switchboard alone. The URL, and every redirect (at most
// channels.MaxFetchRedirects), must stay within media_origins: checked
// again here since the configuration may have changed since the message
// was parsed, and a redirect may point anywhere. Each hop is signed over
// its own URL.
func (c *Channel) FetchMedia(ctx context.Context, m *channels.Media) (io.ReadCloser, channels.FetchedInfo, error) {
	if !c.allowedURL(m.ID) {
		return nil, channels.FetchedInfo{}, &channels.FetchError{Reason: channels.FetchRefused, Permanent: true,
			Err: errors.New(errOriginNotAllow)}
	}
	// A copy: replies never follow redirects (see New), a fetch does.
	client := *c.http
	var refused error
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		switch {
		case len(via) > channels.MaxFetchRedirects:
			refused = fmt.Errorf("media download: more than %d redirects", channels.MaxFetchRedirects)
			return errRedirectRefused
		case !c.allowedURL(req.URL.String()):
			refused = errors.New("media download: redirected outside the channel's media_origins")
			return errRedirectRefused
		}
		c.signFetch(req, req.URL.String())
		return nil
	}
	resp, err := channels.FetchGET(ctx, &client, m.ID, "media download", func(r *http.Request) { c.signFetch(r, m.ID) })
	if err != nil {
		if refused != nil {
			return nil, channels.FetchedInfo{}, &channels.FetchError{Reason: channels.FetchRefused, Permanent: true, Err: refused}
		}
		return nil, channels.FetchedInfo{}, err
	}
	mimeType := m.MimeType
	if mimeType == "" {
		mimeType = resp.Header.Get("Content-Type")
	}
	// ContentLength is -1 when the site did not say.
	return resp.Body, channels.FetchedInfo{MimeType: mimeType, Size: resp.ContentLength, Filename: m.Filename, SHA256: m.SHA256}, nil
}

// signFetch stamps a fetch of rawURL as Sign documents, the URL's bytes
// standing for the body.
func (c *Channel) signFetch(r *http.Request, rawURL string) {
	ts := c.now().Unix()
	r.Header.Set(TimestampHeader, strconv.FormatInt(ts, 10))
	r.Header.Set(SignatureHeader, Sign(c.secret, ts, []byte(rawURL)))
}
