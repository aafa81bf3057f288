package twilio

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"switchboard/channels"
)

var _ channels.MediaFetcher = (*Channel)(nil)

// FetchMedia downloads an inbound file from its MediaUrl with the
// account's credentials (HTTP basic auth). Twilio answers a redirect to
// its CDN, which the client follows without the credentials. The URL comes from the webhook, so only
// one under the configured API host and this account's path is fetched:
// the credentials never go to a host a payload names.
func (c *Channel) FetchMedia(ctx context.Context, m *channels.Media) (io.ReadCloser, channels.FetchedInfo, error) {
	if !c.ownMediaURL(m.ID) {
		return nil, channels.FetchedInfo{}, &channels.FetchError{Reason: channels.FetchRefused, Permanent: true,
			Err: fmt.Errorf("media url: not under the configured API host and account")}
	}
	// The credentials go to the API host only: Go keeps them on a
	// redirect to another port of the same host, and the CDN's signed
	// URL (S3's) refuses a request carrying a second authorization.
	client := *c.http
	client.CheckRedirect = channels.CredentialRedirects
	resp, err := channels.FetchGET(ctx, &client, m.ID, "media download", func(r *http.Request) {
		r.SetBasicAuth(c.cfg.AccountSID, c.cfg.AuthToken)
	})
	if err != nil {
		return nil, channels.FetchedInfo{}, err
	}
	mime := resp.Header.Get("Content-Type")
	if mime == "" {
		mime = m.MimeType
	}
	return resp.Body, channels.FetchedInfo{MimeType: mime, Size: resp.ContentLength, Filename: m.Filename}, nil
}

// ownMediaURL reports whether raw is a media URL of this account on the
// configured API host: same scheme and host as api_base_url, and a path
// under /2010-04-01/Accounts/{account_sid}/.
func (c *Channel) ownMediaURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		return false
	}
	base, err := url.Parse(c.cfg.APIBaseURL)
	if err != nil {
		return false
	}
	if !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) {
		return false
	}
	prefix := strings.TrimSuffix(base.Path, "/") + "/2010-04-01/Accounts/" + c.cfg.AccountSID + "/"
	p := u.EscapedPath()
	return strings.HasPrefix(p, prefix) && !strings.Contains(p, "/../") && !strings.Contains(p, "%2e") && !strings.Contains(p, "%2E")
}
