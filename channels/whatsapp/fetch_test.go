package whatsapp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"switchboard/channels"
)

// thief records whether a request ever reached it with the token.
type thief struct {
	srv  *httptest.Server
	hits atomic.Int32
	auth atomic.Value
}

func newThief(t *testing.T) *thief {
	th := &thief{}
	th.auth.Store("")
	th.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		th.hits.Add(1)
		if a := r.Header.Get("Authorization"); a != "" {
			th.auth.Store(a)
		}
		_, _ = w.Write([]byte("stolen"))
	}))
	t.Cleanup(th.srv.Close)
	return th
}

// A Graph answer naming a download URL on a host that is neither Meta's
// media host nor the API host is refused for good: the access token is
// never sent there, and nothing is fetched from it.
func TestFetchMediaRefusesAForeignDownloadHost(t *testing.T) {
	th := newThief(t)
	base := graph(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		_ = json.NewEncoder(w).Encode(map[string]any{"url": th.srv.URL + "/x", "mime_type": "image/jpeg"})
	})
	_, _, err := newChannel(t, base).FetchMedia(context.Background(), &channels.Media{ID: "MID-1"})
	if reason, permanent := channels.PermanentFetch(err); !permanent || reason != channels.FetchRefused {
		t.Fatalf("FetchMedia err = %v, want a permanent %q", err, channels.FetchRefused)
	}
	if th.hits.Load() != 0 {
		t.Fatalf("the foreign host was fetched %d times (Authorization %q)", th.hits.Load(), th.auth.Load())
	}
}

// A download on the API host that redirects elsewhere is followed
// without the token; a redirect loop stops after a few hops.
func TestFetchMediaRedirectsDropTheTokenAndAreCapped(t *testing.T) {
	th := newThief(t)
	var loops atomic.Int32
	var base string
	base = graph(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch {
		case r.URL.Path == "/v21.0/MID-1" || r.URL.Path == "/v21.0/MID-2":
			dl := strings.TrimSuffix(base, "/v21.0") + "/dl/" + strings.TrimPrefix(r.URL.Path, "/v21.0/")
			_ = json.NewEncoder(w).Encode(map[string]any{"url": dl, "mime_type": "image/jpeg"})
		case r.URL.Path == "/dl/MID-1":
			http.Redirect(w, r, th.srv.URL+"/cdn", http.StatusFound)
		case r.URL.Path == "/dl/MID-2":
			loops.Add(1)
			http.Redirect(w, r, "/dl/MID-2", http.StatusFound)
		}
	})
	ch := newChannel(t, base)
	rc, _, err := ch.FetchMedia(context.Background(), &channels.Media{ID: "MID-1"})
	if err != nil {
		t.Fatalf("FetchMedia: %v", err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "stolen" || th.hits.Load() != 1 || th.auth.Load() != "" {
		t.Fatalf("redirect: body %q, %d hits, Authorization %q at the other host", b, th.hits.Load(), th.auth.Load())
	}
	if _, _, err := ch.FetchMedia(context.Background(), &channels.Media{ID: "MID-2"}); err == nil {
		t.Fatal("a redirect loop was fetched")
	}
	if n := loops.Load(); n > channels.MaxFetchRedirects+1 {
		t.Fatalf("a redirect loop was followed %d times", n)
	}
}

// The media-id request itself, redirected to another port of the API's
// host (which Go's own rule would send the token to), reaches it
// without the token.
func TestFetchMediaURLRedirectDropsTheToken(t *testing.T) {
	th := newThief(t)
	base := graph(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		http.Redirect(w, r, th.srv.URL+"/v21.0/MID-1", http.StatusFound)
	})
	_, _, _ = newChannel(t, base).FetchMedia(context.Background(), &channels.Media{ID: "MID-1"})
	if th.hits.Load() != 1 || th.auth.Load() != "" {
		t.Fatalf("%d hits at the other port, Authorization %q; want 1 without the token", th.hits.Load(), th.auth.Load())
	}
}
