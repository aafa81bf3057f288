package channels_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/channels"
)

// A large file that takes longer than the client's timeout to arrive is
// still fetched whole: the timeout bounds the wait for the answer to
// start, not the download. An answer that does not start in time fails,
// to be retried, without quoting the URL.
func TestFetchGETTimeoutBoundsTheAnswerNotTheBody(t *testing.T) {
	part := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/silent" {
			<-r.Context().Done()
			return
		}
		_, _ = w.Write(part)
		w.(http.Flusher).Flush()
		time.Sleep(600 * time.Millisecond) // past the client's timeout
		_, _ = w.Write(part)
	}))
	defer srv.Close()
	client := &http.Client{Timeout: 200 * time.Millisecond}

	resp, err := channels.FetchGET(context.Background(), client, srv.URL+"/big?token=s3cr3t", "download", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(got) != 2*len(part) {
		t.Fatalf("read %d bytes, %v; want all %d", len(got), err, 2*len(part))
	}

	_, err = channels.FetchGET(context.Background(), client, srv.URL+"/silent?token=s3cr3t", "download", nil)
	var fe *channels.FetchError
	if !errors.As(err, &fe) || fe.Permanent || fe.Reason != channels.FetchUnavailable {
		t.Fatalf("silent server: %v, want a retryable unavailable fetch error", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("the error quotes the URL: %v", err)
	}
}

// A redirect never tells the next host the URL it came from: a
// provider's URL may hold a token (Telegram's file URLs do), which Go
// would send as the Referer.
func TestFetchGETRedirectSendsNoReferer(t *testing.T) {
	var referer atomic.Value
	referer.Store("none")
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		referer.Store(r.Header.Get("Referer"))
		_, _ = w.Write([]byte("file"))
	}))
	defer other.Close()
	api := httptest.NewServer(http.RedirectHandler(other.URL+"/cdn/file", http.StatusFound))
	defer api.Close()
	resp, err := channels.FetchGET(context.Background(), http.DefaultClient, api.URL+"/file/bot123:SECRET/photos/1.jpg", "file download", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := referer.Load(); got != "" {
		t.Fatalf("the redirect's target got Referer %q, want none", got)
	}
}
