// Package mediasign makes and checks the short-lived links at which a
// provider that fetches files itself (Twilio's MediaUrl, a web chat site)
// downloads a file an operator sends. A link carries no session: it is a
// media id and an expiry signed with a key derived from auth.secret, so
// it needs no storage, every replica accepts it, and it is worthless ten
// minutes later.
package mediasign

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"switchboard/blob"
	"switchboard/clock"
)

// TTL is how long a link works: long enough for a provider's fetch and
// its retries, short enough that a leaked link soon opens nothing.
const TTL = 10 * time.Minute

// Path is the route links live under, outside /api/v1: the fetcher has
// no session.
const Path = "/media/signed/"

// ErrInvalid is every reason a token is refused: malformed, tampered
// with, signed with another key, or expired. One error for all, so the
// answer says nothing about which.
var ErrInvalid = errors.New("invalid or expired media link")

// macBytes is how much of the HMAC a token carries: 128 bits.
const macBytes = 16

// Signer makes and checks links.
type Signer struct {
	key   []byte
	base  string
	clock clock.Clock
}

// New returns a Signer whose key is derived from secret (auth.secret),
// making links under publicURL (media.public_url; empty means none can be
// made, only checked).
func New(secret []byte, publicURL string, c clock.Clock) *Signer {
	if c == nil {
		c = clock.System{}
	}
	// A key of its own, so a media link's MAC can never be replayed as
	// any other value keyed with the secret (a CSRF token, a code's key).
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("switchboard media link key"))
	return &Signer{key: h.Sum(nil), base: strings.TrimRight(publicURL, "/"), clock: c}
}

// URL is a link to media id valid for TTL from now, or "" when no public
// URL is configured.
func (s *Signer) URL(id string) string {
	if s.base == "" {
		return ""
	}
	return s.base + Path + s.Token(id)
}

// Token is the signed part of a link to media id, valid for TTL from now.
func (s *Signer) Token(id string) string {
	exp := strconv.FormatInt(s.clock.Now().Add(TTL).Unix(), 36)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(id)) + "." + exp + "." + enc.EncodeToString(s.mac(id, exp))
}

// Verify answers the media id a token names, or ErrInvalid. The MAC is
// compared in constant time and checked before the expiry, so a forged
// token learns nothing from the answer's timing or kind.
func (s *Signer) Verify(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(token) > 1024 || len(parts) != 3 {
		return "", ErrInvalid
	}
	enc := base64.RawURLEncoding
	id, err := enc.DecodeString(parts[0])
	if err != nil || len(id) == 0 {
		return "", ErrInvalid
	}
	got, err := enc.DecodeString(parts[2])
	if err != nil || !hmac.Equal(got, s.mac(string(id), parts[1])) {
		return "", ErrInvalid
	}
	exp, err := strconv.ParseInt(parts[1], 36, 64)
	if err != nil || !s.clock.Now().Before(time.Unix(exp, 0)) {
		return "", ErrInvalid
	}
	return string(id), nil
}

func (s *Signer) mac(id, exp string) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write([]byte(exp))
	return h.Sum(nil)[:macBytes]
}

// File is what a link serves: a stored file's blob key and the metadata
// its answer's headers need.
type File struct {
	Key      string
	MimeType string
	Filename string
	Size     int64
}

// ErrNotFound is what a Lookup answers for an id that names no file (any
// longer).
var ErrNotFound = errors.New("no such media")

// Lookup finds the stored file of a media id.
type Lookup func(ctx context.Context, id string) (File, error)

// Handler serves GET Path{token}: the file, when the token is valid and
// the file still exists; 404 alike for a bad token, an expired one and a
// file gone, so a caller learns nothing about which ids exist; 500 when
// the store or the lookup fails.
func (s *Signer) Handler(lookup Lookup, store blob.Store, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		id, err := s.Verify(strings.TrimPrefix(r.URL.Path, Path))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		f, err := lookup(r.Context(), id)
		if errors.Is(err, ErrNotFound) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			log.Error("signed media link: look up the file", "err", err)
			http.Error(w, "media unavailable", http.StatusInternalServerError)
			return
		}
		body, err := store.Open(r.Context(), f.Key)
		if errors.Is(err, blob.ErrNotFound) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			log.Error("signed media link: open the file", "err", err)
			http.Error(w, "media unavailable", http.StatusInternalServerError)
			return
		}
		defer body.Close()
		h := w.Header()
		h.Set("Content-Type", f.MimeType)
		if f.Size >= 0 {
			h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
		}
		h.Set("Content-Disposition", disposition(f.Filename))
		// Nothing a link serves runs in a browser that opens it.
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "sandbox")
		h.Set("Cache-Control", "private, no-store")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return
		}
		if _, err := io.Copy(w, body); err != nil {
			// The answer has started: the fetcher sees a short body and retries.
			log.Warn("signed media link: copy the file", "err", err)
		}
	})
}

// disposition is an attachment header naming filename, encoded as RFC
// 6266 asks for names beyond ASCII.
func disposition(filename string) string {
	if filename == "" {
		return "attachment"
	}
	if d := mime.FormatMediaType("attachment", map[string]string{"filename": filename}); d != "" {
		return d
	}
	// A name mime cannot encode (control characters) is not worth keeping.
	return `attachment; filename="file"`
}
