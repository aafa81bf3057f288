package channels

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MediaFetcher is implemented by channels whose inbound files stay at the
// provider until fetched: the worker calls it in a task of its own, never
// in the webhook's request.
type MediaFetcher interface {
	// FetchMedia opens the file m names (m.ID is the provider's
	// reference). The caller closes the reader. A *FetchError says
	// whether a failure is worth retrying.
	FetchMedia(ctx context.Context, m *Media) (io.ReadCloser, FetchedInfo, error)
}

// FetchedInfo is what the provider says of a file it answers.
type FetchedInfo struct {
	// MimeType is the provider's content type ("" when it gave none).
	MimeType string
	// Size is the provider's announced size; -1 when unknown.
	Size int64
	// Filename is the provider's name for the file, if any.
	Filename string
	// SHA256 is the provider's hash of the file (hex or base64), checked
	// against the bytes when given.
	SHA256 string
}

// Fetch failure reasons, FetchError.Reason.
const (
	// FetchNotFound: the provider has no such file (any more).
	FetchNotFound = "not_found"
	// FetchTooLarge: the provider refuses to hand over a file this
	// large (Telegram's Bot API stops at 20 MB).
	FetchTooLarge = "too_large"
	// FetchRefused: the provider refused the request, or the reference
	// points outside the provider.
	FetchRefused = "refused"
	// FetchUnavailable: the provider failed; try again later.
	FetchUnavailable = "unavailable"
	// FetchCorrupt: the bytes do not match the provider's hash or MAC;
	// fetching them again gives the same bytes.
	FetchCorrupt = "hash_mismatch"
)

// FetchError is a failed fetch. A permanent one is not retried: the file
// is marked failed with Reason.
type FetchError struct {
	Reason    string
	Permanent bool
	Err       error
}

func (e *FetchError) Error() string {
	kind := "retryable"
	if e.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("fetch media (%s, %s): %v", e.Reason, kind, e.Err)
}

func (e *FetchError) Unwrap() error { return e.Err }

// PermanentFetch reports whether err is a fetch failure not worth
// retrying, and its reason.
func PermanentFetch(err error) (string, bool) {
	var fe *FetchError
	if errors.As(err, &fe) && fe.Permanent {
		return fe.Reason, true
	}
	return "", false
}

// FetchStatus classifies a provider's HTTP answer to a fetch: nil for
// 2xx; gone files (404, 410) and other client errors are permanent;
// 401 and 403 (credentials being rotated), 408, 429 and 5xx are retried.
// what names the step for the error; it never holds a URL or a token.
func FetchStatus(what string, code int) error {
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusNotFound || code == http.StatusGone:
		return &FetchError{Reason: FetchNotFound, Permanent: true, Err: fmt.Errorf("%s: HTTP %d", what, code)}
	case code == http.StatusRequestEntityTooLarge:
		return &FetchError{Reason: FetchTooLarge, Permanent: true, Err: fmt.Errorf("%s: HTTP %d", what, code)}
	case code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusRequestTimeout ||
		code == http.StatusTooManyRequests || code >= 500:
		return &FetchError{Reason: FetchUnavailable, Err: fmt.Errorf("%s: HTTP %d", what, code)}
	default:
		return &FetchError{Reason: FetchRefused, Permanent: true, Err: fmt.Errorf("%s: HTTP %d", what, code)}
	}
}

// FetchGET sends an authorized GET and returns the answer's body when it
// is 2xx, classified by FetchStatus otherwise. A transport failure is
// retryable. auth sets the request's credentials.
//
// A redirect carries no Referer, and at most MaxFetchRedirects are
// followed unless client's own CheckRedirect decides. client's Timeout
// bounds the wait for the answer's headers only: a
// 100 MB document over a slow link takes minutes, so the body may take
// as long as ctx (the fetch task's own timeout) allows.
func FetchGET(ctx context.Context, client *http.Client, rawURL, what string, auth func(*http.Request)) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		cancel(nil)
		return nil, &FetchError{Reason: FetchRefused, Permanent: true, Err: fmt.Errorf("%s: build request", what)}
	}
	if auth != nil {
		auth(req)
	}
	streaming := *client
	streaming.Timeout = 0
	check := client.CheckRedirect
	streaming.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		// Go sends the previous URL as the Referer of a redirect, and a
		// provider's URL may hold a token (Telegram's file URLs do).
		req.Header.Del("Referer")
		if check != nil {
			return check(req, via)
		}
		if len(via) > MaxFetchRedirects {
			return errors.New("too many redirects")
		}
		return nil
	}
	if client.Timeout > 0 {
		headers := time.AfterFunc(client.Timeout, func() { cancel(errNoAnswer) })
		defer headers.Stop()
	}
	resp, err := streaming.Do(req)
	if err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, errNoAnswer) {
			err = &url.Error{Err: cause}
		}
		cancel(nil)
		// The url.Error would quote the URL, which may carry a token.
		return nil, &FetchError{Reason: FetchUnavailable, Err: fmt.Errorf("%s: %w", what, errors.Unwrap(err))}
	}
	if err := FetchStatus(what, resp.StatusCode); err != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		cancel(nil)
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// errNoAnswer ends a fetch whose answer did not start in time.
var errNoAnswer = errors.New("no answer in time")

// cancelOnClose releases a fetch's context with its body.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel(nil)
	return err
}

// MaxFetchRedirects caps the redirects a fetch follows: providers answer
// one (a CDN's signed URL); a chain longer than this is a loop or a trap.
const MaxFetchRedirects = 3

// CredentialRedirects is an http.Client CheckRedirect for fetches that
// carry credentials: it follows at most MaxFetchRedirects redirects and
// drops the Authorization header on any hop whose scheme or host (port
// included) differs from the first request's. Go's own rule keeps it
// for a subdomain or another port of the same host, which a hostile
// answer could name.
func CredentialRedirects(req *http.Request, via []*http.Request) error {
	if len(via) > MaxFetchRedirects {
		return errors.New("too many redirects")
	}
	if !strings.EqualFold(req.URL.Scheme, via[0].URL.Scheme) || !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
		req.Header.Del("Authorization")
	}
	return nil
}
