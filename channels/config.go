package channels

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// HTTPURL reports whether raw is an absolute http or https URL.
func HTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// APIBaseURL is a provider API root from the configuration key: def when
// unset, without a trailing slash, and an error naming key when it is not
// an absolute http(s) URL (an API root holds no secret, so it is quoted).
func APIBaseURL(key, raw, def string) (string, error) {
	if raw == "" {
		raw = def
	}
	raw = strings.TrimRight(raw, "/")
	if !HTTPURL(raw) {
		return raw, fmt.Errorf("%s: want an absolute http(s) URL, got %q", key, raw)
	}
	return raw, nil
}

// SendRate is a kind's send_rate setting: def when the key is absent, the
// configured rate (a zero one meaning no limit) when it validates.
func SendRate(key string, configured *Rate, def Rate) (*Rate, error) {
	if configured == nil {
		return &def, nil
	}
	return configured, configured.Validate(key)
}

// NetworkCause is what an HTTP client error says without its URL: a
// *url.Error quotes the request URL, which may carry a token (Telegram's
// bot token, a site's callback token).
func NetworkCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}
